"""One WebSocket connection, from ``hello`` to close: the session's rules.

:func:`websocket_handler` is the aiohttp handler for ``/ws``. It builds a
:class:`SocketSession`, which:

1. waits (``Limits.hello_timeout``) for a ``hello`` and checks its token:
   a bad one closes with 4401, none in time with 1008;
2. attaches to the :class:`~chat_server.hub.Hub` FIRST, holding live events
   back, then reads the replay (:meth:`ChatService.replay`), sends
   ``welcome`` and the replay, and only then releases the held live events,
   skipping every message the replay already carried (for the whole
   session: a message is published a moment after its commit, possibly
   after the replay was sent). Registering before reading is what makes "no
   message lost or repeated" hold: a message stored after the read is held,
   one stored before it is in the replay, one in both is dropped;
3. reads frames and answers them through :class:`ChatService`: Version 2
   when ``hello`` asked with ``"protocol":2``, else the v1 view (only
   ``message`` entries reach it); bad frames get
   an ``error`` event (:func:`chat_server.refusals.refusal_for`, as HTTP
   does) and the connection stays open.

One message's way through the server goes forward only, from the sender's
frame to everyone's socket:

- :meth:`SocketSession._handle_text` decodes the frame and hands a
  ``message`` to its :class:`PostPipeline`, which hands it to the store
  (``ChatService.start_post`` -> ``ChatStore.append_nowait``); the session
  goes straight back to reading: a burst from one client is pipelined into
  one group commit;
- the store's writer thread commits it (fsync) and its future calls back;
  :class:`Answers` brings that to the event loop (one wake-up for all the
  writes of a commit), where
  :meth:`PostPipeline._committed` acks it to the sender, then
  ``ChatService.publish`` has the hub encode it once and give it to every
  session's ``deliver``;
- each session's :class:`~chat_server.fanout.Outbox` writes it to the socket
  without ever making the hub wait (:mod:`chat_server.fanout`, the
  optimisation that makes fan-out cheap). A reader that lets
  ``max_queued_events`` or ``max_queued_bytes`` pile up is closed with 1008
  "too slow" (it comes back with ``since`` and loses nothing).

Every frame a session sends goes through its Outbox: ``push`` (never waits)
once live, ``send`` (waits for the peer) for the hello phase and the replay.

Keepalive is done here rather than with aiohttp's ``heartbeat=``: the contract
says "ping every 20 s, drop a peer silent for 40 s", while aiohttp's
heartbeat drops a peer after 1.5 intervals. So aiohttp's automatic pong is
off, the session answers pings itself, and ONE server-wide task
(:func:`keep_sessions_alive`) pings every session every ``ping_interval`` and
closes (1011) a peer that was silent for two. An idle connection thus costs
no task of its own besides aiohttp's handler: no writer task without a
backlog, no keepalive task, no event objects until someone waits.

A peer may vanish at any moment, mid-handshake or mid-write: that is
ordinary and logged at debug level, never as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import WSMsgType, web

from chat_protocol import (
    Ack,
    ClientEvent,
    CloseCode,
    CreateRoom,
    Error,
    ErrorCode,
    Event,
    Gap,
    Hello,
    HistoryRequest,
    Invite,
    Leave,
    OpenDm,
    ProtocolError,
    Remove,
    Room,
    SendDelete,
    SendEdit,
    SendMessage,
    SendReact,
    SendRead,
    SendTopic,
    ServerInfo,
    SetTyping,
    Welcome,
    decode_client,
    rules,
)

from .fanout import WRITES_KEY, Frame, Outbox
from .guards import client_address, through_proxy
from .hub import Subscriber
from .refusals import refusal_for
from .service import SERVICE_KEY, ChatService, RateLimited, WriteFuture
from .storage.base import AppendResult, StorageError

log = logging.getLogger(__name__)

# How long stop() lets a session flush what it has queued before closing.
FLUSH_TIMEOUT = 5.0
# How many of one socket's messages may wait for the database at once. A
# client that keeps the contract's rate (10/s, bursts of 20) never gets near;
# a bench or a flood that does simply waits for room.
MAX_SENDS_IN_FLIGHT = 64

_CLOSED = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR)


# The log writes that take the pipeline: they change nothing but the log and
# the state of messages. Membership changes wait their turn (see _dispatch).
PIPELINED = (SendMessage, SendEdit, SendDelete, SendReact, SendTopic)
Pipelined = SendMessage | SendEdit | SendDelete | SendReact | SendTopic


def _ref(event: ClientEvent | None) -> str | None:
    """What an ``error`` answering ``event`` refers to: a log write's client_id."""
    client_id = getattr(event, "client_id", None)
    return client_id if isinstance(client_id, str) else None


def answer_for(exc: Exception, event: ClientEvent | None, user: str) -> Error:
    """The ``error`` event that answers a frame whose handling raised ``exc``."""
    refusal = refusal_for(exc, _ref(event))
    if refusal is not None:
        return refusal.event()
    # A bug of ours must not cost the client its connection: log it, answer,
    # carry on. Nothing half-done is visible (stores are atomic).
    log.error("failed to handle a frame from %s", user, exc_info=exc)
    return Error(ErrorCode.UNAVAILABLE, "the server failed to handle this; try again", _ref(event))


def ack_for(result: AppendResult) -> Ack:
    """The ``ack`` of a write: its seq, or the room's last_seq when it logged nothing."""
    return Ack(result.client_id, result.room, result.seq, result.ts)


def _binary_refused() -> Error:
    return Error(ErrorCode.BAD_REQUEST, "binary frames are not supported; send JSON text frames")


async def welcome_and_replay(
    service: ChatService, outbox: Outbox, user: str, hello: Hello, attached_at: dict[str, int]
) -> dict[str, int]:
    """Send welcome, then each asked-for room's missed messages; return the positions.

    A position is the last seq this session has sent (or the client has):
    held live copies at or below it are dropped, the rest are delivered.

    These frames are not pushed into the bounded outbox (1000 long messages
    may exceed its limits) but sent one by one, waiting for the peer to take
    each; so the limit is time instead: a frame the peer leaves untaken for
    two ping intervals (the silence that keepalive also tolerates) means it
    stopped reading, and TimeoutError ends the replay.
    """
    patience = 2 * service.limits.ping_interval
    v2 = hello.protocol >= rules.PROTOCOL_V2

    async def send(event: Event) -> None:
        async with asyncio.timeout(patience):
            await outbox.send(Frame.of(event))

    await send(
        Welcome(
            protocol=rules.PROTOCOL_V2 if v2 else rules.PROTOCOL_VERSION,
            username=user,
            rooms=await service.rooms_for(user, v2=v2),
            online=service.hub.online(),
            server=ServerInfo(service.config.name, service.config.version),
            admin=await service.store.is_admin(user) if v2 else None,
            features=service.features if v2 else None,
        )
    )
    positions: dict[str, int] = {}
    limit = service.config.replay_limit
    missed = await service.replay(user, hello.since, limit, v2=v2)
    for room, messages in missed.items():
        since = hello.since[room]
        # v2 entries are gapless, so a hole before the first one is what the
        # limit cut; the v1 view has holes where other entries sit, so only
        # a full replay can have been cut.
        if messages and messages[0].seq > since + 1 and (v2 or len(messages) >= limit):
            await send(Gap(room, since, messages[0].seq))
        for message in messages:
            await send(message)
        # Not `since`: a client that is ahead (its server lost data) must
        # still get what is new. Not the newest seq the read saw either: a
        # message stored after the welcome but not above `since` would be
        # neither replayed nor released. With nothing replayed, the held
        # live messages are exactly those above the seq at attach time.
        positions[room] = messages[-1].seq if messages else attached_at.get(room, 0)
    return positions


async def answer_history(
    service: ChatService, outbox: Outbox, session: Subscriber, event: HistoryRequest
) -> None:
    """Send ``session`` the page it asked for; live frames wait behind it (``Outbox.hold``)."""
    outbox.hold()
    answer: Event | None = None
    try:
        answer = await service.history(
            session.username,
            event.room,
            event.before,
            event.limit,
            v2=session.protocol >= rules.PROTOCOL_V2,
        )
    except Exception as exc:
        answer = answer_for(exc, event, session.username)
    finally:
        outbox.resume(None if answer is None else Frame.of(answer))


async def dispatch(
    service: ChatService,
    session: Subscriber,
    event: ClientEvent,
    reply: Callable[[Event], None],
    ack: Callable[[AppendResult], None],
) -> None:
    """Answer a frame other than a pipelined write or a history request (the session
    answers that itself), for ``session`` (who sent it)."""
    user = session.username
    v2 = session.protocol >= rules.PROTOCOL_V2
    if isinstance(event, SetTyping):
        await service.set_typing(user, event)
    elif isinstance(event, CreateRoom):
        room, created = await service.create_room(event.name, user, event.private, v2=v2)
        if not created:
            # Everybody else already knows it; tell the asker its last seq.
            reply(Room.of(room))
    elif isinstance(event, Invite | Remove | Leave):
        await service.write(user, event, ack)
    elif isinstance(event, OpenDm):
        room, created = await service.open_dm(user, list(event.users))
        if not created:
            reply(Room.of(room))
    elif isinstance(event, SendRead):
        await service.read(user, event.room, event.seq, skip=session)
    elif isinstance(event, Hello):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "hello was already sent on this connection")
    else:  # a pipelined write: _handle_text sends those to the PostPipeline
        raise AssertionError(f"unexpected {event.type} in dispatch")


class Answers:
    """Writes done on a database thread, brought to the event loop with one wake-up per batch.

    ``call_soon_threadsafe`` for every write the writer committed wrote a
    byte to the loop's self-pipe each time: a system call per message on the
    writer thread (a sixth of its time, issue 12), and as many wake-ups of
    the loop. Here the first answer of a batch schedules :meth:`_run` and
    the others only join the queue that it empties, in the order the writer
    gave them (its commit order, which the acks and broadcasts keep). One
    per event loop (:func:`answers_for`).
    """

    __slots__ = ("_lock", "_loop", "_queue", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Weak: the loop is the key this is kept under (answers_for).
        self._loop = weakref.ref(loop)
        self._lock = threading.Lock()
        self._queue: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._scheduled = False

    def add(self, callback: Callable[..., None], *args: Any) -> None:
        """On any thread: have the loop call ``callback(*args)`` soon, after those added before.

        RuntimeError when the loop is closed (as ``call_soon_threadsafe``).
        """
        with self._lock:
            self._queue.append((callback, args))
            if self._scheduled:
                return
            self._scheduled = True
        try:
            loop = self._loop()
            if loop is None:
                raise RuntimeError("the event loop is gone")
            loop.call_soon_threadsafe(self._run)
        except RuntimeError:
            with self._lock:
                self._scheduled = False
            raise

    def _run(self) -> None:
        with self._lock:
            queue, self._queue = self._queue, deque()
            self._scheduled = False
        for callback, args in queue:
            try:
                callback(*args)
            except Exception:  # one answer's failure must not keep the others back
                log.exception("could not answer a write")


_ANSWERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Answers] = (
    weakref.WeakKeyDictionary()
)


def answers_for(loop: asyncio.AbstractEventLoop) -> Answers:
    """The :class:`Answers` of ``loop`` (made the first time)."""
    answers = _ANSWERS.get(loop)
    if answers is None:
        answers = _ANSWERS[loop] = Answers(loop)
    return answers


class PostPipeline:
    """One socket's messages on their way to the database, answered in commit order.

    A ``message`` does not hold up the socket's next frame: :meth:`start`
    hands it to the database at once and the session reads on, so a client
    sending a burst has all of it in the writer's next group commit instead
    of one message per commit. No task and no coroutine in between: the
    store's future calls back from the database thread, and
    :class:`Answers` brings the outcome to the event loop in the very
    next turn (:meth:`_committed`), the shortest path from a frame read to
    its broadcast, which is most of the latency a user feels. Shorter
    still when the writer is idle: the store commits the message on the
    loop and it is answered at once, with no thread involved at all
    (``ChatStore.append_now``, issue 17 in ``bench/profiles.md``). The writer
    keeps the order of hand-over (per room) and calls back in commit order,
    so acks and broadcasts keep the sending order. At most
    ``MAX_SENDS_IN_FLIGHT`` messages wait at once; the session then waits
    (:meth:`below`) and stops reading, and TCP slows the sender down.
    """

    __slots__ = ("_fence", "_in_flight", "_reply", "_service", "_wake", "_wake_at")

    def __init__(self, service: ChatService, reply: Callable[[Event], None]) -> None:
        self._service = service
        # Queues an event for this socket (the session's outbox).
        self._reply = reply
        # How many messages are on their way, and who waits for fewer than
        # that: a future resolved once at most _wake_at remain.
        self._in_flight = 0
        self._wake: asyncio.Future[None] | None = None
        self._wake_at = 0
        # After a rate_limited refusal: (its client_id, loop time until which
        # the writes behind it are refused too; see fenced()).
        self._fence: tuple[str, float] | None = None

    @property
    def full(self) -> bool:
        """True when the next message must wait for one of these to be stored."""
        return self._in_flight >= MAX_SENDS_IN_FLIGHT

    def fenced(self, event: Pipelined) -> bool:
        """Refuse ``event`` (True) when a write before it on this socket was refused
        for the rate and has not been sent again, for at most that refusal's
        Retry-After.

        A client pipelines its writes; when one is refused for the rate and a
        token refills before the next frame is read, that younger write would
        be stored before the older one. Refusing it too (with ``rate_limited``,
        without spending a token) keeps the order a client meant: it sends
        again from the refused one on (docs/protocol.md, "Socket sessions").
        """
        if self._fence is None:
            return False
        refused, until = self._fence
        if event.client_id != refused and asyncio.get_running_loop().time() < until:
            self._reply(
                Error(
                    ErrorCode.RATE_LIMITED,
                    "an earlier write was refused for the rate; send it again first",
                    event.client_id,
                )
            )
            return True
        self._fence = None
        return False

    def refused(self, exc: Exception, event: Pipelined, author: str) -> None:
        """Answer a write refused before the database saw it; a rate refusal fences."""
        if isinstance(exc, RateLimited):
            until = asyncio.get_running_loop().time() + exc.retry_after
            self._fence = (event.client_id, until)
        self._reply(answer_for(exc, event, author))

    def start(self, author: str, event: Pipelined) -> None:
        """Hand a write to the database; it is answered once committed."""
        if self.fenced(event):
            return
        service = self._service
        try:
            # When no socket's write is on its way to or back from the writer
            # thread, a message may be committed right here (the store decides:
            # ChatStore.append_now) and answered at once, with no thread
            # hand-off: nothing handed over earlier can be overtaken.
            writing = service.start_post(author, event, now=not service.posts_on_their_way)
        except Exception as exc:  # rate_limited, or the store is closing
            self.refused(exc, event, author)
            return
        self._in_flight += 1
        # Upload bodies give way until this is answered (chat_server.priority).
        service.priority.chat_started()
        if writing.done():  # committed on the loop just now
            self._committed(author, event, writing, handed_over=False)
            return
        service.posts_on_their_way += 1
        answers = answers_for(asyncio.get_running_loop())

        def committed(done: WriteFuture) -> None:  # on the database thread
            # The loop may be gone when a write outlives the server's loop
            # (only in tests that tear down abruptly); nobody is left to tell.
            with contextlib.suppress(RuntimeError):
                answers.add(self._committed, author, event, done)

        writing.add_done_callback(committed)

    def _committed(
        self, author: str, event: Pipelined, writing: WriteFuture, handed_over: bool = True
    ) -> None:
        """On the loop, once a write is done: ack it, then publish it; or refuse."""
        self._in_flight -= 1
        if handed_over:
            self._service.posts_on_their_way -= 1
        try:
            result = writing.result()
        except Exception as exc:
            self._reply(answer_for(exc, event, author))
        else:
            # The sender hears "stored as seq N" before its own message comes back.
            self._reply(ack_for(result))
            self._service.publish(result)
        finally:
            self._service.priority.chat_finished()
        wake = self._wake
        if wake is not None and self._in_flight <= self._wake_at:
            self._wake = None
            if not wake.done():  # done when its waiter was cancelled
                wake.set_result(None)

    async def below(self, limit: int) -> None:
        """Wait until at most ``limit`` of this socket's messages are still on their way."""
        if self._in_flight <= limit:
            return
        self._wake_at = limit
        self._wake = asyncio.get_running_loop().create_future()
        await self._wake


class SocketSession:
    """One client's socket: the hello handshake, the replay, then the frame loop."""

    # Thousands live at once: no per-instance dict.
    __slots__ = (
        "_close_timeout",
        "_closer",
        "_ended",
        "_finished",
        "_last_heard",
        "_last_ping",
        "_limits",
        "_live",
        "_outbox",
        "_peer",
        "_posts",
        "_protocol",
        "_request",
        "_service",
        "_token_hash",
        "_user",
        "_ws",
    )

    def __init__(
        self, service: ChatService, request: web.Request, ws: web.WebSocketResponse
    ) -> None:
        self._service = service
        self._limits = service.limits
        self._close_timeout = service.config.close_timeout
        self._request = request
        self._ws = ws
        self._outbox = Outbox(
            request,
            ws,
            request.app[WRITES_KEY],
            self._limits.max_queued_events,
            self._limits.max_queued_bytes,
        )
        self._posts = PostPipeline(service, self._reply)
        self._peer = _peer_of(request)
        self._user = ""
        self._token_hash = ""
        self._protocol = rules.PROTOCOL_VERSION
        loop = asyncio.get_running_loop()
        self._last_heard = loop.time()
        self._last_ping = self._last_heard
        # True from the end of the replay: from then on keepalive pings it.
        self._live = False
        self._closer: asyncio.Task[None] | None = None
        # run() has returned; the future exists only once someone waits for that.
        self._ended = False
        self._finished: asyncio.Future[None] | None = None

    # Subscriber (see chat_server.hub) ---------------------------------------

    @property
    def username(self) -> str:
        return self._user

    @property
    def token_hash(self) -> str:
        return self._token_hash

    @property
    def protocol(self) -> int:
        return self._protocol

    def deliver(self, frame: Frame) -> None:
        self._outbox.push(frame)
        if self._outbox.overflowed:
            self.close_soon(CloseCode.POLICY, "too slow")

    def close_soon(self, code: int, reason: str) -> None:
        if self._closer is None:
            # Leave the fan-out (and presence) now rather than when the close
            # handshake ends, which for a peer that does not read takes a while.
            self._service.hub.detach(self)
            self._closer = asyncio.create_task(self._close(code, reason))

    def _reply(self, event: Event) -> None:
        self.deliver(Frame.of(event))

    def _ack(self, result: AppendResult) -> None:
        self._reply(ack_for(result))

    # The session ------------------------------------------------------------

    async def run(self) -> None:
        """Serve the socket until it closes, then tidy up."""
        hub = self._service.hub
        try:
            hello = await self._await_hello()
            if hello is None:
                return
            self._protocol = min(hello.protocol, rules.PROTOCOL_V2)
            hub.attach(self)
            # Every message published from here on is held for this session;
            # everything up to these seqs was published (so committed) before.
            attached_at = {room: hub.last_seq(room) for room in hello.since}
            log.info("connect %s from %s", self._user, self._peer)
            try:
                positions = await welcome_and_replay(
                    self._service, self._outbox, self._user, hello, attached_at
                )
            except ConnectionError:
                log.debug("%s at %s went away during the replay", self._user, self._peer)
                return
            except TimeoutError:
                log.info("%s at %s stopped reading during the replay", self._user, self._peer)
                self.close_soon(CloseCode.POLICY, "too slow")
                return
            except StorageError as exc:
                await self._send_early(answer_for(exc, None, self._user))
                self.close_soon(CloseCode.TRY_AGAIN_LATER, "database unavailable")
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
            await self._posts.below(0)
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
        self.close_soon(CloseCode.GOING_AWAY, "server shutting down")

    async def _send_early(self, event: Event) -> None:
        """Send an answer in the hello phase (before the session is live), if the peer is there."""
        with contextlib.suppress(ConnectionError):
            await self._outbox.send(Frame.of(event))

    async def _await_hello(self) -> Hello | None:
        """Wait for a valid hello with a good token; None when the socket closed instead."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._limits.hello_timeout
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    msg = await self._ws.receive()
            except TimeoutError:
                await self._close(CloseCode.POLICY, "no hello in time")
                return None
            if msg.type in _CLOSED:
                return None
            if msg.type == WSMsgType.PING:
                with contextlib.suppress(ConnectionError):
                    await self._ws.pong(msg.data)
                continue
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.BINARY:
                    await self._send_early(_binary_refused())
                continue
            try:
                event = decode_client(msg.data)
            except ProtocolError as exc:
                await self._send_early(Error.from_exception(exc))
                continue
            if not isinstance(event, Hello):
                message = "send hello with your token first"
                await self._send_early(Error(ErrorCode.UNAUTHORIZED, message, _ref(event)))
                continue
            try:
                found = await self._service.user_for_token(event.token)
            except UnicodeEncodeError:  # a lone surrogate: no token looks like that
                found = None
            except StorageError as exc:
                await self._send_early(answer_for(exc, None, self._user))
                await self._close(CloseCode.TRY_AGAIN_LATER, "database unavailable")
                return None
            if found is None:
                await self._close(CloseCode.UNAUTHORIZED, "bad token")
                return None
            self._user, self._token_hash = found
            return event

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

    async def _handle_text(self, data: str) -> None:
        """Decode one frame and answer it; log writes are pipelined, the rest waits its turn.

        Messages, edits, deletes, reacts and topics (``PIPELINED``) go to the
        :class:`PostPipeline`. Any other frame waits until this socket's
        writes are stored: typing after a message, or history asked for
        right after sending, sees what came before it.
        """
        try:
            event = decode_client(data)
        except ProtocolError as exc:
            await self._posts.below(0)
            self._reply(Error.from_exception(exc))
            return
        except Exception as exc:  # the decoder is fuzzed, but a bug must not end the session
            self._reply(answer_for(exc, None, self._user))
            return
        if isinstance(event, PIPELINED):
            if self._posts.full:
                await self._posts.below(MAX_SENDS_IN_FLIGHT - 1)
            if self._service.limits_shared:
                # Several servers: the rate limit is counted in Redis, one
                # round trip, awaited here so that the order of writes holds.
                if self._posts.fenced(event):
                    return
                try:
                    await self._service.admit(self._user, event)
                except Exception as exc:
                    self._posts.refused(exc, event, self._user)
                    return
            self._posts.start(self._user, event)
            return
        await self._posts.below(0)
        if isinstance(event, HistoryRequest):
            await answer_history(self._service, self._outbox, self, event)
            return
        try:
            await dispatch(self._service, self, event, self._reply, self._ack)
        except Exception as exc:
            self._reply(answer_for(exc, event, self._user))

    def keep_alive(self, now: float) -> None:
        """From keep_sessions_alive: ping when due; close a peer silent for two intervals."""
        if not self._live or self._closer is not None:
            return
        interval = self._limits.ping_interval
        if now >= self._last_heard + 2 * interval:
            log.info("%s at %s went silent", self._user, self._peer)
            self.close_soon(CloseCode.INTERNAL, "keepalive timeout")
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
            async with asyncio.timeout(self._close_timeout):
                await self._ws.close(code=code, message=reason.encode())
        transport = self._request.transport
        if transport is not None and transport.get_write_buffer_size():
            # The peer does not read: our close frame would wait forever behind the rest.
            transport.abort()


def _peer_of(request: web.Request) -> str:
    """Who is at the other end, for the log: the client, and the proxy it came through.

    Behind nginx (``--trusted-proxy``) every socket's TCP peer is nginx, so the
    log names the client from ``X-Forwarded-For`` and then the hop it came in on.
    """
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not isinstance(peer, tuple):
        return "unknown peer"
    hop = f"{peer[0]}:{peer[1]}"
    return f"{client_address(request)} via {hop}" if through_proxy(request) else hop


SESSIONS_KEY: web.AppKey[set[SocketSession]] = web.AppKey("sessions")


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
        timeout=service.config.close_timeout,
    )
    try:
        await ws.prepare(request)
    except ConnectionError:
        # The client gave up before our answer to its upgrade went out (it
        # timed out while this server was busy): ordinary, not a failure.
        log.debug("%s went away during the WebSocket handshake", _peer_of(request))
        # Some response must be returned; aiohttp finds the connection gone
        # when it tries to send this one, and drops it quietly.
        return web.Response()
    session = SocketSession(service, request, ws)
    sessions = request.app[SESSIONS_KEY]
    sessions.add(session)
    try:
        await session.run()
    finally:
        sessions.discard(session)
    return ws


async def shut_down_sessions(app: web.Application) -> None:
    """``on_shutdown``: flush and close every socket with 1001, then wait for them to end."""
    registry = app[SESSIONS_KEY]
    sessions = list(registry)
    await asyncio.gather(*(session.shut_down() for session in sessions))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(app[SERVICE_KEY].config.close_timeout + 1):
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
