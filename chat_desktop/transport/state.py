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


class Why(enum.Enum):
    """Why the link is not (or no longer) on a WebSocket, as a code.

    The transport knows no language: the window turns the code into a sentence
    in the user's language (ui/connection_status.py), and :class:`Reason`
    keeps an English one for the log.
    """

    DISCONNECTED = "Disconnected"
    INTERNAL = "Internal error; see the log"
    SOCKET_REFUSED = "The server refused the WebSocket"
    UNREACHABLE = "Cannot reach server at {server}"
    TIMEOUT = "The server at {server} did not answer in time"
    TLS_FAILED = "The secure connection to {server} failed"
    LOST = "The connection to the server was lost"
    CLOSED = "The server closed the connection"
    HTTP_FAILED = "The server answered with an error"
    POLLING_STOPPED = "Polling stopped"


@dataclass(frozen=True, slots=True)
class Reason:
    """A :class:`Why` with its particulars: the server's address, and the
    technical words (an exception's text, a close code) that are not ours to
    translate and are shown as they are."""

    why: Why
    server: str = ""
    info: str = ""

    @property
    def english(self) -> str:
        sentence = self.why.value.format(server=self.server)
        return f"{sentence} ({self.info})" if self.info else sentence


@dataclass(frozen=True, slots=True)
class LinkState:
    """The link's phase, when it retries (RECONNECTING) and a sentence on why."""

    kind: LinkKind
    #: ``time.monotonic()`` of the next attempt while RECONNECTING, else None.
    retry_at: float | None = None
    #: A human sentence, e.g. the last error; empty when there is nothing to say.
    #: English: the log's, and the words of the server or of a certificate
    #: check that have no code (UNAUTHORIZED, CERTIFICATE_REFUSED).
    detail: str = ""
    #: The same, as a code for the window to say in the user's language; None
    #: when there is nothing to add.
    reason: Reason | None = None

    @classmethod
    def because(cls, kind: LinkKind, reason: Reason, retry_at: float | None = None) -> LinkState:
        return cls(kind, retry_at=retry_at, detail=reason.english, reason=reason)
