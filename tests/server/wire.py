"""Small clients for the server tests: accounts over HTTP, sessions over a real WebSocket.

Everything here talks to a real :class:`~chat_server.app.ChatServer` through
its port, with the ``websockets`` client and ``aiohttp``, the way the desktop
client and third-party clients do. Frames are decoded with the shared
protocol, so a test also fails when the server sends something off-contract.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

from chat_desktop.protocol import ServerEvent, Welcome, decode_server
from chat_server.app import ChatServer

PASSWORD = "correct horse battery"
TIMEOUT = 10.0


def ws_url(server: ChatServer) -> str:
    return server.base_url.replace("http://", "ws://") + "/ws"


@asynccontextmanager
async def http(server: ChatServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=server.base_url) as session:
        yield session


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(server: ChatServer, username: str, password: str = PASSWORD) -> str:
    """Create an account over HTTP and return its token."""
    async with http(server) as session:
        response = await session.post(
            "/api/v1/register", json={"username": username, "password": password}
        )
        assert response.status == 201, await response.text()
        return str((await response.json())["token"])


async def recv(ws: ClientConnection, within: float = TIMEOUT) -> ServerEvent:
    """The next event from the server, decoded with the shared protocol."""
    frame = await asyncio.wait_for(ws.recv(), within)
    return decode_server(frame)


async def recv_raw(ws: ClientConnection, within: float = TIMEOUT) -> dict[str, Any]:
    frame = await asyncio.wait_for(ws.recv(), within)
    obj = json.loads(frame)
    assert isinstance(obj, dict)
    return obj


async def recv_until(
    ws: ClientConnection, wanted: Callable[[ServerEvent], bool], within: float = TIMEOUT
) -> ServerEvent:
    """Skip events until one matches ``wanted`` (presence noise, say)."""
    async with asyncio.timeout(within):
        while True:
            event = await recv(ws, within)
            if wanted(event):
                return event


async def hello(ws: ClientConnection, token: str, since: dict[str, int] | None = None) -> Welcome:
    await ws.send(json.dumps({"type": "hello", "token": token, "since": since or {}}))
    welcome = await recv(ws)
    assert isinstance(welcome, Welcome), welcome
    return welcome


@asynccontextmanager
async def joined(
    server: ChatServer, token: str, since: dict[str, int] | None = None, **options: Any
) -> AsyncIterator[ClientConnection]:
    """A socket that has said hello and read its welcome."""
    async with connect(ws_url(server), **options) as ws:
        await hello(ws, token, since)
        yield ws


def message_frame(text: str, room: str = "general", client_id: str | None = None) -> str:
    return json.dumps(
        {"type": "message", "room": room, "client_id": client_id or str(uuid.uuid4()), "text": text}
    )
