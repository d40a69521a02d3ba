"""Connection: the chat's one link to the server, and its events gathered into batches.

The controller's parts never hold the :class:`~chat_desktop.transport.link.ServerLink`
themselves; they share one :class:`Connection`, which:

- makes the link (through a factory, so a test can hand in a stand-in with
  the same interface, :class:`Link`), starts it, replaces it after a refused
  certificate (:meth:`Connection.restart`) and closes it, and at sign-out
  ends the session on the server (:meth:`Connection.log_out`);
- keeps the link's last :class:`~chat_desktop.transport.state.LinkState` and
  says whether anything can be sent now (:meth:`Connection.can_send`: the
  socket is up, or the HTTP polling fallback);
- sends a client event (:meth:`Connection.send`), turning a network failure
  into ``False`` (keep it, try again later) instead of an exception;
- collects the events the link hands over for ``batch_seconds`` and passes
  them on as one list (``on_batch``): a burst of thousands of messages becomes
  one cache transaction and one model insert instead of thousands. A change
  of the link's state hands on what is waiting first, so that one batch
  never mixes two connections, and so does a ``room`` event: a batch's room
  objects are saved before its entries, so they must come first in it.

Plain asyncio: the link calls ``on_event`` and ``on_state`` from its tasks on
the running loop (qasync's in the app, so on the Qt thread), and the batch is
a ``loop.call_later`` timer on that same loop. No lock is needed anywhere,
because nothing runs in parallel: the callbacks, the tasks and the widgets
take turns on the one thread.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Protocol

from chat_desktop.transport.http_api import AccountClient, ApiError, Person
from chat_desktop.transport.link import ServerLink
from chat_desktop.transport.state import LinkKind, LinkState
from chat_protocol import ClientEvent, Error, ErrorCode, Room, ServerEvent

log = logging.getLogger(__name__)

# Events arriving within this window are handled together (one cache
# transaction, one model insert): short enough to feel instant.
BATCH_SECONDS = 0.03


class Link(Protocol):
    """What the controller uses of a :class:`~chat_desktop.transport.link.ServerLink`.

    A link is made by a factory called as ``factory(base_url, token, *,
    positions, on_event, on_state, username, ssl_context)``; it reports every
    server event to ``on_event`` and every change of its state to ``on_state``.
    """

    @property
    def state(self) -> LinkState: ...

    def start(self) -> None: ...

    def reconnect_now(self) -> None: ...

    async def send(self, event: ClientEvent) -> bool: ...

    async def close(self) -> None: ...


class Connection:
    """The link of one signed-in session, its state, and its events in batches.

    ``on_state`` hears every state change (after :attr:`status` holds it);
    ``on_batch`` gets the events that arrived within ``batch_seconds``, in the
    order the link delivered them.
    """

    def __init__(
        self,
        *,
        server_url: str,
        username: str,
        token: str,
        positions: Callable[[], dict[str, int]],
        on_state: Callable[[LinkState], None],
        on_batch: Callable[[list[ServerEvent]], None],
        link_factory: Callable[..., Link] = ServerLink,
        ssl_context: ssl.SSLContext | None = None,
        batch_seconds: float = BATCH_SECONDS,
    ) -> None:
        self.server_url = server_url
        self.username = username
        self._token = token
        self._positions = positions
        self._on_state = on_state
        self._on_batch = on_batch
        self._link_factory = link_factory
        # For an https server: the pinned certificate or the system's authorities.
        self.ssl_context = ssl_context
        self._batch_seconds = batch_seconds
        self.link: Link | None = None
        self.status = LinkState(LinkKind.OFFLINE)
        self.closed = False
        # Events waiting for the next batch, and the handle of its timer.
        self._incoming: list[ServerEvent] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        # More parts that hear every state change after on_state (see watch()).
        self._watchers: list[Callable[[LinkState], None]] = []
        # Who hears a rate_limited refusal at once (see watch_rate_limits()).
        self._rate_listeners: list[Callable[[Error], None]] = []

    def watch(self, listener: Callable[[LinkState], None]) -> None:
        """Have ``listener`` hear every state change too (after ``on_state``)."""
        self._watchers.append(listener)

    def watch_rate_limits(self, listener: Callable[[Error], None]) -> None:
        """Have ``listener`` hear every ``rate_limited`` refusal the moment the link hands
        it over, before its batch: the outbox must stop sending before its next write
        goes out (over HTTP that is before :meth:`send` returns), not 30 ms later."""
        self._rate_listeners.append(listener)

    def start(self, base_url: str | None = None) -> None:
        """Make and start the link (on the running loop); ``base_url`` overrides the address."""
        if self.link is not None or self.closed:
            return
        # A hosted server may have moved to another port since the last start.
        self.server_url = base_url or self.server_url
        self.link = self._link_factory(
            self.server_url,
            self._token,
            positions=self._positions,
            on_event=self._on_event,
            on_state=self._state_changed,
            username=self.username,
            ssl_context=self.ssl_context,
        )
        self.link.start()

    def restart(self, context: ssl.SSLContext | None) -> None:
        """Replace the stopped (and closed) link by a new one with ``context``."""
        self.ssl_context = context
        self.link = None
        self.start()

    def reconnect_now(self) -> None:
        """Skip the link's backoff wait."""
        if self.link is not None:
            self.link.reconnect_now()

    async def close(self) -> None:
        """Close the link; events still waiting for their batch are dropped."""
        if self.closed:
            return
        self.closed = True
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self.link is not None:
            await self.link.close()

    async def log_out(self) -> None:
        """End the session on the server (best effort; after close())."""
        client = AccountClient(self.server_url, ssl_context=self.ssl_context)
        try:
            await asyncio.wait_for(client.logout(self._token), 5)
        except (ApiError, TimeoutError) as exc:
            # Offline: the token stays valid on the server but is forgotten here.
            log.info("could not log out on the server: %s", exc)
        finally:
            await client.close()

    async def users(self) -> list[Person]:
        """Everyone on the server (``GET /api/v1/users``); raises ApiError."""
        client = AccountClient(self.server_url, ssl_context=self.ssl_context)
        try:
            return await client.users(self._token)
        finally:
            await client.close()

    async def delete_room(self, room: str) -> None:
        """Delete ``room`` (admins only; ``DELETE /api/v1/rooms/ROOM``); raises ApiError."""
        client = AccountClient(self.server_url, ssl_context=self.ssl_context)
        try:
            await client.delete_room(self._token, room)
        finally:
            await client.close()

    def can_send(self) -> bool:
        """Whether the link can hand an event to the server now (socket or polling)."""
        return self.link is not None and self.status.kind in (
            LinkKind.CONNECTED,
            LinkKind.POLLING,
        )

    async def send(self, event: ClientEvent) -> bool:
        """Hand ``event`` to the link; False when it did not go out (keep it for later)."""
        if self.link is None:
            return False
        try:
            return await self.link.send(event)
        except (OSError, ApiError) as exc:
            log.info("could not send %s: %s", event.type, exc)
            return False

    def _state_changed(self, state: LinkState) -> None:
        if self.closed:
            return
        # What came before the change is handled first, at once: a batch never
        # holds events of two connections (the room objects of the next
        # welcome would be applied before a page of the old connection, whose
        # messages would then seem to reflect entries they lack), and the next
        # hello's ``since`` counts all of it.
        self._flush()
        self.status = state
        self._on_state(state)
        for listener in self._watchers:
            listener(state)

    def _on_event(self, event: ServerEvent) -> None:
        if self.closed:
            return
        if isinstance(event, Error) and event.code == ErrorCode.RATE_LIMITED:
            for listener in self._rate_listeners:
                listener(event)
        if isinstance(event, Room) and self._incoming:
            # A batch saves its room objects before its log entries (whose
            # topic and member entries change what they say): one that came
            # after entries starts a batch of its own, or its last_seq would be
            # taken as known to a page that came before it.
            self._flush()
        self._incoming.append(event)
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(self._batch_seconds, self._flush)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()  # when called before its time
            self._flush_handle = None
        events, self._incoming = self._incoming, []
        if self.closed or not events:
            return
        self._on_batch(events)
