"""Nothing works without a valid token, nobody posts as someone else, secrets are hashed.

The routes are read from the running server's own router, so a route added
later is checked too and cannot slip in without a token; the public ones
are listed here on purpose. Already covered elsewhere and not repeated:
the login throttle (tests/server/test_http.py, ten failures then 429, in
parallel too), logout closing the token's sockets at once (same file).
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chat_server.app import ChatServer
from tests.reliability.clients import server_messages
from tests.server.wire import (
    PASSWORD,
    bearer,
    hello,
    http,
    message_frame,
    recv,
    recv_until,
    register,
    ws_url,
)
from tests.sqlite_driver import sqlite

PUBLIC = {("GET", "/api/v1/health"), ("POST", "/api/v1/register"), ("POST", "/api/v1/login")}


def _routes(server: ChatServer) -> set[tuple[str, str]]:
    # The running application's router: whatever the server serves, not a copy.
    app = server._runner.app  # type: ignore[union-attr]
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


async def test_every_route_but_the_public_ones_refuses_a_missing_bad_or_revoked_token(
    chat_server: ChatServer,
) -> None:
    routes = _routes(chat_server)
    assert PUBLIC.issubset(routes) and ("GET", "/ws") in routes
    revoked = await register(chat_server, "alice")
    async with http(chat_server) as session:
        assert (await session.post("/api/v1/logout", headers=bearer(revoked))).status == 204
        checked = 0
        for method, path in sorted(routes - PUBLIC - {("GET", "/ws")}):
            url = path.replace("{room}", "general").replace("{id}", "some-session")
            for headers in (
                {},
                bearer("not-a-token"),
                bearer(revoked),
                {"Authorization": "Basic YWxpY2U6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5"},
                {"Authorization": revoked},
            ):
                body = {"client_id": "c1", "text": "hi", "name": "x", "active": True}
                response = await session.request(method, url, headers=headers, json=body)
                assert response.status == 401, (method, url, headers, await response.text())
                assert (await response.json())["code"] == "unauthorized"
                checked += 1
    assert checked >= 5 * 8
    assert server_messages(chat_server.config.data_dir / "chat.sqlite3") == []


async def test_the_socket_does_nothing_before_a_hello_with_a_valid_token(
    chat_server: ChatServer,
) -> None:
    token = await register(chat_server, "alice")
    async with connect(ws_url(chat_server)) as ws:
        for frame in (
            message_frame("sneaky"),
            json.dumps({"type": "history", "room": "general"}),
            json.dumps({"type": "create-room", "name": "sneaky"}),
            json.dumps({"type": "typing", "room": "general", "active": True}),
        ):
            await ws.send(frame)
            answer = json.loads(await ws.recv())
            assert (answer["type"], answer["code"]) == ("error", "unauthorized")
        await ws.send(json.dumps({"type": "hello", "token": token + "x"}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    rooms = [room.name for room in await chat_server.service.store.rooms()]
    assert rooms == ["general"]
    assert server_messages(chat_server.config.data_dir / "chat.sqlite3") == []


async def test_the_author_is_the_tokens_user_whatever_the_payload_says(
    chat_server: ChatServer,
) -> None:
    alice = await register(chat_server, "alice")
    await register(chat_server, "bob")
    async with connect(ws_url(chat_server)) as ws:
        await hello(ws, alice)
        frame = json.loads(message_frame("over the socket", client_id="ws-1"))
        await ws.send(json.dumps({**frame, "author": "bob", "user": "bob", "username": "bob"}))
        await recv_until(ws, lambda e: e.type == "ack")
        echoed = await recv_until(ws, lambda e: e.type == "message")
    assert echoed.author == "alice"  # type: ignore[attr-defined]
    async with http(chat_server) as session:
        response = await session.post(
            "/api/v1/rooms/general/messages",
            headers=bearer(alice),
            json={"client_id": "http-1", "text": "over http", "author": "bob"},
        )
        assert response.status == 201
    authors = {
        row[2]: row[1] for row in server_messages(chat_server.config.data_dir / "chat.sqlite3")
    }
    assert authors == {"ws-1": "alice", "http-1": "alice"}


async def test_a_logged_out_token_stops_working_on_the_socket_at_once(
    chat_server: ChatServer,
) -> None:
    token = await register(chat_server, "alice")
    async with connect(ws_url(chat_server)) as ws:
        await hello(ws, token)
        async with http(chat_server) as session:
            assert (await session.post("/api/v1/logout", headers=bearer(token))).status == 204
        with pytest.raises(ConnectionClosed):
            while True:
                await recv(ws)
    async with connect(ws_url(chat_server)) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_the_database_file_holds_no_password_and_no_token(
    chat_server: ChatServer, tmp_path: Path
) -> None:
    tokens = [await register(chat_server, "alice")]
    async with aiohttp.ClientSession(chat_server.base_url) as session:
        response = await session.post(
            "/api/v1/login", json={"username": "alice", "password": PASSWORD}
        )
        tokens.append((await response.json())["token"])
    secrets = [PASSWORD, *tokens]
    db_file = chat_server.config.data_dir / "chat.sqlite3"
    # Every text cell of every table, and the raw bytes of the files (WAL included).
    with sqlite.connect(f"file:{db_file}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        cells = [
            str(value)
            for table in tables
            for row in db.execute(f'SELECT * FROM "{table}"')
            for value in row
        ]
    db.close()
    raw = b"".join(p.read_bytes() for p in db_file.parent.iterdir() if p.is_file())
    for secret in secrets:
        assert not any(secret in cell for cell in cells)
        assert secret.encode() not in raw
    assert any(cell.startswith("scrypt") or "$" in cell for cell in cells)  # a hash is there
