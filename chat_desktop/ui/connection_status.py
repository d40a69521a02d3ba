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

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from chat_desktop.controller.entries import ConnectionKind, ConnectionStatus

from .text_spans import plain_tooltip

_TIPS = {
    ConnectionKind.CONNECTED: "Messages arrive the instant they are sent.",
    ConnectionKind.POLLING: (
        "The WebSocket cannot be opened (a proxy in the way?): the chat goes through "
        "HTTP polling, and the WebSocket is tried again every 30 s."
    ),
    ConnectionKind.OFFLINE: "Messages you write now are kept and sent when the connection is back.",
}


def status_text(status: ConnectionStatus, now: float | None = None) -> str:
    """The words for ``status``; ``now`` is time.monotonic() for the countdown."""
    kind = status.kind
    if kind is ConnectionKind.RECONNECTING:
        if status.retry_at is None:
            return "Reconnecting…"
        now = time.monotonic() if now is None else now
        seconds = max(0, math.ceil(status.retry_at - now))
        return f"Reconnecting in {seconds} s" if seconds else "Reconnecting…"
    return {
        ConnectionKind.CONNECTING: "Connecting…",
        ConnectionKind.CONNECTED: "Connected",
        ConnectionKind.POLLING: "Offline: polling",
        ConnectionKind.OFFLINE: "Offline",
        ConnectionKind.UNAUTHORIZED: "Signed out: the server no longer accepts this sign-in",
        ConnectionKind.CERTIFICATE_REFUSED: "Not connected: the server's certificate changed",
    }[kind]


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
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.button = QPushButton("Reconnect now", self)
        self.button.setObjectName("reconnectButton")
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
        tip = status.detail or _TIPS.get(status.kind, "")
        self.label.setToolTip(plain_tooltip(tip))
        self._refresh()

    def _refresh(self) -> None:
        self.label.setText(status_text(self._status))
