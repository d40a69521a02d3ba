"""One logical session to the chat server that survives drops: :class:`ServerLink`.

The controller creates a link with a token and three callbacks and calls
:meth:`ServerLink.start`; from then on the link keeps itself connected and
hands every protocol event to ``on_event`` in order:

1. It opens ``ws://host:port/ws`` (websockets, with keepalive pings: a ping
   every ``ping_interval`` seconds, a pong missing after ``ping_timeout`` more
   ends the socket, so a frozen server or a vanished NAT entry is noticed
   within 15 s by default) and sends
   ``hello`` (asking for protocol Version 2) with the token and ``since``:
   the caller's cached positions (``positions()``), raised to anything this
   link already delivered, so that the server replays exactly what was
   missed, nothing twice.
2. The server's ``welcome`` makes the state CONNECTED; replay and live events
   follow. ``send()`` writes client events to the socket.
3. When the socket drops, the state becomes RECONNECTING with the time of the
   next attempt, chosen by a :class:`~.reconnect.ReconnectPolicy` (the first
   retry at once, then exponential backoff with jitter, reset only by a
   connection that lived); ``reconnect_now()`` cuts the wait short (the
   "Reconnect now" button, a network change, the computer waking up). A close with
   code 4401 (token refused) makes the state UNAUTHORIZED and the link stops.
4. When the socket cannot be opened because an HTTP peer refuses the upgrade
   (a proxy that strips ``Upgrade``) but ``/api/v1/health`` answers, the link
   falls back to HTTP long polling (:mod:`.polling`), state POLLING: the same
   events arrive, and ``send()`` goes over HTTP with the answers synthesised
   as events (Ack, HistoryPage, Room, Error). Every ``ws_retry_interval``
   seconds it tries the socket again and switches back when it opens.
5. When the TLS handshake fails certificate verification (an ``https://``
   server that shows another certificate than the pinned one, or one no
   authority vouches for), nothing has been sent yet, and retrying cannot
   help: the state becomes CERTIFICATE_REFUSED and the link stops. The
   controller then checks the certificate (:mod:`.pinning`), lets the user
   decide, and starts a new link with a new SSL context.

Everything runs as tasks on the *running* asyncio loop: under the desktop app
that loop is qasync's, so callbacks run on the Qt thread and may touch Qt
objects directly. The link never creates loops or threads. :meth:`close`
cancels and awaits every task it started and closes the socket (1000) and
the HTTP session, so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    WebSocketException,
)

from chat_protocol import (
    ClientEvent,
    CloseCode,
    Hello,
    HistoryRequest,
    ProtocolError,
    RoomRemoved,
    ServerEvent,
    Welcome,
    decode_server,
    encode,
    rules,
)
from chat_protocol.events import LOG_ENTRY_CLASSES

from .http_api import ApiError, ApiSession
from .polling import LongPoller, Unauthorized
from .reconnect import ReconnectPolicy
from .state import LinkKind, LinkState, Reason, Why
from .urls import websocket_url

log = logging.getLogger(__name__)

# Largest frame we accept from the server: a history page of 200 messages of
# 4000 four-byte characters is about 3.2 MB; the library's default is 1 MiB.
_MAX_FRAME = 16 * 1024 * 1024
# Failures to open the socket that mean "nobody there, or not now".
_UNREACHABLE = (OSError, TimeoutError, WebSocketException)


class _CertificateRefused(Exception):
    """The handshake failed certificate verification: the link stops (state CERTIFICATE_REFUSED)."""


class ServerLink:
    """One logical session to the server: WebSocket with keepalive and reconnect.

    Falls back to HTTP long polling when the WebSocket cannot be opened but
    ``/api/v1/health`` answers, and retries the WebSocket every
    ``ws_retry_interval`` seconds to switch back. See the module docstring.

    ``username`` is only needed for the polling fallback, whose synthesised
    ``welcome`` must name the user (the HTTP API has no call that tells it).
    ``ssl_context`` is used for ``https://`` servers (see :mod:`.pinning`).
    ``ping_interval`` and ``ping_timeout`` are the client keepalive: a server
    silent for their sum at most is taken for gone and reconnected to.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        positions: Callable[[], dict[str, int]],
        on_event: Callable[[ServerEvent], None],
        on_state: Callable[[LinkState], None],
        policy: ReconnectPolicy | None = None,
        ws_retry_interval: float = 30.0,
        username: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        poll_wait: float = 25.0,
        rooms_refresh_interval: float = 30.0,
        open_timeout: float = 10.0,
        ping_interval: float = 5.0,
        ping_timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._ws_url = websocket_url(self.base_url)
        self._token = token
        self._positions = positions
        self._on_event = on_event
        self._on_state = on_state
        self._policy = policy if policy is not None else ReconnectPolicy()
        self._ws_retry_interval = ws_retry_interval
        self._username = username or ""
        self._ssl = ssl_context
        # Seconds each long poll may hang on the server (the contract allows 30).
        self._poll_wait = poll_wait
        # How often polling asks for new rooms: the long poll does not report them.
        self._rooms_refresh_interval = rooms_refresh_interval
        self._open_timeout = open_timeout
        # Client keepalive (docs/protocol.md): the server's own pings (every 20 s,
        # 40 s of silence) are too slow to tell this user that a frozen server is
        # gone; ours notice one within ping_interval + ping_timeout.
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        # HTTP for the health check and polling; created lazily inside the loop.
        self._api = ApiSession(self.base_url, token=token, ssl_context=ssl_context)
        self._state = LinkState(LinkKind.OFFLINE)
        # The task running _run(); the only task the link starts directly.
        self._task: asyncio.Task[None] | None = None
        # The open socket once hello is sent; what send() writes to.
        self._ws: ClientConnection | None = None
        # The poller and its task while polling; what send() uses then.
        self._poller: LongPoller | None = None
        self._poll_task: asyncio.Task[None] | None = None
        # Set when a send() over HTTP met 401: the polling session must end.
        self._revoked: str | None = None
        # History pages being fetched over HTTP, and what the long poll brought
        # meanwhile: it is handed on after the page, as the server's socket
        # does (docs/protocol.md), since the page may have been read before an
        # entry of the poll's was stored, and must not seem newer than it.
        self._pages_in_flight = 0
        self._held: list[ServerEvent] = []
        # room -> highest seq handed to on_event, so a reconnect never asks for it again.
        self._delivered: dict[str, int] = {}
        # Set by reconnect_now(): ends a backoff wait or the wait between socket probes.
        self._wake = asyncio.Event()
        self._closing = False
        self._closed = False
        self._close_lock = asyncio.Lock()

    # Public API -----------------------------------------------------------

    @property
    def state(self) -> LinkState:
        """The current state (the last one reported to ``on_state``)."""
        return self._state

    @property
    def active(self) -> bool:
        """True from start() until the link stops for good (close(), UNAUTHORIZED or
        CERTIFICATE_REFUSED)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start connecting in a task on the running loop; a second call does nothing."""
        if self._task is not None or self._closing:
            return
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"ServerLink {self.base_url}"
        )

    def reconnect_now(self) -> None:
        """Skip the current backoff wait (or, while polling, try the socket at once)."""
        self._wake.set()

    async def send(self, event: ClientEvent) -> bool:
        """Hand ``event`` to the server; True when it went out, False when not connected.

        On the socket, True means the frame was written; the answer (ack,
        error, history, room) arrives through ``on_event``. While polling, the
        HTTP answer is turned into that same event and handed to ``on_event``
        before this returns. False means nothing reached the server, or no
        answer came: keep the event and send it again later (message sends
        are idempotent by ``client_id``).
        """
        if isinstance(event, Hello):
            raise ValueError("the link sends hello itself on every (re)connect")
        ws = self._ws
        if ws is not None and self._state.kind is LinkKind.CONNECTED:
            try:
                await ws.send(encode(event))
            except ConnectionClosed:
                return False
            return True
        poller = self._poller
        if poller is None:
            return False
        paging = isinstance(event, HistoryRequest)
        self._pages_in_flight += paging
        answers: list[ServerEvent] | None = None
        try:
            answers = await poller.send(event)
        except Unauthorized as exc:
            self._revoke(exc.message)
        except ApiError as exc:
            log.info("could not send %s over HTTP: %s", type(event).__name__, exc)
        finally:
            for answer in answers or ():
                self._emit(answer)
            self._pages_in_flight -= paging
            if not self._pages_in_flight:
                held, self._held = self._held, []
                for polled in held:
                    self._emit(polled)
        return answers is not None

    async def close(self) -> None:
        """Stop: close the socket (1000), cancel and await every task, close HTTP. Idempotent."""
        self._closing = True
        async with self._close_lock:
            if self._closed:
                return
            task, self._task = self._task, None
            if task is not None:
                task.cancel()
                # wait() rather than await: the task ends cancelled, which is
                # not an error of ours to raise, while our own cancellation still is.
                await asyncio.wait({task})
                if not task.cancelled() and task.exception() is not None:
                    log.error("the link ended with an error", exc_info=task.exception())
            await self._api.close()
            self._closed = True
            # Why a link stopped by itself stays the truth after it is closed.
            if self._state.kind not in (LinkKind.UNAUTHORIZED, LinkKind.CERTIFICATE_REFUSED):
                self._set_state(LinkState.because(LinkKind.OFFLINE, Reason(Why.DISCONNECTED)))

    # The connection loop ---------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._connect_forever()
        except Unauthorized as exc:
            self._set_state(LinkState(LinkKind.UNAUTHORIZED, detail=exc.message))
        except _CertificateRefused as exc:
            self._set_state(LinkState(LinkKind.CERTIFICATE_REFUSED, detail=str(exc)))
        except Exception:
            # A bug must not end the link silently: say so in the state.
            log.exception("the link to %s failed", self.base_url)
            self._set_state(LinkState.because(LinkKind.OFFLINE, Reason(Why.INTERNAL)))

    async def _connect_forever(self) -> None:
        """Connect, run sessions, back off between them.

        Only Unauthorized and _CertificateRefused end it.
        """
        handover: ClientConnection | None = None
        while True:
            reason = Reason(Why.LOST)
            ws, handover = handover, None
            if ws is None:
                self._set_state(LinkState(LinkKind.CONNECTING))
                try:
                    ws = await self._open_ws()
                except ssl.SSLCertVerificationError as exc:
                    raise self._refused(exc) from exc
                except InvalidHandshake as exc:
                    reason = Reason(Why.SOCKET_REFUSED, info=str(exc))
                    if _upgrade_refused(exc) and await self._http_answers():
                        reason, handover = await self._poll_until_socket(reason)
                        if handover is not None:
                            continue
                except _UNREACHABLE as exc:
                    reason = _unreachable(self.base_url, exc)
            if ws is not None:
                reason = await self._ws_session(ws)
            await self._backoff(reason)

    async def _open_ws(self) -> ClientConnection:
        # Extra keywords go to loop.create_connection; ``ssl`` only for wss://
        # (websockets refuses it for ws://, and makes a default context itself).
        extra: dict[str, Any] = {}
        if self._ssl is not None and self._ws_url.startswith("wss:"):
            extra["ssl"] = self._ssl
        return await connect(
            self._ws_url,
            # Direct, like the HTTP calls (aiohttp ignores proxy variables too).
            proxy=None,
            open_timeout=self._open_timeout,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
            close_timeout=5,
            max_size=_MAX_FRAME,
            **extra,
        )

    async def _ws_session(self, ws: ClientConnection) -> Reason:
        """Say hello, then hand every frame to on_event until the socket ends; say why it ended."""
        welcomed = False
        try:
            hello = Hello(token=self._token, since=self._since(), protocol=rules.PROTOCOL_V2)
            await ws.send(encode(hello))
            self._ws = ws
            async for frame in ws:
                event = _decode(frame)
                if event is None:
                    continue
                if isinstance(event, Welcome) and not welcomed:
                    welcomed = True
                    self._policy.connected()
                    self._set_state(LinkState(LinkKind.CONNECTED))
                self._emit(event)
        except ConnectionClosed:
            pass
        finally:
            self._ws = None
            if welcomed:
                self._policy.disconnected()
            # Normal closure (1000) when we leave first (close(), cancellation);
            # returns at once when the server already closed.
            await ws.close()
        code, reason = ws.close_code, ws.close_reason
        if code == CloseCode.UNAUTHORIZED:
            raise Unauthorized(401, "The server no longer accepts this session; log in again")
        if code is None or code == 1006:
            return Reason(Why.LOST)
        return Reason(Why.CLOSED, info=f"{code}{': ' + reason if reason else ''}")

    async def _backoff(self, reason: Reason) -> None:
        delay = self._policy.next_delay()
        self._set_state(
            LinkState.because(LinkKind.RECONNECTING, reason, retry_at=time.monotonic() + delay)
        )
        await self._sleep_or_wake(delay)

    async def _sleep_or_wake(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def _http_answers(self) -> bool:
        try:
            response = await self._api.request(
                "GET", "/api/v1/health", time_limit=self._open_timeout
            )
        except ApiError:
            return False
        return response.status == 200

    # Polling ---------------------------------------------------------------

    async def _poll_until_socket(self, reason: Reason) -> tuple[Reason, ClientConnection | None]:
        """Poll until polling fails or the socket opens.

        Returns why polling ended and, when the socket opened, the socket
        (its session then continues without a backoff). Raises Unauthorized.
        """
        poller = LongPoller(self._api, username=self._username, wait=self._poll_wait)
        try:
            opening = await poller.start(self._since())
        except Unauthorized:
            raise
        except ApiError as exc:
            return Reason(Why.HTTP_FAILED, info=str(exc)), None
        self._policy.connected()
        self._revoked = None
        self._poller = poller
        self._set_state(LinkState.because(LinkKind.POLLING, reason))
        for event in opening:
            self._emit(event)
        poll = asyncio.create_task(self._poll_forever(poller), name="ServerLink poll")
        probe = asyncio.create_task(self._probe_socket(), name="ServerLink socket probe")
        self._poll_task = poll
        opened: ClientConnection | None = None
        try:
            await asyncio.wait({poll, probe}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._poller = None
            self._poll_task = None
            poll.cancel()
            probe.cancel()
            await asyncio.wait({poll, probe})
            self._policy.disconnected()
            if not probe.cancelled() and probe.exception() is None:
                opened = probe.result()
        failure = None if poll.cancelled() else poll.exception()
        if self._revoked is not None or isinstance(failure, Unauthorized):
            if opened is not None:
                await opened.close()
            raise Unauthorized(401, self._revoked or str(failure))
        refused = None if probe.cancelled() else probe.exception()
        if isinstance(refused, ssl.SSLCertVerificationError):
            raise self._refused(refused) from refused
        if opened is not None:
            return Reason(Why.LOST), opened
        if isinstance(failure, ApiError):
            return Reason(Why.HTTP_FAILED, info=str(failure)), None
        if failure is not None:
            log.error("polling failed", exc_info=failure)
        return Reason(Why.POLLING_STOPPED), None

    async def _poll_forever(self, poller: LongPoller) -> None:
        rooms_checked = time.monotonic()
        while True:
            for event in await poller.poll():
                self._emit_polled(event)
            if time.monotonic() - rooms_checked >= self._rooms_refresh_interval:
                rooms_checked = time.monotonic()
                for room in await poller.new_rooms():
                    self._emit_polled(room)

    def _emit_polled(self, event: ServerEvent) -> None:
        """Hand on what a poll brought, after the history pages being fetched (see send)."""
        if self._pages_in_flight:
            self._held.append(event)
        else:
            self._emit(event)

    async def _probe_socket(self) -> ClientConnection:
        """Every ws_retry_interval (or at reconnect_now), try the socket; return it once open."""
        while True:
            await self._sleep_or_wake(self._ws_retry_interval)
            try:
                return await self._open_ws()
            except ssl.SSLCertVerificationError:
                # Not "unavailable": the certificate changed; polling must end too.
                raise
            except _UNREACHABLE as exc:
                log.debug("the WebSocket is still unavailable: %s", exc)

    def _revoke(self, detail: str) -> None:
        """A send over HTTP met 401: end the polling session, which then stops the link."""
        self._revoked = detail
        if self._poll_task is not None:
            self._poll_task.cancel()

    # Helpers ---------------------------------------------------------------

    def _refused(self, exc: ssl.SSLCertVerificationError) -> _CertificateRefused:
        reason = exc.verify_message or exc.reason or str(exc)
        return _CertificateRefused(
            f"The secure connection to {self.base_url} was refused: the server shows a "
            f"certificate this computer does not trust ({reason}); nothing was sent"
        )

    def _since(self) -> dict[str, int]:
        """The caller's positions, raised to what this link already delivered."""
        try:
            since = dict(self._positions())
        except Exception:
            log.exception("positions() failed; asking without cached positions")
            since = {}
        for room, seq in self._delivered.items():
            since[room] = max(seq, since.get(room, 0))
        return since

    def _emit(self, event: ServerEvent) -> None:
        # Every entry of a room's log moves the position (Version 2: a seq may
        # number an edit, a reaction...); a room I can no longer read is forgotten.
        if isinstance(event, LOG_ENTRY_CLASSES):
            self._delivered[event.room] = max(event.seq, self._delivered.get(event.room, 0))
        elif isinstance(event, RoomRemoved):
            self._delivered.pop(event.room, None)
        try:
            self._on_event(event)
        except Exception:
            # The receiver's bug must not tear down the connection.
            log.exception("on_event failed for a %s event", event.type)

    def _set_state(self, state: LinkState) -> None:
        if state == self._state:
            return
        self._state = state
        try:
            self._on_state(state)
        except Exception:
            log.exception("on_state failed")


def _decode(frame: str | bytes) -> ServerEvent | None:
    try:
        return decode_server(frame)
    except ProtocolError as exc:
        # A newer server may send events this client does not know yet.
        log.debug("ignoring a frame this client cannot read: %s", exc)
        return None


def _upgrade_refused(exc: InvalidHandshake) -> bool:
    """Whether an HTTP peer answered the handshake but would not upgrade.

    That is the signature of a proxy that strips ``Upgrade`` (the server then
    sees a plain GET and refuses it with a 4xx), and the case polling helps
    with. A handshake cut before any answer, or a 5xx (server starting,
    stopping, or a gateway without a backend), says nothing about WebSocket
    support: that is a retry with backoff.
    """
    if isinstance(exc, InvalidStatus):
        return exc.response.status_code < 500
    # No valid HTTP answer at all (a handshake cut short) is a network blip,
    # not a refusal: retry the socket. A malformed upgrade answer came from an
    # HTTP peer that does not speak WebSocket properly: polling helps there.
    return not isinstance(exc, InvalidMessage)


def _unreachable(base_url: str, exc: BaseException) -> Reason:
    if isinstance(exc, TimeoutError):
        return Reason(Why.TIMEOUT, server=base_url)
    if isinstance(exc, ssl.SSLError):
        return Reason(Why.TLS_FAILED, server=base_url, info=str(exc.reason or exc))
    return Reason(Why.UNREACHABLE, server=base_url)
