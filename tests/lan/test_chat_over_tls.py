"""The chat itself over TLS: the real ChatServer with ``tls=True`` and the client's real link.

``test_tls.py`` checks the certificate and the trust decision against a tiny
server; this module checks that the pieces hold together where it matters:
the client registers over https with the pinned certificate, its link
reconnects over wss after a restart (same certificate), refuses a server whose
certificate changed, and falls back to long polling over https when a proxy
strips the WebSocket upgrade.
"""

from __future__ import annotations

import shutil
import ssl
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from chat_desktop.transport import AccountClient, Credentials, LinkKind, ServerLink
from chat_desktop.transport.pinning import (
    Mismatch,
    NeedsTrust,
    PinStore,
    check_server,
    client_context_for,
    server_address,
)
from chat_protocol import Ack, SendMessage, Welcome
from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from chat_server.tls import CERT_FILE, KEY_FILE, TLS_DIR, load_server_context
from tests.client.conftest import Recorder, fast_policy
from tests.waiting import eventually


@pytest.fixture
def tls_config(server_config: ServerConfig) -> ServerConfig:
    server_config.tls = True
    return server_config


@pytest.fixture
def pins(tmp_path: Path) -> PinStore:
    """The client's pinned certificates, empty at first."""
    return PinStore(tmp_path / "pins.json")


@asynccontextmanager
async def running(config: ServerConfig) -> AsyncIterator[ChatServer]:
    server = ChatServer(config)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def trust_on_first_use(base_url: str, pins: PinStore) -> ssl.SSLContext:
    """What the sign-in dialog does when the user says yes: pin, then use the pin."""
    host, port = server_address(base_url)
    first = await check_server(host, port, pins)
    assert isinstance(first, NeedsTrust)
    pins.pin(host, port, first.certificate)
    return client_context_for(pins.get(host, port))


async def register(base_url: str, context: ssl.SSLContext) -> Credentials:
    client = AccountClient(base_url, ssl_context=context)
    try:
        return await client.register("alice", "alice-password")
    finally:
        await client.close()


async def sign_up_pinned(base_url: str, pins: PinStore) -> tuple[Credentials, ssl.SSLContext]:
    """Alice trusts the server's certificate on first use, then registers over it.

    Returns her credentials and the context that trusts the pinned certificate.
    """
    context = await trust_on_first_use(base_url, pins)
    return await register(base_url, context), context


async def signed_up_then_stopped(
    tls_config: ServerConfig, pins: PinStore
) -> tuple[str, Credentials, ssl.SSLContext]:
    """Run the server once for alice to sign up (:func:`sign_up_pinned`), then stop it.

    ``tls_config`` keeps the port, so the next start is at the same address:
    returns that address with what :func:`sign_up_pinned` returns.
    """
    async with running(tls_config) as server:
        credentials, context = await sign_up_pinned(server.base_url, pins)
        tls_config.port = server.port
        return server.base_url, credentials, context


@asynccontextmanager
async def linked(
    base_url: str, credentials: Credentials, context: ssl.SSLContext, **options: object
) -> AsyncIterator[tuple[ServerLink, Recorder]]:
    recorder = Recorder()
    link = ServerLink(
        base_url,
        credentials.token,
        positions=recorder.positions,
        on_event=recorder.on_event,
        on_state=recorder.on_state,
        policy=fast_policy(),
        username=credentials.username,
        ssl_context=context,
        **options,  # type: ignore[arg-type]
    )
    link.start()
    try:
        yield link, recorder
    finally:
        await link.close()


async def test_the_pinned_link_reconnects_over_wss_after_a_restart_with_the_same_certificate(
    tls_config: ServerConfig, pins: PinStore
) -> None:
    base_url, credentials, context = await signed_up_then_stopped(tls_config, pins)
    async with linked(base_url, credentials, context) as (link, alice):
        await eventually(lambda: link.state.kind is LinkKind.RECONNECTING)
        async with running(tls_config):
            await eventually(lambda: link.state.kind is LinkKind.CONNECTED)
            assert len(alice.of(Welcome)) == 1


async def test_the_pinned_link_refuses_a_server_whose_certificate_changed(
    tls_config: ServerConfig, pins: PinStore
) -> None:
    base_url, credentials, context = await signed_up_then_stopped(tls_config, pins)
    # The server is reinstalled (or impersonated): a new certificate on the same address.
    shutil.rmtree(tls_config.data_dir / TLS_DIR)
    async with running(tls_config), linked(base_url, credentials, context) as (link, alice):
        # Refused during the handshake, and for good: retrying cannot make it trusted.
        await eventually(lambda: link.state.kind is LinkKind.CERTIFICATE_REFUSED)
        assert not link.active and "does not trust" in link.state.detail
        assert LinkKind.CONNECTED not in alice.kinds() and not alice.events
        host, port = server_address(base_url)
        assert isinstance(await check_server(host, port, pins), Mismatch)


class StrippingTlsProxy:
    """An https front that refuses ``/ws`` (as a proxy stripping the upgrade does)
    and forwards everything else to the upstream server over https."""

    def __init__(self, upstream: str, serve: ssl.SSLContext, trust: ssl.SSLContext) -> None:
        self.upstream = upstream
        self._serve, self._trust = serve, trust
        self.stripped = 0
        self.base_url = ""
        self._client: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> StrippingTlsProxy:
        self._client = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        # handler_cancellation: a long poll the client gave up on must not hold up the end.
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._serve).start()
        self.base_url = f"https://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None and self._client is not None
        await self._runner.cleanup()
        await self._client.close()

    async def _forward(self, request: web.Request) -> web.Response:
        if request.path == "/ws":
            self.stripped += 1
            return web.Response(status=400, text="upgrade stripped")
        assert self._client is not None
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in ("authorization", "content-type", "accept")
        }
        async with self._client.request(
            request.method,
            self.upstream + request.path_qs,
            headers=headers,
            data=await request.read(),
            ssl=self._trust,
        ) as answer:
            return web.Response(
                status=answer.status,
                body=await answer.read(),
                content_type=answer.content_type,
            )


async def test_the_polling_fallback_runs_over_https_with_the_pinned_certificate(
    tls_config: ServerConfig, pins: PinStore
) -> None:
    async with running(tls_config) as server:
        credentials, context = await sign_up_pinned(server.base_url, pins)
        folder = tls_config.data_dir / TLS_DIR
        # The proxy shows the server's own certificate, so the one pin covers both.
        serve = load_server_context(folder / CERT_FILE, folder / KEY_FILE)
        async with (
            StrippingTlsProxy(server.base_url, serve, context) as proxy,
            linked(proxy.base_url, credentials, context, poll_wait=2.0, ws_retry_interval=60.0) as (
                link,
                alice,
            ),
        ):
            await eventually(lambda: link.state.kind is LinkKind.POLLING)
            assert proxy.stripped >= 1
            assert alice.of(Welcome)[0].username == "alice"
            client_id = uuid.uuid4().hex
            sent = await link.send(SendMessage(room="general", client_id=client_id, text="hi"))
            assert sent
            await eventually(lambda: [ack.client_id for ack in alice.of(Ack)] == [client_id])
