"""FakeLink: a stand-in for ServerLink, so the controller's parts are tested without a network.

It has the link's interface as the controller uses it
(:class:`chat_desktop.controller.connection.Link`), is made by the same
factory call, and behaves as the real link does at that interface: ``send``
returns False unless the state is CONNECTED or POLLING (nothing reached the
server), ``close`` reports OFFLINE unless the link had stopped for good, and
events and states go to the callbacks it was given. The test plays the
server: it changes the state (``connect``, ``drop``, ``refuse_certificate``),
reads what was sent (``sent``; ``attempts`` has every try) and hands events
over (``deliver``). Nothing else: what a real server answers is the business
of the end-to-end tests.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from chat_desktop.transport.state import LinkKind, LinkState
from chat_protocol import ClientEvent, ServerEvent


class FakeLink:
    """One link: what the parts sent through it, and the server's side in the test's hands."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        positions: Callable[[], dict[str, int]],
        on_event: Callable[[ServerEvent], None],
        on_state: Callable[[LinkState], None],
        username: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.base_url = base_url
        self.token = token
        self.positions = positions
        self.ssl_context = ssl_context
        self._on_event = on_event
        self._on_state = on_state
        self._state = LinkState(LinkKind.OFFLINE)
        self.started = False
        self.closed = False
        # What went out, in order; and whether the next sends go out at all
        # (False: as a POST that fails while polling, the state stays).
        self.sent: list[ClientEvent] = []
        self.accepting = True
        # Every send() call, whether it went out or not.
        self.attempts: list[ClientEvent] = []

    # The link's interface -----------------------------------------------------

    @property
    def state(self) -> LinkState:
        return self._state

    def start(self) -> None:
        self.started = True
        self._set_state(LinkState(LinkKind.CONNECTING))

    def reconnect_now(self) -> None:
        pass

    async def send(self, event: ClientEvent) -> bool:
        self.attempts.append(event)
        if self._state.kind not in (LinkKind.CONNECTED, LinkKind.POLLING) or not self.accepting:
            return False
        self.sent.append(event)
        return True

    async def close(self) -> None:
        self.closed = True
        if self._state.kind not in (LinkKind.UNAUTHORIZED, LinkKind.CERTIFICATE_REFUSED):
            self._set_state(LinkState(LinkKind.OFFLINE, detail="Disconnected"))

    # The server's side ---------------------------------------------------------

    def connect(self) -> None:
        self._set_state(LinkState(LinkKind.CONNECTED))

    def drop(self) -> None:
        self._set_state(LinkState(LinkKind.RECONNECTING, detail="lost"))

    def refuse_certificate(self) -> None:
        self._set_state(LinkState(LinkKind.CERTIFICATE_REFUSED, detail="refused"))

    def deliver(self, *events: ServerEvent) -> None:
        for event in events:
            self._on_event(event)

    def sent_of(self, kind: type[ClientEvent]) -> list[ClientEvent]:
        return [event for event in self.sent if isinstance(event, kind)]

    def _set_state(self, state: LinkState) -> None:
        if state != self._state:
            self._state = state
            self._on_state(state)
