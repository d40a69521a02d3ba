"""Chat before uploads: upload bodies give way to chat messages on the server's one event loop.

Ten clients uploading as fast as loopback lets them fill both cores of a
small server (reading the sockets, hashing, writing; see bench/profiles.md,
issue 13): a chat message then waits for a core at each of its steps. The
number of uploads is capped already (:class:`~.files.UploadSlots`); what
this adds is an order between the two kinds of work, in the only place the
server controls how fast bytes come in: the loop that reads each upload's
next chunk. An upload that does not read leaves its bytes in the kernel,
the socket's window fills, and TCP holds the sender back: nothing is
buffered on our side, and the uploading clients stop spending CPU too.

Two rules, both applied only while chat is going on, so that an upload
with no chat around runs at full speed:

1. **A message on its way comes first.** From the moment a chat write is
   handed to the store (:meth:`ChatFirst.chat_started`) until its answer
   and broadcast are queued (:meth:`ChatFirst.chat_finished`), upload
   readers wait before reading their next chunk. The wait is bounded
   (:data:`GIVE_WAY_MAX` per chunk), so a stream of chat, or a count that
   went wrong, slows uploads but never stops one. (A message the store
   commits right on the loop, when its writer is idle, starts and ends in
   one turn: nothing waits for it, and rule 2 is what helps it.)
2. **While chat flows, uploads share a budget.** For :data:`CHAT_QUIET`
   seconds after the last chat write, all uploads together take at most
   :data:`CHAT_BUDGET` bytes per second (a token bucket), enough for a
   LAN's worth of files (1 Gbit/s is ~110 MiB/s) but leaving the CPU room
   to take the next message when it comes: rule 1 alone only helps once a
   message has been read, and a message waits for a core before that too.
   Once chat has been quiet that long, uploads read at full speed again.

Why not the loop's lateness as the signal (a timer that fires late): it was
tried (bench/profiles.md) and made chat worse; lateness shows the wait only
after it happened, and every upload then wakes at once when the loop is
on time again. Chat writes are the work we want to favour, and they are
known exactly when they start and end.

One per server process (the loop's work); :mod:`.service` reports the
chat, :mod:`.files` asks before each chunk of an upload body.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

# Longest an upload waits for the chat messages on their way before it reads
# its next chunk anyway: a chat write takes a few ms; this keeps a flood of
# chat (or a bug in the count) from starving an upload.
GIVE_WAY_MAX = 0.05
# How long after the last chat write the upload budget holds.
CHAT_QUIET = 1.0
# What all uploads together may read per second while chat flows (bytes).
CHAT_BUDGET = 128 * 1024 * 1024
# The budget's burst: a network chunk (up to 256 KiB) for each of a few uploads.
BUDGET_BURST = 2 * 1024 * 1024
# Longest one read waits for the budget; the bucket's debt stops there too.
BUDGET_WAIT_MAX = 0.1


class ChatFirst:
    """When upload readers give way to chat (see the module doc).

    ``budget``, ``quiet``, ``give_way``: see :data:`CHAT_BUDGET`,
    :data:`CHAT_QUIET`, :data:`GIVE_WAY_MAX`. ``clock``: monotonic seconds
    (injectable, so tests need no sleeping to tell whether chat still flows).
    """

    def __init__(
        self,
        budget: float = CHAT_BUDGET,
        quiet: float = CHAT_QUIET,
        give_way: float = GIVE_WAY_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget
        self.quiet = quiet
        self.give_way = give_way
        self._clock = clock
        # Chat writes handed to the store and not answered yet.
        self._on_their_way = 0
        # Set while none are: what waiting upload readers wait for.
        self._clear = asyncio.Event()
        self._clear.set()
        # When the last chat write started (clock seconds).
        self._last_chat = -float("inf")
        # The budget's bucket (bytes), refilled by the clock while chat flows.
        self._tokens = float(BUDGET_BURST)
        self._stamp = clock()

    # Chat's side ------------------------------------------------------------

    def chat_started(self) -> None:
        """A chat write was handed to the store; call :meth:`chat_finished` once answered."""
        self._on_their_way += 1
        self._clear.clear()
        self._last_chat = self._clock()

    def chat_finished(self) -> None:
        """A chat write of :meth:`chat_started` was answered (and broadcast, if stored)."""
        self._on_their_way = max(0, self._on_their_way - 1)
        if not self._on_their_way:
            self._clear.set()

    @contextlib.contextmanager
    def chat_write(self) -> Iterator[None]:
        """:meth:`chat_started` and :meth:`chat_finished` around a block (HTTP's awaited writes)."""
        self.chat_started()
        try:
            yield
        finally:
            self.chat_finished()

    @property
    def chat_waiting(self) -> bool:
        """True while chat writes are on their way (upload readers give way)."""
        return self._on_their_way > 0

    @property
    def chat_flowing(self) -> bool:
        """True while the budget holds: a chat write started in the last ``quiet`` s."""
        return self._clock() - self._last_chat < self.quiet

    # The uploads' side ------------------------------------------------------

    def budget_wait(self, size: int) -> float:
        """Spend ``size`` bytes of the budget; the seconds to wait before reading them.

        0.0 when chat is quiet (no budget then: full speed) or the bucket holds
        them; else how long the bucket takes to refill the deficit, at most
        :data:`BUDGET_WAIT_MAX`.
        """
        now = self._clock()
        refill = (now - self._stamp) * self.budget
        self._tokens = min(float(BUDGET_BURST), self._tokens + refill)
        self._stamp = now
        if not self.chat_flowing:
            return 0.0
        # The debt stops at what BUDGET_WAIT_MAX repays: a read that waited
        # that long goes on anyway, and an old debt must not hold back the
        # uploads of the next time chat starts.
        self._tokens = max(self._tokens - size, -BUDGET_WAIT_MAX * self.budget)
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.budget

    async def turn(self, size: int) -> None:
        """Before an upload reads its next chunk (``size``: the one it just read).

        Returns at once when no chat is going on; else after the chat writes
        on their way are answered (at most ``give_way`` s) and the
        budget allows ``size`` more bytes.
        """
        if self._on_their_way:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.give_way):
                    await self._clear.wait()
        wait = self.budget_wait(size)
        if wait:
            await asyncio.sleep(wait)
