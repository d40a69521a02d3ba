"""How an event reaches the sockets: encoded once, written with as few system calls as we can.

This module is an OPTIMISATION, kept apart from the session's rules
(:mod:`chat_server.session`) so that those read plainly. Everything here
could be replaced by ``await ws.send_str(encode(event))`` per socket, and
the protocol would not notice; fan-out would be about 2.5 times slower
(``bench/profiles.md``, "Fan-out, round 2"). A profile showed the event
loop spending two thirds of its time inside ``socket.send()``: on loopback
the kernel does the receiver's TCP work inside the sender's ``send()``, so
a system call per frame per socket is what fan-out costs most. Hence:

- :class:`Frame`: an event is encoded ONCE, JSON and the whole WebSocket
  frame around it, and the very same bytes go to every recipient;
- :class:`Outbox`: the ONE way a session sends a frame to its socket. It
  bypasses aiohttp's writer while the socket keeps up, writing the
  prepared frame straight to the transport (aiohttp's own writes are
  synchronous too, so whole frames never interleave). It falls back to
  aiohttp's writer (``send_frame``, with its flow control) under
  back-pressure and for the frames a session waits on (welcome, replay);
- :class:`WriteStage`: the first frame a socket gets in a turn of the event
  loop is written at once (a lone message loses no time: that is the
  latency benchmark's case); the ones after it in the same turn are staged
  and written by ONE end-of-turn callback for the whole server, one
  ``send()`` per socket. When a group commit publishes N messages, each
  socket costs 2 system calls instead of N.

A slow reader never delays the others: nothing here awaits on the fan-out
path, and a socket that is backed up queues into a bounded queue drained by
its own writer task, which exists only while something is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass

from aiohttp import WSMsgType, web
from websockets.frames import Frame as WireFrame
from websockets.frames import Opcode

from chat_protocol import Event, LogEntry, encode
from chat_protocol.events import LOG_ENTRY_CLASSES

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Frame:
    """One event encoded once, shared by every recipient.

    ``data`` is ``text`` in UTF-8, encoded once rather than by every socket
    that sends it; its length (``size``) counts against the per-connection
    byte limit. ``wire`` is the complete WebSocket text frame carrying it
    (header and payload, unmasked as a server sends it), built once by the
    ``websockets`` library so that a socket that keeps up only copies bytes:
    fan-out to N sockets frames the event once, not N times. ``message`` is
    set for the entries of a room's log (a ``message``, ``edit``...) so that
    a session that is still replaying can drop live duplicates by (room, seq).
    """

    text: str
    data: bytes
    wire: bytes
    message: LogEntry | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    @classmethod
    def of(cls, event: Event) -> Frame:
        text = encode(event)
        data = text.encode("utf-8")
        wire = WireFrame(Opcode.TEXT, data).serialize(mask=False)
        return cls(text, data, wire, event if isinstance(event, LOG_ENTRY_CLASSES) else None)


class WriteStage:
    """Writes what every socket staged during one turn of the event loop, at the end of it.

    N messages to S sockets in one turn cost at most 2 x S system calls, not
    N x S, and one scheduled callback per turn, not one per socket. One per
    server (``WRITES_KEY``).

    ``turn`` counts the turns: a socket that wrote a frame at once notes the
    turn (:meth:`opened`), and the next frame it gets in the same turn is
    staged. Only sockets with staged frames are listed (:meth:`add`): a
    message to 1,000 sockets costs nothing here per socket at the end of
    its turn (issue 17: at 1,000 clients every microsecond per delivery is
    half a millisecond for the median reader).
    """

    __slots__ = ("_loop", "_outboxes", "_scheduled", "turn")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # The server's loop, kept rather than looked up: a callback may run
        # while the loop is not "running" (qasync runs callbacks from Qt's
        # event processing, which a hosting app's shutdown may do).
        self._loop = loop
        self._outboxes: list[Outbox] = []
        self._scheduled = False
        self.turn = 0

    def _end_turn_soon(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._write_all)

    def opened(self) -> int:
        """A socket wrote the first frame of this turn at once: this turn's number."""
        self._end_turn_soon()
        return self.turn

    def add(self, outbox: Outbox) -> None:
        """At the end of this turn, write ``outbox``'s staged frames."""
        self._end_turn_soon()
        self._outboxes.append(outbox)

    def _write_all(self) -> None:
        self._scheduled = False
        self.turn += 1
        outboxes, self._outboxes = self._outboxes, []
        for outbox in outboxes:
            try:
                outbox.write_staged()
            except Exception:  # one socket's failure must not keep the others' frames back
                log.exception("could not write to a socket")


WRITES_KEY: web.AppKey[WriteStage] = web.AppKey("writes", WriteStage)


class Outbox:
    """A connection's way to its socket: :meth:`push` never waits, :meth:`send` does.

    :meth:`push` is for everything that arrives while the session is live
    (the hub's fan-out, answers to the client's frames). While ``held``
    (between attaching to the hub and the end of the replay) live frames are
    kept aside; :meth:`release` queues them, minus replayed messages. After
    that a frame goes straight to the transport when nothing is queued and
    the transport is not backed up: no task switch per delivery (the first
    frame of a turn at once, the rest staged, see :class:`WriteStage`). Only
    under back-pressure do frames queue, and a writer task exists only while
    they do. Held and queued frames (what could not be written) count
    against the limits; past them, everything is dropped and ``overflowed``
    set (the session then closes the socket, and the client resumes).

    :meth:`send` is for the frames a session sends before it is live (the
    hello phase's errors, welcome and the replay): it waits until the peer
    has taken the frame, which is how the replay is paced without a limit
    on its size.
    """

    __slots__ = (
        "_bytes",
        "_held",
        "_max_bytes",
        "_max_events",
        "_protocol",
        "_queue",
        "_replayed",
        "_stage",
        "_staged",
        "_staged_bytes",
        "_stopped",
        "_transport",
        "_turn",
        "_write_bound",
        "_writer",
        "_ws",
        "overflowed",
    )

    def __init__(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        stage: WriteStage,
        max_events: int,
        max_bytes: int,
    ) -> None:
        self._ws = ws
        self._stage = stage
        self._transport = request.transport
        self._protocol = request.protocol
        # Below this many buffered bytes a write cannot pause the protocol, so
        # aiohttp's send never waits (it waits for a drain only when paused).
        self._write_bound = (
            self._transport.get_write_buffer_limits()[1] if self._transport is not None else 0
        )
        self._max_events = max_events
        self._max_bytes = max_bytes
        # Exists only while frames are queued, like the writer task.
        self._queue: deque[Frame] | None = None
        self._bytes = 0
        self._held: list[Frame] | None = []
        # Room -> the last seq the replay sent; live copies up to it are dropped.
        self._replayed: dict[str, int] = {}
        # The turn of the loop (WriteStage.turn) in which a frame was last
        # written at once: the next one in the same turn is staged.
        self._turn = -1
        # Whole WebSocket frames waiting for the end of this turn (WriteStage),
        # or None.
        self._staged: list[bytes] | None = None
        self._staged_bytes = 0
        # Exists only while frames are queued.
        self._writer: asyncio.Task[None] | None = None
        self._stopped = False
        self.overflowed = False

    async def send(self, frame: Frame) -> None:
        """Write ``frame`` through aiohttp's writer, waiting while the peer does not read.

        ConnectionError when the connection is gone; callers bound the wait.
        """
        await self._ws.send_frame(frame.data, WSMsgType.TEXT)

    def push(self, frame: Frame) -> None:
        """Send or queue a frame; past the limits, drop everything and set ``overflowed``."""
        if self.overflowed or self._stopped:
            return
        message = frame.message
        if message is not None and message.seq <= self._replayed.get(message.room, -1):
            return  # the replay carried it already
        if self._held is not None:
            self._held.append(frame)
        elif self._writer is None and (transport := self._writable(frame)) is not None:
            staged = self._staged
            if staged is None:
                stage = self._stage
                if self._turn != stage.turn:  # the first in this turn: at once
                    transport.write(frame.wire)
                    self._turn = stage.opened()
                    return
                self._staged = staged = []
                stage.add(self)
            staged.append(frame.wire)
            self._staged_bytes += len(frame.wire)
            return
        else:
            # Whatever is staged goes out first: it came before this frame.
            self.write_staged()
            if self._queue is None:
                self._queue = deque()
            self._queue.append(frame)
            if self._writer is None:
                self._writer = asyncio.create_task(self._drain())
        self._bytes += frame.size
        pending = len(self._queue or ()) + len(self._held or ())
        if pending >= self._max_events or self._bytes >= self._max_bytes:
            # Nothing more will be written: the connection is about to be
            # closed and the client resumes with `since`.
            self.overflowed = True
            self._queue = None
            self._held = None

    def _open_transport(self) -> asyncio.Transport | None:
        """The transport while frames may still be written to it (no close sent or seen)."""
        transport = self._transport
        if transport is None or transport.is_closing() or self._ws.closed:
            return None
        return transport

    def _writable(self, frame: Frame) -> asyncio.Transport | None:
        """The transport, when ``frame`` can go to it without waiting; else None."""
        transport = self._open_transport()
        if (
            transport is None
            or self._protocol.writing_paused
            or transport.get_write_buffer_size() + self._staged_bytes + len(frame.wire)
            >= self._write_bound
        ):
            return None
        return transport

    def write_staged(self) -> None:
        """Write the staged frames in one go.

        They are complete frames, each written whole, so they cannot
        interleave with one that aiohttp writes: its writes are synchronous
        too. ``_writable`` checked the transport when they were staged;
        it is checked again because the peer may have gone meanwhile.
        """
        staged = self._staged
        self._staged = None
        if not staged:
            return
        self._staged_bytes = 0
        transport = self._open_transport()
        if transport is not None:
            transport.write(staged[0] if len(staged) == 1 else b"".join(staged))

    def release(self, positions: dict[str, int]) -> None:
        """End the replay: send the held frames, skipping messages at or below ``positions``."""
        # Kept for the whole session, not only for the held frames: a message
        # is committed before it is published, so one that the replay read may
        # still be on its way to the hub after the replay was sent.
        self._replayed = positions
        self.resume()

    def hold(self) -> None:
        """Keep live frames aside until :meth:`resume` (a live session reads a history page).

        The page is read on a database thread while entries are published on
        the loop: one stored after the read must not reach the client before
        the page, whose messages do not show it yet (a client applies what it
        gets in order, and would have applied the entry to nothing).
        """
        if self._held is None and not self.overflowed:
            self._held = []

    def resume(self, first: Frame | None = None) -> None:
        """Send ``first`` (the page), then the frames held since :meth:`hold`."""
        if self.overflowed:
            return
        held, self._held = self._held or [], None
        # They are counted again as they are pushed (a writer that lost the
        # connection has set the count to 0 meanwhile).
        self._bytes = max(0, self._bytes - sum(frame.size for frame in held))
        if first is not None:
            self.push(first)
        for frame in held:
            self.push(frame)

    async def _drain(self) -> None:
        """The writer task: send what is queued, waiting for the peer to read, then end."""
        try:
            while queue := self._queue:
                frame = queue.popleft()
                self._bytes -= frame.size
                await self.send(frame)
        except ConnectionError:
            # The connection is going; nothing queued can be sent any more.
            self._queue = None
            self._bytes = 0
        finally:
            self._writer = None
            if not self._queue:
                self._queue = None

    async def flush(self) -> None:
        """Wait until everything queued was sent (callers bound the wait)."""
        self.write_staged()
        writer = self._writer
        if writer is not None:
            # wait(), not await: a caller's timeout must not cancel the writer.
            await asyncio.wait((writer,))

    async def stop(self) -> None:
        """Send nothing more: stop the writer (whatever it was doing) and wait until it is gone.

        What is staged is written first: for the socket it was sent already,
        and a close frame must not overtake it.
        """
        self.write_staged()
        self._stopped = True
        writer = self._writer
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
