"""The one door from the desktop app into the server: host a chat inside another program.

The desktop app's "Host a chat on this computer" runs the very server that
``chat-server`` runs, on the app's own asyncio loop (qasync's, which is Qt's).
Everything the app needs of the server goes through this module, so the
server's insides can change freely and the architecture test can hold the
arrow to one place: ``chat_desktop.controller.hosting`` imports
``chat_server.embed`` and nothing else of ``chat_server``.

Importing it loads aiohttp and the store (about 0.2 s), so the app imports it
only when someone actually hosts.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .app import ChatServer
from .config import ServerConfig

__all__ = ["EmbeddedServer", "start_embedded"]

# The running server as the host sees it: ``base_url``, ``port``,
# ``online_users()`` and ``stop()``.
EmbeddedServer = ChatServer


async def start_embedded(
    data_dir: Path, *, host: str, port: int, advertise: bool, admins: Iterable[str] = ()
) -> EmbeddedServer:
    """Start a server on the running loop with its database in ``data_dir``.

    ``admins``: the host's own user (see ``ServerConfig.admins``), made an
    admin now if the account exists, or when it is registered.
    Raises :class:`OSError` when the port is taken, so the host can try the next one.
    """
    config = ServerConfig(
        host=host, port=port, data_dir=data_dir, advertise=advertise, admins=frozenset(admins)
    )
    server = ChatServer(config)
    await server.start()
    return server
