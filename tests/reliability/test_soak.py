"""A bounded soak: many clients connect, drop, restart, send and read at random.

Twelve headless desktop clients (real controller, link and cache) chat in
three rooms through :class:`~tests.reliability.chaos_proxy.ChaosProxy`
(drops, stalls, blackholes) to the real server process, and now and then
one quits and starts again on its cache, as the app does. The CI form runs
for ``CHAT_SOAK_SECONDS`` (default 30); a longer soak is the same test with
a bigger number, e.g. ``CHAT_SOAK_SECONDS=1800 pytest tests/reliability/test_soak.py -s``.

At the end every room's history is identical on every client and in the
server's file (no hole, duplicate or reordering; each author's messages in
the order written), and the server's resident memory at the end is within
a generous bound of what it was after the warm-up (a quarter of the run).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from tests.reliability.chaos_proxy import ChaosProxy
from tests.reliability.clients import (
    HeadlessClient,
    check_one_room,
    clients_with_quick_keepalive,
    every_room_caught_up,
    register,
    server_messages,
)
from tests.reliability.limited_server import limited_server
from tests.waiting import eventually

SECONDS = float(os.environ.get("CHAT_SOAK_SECONDS", "30"))
CLIENTS = 12
ROOMS = ("general", "random", "dev")
SEED = 4242


@pytest.mark.slow
@pytest.mark.timeout(max(120, int(SECONDS * 2 + 90)))
async def test_a_soak_of_random_chatting_ends_with_identical_histories_and_flat_memory(
    tmp_path: Path, qapp: QApplication
) -> None:
    rng = random.Random(SEED)
    limits = {"messages_per_second": 1000, "message_burst": 1000, "ping_interval": 1.0}
    async with limited_server(tmp_path / "server", **limits) as server:
        names = [f"soak{k:02d}" for k in range(CLIENTS)]
        tokens = {name: await register(server.url, name) for name in names}
        proxy = ChaosProxy(server.port, SEED)
        await proxy.start()
        clients = clients_with_quick_keepalive(names, proxy.base_url, tokens, tmp_path)
        for client in clients:
            client.open()
        restarts = 0
        try:
            await eventually(
                lambda: all(c.c.status.kind.value == "connected" for c in clients),
                "all connected",
                within=20,
            )
            # Rooms come from the clients, as users would create them.
            for room in ROOMS[1:]:
                clients[0].c.create_room(room)
            await eventually(
                lambda: all(set(ROOMS) <= {r.name for r in c.c.rooms()} for c in clients),
                "every client knows every room",
                within=30,
            )
            loop = asyncio.get_running_loop()
            end = loop.time() + SECONDS
            warm_rss: list[int] = []

            async def live(client: HeadlessClient, seed: int) -> None:
                nonlocal restarts
                own = random.Random(seed)
                k = 0
                while loop.time() < end:
                    await asyncio.sleep(own.uniform(0.05, 0.6))
                    roll = own.random()
                    if roll < 0.04:
                        await client.close()
                        await asyncio.sleep(own.uniform(0.1, 1.5))
                        client.open()
                        restarts += 1
                    elif client.controller is not None:
                        for _ in range(own.randint(1, 3)):
                            client.send(f"{client.username} #{k}", own.choice(ROOMS))
                            k += 1

            async def sample_warm_rss() -> None:
                await asyncio.sleep(SECONDS / 4)
                warm_rss.append(server.rss_bytes())

            started = time.monotonic()
            storm = asyncio.create_task(proxy.storm(SECONDS))
            sampler = asyncio.create_task(sample_warm_rss())
            await asyncio.gather(*(live(c, rng.randrange(2**32)) for c in clients))
            await storm
            await sampler
            await every_room_caught_up(clients, ROOMS)
            settled = time.monotonic() - started
            end_rss = server.rss_bytes()
            total = sum(len(c.written) for c in clients)
            print(
                f"soak {SECONDS:.0f} s (+{settled - SECONDS:.1f} s to settle): {total} messages, "
                f"{restarts} client restarts, storm {dict(proxy.actions)}, "
                f"{proxy.connections} connections; server RSS after warm-up "
                f"{warm_rss[0] / 2**20:.1f} MiB, at the end {end_rss / 2**20:.1f} MiB; cache "
                f"holes left for paging: {sum(c.holes(room) for c in clients for room in ROOMS)}"
            )
            assert all(not c.failed for c in clients), [c.failed for c in clients if c.failed]
            for room in ROOMS:
                on_disk = server_messages(server.data_dir / "chat.sqlite3", room)
                check_one_room(on_disk, {c.username: c.written_in(room) for c in clients})
                for client in clients:
                    shown = await client.paged_history(room)
                    assert shown == on_disk, f"{client.username}: {room} differs"
            # Generous: growth with the stored history is fine, unbounded growth is not.
            assert end_rss < warm_rss[0] * 1.5 + 32 * 2**20
        finally:
            await asyncio.gather(*(c.close() for c in clients))
            await proxy.stop()
