"""The server is killed with SIGKILL in the middle of a burst and restarted on its data.

Twenty headless desktop clients (the real controller, link and cache; see
:mod:`tests.reliability.clients`) each write 150 messages, 3,000 in all,
paced just under the contract's rate limit, to the real server process. A
third of the way in, the server gets SIGKILL: no shutdown, no flush.

The kill lands inside a commit by construction, not by timing (on a fast
machine the server acks a whole burst within milliseconds): the server runs
with ``ServerConfig.hold_commits_while`` pointing at a file this test creates
as it hands a burst to the clients. The writer then commits that burst's
writes and stops before acknowledging them (writes that arrive meanwhile
queue behind it); the test waits until the server says it holds, and kills
it. So at the kill some messages are certainly stored but not acked, and
each client's outbox says what it has not heard back about. The server
comes back on the same port and data (without the hold), the clients keep
writing, and at the end:

- everything a client had been told was stored is in the server's file with
  the seq it had then (nothing acked was lost);
- everything else was sent again with the same client_id and is stored once,
  including the messages the server had committed but not yet acknowledged;
- the server's file, its HTTP history and every client's cache agree on every
  message: no hole, no duplicate, no reordering, each author's messages in
  the order written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from tests.conftest import ServerProcess
from tests.reliability.clients import (
    HeadlessClient,
    all_caught_up,
    check_one_room,
    history_over_http,
    register,
    server_messages,
)
from tests.waiting import eventually

SENDERS = 20
PER_SENDER = 150
# Each sender writes BURST messages at once every PERIOD seconds: 8 a second,
# under the 10/s limit even when the outbox holds what was written while the
# server was down (its burst allowance is 20).
BURST = 3
PERIOD = 0.375


@pytest.fixture
def held_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    """The server process, whose writer holds each commit unacked while the file exists."""
    hold = tmp_path / "hold-commits"
    server = ServerProcess(
        data_dir=tmp_path / "server-data",
        module="tests.reliability.limited_server",
        extra_args=["--hold-commits-while", str(hold)],
    )
    server.start()
    try:
        yield server, hold
    finally:
        hold.unlink(missing_ok=True)  # else the writer would keep SIGTERM waiting
        server.stop()


@pytest.mark.slow
async def test_sigkill_mid_burst_loses_no_acked_message_and_stores_each_retry_once(
    held_server: tuple[ServerProcess, Path], tmp_path: Path, qapp: QApplication
) -> None:
    # qapp: PySide6 crashes (a refcount error) when QObject signals carry
    # lists with no Q(Core)Application in the process; the app always has one.
    server_process, hold = held_server
    url = server_process.url
    db_file = server_process.data_dir / "chat.sqlite3"
    names = [f"sender{k:02d}" for k in range(SENDERS)]
    tokens = await asyncio.gather(*(register(url, name) for name in names))
    clients = [
        HeadlessClient(name, url, token, tmp_path / f"{name}.sqlite3").open()
        for name, token in zip(names, tokens, strict=True)
    ]
    try:
        await eventually(
            lambda: all(c.c.status.kind.value == "connected" for c in clients),
            "all connected",
            within=20,
        )

        total = SENDERS * PER_SENDER
        killed = asyncio.Event()

        async def write_bursts() -> None:
            for start in range(0, PER_SENDER, BURST):
                for client in clients:
                    for k in range(start, start + BURST):
                        client.send(f"{client.username} #{k}")
                if not killed.is_set() and start >= PER_SENDER // 3:
                    # This burst has not left the clients yet (they send when
                    # the loop turns): its commit is certain to find the file.
                    hold.touch()
                    await eventually(
                        lambda: any(
                            "holding a committed batch" in line for line in server_process.output
                        ),
                        "the server's writer holds a commit unacknowledged",
                    )
                    server_process.kill()
                    hold.unlink()  # the restarted server must not hold
                    killed.set()
                await asyncio.sleep(PERIOD)

        writer = asyncio.create_task(write_bursts())
        await killed.wait()
        acked_at_kill = {c.username: c.acknowledged() for c in clients}
        unacked_at_kill = {c.username: set(c.outbox()) for c in clients}
        stored_at_kill = server_messages(db_file)
        stored_ids = {row[2]: row[0] for row in stored_at_kill}
        # Durable before acked: every message a client saw acknowledged is on disk.
        for name, acked in acked_at_kill.items():
            missing = acked - stored_ids.keys()
            assert not missing, f"{name}: {len(missing)} acked messages are not in the file"
        committed_not_acked = sum(len(ids & stored_ids.keys()) for ids in unacked_at_kill.values())
        print(
            f"at kill: stored {len(stored_at_kill)}, acked "
            f"{sum(map(len, acked_at_kill.values()))}, in outboxes "
            f"{sum(map(len, unacked_at_kill.values()))} "
            f"(of which already committed: {committed_not_acked})"
        )
        # The held batch: stored, and no client has heard so. Each must be stored once.
        assert committed_not_acked > 0, "the held commit was not in the file, or was acked"

        server_process.start()
        await writer
        await eventually(
            lambda: all_caught_up(clients, total), "every client has everything", within=60
        )
        assert all(not c.failed for c in clients), [c.failed for c in clients if c.failed]

        on_disk = server_messages(db_file)
        check_one_room(on_disk, {c.username: c.written for c in clients})
        seq_of = {row[2]: row[0] for row in on_disk}
        assert all(seq_of[cid] == seq for cid, seq in stored_ids.items()), "a stored seq moved"
        assert await history_over_http(url, tokens[0]) == on_disk
        for client in clients:
            assert await client.paged_history() == on_disk, f"{client.username}'s history differs"
    finally:
        await asyncio.gather(*(c.close() for c in clients))
