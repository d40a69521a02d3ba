"""One WebSocket connection, from ``hello`` to close.

:func:`websocket_handler` is the aiohttp handler for ``/ws``. It builds a
:class:`SocketSession`, which:

1. waits (``Limits.hello_timeout``) for a ``hello`` and checks its token:
   a bad one closes with 4401, none in time with 1008;
2. attaches to the :class:`~chat_server.hub.Hub` FIRST, holding live events
   back, then reads the replay from the store, sends ``welcome`` and the
   replay, and only then releases the held live events, skipping every
   message the replay already carried (for the whole session: a message is
   published a moment after its commit, possibly after the replay was sent).
   Registering before reading is what makes "no message lost or repeated"
   hold: a message stored after the read is held, one stored before it is in
   the replay, one in both is dropped;
3. reads frames and answers them through :class:`ChatService`; bad frames get
   an ``error`` event and the connection stays open.

One message's way through the server, from the sender's frame to everyone's
socket:

- :meth:`SocketSession._handle_text` decodes the frame and, for a
  ``message``, calls :meth:`SocketSession._start_post`, which hands it to the
  store (``ChatService.start_post`` -> ``ChatStore.append_nowait``) and goes
  straight back to reading: a burst from one client is pipelined into one
  group commit;
- the store's writer thread commits it (fsync) and its future calls back;
  ``call_soon_threadsafe`` brings that to the event loop, where
  :meth:`SocketSession._posted` acks it to the sender and
  ``Hub.publish_message`` encodes it once (:class:`~chat_server.hub.Frame`)
  and gives it to every session's ``deliver``;
- each session's :class:`Outbox` writes it to the socket: the first frame of
  a turn of the loop at once, the rest staged and written together at the
  end of the turn (:class:`WriteStage`), and under back-pressure into a
  bounded queue that a writer task drains. The hub never awaits, so fan-out
  never waits for a slow reader; a reader that lets ``max_queued_events`` or
  ``max_queued_bytes`` pile up is closed with 1008 "too slow" (it comes back
  with ``since`` and loses nothing).

Keepalive is done here rather than with aiohttp's ``heartbeat=``: the contract
says "ping every 20 s, drop a peer silent for 40 s", while aiohttp's
heartbeat drops a peer after 1.5 intervals. So aiohttp's automatic pong is
off, the session answers pings itself, and ONE server-wide task
(:func:`keep_sessions_alive`) pings every session every ``ping_interval`` and
closes (1011) a peer that was silent for two. An idle connection thus costs
no task of its own besides aiohttp's handler: no writer task without a
backlog, no keepalive task, no event objects until someone waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator

from aiohttp import WSCloseCode, WSMsgType, web

from chat_protocol import (
    Ack,
    ClientEvent,
    CreateRoom,
    Error,
    Event,
    Gap,
    Hello,
    HistoryRequest,
    ProtocolError,
    Room,
    SendMessage,
    ServerInfo,
    SetTyping,
    Welcome,
    decode_client,
    rules,
)

from .hub import Frame
from .service import SERVICE_KEY, ChatService, WriteFuture, unavailable
from .storage.base import AppendResult, StorageError

log = logging.getLogger(__name__)

CLOSE_BAD_TOKEN = 4401
CLOSE_POLICY = WSCloseCode.POLICY_VIOLATION  # 1008: no hello in time, too slow
CLOSE_GOING_AWAY = WSCloseCode.GOING_AWAY  # 1001: server stopping
CLOSE_SILENT = WSCloseCode.INTERNAL_ERROR  # 1011: keepalive timeout, as websockets does
# How long a close handshake may take before the connection is simply cut:
# a peer that does not read cannot take our close frame either.
CLOSE_TIMEOUT = 5.0
# How long stop() lets a session flush what it has queued before closing.
FLUSH_TIMEOUT = 5.0
# How many of one socket's messages may wait for the database at once. A
# client that keeps the contract's rate (10/s, bursts of 20) never gets near;
# a bench or a flood that does simply waits for room.
MAX_SENDS_IN_FLIGHT = 64


class WriteStage:
    """Writes what every socket staged during one turn of the event loop, at the end of it.

    A group commit publishes many messages at once, and a system call per
    frame per socket is what fan-out costs most: on loopback the kernel does
    the receiver's TCP work inside the sender's ``send()``. So an
    :class:`Outbox` that keeps up writes the FIRST frame it gets in a turn
    of the loop at once (a lone message, the usual case, loses no time) and
    stages the ones after it; ONE callback at the end of the turn writes
    each socket's staged frames in one call and opens the next turn. N
    messages to S sockets in one turn cost at most 2 x S calls, not N x S,
    and one scheduled callback per turn, not one per socket. One per server
    (``WRITES_KEY``).
    """

    __slots__ = ("_loop", "_outboxes")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # The server's loop, kept rather than looked up: a callback may run
        # while the loop is not "running" (qasync runs callbacks from Qt's
        # event processing, which a hosting app's shutdown may do).
        self._loop = loop
        self._outboxes: list[Outbox] = []

    def add(self, outbox: Outbox) -> None:
        """At the end of this turn, write ``outbox``'s staged frames and open its next turn."""
        if not self._outboxes:
            self._loop.call_soon(self._write_all)
        self._outboxes.append(outbox)

    def _write_all(self) -> None:
        outboxes, self._outboxes = self._outboxes, []
        for outbox in outboxes:
            try:
                outbox.write_staged()
            except Exception:  # one socket's failure must not keep the others' frames back
                log.exception("could not write to a socket")


class Outbox:
    """A connection's bounded outgoing queue, written at once while the socket keeps up.

    While ``held`` (between attaching to the hub and the end of the replay)
    live frames are kept aside; :meth:`release` queues them, minus replayed
    messages. After that a frame goes straight to the transport when nothing
    is queued and the transport is not backed up: no task switch per
    delivery. Only under back-pressure do frames queue, and a writer task
    exists only while they do. Held and queued frames (what could not be
    written) count against the limits.

    "Straight to the transport" holds for the first frame in a turn of the
    event loop; the ones after it in the same turn are *staged* and written
    together at the end of the turn, in one ``send()`` (see :class:`WriteStage`).
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
        # None: nothing written in this turn of the loop yet, the next frame
        # goes out at once. A list: one was, and these whole WebSocket frames
        # wait for the end of the turn (WriteStage).
        self._staged: list[bytes] | None = None
        self._staged_bytes = 0
        # Exists only while frames are queued.
        self._writer: asyncio.Task[None] | None = None
        self._stopped = False
        self.overflowed = False

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
            if staged is None:  # the first frame in this turn: at once
                transport.write(frame.wire)
                self._staged = []
                self._stage.add(self)
            else:
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
        """Write the staged frames in one go and open a new turn (the next frame goes at once).

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
        if self.overflowed:
            return
        held, self._held = self._held or [], None
        self._bytes = 0
        # Kept for the whole session, not only for the held frames: a message
        # is committed before it is published, so one that the replay read may
        # still be on its way to the hub after the replay was sent.
        self._replayed = positions
        for frame in held:
            self.push(frame)

    async def _drain(self) -> None:
        """The writer task: send what is queued, waiting for the peer to read, then end."""
        try:
            while queue := self._queue:
                frame = queue.popleft()
                self._bytes -= frame.size
                await self._ws.send_frame(frame.data, WSMsgType.TEXT)
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


class SocketSession:
    """One client's socket: the hello handshake, the replay, then the frame loop."""

    # Thousands live at once: no per-instance dict.
    __slots__ = (
        "_closer",
        "_ended",
        "_finished",
        "_in_flight",
        "_last_heard",
        "_last_ping",
        "_limits",
        "_live",
        "_outbox",
        "_peer",
        "_request",
        "_service",
        "_token_hash",
        "_user",
        "_wake",
        "_wake_at",
        "_ws",
    )

    def __init__(
        self, service: ChatService, request: web.Request, ws: web.WebSocketResponse
    ) -> None:
        self._service = service
        self._limits = service.limits
        self._request = request
        self._ws = ws
        self._outbox = Outbox(
            request,
            ws,
            request.app[WRITES_KEY],
            self._limits.max_queued_events,
            self._limits.max_queued_bytes,
        )
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self._peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "unknown peer"
        self._user = ""
        self._token_hash = ""
        loop = asyncio.get_running_loop()
        self._last_heard = loop.time()
        self._last_ping = self._last_heard
        # True from the end of the replay: from then on keepalive pings it.
        self._live = False
        self._closer: asyncio.Task[None] | None = None
        # run() has returned; the future exists only once someone waits for that.
        self._ended = False
        self._finished: asyncio.Future[None] | None = None
        # How many of this socket's messages are on their way to the database
        # (see _handle_text), and who waits for fewer than that: a future
        # resolved once at most _wake_at remain.
        self._in_flight = 0
        self._wake: asyncio.Future[None] | None = None
        self._wake_at = 0

    # Subscriber (see chat_server.hub) ---------------------------------------

    @property
    def username(self) -> str:
        return self._user

    @property
    def token_hash(self) -> str:
        return self._token_hash

    def deliver(self, frame: Frame) -> None:
        self._outbox.push(frame)
        if self._outbox.overflowed:
            self.close_soon(CLOSE_POLICY, "too slow")

    def close_soon(self, code: int, reason: str) -> None:
        if self._closer is None:
            # Leave the fan-out (and presence) now rather than when the close
            # handshake ends, which for a peer that does not read takes a while.
            self._service.hub.detach(self)
            self._closer = asyncio.create_task(self._close(code, reason))

    # The session ------------------------------------------------------------

    async def run(self) -> None:
        """Serve the socket until it closes, then tidy up."""
        hub = self._service.hub
        try:
            hello = await self._await_hello()
            if hello is None:
                return
            hub.attach(self)
            # Every message published from here on is held for this session;
            # everything up to these seqs was published (so committed) before.
            attached_at = {room: hub.last_seq(room) for room in hello.since}
            log.info("connect %s from %s", self._user, self._peer)
            try:
                positions = await self._welcome_and_replay(hello, attached_at)
            except ConnectionError:
                return
            except TimeoutError:
                log.info("%s at %s stopped reading during the replay", self._user, self._peer)
                self.close_soon(CLOSE_POLICY, "too slow")
                return
            except StorageError as exc:
                log.warning("could not replay for %s: %s", self._user, exc)
                await self._send_now(Error.from_exception(unavailable()))
                self.close_soon(WSCloseCode.TRY_AGAIN_LATER, "database unavailable")
                return
            self._outbox.release(positions)
            self._last_ping = asyncio.get_running_loop().time()
            self._live = True
            await self._read_frames()
        finally:
            self._live = False
            # Messages already handed to the database are stored whatever
            # happens to this socket, and broadcast: wait for them, so that
            # the user-leave below comes after them.
            await self._sends_below(0)
            hub.detach(self)
            if self._closer is not None:
                await self._closer
            await self._outbox.stop()
            if self._user:
                log.info(
                    "disconnect %s from %s (code %s)", self._user, self._peer, self._ws.close_code
                )
            self._ended = True
            if self._finished is not None and not self._finished.done():
                self._finished.set_result(None)

    async def wait_finished(self) -> None:
        """Wait until :meth:`run` has returned."""
        if self._ended:
            return
        if self._finished is None or self._finished.done():
            # done() here: an earlier waiter's timeout cancelled it.
            self._finished = asyncio.get_running_loop().create_future()
        await self._finished

    async def shut_down(self) -> None:
        """The server is stopping: send what is queued, then close with 1001."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_TIMEOUT):
                await self._outbox.flush()
        self.close_soon(CLOSE_GOING_AWAY, "server shutting down")

    async def _send_now(self, event: Event) -> None:
        """Send directly; only before the writer task exists (the hello phase)."""
        with contextlib.suppress(ConnectionError):
            await self._ws.send_str(Frame.of(event).text)

    async def _await_hello(self) -> Hello | None:
        """Wait for a valid hello with a good token; None when the socket closed instead."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._limits.hello_timeout
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    msg = await self._ws.receive()
            except TimeoutError:
                await self._close(CLOSE_POLICY, "no hello in time")
                return None
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return None
            if msg.type == WSMsgType.PING:
                with contextlib.suppress(ConnectionError):
                    await self._ws.pong(msg.data)
                continue
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.BINARY:
                    await self._send_now(_binary_refused())
                continue
            try:
                event = decode_client(msg.data)
            except ProtocolError as exc:
                await self._send_now(Error.from_exception(exc))
                continue
            if not isinstance(event, Hello):
                await self._send_now(
                    Error("unauthorized", "send hello with your token first", _ref(event))
                )
                continue
            try:
                found = await self._service.user_for_token(event.token)
            except UnicodeEncodeError:  # a lone surrogate: no token looks like that
                found = None
            except StorageError:
                await self._send_now(Error.from_exception(unavailable()))
                await self._close(WSCloseCode.TRY_AGAIN_LATER, "database unavailable")
                return None
            if found is None:
                await self._close(CLOSE_BAD_TOKEN, "bad token")
                return None
            self._user, self._token_hash = found
            return event

    async def _welcome_and_replay(
        self, hello: Hello, attached_at: dict[str, int]
    ) -> dict[str, int]:
        """Send welcome, then each asked-for room's missed messages; return the positions.

        A position is the last seq this session has sent (or the client has):
        held live copies at or below it are dropped, the rest are delivered.
        """
        service = self._service
        rooms = await service.store.rooms()
        service.hub.note_rooms(rooms)
        config = service.config
        welcome = Welcome(
            protocol=rules.PROTOCOL_VERSION,
            username=self._user,
            rooms=rooms,
            online=service.hub.online(),
            server=ServerInfo(config.name, config.version),
        )
        await self._send_replay(Frame.of(welcome))
        known = {room.name for room in rooms}
        positions: dict[str, int] = {}
        for room, since in hello.since.items():
            if room not in known:
                continue
            # The newest replay_limit messages: a client far behind gets the
            # recent ones at once and a gap to page back through with history.
            recent = await service.store.messages_before(room, None, config.replay_limit)
            missed = [message for message in recent if message.seq > since]
            if missed and missed[0].seq > since + 1:
                await self._send_replay(Frame.of(Gap(room, since, missed[0].seq)))
            for message in missed:
                await self._send_replay(Frame.of(message))
            # Not `since`: a client that is ahead (its server lost data) must
            # still get what is new. Not the newest seq the read saw either: a
            # message stored after the welcome but not above `since` would be
            # neither replayed nor released. With nothing replayed, the held
            # live messages are exactly those above the seq at attach time.
            positions[room] = missed[-1].seq if missed else attached_at.get(room, 0)
        return positions

    async def _send_replay(self, frame: Frame) -> None:
        """Send one frame of the welcome or replay, waiting for the peer to take it.

        The replay is written directly, not through the bounded outbox (1000
        long messages may exceed its limits), so its limit is time instead: a
        frame the peer leaves untaken for two ping intervals (the silence that
        keepalive also tolerates) means it stopped reading; TimeoutError ends it.
        """
        async with asyncio.timeout(2 * self._limits.ping_interval):
            await self._ws.send_frame(frame.data, WSMsgType.TEXT)

    async def _read_frames(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            msg = await self._ws.receive()
            self._last_heard = loop.time()
            if msg.type == WSMsgType.TEXT:
                await self._handle_text(msg.data)
            elif msg.type == WSMsgType.BINARY:
                self._reply(_binary_refused())
            elif msg.type == WSMsgType.PING:
                with contextlib.suppress(ConnectionError):
                    await self._ws.pong(msg.data)
            elif msg.type == WSMsgType.PONG:
                continue
            else:  # CLOSE, CLOSING, CLOSED, ERROR (1009 for an oversize frame, set by aiohttp)
                return

    def _reply(self, event: Event) -> None:
        self.deliver(Frame.of(event))

    async def _handle_text(self, data: str) -> None:
        """Decode one frame and answer it; messages are pipelined, the rest waits its turn.

        A ``message`` does not hold up the next frame: it is handed to the
        database at once (:meth:`_start_post`) and answered when its commit
        is done (:meth:`_posted`), so a client sending a burst has all of it
        in the writer's next group commit instead of one message per commit.
        The writer keeps the order in which messages were handed over (per
        room) and calls back in commit order, so acks and broadcasts keep the
        sending order. Any other frame waits until this socket's messages are
        stored: typing after a message, or history asked for right after
        sending, sees what came before it. At most ``MAX_SENDS_IN_FLIGHT``
        messages wait at once; beyond that the socket stops reading, and TCP
        slows the sender down.
        """
        try:
            event = decode_client(data)
        except ProtocolError as exc:
            await self._sends_below(0)
            self._reply(Error.from_exception(exc))
            return
        except Exception as exc:  # the decoder is fuzzed, but a bug must not end the session
            self._reply(self._error_for(exc, None))
            return
        if isinstance(event, SendMessage):
            if self._in_flight >= MAX_SENDS_IN_FLIGHT:
                await self._sends_below(MAX_SENDS_IN_FLIGHT - 1)
            self._start_post(event)
            return
        await self._sends_below(0)
        try:
            await self._dispatch(event)
        except Exception as exc:
            self._reply(self._error_for(exc, event))

    def _start_post(self, event: SendMessage) -> None:
        """Hand a message to the database; :meth:`_posted` answers it once committed.

        No task and no coroutine in between: the store's future calls back
        from the database thread, and ``call_soon_threadsafe`` brings the
        answer to the event loop in the very next turn. That is the shortest
        path from a frame read to its broadcast, which is most of the latency
        a user feels.
        """
        try:
            writing = self._service.start_post(self._user, event)
        except Exception as exc:  # rate_limited, or the store is closing
            self._reply(self._error_for(exc, event))
            return
        self._in_flight += 1
        loop = asyncio.get_running_loop()

        def committed(done: WriteFuture) -> None:  # on the database thread
            # The loop may be gone when a write outlives the server's loop
            # (only in tests that tear down abruptly); nobody is left to tell.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._posted, event, done)

        writing.add_done_callback(committed)

    def _posted(self, event: SendMessage, writing: WriteFuture) -> None:
        """On the loop, once a message's write is done: ack and broadcast, or the error."""
        self._in_flight -= 1
        try:
            self._service.finish_post(self._user, event, writing, self._ack)
        except Exception as exc:
            self._reply(self._error_for(exc, event))
        wake = self._wake
        if wake is not None and self._in_flight <= self._wake_at:
            self._wake = None
            if not wake.done():  # done when its waiter was cancelled
                wake.set_result(None)

    async def _sends_below(self, limit: int) -> None:
        """Wait until at most ``limit`` of this socket's messages are still on their way."""
        if self._in_flight <= limit:
            return
        self._wake_at = limit
        self._wake = asyncio.get_running_loop().create_future()
        await self._wake

    def _error_for(self, exc: Exception, event: ClientEvent | None) -> Error:
        """The ``error`` event that answers a frame whose handling raised ``exc``."""
        ref = _ref(event)
        if isinstance(exc, ProtocolError):
            return Error.from_exception(exc)
        if isinstance(exc, StorageError):
            log.warning("storage failed for %s: %s", self._user, exc)
            return Error.from_exception(unavailable(ref))
        if isinstance(exc, UnicodeEncodeError):
            # JSON can spell a lone surrogate ("\ud800"), which no UTF-8 database
            # or frame can carry; the protocol's validators let it through.
            return Error("bad_request", _NOT_UNICODE, ref)
        # A bug of ours must not cost the client its connection: log it,
        # answer, carry on. Nothing half-done is visible (stores are atomic).
        log.error("failed to handle a frame from %s", self._user, exc_info=exc)
        return Error.from_exception(unavailable(ref, "the server failed to handle this; try again"))

    async def _dispatch(self, event: ClientEvent) -> None:
        service = self._service
        if isinstance(event, SetTyping):
            await service.set_typing(self._user, event)
        elif isinstance(event, HistoryRequest):
            self._reply(await service.history(event.room, event.before, event.limit))
        elif isinstance(event, CreateRoom):
            room, created = await service.create_room(event.name, self._user)
            if not created:
                # Everybody else already knows it; tell the asker its last seq.
                self._reply(Room(room.name, room.last_seq))
        elif isinstance(event, Hello):
            raise ProtocolError("bad_request", "hello was already sent on this connection")
        else:  # a message: _handle_text pipelines those and never gets here
            raise AssertionError(f"unexpected {event.type} in _dispatch")

    def _ack(self, result: AppendResult) -> None:
        stored = result.message
        self._reply(Ack(stored.client_id, stored.room, stored.seq, stored.ts))

    def keep_alive(self, now: float) -> None:
        """From keep_sessions_alive: ping when due; close a peer silent for two intervals."""
        if not self._live or self._closer is not None:
            return
        interval = self._limits.ping_interval
        if now >= self._last_heard + 2 * interval:
            log.info("%s at %s went silent", self._user, self._peer)
            self.close_soon(CLOSE_SILENT, "keepalive timeout")
            return
        if now < self._last_ping + interval:
            return
        self._last_ping = now
        transport = self._request.transport
        if transport is None or transport.is_closing() or self._request.protocol.writing_paused:
            # A peer that does not read takes no ping either; the silence check still runs.
            return
        pinging = self._ws.ping()
        try:
            pinging.send(None)
        except StopIteration:
            return
        except ConnectionError:
            return  # the connection is going; the read loop sees it end
        # Written, and now aiohttp would wait for buffer room (not expected
        # while not paused): nobody waits for a ping, so leave it at that.
        pinging.close()

    async def _close(self, code: int, reason: str) -> None:
        """Close with ``code``; cut the connection if the handshake cannot finish."""
        await self._outbox.stop()
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._ws.close(code=code, message=reason.encode())
        transport = self._request.transport
        if transport is not None and transport.get_write_buffer_size():
            # The peer does not read: our close frame would wait forever behind the rest.
            transport.abort()


def _ref(event: ClientEvent | None) -> str | None:
    return event.client_id if isinstance(event, SendMessage) else None


_NOT_UNICODE = "the text contains a lone surrogate (\\ud800-\\udfff), which is not Unicode"


def _binary_refused() -> Error:
    return Error("bad_request", "binary frames are not supported; send JSON text frames")


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    """``GET /ws``: upgrade and run one :class:`SocketSession`."""
    service = request.app[SERVICE_KEY]
    if service.hub.closing:
        raise web.HTTPServiceUnavailable(text="the server is shutting down")
    limits = service.limits
    ws = web.WebSocketResponse(
        compress=False,
        # aiohttp refuses a payload of max_msg_size bytes or more (with 1009);
        # the contract allows up to max_frame_bytes inclusive.
        max_msg_size=limits.max_frame_bytes + 1,
        autoping=False,
        timeout=CLOSE_TIMEOUT,
    )
    await ws.prepare(request)
    session = SocketSession(service, request, ws)
    sessions = request.app[SESSIONS_KEY]
    sessions.add(session)
    try:
        await session.run()
    finally:
        sessions.discard(session)
    return ws


SESSIONS_KEY: web.AppKey[set[SocketSession]] = web.AppKey("sessions")
WRITES_KEY: web.AppKey[WriteStage] = web.AppKey("writes", WriteStage)


async def shut_down_sessions(app: web.Application) -> None:
    """``on_shutdown``: flush and close every socket with 1001, then wait for them to end."""
    registry = app[SESSIONS_KEY]
    sessions = list(registry)
    await asyncio.gather(*(session.shut_down() for session in sessions))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLOSE_TIMEOUT + 1):
            for session in sessions:
                await session.wait_finished()


async def keep_sessions_alive(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: one task that keeps every socket of the server alive.

    It looks at the sessions four times per ping interval, so that each is
    pinged within a quarter interval of being due and a silent one is closed
    within a quarter interval of its two intervals.
    """
    sessions = app[SESSIONS_KEY]
    period = app[SERVICE_KEY].limits.ping_interval / 4

    async def run() -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            for session in list(sessions):
                session.keep_alive(now)

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
