"""A backlog drains into the server's rate limit: stored in the order written, once each.

The desktop client's outbox pipelines its writes. With a backlog larger than
the rate limit's burst, the server refuses the surplus with ``rate_limited``;
if a token refilled between two frames, a younger message used to slip in
while an older one waited. Here a real server with a small limit (10 writes
a second, bursts of 5) receives 30 messages written offline, with an edit,
a reaction or a delete of most of them interleaved (aimed at them while
they are still in the outbox), over the socket and over HTTP polling (a
proxy that strips the WebSocket upgrade). The server's log must be exactly
what was written, in that order: each message once, each write right after
the message it aims at.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from chat_protocol import Limits
from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from tests.client.proxy import ReverseProxy
from tests.reliability.clients import HeadlessClient, fast_link_factory, server_log
from tests.reliability.crash_client import action
from tests.server.wire import make_users
from tests.waiting import eventually

COUNT = 30
# Small enough that the backlog meets the limit many times, fast enough to drain in seconds.
LIMITS = Limits(messages_per_second=40, message_burst=3)
# Where nothing listens: the client is offline while it writes.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
async def limited(server_config: ServerConfig) -> AsyncIterator[ChatServer]:
    server = ChatServer(dataclasses.replace(server_config, limits=LIMITS))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def write_offline(token: str, cache_file: Path, *, mixed: bool) -> list[tuple[str, str]]:
    """Write COUNT messages (and most an action) while offline; the log they must make,
    as (kind, client_id of the message) in the order written."""
    client = HeadlessClient("ann", NOWHERE, token, cache_file).open()
    expected: list[tuple[str, str]] = []
    for k in range(COUNT):
        entry = client.c.send("general", f"ann #{k}")
        assert entry is not None
        expected.append(("message", entry.client_id))
        if not mixed:
            continue
        if action(k) == "edit":
            client.c.edit(entry, f"ann #{k} edited")
        elif action(k) == "react":
            client.c.react(entry, "👍", True)
        elif action(k) == "delete":
            client.c.delete(entry)
        if action(k):
            expected.append((action(k), entry.client_id))
    assert len(client.outbox()) == len(expected)
    await client.close()
    return expected


def logged(db_file: Path) -> list[tuple[str, str]]:
    """The room's log as (kind, client_id of the message it is or aims at)."""
    log = server_log(db_file)
    message_at = {row[0]: row[3] for row in log if row[1] == "message"}
    return [
        (kind, cid if kind == "message" else message_at.get(target or 0, "?"))
        for _, kind, _, cid, target in log
    ]


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["socket", "http"])
@pytest.mark.parametrize("mixed", [False, True], ids=["messages", "mixed"])
async def test_a_backlog_drains_into_the_rate_limit_in_the_order_written(
    limited: ChatServer, tmp_path: Path, qapp: QApplication, transport: str, mixed: bool
) -> None:
    tokens = await make_users(limited, ["ann"])
    cache_file = tmp_path / "ann.sqlite3"
    db_file = limited.config.data_dir / "chat.sqlite3"
    expected = await write_offline(tokens["ann"], cache_file, mixed=mixed)

    proxy = ReverseProxy(limited.base_url)
    url = limited.base_url
    if transport == "http":
        await proxy.start()
        url = proxy.base_url
    factory = fast_link_factory(ws_retry_interval=60.0, poll_wait=1.0)
    client = HeadlessClient("ann", url, tokens["ann"], cache_file, factory).open()
    try:
        await eventually(lambda: not client.outbox(), "the backlog is delivered", within=60)
        assert client.failed == {}
        assert logged(db_file) == expected
    finally:
        await client.close()
        if transport == "http":
            await proxy.stop()
