"""Accounts that can be taken away: revocation everywhere, sessions, passwords.

- ``chat-server user reset-password|disable|remove`` run as a separate process
  against the running server's data closes the user's open sockets (4401) and
  ends their long polls (401), through the revocation log each server reads;
- an admin does the same over the API (disable, enable, end every session of
  a user): at once on this server, and nobody else may (403);
- a removed account's name cannot be taken over;
- a user lists their sessions, ends one or all the others, changes their
  password (which ends the others);
- sessions unused for ``session_days`` stop working and are deleted; checking a
  token does not write;
- first-release (scrypt) password hashes are replaced by argon2id at login.

Everything runs against a real server on a loopback port with real
WebSocket and HTTP clients; the CLI runs as its own process, as an operator
would run it (one process holds one store).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect

from chat_protocol import CloseCode, rules
from chat_server import cli
from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from tests.conftest import ServerProcess
from tests.postgres import throwaway_database
from tests.server.wire import (
    PASSWORD,
    bearer,
    hello,
    http,
    joined,
    message_frame,
    recv_until,
    register,
    running,
    scrypt_hash,
    ws_url,
)
from tests.sqlite_driver import sqlite
from tests.waiting import eventually

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def server(server_config: ServerConfig) -> AsyncIterator[ChatServer]:
    """A server that reads the revocation log often, so that tests need not wait a second."""
    server_config.revocation_check_seconds = 0.05
    async with running(server_config) as server:
        yield server


def chat_server_cli(server: ChatServer, *args: str, stdin: str = "", ok: bool = True) -> str:
    """Run ``chat-server ARGS --data-dir <the server's>`` as its own process.

    Returns what it printed: stdout when it succeeded (``ok``), else stderr.
    """
    done = subprocess.run(
        [sys.executable, "-m", "chat_server", *args, "--data-dir", str(server.config.data_dir)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode == 0) == ok, done.stderr
    return done.stdout if ok else done.stderr


async def login(session: aiohttp.ClientSession, password: str = PASSWORD, **headers: str) -> Any:
    async with session.post(
        "/api/v1/login", json={"username": "bob", "password": password}, headers=headers
    ) as response:
        return response.status, await response.json()


async def status_of(session: aiohttp.ClientSession, token: str, path: str = "/api/v1/rooms") -> int:
    async with session.get(path, headers=bearer(token)) as response:
        return response.status


async def closed_with(ws: ClientConnection) -> int | None:
    """Wait for the server to close ``ws``; the close code it sent."""
    await asyncio.wait_for(ws.wait_closed(), 10)
    return ws.close_code


async def waiting_poll(server: ChatServer, session: aiohttp.ClientSession, token: str) -> Any:
    """A long poll that is waiting on the server (its first, immediate answer taken)."""
    url = "/api/v1/events?since=general:0"
    async with session.get(url, headers=bearer(token)) as response:
        assert response.status == 200
    waiting_before = server.service.hub.polls_waiting

    async def poll() -> int:
        async with session.get(url + "&wait=25", headers=bearer(token)) as response:
            return response.status

    task = asyncio.create_task(poll())
    await eventually(lambda: server.service.hub.polls_waiting > waiting_before)
    return task


# Revocation from another process -------------------------------------------------


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (("user", "reset-password", "bob"), NEW_PASSWORD + "\n"),
        (("user", "disable", "bob"), ""),
        (("user", "remove", "bob"), ""),
    ],
)
async def test_the_cli_signs_a_user_out_of_a_running_server_sockets_and_polls_included(
    server: ChatServer, args: tuple[str, ...], stdin: str
) -> None:
    bob = await register(server, "bob")
    alice = await register(server, "alice")
    async with (
        http(server) as session,
        joined(server, bob) as bob_socket,
        joined(server, alice) as alice_socket,
    ):
        poll = await waiting_poll(server, session, bob)
        await asyncio.to_thread(chat_server_cli, server, *args, stdin=stdin)
        assert await closed_with(bob_socket) == CloseCode.UNAUTHORIZED
        assert await asyncio.wait_for(poll, 10) == 401
        assert await status_of(session, bob) == 401
        # Nobody else is signed out.
        await alice_socket.send(message_frame("still here"))
        await recv_until(alice_socket, lambda e: e.type == "ack")
        assert await status_of(session, alice) == 200
        status, _ = await login(session)
        assert status == 401
        if args[1] == "reset-password":
            status, _ = await login(session, NEW_PASSWORD)
            assert status == 200


async def test_a_session_ended_on_one_server_closes_its_socket_on_another(
    server: ChatServer,
) -> None:
    # A second server process on the same database, as in a cluster.
    other = ServerProcess(data_dir=server.config.data_dir)
    other.start()
    try:
        bob = await register(server, "bob")
        async with connect(other.url.replace("http", "ws") + "/ws") as ws:
            await hello(ws, bob)
            async with (
                http(server) as session,
                session.post("/api/v1/logout", headers=bearer(bob)) as response,
            ):
                assert response.status == 204
            assert await closed_with(ws) == CloseCode.UNAUTHORIZED
    finally:
        assert other.stop() == 0


@pytest.mark.postgres
async def test_the_cli_signs_a_user_out_of_a_server_on_postgresql(
    server_config: ServerConfig,
) -> None:
    with throwaway_database("chat_revoke_test") as url:
        server_config.db_url = url
        server_config.revocation_check_seconds = 0.05
        async with running(server_config) as server:
            bob = await register(server, "bob")
            async with joined(server, bob) as ws:
                await asyncio.to_thread(
                    chat_server_cli, server, "user", "disable", "bob", "--db", url
                )
                assert await closed_with(ws) == CloseCode.UNAUTHORIZED


async def test_a_disabled_user_can_sign_in_again_once_enabled(server: ChatServer) -> None:
    await register(server, "bob")
    await asyncio.to_thread(chat_server_cli, server, "user", "disable", "bob")
    async with http(server) as session:
        assert (await login(session))[0] == 401
        await asyncio.to_thread(chat_server_cli, server, "user", "enable", "bob")
        assert (await login(session))[0] == 200


async def test_a_removed_users_name_cannot_be_taken_and_history_keeps_the_author(
    server: ChatServer,
) -> None:
    bob = await register(server, "bob")
    async with http(server) as session:
        async with session.post(
            "/api/v1/rooms/general/messages",
            headers=bearer(bob),
            json={"client_id": "c-1", "text": "mine"},
        ) as response:
            assert response.status == 201
        output = await asyncio.to_thread(chat_server_cli, server, "user", "remove", "bob")
        assert "removed user bob" in output
        for name in ("bob", "BOB"):
            async with session.post(
                "/api/v1/register", json={"username": name, "password": PASSWORD}
            ) as response:
                assert response.status == 409
                assert (await response.json())["code"] == "username_taken"
        alice = await register(server, "alice")
        async with session.get("/api/v1/rooms/general/messages", headers=bearer(alice)) as response:
            messages = (await response.json())["messages"]
    assert [(m["author"], m["text"]) for m in messages] == [("bob", "mine")]
    assert "bob" not in await asyncio.to_thread(chat_server_cli, server, "user", "list")
    refused = await asyncio.to_thread(
        chat_server_cli, server, "user", "add", "bob", "--password", PASSWORD, ok=False
    )
    assert "taken" in refused


# An admin over the API --------------------------------------------------------


async def admin_call(
    session: aiohttp.ClientSession, token: str, action: str, username: str = "bob"
) -> tuple[int, Any]:
    """One of the admin routes on ``username``: its status and JSON body (None when empty)."""
    method = "DELETE" if action == "sessions" else "POST"
    path = f"/api/v1/admin/users/{username}/{action}"
    async with session.request(method, path, headers=bearer(token)) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else None


@pytest.mark.parametrize("action", ["disable", "sessions"])
async def test_an_admin_signs_a_user_out_over_http_sockets_and_polls_included(
    server_config: ServerConfig, action: str
) -> None:
    # No look at the revocation log during the test: the socket and the poll
    # must end because the admin's own server applies the revocation at once.
    server_config.revocation_check_seconds = 3600
    async with running(server_config) as server:
        root = await register(server, "root")
        await server.service.store.set_admin("root", True)
        bob = await register(server, "bob")
        alice = await register(server, "alice")
        async with (
            http(server) as session,
            joined(server, bob, protocol=2) as bob_socket,
            joined(server, alice) as alice_socket,
        ):
            poll = await waiting_poll(server, session, bob)
            assert await admin_call(session, root, action, "BOB") == (204, None)
            assert await closed_with(bob_socket) == CloseCode.UNAUTHORIZED
            assert await asyncio.wait_for(poll, 10) == 401
            assert await status_of(session, bob) == 401
            # Nobody else is signed out, the admin included.
            await alice_socket.send(message_frame("still here"))
            await recv_until(alice_socket, lambda e: e.type == "ack")
            assert await status_of(session, alice) == 200
            assert await status_of(session, root) == 200
            # Disabled: no new sign-in; signed out only: bob signs in again.
            status, _ = await login(session)
            assert status == (401 if action == "disable" else 200)
            if action == "disable":
                assert "bob" not in [p.username for p in await server.service.store.people()]
                assert await admin_call(session, root, "enable") == (204, None)
                assert (await login(session))[0] == 200


async def test_only_an_admin_may_disable_or_sign_out_a_user_and_nobody_learns_who_exists(
    server: ChatServer,
) -> None:
    root = await register(server, "root")
    await server.service.store.set_admin("root", True)
    bob = await register(server, "bob")
    mallory = await register(server, "mallory")
    async with http(server) as session, joined(server, bob) as bob_socket:
        for action in ("disable", "enable", "sessions"):
            for target in ("bob", "nobody"):
                status, body = await admin_call(session, mallory, action, target)
                assert (status, body["code"]) == (403, "forbidden")
            status, body = await admin_call(session, "forged", action)
            assert (status, body["code"]) == (401, "unauthorized")
            status, body = await admin_call(session, root, action, "nobody")
            assert (status, body["code"]) == (404, "not_found")
        # An admin cannot lock themselves out by a slip.
        status, body = await admin_call(session, root, "disable", "root")
        assert (status, body["code"]) == (400, "bad_request")
        # Nothing happened to bob: his socket still writes, his token works.
        await bob_socket.send(message_frame("still here"))
        await recv_until(bob_socket, lambda e: e.type == "ack")
        assert await status_of(session, bob) == 200
        assert await status_of(session, root) == 200


# A user's own sessions ---------------------------------------------------------


async def test_sessions_are_listed_with_an_opaque_id_and_the_agent_that_signed_in(
    server: ChatServer,
) -> None:
    first = await register(server, "bob")
    async with http(server) as session:
        _, body = await login(session, **{"User-Agent": "  Chat Desktop/0.1 (Linux)  "})
        second = body["token"]
        await login(session, **{"User-Agent": "A" * 5000})
        async with session.get("/api/v1/sessions", headers=bearer(second)) as response:
            assert response.status == 200
            listed = (await response.json())["sessions"]
        async with session.get("/api/v1/sessions", headers=bearer(first)) as response:
            seen_by_first = (await response.json())["sessions"]
    assert [set(s) for s in listed] == [{"id", "created", "last_used", "current", "agent"}] * 3
    assert [s["current"] for s in listed] == [False, True, False]
    assert [s["current"] for s in seen_by_first] == [True, False, False]
    assert listed[1]["agent"] == "Chat Desktop/0.1 (Linux)"
    assert listed[2]["agent"] == "A" * 200
    assert listed[0]["agent"].startswith("Python")  # aiohttp's own User-Agent at register
    for entry in listed:
        rules.parse_ts(entry["created"])
        assert entry["last_used"] >= entry["created"]
        assert entry["id"] not in (first, second) and entry["id"] not in first + second


async def test_ending_one_session_closes_its_socket_and_poll_and_spares_the_others(
    server: ChatServer,
) -> None:
    first = await register(server, "bob")
    alice = await register(server, "alice")
    async with http(server) as session:
        _, body = await login(session)
        second = body["token"]
        async with session.get("/api/v1/sessions", headers=bearer(second)) as response:
            listed = (await response.json())["sessions"]
        [first_id] = [s["id"] for s in listed if not s["current"]]
        async with joined(server, first) as first_socket:
            poll = await waiting_poll(server, session, first)
            # Someone else's session is not theirs to end, and says nothing of it.
            async with session.delete(
                f"/api/v1/sessions/{first_id}", headers=bearer(alice)
            ) as response:
                assert response.status == 404
            assert await status_of(session, first) == 200
            async with session.delete(
                f"/api/v1/sessions/{first_id}", headers=bearer(second)
            ) as response:
                assert response.status == 204
            assert await closed_with(first_socket) == CloseCode.UNAUTHORIZED
            assert await asyncio.wait_for(poll, 10) == 401
        assert await status_of(session, first) == 401
        assert await status_of(session, second) == 200
        async with session.delete(
            f"/api/v1/sessions/{first_id}", headers=bearer(second)
        ) as response:
            assert response.status == 404


async def test_ending_all_other_sessions_keeps_only_the_askers(server: ChatServer) -> None:
    tokens = [await register(server, "bob")]
    async with http(server) as session:
        for _ in range(2):
            tokens.append((await login(session))[1]["token"])
        current = tokens[1]
        async with joined(server, tokens[0]) as other, joined(server, current) as mine:
            async with session.delete("/api/v1/sessions", headers=bearer(current)) as response:
                assert response.status == 400  # without ?others=1: nothing ended
            assert await status_of(session, tokens[0]) == 200
            async with session.delete(
                "/api/v1/sessions?others=1", headers=bearer(current)
            ) as response:
                assert response.status == 204
            assert await closed_with(other) == CloseCode.UNAUTHORIZED
            await mine.send(message_frame("still signed in"))
            await recv_until(mine, lambda e: e.type == "ack")
        assert [await status_of(session, token) for token in tokens] == [401, 200, 401]
        async with session.get("/api/v1/sessions", headers=bearer(current)) as response:
            assert [s["current"] for s in (await response.json())["sessions"]] == [True]


async def test_changing_the_password_ends_the_other_sessions(server: ChatServer) -> None:
    other = await register(server, "bob")
    async with http(server) as session:
        current = (await login(session))[1]["token"]
        async with joined(server, other) as other_socket:
            for body, status, code in (
                ({"old": "not my password", "new": NEW_PASSWORD}, 403, "wrong_password"),
                ({"old": PASSWORD, "new": "short"}, 400, "bad_request"),
                ({"old": PASSWORD}, 400, "bad_request"),
            ):
                async with session.post(
                    "/api/v1/password", json=body, headers=bearer(current)
                ) as response:
                    assert (response.status, (await response.json())["code"]) == (status, code)
            assert await status_of(session, other) == 200
            async with session.post(
                "/api/v1/password",
                json={"old": PASSWORD, "new": NEW_PASSWORD},
                headers=bearer(current),
            ) as response:
                assert response.status == 204
            assert await closed_with(other_socket) == CloseCode.UNAUTHORIZED
        assert await status_of(session, other) == 401
        assert await status_of(session, current) == 200
        assert (await login(session))[0] == 401
        assert (await login(session, NEW_PASSWORD))[0] == 200


# Expiry and the cost of checking a token ------------------------------------------


def age_sessions(server: ChatServer, days: float) -> None:
    """Make every session look unused for ``days`` (as if the user had been away)."""
    then = rules.format_ts(datetime.now(UTC) - timedelta(days=days))
    with sqlite.connect(server.config.data_dir / "chat.sqlite3") as db:
        db.execute("UPDATE tokens SET created = ?, last_used = ?", (then, then))
    db.close()


def stored_sessions(server: ChatServer) -> int:
    with sqlite.connect(server.config.data_dir / "chat.sqlite3") as db:
        (count,) = db.execute("SELECT COUNT(*) FROM tokens").fetchone()
    db.close()
    return int(count)


async def test_a_session_unused_for_session_days_stops_working_and_is_deleted(
    server_config: ServerConfig,
) -> None:
    server_config.session_days = 30
    server_config.session_upkeep_seconds = 0.05
    async with running(server_config) as server:
        stale = await register(server, "bob")
        await register(server, "alice")
        async with http(server) as session:
            age_sessions(server, 29)
            assert await status_of(session, stale) == 200  # and this use renews it
            age_sessions(server, 31)
            assert await status_of(session, stale) == 401
            async with connect(ws_url(server)) as ws:
                await ws.send(json.dumps({"type": "hello", "token": stale}))
                assert await closed_with(ws) == CloseCode.UNAUTHORIZED
            await eventually(lambda: stored_sessions(server) == 0)
            fresh = (await login(session))[1]["token"]
            assert await status_of(session, fresh) == 200


async def test_a_socket_keeps_its_session_alive_while_connected(
    server_config: ServerConfig,
) -> None:
    server_config.session_upkeep_seconds = 0.05
    async with running(server_config) as server:
        token = await register(server, "bob")
        async with joined(server, token):
            age_sessions(server, 31)
            await eventually(lambda: stored_sessions(server) == 1 and not _aged(server))
        async with http(server) as session:
            assert await status_of(session, token) == 200


def _aged(server: ChatServer) -> bool:
    with sqlite.connect(server.config.data_dir / "chat.sqlite3") as db:
        (last_used,) = db.execute("SELECT last_used FROM tokens").fetchone()
    db.close()
    return bool(rules.parse_ts(last_used) < datetime.now(UTC) - timedelta(days=1))


async def test_checking_a_token_writes_nothing_until_the_touch_interval_passed(
    server: ChatServer,
) -> None:
    token = await register(server, "bob")
    store = server.service.store
    async with http(server) as session:
        commits = store.commits
        for _ in range(20):
            assert await status_of(session, token) == 200
        assert store.commits == commits
        server.config.session_touch_seconds = 0
        age_sessions(server, 2)
        assert await status_of(session, token) == 200
        assert store.commits > commits
        assert not _aged(server)


def test_the_cli_takes_the_session_lifetime(tmp_path: Any) -> None:
    args = cli.build_parser().parse_args(["--session-days", "7", "--data-dir", str(tmp_path)])
    assert cli.config_from(args).session_days == 7
    assert cli.config_from(cli.build_parser().parse_args([])).session_days == 30
    for wrong in ("0", "-1", "nan", "soon"):
        with pytest.raises(SystemExit):
            cli.build_parser().parse_args(["--session-days", wrong])


# Password hashes ------------------------------------------------------------------


async def test_a_first_release_password_hash_is_upgraded_to_argon2id_at_login(
    server: ChatServer,
) -> None:
    store = server.service.store
    await store.create_user("bob", scrypt_hash(PASSWORD))
    async with http(server) as session:
        assert (await login(session, "wrong password"))[0] == 401
        credentials = await store.credentials("bob")
        assert credentials is not None and credentials.password_hash.startswith("scrypt$")
        assert (await login(session))[0] == 200
        credentials = await store.credentials("bob")
        assert credentials is not None
        assert credentials.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert (await login(session))[0] == 200
        assert (await login(session, "wrong password"))[0] == 401
