"""Starting and stopping: the in-process server, the `chat-server` process, admin commands."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chat_protocol import Ack, Message
from chat_server import admin, cli
from chat_server.app import ChatServer, join_urls
from chat_server.config import ServerConfig, default_data_dir
from chat_server.discovery import lan_addresses
from chat_server.tls import fingerprint
from tests.conftest import ServerProcess
from tests.postgres import throwaway_database
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
    ws_url,
)
from tests.waiting import eventually


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


async def test_the_log_says_where_colleagues_can_join(
    server_config: ServerConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="chat_server.app")
    server = ChatServer(server_config)
    await server.start()
    try:
        assert f"colleagues can join at http://127.0.0.1:{server.port}" in caplog.text
    finally:
        await server.stop()


def test_a_server_on_all_interfaces_names_the_lan_addresses_not_0_0_0_0() -> None:
    # Listening on 0.0.0.0 is not an address anyone can type: the LAN ones are
    # (tests never bind 0.0.0.0, so the naming is checked on its own).
    expected = [f"https://{address}:8765" for address in lan_addresses()] or [
        "https://127.0.0.1:8765"
    ]
    assert join_urls("0.0.0.0", "https", 8765) == expected
    assert join_urls("::", "http", 1) == [
        url.replace("https", "http").replace("8765", "1") for url in expected
    ]
    assert join_urls("192.0.2.7", "http", 8765) == ["http://192.0.2.7:8765"]


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
            await eventually(lambda: server.service.hub.polls_waiting == 1, "the long poll waits")
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
    output = server_process.printed()
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
    output = server_process.printed()
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


def test_admin_commands_list_reset_and_remove_users_and_create_rooms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # In-process (cli.main is synchronous) to keep it fast; the subprocess
    # path of the same entry point is covered by the tests above.
    data = ["--data-dir", str(tmp_path / "data")]

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main([*args, *data])
        out, err = capsys.readouterr()
        return code, out, err

    assert run("user", "add", "bob", "--password", PASSWORD)[0] == 0
    assert run("user", "add", "amy", "--password", PASSWORD)[0] == 0
    assert run("user", "list")[1].split() == ["amy", "bob"]
    # A disabled account is listed as such, and plainly again once enabled.
    assert run("user", "add", "erin", "--password", PASSWORD)[0] == 0
    assert run("user", "disable", "erin")[0] == 0
    assert run("user", "list")[1].splitlines() == ["amy", "bob", "erin (disabled)"]
    assert run("user", "enable", "erin")[0] == 0
    assert run("user", "list")[1].splitlines() == ["amy", "bob", "erin"]
    assert run("user", "remove", "erin")[0] == 0
    code, _, err = run("user", "add", "BOB", "--password", PASSWORD)
    assert code == 1 and "taken" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO("another password\n"))
    assert run("user", "reset-password", "bob")[0] == 0
    assert run("user", "remove", "amy")[0] == 0
    assert run("user", "list")[1].split() == ["bob"]
    assert run("user", "remove", "nobody")[0] == 1
    code, out, _ = run("room", "create", "random")
    assert code == 0 and "created room random" in out
    code, _, err = run("room", "create", "Not Valid")
    assert code == 1 and "room name" in err
    code, _, err = run("user", "add", "carl", "--password", "short")
    assert code == 1 and "password" in err


async def test_a_reset_password_signs_the_user_out_and_the_new_one_works(
    server_config: ServerConfig,
) -> None:
    server = ChatServer(server_config)
    await server.start()
    try:
        token = await register(server, "bob")
        await admin.reset_password(server.service.store, "bob", "another password", print)
        async with aiohttp.ClientSession(base_url=server.base_url) as session:
            async with session.get("/api/v1/rooms", headers=bearer(token)) as response:
                assert response.status == 401
            body = {"username": "bob", "password": "another password"}
            async with session.post("/api/v1/login", json=body) as response:
                assert response.status == 200
    finally:
        await server.stop()


def test_help_describes_the_options_and_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for option in (
        "--host",
        "--port",
        "--data-dir",
        "--db",
        "--name",
        "--no-registration",
        "--session-days",
    ):
        assert option in result.stdout
    assert "user" in result.stdout and "room" in result.stdout


def test_every_command_and_subcommand_has_its_help_line() -> None:
    # Walks the whole argparse tree: a command added without a help line would
    # show as a bare name in `chat-server --help` (or `user --help`, ...).
    def walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, str | None]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                for name, sub in action.choices.items():
                    yield f"{path} {name}", helps.get(name)
                    yield from walk(sub, f"{path} {name}")

    found = dict(walk(cli.build_parser(), "chat-server"))
    assert "chat-server user add" in found and "chat-server room create" in found
    missing = [command for command, text in found.items() if not text]
    assert not missing, f"commands without a help line: {missing}"


def test_a_port_in_use_is_a_clear_error_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("--host", "127.0.0.1", "--port", str(port), "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "address already in use" in result.stderr.lower()


# TLS and discovery ----------------------------------------------------------------


def insecure_client_context() -> ssl.SSLContext:
    """Accept any certificate: the test compares fingerprints, as a pinning client does."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def test_with_tls_http_and_websocket_run_over_tls_with_the_printed_fingerprint(
    server_config: ServerConfig,
) -> None:
    server_config.tls = True
    server = ChatServer(server_config)
    await server.start()
    try:
        assert server.base_url.startswith("https://")
        context = insecure_client_context()
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{server.base_url}/api/v1/health", ssl=context) as response,
        ):
            assert response.status == 200
        _, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=context)
        certificate = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        await writer.wait_closed()
        assert fingerprint(certificate) == server.fingerprint
        token = (await make_users(server, ["alice"]))["alice"]
        wss = server.base_url.replace("https://", "wss://") + "/ws"
        async with connect(wss, ssl=context) as ws:
            welcome = await hello(ws, token)
        assert welcome.username == "alice"
    finally:
        await server.stop()


async def test_the_self_signed_certificate_is_kept_across_restarts(
    server_config: ServerConfig,
) -> None:
    server_config.tls = True
    prints = []
    for _ in range(2):
        server = ChatServer(server_config)
        await server.start()
        prints.append(server.fingerprint)
        await server.stop()
    assert prints[0] and prints[0] == prints[1]


async def test_an_advertising_server_announces_its_port_and_stops_announcing(
    server_config: ServerConfig,
) -> None:
    server_config.advertise = True
    server = ChatServer(server_config)
    await server.start()
    try:
        advertiser = server.advertiser
        assert advertiser is not None and await advertiser.announced()
        assert advertiser.properties()["port"] == str(server.port)
    finally:
        await server.stop()
    assert server.advertiser is None and not await advertiser.announced()


def test_the_cli_refuses_a_certificate_without_its_key(tmp_path: Path) -> None:
    result = run_cli("--port", "0", "--tls-cert", str(tmp_path / "cert.pem"),
                     "--data-dir", str(tmp_path))  # fmt: skip
    assert result.returncode == 1 and "--tls-key" in result.stderr


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for one test, dropped afterwards."""
    with throwaway_database("chat_app_test") as url:
        yield url


@pytest.mark.postgres
async def test_the_server_runs_on_postgresql(
    server_config: ServerConfig, postgres_url: str
) -> None:
    server_config.db_url = postgres_url
    for text in ("first run", "second run"):
        server = ChatServer(server_config)
        await server.start()
        try:
            tokens = await make_users(server, [f"user-{text.split()[0]}"])
            async with joined(server, next(iter(tokens.values())), since={"general": 0}) as ws:
                await ws.send(message_frame(text))
                ack = await recv_until(ws, lambda e: e.type == "ack")
        finally:
            await server.stop()
    assert isinstance(ack, Ack) and ack.seq == 2


@pytest.mark.postgres
async def test_on_postgresql_the_log_names_the_database_without_its_password(
    server_config: ServerConfig, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Not the data folder, which holds nothing of the chat then.
    caplog.set_level("INFO", logger="chat_server.app")
    server_config.db_url = postgres_url.replace("postgres@", "postgres:hunter2hunter2@")
    server = ChatServer(server_config)
    await server.start()
    await server.stop()
    database = postgres_url.replace("postgres@", "")
    assert f"(data in {database})" in caplog.text
    assert "hunter2" not in caplog.text and str(server_config.data_dir) not in caplog.text


@pytest.mark.parametrize(
    ("args", "advertise"),
    [
        ([], True),
        (["--host", "192.168.1.20"], True),
        (["--no-discovery"], False),
        (["--host", "127.0.0.1"], False),
        (["--host", "::1"], False),
        (["--host", "localhost"], False),
    ],
)
def test_the_cli_announces_the_server_unless_told_not_to_or_on_loopback(
    args: list[str], advertise: bool
) -> None:
    config = cli.config_from(cli.build_parser().parse_args(args))
    assert config.advertise is advertise


def test_a_certificate_option_turns_tls_on(tmp_path: Path) -> None:
    args = ["--tls-cert", str(tmp_path / "c.pem"), "--tls-key", str(tmp_path / "k.pem")]
    config = cli.config_from(cli.build_parser().parse_args(args))
    assert config.tls and config.tls_cert == tmp_path / "c.pem"
    assert not cli.config_from(cli.build_parser().parse_args([])).tls


def test_the_cli_exits_0_on_sigint_too(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data")
    server.start()
    assert server.proc is not None
    server.proc.send_signal(signal.SIGINT)
    try:
        assert server.proc.wait(timeout=20) == 0
    finally:
        server.stop()
    assert "stopped" in server.printed()
