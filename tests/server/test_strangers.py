"""Strangers cannot act unseen (issue 11, docs/security.md): each probe of the review, refused.

A real server on a loopback port and real aiohttp clients. Different client
addresses come from ``X-Forwarded-For`` through a server that trusts
127.0.0.1 as its proxy, which is also what shows the header is believed only
from a trusted proxy.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import connect

from chat_protocol import Error, Room
from chat_server import admin, cli
from chat_server.app import ChatServer
from chat_server.config import Registration, ServerConfig
from chat_server.guards import resolve_client
from tests.server.wire import (
    PASSWORD,
    bearer,
    hello,
    http,
    joined,
    make_users,
    recv_until,
    register,
    running,
    ws_url,
)
from tests.waiting import WAIT_LIMIT

LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"),)


def strangers(config: ServerConfig, **fields: object) -> ServerConfig:
    """``config`` with some of the stranger-facing settings changed."""
    return dataclasses.replace(config, **fields)  # type: ignore[arg-type]


async def post(
    session: aiohttp.ClientSession,
    path: str,
    body: object,
    *,
    client: str | None = None,
    token: str | None = None,
) -> tuple[int, dict[str, object], Mapping[str, str]]:
    """POST JSON, as the client at ``client`` (X-Forwarded-For) when given."""
    headers = {"X-Forwarded-For": client} if client else {}
    headers.update(bearer(token) if token else {})
    async with session.post(path, json=body, headers=headers) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else {}, response.headers


def account(name: str, **more: object) -> dict[str, object]:
    return {"username": name, "password": PASSWORD, **more}


# Registration per client address -----------------------------------------------


async def test_a_burst_of_registrations_from_one_address_is_refused_with_429(
    chat_server: ChatServer,
) -> None:
    # The defaults: 20 at once, then a few a minute.
    async with http(chat_server) as session:
        for n in range(20):
            status, body, _ = await post(session, "/api/v1/register", account(f"bot{n}"))
            assert status == 201, body
        status, body, headers = await post(session, "/api/v1/register", account("bot20"))
    assert status == 429 and body["code"] == "rate_limited"
    assert int(headers["Retry-After"]) >= 1
    assert "bot20" not in await chat_server.service.store.list_users()


async def test_the_registration_limit_is_per_client_address_behind_a_trusted_proxy(
    server_config: ServerConfig,
) -> None:
    config = strangers(server_config, registration_burst=2, trusted_proxies=LOOPBACK)
    async with running(config) as server, http(server) as session:
        for name in ("a1", "a2"):
            assert (await post(session, "/api/v1/register", account(name), client="10.0.0.1"))[
                0
            ] == 201
        assert (await post(session, "/api/v1/register", account("a3"), client="10.0.0.1"))[0] == 429
        # A colleague at another desk behind the same proxy is not affected.
        assert (await post(session, "/api/v1/register", account("b1"), client="10.0.0.2"))[0] == 201


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(
    server_config: ServerConfig,
) -> None:
    config = strangers(server_config, registration_burst=2)
    async with running(config) as server, http(server) as session:
        for n in range(2):
            status, _, _ = await post(
                session, "/api/v1/register", account(f"u{n}"), client=f"10.9.9.{n}"
            )
            assert status == 201
        # Each request claimed a new address; all came from 127.0.0.1.
        status, _, _ = await post(session, "/api/v1/register", account("u2"), client="10.9.9.2")
    assert status == 429


async def test_behind_a_trusted_proxy_the_log_names_the_client_not_the_proxy(
    server_config: ServerConfig, caplog: pytest.LogCaptureFixture
) -> None:
    # Behind nginx every socket comes from nginx: an operator reading the log
    # needs the desk it came from, and is not sent to the server's own port.
    caplog.set_level("INFO", logger="chat_server")
    config = strangers(server_config, trusted_proxies=LOOPBACK)
    async with running(config) as server:
        token = await register(server, "alice")
        async with connect(
            ws_url(server), additional_headers={"X-Forwarded-For": "203.0.113.9"}
        ) as ws:
            await hello(ws, token)
    assert "connect alice from 203.0.113.9 via 127.0.0.1:" in caplog.text
    assert "colleagues can join at" not in caplog.text
    assert "colleagues join at its address" in caplog.text


def test_the_client_address_is_the_first_untrusted_hop_from_the_right() -> None:
    proxies = (ipaddress.ip_network("10.1.0.0/16"), ipaddress.ip_network("::1/128"))
    assert resolve_client("192.0.2.7", ["203.0.113.9"], proxies) == "192.0.2.7"
    assert resolve_client("10.1.2.3", [], proxies) == "10.1.2.3"
    # The client wrote "1.1.1.1" itself; the proxy appended what it saw.
    assert resolve_client("10.1.2.3", ["1.1.1.1, 198.51.100.4"], proxies) == "198.51.100.4"
    # A chain of trusted proxies is skipped; repeated headers count as one list.
    assert resolve_client("::1", ["198.51.100.4", "10.1.9.9"], proxies) == "198.51.100.4"
    assert resolve_client("10.1.2.3", ["garbage, 10.1.0.8"], proxies) == "10.1.0.8"
    assert resolve_client("::ffff:192.0.2.1", ["198.51.100.4"], proxies) == "192.0.2.1"


# Registration modes ---------------------------------------------------------------


async def test_health_says_which_registration_mode_is_in_force(
    server_config: ServerConfig,
) -> None:
    for mode in Registration:
        async with (
            running(strangers(server_config, registration=mode)) as server,
            http(server) as session,
            session.get("/api/v1/health") as response,
        ):
            assert (await response.json())["registration"] == mode.value


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chat_server", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_in_invite_mode_only_a_fresh_code_from_the_cli_registers(
    server_config: ServerConfig,
) -> None:
    data = str(server_config.data_dir)
    made = run_cli("invite", "create", "--uses", "1", "--days", "2", "--data-dir", data)
    assert made.returncode == 0, made.stderr
    code = made.stdout.splitlines()[0]
    config = strangers(server_config, registration=Registration.INVITE)
    async with running(config) as server, http(server) as session:
        status, body, _ = await post(session, "/api/v1/register", account("ann"))
        assert (status, body["code"]) == (403, "invite_required")
        status, body, _ = await post(session, "/api/v1/register", account("ann", invite="NOPE"))
        assert (status, body["code"]) == (403, "invite_invalid")
        # Typed in lower case without the dashes: still the code.
        typed = code.replace("-", "").lower()
        status, body, _ = await post(session, "/api/v1/register", account("ann", invite=typed))
        assert status == 201, body
        status, body, _ = await post(session, "/api/v1/register", account("ben", invite=code))
        assert (status, body["code"]) == (403, "invite_invalid")  # used up
        assert await server.service.store.list_users() == ["ann"]


async def test_an_invite_keeps_its_use_when_the_name_was_taken(
    server_config: ServerConfig,
) -> None:
    config = strangers(server_config, registration=Registration.INVITE)
    async with running(config) as server, http(server) as session:
        await make_users(server, ["taken"])
        lines: list[str] = []
        await admin.create_invite(server.service.store, uses=1, days=1, out=lines.append)
        code = lines[0]
        status, _, _ = await post(session, "/api/v1/register", account("Taken", invite=code))
        assert status == 409
        status, _, _ = await post(session, "/api/v1/register", account("fresh", invite=code))
        assert status == 201


async def test_closed_registration_refuses_everyone(server_config: ServerConfig) -> None:
    config = strangers(server_config, registration=Registration.CLOSED)
    async with running(config) as server, http(server) as session:
        status, body, _ = await post(session, "/api/v1/register", account("zed"))
    assert (status, body["code"]) == (403, "registration_closed")


def test_the_command_line_sets_the_stranger_options() -> None:
    parse = cli.build_parser().parse_args
    config = cli.config_from(
        parse(
            [
                "--registration",
                "invite",
                "--registration-rate",
                "6",
                "--registration-burst",
                "5",
                "--room-rate",
                "2",
                "--room-burst",
                "4",
                "--trusted-proxy",
                "10.0.0.0/8",
                "--trusted-proxy",
                "::1",
                "--header-timeout",
                "3",
            ]
        )
    )
    assert config.registration is Registration.INVITE
    assert (config.registrations_per_minute, config.registration_burst) == (6, 5)
    assert (config.rooms_per_minute, config.room_burst) == (2, 4)
    assert config.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert config.header_timeout == 3
    assert cli.config_from(parse(["--no-registration"])).registration is Registration.CLOSED
    assert cli.config_from(parse([])).registration is Registration.OPEN


# Rooms per user ------------------------------------------------------------------


async def test_room_creation_is_limited_per_user_over_http_and_socket_alike(
    server_config: ServerConfig,
) -> None:
    config = strangers(server_config, room_burst=3, rooms_per_minute=0.5)
    async with running(config) as server, http(server) as session:
        tokens = await make_users(server, ["spammer", "calm"])
        for n in range(2):
            status, _, _ = await post(
                session, "/api/v1/rooms", {"name": f"spam{n}"}, token=tokens["spammer"]
            )
            assert status == 201
        async with joined(server, tokens["spammer"]) as ws:
            await ws.send(json.dumps({"type": "create-room", "name": "spam2"}))
            assert await recv_until(ws, lambda e: isinstance(e, Room)) == Room("spam2", 0)
            await ws.send(json.dumps({"type": "create-room", "name": "spam3"}))
            refused = await recv_until(ws, lambda e: isinstance(e, Error))
            assert isinstance(refused, Error) and refused.code == "rate_limited"
        status, body, headers = await post(
            session, "/api/v1/rooms", {"name": "spam4"}, token=tokens["spammer"]
        )
        assert (status, body["code"]) == (429, "rate_limited")
        assert int(headers["Retry-After"]) >= 1
        # Asking for a room that exists costs nothing; someone else is unaffected.
        status, _, _ = await post(
            session, "/api/v1/rooms", {"name": "spam0"}, token=tokens["spammer"]
        )
        assert status == 200
        status, _, _ = await post(session, "/api/v1/rooms", {"name": "calm"}, token=tokens["calm"])
        assert status == 201
        rooms = [room.name for room in await server.service.store.rooms()]
    assert "spam3" not in rooms and "spam4" not in rooms


# Web pages in a colleague's browser ----------------------------------------------

JSON_ROUTES = [
    "/api/v1/register",
    "/api/v1/login",
    "/api/v1/rooms",
    "/api/v1/rooms/general/messages",
    "/api/v1/rooms/general/typing",
]


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
async def test_a_body_not_declared_as_json_is_refused_with_415(
    chat_server: ChatServer, path: str, content_type: str | None
) -> None:
    token = await register(chat_server, "alice")
    # One body that every JSON route would accept, were it declared as JSON.
    body: dict[str, object] = {"username": "page", "password": PASSWORD, "name": "page"}
    body |= {"client_id": "p-1", "text": "from a web page", "active": True}
    headers = bearer(token)
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with (
        http(chat_server) as session,
        session.post(path, data=json.dumps(body).encode(), headers=headers) as response,
    ):
        assert response.status == 415
        assert (await response.json())["code"] == "unsupported_media_type"
    assert await chat_server.service.store.list_users() == ["alice"]
    assert await chat_server.service.store.messages_after("general", 0, 10) == []


async def test_json_with_a_charset_parameter_is_accepted(chat_server: ChatServer) -> None:
    async with (
        http(chat_server) as session,
        session.post(
            "/api/v1/register",
            data=json.dumps(account("alice")).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
        ) as response,
    ):
        assert response.status == 201


# The login throttle ------------------------------------------------------------------


async def test_a_stranger_cannot_lock_a_colleague_out_from_another_address(
    server_config: ServerConfig,
) -> None:
    config = strangers(server_config, trusted_proxies=LOOPBACK)
    config.limits = dataclasses.replace(config.limits, login_failures=3, login_failures_per_user=6)
    async with running(config) as server, http(server) as session:
        await make_users(server, ["alice"])
        wrong = {"username": "alice", "password": "not the password"}
        for _ in range(3):
            assert (await post(session, "/api/v1/login", wrong, client="10.0.0.66"))[0] == 401
        assert (await post(session, "/api/v1/login", wrong, client="10.0.0.66"))[0] == 429
        # alice at her desk signs in.
        status, _, _ = await post(session, "/api/v1/login", account("alice"), client="10.0.0.5")
        assert status == 200
        # A guesser spreading over addresses meets the ceiling per name.
        for n in range(3):
            assert (await post(session, "/api/v1/login", wrong, client=f"10.0.1.{n}"))[0] == 401
        status, body, _ = await post(session, "/api/v1/login", wrong, client="10.0.2.1")
        assert (status, body["code"]) == (429, "rate_limited")


# Slowloris and the Server header ------------------------------------------------------


async def closed_by_server(sock: socket.socket) -> bool:
    """Read until the server closes ``sock``; True when it did within the wait limit."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(WAIT_LIMIT):
            while await loop.sock_recv(sock, 4096):
                pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


async def open_raw(server: ChatServer) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    return sock


async def test_half_a_request_line_is_dropped_after_the_header_timeout(
    server_config: ServerConfig,
) -> None:
    async with running(strangers(server_config, header_timeout=0.5)) as server:
        loop = asyncio.get_running_loop()
        with await open_raw(server) as half, await open_raw(server) as silent:
            await loop.sock_sendall(half, b"GET /api/v1/hea")
            assert await closed_by_server(half)
            assert await closed_by_server(silent)


async def test_headers_trickled_byte_by_byte_are_still_cut_at_the_deadline(
    server_config: ServerConfig,
) -> None:
    async with running(strangers(server_config, header_timeout=0.5)) as server:
        loop = asyncio.get_running_loop()
        request = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: y\r\n" * 1000
        with await open_raw(server) as sock:
            sent = 0
            try:
                async with asyncio.timeout(WAIT_LIMIT):
                    for byte in request:
                        await loop.sock_sendall(sock, bytes([byte]))
                        sent += 1
                        await asyncio.sleep(0.01)
            except (ConnectionError, TimeoutError):
                pass
            assert await closed_by_server(sock)
        assert sent < len(request), "the server waited for the whole trickle"


async def test_a_json_body_that_dawdles_is_refused_with_408(server_config: ServerConfig) -> None:
    async with running(strangers(server_config, header_timeout=0.5)) as server:
        loop = asyncio.get_running_loop()
        with await open_raw(server) as sock:
            await loop.sock_sendall(
                sock,
                b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100\r\n\r\n{"username": ',
            )
            answer = b""
            async with asyncio.timeout(WAIT_LIMIT):
                while b"\r\n\r\n" not in answer:
                    answer += await loop.sock_recv(sock, 4096)
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_a_long_poll_and_a_socket_outlive_the_header_timeout(
    server_config: ServerConfig,
) -> None:
    async with running(strangers(server_config, header_timeout=0.3)) as server:
        tokens = await make_users(server, ["alice"])
        async with joined(server, tokens["alice"]) as ws, http(server) as session:
            async with session.get(
                "/api/v1/events?wait=1&since=general:0", headers=bearer(tokens["alice"])
            ) as response:
                assert response.status == 200
            await ws.send(json.dumps({"type": "create-room", "name": "still-here"}))
            assert await recv_until(ws, lambda e: isinstance(e, Room)) == Room("still-here", 0)


async def test_the_server_header_names_no_versions(chat_server: ChatServer) -> None:
    async with http(chat_server) as session:
        for path in ("/api/v1/health", "/api/v1/nothing-here"):
            async with session.get(path) as response:
                assert response.headers["Server"] == "chat-server"


# Files other local users could read -----------------------------------------------------


async def test_the_data_folder_and_every_file_in_it_are_the_owners_only_under_umask_0(
    server_config: ServerConfig,
) -> None:
    config = strangers(server_config, data_dir=server_config.data_dir / "nested", tls=True)
    previous = os.umask(0)
    try:
        server = ChatServer(config)
        await server.start()
        try:
            async with aiohttp.ClientSession(base_url=server.base_url) as session:
                # Through the running server, so that SQLite writes its WAL too.
                registered = await session.post("/api/v1/register", json=account("a"), ssl=False)
                assert registered.status == 201
                token = (await registered.json())["token"]
                uploaded = await session.post(
                    "/api/v1/files?name=a.txt",
                    data=b"a file",
                    headers={"Authorization": f"Bearer {token}"},
                    ssl=False,
                )
                assert uploaded.status == 201
            modes = modes_under(config.data_dir)
        finally:
            await server.stop()
    finally:
        os.umask(previous)
    assert {"chat.sqlite3", "chat.sqlite3-wal", "chat.sqlite3-shm", "tls/key.pem"} <= set(modes)
    assert sum(1 for path in modes if path.startswith("files/")) == 3  # tmp/, ab/, ab/cdef...
    assert modes == {path: mode_of(config.data_dir, path) for path in modes}


def modes_under(folder: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.stat().st_mode)
    return found


def mode_of(folder: Path, relative: str) -> int:
    """Folders (the data folder, tls/, files/...) 0700, files 0600."""
    return 0o700 if (folder / relative).is_dir() else 0o600


async def test_a_data_folder_an_older_version_left_readable_is_tightened_at_start(
    server_config: ServerConfig,
) -> None:
    folder = server_config.data_dir
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    async with running(server_config):
        pass
    for name in ("chat.sqlite3", "chat.sqlite3-wal", "chat.sqlite3-shm"):
        if (folder / name).exists():
            os.chmod(folder / name, 0o644)
    os.chmod(folder, 0o755)
    async with running(server_config) as server:
        await make_users(server, ["alice"])
        modes = modes_under(folder)
    assert modes == {path: mode_of(folder, path) for path in modes}


# Invite codes in the store ----------------------------------------------------------


async def test_an_invite_counts_down_its_uses_and_expires(chat_server: ChatServer) -> None:
    store = chat_server.service.store
    await store.add_invite("twice", 2, "2999-01-01T00:00:00.000Z")
    await store.add_invite("stale", 5, "2000-01-01T00:00:00.000Z")
    assert [await store.use_invite("twice") for _ in range(3)] == [True, True, False]
    await store.return_invite("twice")
    assert await store.use_invite("twice")
    assert not await store.use_invite("stale")
    assert not await store.use_invite("unknown")
