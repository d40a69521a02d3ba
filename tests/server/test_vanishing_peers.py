"""Peers that vanish mid-handshake or mid-write: ordinary, so logged quietly, and harmless.

A client that times out while the server is busy, or whose network goes,
leaves the server holding a socket that is already gone. That must not look
like a crash in the operator's log (no ERROR, no traceback), and the server
must go on serving everyone else. Every peer here is a real socket against a
real server; "vanishing" is a TCP reset (``SO_LINGER`` 0) or a plain close.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct

import pytest
from websockets.client import ClientProtocol
from websockets.uri import parse_uri

from chat_protocol import Ack, Message, UserLeave
from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from tests.server.wire import (
    RawClient,
    joined,
    make_users,
    message_frame,
    recv_until,
    running,
    ws_url,
)
from tests.waiting import eventually


def vanish(sock: socket.socket, reset: bool = True) -> None:
    """Close ``sock`` as a peer that disappears: with a TCP reset, or a plain FIN."""
    if reset:
        # Linger 0: close() sends RST at once and drops whatever was unsent.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def give_up_handshakes(server: ChatServer, count: int, reset: bool) -> None:
    """Open ``count`` sockets, send each a WebSocket upgrade request, and leave at once.

    Blocking calls on purpose: the server runs in this test's event loop,
    which cannot turn until this returns, so the server meets every request
    only after its client left, as a server that was frozen (busy, or
    stopped) while its clients timed out does when it resumes.
    """
    for _ in range(count):
        protocol = ClientProtocol(parse_uri(ws_url(server)))
        protocol.send_request(protocol.connect())
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"".join(protocol.data_to_send()))
        vanish(sock, reset)


def troubles(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the log shows as a failure: ERROR records, and any record with a traceback."""
    return [
        f"{record.levelname} {record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.ERROR or (record.exc_info and record.levelno > logging.DEBUG)
    ]


async def still_serves(server: ChatServer, token: str) -> None:
    """A new client can connect, post, and hear its message back."""
    async with joined(server, token) as ws:
        await ws.send(message_frame("still here", client_id="after"))
        assert isinstance(await recv_until(ws, lambda e: isinstance(e, Ack)), Ack)
        echo = await recv_until(ws, lambda e: isinstance(e, Message))
        assert isinstance(echo, Message) and echo.text == "still here"


@pytest.mark.parametrize("reset", [True, False], ids=["reset", "closed"])
async def test_clients_that_give_up_the_handshake_leave_no_error_in_the_log(
    chat_server: ChatServer, caplog: pytest.LogCaptureFixture, reset: bool
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = await make_users(chat_server, ["alice"])
    give_up_handshakes(chat_server, 20, reset)
    await still_serves(chat_server, tokens["alice"])
    assert not troubles(caplog), troubles(caplog)
    # The server did meet the abandoned requests, and said so quietly.
    quiet = [r for r in caplog.records if "went away during the WebSocket handshake" in r.message]
    assert quiet and all(r.levelno == logging.DEBUG for r in quiet)


async def test_a_client_that_resets_during_its_replay_leaves_no_error_in_the_log(
    chat_server: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = await make_users(chat_server, ["gone", "alice"])
    store = chat_server.service.store
    # 16 KB a message, 5 MB in all: far more than socket buffers hold, so the
    # server is still writing the replay when the client resets.
    await asyncio.gather(
        *(store.append("general", "alice", f"c-{n}", "😀" * 4000) for n in range(300))
    )
    client = await RawClient.connect(chat_server, receive_buffer=4096)
    hello = {"type": "hello", "token": tokens["gone"], "since": {"general": 0}}
    await client.send_text(json.dumps(hello))
    assert (await client.read_text())["type"] == "welcome"
    vanish(client.sock)
    await eventually(lambda: "went away during the replay" in caplog.text)
    await still_serves(chat_server, tokens["alice"])
    assert not troubles(caplog), troubles(caplog)


async def test_a_client_that_resets_with_a_backlog_leaves_no_error_in_the_log(
    server_config: ServerConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(server_config, messages_per_second=1000, message_burst=1000) as server:
        tokens = await make_users(server, ["gone", "writer"])
        client = await RawClient.connect(server, receive_buffer=4096)
        await client.send_text(json.dumps({"type": "hello", "token": tokens["gone"]}))
        assert (await client.read_text())["type"] == "welcome"
        async with joined(server, tokens["writer"]) as writer:
            # 40 messages of 16 KB: more than the sockets buffer, less than the
            # server's per-socket limit, so they wait in the server for a reader.
            for n in range(40):
                await writer.send(message_frame("😀" * 4000, client_id=f"big-{n}"))
                await recv_until(writer, lambda e: isinstance(e, Ack))
            vanish(client.sock)
            left = await recv_until(writer, lambda e: isinstance(e, UserLeave))
            assert left == UserLeave("gone")
        await still_serves(server, tokens["writer"])
    assert not troubles(caplog), troubles(caplog)
