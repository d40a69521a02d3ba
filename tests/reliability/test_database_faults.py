"""Database trouble on the server: the sender hears an error, never an ack, and all recovers.

- **Locked**: another connection holds ``BEGIN EXCLUSIVE`` on the server's
  SQLite file (a backup tool, an operator's ``sqlite3`` shell). The server
  runs in-process with a short lock timeout.
- **Disk full**: the real ``chat-server`` process gets a file-size limit
  (``RLIMIT_FSIZE``) just above its database files, so that the next write
  fails as on a full disk (EFBIG; SQLite reports "database or disk is full";
  CPython ignores SIGXFSZ, so the process lives on). Then the limit is lifted.
- **Read-only**: the database file and its write-ahead log get the
  immutable attribute (``chattr +i``), which refuses every write, root's
  included, even through files that are already open (EPERM; SQLite reports
  an I/O error). File permissions would not do: root ignores them. Skipped
  where ``chattr`` is missing or refused (not root, a file system without
  the attribute).

In each, a client sends messages through the fault: every message answered
``ack`` is in the file, every one refused is not (until it is sent again with
the same client_id once the fault is gone, and then it is stored once), no
other connection hears of a refused one, and the server keeps serving.
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from chat_protocol import Ack, Error, HistoryPage, Message
from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from chat_server.storage import open_store
from tests.conftest import ServerProcess
from tests.reliability.clients import history_over_http, register, server_messages
from tests.server.wire import hello, make_users, recv, recv_until, ws_url
from tests.sqlite_driver import sqlite


@contextlib.contextmanager
def exclusive_lock(db_file: Path) -> Iterator[None]:
    """Hold an exclusive transaction on ``db_file`` from another connection."""
    connection = sqlite.connect(db_file, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


async def send_and_answer(ws: ClientConnection, client_id: str, text: str) -> Ack | Error:
    """Send one message; return the server's ack or error for it."""
    await ws.send(
        json.dumps({"type": "message", "room": "general", "client_id": client_id, "text": text})
    )
    answer = await recv_until(
        ws,
        lambda e: (
            (isinstance(e, Ack) and e.client_id == client_id)
            or (isinstance(e, Error) and e.ref == client_id)
        ),
    )
    assert isinstance(answer, Ack | Error)
    return answer


async def through_a_fault(
    server: ChatServer,
    refused: list[str],
    fault: contextlib.AbstractContextManager[None],
    meanwhile: Callable[[ClientConnection], Awaitable[None]] | None = None,
) -> None:
    """A writer sends ``refused`` while ``fault`` lasts, then again after it; a reader listens.

    During the fault each message gets ``unavailable``, never an ack, and the
    file holds only what came before; ``meanwhile`` runs then too. After it,
    the same client_ids are stored once each, with no gap in the seqs, and
    the reader heard exactly the stored messages.
    """
    db_file = server.config.data_dir / "chat.sqlite3"
    tokens = await make_users(server, ["writer", "reader"])
    async with (
        connect(ws_url(server), max_queue=None) as writer,
        connect(ws_url(server), max_queue=None) as reader,
    ):
        await hello(writer, tokens["writer"])
        await hello(reader, tokens["reader"])
        assert isinstance(await send_and_answer(writer, "before", "before"), Ack)

        with fault:
            for client_id in refused:
                answer = await send_and_answer(writer, client_id, client_id)
                assert isinstance(answer, Error), answer
                assert answer.code == "unavailable" and answer.message
            if meanwhile is not None:
                await meanwhile(writer)
        assert [row[2] for row in server_messages(db_file)] == ["before"]

        for client_id in refused:
            assert isinstance(await send_and_answer(writer, client_id, client_id), Ack)
        heard = [await recv(reader) for _ in range(1 + len(refused))]
        assert [e.client_id for e in heard if isinstance(e, Message)] == ["before", *refused]
    stored = server_messages(db_file)
    assert [row[2] for row in stored] == ["before", *refused]
    assert [row[0] for row in stored] == list(range(1, len(stored) + 1))


async def test_a_locked_database_refuses_with_an_error_never_an_ack_and_recovers(
    server_config: ServerConfig,
) -> None:
    async def history_still_served(writer: ClientConnection) -> None:
        await writer.send(json.dumps({"type": "history", "room": "general", "limit": 10}))
        page = await recv_until(writer, lambda e: isinstance(e, HistoryPage))
        assert isinstance(page, HistoryPage)
        assert [m.text for m in page.messages] == ["before"]

    server = ChatServer(server_config, store=open_store(server_config, lock_timeout=0.3))
    await server.start()
    try:
        refused = [f"during-{k}" for k in range(5)]
        lock = exclusive_lock(server_config.data_dir / "chat.sqlite3")
        await through_a_fault(server, refused, lock, meanwhile=history_still_served)
    finally:
        await server.stop()


def _files(data_dir: Path) -> list[Path]:
    return [p for p in data_dir.iterdir() if p.name.startswith("chat.sqlite3")]


@contextlib.contextmanager
def read_only(files: list[Path]) -> Iterator[None]:
    """Make ``files`` immutable (no writes, root's included) for the block."""
    names = [str(path) for path in files]
    try:
        subprocess.run(["chattr", "+i", *names], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot make files immutable here: {exc}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *names], check=True, capture_output=True)


async def test_a_read_only_database_refuses_with_an_error_never_an_ack_and_recovers(
    server_config: ServerConfig, caplog: pytest.LogCaptureFixture
) -> None:
    server = ChatServer(server_config)
    await server.start()
    db_file = server_config.data_dir / "chat.sqlite3"
    try:
        # The database and its log, not the shared-memory index: SQLite maps
        # that file, and a write to a mapped immutable page is SIGBUS, a fault
        # of the test's making rather than of a read-only disk.
        fault = read_only([db_file, db_file.with_name("chat.sqlite3-wal")])
        await through_a_fault(server, [f"read-only-{k}" for k in range(3)], fault)
    finally:
        await server.stop()
    # The operator's log names the database's error, not the failed rollback
    # that followed it.
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert failures and not [text for text in failures if "cannot rollback" in text]


@pytest.mark.slow
async def test_a_full_disk_refuses_with_an_error_never_an_ack_and_recovers(
    tmp_path: Path,
) -> None:
    server = ServerProcess(data_dir=tmp_path / "server-data", extra_args=["--no-discovery"])
    url = server.start()
    try:
        token = await register(url, "writer")
        assert server.proc is not None
        pid = server.proc.pid
        async with connect(url.replace("http://", "ws://") + "/ws", max_queue=None) as ws:
            await hello(ws, token)
            acked: list[str] = []
            refused: list[str] = []
            assert isinstance(await send_and_answer(ws, "first", "first"), Ack)
            acked.append("first")
            largest = max(p.stat().st_size for p in _files(server.data_dir))
            # Room for a few pages more, then every growing write fails.
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (largest + 24576, resource.RLIM_INFINITY))
            try:
                # Few enough that, with their retries, they stay inside the burst of 20.
                for k in range(8):
                    client_id = f"full-{k}-{uuid.uuid4().hex[:6]}"
                    answer = await send_and_answer(ws, client_id, "x" * 2000)
                    if isinstance(answer, Ack):
                        acked.append(client_id)
                    else:
                        assert answer.code == "unavailable", answer
                        refused.append(client_id)
                on_disk = [row[2] for row in server_messages(server.data_dir / "chat.sqlite3")]
                assert on_disk == acked, "what was acked is not what is stored"
            finally:
                resource.prlimit(
                    pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
                )
            print(f"disk full: {len(acked) - 1} acked, {len(refused)} refused")
            assert refused, "the file-size limit refused nothing: nothing was tested"
            for client_id in refused:
                assert isinstance(await send_and_answer(ws, client_id, "x" * 2000), Ack)
        stored = server_messages(server.data_dir / "chat.sqlite3")
        assert [row[2] for row in stored] == acked + refused
        assert [row[0] for row in stored] == list(range(1, len(stored) + 1))
        assert await history_over_http(url, token) == stored
    finally:
        assert server.stop() == 0, "".join(server.output)
