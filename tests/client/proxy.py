"""A tiny reverse proxy for the polling-fallback tests, on 127.0.0.1.

It forwards every request to the real server as plain HTTP. While
``pass_websocket`` is False it treats ``/ws`` like any other request and drops
the hop-by-hop ``Upgrade`` and ``Connection`` headers on the way, as some
corporate proxies do, so the server answers the now ordinary GET with an HTTP
error and the client's WebSocket handshake fails while the HTTP API works.
Once ``pass_websocket`` is True it proxies WebSocket connections properly.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse

import aiohttp
from aiohttp import WSMsgType, web

# Headers that describe one hop and must not be forwarded (RFC 9110, 7.6.1).
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class ReverseProxy:
    """Forward to ``upstream`` (``http://host:port``); see the module docstring."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.pass_websocket = False
        # When set, /ws is answered with this status by the proxy itself (a gateway error).
        self.websocket_status: int | None = None
        # When set, /ws handshakes are cut: the connection closes with no answer at all.
        self.cut_websocket = False
        # How many /ws requests arrived while the upgrade was being stripped.
        self.stripped = 0
        # Every HTTP request passed on (path and query, unquoted), in order.
        self.asked: list[str] = []
        self.base_url = ""
        self._client: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        self._client = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a long poll the client gave up on must not keep
        # the proxy's shutdown waiting.
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/ws" and self.cut_websocket and request.transport is not None:
            request.transport.abort()
            return web.Response()
        if request.path == "/ws" and self.websocket_status is not None:
            return web.Response(status=self.websocket_status, text="no backend for you")
        if request.path == "/ws" and self.pass_websocket:
            return await self._websocket(request)
        if request.path == "/ws":
            self.stripped += 1
        self.asked.append(urllib.parse.unquote(request.path_qs))
        assert self._client is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with self._client.request(
            request.method,
            self.upstream + request.path_qs,
            headers=headers,
            data=await request.read(),
            timeout=aiohttp.ClientTimeout(total=60),
        ) as upstream:
            body = await upstream.read()
            keep = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
            return web.Response(status=upstream.status, body=body, headers=keep)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        assert self._client is not None
        downstream = web.WebSocketResponse()
        await downstream.prepare(request)
        async with self._client.ws_connect(self.upstream + "/ws") as upstream:
            pumps = [
                asyncio.create_task(_pump(downstream, upstream)),
                asyncio.create_task(_pump(upstream, downstream)),
            ]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.wait(pumps)
            code = upstream.close_code or downstream.close_code or 1000
            with contextlib.suppress(ConnectionError):
                await downstream.close(code=code)
                await upstream.close(code=code)
        return downstream


async def _pump(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    target: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    async for message in source:
        if message.type is WSMsgType.TEXT:
            await target.send_str(message.data)
        elif message.type is WSMsgType.BINARY:
            await target.send_bytes(message.data)
