"""Clients reach several chat-servers through nginx, with packaging/nginx/chat.conf.

The first tests hold with one server behind nginx: the configuration carries
a WebSocket, a long poll and a 25 MiB upload. The others need the servers
to share one chat through Redis (issue 15): a message written on one server
reaches sockets and long polls on the others, and the clients of a server
killed with SIGKILL mid-burst reconnect through nginx to another and end
with the room exactly as stored, nothing lost, nothing twice.

Each WebSocket's welcome names its server (``--name server-i``), and nginx's
access log names the upstream of every request, so the tests know which
server a client reached rather than hoping round robin spread them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PySide6.QtWidgets import QApplication
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.cluster.harness import ROOT, SITE_TEMPLATE, Cluster
from tests.cluster.nginx_fixtures import behind_nginx, session_redis
from tests.reliability.clients import (
    HeadlessClient,
    Row,
    all_caught_up,
    check_one_room,
    history_over_http,
)
from tests.waiting import eventually

pytestmark = pytest.mark.postgres
# Fixtures, imported by name so that pytest finds them here.
__all__ = ["behind_nginx", "session_redis"]

PASSWORD = "correct horse battery"
TIMEOUT = 15.0
ROOM = "general"


async def register(url: str, username: str) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url + "/api/v1/register", json={"username": username, "password": PASSWORD}
        ) as response,
    ):
        assert response.status == 201, await response.text()
        return str((await response.json())["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Session:
    """A signed-in WebSocket through nginx that records every event it receives.

    A task reads the socket from the start, so no event is skipped while a
    test waits for another kind (an ``ack`` may come after other servers'
    ``message`` events).
    """

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in self.ws:
                self.events.append(json.loads(frame))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["type"] == kind]

    async def next_of(self, kind: str, after: int = 0) -> dict[str, Any]:
        """The first event of type ``kind`` past the first ``after`` ones of that type."""
        await eventually(lambda: len(self.of(kind)) > after, f"a {kind} event", within=TIMEOUT)
        return self.of(kind)[after]

    async def send(self, text: str) -> str:
        client_id = str(uuid.uuid4())
        event = {"type": "message", "room": ROOM, "client_id": client_id, "text": text}
        await self.ws.send(json.dumps(event))
        return client_id

    async def messages(self, count: int) -> list[tuple[int, str]]:
        """Once ``count`` message events arrived: (seq, text) of each, in arrival order."""
        await eventually(
            lambda: len(self.of("message")) >= count, f"{count} messages", within=TIMEOUT
        )
        return [(int(m["seq"]), str(m["text"])) for m in self.of("message") if m["room"] == ROOM]

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


@asynccontextmanager
async def socket(url: str, token: str) -> AsyncIterator[tuple[Session, str]]:
    """A signed-in session through ``url`` (nginx) and the name of the server it reached."""
    async with connect(url.replace("http://", "ws://") + "/ws", open_timeout=TIMEOUT) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token, "since": {ROOM: 0}}))
        session = Session(ws)
        try:
            welcome = await session.next_of("welcome")
            yield session, str(welcome["server"]["name"])
        finally:
            await session.close()


async def poll(
    session: aiohttp.ClientSession, url: str, token: str, since: int, wait: int
) -> dict[str, Any]:
    params = {"since": f"{ROOM}:{since}", "wait": str(wait)}
    async with session.get(
        url + "/api/v1/events", params=params, headers=bearer(token)
    ) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def sockets_on_every_server(
    stack: AsyncExitStack, made: Cluster, tokens: list[str]
) -> dict[str, Session]:
    """One socket per server, all through nginx: connect until each server has one.

    nginx balances round robin, so consecutive connections land on different
    servers; the extra sockets stay open until the test ends.
    """
    on: dict[str, Session] = {}
    for attempt in range(4 * made.size):
        ws, name = await stack.enter_async_context(socket(made.url, tokens[attempt % len(tokens)]))
        on.setdefault(name, ws)
        if len(on) == made.size:
            return on
    raise AssertionError(f"nginx sent every socket to {sorted(on)}")


def test_the_operators_guide_shows_the_nginx_configuration_the_tests_run() -> None:
    guide = (ROOT / "docs" / "operators.md").read_text()
    assert SITE_TEMPLATE.read_text().strip() in guide


# One server behind nginx ------------------------------------------------------


async def test_a_websocket_session_works_through_nginx(
    behind_nginx: Callable[..., Cluster],
) -> None:
    made = behind_nginx(1)
    token = await register(made.url, "alice")
    async with socket(made.url, token) as (session, server):
        assert server == "server-0"
        client_id = await session.send("hello through nginx")
        ack = await session.next_of("ack")
        assert (ack["client_id"], ack["seq"]) == (client_id, 1)
        assert await session.messages(1) == [(1, "hello through nginx")]


async def test_a_long_poll_through_nginx_gets_a_message_posted_through_nginx(
    behind_nginx: Callable[..., Cluster],
) -> None:
    made = behind_nginx(1)
    alice, bob = [await register(made.url, name) for name in ("alice", "bob")]
    async with aiohttp.ClientSession() as session:
        # A token's first poll answers at once; the next one waits for news.
        await poll(session, made.url, bob, 0, 0)
        waiting = asyncio.create_task(poll(session, made.url, bob, 0, 25))
        async with session.post(
            made.url + f"/api/v1/rooms/{ROOM}/messages",
            json={"client_id": str(uuid.uuid4()), "text": "are you there?"},
            headers=bearer(alice),
        ) as posted:
            assert posted.status == 201, await posted.text()
        answer = await asyncio.wait_for(waiting, TIMEOUT)
    assert [(m["seq"], m["text"]) for m in answer["messages"]] == [(1, "are you there?")]
    assert answer["since"] == f"{ROOM}:1"


async def test_nginx_passes_a_25_mib_upload_and_leaves_the_limit_to_the_server(
    behind_nginx: Callable[..., Cluster], tmp_path: Path
) -> None:
    made = behind_nginx(1)
    token = await register(made.url, "alice")
    body = bytes(range(256)) * (25 * 2**20 // 256)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            made.url + "/api/v1/files",
            params={"name": "big.bin"},
            data=io.BytesIO(body),
            headers={**bearer(token), "Content-Type": "application/octet-stream"},
        ) as uploaded:
            assert uploaded.status == 201, await uploaded.text()
            stored = await uploaded.json()
        assert stored["sha256"] == hashlib.sha256(body).hexdigest()
        async with session.get(
            made.url + f"/api/v1/files/{stored['id']}", headers=bearer(token)
        ) as fetched:
            assert fetched.status == 200
            assert hashlib.sha256(await fetched.read()).hexdigest() == stored["sha256"]
            # server_tokens off: nginx names itself without a version.
            assert fetched.headers["Server"] == "nginx"
        # One byte more: chat-server's own 413 (JSON), not nginx's HTML page.
        async with session.post(
            made.url + "/api/v1/files",
            params={"name": "too-big.bin"},
            data=io.BytesIO(body + b"!"),
            headers={**bearer(token), "Content-Type": "application/octet-stream"},
        ) as refused:
            assert refused.status == 413
            assert refused.content_type == "application/json", await refused.text()


# Several servers: these need the servers' Redis fan-out (issue 15) ----------------


async def test_messages_written_on_each_server_reach_the_sockets_on_every_other(
    behind_nginx: Callable[..., Cluster],
) -> None:
    made = behind_nginx(3)
    tokens = [await register(made.url, name) for name in ("alice", "bob", "carol")]
    async with AsyncExitStack() as stack:
        on = await sockets_on_every_server(stack, made, tokens)
        for name, session in sorted(on.items()):
            await session.send(f"from {name}")
            await session.next_of("ack")
        expected = [(seq, f"from server-{seq - 1}") for seq in (1, 2, 3)]
        for name, session in on.items():
            assert await session.messages(3) == expected, f"the socket on {name}"


async def test_a_long_poll_hears_of_messages_written_on_another_server(
    behind_nginx: Callable[..., Cluster],
) -> None:
    made = behind_nginx(2)
    alice, bob = [await register(made.url, name) for name in ("alice", "bob")]
    count = 10
    got: list[tuple[int, str]] = []
    async with AsyncExitStack() as stack:
        on = await sockets_on_every_server(stack, made, [alice])
        session = await stack.enter_async_context(aiohttp.ClientSession())
        since = int((await poll(session, made.url, bob, 0, 0))["since"].split(":")[1])

        async def poll_until_all() -> None:
            nonlocal since
            while len(got) < count:
                answer = await poll(session, made.url, bob, since, 25)
                got.extend((m["seq"], m["text"]) for m in answer["messages"])
                since = int(answer["since"].split(":")[1])

        polling = asyncio.create_task(poll_until_all())
        for k in range(count):
            # Alternate the writers' servers: every poll has news from both.
            await on[f"server-{k % 2}"].send(f"message {k}")
        await asyncio.wait_for(polling, 30)
    assert sorted(got) == got and [seq for seq, _ in got] == list(range(1, count + 1))
    assert sorted(text for _, text in got) == sorted(f"message {k}" for k in range(count))
    # No sticky sessions: bob's polls went to both servers.
    assert len(set(made.nginx.upstreams("/api/v1/events") if made.nginx else [])) == 2


async def write_through_a_kill(made: Cluster, clients: list[HeadlessClient]) -> list[Row]:
    """Bursts from every client, server 0 killed half-way; the room once all caught up.

    8 messages/s per user, under the contract's 10: a rate-limited message is
    sent again later, after newer ones, which would blur the order checked.
    """
    per_client, burst, period = 40, 4, 0.5
    for start in range(0, per_client, burst):
        for client in clients:
            for k in range(start, start + burst):
                client.send(f"{client.username} #{k}")
        if start == per_client // 2:
            # Mid-burst: some of these are in flight to the server now killed.
            made.kill(0)
        await asyncio.sleep(period)
    total = per_client * len(clients)
    await eventually(
        lambda: all_caught_up(clients, total), "every client has everything", within=60
    )
    assert all(not c.failed for c in clients), [c.failed for c in clients if c.failed]
    stored = await history_over_http(made.url, clients[0].token)
    # Each message once, in seq order without holes, each author's in the order written.
    check_one_room(stored, {c.username: c.written for c in clients})
    for client in clients:
        assert client.history() == stored, f"{client.username}'s cache differs"
    return stored


@pytest.mark.slow
async def test_socket_clients_of_a_killed_server_reconnect_through_nginx_and_lose_nothing(
    behind_nginx: Callable[..., Cluster], tmp_path: Path, qapp: QApplication
) -> None:
    # qapp: PySide6 needs a Q(Core)Application for QObject signals carrying lists.
    made = behind_nginx(3)
    names = [f"user{k}" for k in range(6)]
    tokens = {name: await register(made.url, name) for name in names}
    clients = [
        HeadlessClient(name, made.url, tokens[name], tmp_path / f"{name}.sqlite3").open()
        for name in names
    ]
    try:
        await eventually(
            lambda: all(c.c.status.kind.value == "connected" for c in clients), "all connected"
        )
        await write_through_a_kill(made, clients)
    finally:
        await asyncio.gather(*(c.close() for c in clients))
    # Some clients really were on the killed server, and came back through nginx.
    killed = f"127.0.0.1:{made.servers[0].port}"
    assert made.nginx is not None and killed in made.nginx.upstreams("/ws")


@pytest.mark.slow
async def test_long_polling_clients_lose_nothing_when_a_server_is_killed(
    behind_nginx: Callable[..., Cluster], tmp_path: Path, qapp: QApplication
) -> None:
    # nginx refuses WebSockets here, so the apps fall back to long polling, whose
    # polls and posts nginx spreads over both servers, round robin.
    made = behind_nginx(2, refuse_websockets=True)
    names = [f"poller{k}" for k in range(4)]
    tokens = {name: await register(made.url, name) for name in names}
    clients = [
        HeadlessClient(name, made.url, tokens[name], tmp_path / f"{name}.sqlite3").open()
        for name in names
    ]
    try:
        await eventually(
            lambda: all(c.c.status.kind.value == "polling" for c in clients), "all polling"
        )
        await write_through_a_kill(made, clients)
    finally:
        await asyncio.gather(*(c.close() for c in clients))
    assert made.nginx is not None
    killed = f"127.0.0.1:{made.servers[0].port}"
    assert any(killed in upstream for upstream in made.nginx.upstreams("/api/v1/events"))
