"""The server's settings: where it listens, where it keeps its data, which limits apply.

:class:`ServerConfig` is filled in by the command line (:mod:`chat_server.cli`),
by the desktop app when it hosts the server in-process, and by tests (which
shrink :attr:`ServerConfig.limits` to provoke a limit quickly). Everything else
in the server reads its settings from here and nowhere else.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from chat_protocol import DEFAULT_PORT, Limits
from chat_protocol.rules import REPLAY_LIMIT

from . import __version__

APP_DIR_NAME = "chat-server"

# An address or a network that may front the server (``--trusted-proxy``).
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Registration(StrEnum):
    """Who may create an account over ``POST /api/v1/register``."""

    OPEN = "open"  # anyone who reaches the server
    INVITE = "invite"  # only with a code from ``chat-server invite create``
    CLOSED = "closed"  # nobody: the operator adds accounts (``chat-server user add``)


def default_data_dir() -> Path:
    """The platform's per-user data folder for the server.

    ``~/.local/share/chat-server`` (or ``$XDG_DATA_HOME/chat-server``) on Linux,
    ``~/Library/Application Support/chat-server`` on macOS and
    ``%APPDATA%\\chat-server`` on Windows: where an operator expects to find
    the database of a program they started without options.
    """
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / APP_DIR_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_DIR_NAME
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR_NAME


@dataclass
class ServerConfig:
    """Everything a :class:`chat_server.app.ChatServer` needs to know to run."""

    # 0.0.0.0: a LAN server is meant to be reached from the other desks.
    host: str = "0.0.0.0"
    # 0 asks the OS for a free port; ChatServer.port tells the real one afterwards.
    port: int = DEFAULT_PORT
    data_dir: Path = field(default_factory=default_data_dir)
    # None: the SQLite file data_dir/chat.sqlite3. Otherwise "sqlite:///path" or
    # "postgresql://user@host/db".
    db_url: str | None = None
    # Shown to clients in ``welcome`` so a user can tell servers apart.
    name: str = field(default_factory=socket.gethostname)
    registration: Registration = Registration.OPEN
    limits: Limits = field(default_factory=Limits)
    # Strangers (docs/security.md). Registrations per client address: a burst,
    # then this many a minute; rooms created per user, the same way.
    registration_burst: int = 20
    registrations_per_minute: float = 3.0
    room_burst: int = 10
    rooms_per_minute: float = 3.0
    # Peers whose X-Forwarded-For names the real client (a reverse proxy in
    # front of the server); from anyone else the header is ignored.
    trusted_proxies: tuple[Network, ...] = ()
    # Seconds a connection has to send a request's headers, counted from when
    # it opened or its previous response ended (slowloris), and then its body.
    header_timeout: float = 10.0
    version: str = __version__
    # Serve https:// and wss:// with the certificate in tls_cert/tls_key, or
    # with a self-signed one made (once) in data_dir/tls when they are None.
    tls: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Announce the server on the LAN over DNS-SD (see chat_server.discovery).
    # Off by default so that tests and embedding hosts opt in; the CLI turns it on.
    advertise: bool = False
    # Messages replayed per room after ``hello`` before a ``gap`` is sent instead.
    # The contract fixes it at 1000; a field so that tests can reach it quickly.
    replay_limit: int = REPLAY_LIMIT
    # Seconds a WebSocket close handshake may take before the connection is
    # simply cut: a peer that does not read cannot take our close frame either.
    close_timeout: float = 5.0
    # A session (token) unused for this many days ends (--session-days).
    session_days: float = 30.0
    # A session's last use is written at most this often: checking a token
    # only reads, so the hot path does not write (see chat_server.accounts).
    session_touch_seconds: float = 3600.0
    # How often expired sessions are deleted (and open sockets' sessions touched).
    session_upkeep_seconds: float = 3600.0
    # How often the server reads the revocation log, so that a session ended
    # by another process (the CLI, another server) closes here too. The
    # design bound for "ended everywhere" is 2 s; tests shrink this.
    revocation_check_seconds: float = 1.0
    # Fault injection for crash tests, never set in service (the CLI has no
    # option for it): while this file exists, the store's writer stops after
    # each COMMIT before it reports the writes stored, so that a SIGKILL lands
    # with writes committed but unacknowledged and more queued behind them.
    hold_commits_while: Path | None = None
    # Files (issue 13; see chat_server.files). The largest upload (--max-file-mb);
    # anything larger is refused with 413, before its body is read when it says
    # its length. Told to clients in GET /api/v1/health.
    max_file_bytes: int = 25 * 1024 * 1024
    # Uploads running at once for one user (429 beyond) and for the whole
    # server (503 beyond): each holds a connection and a temporary file.
    max_uploads_per_user: int = 3
    max_uploads_total: int = 16
    # Where uploaded bytes live (--files-dir; None: data_dir/files). Several
    # servers of one chat may share one folder (chat_server.storage.files).
    files_dir: Path | None = None
    # An upload that no message carries expires after this long (the contract: 24 h).
    upload_expiry_seconds: float = 24 * 3600.0
    # How often expired uploads and bytes that nothing holds are removed.
    file_sweep_seconds: float = 3600.0
    # A temporary file or unheld bytes untouched for this long are a crash's
    # leftovers, not an upload in flight on a server sharing the folder.
    file_leftover_seconds: float = 3600.0
    # Users made admins when the server starts (those that exist) or when they
    # register: how the app that hosts a chat makes its own user an admin.
    # Nobody else becomes one but by `chat-server user add --admin` or
    # `user promote`.
    admins: frozenset[str] = frozenset()
    # Several servers, one chat (--redis; see chat_server.cluster): the Redis
    # that carries what crosses servers (the log's fan-out, presence, typing,
    # reads, limits). None: a single server, everything in-process.
    redis_url: str | None = None
    # Seconds between a cluster server's heartbeats; a server silent for
    # cluster_dead_after_seconds is dropped by the others and its users leave
    # (the contract: within 40 s). Tests shrink both.
    cluster_heartbeat_seconds: float = 5.0
    cluster_dead_after_seconds: float = 30.0
    # How often a cluster server compares each room's last seq in the
    # database with what it handed out (a quiet room's last entry, lost
    # records), in seconds.
    cluster_check_seconds: float = 1.0


def shown_url(url: str) -> str:
    """``url`` as the log may show it: any user name and password left out."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
