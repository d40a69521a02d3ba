"""The cache and the room log of Version 2 (migration 3): message state, entries, purge;
and each room's creator (migration 4).

A real SQLite file in tmp_path each time. The cache made by the app before
Version 2 (schema 2) is built with the very migrations that app ran, then
opened by today's code: it must be upgraded in place, keeping messages, the
outbox and the search index. So is one made before rooms had a creator
(schema 3): its rooms keep their kind and members, their creator unknown
until the server's next room object names it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chat_desktop.storage import MIGRATIONS, CachedRoom, ChatCache, OutboxEntry
from chat_desktop.storage.migrations import SEARCH_WORDS_FUNCTION
from chat_protocol import Delete, Edit, FileInfo, Member, Message, Reaction, RoomInfo, Topic
from chat_protocol.search import index_text
from tests.sqlite_driver import sqlite

TS = "2026-11-30T10:00:00.000Z"


def msg(seq: int, text: str = "", author: str = "bob", room: str = "general") -> Message:
    return Message(room, seq, f"c{seq}", author, text or f"text {seq}", TS)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[ChatCache]:
    opened = ChatCache.open(tmp_path / "cache.sqlite3")
    try:
        yield opened
    finally:
        opened.close()


def test_an_edit_delete_and_reactions_bring_the_cached_message_up_to_date(
    cache: ChatCache,
) -> None:
    cache.apply_log([msg(1, "helo")])
    cache.apply_log([Edit("general", 2, 1, "bob", "hello", "2026-11-30T10:01:00.000Z")])
    cache.apply_log([Reaction("general", 3, 1, "alice", "👍", True, TS)])
    cache.apply_log([Reaction("general", 4, 1, "carol", "👍", True, TS)])
    cache.apply_log([Reaction("general", 5, 1, "alice", "👍", False, TS)])
    message = cache.message("general", 1)
    assert message is not None
    assert (message.text, message.edited, message.reactions) == (
        "hello",
        "2026-11-30T10:01:00.000Z",
        {"👍": ["carol"]},
    )


def test_applying_the_same_entries_twice_changes_nothing(cache: ChatCache) -> None:
    entries = [
        msg(1),
        Reaction("general", 2, 1, "alice", "👍", True, TS),
        Reaction("general", 3, 1, "alice", "👍", False, TS),
    ]
    cache.apply_log(entries)
    again = cache.apply_log(entries)
    assert again.messages == [] and again.new == set()
    message = cache.message("general", 1)
    assert message is not None and message.reactions is None


def test_an_older_entry_never_undoes_the_newer_state_the_server_handed_out(
    cache: ChatCache,
) -> None:
    # The newest page came first (the room is known up to 9); the message,
    # fetched later in its current state, already reflects the edit at 5.
    cache.apply_log([msg(8), msg(9)])
    cache.apply_log([msg(4, "second"), Edit("general", 5, 4, "bob", "first", TS)])
    message = cache.message("general", 4)
    assert message is not None and message.text == "second"


def test_a_delete_erases_the_text_and_its_words(cache: ChatCache) -> None:
    cache.apply_log([msg(1, "the secret launch code")])
    assert cache.search("launch")
    changes = cache.apply_log([Delete("general", 2, 1, "bob", TS)])
    assert [m.deleted for m in changes.messages] == [True]
    assert cache.search("launch") == []
    message = cache.message("general", 1)
    assert message is not None and (message.text, message.deleted) == ("", True)


def test_the_position_covers_every_entry_and_runs_have_no_holes(cache: ChatCache) -> None:
    cache.apply_log([msg(1), Reaction("general", 2, 1, "bob", "x", True, TS), msg(3)])
    assert cache.positions() == {"general": 3}
    assert [m.seq for m in cache.latest("general", 10)] == [1, 3]
    assert cache.latest_run("general", 10)[1] == 1


def test_topic_and_member_entries_change_the_room(cache: ChatCache) -> None:
    cache.save_rooms(
        [RoomInfo("plans", 0, kind="private", topic="", members=("alice",), read_seq=0)]
    )
    cache.apply_log(
        [
            Member("plans", 1, "alice", "bob", "join", TS),
            Topic("plans", 2, "bob", "launch", TS),
        ]
    )
    room = cache.room("plans")
    assert room is not None and (room.topic, room.members) == ("launch", ("alice", "bob"))


def test_the_servers_unread_count_counts_messages_the_cache_lacks(cache: ChatCache) -> None:
    cache.save_rooms([RoomInfo("general", 40, kind="public", read_seq=30, unread=7)])
    assert cache.unread_counts("alice") == {"general": 7}
    cache.apply_log([msg(41)])
    assert cache.unread_counts("alice") == {"general": 8}
    cache.mark_read("general", 41)
    assert cache.unread_counts("alice") == {"general": 0}


def test_purging_a_room_forgets_its_log_outbox_draft_and_reads(cache: ChatCache) -> None:
    cache.save_rooms([RoomInfo("plans", 1, kind="private", members=("alice", "bob"))])
    cache.apply_log([msg(1, "the plan", room="plans")])
    cache.outbox_add(OutboxEntry("c-x", "plans", "more", TS))
    cache.set_draft("plans", "half")
    cache.save_read("plans", "bob", 1)
    cache.purge_room("plans")
    assert cache.message("plans", 1) is None and cache.search("plan") == []
    assert (cache.outbox(), cache.draft("plans"), cache.read_positions("plans")) == ([], "", {})
    assert cache.room("plans") is None


@contextmanager
def _cache_of_schema(path: Path, version: int) -> Iterator[Any]:
    """A cache file as the app of schema ``version`` made it; the caller adds its rows."""
    with closing(sqlite.connect(path)) as db, db:
        db.create_function(SEARCH_WORDS_FUNCTION, 1, index_text, deterministic=True)
        db.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY NOT NULL,"
            " description TEXT NOT NULL, applied TEXT NOT NULL)"
        )
        for step in MIGRATIONS[:version]:
            for statement in step.statements:
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)", (step.version, step.description, TS)
            )
        yield db


def _cache_of_the_app_before_version_2(path: Path) -> None:
    """A cache file as the app of schema 2 left it: its messages, outbox and index."""
    with _cache_of_schema(path, 2) as db:
        db.execute("INSERT INTO rooms (name, last_seq, read_seq) VALUES ('general', 3, 1)")
        for seq, text in ((1, "old words"), (2, "fresh news")):
            db.execute(
                "INSERT INTO messages (room, seq, client_id, author, text, ts)"
                " VALUES ('general', ?, ?, 'bob', ?, ?)",
                (seq, f"c{seq}", text, TS),
            )
        db.execute(
            "INSERT INTO outbox (client_id, room, text, created)"
            " VALUES ('mine', 'general', 'hi', ?)",
            (TS,),
        )


def test_a_cache_made_before_version_2_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _cache_of_the_app_before_version_2(path)
    cache = ChatCache.open(path)
    try:
        assert path.exists() and not list(tmp_path.glob("*.unusable-*"))
        assert [m.text for m in cache.latest("general", 10)] == ["old words", "fresh news"]
        assert cache.positions() == {"general": 2}
        assert cache.outbox() == [OutboxEntry("mine", "general", "hi", TS)]
        assert cache.unread_counts("alice") == {"general": 1}
        # Version 2 entries apply to what the old app cached, search included.
        cache.apply_log([Edit("general", 3, 2, "bob", "stale", TS)])
        assert [m.text for m in cache.search("stale")] == ["stale"]
        assert cache.search("fresh") == []
    finally:
        cache.close()


def _cache_of_schema_3(path: Path) -> None:
    """A cache file as the app of schema 3 left it: a private room, a message in it."""
    with _cache_of_schema(path, 3) as db:
        db.execute(
            "INSERT INTO rooms (name, last_seq, read_seq, kind, topic, members)"
            " VALUES ('plans', 1, 1, 'private', 'launch', '[\"alice\", \"bob\"]')"
        )
        db.execute(
            "INSERT INTO messages (room, seq, client_id, author, text, ts, state_seq)"
            " VALUES ('plans', 1, 'c1', 'bob', 'the plan', ?, 1)",
            (TS,),
        )


def test_a_cache_made_before_rooms_had_a_creator_learns_it_from_the_server(
    tmp_path: Path,
) -> None:
    path = tmp_path / "schema3.sqlite3"
    _cache_of_schema_3(path)
    cache = ChatCache.open(path)
    try:
        assert not list(tmp_path.glob("*.unusable-*"))
        assert cache.room("plans") == CachedRoom(
            "plans", 1, 1, "private", "launch", ("alice", "bob"), None
        )
        assert [m.text for m in cache.latest("plans", 10)] == ["the plan"]
        cache.save_rooms(
            [RoomInfo("plans", 1, "private", "launch", ("alice", "bob"), 1, creator="bob")]
        )
    finally:
        cache.close()
    cache = ChatCache.open(path)
    try:
        assert [room.creator for room in cache.rooms()] == ["bob"]
        # A room object without one (an older server) says the creator is not known.
        cache.save_rooms([RoomInfo("plans", 1, "private", "launch", ("alice", "bob"), 1)])
        room = cache.room("plans")
        assert room is not None and room.creator is None
    finally:
        cache.close()


def test_a_messages_files_are_kept_until_it_is_deleted(cache: ChatCache) -> None:
    report = FileInfo("f1", "report.pdf", 1234, "application/pdf")
    cache.apply_log([replace(msg(1), files=(report,))])
    cached = cache.message("general", 1)
    assert cached is not None and cached.files == (report,)
    cache.apply_log([Delete("general", 2, 1, "bob", TS)])
    cached = cache.message("general", 1)
    assert cached is not None and cached.files == ()
