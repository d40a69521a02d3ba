"""Offline search in the client cache (ChatCache.search) on real SQLite files in tmp_path."""

# The cache fixtures are imported from test_cache.py, so the tests' parameters
# of the same names look like redefinitions to ruff.
# ruff: noqa: F811

from __future__ import annotations

import random
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chat_desktop.storage import MIGRATIONS, ChatCache, migrate
from chat_protocol import Message
from chat_protocol.search import NoSearchWords, has_fts5_secure_delete, matches, query_terms
from tests.client.test_cache import cache, path  # noqa: F401 (fixtures, used by name)
from tests.sqlite_driver import sqlite


def msg(room: str, seq: int, text: str, minute: int = 0) -> Message:
    return Message(
        room=room,
        seq=seq,
        client_id=f"c-{room}-{seq}",
        author="bob",
        text=text,
        ts=f"2026-11-27T10:{minute:02d}:00.000Z",
    )


def found(messages: list[Message]) -> list[tuple[str, int]]:
    return [(message.room, message.seq) for message in messages]


def test_saved_messages_are_found_by_the_contracts_rule(cache: ChatCache) -> None:
    cache.save_messages(
        [
            msg("general", 1, "Meeting at the Café", 1),
            msg("general", 2, "東京都庁で会いましょう", 2),
            msg("dev", 1, "meet the new build", 3),
        ]
    )
    assert found(cache.search("meet")) == [("dev", 1), ("general", 1)]
    assert found(cache.search("CAFE meeting")) == [("general", 1)]
    assert found(cache.search("京都")) == [("general", 2)]
    assert found(cache.search("meet", room="general")) == [("general", 1)]
    assert cache.search("eting") == []
    with pytest.raises(NoSearchWords):
        cache.search("?!")
    with pytest.raises(ValueError, match="before needs room"):
        cache.search("meet", before=3)


def test_results_are_newest_first_whatever_order_they_were_cached_in(cache: ChatCache) -> None:
    # History pages arrive newest first, so older messages are cached later.
    cache.save_messages([msg("general", seq, f"report {seq}", seq) for seq in range(6, 11)])
    cache.save_messages([msg("general", seq, f"report {seq}", seq) for seq in range(1, 6)])
    cache.save_messages([msg("dev", 1, "report from dev", 30)])

    assert found(cache.search("report", limit=3)) == [("dev", 1), ("general", 10), ("general", 9)]
    assert [seq for _, seq in found(cache.search("report", room="general", limit=4))] == [
        10,
        9,
        8,
        7,
    ]
    paged = cache.search("report", room="general", before=7, limit=3)
    assert [message.seq for message in paged] == [6, 5, 4]


def test_a_word_thousands_of_messages_hold_is_found_newest_first_too(cache: ChatCache) -> None:
    # More matches than a search sorts (it walks the messages by time then),
    # cached as history arrives: newest page first, so the oldest last.
    stamp = datetime(2026, 11, 27, tzinfo=UTC)
    texts = {}
    for n in range(2400):
        room, seq = ("general", n // 2 + 1) if n % 2 else ("dev", n // 2 + 1)
        texts[(room, seq)] = ("common word" if n % 7 else "common rare", stamp + timedelta(0, n))
    pages = sorted(texts, key=lambda key: texts[key][1], reverse=True)
    for start in range(0, len(pages), 300):
        cache.save_messages(
            [
                Message(
                    room=room,
                    seq=seq,
                    client_id=f"c-{room}-{seq}",
                    author="bob",
                    text=texts[(room, seq)][0],
                    ts=texts[(room, seq)][1].isoformat(timespec="milliseconds"),
                )
                for room, seq in pages[start : start + 300]
            ]
        )

    def newest(query: str, room: str | None = None, before: int | None = None) -> list[object]:
        hits = [
            key
            for key, (text, _) in texts.items()
            if matches(query_terms(query), text)
            and room in (None, key[0])
            and (before is None or key[1] < before)
        ]
        return sorted(hits, key=lambda key: (texts[key][1], key), reverse=True)[:20]

    for query in ["common", "co", "com", "comm", "common rare", "ra"]:
        assert found(cache.search(query)) == newest(query), query
        assert found(cache.search(query, room="dev")) == newest(query, "dev"), query
        assert found(cache.search(query, room="dev", before=300)) == newest(query, "dev", 300)


def test_a_repeated_save_indexes_a_message_once(cache: ChatCache) -> None:
    cache.save_messages([msg("general", 1, "hello world")])
    cache.save_messages([msg("general", 1, "hello world"), msg("general", 1, "hello world")])
    assert found(cache.search("hello")) == [("general", 1)]


def test_a_changed_or_removed_message_is_found_by_its_current_words_only(
    cache: ChatCache,
) -> None:
    # Whoever changes the messages table (an edit or delete entry applied to
    # the cache, say), the index follows in the same statement.
    cache.save_messages([msg("general", 1, "the old wording"), msg("general", 2, "keep it")])
    cache._db.execute_sql("UPDATE messages SET text = 'new phrasing' WHERE seq = 1")
    assert cache.search("wording") == []
    assert found(cache.search("phrasing")) == [("general", 1)]
    cache._db.execute_sql("DELETE FROM messages WHERE seq = 1")
    assert cache.search("phrasing") == []
    assert found(cache.search("keep")) == [("general", 2)]
    # The list of indexed words forgets the words no cached message holds any more.
    terms = cache._db.execute_sql("SELECT term FROM message_search_terms ORDER BY term")
    assert [term for (term,) in terms.fetchall()] == ["it", "keep"]


def test_an_existing_cache_is_indexed_in_place_when_migrated(path: Path) -> None:
    # A cache file as the previous release left it: schema 1 with messages.
    path.parent.mkdir(parents=True)
    with closing(sqlite.connect(path)) as db, db:
        for statement in MIGRATIONS[0].statements:
            db.execute(statement)
        db.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY NOT NULL,"
            " description TEXT NOT NULL, applied TEXT NOT NULL)"
        )
        db.execute("INSERT INTO schema_version VALUES (1, 'old', 'then')")
        db.execute(
            "INSERT INTO messages (room, seq, client_id, author, text, ts)"
            " VALUES ('general', 1, 'c1', 'bob', 'Früher gesagt', '2026-01-01T00:00:00.000Z')"
        )
    cache = ChatCache.open(path)
    try:
        assert found(cache.search("fruher")) == [("general", 1)]
        assert cache.search("früher")[0].text == "Früher gesagt"
        # Two and three characters: the prefix index the table was remade with.
        assert found(cache.search("fr")) == found(cache.search("GES")) == [("general", 1)]
        cache.save_messages([msg("general", 2, "später")])
        assert found(cache.search("spater")) == found(cache.search("sp")) == [("general", 2)]
        assert migrate(cache._db) == []
    finally:
        cache.close()


def test_the_cache_finds_exactly_what_the_rule_finds(cache: ChatCache) -> None:
    vocabulary = ["meet", "Meeting", "café", "CAFES", "東京", "京都", "안녕하세요", "e2e", "2026"]
    rng = random.Random(14)
    texts: dict[tuple[str, int], str] = {}
    batch = []
    for seq in range(1, 151):
        room = "general" if seq % 3 else "dev"
        text = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 4)))
        texts[(room, seq)] = text
        batch.append(msg(room, seq, text, seq % 60))
    cache.save_messages(batch)
    for query in ["meet", "meeting", "cafe", "cafés", "東京", "京", "하세", "e2", "meet 京都"]:
        expected = {key for key, text in texts.items() if matches(query_terms(query), text)}
        assert set(found(cache.search(query, limit=500))) == expected, query


def test_deleted_words_are_erased_where_sqlite_can(path: Path, cache: ChatCache) -> None:
    with closing(sqlite.connect(path)) as db:
        version = db.execute("SELECT sqlite_version()").fetchone()[0]
        rows = db.execute("SELECT v FROM message_search_config WHERE k = 'secure-delete'")
        expected = [(1,)] if has_fts5_secure_delete(version) else []
        assert rows.fetchall() == expected
