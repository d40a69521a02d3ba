"""Small clients for the server tests: accounts over HTTP, sessions over a real WebSocket.

Everything here talks to a real :class:`~chat_server.app.ChatServer` through
its port, with the ``websockets`` client and ``aiohttp``, the way the desktop
client and third-party clients do. Frames are decoded with the shared
protocol, so a test also fails when the server sends something off-contract.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import dataclasses
import hashlib
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from chat_protocol import Error, Room, ServerEvent, Welcome, decode_server
from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from chat_server.security import hash_password, new_token
from chat_server.storage.base import StorageError

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


# For a body sent as raw bytes (aiohttp's json= sets this type itself): the
# server accepts only bodies declared as JSON.
JSON_TYPE = {"Content-Type": "application/json"}


def json_bearer(token: str) -> dict[str, str]:
    """Headers for a raw JSON body sent with ``token``."""
    return {**bearer(token), **JSON_TYPE}


async def register(server: ChatServer, username: str, password: str = PASSWORD) -> str:
    """Create an account over HTTP and return its token."""
    async with http(server) as session:
        response = await session.post(
            "/api/v1/register", json={"username": username, "password": password}
        )
        assert response.status == 201, await response.text()
        return str((await response.json())["token"])


async def recv(ws: ClientConnection, within: float = TIMEOUT) -> ServerEvent:
    """The next event from the server, decoded with the shared protocol.

    ``asyncio.timeout``, not ``wait_for``: on Python 3.11 ``wait_for``
    swallows a cancellation that comes as the frame arrives (it returns the
    frame instead), so a listening task that a test cancels at that moment
    went on listening, until its timeout failed the test a minute later.
    """
    async with asyncio.timeout(within):
        frame = await ws.recv()
    return decode_server(frame)


async def recv_raw(ws: ClientConnection, within: float = TIMEOUT) -> dict[str, Any]:
    async with asyncio.timeout(within):
        frame = await ws.recv()
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


async def hello(
    ws: ClientConnection,
    token: str,
    since: dict[str, int] | None = None,
    protocol: int | None = None,
) -> Welcome:
    frame: dict[str, Any] = {"type": "hello", "token": token, "since": since or {}}
    if protocol is not None:
        frame["protocol"] = protocol
    await ws.send(json.dumps(frame))
    welcome = await recv(ws)
    assert isinstance(welcome, Welcome), welcome
    return welcome


@asynccontextmanager
async def joined(
    server: ChatServer,
    token: str,
    since: dict[str, int] | None = None,
    protocol: int | None = None,
    **options: Any,
) -> AsyncIterator[ClientConnection]:
    """A socket that has said hello (asking for ``protocol`` if given) and read its welcome."""
    # An unbounded receive queue: with the default (16 frames) the websockets
    # client stops reading while a test is busy elsewhere, and then cannot read
    # the server's close frame when the test leaves this block (a 10 s stall).
    options.setdefault("max_queue", None)
    async with connect(ws_url(server), **options) as ws:
        await hello(ws, token, since, protocol)
        yield ws


def scrypt_hash(password: str, n: int = 2**14) -> str:
    """A hash as the first release stored it: scrypt$n$r$p$salt$hash."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=8, p=1, dklen=32)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return f"scrypt${n}$8$1${b64(salt)}${b64(digest)}"


def message_frame(text: str, room: str = "general", client_id: str | None = None) -> str:
    return json.dumps(
        {"type": "message", "room": room, "client_id": client_id or str(uuid.uuid4()), "text": text}
    )


@asynccontextmanager
async def running(config: ServerConfig, **limits: Any) -> AsyncIterator[ChatServer]:
    """A server on ``config`` with some limits shrunk, stopped afterwards."""
    config.limits = dataclasses.replace(config.limits, **limits)
    server = ChatServer(config)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def make_users(server: ChatServer, names: list[str]) -> dict[str, str]:
    """Accounts straight in the store, one shared password hash: fast setup for many users."""
    store = server.service.store
    password_hash = await hash_password(PASSWORD)
    tokens: dict[str, str] = {}
    for name in names:
        await store.create_user(name, password_hash)
        token, token_hash = new_token()
        await store.add_token(name, token_hash)
        tokens[name] = token
    return tokens


class RawClient:
    """A WebSocket client on a bare socket, for peers that misbehave on purpose.

    It uses the ``websockets`` sans-I/O protocol for the framing but decides
    itself when to read and whether to answer: a client that stops reading,
    or one that never answers a ping, which the real client cannot be made to do.
    """

    def __init__(self, sock: socket.socket, protocol: ClientProtocol) -> None:
        self.sock = sock
        self.protocol = protocol
        self.frames: list[Frame] = []

    @classmethod
    async def connect(cls, server: ChatServer, receive_buffer: int | None = None) -> RawClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            # Set before connecting so that the TCP window starts small.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
        client = cls(sock, ClientProtocol(parse_uri(ws_url(server))))
        client.protocol.send_request(client.protocol.connect())
        await client.flush()
        async with asyncio.timeout(TIMEOUT):
            while client.protocol.state is not State.OPEN:
                await client.read_some()
        return client

    async def flush(self) -> None:
        """Send whatever the protocol has queued (frames, pong and close replies)."""
        loop = asyncio.get_running_loop()
        for data in self.protocol.data_to_send():
            if data:
                await loop.sock_sendall(self.sock, data)

    async def read_some(self) -> bool:
        """Read once from the socket into ``frames``; False at the end of the stream."""
        try:
            data = await asyncio.get_running_loop().sock_recv(self.sock, 65536)
        except ConnectionResetError:
            data = b""
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        self.frames.extend(e for e in self.protocol.events_received() if isinstance(e, Frame))
        return bool(data)

    async def send_text(self, text: str) -> None:
        self.protocol.send_text(text.encode())
        await self.flush()

    async def read_text(self) -> dict[str, Any]:
        """The next text frame as JSON (frames of other kinds stay in ``frames``)."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                for index, frame in enumerate(self.frames):
                    if frame.opcode is Opcode.TEXT:
                        del self.frames[index]
                        obj = json.loads(frame.data)
                        assert isinstance(obj, dict)
                        return obj
                assert await self.read_some(), "the server closed the connection"

    async def read_to_end(self, answer: bool) -> None:
        """Read until the server closes; ``answer`` pings and the close handshake, or not."""
        async with asyncio.timeout(TIMEOUT):
            while await self.read_some():
                if answer:
                    await self.flush()

    def close(self) -> None:
        self.sock.close()


def refuse_appends(monkeypatch: Any, server: ChatServer, reason: str) -> None:
    """Make the store fail every message the way a failed transaction does.

    A fault a real database will not produce on demand: the writer resolves
    each message's future with StorageError, and nothing is stored.
    """

    def refuse(*args: object) -> concurrent.futures.Future[Any]:
        failed: concurrent.futures.Future[Any] = concurrent.futures.Future()
        failed.set_exception(StorageError(reason))
        return failed

    monkeypatch.setattr(server.service.store, "append_nowait", refuse)
    # A message the loop could commit itself fails there the same way: the
    # store then hands it to the writer (append_nowait), which refuses it.
    monkeypatch.setattr(server.service.store, "append_now", lambda *args: None)


async def api(
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    token: str,
    body: object | None = None,
) -> tuple[int, Any]:
    """One HTTP call with ``token``; the status and the JSON body (None when empty)."""
    options: dict[str, Any] = {"headers": bearer(token)}
    if body is not None:
        options["json"] = body
    async with session.request(method, path, **options) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else None


class Writer:
    """One user's Version 2 actions, over the socket or over HTTP, answered alike.

    ``write`` (a log write) returns ``("ack", seq)`` or ``("error", code)``
    whichever transport carried it, so one test can check a rule over both;
    ``create``, ``open_dm``, ``read`` and ``rooms`` do the rest.
    """

    def __init__(self, server: ChatServer, token: str, ws: ClientConnection | None = None) -> None:
        self.server = server
        self.token = token
        self.ws = ws

    @property
    def transport(self) -> str:
        return "http" if self.ws is None else "socket"

    async def write(
        self, kind: str, room: str, client_id: str | None = None, **fields: Any
    ) -> tuple[str, Any]:
        client_id = client_id or str(uuid.uuid4())
        if self.ws is not None:
            await self.ws.send(
                json.dumps({"type": kind, "room": room, "client_id": client_id, **fields})
            )
            answer = await recv_until(
                self.ws,
                lambda e: (
                    getattr(e, "client_id", None) == client_id
                    or getattr(e, "ref", None) == client_id
                ),
            )
            if answer.type == "ack":
                return "ack", answer.seq
            return "error", answer.code
        path = f"/api/v1/rooms/{room}/{'messages' if kind == 'message' else kind}"
        async with http(self.server) as session:
            status, body = await api(
                session, "POST", path, self.token, {"client_id": client_id, **fields}
            )
        if status in (200, 201):
            return "ack", body["seq"]
        if status == 204:
            return "ack", None
        return "error", body["code"]

    async def create(self, name: str, private: bool = False) -> tuple[str, Any]:
        if self.ws is not None:
            await self.ws.send(
                json.dumps({"type": "create-room", "name": name, "private": private})
            )
            event = await recv_until(self.ws, lambda e: e.type in ("room", "error"))
            if isinstance(event, Room):
                return "room", event.info
            assert isinstance(event, Error)
            return "error", event.code
        async with http(self.server) as session:
            status, body = await api(
                session, "POST", "/api/v1/rooms", self.token, {"name": name, "private": private}
            )
        return ("room", body) if status in (200, 201) else ("error", body["code"])

    async def open_dm(self, *users: str) -> tuple[int | str, Any]:
        """(201 or 200 over HTTP, "room" on the socket, or "error"), and the room or the code."""
        if self.ws is not None:
            await self.ws.send(
                json.dumps({"type": "open-dm", "users": list(users), "client_id": "d"})
            )
            event = await recv_until(self.ws, lambda e: e.type in ("room", "error"))
            if isinstance(event, Room):
                return "room", event.info
            return "error", event.code
        async with http(self.server) as session:
            status, body = await api(
                session, "POST", "/api/v1/dms", self.token, {"users": list(users)}
            )
        return (status, body) if status in (200, 201) else ("error", body["code"])

    async def read(self, room: str, seq: int) -> None:
        if self.ws is not None:
            await self.ws.send(json.dumps({"type": "read", "room": room, "seq": seq}))
            # Reads are silent to their sender: a history request behind it
            # is answered only once the read was handled.
            await self.ws.send(json.dumps({"type": "history", "room": room, "limit": 1}))
            await recv_until(self.ws, lambda e: e.type in ("history", "error"))
            return
        async with http(self.server) as session:
            status, _ = await api(
                session, "POST", f"/api/v1/rooms/{room}/read", self.token, {"seq": seq}
            )
        assert status == 204

    async def rooms(self) -> dict[str, dict[str, Any]]:
        async with http(self.server) as session:
            status, body = await api(session, "GET", "/api/v1/rooms?v=2", self.token)
        assert status == 200
        return {room["name"]: room for room in body["rooms"]}


@asynccontextmanager
async def acting(server: ChatServer, token: str, via: str) -> AsyncIterator[Writer]:
    """A :class:`Writer` over HTTP (``via`` "http") or over a Version 2 socket."""
    if via == "http":
        yield Writer(server, token)
        return
    async with joined(server, token, protocol=2) as ws:
        yield Writer(server, token, ws)
