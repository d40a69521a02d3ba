"""The unread count on the app's launcher icon, where the desktop supports it.

On Linux, docks and task bars (Ubuntu's dock, KDE's task manager, Plank,
Dash to Dock) show a count on an app's icon when the app sends the Unity
LauncherEntry signal on the session bus: ``com.canonical.Unity.LauncherEntry``
``Update(app_uri, {"count": x, "count-visible": b})``, where ``app_uri`` names
the app's ``.desktop`` file. Without a session bus (or elsewhere) nothing is
sent; the tray icon's badge (:mod:`.tray`) is there either way.
"""

from __future__ import annotations

import sys

from PySide6.QtDBus import QDBusConnection, QDBusMessage

APP_URI = "application://chat-desktop.desktop"
OBJECT_PATH = "/com/chat_desktop/LauncherEntry"
INTERFACE = "com.canonical.Unity.LauncherEntry"


def update_message(count: int) -> QDBusMessage:
    """The ``Update`` signal that shows ``count`` on the icon (hides it at 0)."""
    message = QDBusMessage.createSignal(OBJECT_PATH, INTERFACE, "Update")
    message.setArguments([APP_URI, {"count": max(0, count), "count-visible": count > 0}])
    return message


class LauncherBadge:
    """Sends the count to the dock when it changes (and a session bus is there)."""

    def __init__(self, bus: QDBusConnection | None = None) -> None:
        self._count = 0
        if bus is None and sys.platform.startswith("linux"):
            bus = QDBusConnection.sessionBus()
        # ``bus``: the session bus by default (tests pass a private one).
        self._bus = bus if bus is not None and bus.isConnected() else None

    @property
    def available(self) -> bool:
        return self._bus is not None

    def set_count(self, count: int) -> None:
        if count == self._count:
            return
        self._count = count
        if self._bus is not None:
            self._bus.send(update_message(count))
