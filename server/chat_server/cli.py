"""The ``chat-server`` command: run the server, or manage its users and rooms.

``chat-server [--host H] [--port P] [--data-dir DIR] [--db URL] [--name NAME]
[--registration open|invite|closed] [--registration-rate N] [--trusted-proxy ADDR]
[--redis URL]
[--session-days DAYS] [--tls [--tls-cert FILE --tls-key FILE]] [--no-discovery]``
(and a few more limits, see ``--help``) runs the server until SIGINT or
SIGTERM, then stops it gracefully and exits 0. The subcommands (``user add
NAME``, ``user remove NAME``, ``user reset-password NAME``, ``user disable
NAME``, ``user enable NAME``, ``user list``, ``room create NAME``, ``invite
create``) work on the same data folder or database (see
:mod:`chat_server.admin`); a running server closes the sessions they end.

The signal handling lives here and not in :class:`ChatServer`, because the
desktop app hosts the same server inside its own event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import importlib
import ipaddress
import logging
import math
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path

from chat_protocol import DEFAULT_PORT

from . import __version__, admin
from .app import ChatServer
from .config import Network, Registration, ServerConfig, default_data_dir
from .storage.base import ChatStore, StorageError
from .tls import TlsSetupError

log = logging.getLogger("chat_server")


def _storage_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default,
        metavar="DIR",
        help=f"where the database lives (default: {default_data_dir()})",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help="database URL instead of DIR/chat.sqlite3: sqlite:///PATH or "
        "postgresql://USER@HOST:PORT/DB",
    )


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number above 0, not {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chat-server",
        description="The Chat Desktop server: accounts, rooms, history and live chat "
        "over one port (WebSocket /ws and HTTP /api/v1).",
        epilog="Without a command it runs the server until Ctrl+C or SIGTERM. "
        "Run 'chat-server user --help' for account management.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--host", default="0.0.0.0", help="address to listen on (default: all, 0.0.0.0)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default: {DEFAULT_PORT})",
    )
    _storage_options(parser, None)
    parser.add_argument("--name", help="server name shown to clients (default: the host name)")
    parser.add_argument(
        "--registration",
        choices=[mode.value for mode in Registration],
        default=Registration.OPEN.value,
        help="who may create an account: anyone (open, the default), only with a code from "
        "'chat-server invite create' (invite), or nobody: the operator adds accounts (closed)",
    )
    parser.add_argument(
        "--session-days",
        type=_positive,
        default=30.0,
        metavar="DAYS",
        help="sign a device out after this many days without use (default: 30)",
    )
    parser.add_argument(
        "--no-registration",
        dest="registration",
        action="store_const",
        const=Registration.CLOSED.value,
        help="the same as --registration closed",
    )
    defaults = ServerConfig()
    _bucket_options(
        parser,
        "registration",
        "new accounts",
        "client address",
        defaults.registrations_per_minute,
        defaults.registration_burst,
    )
    _bucket_options(
        parser, "room", "new rooms", "user", defaults.rooms_per_minute, defaults.room_burst
    )
    parser.add_argument(
        "--trusted-proxy",
        type=_network,
        action="append",
        default=[],
        metavar="ADDR",
        help="a reverse proxy (address or CIDR network; repeatable) whose X-Forwarded-For "
        "header names the real client; from other peers the header is ignored",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="run as one of several servers of one chat: redis://HOST:PORT/DB carries "
        "messages, presence, typing, reads and rate limits between them (needs --db "
        "postgresql://... shared by all of them; one Redis database number per chat)",
    )
    parser.add_argument(
        "--header-timeout",
        type=_positive,
        default=defaults.header_timeout,
        metavar="SECONDS",
        help="close a connection that has not sent complete request headers this long "
        f"after it opened or its previous response (default: {defaults.header_timeout:g})",
    )
    parser.add_argument(
        "--max-file-mb",
        type=_positive,
        default=defaults.max_file_bytes / 2**20,
        metavar="MIB",
        help="the largest file a user may upload, in MiB (default: "
        f"{defaults.max_file_bytes / 2**20:g})",
    )
    parser.add_argument(
        "--files-dir",
        type=Path,
        metavar="DIR",
        help="where uploaded files are kept (default: DATA_DIR/files); several servers of "
        "one chat may share one folder",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve https:// and wss://, with a self-signed certificate made on the first "
        "start (clients are shown its fingerprint to compare)",
    )
    parser.add_argument(
        "--tls-cert",
        type=Path,
        metavar="FILE",
        help="certificate (PEM) to use instead; implies --tls",
    )
    parser.add_argument(
        "--tls-key", type=Path, metavar="FILE", help="its private key (PEM); implies --tls"
    )
    parser.add_argument(
        "--no-discovery",
        action="store_true",
        help="do not announce the server on the LAN (DNS-SD / mDNS); a server on a "
        "loopback address such as 127.0.0.1 is never announced",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    # The storage options are repeated on every subcommand, so that both
    # `chat-server --data-dir D user list` and `chat-server user list --data-dir D`
    # work; SUPPRESS keeps a subcommand from overwriting a value given before it.
    user = commands.add_parser("user", help="add, remove or list accounts")
    user_commands = user.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, text in (
        ("add", "create an account"),
        ("reset-password", "set a new password and sign the user out everywhere"),
    ):
        sub = user_commands.add_parser(action, help=text, description=text)
        sub.add_argument("username")
        sub.add_argument("--password", help="the password (default: asked for, or read from stdin)")
        _storage_options(sub, argparse.SUPPRESS)
        if action == "add":
            sub.add_argument(
                "--admin",
                action="store_true",
                help="make the account an admin (deletes any message or room)",
            )
    sub = user_commands.add_parser("promote", help="make an existing account an admin")
    sub.add_argument("username")
    _storage_options(sub, argparse.SUPPRESS)
    for action, text in (
        ("remove", "delete an account and sign it out (messages stay, the name stays taken)"),
        ("disable", "stop an account from signing in and sign it out everywhere"),
        ("enable", "let a disabled account sign in again"),
    ):
        sub = user_commands.add_parser(action, help=text, description=text)
        sub.add_argument("username")
        _storage_options(sub, argparse.SUPPRESS)
    sub = user_commands.add_parser("list", help="print every user name, marking disabled ones")
    _storage_options(sub, argparse.SUPPRESS)

    room = commands.add_parser("room", help="manage rooms")
    room_commands = room.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub = room_commands.add_parser("create", help="create a room")
    sub.add_argument("name")
    _storage_options(sub, argparse.SUPPRESS)
    sub = room_commands.add_parser(
        "delete", help="delete a room: its messages are erased, its name never used again"
    )
    sub.add_argument("name")
    _storage_options(sub, argparse.SUPPRESS)

    invite = commands.add_parser("invite", help="invite codes for --registration invite")
    invite_commands = invite.add_subparsers(dest="action", metavar="ACTION", required=True)
    text = "print a new invite code (shown once; only its hash is stored)"
    sub = invite_commands.add_parser("create", help=text, description=text)
    sub.add_argument("--uses", type=int, default=1, help="accounts it can make (default: 1)")
    sub.add_argument("--days", type=float, default=7.0, help="days it stays valid (default: 7)")
    _storage_options(sub, argparse.SUPPRESS)
    return parser


def _bucket_options(
    parser: argparse.ArgumentParser, name: str, what: str, per: str, rate: float, burst: int
) -> None:
    """``--NAME-rate`` and ``--NAME-burst``: a token bucket of ``what`` per ``per``."""
    options: tuple[tuple[str, Callable[[str], float], float, str], ...] = (
        ("rate", _positive, rate, f"{what} per minute per {per}, after a burst of --{name}-burst"),
        ("burst", int, burst, f"{what} one {per} may make at once"),
    )
    for suffix, kind, default, text in options:
        parser.add_argument(
            f"--{name}-{suffix}",
            type=kind,
            default=default,
            metavar="N",
            help=f"{text} (default: {default:g})",
        )


def _network(text: str) -> Network:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not an address or a network") from None


def _is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (nothing to announce)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: assume it is meant to be reached
        return False


def config_from(args: argparse.Namespace) -> ServerConfig:
    """The server configuration the parsed command line asks for."""
    config = ServerConfig(
        host=args.host,
        port=args.port,
        db_url=args.db,
        registration=Registration(args.registration),
        registrations_per_minute=args.registration_rate,
        registration_burst=args.registration_burst,
        rooms_per_minute=args.room_rate,
        room_burst=args.room_burst,
        trusted_proxies=tuple(args.trusted_proxy),
        header_timeout=args.header_timeout,
        tls=args.tls or args.tls_cert is not None or args.tls_key is not None,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        advertise=not args.no_discovery and not _is_loopback(args.host),
        session_days=args.session_days,
        max_file_bytes=int(args.max_file_mb * 2**20),
        files_dir=args.files_dir,
        redis_url=args.redis,
    )
    if args.data_dir is not None:
        config.data_dir = args.data_dir
    if args.name:
        config.name = args.name
    return config


def _read_password(given: str | None) -> str:
    if given is not None:
        return given
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise admin.AdminError("the two passwords differ")
        return first
    # Piped in (scripts, tests): the first line is the password.
    return sys.stdin.readline().rstrip("\r\n")


def _admin_command(args: argparse.Namespace) -> Callable[[ChatStore], Awaitable[None]]:
    out = partial(print, flush=True)
    if args.command == "room" and args.action == "delete":
        return partial(admin.delete_room, name=args.name, out=out)
    if args.command == "room":
        return partial(admin.create_room, name=args.name, out=out)
    if args.command == "invite":
        return partial(admin.create_invite, uses=args.uses, days=args.days, out=out)
    if args.action == "add":
        return partial(
            admin.add_user,
            username=args.username,
            password=_read_password(args.password),
            out=out,
            admin=args.admin,
        )
    if args.action == "promote":
        return partial(admin.promote_user, username=args.username, out=out)
    if args.action == "reset-password":
        return partial(
            admin.reset_password,
            username=args.username,
            password=_read_password(args.password),
            out=out,
        )
    if args.action == "remove":
        return partial(admin.remove_user, username=args.username, out=out)
    if args.action == "disable":
        return partial(admin.disable_user, username=args.username, out=out)
    if args.action == "enable":
        return partial(admin.enable_user, username=args.username, out=out)
    return partial(admin.list_users, out=out)


async def serve(config: ServerConfig) -> None:
    """Run the server until SIGINT or SIGTERM, then stop it gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Windows has no add_signal_handler: Ctrl+C arrives as KeyboardInterrupt instead.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    server = ChatServer(config)
    await server.start()
    try:
        await stop.wait()
        log.info("signal received, stopping")
    finally:
        await server.stop()


def _lacking_client(config: ServerConfig, serving: bool) -> str | None:
    """What this install lacks for ``--db postgresql://`` or ``--redis``, said with the cure.

    Both clients are optional extras (the bundle has them only when it was built
    with them): without this an operator gets an import traceback, or a database
    error, after the server has half started.
    """
    needs = []
    if (config.db_url or "").startswith(("postgresql://", "postgres://")):
        needs.append(("--db postgresql://", "psycopg2", "postgres"))
    if serving and config.redis_url is not None:
        needs.append(("--redis", "redis", "cluster"))
    for option, module, extra in needs:
        try:
            importlib.import_module(module)
        except ImportError:
            return (
                f"{option} needs the {module} module, which this install lacks: "
                f"pip install 'chat-desktop[{extra}]'"
            )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``chat-server``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = config_from(args)
    if args.command is None and config.redis_url is not None:
        if not (config.db_url or "").startswith(("postgresql://", "postgres://")):
            # Several servers share the log: a SQLite file is one machine's.
            print(
                "chat-server: --redis needs --db postgresql://... shared by every server",
                file=sys.stderr,
            )
            return 2
        if not config.redis_url.startswith(("redis://", "rediss://", "unix://")):
            print("chat-server: --redis takes a URL such as redis://HOST:6379/0", file=sys.stderr)
            return 2
    lacking = _lacking_client(config, serving=args.command is None)
    if lacking is not None:
        print(f"chat-server: {lacking}", file=sys.stderr)
        return 2
    try:
        if args.command is None:
            asyncio.run(serve(config))
        else:
            asyncio.run(admin.run(config, _admin_command(args)))
    except admin.AdminError as exc:
        print(f"chat-server: {exc}", file=sys.stderr)
        return 1
    except (OSError, StorageError, TlsSetupError, ValueError) as exc:
        # Port in use, unreadable data folder, bad --db URL, database down,
        # a certificate that cannot be read.
        log.error("%s", exc)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0
