"""ChatTray: the tray icon with the unread count, and desktop notifications.

Qt's QSystemTrayIcon does both: the icon (the app icon with a red badge
painted on it) and ``showMessage`` for a notification. Clicking a
notification opens the room it was about. Where the desktop has no tray
(some Linux sessions, the offscreen platform of the tests) the class still
works and simply shows nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from .resources import icon

# Longest text shown in a notification; the rest is in the window.
NOTIFICATION_CHARS = 160


class ChatTray(QObject):
    """The tray icon of the chat window.

    Signals:
        roomClicked(str): a notification about this room was clicked.
        quitRequested(): Quit was chosen in the tray's menu.
    """

    roomClicked = Signal(str)
    quitRequested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unread = 0
        # The room of the last notification: where a click on it leads.
        self.last_room = ""
        self.last_message = ""
        self._icon: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self._icon = QSystemTrayIcon(icon("app"), self)
            self._icon.setToolTip("Chat Desktop")
            menu = QMenu()
            quit_action = QAction("Quit", menu)
            quit_action.triggered.connect(self.quitRequested)
            menu.addAction(quit_action)
            self._menu = menu
            self._icon.setContextMenu(menu)
            self._icon.messageClicked.connect(self._message_clicked)
            self._icon.activated.connect(self._activated)
            self._icon.show()

    @property
    def unread(self) -> int:
        return self._unread

    def set_unread(self, count: int) -> None:
        if count == self._unread:
            return
        self._unread = count
        if self._icon is not None:
            self._icon.setIcon(badged_icon(count))
            self._icon.setToolTip(f"Chat Desktop: {count} unread" if count else "Chat Desktop")

    def notify(self, room: str, author: str, text: str) -> None:
        """Show a desktop notification (plain text) for a new message."""
        body = text if len(text) <= NOTIFICATION_CHARS else text[: NOTIFICATION_CHARS - 1] + "…"
        self.last_room = room
        self.last_message = f"{author} in #{room}: {body}"
        if self._icon is not None and QSystemTrayIcon.supportsMessages():
            self._icon.showMessage(
                f"{author} in #{room}", body, QSystemTrayIcon.MessageIcon.Information, 8000
            )

    def hide(self) -> None:
        if self._icon is not None:
            self._icon.hide()

    def _message_clicked(self) -> None:
        if self.last_room:
            self.roomClicked.emit(self.last_room)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger and self.last_room:
            self.roomClicked.emit(self.last_room)


def badged_icon(count: int) -> QIcon:
    """The app icon with the unread count in a red disc at its top right."""
    base = icon("app")
    if count <= 0:
        return base
    result = QIcon()
    for size in (16, 24, 32, 48, 64):
        pixmap = base.pixmap(QSize(size, size))
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        ratio = pixmap.devicePixelRatio()
        side = size * 0.62
        disc = QRectF(size - side, 0, side, side)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#d0403a"))
        painter.drawEllipse(disc)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(max(6, int(side * 0.62)))
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(disc, Qt.AlignmentFlag.AlignCenter, str(count) if count < 100 else "99+")
        painter.end()
        pixmap.setDevicePixelRatio(ratio)
        result.addPixmap(pixmap)
    return result
