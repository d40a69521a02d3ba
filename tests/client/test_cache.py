"""Tests of the client cache (chat_desktop.storage) on real SQLite files in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from chat_desktop.storage import (
    MIGRATIONS,
    CachedRoom,
    ChatCache,
    Migration,
    OutboxEntry,
    cache_path,
    migrate,
)
from chat_protocol import Message, RoomInfo
from tests.sqlite_driver import sqlite


def msg(room: str, seq: int, author: str = "bob", text: str | None = None) -> Message:
    return Message(
        room=room,
        seq=seq,
        client_id=f"c-{room}-{seq}",
        author=author,
        text=text if text is not None else f"text {seq}",
        ts="2026-11-27T10:00:00.000Z",
    )


def query(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Run one statement on the cache file with a separate connection (the same SQLite library)."""
    with closing(sqlite.connect(path)) as db, db:
        return db.execute(sql, params).fetchall()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return cache_path(tmp_path, "http://127.0.0.1:8765", "alice")


@pytest.fixture
def cache(path: Path) -> Iterator[ChatCache]:
    opened = ChatCache.open(path)
    try:
        yield opened
    finally:
        opened.close()


def seqs(messages: list[Message]) -> list[int]:
    return [message.seq for message in messages]


# Paths ---------------------------------------------------------------------


def test_cache_path_is_one_file_per_server_and_user(tmp_path: Path) -> None:
    paths = {
        cache_path(tmp_path, "http://a:8765", "alice"),
        cache_path(tmp_path, "http://b:8765", "alice"),
        cache_path(tmp_path, "http://a:8765", "bob"),
    }
    assert len(paths) == 3
    assert all(path.parent == tmp_path / "cache" for path in paths)


def test_cache_path_ignores_user_name_case_and_trailing_slash(tmp_path: Path) -> None:
    assert cache_path(tmp_path, "http://a:8765/", "Alice") == cache_path(
        tmp_path, "http://a:8765", "alice"
    )


# Messages ------------------------------------------------------------------


def test_save_messages_returns_only_the_new_ones(cache: ChatCache) -> None:
    cache.save_messages([msg("general", 1), msg("general", 2)])
    new = cache.save_messages([msg("general", 2), msg("general", 3)])
    assert seqs(new) == [3]
    assert seqs(cache.latest("general", 10)) == [1, 2, 3]


def test_a_message_repeated_inside_one_batch_is_stored_once(cache: ChatCache) -> None:
    new = cache.save_messages([msg("general", 1), msg("general", 1), msg("general", 2)])
    assert seqs(new) == [1, 2]
    assert seqs(cache.latest("general", 10)) == [1, 2]


def test_the_same_seq_in_two_rooms_is_two_messages(cache: ChatCache) -> None:
    new = cache.save_messages([msg("general", 1), msg("random", 1)])
    assert [(m.room, m.seq) for m in new] == [("general", 1), ("random", 1)]


def test_saved_messages_come_back_unchanged(cache: ChatCache) -> None:
    original = msg("general", 1, author="alice", text="<b>not markup</b> ✓")
    cache.save_messages([original])
    assert cache.latest("general", 1) == [original]


def test_latest_returns_the_newest_messages_ascending_among_ten_thousand(
    cache: ChatCache,
) -> None:
    cache.save_messages(msg("general", seq) for seq in range(1, 10_001))
    cache.save_messages(msg("random", seq) for seq in range(1, 101))
    assert seqs(cache.latest("general", 50)) == list(range(9951, 10_001))


def test_latest_stops_at_a_hole(cache: ChatCache) -> None:
    cache.save_messages(msg("general", seq) for seq in [*range(1, 6), *range(20, 23)])
    assert seqs(cache.latest("general", 10)) == [20, 21, 22]


def test_latest_of_an_unknown_room_is_empty(cache: ChatCache) -> None:
    assert cache.latest("nowhere", 10) == []


def test_before_returns_the_run_ending_just_below_seq(cache: ChatCache) -> None:
    cache.save_messages(msg("general", seq) for seq in range(1, 101))
    assert seqs(cache.before("general", 51, 10)) == list(range(41, 51))


def test_before_stops_at_a_hole(cache: ChatCache) -> None:
    cache.save_messages(msg("general", seq) for seq in [*range(1, 11), *range(15, 31)])
    assert seqs(cache.before("general", 20, 50)) == [15, 16, 17, 18, 19]


def test_before_is_empty_when_the_previous_message_is_missing(cache: ChatCache) -> None:
    cache.save_messages(msg("general", seq) for seq in range(1, 11))
    cache.save_messages([msg("general", 30)])
    assert cache.before("general", 30, 10) == []


def test_before_the_first_message_is_empty(cache: ChatCache) -> None:
    cache.save_messages(msg("general", seq) for seq in range(1, 11))
    assert cache.before("general", 1, 10) == []


def test_reads_use_the_room_seq_index(cache: ChatCache) -> None:
    cache.save_messages(msg("general", seq) for seq in range(1, 1001))
    statements: list[str] = []
    # The cache's own connection, so that we see exactly the SQL it runs.
    connection: sqlite.Connection = cache._db.connection()  # type: ignore[no-untyped-call]
    connection.set_trace_callback(statements.append)
    try:
        cache.latest("general", 50)
        cache.before("general", 500, 50)
        cache.positions()
        cache.unread_counts("alice")
    finally:
        connection.set_trace_callback(None)
    selects = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 4
    for sql in selects:
        plan = " | ".join(row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + sql))
        assert "messages_room_seq" in plan, plan
        assert "SCAN messages" not in plan and "SCAN m " not in plan, plan


# Rooms and positions ---------------------------------------------------------


def test_positions_give_the_highest_cached_seq_per_room(cache: ChatCache) -> None:
    cache.save_messages([msg("general", 1), msg("general", 7), msg("random", 3)])
    assert cache.positions() == {"general": 7, "random": 3}


def test_a_room_without_cached_messages_has_no_position(cache: ChatCache) -> None:
    cache.save_rooms([RoomInfo("general", 40)])
    assert cache.positions() == {}


def test_save_rooms_records_rooms_and_last_seq_never_shrinks(cache: ChatCache) -> None:
    cache.save_rooms([RoomInfo("general", 40), RoomInfo("random", 0)])
    cache.save_rooms([RoomInfo("general", 30)])
    assert cache.rooms() == [CachedRoom("general", 40, 0), CachedRoom("random", 0, 0)]


def test_saving_messages_raises_the_rooms_last_seq(cache: ChatCache) -> None:
    cache.save_rooms([RoomInfo("general", 3)])
    cache.save_messages([msg("general", 5), msg("dev", 2)])
    assert cache.rooms() == [CachedRoom("dev", 2, 0), CachedRoom("general", 5, 0)]


# Unread --------------------------------------------------------------------


def test_unread_counts_skip_read_and_own_messages(cache: ChatCache) -> None:
    cache.save_messages(
        [
            msg("general", 1),
            msg("general", 2),
            msg("general", 3, author="alice"),
            msg("general", 4),
            msg("random", 1, author="ALICE"),
        ]
    )
    cache.mark_read("general", 1)
    assert cache.unread_counts("alice") == {"general": 2, "random": 0}


def test_mark_read_never_goes_back(cache: ChatCache) -> None:
    cache.save_messages(msg("general", seq) for seq in range(1, 6))
    cache.mark_read("general", 4)
    cache.mark_read("general", 2)
    assert cache.rooms() == [CachedRoom("general", 5, 4)]


# Outbox --------------------------------------------------------------------


def test_outbox_keeps_entries_oldest_first_across_reopening(path: Path) -> None:
    first = ChatCache.open(path)
    first.outbox_add(OutboxEntry("id-1", "general", "one", "2026-11-27T10:00:00.000Z"))
    first.outbox_add(OutboxEntry("id-2", "random", "two", "2026-11-27T10:00:01.000Z"))
    first.close()
    second = ChatCache.open(path)
    try:
        assert [entry.client_id for entry in second.outbox()] == ["id-1", "id-2"]
    finally:
        second.close()


def test_adding_the_same_client_id_twice_queues_it_once(cache: ChatCache) -> None:
    entry = OutboxEntry("id-1", "general", "one", "2026-11-27T10:00:00.000Z")
    cache.outbox_add(entry)
    cache.outbox_add(entry)
    assert cache.outbox() == [entry]


def test_outbox_remove_drops_only_that_entry(cache: ChatCache) -> None:
    cache.outbox_add(OutboxEntry("id-1", "general", "one", "t1"))
    cache.outbox_add(OutboxEntry("id-2", "general", "two", "t2"))
    cache.outbox_remove("id-1")
    assert [entry.client_id for entry in cache.outbox()] == ["id-2"]


def test_a_failed_outbox_entry_keeps_its_reason_until_cleared(cache: ChatCache) -> None:
    cache.outbox_add(OutboxEntry("id-1", "general", "one", "t1"))
    cache.outbox_mark_failed("id-1", "room does not exist")
    assert cache.outbox()[0].failed == "room does not exist"
    cache.outbox_clear_failed("id-1")
    assert cache.outbox()[0].failed is None


# Settings ------------------------------------------------------------------


def test_settings_are_replaced_and_read_back(cache: ChatCache) -> None:
    assert cache.get_setting("room") is None
    cache.set_setting("room", "general")
    cache.set_setting("room", "random")
    assert cache.get_setting("room") == "random"


# File and migrations ----------------------------------------------------------


def test_reopening_runs_no_migration_twice(path: Path) -> None:
    ChatCache.open(path).close()
    ChatCache.open(path).close()
    versions = query(path, "SELECT version FROM schema_version ORDER BY version")
    assert [row[0] for row in versions] == [step.version for step in MIGRATIONS]


def test_a_new_migration_runs_once_on_an_existing_file(path: Path) -> None:
    cache = ChatCache.open(path)
    cache.save_messages([msg("general", 1)])
    db = cache._db
    extra = Migration(len(MIGRATIONS) + 1, "pinned flag", ("ALTER TABLE rooms ADD pinned INT",))
    try:
        assert migrate(db, (*MIGRATIONS, extra)) == [extra.version]
        assert migrate(db, (*MIGRATIONS, extra)) == []
        assert seqs(cache.latest("general", 10)) == [1]
    finally:
        cache.close()


def test_the_cache_is_in_wal_mode(path: Path) -> None:
    ChatCache.open(path).close()
    assert query(path, "PRAGMA journal_mode") == [("wal",)]


def test_a_file_that_is_not_a_database_is_set_aside_and_replaced(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not SQLite" * 100)
    cache = ChatCache.open(path)
    try:
        cache.save_messages([msg("general", 1)])
        assert seqs(cache.latest("general", 10)) == [1]
    finally:
        cache.close()
    aside = [p for p in path.parent.iterdir() if ".unusable-" in p.name]
    assert len(aside) == 1
    assert aside[0].read_bytes() == b"this is not SQLite" * 100
    assert "is unusable (file is not a database)" in caplog.text


def test_a_file_from_a_newer_program_is_set_aside(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ChatCache.open(path).close()
    query(
        path,
        "INSERT INTO schema_version VALUES (?, 'from the future', 'now')",
        (len(MIGRATIONS) + 50,),
    )
    ChatCache.open(path).close()
    assert len([p for p in path.parent.iterdir() if ".unusable-" in p.name]) == 1
    assert "is newer than this program's" in caplog.text


def test_close_twice_is_harmless(path: Path) -> None:
    cache = ChatCache.open(path)
    cache.close()
    cache.close()


def test_two_caches_can_be_open_at_once(tmp_path: Path) -> None:
    alice = ChatCache.open(cache_path(tmp_path, "http://a", "alice"))
    bob = ChatCache.open(cache_path(tmp_path, "http://a", "bob"))
    try:
        alice.save_messages([msg("general", 1)])
        bob.save_messages([msg("general", 2)])
        assert seqs(alice.latest("general", 5)) == [1]
        assert seqs(bob.latest("general", 5)) == [2]
    finally:
        alice.close()
        bob.close()
