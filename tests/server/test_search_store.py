"""The server's search index (storage.search_index), on SQLite FTS5 and PostgreSQL alike.

Every test runs on a real SQLite file and on a throwaway PostgreSQL database
(the fixtures of tests/server/test_storage.py), so the two engines are held
to the same results: those of the reference rule
:func:`chat_protocol.search.matches`.
"""

# The store fixtures are imported from test_storage.py, so the tests' parameters
# of the same names look like redefinitions to ruff.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

import peewee
import pytest

from chat_protocol import SendDelete, SendEdit
from chat_protocol.search import (
    MAX_PREFIX_EXPANSIONS,
    has_fts5_secure_delete,
    matches,
    query_terms,
)
from chat_server.storage import PeeweeChatStore, open_store, workers
from chat_server.storage.base import SearchRequest, StorageError
from chat_server.storage.database import SQLITE_FILE_NAME
from chat_server.storage.file_records import UnknownFile
from chat_server.storage.migrations import MIGRATIONS, migrate
from chat_server.storage.search_index import SearchIndex
from tests.server.test_storage import (  # noqa: F401 (fixtures, used by name)
    OpenStore,
    StoreConfig,
    store,
    store_config,
    store_database,
    store_opener,
    store_pg_url,
    writer_held,
)
from tests.sqlite_driver import sqlite
from tests.waiting import eventually


async def _search(
    store: PeeweeChatStore,
    query: str,
    *,
    rooms: list[str] | None = None,
    room: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[tuple[str, int]]:
    """(room, seq) of each result of ``query``, in the order given."""
    found = await store.search(SearchRequest(query_terms(query), rooms, limit, room, before))
    return [(message.room, message.seq) for message in found]


async def _post(store: PeeweeChatStore, room: str, *texts: str) -> list[int]:
    seqs = []
    for text in texts:
        result = await store.append(room, "alice", f"{room}-{text}-{len(seqs)}", text)
        seqs.append(result.message.seq)
    return seqs


async def test_words_are_found_by_prefix_case_and_accent_insensitively(
    store: PeeweeChatStore,
) -> None:
    await _post(store, "general", "Meeting at the Café", "lunch?", "東京都庁で会いましょう")

    assert await _search(store, "meet") == [("general", 1)]
    assert await _search(store, "CAFE meeting") == [("general", 1)]
    assert await _search(store, "café") == [("general", 1)]
    assert await _search(store, "eting") == []
    assert await _search(store, "meet lunch") == []
    assert await _search(store, "京都") == [("general", 3)]
    assert await _search(store, "都庁") == [("general", 3)]
    assert await _search(store, "庁") == [("general", 3)]
    assert await _search(store, "都京") == []


async def test_results_are_newest_first_and_pages_go_back_with_before(
    store: PeeweeChatStore,
) -> None:
    await store.ensure_room("dev")
    await _post(store, "general", *[f"report {n}" for n in range(1, 8)])
    await _post(store, "dev", "report from dev")

    everywhere = await _search(store, "report")
    assert everywhere[0] == ("dev", 1)  # the newest, by ts, across rooms
    assert [seq for room, seq in everywhere if room == "general"] == [7, 6, 5, 4, 3, 2, 1]
    assert await _search(store, "report", room="general", limit=3) == [
        ("general", 7),
        ("general", 6),
        ("general", 5),
    ]
    assert await _search(store, "report", room="general", before=5, limit=3) == [
        ("general", 4),
        ("general", 3),
        ("general", 2),
    ]
    assert await _search(store, "report", room="general", before=2) == [("general", 1)]
    assert await _search(store, "report", room="general", before=1) == []
    # A before past the newest seq is simply "from the newest".
    assert len(await _search(store, "report", room="general", before=99)) == 7


async def test_only_the_rooms_the_reader_may_read_are_searched(store: PeeweeChatStore) -> None:
    await store.ensure_room("secret")
    await _post(store, "general", "plans for friday")
    await _post(store, "secret", "plans for the surprise")

    assert await _search(store, "plans", rooms=["general"]) == [("general", 1)]
    assert await _search(store, "plans", rooms=[]) == []
    assert await _search(store, "surprise", rooms=["general"]) == []
    assert await _search(store, "plans", rooms=["general"], room="secret") == []
    assert sorted(await _search(store, "plans")) == [("general", 1), ("secret", 1)]


async def test_a_retry_is_indexed_once_and_text_without_words_not_at_all(
    store: PeeweeChatStore,
) -> None:
    await store.append("general", "alice", "c1", "hello there")
    await store.append("general", "alice", "c1", "hello there")
    await store.append("general", "alice", "c2", "...!!!")
    await store.append("general", "alice", "c3", "")

    assert await _search(store, "hello") == [("general", 1)]
    assert await _rows(store) == 1


async def test_an_edit_reindexes_and_a_delete_unindexes(store: PeeweeChatStore) -> None:
    await _post(store, "general", "the old wording", "keep this one")
    await store._write(lambda: store.search_index.index_edit("general", 1, "the new phrasing"))
    assert await _search(store, "wording") == []
    assert await _search(store, "phrasing") == [("general", 1)]
    assert await _search(store, "the") == [("general", 1)]

    await store._write(lambda: store.search_index.unindex("general", 1))
    assert await _search(store, "phrasing") == []
    assert await _search(store, "the") == []
    assert await _search(store, "keep") == [("general", 2)]
    assert await _rows(store) == 1

    # An edit to words-free text, and one or a delete of a message not there, change nothing else.
    await store._write(lambda: store.search_index.index_edit("general", 99, "ghost"))
    await store._write(lambda: store.search_index.unindex("general", 99))
    await store._write(lambda: store.search_index.index_edit("general", 2, "!!"))
    assert await _rows(store) == 0
    assert await _search(store, "ghost") == []


async def test_one_transaction_of_messages_edits_deletes_and_a_refusal_is_indexed_right(
    store: PeeweeChatStore,
) -> None:
    # Issue 12: on SQLite the index rows of a batch's messages are written
    # together just before COMMIT. Writes in the same transaction that touch
    # them (an edit, a delete) and a message refused half way (its savepoint
    # undone, its row id given to the next message) must see the same index
    # as if every row had been written at once.
    commits = store.commits
    # Hold the writer in a transaction while the rest queues: their batch is the next.
    async with writer_held(store):
        writes = [
            store.append_nowait("general", "alice", "m1", "alpha one"),
            store.append_nowait("general", "alice", "m2", "beta two"),
            store.write_nowait("alice", SendEdit("general", 1, "alpha edited", "e1")),
            store.write_nowait("alice", SendDelete("general", 2, "d1")),
            store.append_nowait("general", "alice", "m3", "gamma three", files=("no-such-upload",)),
            store.append_nowait("general", "alice", "m4", "delta four"),
        ]
    outcomes = await asyncio.gather(
        *(asyncio.wrap_future(write) for write in writes), return_exceptions=True
    )

    assert isinstance(outcomes[4], UnknownFile)
    assert [o.seq for o in outcomes if not isinstance(o, BaseException)] == [1, 2, 3, 4, 5]
    assert store.commits == commits + 2  # the hold's, then one for all six writes
    assert await _search(store, "alpha") == [("general", 1)]
    assert await _search(store, "edited") == [("general", 1)]
    assert await _search(store, "one") == []
    assert await _search(store, "beta") == []
    assert await _search(store, "gamma") == []
    assert await _search(store, "delta") == [("general", 5)]
    assert await _rows(store) == 2


async def test_a_message_committed_on_the_loop_is_indexed(store: PeeweeChatStore) -> None:
    # The commit on the event loop (issue 17) writes its buffered row too.
    done = store.append_now("general", "alice", "lone", "a lone epsilon")
    if done is None:  # PostgreSQL: no commits on the loop, the writer stores it
        await store.append("general", "alice", "lone", "a lone epsilon")
    else:
        assert done.result().message.seq == 1
        assert store.inline_commits == 1
    await store.append("general", "alice", "next", "zeta after it")

    assert await _search(store, "epsilon") == [("general", 1)]
    assert await _search(store, "zeta") == [("general", 2)]
    assert await _rows(store) == 2


def _on_the_loop(store: PeeweeChatStore, *texts: str) -> list[int]:
    """Commit each text on the loop (SQLite); skip where the writer commits all (PostgreSQL)."""
    seqs = []
    for n, text in enumerate(texts):
        done = store.append_now("general", "alice", f"loop-{n}", text)
        if done is None:
            assert not seqs, "only the first message of a store may go to the writer"
            pytest.skip("PostgreSQL commits every write on the writer, with its index row")
        seqs.append(done.result().message.seq)
    assert store.inline_commits == len(texts)
    return seqs


async def test_a_message_committed_on_the_loop_gets_its_row_from_the_writer(
    store: PeeweeChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 17: only the message is committed before its broadcast; its index
    # row follows in a transaction of the writer, one for many messages,
    # and a search asks for it first, so an acked message is found at once.
    monkeypatch.setattr(workers, "INLINE_SHARE", 1.0)  # no pause between commits on the loop
    _on_the_loop(store, "lone omega one", "lone omega two", "lone omega three")
    assert await _rows(store) == 0
    commits = store.commits

    assert sorted(await _search(store, "omega")) == [("general", 1), ("general", 2), ("general", 3)]
    assert await _rows(store) == 3
    assert store.commits == commits + 1


def _carry_rows(monkeypatch: pytest.MonkeyPatch, *, delay: float, latest: float) -> None:
    """Commits on the loop with no pause between them; their rows are due ``delay``
    after the first, and a timer hands them over ``latest`` after it."""
    monkeypatch.setattr(workers, "INLINE_SHARE", 1.0)
    monkeypatch.setattr(workers, "CARRY_DELAY", delay)
    monkeypatch.setattr(workers, "CARRY_LATEST", latest)


def _keep_one(
    store: PeeweeChatStore, monkeypatch: pytest.MonkeyPatch, text: str, *, latest: float
) -> None:
    """Commit ``text`` on the loop, its row kept (not due for an hour; the
    timer after ``latest``), and not yet in the file."""
    _carry_rows(monkeypatch, delay=3600.0, latest=latest)
    _on_the_loop(store, text)
    assert _rows_now(store) == 0


async def test_a_later_commit_hands_the_kept_rows_over_once_its_turn_is_over(
    store: PeeweeChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows kept long enough go to the writer with the next commit on the
    # loop, after that commit's turn (in which its message is broadcast),
    # all in one transaction; not on a timer, which under a steady stream
    # would fire just as a message arrives and make it wait.
    _keep_one(store, monkeypatch, "kept pi", latest=3600.0)
    monkeypatch.setattr(workers, "CARRY_DELAY", 0.0)  # the first rows are now due
    commits = store.commits
    done = store.append_now("general", "alice", "second", "second rho")
    assert done is not None and done.result().message.seq == 2
    # Still the commit's turn: nothing has gone to the writer yet.
    assert store.pending_writes == 0 and _rows_now(store) == 0

    await eventually(lambda: _rows_now(store) == 2)
    assert store.commits == commits + 2  # the message's, then one for both rows


async def test_a_newer_message_the_writer_stores_never_has_its_row_before_a_carried_one(
    store: PeeweeChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The restart's catch-up indexes what follows the newest row. So a
    # message the writer stores (a burst, a retry over HTTP) takes the rows
    # the loop's commits still carry along: once it is acked, its row and
    # theirs are all in the file, and a crash now could not leave an older
    # message out of the index for good.
    _keep_one(store, monkeypatch, "carried upsilon", latest=3600.0)

    await store.append("general", "alice", "via-writer", "stored phi")
    assert _rows_now(store) == 2


async def test_the_kept_rows_of_a_room_gone_quiet_are_written_without_a_search(
    store: PeeweeChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No later commit comes to take them: a timer hands them over.
    _keep_one(store, monkeypatch, "last words tau", latest=0.05)

    await eventually(lambda: _rows_now(store) == 1)


async def test_an_edit_or_a_delete_before_the_loops_rows_are_written_is_what_counts(
    store: PeeweeChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rows are written a second later; an edit or a delete in between
    # (on the writer, as always) must not be undone by them: no old words of
    # an edited message, and nothing at all of a deleted one.
    monkeypatch.setattr(workers, "INLINE_SHARE", 1.0)
    _on_the_loop(store, "draft alpha", "secret gamma", "plain delta", "wordy epsilon")
    await store.write("alice", SendEdit("general", 1, "final beta", "e1"))
    await store.write("alice", SendDelete("general", 2, "d1"))
    await store.write("alice", SendEdit("general", 4, "!!", "e2"))  # no words left

    assert await _search(store, "alpha") == []
    assert await _search(store, "beta") == [("general", 1)]
    assert await _search(store, "gamma") == []
    assert await _search(store, "delta") == [("general", 3)]
    assert await _search(store, "epsilon") == []
    assert await _rows(store) == 2


async def test_the_rows_a_stop_left_unwritten_are_written_at_the_next_start(
    store_config: StoreConfig, store_opener: OpenStore
) -> None:
    # A server killed between a commit on the loop and the writer's
    # transaction of its row: the message is stored, its row is not. The
    # next start indexes what follows the newest row, messages only (not an
    # edit's entry) and not a deleted one.
    if store_config.db_url is not None:
        pytest.skip("PostgreSQL writes a message's row in the message's transaction")
    store = await store_opener()
    await _post(store, "general", "indexed first")
    await store.close()
    db = sqlite.connect(store_config.data_dir / SQLITE_FILE_NAME, isolation_level=None)
    try:
        for seq, kind, text, deleted in (
            (2, "message", "lost kappa", 0),
            (3, "edit", "lost lambda", 0),
            (4, "message", "", 1),
            (5, "message", "lost mu", 0),
        ):
            db.execute(
                "INSERT INTO messages (room_id, seq, author, client_id, text, ts, kind, deleted)"
                " VALUES (1, ?, 'alice', ?, ?, '2026-12-01T00:00:00.000Z', ?, ?)",
                (seq, f"x{seq}", text, kind, deleted),
            )
        db.execute("UPDATE rooms SET last_seq = 5 WHERE id = 1")
    finally:
        db.close()

    store = await store_opener()
    assert await _search(store, "lost") == [("general", 5), ("general", 2)]
    assert await _search(store, "lambda") == []
    assert await _search(store, "indexed") == [("general", 1)]
    assert await _rows(store) == 3


async def test_rows_the_writer_could_not_write_are_written_once_it_can(
    store: PeeweeChatStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The database refuses writes for a moment (here: made read-only on the
    # writer's connection) just when the writer takes the loop's rows: the
    # transaction fails, the rows are kept, and handed over again.
    monkeypatch.setattr(workers, "INLINE_SHARE", 1.0)
    monkeypatch.setattr(workers, "CARRY_RETRY", 0.05)
    _on_the_loop(store, "stubborn sigma")

    def query_only(on: bool) -> None:
        store.database.execute_sql(f"PRAGMA query_only = {int(on)}")

    await store._write(lambda: query_only(True), savepoint=False)
    inline = store._inline
    assert inline is not None
    with caplog.at_level(logging.WARNING, logger="chat_server.storage.workers"):
        failing = inline.hand_over()
        assert failing is not None
        with pytest.raises(StorageError):
            await asyncio.wrap_future(failing)
        await eventually(lambda: "could not be written yet" in caplog.text)
    await store._write(lambda: query_only(False), savepoint=False)

    await eventually(lambda: _rows_now(store) == 1)
    assert await _search(store, "sigma") == [("general", 1)]


def _rows_now(store: PeeweeChatStore) -> int:
    """The index's rows, read on a connection of this thread's own."""
    db = sqlite.connect(store.database.database)
    try:
        return int(db.execute("SELECT COUNT(*) FROM message_search").fetchone()[0])
    finally:
        db.close()


async def test_both_engines_find_exactly_what_the_rule_finds(store: PeeweeChatStore) -> None:
    # A small corpus of many scripts, with words that are prefixes of others.
    vocabulary = [
        "meet",
        "meeting",
        "Meetings",
        "café",
        "CAFE",
        "cafés",
        "naïve",
        "東京",
        "京都",
        "東京都",
        "안녕하세요",
        "Привет",
        "e2e",
        "2026",
        "straße",
    ]
    rng = random.Random(14)
    await store.ensure_room("dev")
    texts: dict[tuple[str, int], str] = {}
    for n in range(120):
        room = "general" if n % 3 else "dev"
        text = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 4)))
        result = await store.append(room, "alice", f"c{n}", text)
        texts[(room, result.message.seq)] = text

    for query in ["meet", "meeting", "cafe", "CAFÉS", "naive", "東京", "京", "都", "하세", "привет",
                  "e2", "20", "strasse", "meet 東京", "cafe naïve meeting"]:  # fmt: skip
        terms = query_terms(query)
        expected = {key for key, text in texts.items() if matches(terms, text)}
        found = await _search(store, query, limit=200)
        assert set(found) == expected, query
        assert len(found) == len(expected)


async def test_the_migration_indexes_the_messages_of_an_existing_database(
    store_database: peewee.Database, store_opener: OpenStore
) -> None:
    # A database as it was before the index: three steps, one room, two messages.
    migrate(store_database, MIGRATIONS[:3])
    p = store_database.param
    store_database.execute_sql(
        f"INSERT INTO rooms (name, last_seq, created) VALUES ({p}, 2, {p})", ("general", "t")
    )
    for seq, text in ((1, "Früher gesagt"), (2, "später")):
        store_database.execute_sql(
            "INSERT INTO messages (room_id, seq, author, client_id, text, ts)"
            f" VALUES (1, {p}, 'alice', {p}, {p}, '2026-01-01T00:00:00.000Z')",
            (seq, f"c{seq}", text),
        )
    store_database.close()

    store = await store_opener()
    assert await _search(store, "fruher") == [("general", 1)]
    assert await _search(store, "spat") == [("general", 2)]
    # And from then on new messages are indexed as they are stored.
    await store.append("general", "bob", "c3", "später noch einmal")
    assert await _search(store, "spater") == [("general", 3), ("general", 2)]


async def test_an_index_made_before_migration_8_finds_the_same_after_it(
    store_database: peewee.Database, store_opener: OpenStore
) -> None:
    # A database as issue 14 left it: the index without prefix match lists.
    migrate(store_database, MIGRATIONS[:7])
    p = store_database.param
    texts = ["pancake party", "pa said so", "panorama", "papa", "parliament pa"]
    store_database.execute_sql(
        f"INSERT INTO rooms (name, last_seq, created) VALUES ({p}, {p}, {p})",
        ("general", len(texts), "t"),
    )
    for seq, text in enumerate(texts, 1):
        store_database.execute_sql(
            "INSERT INTO messages (room_id, seq, author, client_id, text, ts)"
            f" VALUES (1, {p}, 'alice', {p}, {p}, '2026-01-01T00:00:00.000Z')",
            (seq, f"c{seq}", text),
        )
    SearchIndex(store_database).rebuild()
    store_database.close()

    before = {query: await _search_closed(store_database, query) for query in ("pa", "pan", "p")}
    store = await store_opener()
    after = {query: await _search(store, query) for query in ("pa", "pan", "p")}
    assert after == before
    if isinstance(store.database, peewee.SqliteDatabase):
        # "pa" and "pan" are now read from FTS5's own prefix match lists.
        assert store.search_index._prefix_lengths == frozenset({2, 3})
    assert after["pa"] == [("general", seq) for seq in (5, 4, 3, 2, 1)]
    assert after["pan"] == [("general", 3), ("general", 1)]
    # New messages are found through the remade index as well.
    await store.append("general", "bob", "c9", "pa again")
    assert (await _search(store, "pa", limit=1)) == [("general", 6)]


async def _search_closed(db: peewee.Database, query: str) -> list[tuple[str, int]]:
    """A search straight on a database no store has open (the index as it stands)."""
    index = SearchIndex(db)
    index.prepare()
    found = index.search(SearchRequest(query_terms(query), None, 50, None))
    db.close()
    return [(message.room, message.seq) for message in found]


async def test_deleted_words_are_erased_where_sqlite_can(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # FTS5's secure-delete is SQLite's own; PostgreSQL has no such option.
    config = StoreConfig(db_url=None, data_dir=tmp_path)
    with caplog.at_level(logging.INFO, logger="chat_server.storage.search_index"):
        store = open_store(config)
        await store.open()
        await store.close()
    with sqlite.connect(tmp_path / SQLITE_FILE_NAME) as connection:
        version = connection.execute("SELECT sqlite_version()").fetchone()[0]
        rows = connection.execute(
            "SELECT v FROM message_search_config WHERE k = 'secure-delete'"
        ).fetchall()
    connection.close()
    if has_fts5_secure_delete(version):
        assert rows == [(1,)]
        assert "secure-delete" not in caplog.text
    else:
        assert rows == []
        assert f"SQLite {version} has no FTS5 secure-delete" in caplog.text


async def _rows(store: PeeweeChatStore) -> int:
    def count() -> int:
        cursor = store.database.execute_sql("SELECT COUNT(*) FROM message_search")
        return int(cursor.fetchone()[0])

    return await store._read(count)


async def test_a_term_covering_many_words_finds_them_all(store: PeeweeChatStore) -> None:
    # More words than MAX_PREFIX_EXPANSIONS start with "pre": the term is searched as a prefix.
    count = MAX_PREFIX_EXPANSIONS + 6
    await asyncio.gather(
        *(store.append("general", "alice", f"c{n}", f"pre{n}x common") for n in range(count))
    )
    assert len(await _search(store, "pre", limit=count)) == count
    # pre1x, pre10x..pre19x and pre100x..pre199x: few enough to be looked up as words.
    assert len(await _search(store, "pre1 common", limit=200)) == 111
    assert len(await _search(store, "pre5x")) == 1


async def test_the_word_list_forgets_words_no_message_holds(
    tmp_path: Path,
) -> None:
    store = open_store(StoreConfig(db_url=None, data_dir=tmp_path))
    await store.open()
    try:
        await _post(store, "general", "shared secretword", "shared")
        await store._write(lambda: store.search_index.unindex("general", 1))

        def words() -> list[str]:
            cursor = store.database.execute_sql("SELECT term FROM message_search_terms")
            return sorted(term for (term,) in cursor.fetchall())

        assert await store._read(words) == ["shared"]
        assert await _search(store, "secret") == []
    finally:
        await store.close()


async def test_a_deleted_rooms_messages_leave_the_index(store: PeeweeChatStore) -> None:
    await store.ensure_room("gone")
    await _post(store, "gone", "farewell party", "farewell cake")
    await _post(store, "general", "farewell speech")

    assert await store._write(lambda: store.search_index.unindex_room("gone")) == 2
    assert await _search(store, "farewell") == [("general", 1)]
    assert await _search(store, "cake") == []
    assert await store._write(lambda: store.search_index.unindex_room("nowhere")) == 0


async def test_sqlite_reads_the_index_first_newest_first_for_one_room(tmp_path: Path) -> None:
    # The plan, not a timing: with the index read first in rowid order, a
    # search stops at its limit. SQLite 3.51 left alone reads every message
    # of the room and asks the index about each, then sorts them.
    store = open_store(StoreConfig(db_url=None, data_dir=tmp_path))
    await store.open()
    try:
        await store.append("general", "alice", "c1", "meeting at noon")
        statements: list[tuple[str, tuple[object, ...]]] = []
        index = store.search_index
        execute = index._execute

        def spy(sql: str, params: tuple[object, ...] = ()) -> object:
            statements.append((sql, params))
            return execute(sql, params)

        index._execute = spy  # type: ignore[method-assign]
        assert await _search(store, "meet", room="general") == [("general", 1)]

        def plan() -> list[str]:
            sql, params = next(s for s in statements if "MATCH" in s[0] and "JOIN" in s[0])
            rows = store.database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
            return [str(row[-1]) for row in rows]

        steps = await store._read(plan)
    finally:
        await store.close()
    assert steps[0].startswith("SCAN s VIRTUAL TABLE"), steps
    assert not any("TEMP B-TREE" in step for step in steps), steps
