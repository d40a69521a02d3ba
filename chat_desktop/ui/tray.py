"""ChatTray: the tray icon with the unread count, and desktop notifications.

Qt's QSystemTrayIcon does both: the icon (the app icon with a red badge
painted on it) and ``showMessage`` for a notification. Clicking a
notification opens the room it was about. Where the desktop has no tray
(some Linux sessions, the offscreen platform of the tests) the class still
works and simply shows nothing.
"""

from __future__ import annotations

import html
import sys

from PySide6.QtCore import QObject, QRectF, QSize, Qt, Signal
from PySide6.QtDBus import QDBusConnection, QDBusInterface
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from .resources import icon

# Longest text shown in a notification; the rest is in the window.
NOTIFICATION_CHARS = 160


class ChatTray(QObject):
    """The tray icon of the chat window.

    Signals:
        roomClicked(str): a notification about this room was clicked.
        openRequested(): the icon was clicked (no notification pending) or
            "Open Chat Desktop" chosen: show the window (it may be hidden while
            the app keeps hosting a chat in the background).
        quitRequested(): Quit was chosen in the tray's menu.
    """

    roomClicked = Signal(str)
    openRequested = Signal()
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
            self._icon.setToolTip(self.tr("Chat Desktop"))
            menu = QMenu()
            open_action = QAction(self.tr("Open Chat Desktop"), menu)
            open_action.triggered.connect(self.openRequested)
            menu.addAction(open_action)
            quit_action = QAction(self.tr("Quit"), menu)
            quit_action.triggered.connect(self.quitRequested)
            menu.addAction(quit_action)
            self._menu = menu
            self._icon.setContextMenu(menu)
            self._icon.messageClicked.connect(self._message_clicked)
            self._icon.activated.connect(self._activated)
            self._icon.show()

    def available(self) -> bool:
        """Whether this desktop shows a tray icon (so the app can live in it)."""
        return self._icon is not None

    @property
    def unread(self) -> int:
        return self._unread

    def set_unread(self, count: int) -> None:
        if count == self._unread:
            return
        self._unread = count
        if self._icon is not None:
            self._icon.setIcon(badged_icon(count))
            self._icon.setToolTip(self.tool_tip)

    @property
    def tool_tip(self) -> str:
        """What hovering the tray icon says: "Chat Desktop: 3 unread"."""
        return (
            self.tr("Chat Desktop: %n unread", "", self._unread)
            if self._unread
            else self.tr("Chat Desktop")
        )

    def notify(self, room: str, author: str, text: str) -> None:
        """Show a desktop notification (plain text) for a new message."""
        body = text if len(text) <= NOTIFICATION_CHARS else text[: NOTIFICATION_CHARS - 1] + "…"
        self.last_room = room
        title = self.tr("{author} in #{room}").format(author=author, room=room)
        self.last_message = f"{title}: {body}"
        if self._icon is not None and QSystemTrayIcon.supportsMessages():
            self._icon.showMessage(
                title,
                notification_body(body, reads_markup=_notifications_read_markup()),
                QSystemTrayIcon.MessageIcon.Information,
                8000,
            )

    def hide(self) -> None:
        if self._icon is not None:
            self._icon.hide()

    def _message_clicked(self) -> None:
        if self.last_room:
            self.roomClicked.emit(self.last_room)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason != QSystemTrayIcon.ActivationReason.Trigger:
            return
        if self.last_room:
            self.roomClicked.emit(self.last_room)
        else:
            self.openRequested.emit()


def notification_body(text: str, *, reads_markup: bool) -> str:
    """The notification text that shows ``text`` literally where it is shown.

    A freedesktop notification server may read the body as markup (``<b>``,
    ``<a href>``, ``<img src>``): there the text must be escaped, or a message
    could draw images or links in the user's notification. Everywhere else
    (Qt's own balloon, macOS, Windows) the body is plain text already, and
    escaping would show ``&lt;`` to the user.
    """
    return html.escape(text, quote=False) if reads_markup else text


def _notifications_read_markup() -> bool:
    """Whether Qt sends notifications to a freedesktop notification server.

    Qt on Linux does so exactly when a StatusNotifier host is registered on
    the session bus (it then uses its D-Bus tray icon); otherwise it draws
    its own balloon, which shows plain text.
    """
    if not sys.platform.startswith("linux"):
        return False
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    watcher = QDBusInterface(
        "org.kde.StatusNotifierWatcher",
        "/StatusNotifierWatcher",
        "org.kde.StatusNotifierWatcher",
        bus,
    )
    return watcher.isValid() and bool(watcher.property("IsStatusNotifierHostRegistered"))


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
