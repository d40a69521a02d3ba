"""The server as one object: :class:`ChatServer` wires the store, hub, service and aiohttp.

``ChatServer(config).start()`` opens the store, binds the one port that
serves both ``/ws`` and ``/api/v1`` (over TLS when ``config.tls``; see
:mod:`chat_server.tls`), announces itself on the LAN when ``config.advertise``
(:mod:`chat_server.discovery`), and returns; ``stop()`` undoes it in
order (stop accepting, answer long polls, flush and close sockets with 1001,
let running requests finish, close the store). It owns no event loop and no
signal handlers, so the same object runs under ``asyncio.run`` in the CLI
(:mod:`chat_server.cli`), inside the desktop app's qasync loop, and in tests.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from . import guards, http_api
from .config import ServerConfig, shown_url
from .discovery import DiscoveryError, ServerAdvertiser, lan_addresses
from .fanout import WRITES_KEY, WriteStage
from .files import FILES_KEY, FileService
from .hub import Hub
from .service import SERVICE_KEY, ChatService
from .session import SESSIONS_KEY, keep_sessions_alive, shut_down_sessions, websocket_handler
from .storage import PeeweeChatStore, open_store
from .tls import prepare_tls

log = logging.getLogger(__name__)

# How long stop() lets ordinary HTTP requests finish before cancelling them.
SHUTDOWN_TIMEOUT = 5.0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def join_urls(host: str, scheme: str, port: int) -> list[str]:
    """The addresses people can type to reach a server listening on ``host``.

    "0.0.0.0" (all interfaces) is where a server listens, not an address
    anyone can connect to: for it the log names each LAN address of this
    machine instead, and 127.0.0.1 when there is none (only this computer
    can connect then).
    """
    unspecified = host in ("0.0.0.0", "", "::")
    addresses = (lan_addresses() or ["127.0.0.1"]) if unspecified else [host]
    return [f"{scheme}://{_url_host(address)}:{port}" for address in addresses]


class ChatServer:
    """The bundled chat server: start it, read ``port`` / ``base_url``, stop it."""

    def __init__(self, config: ServerConfig, store: PeeweeChatStore | None = None) -> None:
        self.config = config
        self._store = (
            store
            if store is not None
            else open_store(config, hold_commits_while=config.hold_commits_while)
        )
        self._runner: web.AppRunner | None = None
        self._service: ChatService | None = None
        # The real port once started (config.port may be 0: "any free one").
        self.port = config.port
        self.base_url = ""
        # SHA-256 of the certificate ("AB:CD:...") when serving TLS, for users to compare.
        self.fingerprint = ""
        # Uploaded files (set when the app is built, for in-process hosts and tests).
        self._files: FileService | None = None
        # The DNS-SD announcement while running, when config.advertise asks for one.
        self.advertiser: ServerAdvertiser | None = None

    @property
    def service(self) -> ChatService:
        """The running service (for in-process hosts and tests); only after start()."""
        if self._service is None:
            raise RuntimeError("the server is not running")
        return self._service

    @property
    def files(self) -> FileService:
        """The running file service (uploads, the sweep); only after start()."""
        if self._files is None or self._service is None:
            raise RuntimeError("the server is not running")
        return self._files

    def online_users(self) -> list[str]:
        """Who is connected now (socket or recent poll); empty when not running.

        The desktop app that hosts the chat asks before quitting while others
        are here, since quitting stops the chat for them.
        """
        return [] if self._service is None else self._service.hub.online()

    def _build_app(self, service: ChatService) -> web.Application:
        app = web.Application(
            # Bodies above the frame limit get 413 (aiohttp allows exactly this size).
            client_max_size=service.limits.max_frame_bytes,
            middlewares=[http_api.errors_as_json],
        )
        app[SERVICE_KEY] = service
        app[SESSIONS_KEY] = set()
        app[WRITES_KEY] = WriteStage(asyncio.get_running_loop())
        files = self._files = FileService(self.config, self._store, priority=service.priority)
        app[FILES_KEY] = files
        app.router.add_get("/ws", websocket_handler)
        http_api.add_routes(app)
        guards.add_to(app)
        app.on_shutdown.append(self._on_shutdown)
        app.cleanup_ctx.append(keep_sessions_alive)
        if service.cluster is not None:
            # The bus, the heartbeat and the database check (chat_server.cluster).
            app.cleanup_ctx.append(service.cluster.run)
        # Sessions ended by any process close here; expired ones are deleted.
        app.cleanup_ctx.append(service.accounts.run)
        # Uploaded files: folders, a crash's leftovers, the periodic sweep.
        app.cleanup_ctx.append(files.run)
        return app

    async def _on_shutdown(self, app: web.Application) -> None:
        app[SERVICE_KEY].hub.shut_down()
        await shut_down_sessions(app)

    async def start(self) -> None:
        """Open the store and start listening; afterwards ``port`` is the real port."""
        if self._runner is not None:
            raise RuntimeError("the server is already running")
        config = self.config
        ssl_context = None
        if config.tls:
            # Makes the self-signed certificate on the first start: file work
            # and a key generation, kept off the event loop.
            ssl_context, self.fingerprint = await asyncio.to_thread(
                prepare_tls, config.data_dir, config.tls_cert, config.tls_key
            )
        await self._store.open()
        cluster = None
        try:
            for name in sorted(config.admins):
                await self._store.set_admin(name, True)
            if config.redis_url is not None:
                # Imported here: a single server needs no Redis client installed.
                from .cluster import Cluster

                cluster = Cluster(config, self._store)
                # Where the other servers' stream stands, before the rooms are read.
                await cluster.prepare()
            rooms = await self._store.rooms()
            hub = Hub(config.limits, rooms, clustered=cluster is not None)
            if cluster is not None:
                cluster.attach(hub, rooms)
            service = ChatService(config, self._store, hub, cluster)
            # handle_signals=False: the host (CLI, desktop app) owns signals.
            # access_log=None: an access log would record every long poll.
            runner = web.AppRunner(
                self._build_app(service),
                handle_signals=False,
                access_log=None,
                shutdown_timeout=SHUTDOWN_TIMEOUT,
                **guards.runner_options(config),
            )
            await runner.setup()
            try:
                site = web.TCPSite(runner, config.host, config.port, ssl_context=ssl_context)
                await site.start()
            except BaseException:
                await runner.cleanup()
                raise
        except BaseException:
            if cluster is not None:
                await cluster.close()
            await self._store.close()
            raise
        self._runner, self._service = runner, service
        self.port = int(runner.addresses[0][1])
        scheme = "https" if config.tls else "http"
        local = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(config.host, config.host)
        self.base_url = f"{scheme}://{_url_host(local)}:{self.port}"
        log.info(
            "%s %s listening on %s://%s:%d (data in %s)",
            config.name,
            config.version,
            scheme,
            _url_host(config.host),
            self.port,
            shown_url(config.db_url) if config.db_url else config.data_dir,
        )
        joins = ", ".join(join_urls(config.host, scheme, self.port))
        if config.trusted_proxies:
            # Behind nginx (several servers, or TLS at the proxy) the address a
            # colleague types is the proxy's, which this server cannot know.
            log.info(
                "behind a proxy (--trusted-proxy): colleagues join at its address, not %s", joins
            )
        else:
            log.info("colleagues can join at %s", joins)
        if config.tls:
            log.info("TLS certificate fingerprint (SHA-256): %s", self.fingerprint)
        if config.advertise:
            await self._advertise()

    async def _advertise(self) -> None:
        config = self.config
        advertiser = ServerAdvertiser(
            name=config.name,
            port=self.port,
            version=config.version,
            host=config.host,
            tls=config.tls,
            fingerprint=self.fingerprint,
        )
        try:
            await advertiser.start()
        except DiscoveryError as exc:
            # The server works without it; clients then type the address.
            log.warning("not announced on the LAN: %s", exc)
            return
        self.advertiser = advertiser

    async def stop(self) -> None:
        """Stop accepting, close sockets with 1001 after flushing them, close the store."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        advertiser, self.advertiser = self.advertiser, None
        try:
            if advertiser is not None:
                # First, so that browsers drop the server before it stops answering.
                await advertiser.stop()
            await _stop_accepting(runner)
            # Stops the listener, runs _on_shutdown (long polls answer, sockets
            # close), then waits for the remaining requests.
            await runner.cleanup()
        finally:
            await self._store.close()
            self._service = None
            log.info("stopped")


async def _stop_accepting(runner: web.AppRunner) -> None:
    """Take no more connections, and let those already accepted reach aiohttp.

    asyncio (3.11) accepts a connection in one step and makes its transport in
    a task run a loop turn later; if the listening server is closed between
    the two, the task fails an assertion in ``Server._attach`` and the
    accepted socket is never closed (a ResourceWarning, and a client left
    waiting). Under qasync a socket's readiness itself arrives a turn late, so
    a client reconnecting just as the server stops hit this now and then.
    Taking the listening sockets out of the loop first and letting three loop
    turns pass (the queued accept, its task's first step, connection_made)
    turns every accepted socket into a connection that aiohttp's shutdown
    then closes like any other.
    """
    loop = asyncio.get_running_loop()
    for site in runner.sites:
        # aiohttp keeps the asyncio.Server of a TCPSite here; it has no public name.
        server = getattr(site, "_server", None)
        for sock in getattr(server, "sockets", None) or ():
            loop.remove_reader(sock.fileno())
    for _ in range(3):
        await asyncio.sleep(0)
