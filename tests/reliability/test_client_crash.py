"""A desktop client is killed with messages in its outbox; its restart delivers each once.

The client runs as its own process (:mod:`tests.reliability.crash_client`:
the real controller, link and cache file) against the real server with the
contract's default limits. It writes 60 messages at once: the first 20 fit
the rate limit's burst, the rest are refused with ``rate_limited`` and wait
in the outbox to be tried again. Then the process gets SIGKILL, with acks
possibly still on the wire. The cache file must still hold the outbox; a new
client on the same file (as the app does on its next start) must deliver
every message exactly once, in the order written, with the same client_ids.

Version 2: the same with an edit, a reaction or a delete made of most
messages while they are still in the outbox (aimed at them by client_id):
after the restart each is applied exactly once, to the right message.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from chat_desktop.storage import ChatCache
from chat_server.app import ChatServer
from tests.reliability.clients import (
    HeadlessClient,
    all_caught_up,
    check_one_log,
    check_one_room,
    server_log,
    server_messages,
    states_over_http,
    states_shown,
)
from tests.reliability.crash_client import action
from tests.server.wire import make_users
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
COUNT = 60


async def written_then_killed(
    chat_server: ChatServer, token: str, cache_file: Path, *, mixed: bool = False
) -> list[str]:
    """Run the crash client until it has written COUNT messages (``mixed``: with
    edits, reactions and deletes) and the server has taken the rate limit's
    burst; kill it; return the messages' client_ids in the order written."""
    db_file = chat_server.config.data_dir / "chat.sqlite3"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.reliability.crash_client",
        chat_server.base_url,
        "crash",
        token,
        str(cache_file),
        str(COUNT),
        *(["mixed"] if mixed else []),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    written: list[str] = []
    try:
        assert child.stdout is not None
        async with asyncio.timeout(30):
            while (line := (await child.stdout.readline()).decode().strip()) != "written":
                assert line, "the client process ended early"
                written.append(line)
        # Killed once the server has taken what the burst allows, the rest still queued.
        await eventually(
            lambda: len(server_messages(db_file)) >= 20, "the burst is stored", within=20
        )
    finally:
        child.kill()
        await child.wait()
    assert len(written) == COUNT

    cache = ChatCache.open(cache_file)
    left = [entry.client_id for entry in cache.outbox()]
    cache.close()
    stored_at_kill = {row[2] for row in server_messages(db_file)}
    print(
        f"at kill: {len(stored_at_kill)} stored, {len(left)} in the outbox file "
        f"(of which already stored: {len(set(left) & stored_at_kill)})"
    )
    assert left, "the outbox was empty at the kill: nothing was tested"
    assert set(written) - set(left) <= stored_at_kill, "an acked message is not stored"
    return written


@pytest.mark.slow
async def test_messages_in_the_outbox_of_a_killed_client_are_delivered_once_after_restart(
    chat_server: ChatServer, tmp_path: Path, qapp: QApplication
) -> None:
    tokens = await make_users(chat_server, ["crash"])
    cache_file = tmp_path / "crash.sqlite3"
    db_file = chat_server.config.data_dir / "chat.sqlite3"
    written = await written_then_killed(chat_server, tokens["crash"], cache_file)

    client = HeadlessClient("crash", chat_server.base_url, tokens["crash"], cache_file)
    client.written = written
    client.open()
    try:
        await eventually(
            lambda: all_caught_up([client], COUNT), "the outbox is delivered", within=30
        )
        on_disk = server_messages(db_file)
        check_one_room(on_disk, {"crash": written})
        assert await client.paged_history() == on_disk
    finally:
        await client.close()


@pytest.mark.slow
async def test_edits_reactions_and_deletes_in_the_outbox_of_a_killed_client_apply_once(
    chat_server: ChatServer, tmp_path: Path, qapp: QApplication
) -> None:
    tokens = await make_users(chat_server, ["crash"])
    cache_file = tmp_path / "crash.sqlite3"
    db_file = chat_server.config.data_dir / "chat.sqlite3"
    written = await written_then_killed(chat_server, tokens["crash"], cache_file, mixed=True)
    writes = sum(1 for k in range(COUNT) if action(k))

    client = HeadlessClient("crash", chat_server.base_url, tokens["crash"], cache_file)
    client.written = written
    client.open()
    try:
        await eventually(
            lambda: not client.outbox() and client.position() == COUNT + writes,
            "the outbox is delivered",
            within=60,
        )
        # In the order written too: the restarted outbox drains its backlog
        # into the server's rate limit, and a refusal stops it and rewinds it
        # to the refused write, so a token that refills between two frames
        # never lets a younger message in first (see the outbox's module).
        check_one_log(server_log(db_file), {"crash": written}, writes)
        server = await states_over_http(chat_server.base_url, tokens["crash"])
        # Each message as the actions made it, on the server and in the window.
        for row in server:
            k = written.index(row[2])
            text, deleted, edited, reactions = row[3:]
            assert deleted is (action(k) == "delete")
            assert edited is (action(k) == "edit")
            assert reactions == ({"👍": ["crash"]} if action(k) == "react" else {})
            assert text == ("" if deleted else f"crash #{k}" + (" edited" if edited else ""))
        assert states_shown(await client.paged_entries()) == server
    finally:
        await client.close()
