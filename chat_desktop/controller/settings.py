"""What the app remembers between starts: the session (never the password).

An INI file in the app's data folder (``--data-dir`` or the platform's app data
location): the server address, the user name, whether this computer hosts the
chat, and the chat window's place. The token the server gave at sign-in is
not in it: it goes to the system keyring or a file of its own
(:mod:`chat_desktop.storage.tokens`). The next start reads both and goes
straight to the chat window. Per-account state (the last room, the messages)
lives in that account's cache instead.

Nothing read from the file is ever deserialised. QSettings is not used to read
it: its INI reader turns ``@Variant(...)`` values into objects as soon as a
section is parsed, and for PySide that means ``pickle.loads``, so a crafted
``settings.ini`` could run code at start. Instead :meth:`AppSettings.text`, the
one reader of every key, takes the file as plain text (``configparser``,
without interpolation) and refuses any Qt-typed value (``@Variant``,
``@ByteArray``...), logging it once and using the default. Binary values
(the window geometry) are stored as base64 text. The file stays readable by
QSettings-era versions and keeps Qt's ``key=value`` layout.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from chat_desktop.storage.private import private_dir, write_private
from chat_desktop.storage.tokens import TOKEN_FILE, FileTokenStore, TokenStore

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.ini"
# Keys of earlier versions, moved or dropped on the first start: the token in
# plain text, and the geometry as a Qt-typed @ByteArray value.
_OLD_TOKEN = "session/token"
_OLD_GEOMETRY = "window/geometry"


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in account on one server."""

    server_url: str
    username: str
    token: str
    # True: the server runs inside this app ("Host a chat on this computer").
    hosted: bool = False


class AppSettings:
    """The session and a few preferences, in ``<data dir>/settings.ini`` (0600, folder 0700).

    Keys are ``section/name``, as QSettings spelled them. ``tokens`` keeps the
    token (default: a 0600 file in the data folder).
    """

    def __init__(self, data_dir: Path, *, tokens: TokenStore | None = None) -> None:
        self.data_dir = private_dir(data_dir)
        self.path = data_dir / SETTINGS_FILE
        self.tokens: TokenStore = tokens or FileTokenStore(data_dir / TOKEN_FILE)
        # Keys already reported as refused: one warning each, not one per read.
        self._refused: set[str] = set()
        self._ini = self._load()
        self._move_old_keys()

    # ------------------------------------------------------------ the session

    def session(self) -> Session | None:
        """The remembered session, None when the user must sign in."""
        url, username, hosted = self.last_server()
        token = self.tokens.get()
        if not (url and username and token):
            return None
        return Session(url, username, token, hosted)

    def remember(self, session: Session) -> None:
        self.tokens.set(session.token)
        self._put("session/server_url", session.server_url)
        self._put("session/username", session.username)
        self._put("session/hosted", "true" if session.hosted else "false")
        self._save()

    def forget_token(self) -> None:
        """Sign out: keep the address and the name for the dialog, drop the token."""
        self.tokens.delete()

    def last_server(self) -> tuple[str, str, bool]:
        """The last server address, user name and hosting choice (to prefill the dialog)."""
        return (
            self.text("session/server_url"),
            self.text("session/username"),
            self.text("session/hosted") == "true",
        )

    def window_geometry(self) -> bytes:
        """The chat window's last size and place (QWidget.saveGeometry), or b""."""
        value = self.text("window/saved_geometry")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            self._refuse("window/saved_geometry", "not base64")
            return b""

    def set_window_geometry(self, geometry: bytes) -> None:
        self.set_text("window/saved_geometry", base64.b64encode(geometry).decode("ascii"))

    # --------------------------------------------------------- the one reader

    def text(self, key: str, default: str = "") -> str:
        """The plain-text value of ``key`` (``section/name``), or ``default``.

        The one way any key is read. A value QSettings would have turned into
        an object (``@Variant(...)``, ``@ByteArray(...)``, any ``@Type(...)``)
        is refused: logged once, and ``default`` returned.
        """
        section, name = _split(key)
        value = self._ini.get(section, name, fallback=None)
        if value is None:
            return default
        if value.startswith("@@"):
            # QSettings' escape of a plain string that starts with "@".
            return value[1:]
        if value.startswith("@"):
            self._refuse(key, "a Qt-typed value, not plain text")
            return default
        return value

    def set_text(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` and write the file."""
        self._put(key, value)
        self._save()

    # ---------------------------------------------------------------- the file

    def _put(self, key: str, value: str) -> None:
        section, name = _split(key)
        if not self._ini.has_section(section):
            self._ini.add_section(section)
        # The same escape as QSettings, so that a value starting with "@" is
        # never taken for a typed one (by us or by an older version).
        self._ini.set(section, name, "@" + value if value.startswith("@") else value)

    def _refuse(self, key: str, why: str) -> None:
        if key not in self._refused:
            self._refused.add(key)
            log.warning("Ignoring %s in %s: %s; using the default.", key, self.path, why)

    def _load(self) -> configparser.ConfigParser:
        ini = _parser()
        try:
            ini.read_string(self.path.read_text(encoding="utf-8"), source=str(self.path))
        except FileNotFoundError:
            pass
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            log.warning("Cannot read %s (%s); starting with the defaults.", self.path, exc)
            ini = _parser()
        return ini

    def _move_old_keys(self) -> None:
        """Move a plain token into the token store; drop the old Qt-typed geometry."""
        changed = False
        if self._ini.has_option("session", "token"):
            token = self.text(_OLD_TOKEN)
            if token and self.tokens.get() is None:
                self.tokens.set(token)
            self._ini.remove_option("session", "token")
            changed = True
        if self._ini.has_option("window", "geometry"):
            self._ini.remove_option("window", "geometry")
            changed = True
        # An older version left the file at 0644: rewritten, it is 0600.
        if changed or (self.path.exists() and self.path.stat().st_mode & 0o077):
            self._save()

    def _save(self) -> None:
        out = io.StringIO()
        self._ini.write(out, space_around_delimiters=False)
        write_private(self.path, out.getvalue().encode("utf-8"))


def _parser() -> configparser.ConfigParser:
    # No interpolation ("%" is ordinary text), keys keep their case, repeated
    # keys or sections (a hand-edited file) do not fail the whole file.
    ini = configparser.ConfigParser(interpolation=None, strict=False, default_section="\0")
    ini.optionxform = str  # type: ignore[assignment,method-assign]
    return ini


def _split(key: str) -> tuple[str, str]:
    section, _, name = key.rpartition("/")
    # QSettings puts keys without a section under [General].
    return section or "General", name
