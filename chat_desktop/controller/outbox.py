"""Outbox: my messages from the composer until the server has stored them, exactly once.

A message I write is in the cache's outbox (on disk) before anything goes on
the wire, so it survives a crash, a restart or a week offline. The
:class:`Outbox` keeps the same messages in memory as
:class:`~.entries.MessageEntry` values, moves each along its
:class:`~.entries.DeliveryState` (QUEUED -> SENT -> DELIVERED, or FAILED when
the server refuses it) and reports every change through ``on_change``.

Its two rules:

- **Exactly once.** Every message carries a ``client_id`` drawn when it was
  written; the server stores one message per client_id and answers a repeat
  with the first one's ack. So after each (re)connect the outbox simply sends
  everything not yet acknowledged again, with the same client_id
  (:meth:`Outbox.connection_lost` forgets what the old connection was given):
  a message whose ack was lost with the connection is not stored twice, and
  one that never arrived is not lost.
- **In order.** Messages go out in the order they were written, one after the
  other under a lock, and sending stops at the first one that does not go
  out: a younger message never overtakes an older one.

A message is shown QUEUED again when its ack has not come ``ack_timeout``
seconds after it went out (:data:`ACK_TIMEOUT`): a server that stopped
answering (frozen, or a connection silently gone) must not leave it saying
"Sending…" for as long as it takes the link to notice. It stays handed to
that connection, though (the server may only be slow, and would store a
repeat once anyway): it goes out again on the next connection, with the same
client_id, like everything else not acknowledged.

A message is done when its ``ack`` arrives (:meth:`Outbox.acked`) or when the
server's broadcast of it does (:meth:`Outbox.stored`; the broadcast may
overtake the ack). A refusal (:meth:`Outbox.refused`) marks it FAILED with the
server's reason, except ``rate_limited``, which is not the message's fault: it
goes out again shortly by itself. Plain asyncio; it sends through the
:class:`~.connection.Connection`, never the link itself.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Protocol

from chat_desktop.storage import ChatCache, OutboxEntry
from chat_protocol import Ack, Error, ErrorCode, Message, SendMessage, rules

from .connection import Connection
from .entries import DeliveryState, MessageEntry
from .phrases import refusal_reason
from .tasks import TaskGroup

# A rate-limited message is tried again after this many seconds.
RATE_LIMIT_RETRY = 2.0
# A message the link could not hand over while still connected (a POST that
# failed while polling) is tried again after this many seconds.
SEND_RETRY = 1.0
# A message sent this many seconds ago without an ack shows QUEUED again.
ACK_TIMEOUT = 5.0


class Outbox:
    """My messages not yet stored by the server, in the order I wrote them.

    ``me`` is my user name as the server spells it (the author of what I
    write); the controller updates it when the server's welcome says.
    """

    def __init__(
        self,
        cache: ChatCache,
        connection: Connection,
        tasks: TaskGroup,
        *,
        me: str,
        on_change: Callable[[MessageEntry], None],
        rate_limit_retry: float = RATE_LIMIT_RETRY,
        send_retry: float = SEND_RETRY,
        ack_timeout: float = ACK_TIMEOUT,
    ) -> None:
        self._cache = cache
        self._connection = connection
        self._tasks = tasks
        self.me = me
        self._on_change = on_change
        self._rate_limit_retry = rate_limit_retry
        self._send_retry = send_retry
        self._ack_timeout = ack_timeout
        # client_id -> entry, in the order written (dicts keep insertion order).
        self._pending: dict[str, MessageEntry] = {}
        for queued in cache.outbox():
            self._pending[queued.client_id] = _outbox_entry(queued, me)
        # client_ids handed to the current connection; cleared on every drop,
        # so that each (re)connect sends the outbox once more.
        self._sent_now: set[str] = set()
        # Held while the outbox is handed to the link: see _deliver_waiting.
        self._delivering = asyncio.Lock()
        # client_id -> loop time it went out, for what still waits for its ack
        # (oldest first); one task watches them all (see _watch_acks).
        self._awaiting_ack: dict[str, float] = {}
        self._ack_watch: asyncio.Task[None] | None = None
        # What files add (see carry_files); by default a message carries none.
        self._files: FileHooks | None = None

    def carry_files(self, hooks: FileHooks) -> None:
        """Let messages carry files (:class:`~.files.ChatFiles` calls it once it exists)."""
        self._files = hooks

    def __contains__(self, client_id: object) -> bool:
        return client_id in self._pending

    def entries(self, room: str) -> list[MessageEntry]:
        """My messages in ``room`` that the server has not stored yet, oldest first."""
        return [self._dressed(entry) for entry in self._pending.values() if entry.room == room]

    def add(self, room: str, text: str, *, client_id: str | None = None) -> MessageEntry:
        """Queue a (valid, normalised) message: on disk first, then on its way when connected.

        ``client_id``: the one it already has (a message whose files went up first).
        """
        client_id = client_id or str(uuid.uuid4())
        created = rules.now_ts()
        self._cache.outbox_add(OutboxEntry(client_id, room, text, created))
        entry = MessageEntry(room, self.me, text, created, client_id, state=DeliveryState.QUEUED)
        self._pending[client_id] = entry
        self._on_change(self._dressed(entry))
        self.flush()
        return entry

    def retry(self, client_id: str) -> None:
        """Send a refused message again (the user pressed Retry).

        A message that failed while its files went up is not here yet: the
        files part tries those again.
        """
        if self._files is not None and self._files.retry(client_id):
            return
        entry = self._pending.get(client_id)
        if entry is None or entry.state is not DeliveryState.FAILED:
            return
        self._cache.outbox_clear_failed(client_id)
        self._update(entry.with_state(DeliveryState.QUEUED))
        self._sent_now.discard(client_id)
        self.flush()

    def flush(self) -> None:
        """Send every queued message not yet handed to this connection, oldest first."""
        if self._connection.can_send():
            self._tasks.spawn(self._deliver_waiting())

    def connection_lost(self) -> None:
        """Whatever was in flight may be lost: all goes out again (same client_id) next time."""
        self._sent_now.clear()

    def stored(self, message: Message) -> None:
        """The server stored (and broadcast) ``message``: if it is one of mine, it is done."""
        if message.author == self.me and message.client_id in self._pending:
            self._done(message.client_id)

    def acked(self, ack: Ack) -> MessageEntry | None:
        """The server stored my message: its DELIVERED entry (None if I no longer had it)."""
        entry = self._pending.get(ack.client_id)
        if entry is None:
            self._done(ack.client_id)
            return None
        entry = self._dressed(entry)
        self._done(ack.client_id)
        return entry.with_state(DeliveryState.DELIVERED, seq=ack.seq, ts=ack.ts)

    def refused(self, error: Error) -> MessageEntry | None:
        """The server refused my message ``error.ref``: its FAILED entry, None when it
        simply goes out again (rate limited) or is not in the outbox."""
        entry = self._pending.get(error.ref or "")
        if entry is None:
            return None
        self._sent_now.discard(entry.client_id)
        self._awaiting_ack.pop(entry.client_id, None)
        if error.code == ErrorCode.RATE_LIMITED:
            # Not the message's fault: it goes out again shortly by itself.
            self._tasks.spawn(self._flush_later(self._rate_limit_retry))
            return None
        # The code, which the window shows translated; the server's words for a code we do not know.
        reason = refusal_reason(error.code, error.message)
        self._cache.outbox_mark_failed(entry.client_id, reason)
        failed = entry.with_state(DeliveryState.FAILED, error=reason)
        self._pending[entry.client_id] = failed
        if self._files is not None:
            self._files.refused(error)
        return self._dressed(failed)

    def _done(self, client_id: str) -> None:
        self._pending.pop(client_id, None)
        self._sent_now.discard(client_id)
        self._awaiting_ack.pop(client_id, None)
        self._cache.outbox_remove(client_id)
        if self._files is not None:
            self._files.delivered(client_id)

    async def _deliver_waiting(self) -> None:
        """Hand the waiting outbox to the link in the order written.

        Under a lock, with the list taken inside it, and stopping at the first
        message that does not go out: a younger message must never overtake an
        older one, neither one written while the outbox is being resent after
        a reconnect nor one written after a POST failed while polling (the
        link stays POLLING then, so no reconnect would resend it: try again
        shortly instead).
        """
        async with self._delivering:
            waiting = [
                entry.client_id
                for entry in self._pending.values()
                if entry.state is not DeliveryState.FAILED and entry.client_id not in self._sent_now
            ]
            for client_id in waiting:
                if not await self._deliver(client_id):
                    if self._connection.can_send():
                        self._tasks.spawn(self._flush_later(self._send_retry))
                    return

    async def _deliver(self, client_id: str) -> bool:
        """Hand one message to the link; False when it did not go out."""
        entry = self._pending.get(client_id)
        if entry is None or client_id in self._sent_now or entry.state is DeliveryState.FAILED:
            return True
        self._sent_now.add(client_id)
        files = self._files.attachments(client_id) if self._files is not None else ()
        if not await self._connection.send(
            SendMessage(entry.room, client_id, entry.text, files=files)
        ):
            self._sent_now.discard(client_id)
            return False
        current = self._pending.get(client_id)
        if current is not None and current.state is DeliveryState.QUEUED:
            self._update(current.with_state(DeliveryState.SENT))
            self._expect_ack(client_id)
        return True

    def _expect_ack(self, client_id: str) -> None:
        """``client_id`` just went out: watch for its ack."""
        self._awaiting_ack.pop(client_id, None)
        self._awaiting_ack[client_id] = asyncio.get_running_loop().time()
        if self._ack_watch is None:
            self._ack_watch = self._tasks.spawn(self._watch_acks())

    async def _watch_acks(self) -> None:
        """Turn every SENT message whose ack is ``ack_timeout`` late back to QUEUED.

        One task for all of them, sleeping until the oldest is due, rather than
        a timer per message: a burst of a thousand sends is one sleeper.
        """
        loop = asyncio.get_running_loop()
        try:
            while self._awaiting_ack:
                due = min(self._awaiting_ack.values()) + self._ack_timeout
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                    continue
                late = loop.time() - self._ack_timeout
                for client_id, sent in list(self._awaiting_ack.items()):
                    if sent > late:
                        continue
                    del self._awaiting_ack[client_id]
                    entry = self._pending.get(client_id)
                    if entry is not None and entry.state is DeliveryState.SENT:
                        self._update(entry.with_state(DeliveryState.QUEUED))
        finally:
            self._ack_watch = None

    async def _flush_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.flush()

    def _update(self, entry: MessageEntry) -> None:
        self._pending[entry.client_id] = entry
        self._on_change(self._dressed(entry))

    def _dressed(self, entry: MessageEntry) -> MessageEntry:
        """``entry`` as the window shows it: with the files its message carries."""
        return entry if self._files is None else self._files.dress(entry)


class FileHooks(Protocol):
    """What the outbox asks of the files part (:class:`~.uploads.UploadQueue`)."""

    def attachments(self, client_id: str) -> tuple[str, ...]:
        """The upload ids message ``client_id`` carries."""

    def dress(self, entry: MessageEntry) -> MessageEntry:
        """``entry`` with its files."""

    def delivered(self, client_id: str) -> None:
        """The server stored message ``client_id``."""

    def refused(self, error: Error) -> None:
        """The server refused one of my messages (``unknown_file``: upload again)."""

    def retry(self, client_id: str) -> bool:
        """Retry a message that failed before reaching the outbox; False if not one of those."""


def _outbox_entry(queued: OutboxEntry, me: str) -> MessageEntry:
    state = DeliveryState.FAILED if queued.failed else DeliveryState.QUEUED
    return MessageEntry(
        queued.room,
        me,
        queued.text,
        queued.created,
        queued.client_id,
        state=state,
        error=queued.failed or "",
    )
