"""LocalServer: the bundled chat server run inside the app ("Host a chat on this computer").

The server is the same one that ``chat-server`` runs, reached through its one
embedding entry point (:mod:`chat_server.embed`), started on the app's own
asyncio loop (qasync's loop, which is Qt's event loop): no thread and no
second process. It listens on all interfaces so
that colleagues on the LAN can join, on port 8765 or the next free one, and
keeps its database in the app's data folder.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chat_protocol import DEFAULT_PORT

if TYPE_CHECKING:
    from chat_server.embed import EmbeddedServer

log = logging.getLogger(__name__)

# How many ports after the preferred one to try before giving up.
PORT_ATTEMPTS = 20


class LocalServer:
    """Start and stop the in-process server; ``base_url`` is where this app reaches it."""

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "0.0.0.0",
        port: int = DEFAULT_PORT,
        advertise: bool = True,
    ) -> None:
        self.data_dir = data_dir
        # 0.0.0.0 in the app (the LAN must reach it); tests pass 127.0.0.1.
        self.host = host
        # The preferred port; 0 lets the OS choose (tests).
        self.port = port
        # Announce the chat on the LAN (mDNS) so colleagues' sign-in dialogs list it.
        self.advertise = advertise
        self._server: EmbeddedServer | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the local server is not running")
        return self._server.base_url

    async def start(self, preferred_port: int | None = None, *, admin: str | None = None) -> str:
        """Start (if not running) and return the base URL.

        ``preferred_port`` (the port of the last run) is tried first so that
        colleagues' saved addresses keep working; then 8765 and the ports after it.
        ``admin`` is the host's own user: the app that hosts a chat makes its
        user an admin (now if the account exists, else when it is registered);
        nobody else becomes one by registering first.
        """
        if self._server is not None:
            return self._server.base_url
        # The server (aiohttp.web and the rest, ~0.2 s to import) is loaded
        # only when someone hosts: every app start creates a LocalServer.
        from chat_server.embed import start_embedded

        candidates = [] if preferred_port is None else [preferred_port]
        if self.port == 0:
            candidates.append(0)
        else:
            candidates += list(range(self.port, self.port + PORT_ATTEMPTS))
        last_error: OSError | None = None
        for port in dict.fromkeys(candidates):
            try:
                server = await start_embedded(
                    self.data_dir,
                    host=self.host,
                    port=port,
                    advertise=self.advertise,
                    admins=() if admin is None else (admin,),
                )
            except OSError as exc:
                # Port taken (another app, or a chat-server already running): next one.
                last_error = exc
                continue
            self._server = server
            return server.base_url
        raise OSError(
            f"no free port from {self.port} to {self.port + PORT_ATTEMPTS - 1}: {last_error}"
        )

    def others_online(self, me: str) -> list[str]:
        """The people other than ``me`` connected to the hosted chat right now."""
        if self._server is None:
            return []
        return [user for user in self._server.online_users() if user != me]

    def lan_url(self) -> str:
        """The address colleagues type: this computer's LAN address and the port."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{lan_address()}:{parts.port}"

    async def stop(self) -> None:
        """Stop the server (closing its sockets and database); idempotent."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop()


def lan_address() -> str:
    """This computer's address on the LAN (the interface of the default route).

    Connecting a UDP socket sends nothing; it only makes the OS pick the
    interface it would route through. Without a network: 127.0.0.1.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()
