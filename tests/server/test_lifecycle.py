"""Starting and stopping: the in-process server, the `chat-server` process, admin commands."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chat_desktop.protocol import Message
from chat_server.app import ChatServer
from chat_server.config import ServerConfig, default_data_dir
from tests.conftest import ServerProcess
from tests.server.wire import (
    PASSWORD,
    bearer,
    hello,
    joined,
    make_users,
    message_frame,
    recv,
    recv_until,
    register,
    wait_until,
    ws_url,
)


async def test_port_zero_binds_a_free_port_and_base_url_reaches_it(
    server_config: ServerConfig,
) -> None:
    server = ChatServer(server_config)
    await server.start()
    try:
        assert server.port > 0 and server.base_url == f"http://127.0.0.1:{server.port}"
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{server.base_url}/api/v1/health") as response,
        ):
            assert response.status == 200
    finally:
        await server.stop()


async def test_stop_closes_sockets_with_1001_after_sending_what_was_queued(
    server_config: ServerConfig,
) -> None:
    server = ChatServer(server_config)
    await server.start()
    try:
        tokens = await make_users(server, ["alice", "bob"])
        async with (
            joined(server, tokens["alice"]) as alice,
            connect(ws_url(server), max_queue=None) as bob,
        ):
            await hello(bob, tokens["bob"])
            await alice.send(message_frame("last words"))
            await recv_until(alice, lambda e: e.type == "ack")
            await server.stop()
            got = await recv_until(bob, lambda e: isinstance(e, Message))
            assert isinstance(got, Message) and got.text == "last words"
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await recv(bob)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    finally:
        await server.stop()


async def test_stop_answers_a_waiting_long_poll(server_config: ServerConfig) -> None:
    server = ChatServer(server_config)
    await server.start()
    try:
        tokens = await make_users(server, ["alice"])
        async with aiohttp.ClientSession(base_url=server.base_url) as session:
            path = "/api/v1/events?since=general:0"
            async with session.get(path, headers=bearer(tokens["alice"])):
                pass  # the first poll answers at once

            async def long_poll() -> int:
                async with session.get(f"{path}&wait=30", headers=bearer(tokens["alice"])) as r:
                    return r.status

            waiting = asyncio.create_task(long_poll())
            await wait_until(lambda: server.service.hub.polls_waiting == 1)
            await server.stop()
            assert await asyncio.wait_for(waiting, 10) == 200
    finally:
        await server.stop()


async def test_a_restarted_server_keeps_accounts_and_history(server_config: ServerConfig) -> None:
    first = ChatServer(server_config)
    await first.start()
    try:
        token = await register(first, "alice")
        async with joined(first, token) as ws:
            await ws.send(message_frame("persisted"))
            await recv_until(ws, lambda e: e.type == "ack")
    finally:
        await first.stop()
    second = ChatServer(server_config)
    await second.start()
    try:
        async with joined(second, token, since={"general": 0}) as ws:
            replayed = await recv(ws)
        assert isinstance(replayed, Message) and replayed.text == "persisted"
    finally:
        await second.stop()


def test_the_default_data_dir_is_the_users_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "chat-server"
    assert ServerConfig().data_dir == tmp_path / "chat-server"


# The chat-server process -------------------------------------------------------


async def test_the_cli_serves_and_exits_0_on_sigterm(server_process: ServerProcess) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server_process.url}/api/v1/health") as response,
    ):
        assert response.status == 200
    assert server_process.stop() == 0
    output = "".join(server_process.output)
    assert f"listening on http://127.0.0.1:{server_process.port}" in output
    assert "stopped" in output


async def test_the_cli_logs_connects_and_disconnects_but_never_message_text(
    server_process: ServerProcess,
) -> None:
    async with aiohttp.ClientSession(base_url=server_process.url) as session:
        async with session.post(
            "/api/v1/register", json={"username": "alice", "password": PASSWORD}
        ) as response:
            token = (await response.json())["token"]
        async with connect(server_process.url.replace("http", "ws") + "/ws") as ws:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            await ws.recv()
            await ws.send(message_frame("a secret text"))
            await ws.recv()
    assert server_process.stop() == 0
    output = "".join(server_process.output)
    assert "connect alice from 127.0.0.1:" in output
    assert "disconnect alice from 127.0.0.1:" in output
    assert "a secret text" not in output and token not in output


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chat_server", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_a_user_added_by_the_operator_can_log_in(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    added = run_cli("user", "add", "carol", "--data-dir", data, stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    server = ServerProcess(data_dir=tmp_path / "data", extra_args=["--no-registration"])
    server.start()
    try:
        async with aiohttp.ClientSession(base_url=server.url) as session:
            credentials = {"username": "carol", "password": PASSWORD}
            async with session.post("/api/v1/login", json=credentials) as response:
                assert response.status == 200
            other = {"username": "dave", "password": PASSWORD}
            async with session.post("/api/v1/register", json=other) as response:
                assert response.status == 403
    finally:
        assert server.stop() == 0


def test_admin_commands_list_reset_and_remove_users_and_create_rooms(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert run_cli("user", "add", "bob", "--password", PASSWORD, *data).returncode == 0
    assert run_cli("user", "add", "amy", "--password", PASSWORD, *data).returncode == 0
    assert run_cli("user", "list", *data).stdout.split() == ["amy", "bob"]
    taken = run_cli("user", "add", "BOB", "--password", PASSWORD, *data)
    assert taken.returncode == 1 and "taken" in taken.stderr
    reset = run_cli("user", "reset-password", "bob", *data, stdin="another password\n")
    assert reset.returncode == 0, reset.stderr
    assert run_cli("user", "remove", "amy", *data).returncode == 0
    assert run_cli("user", "list", *data).stdout.split() == ["bob"]
    assert run_cli("user", "remove", "nobody", *data).returncode == 1
    assert run_cli("--data-dir", str(tmp_path / "data"), "room", "create", "random").returncode == 0
    bad = run_cli("room", "create", "Not Valid", *data)
    assert bad.returncode == 1 and "room name" in bad.stderr


def test_a_short_password_is_refused_by_user_add(tmp_path: Path) -> None:
    result = run_cli("user", "add", "bob", "--password", "short", "--data-dir", str(tmp_path))
    assert result.returncode == 1 and "password" in result.stderr


def test_help_describes_the_options_and_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for option in ("--host", "--port", "--data-dir", "--db", "--name", "--no-registration"):
        assert option in result.stdout
    assert "user" in result.stdout and "room" in result.stdout


def test_a_port_in_use_is_a_clear_error_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("--host", "127.0.0.1", "--port", str(port), "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "address already in use" in result.stderr.lower()
