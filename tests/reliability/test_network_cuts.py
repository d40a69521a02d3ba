"""Clients chat through a proxy that drops, stalls and blackholes their connections.

Eight headless desktop clients (real controller, link and cache) talk to the
real server through :class:`~tests.reliability.chaos_proxy.ChaosProxy`, in
two rooms, while a seeded storm breaks their connections for a fixed time.
Keepalive is shortened on both sides (a blackhole is only noticed by it),
and the rate limit is lifted so that every refusal is the network's doing.
When the storm is over, every client's history of every room must equal the
server's file exactly: no hole, no duplicate, no reordering, each author's
messages in the order written. Version 2: the same with edits, reactions
and deletes in the mix, each applied exactly once, and every client showing
each message in the server's current state.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from tests.reliability.chaos_proxy import ChaosProxy, chaos_proxy
from tests.reliability.clients import (
    HeadlessClient,
    check_one_log,
    check_one_room,
    clients_with_quick_keepalive,
    every_room_caught_up,
    server_log,
    server_messages,
    states_over_http,
    states_shown,
)
from tests.reliability.crash_client import action
from tests.server.wire import make_users, running
from tests.waiting import eventually

SEED = 20261127
CLIENTS = 8
PER_CLIENT = 80
ROOMS = ("general", "random")
STORM_SECONDS = 8.0


@dataclass
class ChatBehindTheProxy:
    """The server, and its users connected through the chaos proxy (still calm)."""

    server: ChatServer
    # The server's SQLite file: the referee for what was stored.
    db_file: Path
    tokens: dict[str, str]
    proxy: ChaosProxy
    clients: list[HeadlessClient]

    async def write_through_the_storm(
        self, write: Callable[[HeadlessClient], Awaitable[None]]
    ) -> None:
        """Every client runs ``write`` while the storm breaks the links; returns when
        both the writing and the storm are over."""
        storm = asyncio.create_task(self.proxy.storm(STORM_SECONDS))
        await asyncio.gather(*(write(c) for c in self.clients))
        await storm


@asynccontextmanager
async def chat_behind_the_proxy(
    server_config: ServerConfig, tmp_path: Path, count: int
) -> AsyncIterator[ChatBehindTheProxy]:
    """``count`` users (user0, user1, ...) in both rooms, each connected through the proxy."""
    limits = {"messages_per_second": 1000, "message_burst": 1000, "ping_interval": 1.0}
    async with running(server_config, **limits) as server:
        await server.service.create_room("random", "user0")
        names = [f"user{k}" for k in range(count)]
        tokens = await make_users(server, names)
        async with chaos_proxy(server.port, SEED) as proxy:
            clients = clients_with_quick_keepalive(names, proxy.base_url, tokens, tmp_path)
            for client in clients:
                client.open()
            try:
                await eventually(
                    lambda: all(c.c.status.kind.value == "connected" for c in clients),
                    "all connected",
                    within=20,
                )
                db_file = server_config.data_dir / "chat.sqlite3"
                yield ChatBehindTheProxy(server, db_file, tokens, proxy, clients)
            finally:
                await asyncio.gather(*(c.close() for c in clients))


@pytest.mark.slow
async def test_after_a_storm_of_drops_stalls_and_blackholes_every_history_equals_the_servers(
    server_config: ServerConfig,
    tmp_path: Path,
    qapp: QApplication,
) -> None:
    async with chat_behind_the_proxy(server_config, tmp_path, CLIENTS) as chat:
        clients, proxy = chat.clients, chat.proxy
        rng = random.Random(SEED)
        pauses = {
            c.username: [rng.uniform(0, 2 * STORM_SECONDS / PER_CLIENT) for _ in range(PER_CLIENT)]
            for c in clients
        }
        rooms = {c.username: [rng.choice(ROOMS) for _ in range(PER_CLIENT)] for c in clients}

        async def write(client: HeadlessClient) -> None:
            for k, (pause, room) in enumerate(
                zip(pauses[client.username], rooms[client.username], strict=True)
            ):
                await asyncio.sleep(pause)
                client.send(f"{client.username} #{k} in {room}", room)

        await chat.write_through_the_storm(write)

        await every_room_caught_up(clients, ROOMS)
        print(
            f"storm: {dict(proxy.actions)}, {proxy.connections} connections, "
            f"{CLIENTS * PER_CLIENT} messages; cache holes left for paging to fill: "
            f"{sum(c.holes(room) for c in clients for room in ROOMS)}"
        )
        assert proxy.actions["drop"] and proxy.actions["stall"] and proxy.actions["blackhole"]
        assert all(not c.failed for c in clients), [c.failed for c in clients if c.failed]
        for room in ROOMS:
            on_disk = server_messages(chat.db_file, room)
            check_one_room(on_disk, {c.username: c.written_in(room) for c in clients})
            for client in clients:
                shown = await client.paged_history(room)
                assert shown == on_disk, f"{client.username}: {room} differs"


MIXED_CLIENTS = 4
MIXED_PER_CLIENT = 50


@pytest.mark.slow
async def test_edits_reactions_and_deletes_through_the_storm_apply_once_everywhere(
    server_config: ServerConfig,
    tmp_path: Path,
    qapp: QApplication,
) -> None:
    """Version 2: each client edits, reacts to or deletes most of its messages right
    after writing them (often before their ack) while the storm breaks the links.
    Every write is in the server's log exactly once, and every client shows every
    message in the server's current state."""
    async with chat_behind_the_proxy(server_config, tmp_path, MIXED_CLIENTS) as chat:
        clients = chat.clients
        rng = random.Random(SEED + 1)
        writes = dict.fromkeys(ROOMS, 0)

        async def write(client: HeadlessClient) -> None:
            for k in range(MIXED_PER_CLIENT):
                await asyncio.sleep(rng.uniform(0, 2 * STORM_SECONDS / MIXED_PER_CLIENT))
                room = rng.choice(ROOMS)
                entry = client.c.send(room, f"{client.username} #{k}")
                assert entry is not None
                client.written.append(entry.client_id)
                client.room_of[entry.client_id] = room
                if action(k) == "edit":
                    client.c.edit(entry, f"{client.username} #{k} edited")
                elif action(k) == "react":
                    client.c.react(entry, "👍", True)
                elif action(k) == "delete":
                    client.c.delete(entry)
                writes[room] += bool(action(k))

        await chat.write_through_the_storm(write)

        def settled(room: str) -> bool:
            total = sum(len(c.written_in(room)) for c in clients) + writes[room]
            return all(not c.outbox() and c.position(room) >= total for c in clients)

        for room in ROOMS:
            await eventually(lambda room=room: settled(room), f"{room} settled", within=60)
        assert all(not c.failed for c in clients), [c.failed for c in clients if c.failed]
        for room in ROOMS:
            log = server_log(chat.db_file, room)
            check_one_log(log, {c.username: c.written_in(room) for c in clients}, writes[room])
            state = await states_over_http(chat.server.base_url, chat.tokens["user0"], room)
            for client in clients:
                shown = states_shown(await client.paged_entries(room))
                assert shown == state, f"{client.username}: {room} differs"
