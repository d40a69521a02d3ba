"""ServerLink against a scripted WebSocket peer, for what a real server never sends on demand:
frames the client cannot read, and exactly which ``hello`` arrives on each connection."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from chat_desktop.transport import Credentials, LinkKind
from chat_protocol import Message, Welcome
from tests.waiting import eventually

from .conftest import LinkFactory

WELCOME = {
    "type": "welcome",
    "protocol": 1,
    "username": "alice",
    "rooms": [{"name": "general", "last_seq": 0}],
    "online": ["alice"],
    "server": {"name": "scripted", "version": "0"},
}


def message(seq: int) -> str:
    return json.dumps(
        {
            "type": "message",
            "room": "general",
            "seq": seq,
            "client_id": f"c{seq}",
            "author": "bob",
            "text": f"m{seq}",
            "ts": "2026-11-27T10:00:00.000Z",
        }
    )


class ScriptedPeer:
    """Records each connection's hello, sends the script, and closes after it if told to."""

    def __init__(self, script: list[str | bytes], close_after: bool = False) -> None:
        self.script = script
        self.close_after = close_after
        self.hellos: list[dict[str, Any]] = []

    async def handler(self, connection: ServerConnection) -> None:
        self.hellos.append(json.loads(await connection.recv()))
        await connection.send(json.dumps(WELCOME))
        for frame in self.script:
            await connection.send(frame)
        if self.close_after:
            await connection.close(1001, "going away")
        else:
            await connection.wait_closed()


async def serve_peer(peer: ScriptedPeer) -> tuple[Server, str]:
    server = await serve(peer.handler, "127.0.0.1", 0)
    port = next(iter(server.sockets)).getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture
async def served() -> AsyncIterator[list[Server]]:
    """Servers a test starts; closed at the end."""
    servers: list[Server] = []
    try:
        yield servers
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


async def test_frames_the_client_cannot_read_are_skipped_and_the_rest_delivered(
    served: list[Server], make_link: LinkFactory
) -> None:
    peer = ScriptedPeer(
        [
            "not json at all",
            b"\xff\xfe binary garbage",
            json.dumps({"type": "from-the-future", "x": 1}),
            json.dumps({"type": "message", "room": "general"}),
            "[1, 2, 3]",
            message(1),
        ]
    )
    server, url = await serve_peer(peer)
    served.append(server)
    link, alice = make_link(url, Credentials("alice", "secret"))
    await eventually(lambda: bool(alice.of(Message)))
    assert [type(event) for event in alice.events] == [Welcome, Message]
    assert link.state.kind is LinkKind.CONNECTED


async def test_every_connection_says_hello_with_the_token_version_2_and_current_positions(
    served: list[Server], make_link: LinkFactory
) -> None:
    peer = ScriptedPeer([message(1), message(2)], close_after=True)
    server, url = await serve_peer(peer)
    served.append(server)
    make_link(url, Credentials("alice", "secret"), positions=lambda: {"random": 7})
    await eventually(lambda: len(peer.hellos) >= 2)
    assert peer.hellos[0] == {
        "type": "hello",
        "token": "secret",
        "since": {"random": 7},
        "protocol": 2,
    }
    # The second hello also covers what the first connection delivered.
    assert peer.hellos[1] == {
        "type": "hello",
        "token": "secret",
        "since": {"random": 7, "general": 2},
        "protocol": 2,
    }
