"""The dock's unread badge: Unity's LauncherEntry ``Update`` signal, seen on a private bus.

A real ``dbus-daemon`` (a private one, not the session's) and a real
``dbus-monitor`` listening on it; skipped where the D-Bus tools are missing.
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
from PySide6.QtDBus import QDBusConnection
from PySide6.QtWidgets import QApplication

from chat_desktop.ui.launcher_badge import APP_URI, INTERFACE, LauncherBadge, update_message
from tests.waiting import WAIT_LIMIT

pytestmark = pytest.mark.skipif(
    not (shutil.which("dbus-daemon") and shutil.which("dbus-monitor")),
    reason="needs dbus-daemon and dbus-monitor",
)


class Lines:
    """The stdout of a process, read line by line with a deadline (never blocking)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self._fd = process.stdout.fileno()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self._buffer = b""

    def until(self, wanted: str) -> list[str]:
        """Lines up to and including the first that contains ``wanted``."""
        seen: list[str] = []
        deadline = time.monotonic() + WAIT_LIMIT
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                seen.append(line.decode())
                if wanted in seen[-1]:
                    return seen
            left = deadline - time.monotonic()
            if left <= 0 or not self._selector.select(left):
                raise AssertionError(f"{wanted!r} never came; got {seen!r}")
            chunk = os.read(self._fd, 65536)
            if not chunk:
                raise AssertionError(f"{wanted!r} never came; got {seen!r}")
            self._buffer += chunk


def _spawn(*command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


@pytest.fixture
def private_bus() -> Iterator[tuple[str, Lines]]:
    """A private bus's address, and what dbus-monitor sees of the LauncherEntry signals."""
    daemon = _spawn("dbus-daemon", "--session", "--print-address=1", "--nofork", "--nopidfile")
    address = Lines(daemon).until("unix:")[0].strip()
    monitor = _spawn("dbus-monitor", "--address", address, f"type='signal',interface='{INTERFACE}'")
    lines = Lines(monitor)
    # The monitor says hello (NameAcquired) once it is connected and listening.
    lines.until("NameAcquired")
    try:
        yield address, lines
    finally:
        for process in (monitor, daemon):
            process.terminate()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()


def test_the_unread_count_reaches_the_dock_and_zero_hides_it(
    qapp: QApplication, private_bus: tuple[str, Lines]
) -> None:
    address, lines = private_bus
    bus = QDBusConnection.connectToBus(address, "launcher-badge-test")
    try:
        badge = LauncherBadge(bus)
        assert badge.available
        badge.set_count(5)
        signal = "".join(lines.until('"count-visible"') + lines.until("boolean"))
        assert "member=Update" in signal and f'string "{APP_URI}"' in signal
        assert "int32 5" in signal and "boolean true" in signal
        badge.set_count(0)
        signal = "".join(lines.until("member=Update") + lines.until("boolean"))
        assert "int32 0" in signal and "boolean false" in signal
    finally:
        QDBusConnection.disconnectFromBus("launcher-badge-test")


@pytest.mark.parametrize(("count", "visible"), [(3, True), (0, False)])
def test_the_update_message_carries_the_count_and_whether_to_show_it(
    qapp: QApplication, count: int, visible: bool
) -> None:
    message = update_message(count)
    assert (message.interface(), message.member()) == (INTERFACE, "Update")
    assert message.arguments() == [APP_URI, {"count": count, "count-visible": visible}]
