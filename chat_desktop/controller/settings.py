"""What the app remembers between starts: the session (never the password).

An INI file in the app's data folder (``--data-dir`` or the platform's app data
location), written through QSettings: the server address, the user name, the
token the server gave at sign-in, and whether this computer hosts the chat.
The next start reads it and goes straight to the chat window. Per-account
state (the last room, the messages) lives in that account's cache instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in account on one server."""

    server_url: str
    username: str
    token: str
    # True: the server runs inside this app ("Host a chat on this computer").
    hosted: bool = False


class AppSettings:
    """The session and a few preferences, in ``<data dir>/settings.ini``."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self._qsettings = QSettings(str(data_dir / "settings.ini"), QSettings.Format.IniFormat)

    def session(self) -> Session | None:
        """The remembered session, None when the user must sign in."""
        url = self._get("session/server_url")
        username = self._get("session/username")
        token = self._get("session/token")
        if not (url and username and token):
            return None
        return Session(url, username, token, self._get("session/hosted") == "true")

    def remember(self, session: Session) -> None:
        self._qsettings.setValue("session/server_url", session.server_url)
        self._qsettings.setValue("session/username", session.username)
        self._qsettings.setValue("session/token", session.token)
        self._qsettings.setValue("session/hosted", "true" if session.hosted else "false")
        self._qsettings.sync()

    def forget_token(self) -> None:
        """Sign out: keep the address and the name for the dialog, drop the token."""
        self._qsettings.remove("session/token")
        self._qsettings.sync()

    def last_server(self) -> tuple[str, str, bool]:
        """The last server address, user name and hosting choice (to prefill the dialog)."""
        return (
            self._get("session/server_url"),
            self._get("session/username"),
            self._get("session/hosted") == "true",
        )

    def window_geometry(self) -> bytes:
        """The chat window's last size and place (QWidget.saveGeometry), or b""."""
        value = self._qsettings.value("window/geometry", b"")
        return bytes(value) if isinstance(value, bytes | bytearray) else b""

    def set_window_geometry(self, geometry: bytes) -> None:
        self._qsettings.setValue("window/geometry", geometry)
        self._qsettings.sync()

    def _get(self, key: str) -> str:
        value = self._qsettings.value(key, "")
        return str(value) if value is not None else ""
