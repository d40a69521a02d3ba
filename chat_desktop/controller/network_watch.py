"""NetworkWatch: tells the app when waiting out a reconnect backoff makes no sense any more.

After the computer wakes up, or the network comes back or changes (Wi-Fi to
cable, a VPN), the server is likely reachable *now*, while the link may be
half-way through a 30 s backoff. The main window connects :attr:`NetworkWatch.changed`
to the controller's ``reconnect_now`` (the same call as the "Reconnect now"
button), so the chat heals at once.

Two sources, each used only where it exists:

- Qt's ``QNetworkInformation`` (a backend per platform: NetworkManager or
  GLib on Linux, the system's on Windows and macOS): reachability going
  back to online, or another transport medium.
- On Linux, logind's ``PrepareForSleep(false)`` on the system bus: the
  computer resumed from suspend.

Where neither loads (the offscreen platform of the tests, a container
without a system bus), the class quietly does nothing: the backoff and the
link's keepalive still heal the chat, only later.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import SLOT, QObject, Signal, Slot
from PySide6.QtDBus import QDBusConnection
from PySide6.QtNetwork import QNetworkInformation

_REACHABLE = (
    QNetworkInformation.Reachability.Online,
    QNetworkInformation.Reachability.Site,
    QNetworkInformation.Reachability.Local,
)


class NetworkWatch(QObject):
    """Watches the network and the system's sleep; see the module docstring.

    Signals:
        changed(): the network came back or changed, or the computer woke up.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # Whether each source is hooked up (for the log and for tests).
        self.watches_network = False
        self.watches_sleep = False
        # loadDefaultBackend is process-wide and idempotent: every window may ask.
        if QNetworkInformation.loadDefaultBackend():
            info = QNetworkInformation.instance()
            if info is not None:
                self._reachable = info.reachability() in _REACHABLE
                info.reachabilityChanged.connect(self._reachability_changed)
                info.transportMediumChanged.connect(self._medium_changed)
                self.watches_network = True
        if sys.platform.startswith("linux"):
            bus = QDBusConnection.systemBus()
            # PySide6 takes the slot as the str SLOT() makes; its stubs say bytes.
            self.watches_sleep = bus.isConnected() and bus.connect(  # type: ignore[call-overload]
                "org.freedesktop.login1",
                "/org/freedesktop/login1",
                "org.freedesktop.login1.Manager",
                "PrepareForSleep",
                self,
                SLOT("_prepare_for_sleep(bool)"),
            )

    @Slot(QNetworkInformation.Reachability)
    def _reachability_changed(self, reachability: QNetworkInformation.Reachability) -> None:
        reachable = reachability in _REACHABLE
        # Only going back online matters: going offline is noticed by the link itself.
        if reachable and not self._reachable:
            self.changed.emit()
        self._reachable = reachable

    @Slot(QNetworkInformation.TransportMedium)
    def _medium_changed(self, _medium: QNetworkInformation.TransportMedium) -> None:
        # Another medium (Wi-Fi to cable, a VPN) means other routes: a waiting link may
        # well get through now.
        if self._reachable:
            self.changed.emit()

    @Slot(bool)
    def _prepare_for_sleep(self, going_to_sleep: bool) -> None:
        if not going_to_sleep:
            self.changed.emit()
