"""The status bar's connection line: always the truth, with "Reconnect now" when it helps.

"Connected", "Connecting…", "Reconnecting in 7 s" (counting down, once a
second), "Offline: polling" (the WebSocket is blocked and HTTP long polling
carries the chat), "Offline", "Signed out", or "Not connected: the server's
certificate changed" (the window's certificate bar says more). The widget only shows a
:class:`~chat_desktop.controller.entries.ConnectionStatus`; the button emits a
signal that the main window hands to the controller.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from chat_desktop.controller.entries import ConnectionKind, ConnectionStatus, ConnectionWhy

from .text_spans import plain_tooltip


def _tip(kind: ConnectionKind) -> str:
    """What hovering the status says about ``kind`` ("" when there is nothing to add)."""
    if kind is ConnectionKind.CONNECTED:
        return QCoreApplication.translate(
            "connection", "Messages arrive the instant they are sent."
        )
    if kind is ConnectionKind.POLLING:
        return QCoreApplication.translate(
            "connection",
            "The WebSocket cannot be opened (a proxy in the way?): the chat goes through "
            "HTTP polling, and the WebSocket is tried again every 30 s.",
        )
    if kind is ConnectionKind.OFFLINE:
        return QCoreApplication.translate(
            "connection", "Messages you write now are kept and sent when the connection is back."
        )
    if kind is ConnectionKind.RECONNECTING:
        return QCoreApplication.translate(
            "connection",
            "The connection was lost: the app tries again by itself, and Reconnect now "
            "tries at once. Messages you write meanwhile are kept.",
        )
    return ""


def _why(status: ConnectionStatus) -> str:
    """The link's diagnostic in the user's language ("" when it has none)."""
    reason = status.reason
    if reason is None:
        # The server's or a certificate check's own words have no code.
        return status.detail
    sentence = {
        ConnectionWhy.DISCONNECTED: QCoreApplication.translate("connection", "Disconnected."),
        ConnectionWhy.INTERNAL: QCoreApplication.translate(
            "connection", "Something went wrong inside the app; its log says what."
        ),
        ConnectionWhy.SOCKET_REFUSED: QCoreApplication.translate(
            "connection", "The server refused the WebSocket."
        ),
        ConnectionWhy.UNREACHABLE: QCoreApplication.translate(
            "connection", "Cannot reach the server at %1."
        ),
        ConnectionWhy.TIMEOUT: QCoreApplication.translate(
            "connection", "The server at %1 did not answer in time."
        ),
        ConnectionWhy.TLS_FAILED: QCoreApplication.translate(
            "connection", "The secure connection to %1 failed."
        ),
        ConnectionWhy.LOST: QCoreApplication.translate(
            "connection", "The connection to the server was lost."
        ),
        ConnectionWhy.CLOSED: QCoreApplication.translate(
            "connection", "The server closed the connection."
        ),
        ConnectionWhy.HTTP_FAILED: QCoreApplication.translate(
            "connection", "The server answered with an error."
        ),
        ConnectionWhy.POLLING_STOPPED: QCoreApplication.translate("connection", "Polling stopped."),
    }[reason.why]
    text = sentence.replace("%1", reason.server)
    return f"{text} ({reason.info})" if reason.info else text


def status_text(status: ConnectionStatus, now: float | None = None) -> str:
    """The words for ``status``; ``now`` is time.monotonic() for the countdown."""
    kind = status.kind
    if kind is ConnectionKind.RECONNECTING:
        if status.retry_at is None:
            return QCoreApplication.translate("connection", "Reconnecting…")
        now = time.monotonic() if now is None else now
        seconds = max(0, math.ceil(status.retry_at - now))
        if seconds:
            return QCoreApplication.translate("connection", "Reconnecting in %n s", "", seconds)
        return QCoreApplication.translate("connection", "Reconnecting…")
    if kind is ConnectionKind.CONNECTING:
        return QCoreApplication.translate("connection", "Connecting…")
    if kind is ConnectionKind.CONNECTED:
        return QCoreApplication.translate("connection", "Connected")
    if kind is ConnectionKind.POLLING:
        return QCoreApplication.translate("connection", "Offline: polling")
    if kind is ConnectionKind.OFFLINE:
        return QCoreApplication.translate("connection", "Offline")
    if kind is ConnectionKind.UNAUTHORIZED:
        return QCoreApplication.translate(
            "connection", "Signed out: the server no longer accepts this sign-in"
        )
    return QCoreApplication.translate(
        "connection", "Not connected: the server's certificate changed"
    )


class ConnectionStatusWidget(QWidget):
    """A coloured dot, the status words, and a "Reconnect now" button.

    Signals:
        reconnectRequested(): the user pressed "Reconnect now".
    """

    reconnectRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._status = ConnectionStatus(ConnectionKind.CONNECTING)
        self.dot = QLabel("●", self)
        self.label = QLabel(self)
        self.label.setObjectName("connectionLabel")
        self.label.setAccessibleName(self.tr("Connection"))
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.button = QPushButton(self.tr("Reconnect now"), self)
        self.button.setObjectName("reconnectButton")
        self.button.setAccessibleDescription(
            self.tr("Tries to connect at once instead of waiting for the next attempt")
        )
        self.button.setFlat(False)
        self.button.clicked.connect(self.reconnectRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(4)
        layout.addWidget(self.dot)
        layout.addWidget(self.label)
        layout.addWidget(self.button)
        # Ticks once a second while counting down, so "Reconnecting in N s" stays true.
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self._refresh)
        self.show_status(self._status)

    @property
    def status(self) -> ConnectionStatus:
        return self._status

    def show_status(self, status: ConnectionStatus) -> None:
        self._status = status
        if status.kind is ConnectionKind.RECONNECTING and status.retry_at is not None:
            self._tick.start()
        else:
            self._tick.stop()
        self.button.setVisible(
            status.kind
            in (ConnectionKind.RECONNECTING, ConnectionKind.OFFLINE, ConnectionKind.POLLING)
        )
        color = {
            ConnectionKind.CONNECTED: "#3cb371",
            ConnectionKind.POLLING: "#e0a030",
            ConnectionKind.CONNECTING: "#e0a030",
            ConnectionKind.RECONNECTING: "#e0a030",
        }.get(status.kind, "#d0403a")
        self.dot.setStyleSheet(f"color: {color};")
        # Our sentence in the user's language first; why the link is where it
        # is below it (also in the user's language, with the technical words,
        # a close code or an exception's text, as they are).
        tip = "\n\n".join(part for part in (_tip(status.kind), _why(status)) if part)
        self.label.setToolTip(plain_tooltip(tip))
        self._refresh()

    def _refresh(self) -> None:
        self.label.setText(status_text(self._status))
