"""What the link to the server is doing right now, as one immutable value.

:class:`~chat_desktop.transport.link.ServerLink` reports every change of its
state through its ``on_state`` callback; the controller turns it into the
status line ("Connected", "Reconnecting in 4 s", "Connected (polling)",
"Signed out: log in again", "Not connected: the certificate changed").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class LinkKind(enum.Enum):
    """The phases of a link's life."""

    #: Opening the WebSocket (or, after a refused handshake, starting to poll).
    CONNECTING = "connecting"
    #: The WebSocket is open and the server welcomed us.
    CONNECTED = "connected"
    #: The last attempt failed; the next one starts at ``retry_at``.
    RECONNECTING = "reconnecting"
    #: The WebSocket cannot be opened but HTTP works: long polling.
    POLLING = "polling"
    #: Not started yet, or closed.
    OFFLINE = "offline"
    #: The server refused the token (close 4401 / HTTP 401); the link stopped for good.
    UNAUTHORIZED = "unauthorized"
    #: The server's certificate failed verification (another than the pinned one,
    #: or one no authority vouches for): the link stopped for good, before
    #: sending anything. The caller checks the certificate (``pinning.check_server``)
    #: and, once the user decides, starts a new link with a new SSL context.
    CERTIFICATE_REFUSED = "certificate_refused"


@dataclass(frozen=True, slots=True)
class LinkState:
    """The link's phase, when it retries (RECONNECTING) and a sentence on why."""

    kind: LinkKind
    #: ``time.monotonic()`` of the next attempt while RECONNECTING, else None.
    retry_at: float | None = None
    #: A human sentence, e.g. the last error; empty when there is nothing to say.
    detail: str = ""
