"""The server's durable store, against real SQLite files and the local PostgreSQL.

Every store test runs twice: on a SQLite file in ``tmp_path`` and on a
throwaway PostgreSQL database (marked ``postgres``) that this module creates
for the session and drops at the end. Faults are real too: another connection
holds the write lock, as a backup tool or a second server would.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peewee
import psycopg2
import pytest

from chat_protocol import Invite, SendDelete, SendEdit, SendReact, SendTopic
from chat_protocol.rules import now_ts
from chat_server.security import hash_password, verify_password
from chat_server.storage import (
    AppendResult,
    BadTarget,
    NameTaken,
    NotYours,
    PeeweeChatStore,
    StorageError,
    UnknownMessage,
    UnknownRoom,
    UnknownUser,
    UsernameTaken,
    open_store,
    workers,
)
from chat_server.storage.database import SQLITE_FILE_NAME, STATEMENT_CACHE, database_for
from chat_server.storage.migrations import MIGRATIONS, Migration, migrate, schema_version
from tests.postgres import throwaway_database
from tests.sqlite_driver import sqlite
from tests.waiting import eventually


@dataclass
class StoreConfig:
    """The two settings storage reads from the server's configuration."""

    db_url: str | None
    data_dir: Path


@pytest.fixture(scope="session")
def store_pg_url() -> Iterator[str]:
    """A PostgreSQL database of its own for this test session, dropped afterwards."""
    with throwaway_database("chat_store_test") as url:
        yield url


def _pg_connect(url: str) -> Any:
    return psycopg2.connect(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> StoreConfig:
    """Where the store under test keeps its data: a fresh SQLite file or an empty PostgreSQL."""
    if request.param == "sqlite":
        return StoreConfig(db_url=None, data_dir=tmp_path / "data")
    url: str = request.getfixturevalue("store_pg_url")
    _empty_pg(url)
    return StoreConfig(db_url=url, data_dir=tmp_path / "data")


def _empty_pg(url: str) -> None:
    """Drop every table of the session's PostgreSQL database."""
    connection = _pg_connect(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        connection.close()


OpenStore = Callable[..., Awaitable[PeeweeChatStore]]


@pytest.fixture
async def store_opener(store_config: StoreConfig) -> AsyncIterator[OpenStore]:
    """Opens stores on ``store_config``; closes whatever is still open at the end."""
    opened: list[PeeweeChatStore] = []

    async def open_one(lock_timeout: float = 5.0) -> PeeweeChatStore:
        store = open_store(store_config, lock_timeout=lock_timeout)
        await store.open()
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()


@pytest.fixture
async def store(store_opener: OpenStore) -> PeeweeChatStore:
    """An open store with the default settings."""
    return await store_opener()


@asynccontextmanager
async def writer_held(store: PeeweeChatStore) -> AsyncIterator[None]:
    """Keep the store's writer in a transaction of its own until the block ends:
    whatever is submitted meanwhile makes its next batch, together."""
    writer = store._writer
    assert writer is not None
    entered, gate = threading.Event(), threading.Event()

    def hold() -> None:
        entered.set()
        gate.wait(10)

    holding = asyncio.wrap_future(writer.submit(hold))
    assert await asyncio.to_thread(entered.wait, 10)
    try:
        yield
    finally:
        gate.set()
        await holding


@contextmanager
def store_write_lock(config: StoreConfig) -> Iterator[None]:
    """Hold the database's write lock from another connection until the block ends."""
    if config.db_url is None:
        connection = sqlite.connect(config.data_dir / SQLITE_FILE_NAME, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield
            connection.execute("ROLLBACK")
        finally:
            connection.close()
    else:
        pg = _pg_connect(config.db_url)
        try:
            with pg.cursor() as cursor:
                # EXCLUSIVE still lets readers in but blocks every UPDATE of rooms,
                # which each append needs for its seq.
                cursor.execute("LOCK TABLE rooms IN EXCLUSIVE MODE")
            yield
            pg.rollback()
        finally:
            pg.close()


async def _block_writer(store: PeeweeChatStore) -> tuple[asyncio.Future[None], threading.Event]:
    """Occupy the writer thread inside a transaction until the returned event is set.

    Writes submitted meanwhile queue up behind it, which makes the batching
    deterministic. Returns the blocking write (await it after setting the
    event) and the event.
    """
    started = threading.Event()
    release = threading.Event()

    def hold() -> None:
        started.set()
        release.wait(timeout=60)

    blocker = asyncio.ensure_future(store._write(hold))
    assert await asyncio.to_thread(started.wait, 30)
    return blocker, release


# Rooms and messages ----------------------------------------------------------


async def test_open_creates_the_room_general(store: PeeweeChatStore) -> None:
    rooms = await store.rooms()
    assert [(room.name, room.last_seq) for room in rooms] == [("general", 0)]


async def test_ensure_room_creates_once_and_reports_it(store: PeeweeChatStore) -> None:
    first = await store.ensure_room("random")
    second = await store.ensure_room("random")
    assert first == (first[0], True)
    assert second == (first[0], False)
    assert [room.name for room in await store.rooms()] == ["general", "random"]


async def test_append_to_an_unknown_room_raises_unknown_room(store: PeeweeChatStore) -> None:
    with pytest.raises(UnknownRoom):
        await store.append("nowhere", "alice", "c1", "hello")


async def test_appended_message_gets_seq_time_stamp_and_fields(store: PeeweeChatStore) -> None:
    result = await store.append("general", "alice", "c1", "hello")
    assert result.created
    message = result.message
    assert (message.room, message.seq, message.author, message.client_id, message.text) == (
        "general",
        1,
        "alice",
        "c1",
        "hello",
    )
    assert message.ts.endswith("Z")
    assert await store.messages_after("general", 0, 10) == [message]


async def test_seqs_stay_gapless_under_50_concurrent_appenders_in_two_rooms(
    store: PeeweeChatStore,
) -> None:
    await store.ensure_room("random")

    async def appender(index: int) -> list[AppendResult]:
        room = "general" if index % 2 else "random"
        return [await store.append(room, f"user{index}", f"c{k}", f"m{k}") for k in range(4)]

    results = [r for rs in await asyncio.gather(*(appender(i) for i in range(50))) for r in rs]

    assert all(result.created for result in results)
    for room in ("general", "random"):
        stored = await store.messages_after(room, 0, 1000)
        assert [message.seq for message in stored] == list(range(1, 101))
    assert {(room.name, room.last_seq) for room in await store.rooms()} == {
        ("general", 100),
        ("random", 100),
    }


async def test_retry_with_same_client_id_is_stored_once(store: PeeweeChatStore) -> None:
    first = await store.append("general", "alice", "c1", "hello")
    retry = await store.append("general", "alice", "c1", "hello")
    assert retry == AppendResult.of(first.message, False, "c1")
    following = await store.append("general", "alice", "c2", "next")
    assert following.message.seq == 2


async def test_a_retry_naming_another_room_gets_the_stored_message_and_takes_no_seq(
    store: PeeweeChatStore,
) -> None:
    await store.ensure_room("random")
    first = await store.append("general", "alice", "c1", "hello")
    elsewhere = await store.append("random", "alice", "c1", "hello")
    nowhere = await store.append("nowhere", "alice", "c1", "hello")
    assert elsewhere == nowhere == AppendResult.of(first.message, False, "c1")
    assert (await store.append("random", "alice", "c2", "first here")).message.seq == 1


async def test_concurrent_retries_with_same_client_id_are_stored_once(
    store: PeeweeChatStore,
) -> None:
    results = await asyncio.gather(
        *(store.append("general", "alice", "c1", "hello") for _ in range(10))
    )
    assert sum(result.created for result in results) == 1
    assert {result.message for result in results} == {results[0].message}
    assert len(await store.messages_after("general", 0, 100)) == 1


async def test_retry_in_the_same_transaction_as_the_original_is_stored_once(
    store: PeeweeChatStore,
) -> None:
    blocker, release = await _block_writer(store)
    commits = store.commits
    appends = [
        asyncio.ensure_future(store.append("general", "alice", "c1", "hello")) for _ in range(2)
    ]
    await eventually(lambda: store.pending_writes == 3, "both appends queue behind the blocker")
    release.set()
    await blocker
    original, retry = await asyncio.gather(*appends)

    assert store.commits == commits + 2  # the blocker's transaction, then both appends in one
    assert (original.created, retry.created) == (True, False)
    assert retry.message == original.message
    assert [(room.name, room.last_seq) for room in await store.rooms()] == [("general", 1)]


async def test_writes_that_arrive_together_share_one_commit(store: PeeweeChatStore) -> None:
    blocker, release = await _block_writer(store)
    commits = store.commits
    appends = [
        asyncio.ensure_future(store.append("general", f"user{i}", "c1", "hi")) for i in range(50)
    ]
    await eventually(lambda: store.pending_writes == 51, "50 appends queue behind the blocker")
    release.set()
    await blocker
    results = await asyncio.gather(*appends)

    # One commit for the blocker, one for all 50 appends (51 if each committed alone).
    assert store.commits == commits + 2
    assert sorted(result.message.seq for result in results) == list(range(1, 51))


async def test_a_batch_of_writes_that_need_no_fsync_commits_without_one(
    store: PeeweeChatStore,
) -> None:
    sqlite_store = isinstance(store.database, peewee.SqliteDatabase)

    def level() -> int | None:
        # 1: NORMAL (no fsync at COMMIT), 2: FULL; PostgreSQL always flushes.
        if not sqlite_store:
            return None
        return int(store.database.execute_sql("PRAGMA synchronous").fetchone()[0])

    async def batch(*durable: bool) -> list[int | None]:
        blocker, release = await _block_writer(store)
        writes = [asyncio.ensure_future(store._write(level, durable=d)) for d in durable]
        await eventually(lambda: store.pending_writes == len(durable) + 1, "queued together")
        release.set()
        await blocker
        return list(await asyncio.gather(*writes))

    full, normal = (2, 1) if sqlite_store else (None, None)
    # Only writes whose callers sync themselves (uploads): no fsync at COMMIT.
    assert await batch(False, False) == [normal, normal]
    await store.sync_writes()
    # One write that must be durable when it returns: the whole batch is fsynced.
    assert await batch(False, True) == [full, full]
    # And the connection is back to FULL for the batches after.
    assert await store._write(level) == full


async def test_messages_before_none_gives_the_newest_ascending(store: PeeweeChatStore) -> None:
    for k in range(10):
        await store.append("general", "alice", f"c{k}", f"m{k}")
    newest = await store.messages_before("general", None, 3)
    assert [message.seq for message in newest] == [8, 9, 10]


async def test_messages_before_a_seq_gives_the_page_below_it(store: PeeweeChatStore) -> None:
    for k in range(10):
        await store.append("general", "alice", f"c{k}", f"m{k}")
    page = await store.messages_before("general", 5, 3)
    assert [message.seq for message in page] == [2, 3, 4]


async def test_messages_after_respects_the_limit(store: PeeweeChatStore) -> None:
    for k in range(10):
        await store.append("general", "alice", f"c{k}", f"m{k}")
    page = await store.messages_after("general", 4, 3)
    assert [message.seq for message in page] == [5, 6, 7]


async def test_messages_of_one_room_do_not_show_in_another(store: PeeweeChatStore) -> None:
    await store.ensure_room("random")
    await store.append("random", "alice", "c1", "elsewhere")
    assert await store.messages_after("general", 0, 10) == []
    assert await store.messages_before("general", None, 10) == []


# Durability and faults ---------------------------------------------------------


async def test_data_survives_closing_and_reopening(store_opener: OpenStore) -> None:
    store = await store_opener()
    await store.ensure_room("random")
    stored = await store.append("random", "alice", "c1", "kept")
    await store.create_user("alice", "hash")
    await store.add_token("alice", "token-hash")
    await store.close()

    reopened = await store_opener()
    assert await reopened.messages_after("random", 0, 10) == [stored.message]
    assert await reopened.user_for_token("token-hash") == "alice"
    retry = await reopened.append("random", "alice", "c1", "kept")
    assert retry == AppendResult.of(stored.message, False, stored.client_id)


async def test_a_locked_database_refuses_every_write_of_the_batch_then_recovers(
    store_opener: OpenStore, store_config: StoreConfig
) -> None:
    store = await store_opener(lock_timeout=0.2)
    await store.append("general", "alice", "c0", "before")

    with store_write_lock(store_config):
        outcomes = await asyncio.gather(
            *(store.append("general", "alice", f"c{k}", "during") for k in range(1, 6)),
            return_exceptions=True,
        )
    assert all(isinstance(outcome, StorageError) for outcome in outcomes)
    assert [m.text for m in await store.messages_after("general", 0, 10)] == ["before"]

    after = await store.append("general", "alice", "c1", "after")
    assert (after.created, after.message.seq) == (True, 2)  # the failed batch burned no seq


async def test_a_room_refused_by_a_locked_database_can_be_created_afterwards(
    store_opener: OpenStore, store_config: StoreConfig
) -> None:
    store = await store_opener(lock_timeout=0.2)
    with store_write_lock(store_config), pytest.raises(StorageError):
        await store.ensure_room("random")
    assert (await store.ensure_room("random"))[1]


async def test_reads_go_on_while_another_connection_holds_the_write_lock(
    store_opener: OpenStore, store_config: StoreConfig
) -> None:
    store = await store_opener(lock_timeout=0.2)
    await store.append("general", "alice", "c1", "readable")
    with store_write_lock(store_config):
        assert [m.text for m in await store.messages_after("general", 0, 10)] == ["readable"]
        assert [room.name for room in await store.rooms()] == ["general"]


async def test_a_closed_store_raises_storage_error(store_opener: OpenStore) -> None:
    store = await store_opener()
    await store.close()
    with pytest.raises(StorageError):
        await store.append("general", "alice", "c1", "late")
    with pytest.raises(StorageError):
        await store.rooms()


async def test_close_finishes_the_writes_already_queued(store_opener: OpenStore) -> None:
    store = await store_opener()
    # Held, so that the 20 writes are surely still queued when close() starts.
    blocker, release = await _block_writer(store)
    appends = [
        asyncio.ensure_future(store.append("general", "alice", f"c{k}", "x")) for k in range(20)
    ]
    await eventually(lambda: store.pending_writes == 21, "20 appends queue behind the blocker")
    closing = asyncio.ensure_future(store.close())
    # A closed store reports no pending writes: close() has begun, behind the 21.
    await eventually(lambda: store.pending_writes == 0, "close() has begun")
    release.set()
    await blocker
    await closing
    assert all(append.result().created for append in appends)

    reopened = await store_opener()
    assert len(await reopened.messages_after("general", 0, 100)) == 20


# Accounts and tokens -----------------------------------------------------------


async def test_user_names_are_unique_case_insensitively(store: PeeweeChatStore) -> None:
    assert await store.create_user("Alice", "hash") == "Alice"
    with pytest.raises(UsernameTaken):
        await store.create_user("aLiCe", "other")
    credentials = await store.credentials("ALICE")
    assert credentials is not None
    assert (credentials.username, credentials.password_hash) == ("Alice", "hash")


async def test_a_refused_registration_does_not_undo_others_in_its_batch(
    store: PeeweeChatStore,
) -> None:
    await store.create_user("alice", "hash")
    outcomes = await asyncio.gather(
        store.create_user("ALICE", "x"), store.create_user("bob", "y"), return_exceptions=True
    )
    assert isinstance(outcomes[0], UsernameTaken)
    assert outcomes[1] == "bob"
    assert await store.list_users() == ["alice", "bob"]


async def test_unknown_user_has_no_credentials(store: PeeweeChatStore) -> None:
    assert await store.credentials("nobody") is None
    assert not await store.set_password("nobody", "hash")
    assert not await store.delete_user("nobody")


async def test_users_are_listed_case_insensitively_sorted(store: PeeweeChatStore) -> None:
    for name in ("carol", "Bob", "alice"):
        await store.create_user(name, "hash")
    assert await store.list_users() == ["alice", "Bob", "carol"]


async def test_set_password_replaces_the_hash(store: PeeweeChatStore) -> None:
    await store.create_user("alice", "old")
    assert await store.set_password("ALICE", "new")
    credentials = await store.credentials("alice")
    assert credentials is not None and credentials.password_hash == "new"


async def test_token_resolves_to_the_canonical_name_until_revoked(store: PeeweeChatStore) -> None:
    await store.create_user("Alice", "hash")
    await store.add_token("alice", "t1")
    await store.add_token("alice", "t2")
    assert await store.user_for_token("t1") == "Alice"
    await store.delete_token("t1")
    assert await store.user_for_token("t1") is None
    assert await store.user_for_token("t2") == "Alice"


async def test_revoking_all_tokens_of_a_user_spares_other_users(store: PeeweeChatStore) -> None:
    await store.create_user("alice", "hash")
    await store.create_user("bob", "hash")
    await store.add_token("alice", "a1")
    await store.add_token("alice", "a2")
    await store.add_token("bob", "b1")
    assert sorted(await store.delete_tokens_of("Alice")) == ["a1", "a2"]
    assert await store.user_for_token("a1") is None
    assert await store.user_for_token("b1") == "bob"


async def test_token_for_an_unknown_user_raises_unknown_user(store: PeeweeChatStore) -> None:
    with pytest.raises(UnknownUser):
        await store.add_token("nobody", "t1")


async def test_deleting_a_user_removes_tokens_and_keeps_messages_and_the_name(
    store: PeeweeChatStore,
) -> None:
    await store.create_user("alice", "hash")
    await store.add_token("alice", "t1")
    await store.append("general", "alice", "c1", "still here")
    assert await store.delete_user("ALICE")
    assert await store.user_for_token("t1") is None
    assert await store.list_users() == []
    assert await store.credentials("alice") is None
    assert [m.author for m in await store.messages_after("general", 0, 10)] == ["alice"]
    # Nobody can take the name over, and with it the history shown under it.
    for name in ("alice", "ALICE"):
        with pytest.raises(UsernameTaken):
            await store.create_user(name, "again")
    assert not await store.delete_user("alice")
    assert not await store.set_password("alice", "other")
    with pytest.raises(UnknownUser):
        await store.add_token("alice", "t2")


async def test_a_disabled_user_cannot_sign_in_until_enabled(store: PeeweeChatStore) -> None:
    await store.create_user("alice", "hash")
    await store.add_token("alice", "t1")
    assert await store.set_disabled("alice", True)
    assert await store.user_for_token("t1") is None
    assert await store.credentials("alice") is None
    with pytest.raises(UnknownUser):
        await store.add_token("alice", "t2")
    assert await store.list_users() == ["alice"]
    assert await store.set_disabled("Alice", False)
    credentials = await store.credentials("alice")
    assert credentials is not None and credentials.password_hash == "hash"
    assert not await store.set_disabled("nobody", True)


async def test_every_ended_session_is_logged_for_the_other_servers(store: PeeweeChatStore) -> None:
    start, nothing = await store.revocations_after(None)
    assert nothing == []
    for name in ("alice", "bob", "carol"):
        await store.create_user(name, "hash")
    for token_hash in ("a1", "a2", "a3", "b1", "b2", "c1"):
        user = {"a": "alice", "b": "bob", "c": "carol"}[token_hash[0]]
        await store.add_token(user, token_hash)
    await store.delete_token("a1")
    await store.delete_tokens_of("alice", keep="a3")
    await store.set_disabled("bob", True)
    await store.delete_user("carol")
    await store.delete_token("unknown")
    position, revoked = await store.revocations_after(start)
    assert sorted(revoked) == ["a1", "a2", "b1", "b2", "c1"]
    assert await store.revocations_after(position) == (position, [])
    assert await store.user_for_token("a3") == "alice"


async def test_sessions_have_an_opaque_id_an_agent_and_can_be_ended_one_by_one(
    store: PeeweeChatStore,
) -> None:
    await store.create_user("alice", "hash")
    await store.create_user("bob", "hash")
    first = await store.add_token("alice", "a1", "Chat Desktop 0.1 (Linux)")
    second = await store.add_token("alice", "a2")
    bobs = await store.add_token("bob", "b1")
    sessions = await store.sessions_of("ALICE")
    # Listed oldest first; two made in the same millisecond may come either
    # way, so the pairs are compared without their order.
    assert sorted((s.session_id, s.agent, s.token_hash) for s in sessions) == sorted(
        [(first, "Chat Desktop 0.1 (Linux)", "a1"), (second, "", "a2")]
    )
    assert [s.created for s in sessions] == sorted(s.created for s in sessions)
    assert all(s.last_used == s.created for s in sessions)
    assert len({first, second, bobs}) == 3 and "a1" not in first
    assert await store.delete_session("alice", bobs) is None
    assert await store.user_for_token("b1") == "bob"
    assert await store.delete_session("alice", first) == "a1"
    assert [s.session_id for s in await store.sessions_of("alice")] == [second]


async def test_touching_a_session_moves_its_last_use_and_clean_up_ends_unused_ones(
    store: PeeweeChatStore,
) -> None:
    await store.create_user("alice", "hash")
    await store.add_token("alice", "old")
    await store.add_token("alice", "used")
    [before] = [s for s in await store.sessions_of("alice") if s.token_hash == "used"]
    await store.touch_tokens(["used"])
    owner = await store.token_owner("used")
    assert owner is not None and owner.last_used >= before.last_used
    # Everything unused since a moment after "used" was touched goes.
    assert await store.clean_up([], "0000", "0000") == 0
    assert await store.clean_up([], owner.last_used, owner.last_used) == 1
    assert await store.user_for_token("old") is None
    assert await store.user_for_token("used") == "alice"
    # A token in use is touched before the clean-up looks at it.
    assert await store.clean_up(["used"], now_ts(), "0000") == 0
    assert await store.user_for_token("used") == "alice"


# Migrations --------------------------------------------------------------------


@pytest.fixture
def store_database(store_config: StoreConfig) -> Iterator[peewee.Database]:
    """A bare Peewee database on ``store_config``, for driving migrations directly."""
    db = database_for(store_config.db_url, store_config.data_dir, lock_timeout=5.0)
    try:
        yield db
    finally:
        db.close()


def test_a_fresh_database_runs_every_migration_once(store_database: peewee.Database) -> None:
    newest = len(MIGRATIONS)
    assert migrate(store_database) == list(range(1, newest + 1))
    assert migrate(store_database) == []
    assert schema_version(store_database) == newest


def test_an_existing_database_runs_only_the_missing_migrations(
    store_database: peewee.Database,
) -> None:
    migrate(store_database)
    store_database.execute_sql(
        "INSERT INTO rooms (name, last_seq, created) VALUES ('kept', 7, 'now')"
    )
    runs: list[int] = []
    newest = len(MIGRATIONS) + 1
    steps = (*MIGRATIONS, Migration(newest, "a later change", lambda db: runs.append(newest)))

    assert migrate(store_database, steps) == [newest]
    assert migrate(store_database, steps) == []
    assert runs == [newest]
    cursor = store_database.execute_sql("SELECT last_seq FROM rooms WHERE name = 'kept'")
    assert cursor.fetchone() == (7,)


def test_migrations_must_be_numbered_without_holes(store_database: peewee.Database) -> None:
    step = MIGRATIONS[0]
    with pytest.raises(ValueError):
        migrate(store_database, (step, Migration(3, "skips 2", step.apply)))


def test_a_database_of_the_first_release_keeps_its_accounts_and_tokens(
    store_database: peewee.Database,
) -> None:
    # What the first release made: only step 1, with a user, two tokens, a message.
    assert migrate(store_database, MIGRATIONS[:1]) == [1]
    p = store_database.param
    store_database.execute_sql(
        f"INSERT INTO users (name, name_key, password_hash, created) VALUES ({p}, {p}, {p}, {p})",
        ("Alice", "alice", "scrypt$16384$8$1$AAAA$AAAA", "2026-01-01T00:00:00.000Z"),
    )
    for token_hash in ("h1", "h2"):
        store_database.execute_sql(
            f"INSERT INTO tokens (hash, user_id, created) VALUES ({p}, 1, {p})",
            (token_hash, "2026-01-02T00:00:00.000Z"),
        )

    assert migrate(store_database) == list(range(2, len(MIGRATIONS) + 1))

    cursor = store_database.execute_sql(
        "SELECT hash, session_id, last_used, agent FROM tokens ORDER BY hash"
    )
    rows = cursor.fetchall()
    assert [row[0] for row in rows] == ["h1", "h2"]
    ids = [row[1] for row in rows]
    assert all(ids) and len(set(ids)) == 2 and not {"h1", "h2"} & set(ids)
    assert [row[2:] for row in rows] == [(None, None), (None, None)]
    cursor = store_database.execute_sql("SELECT name, disabled, removed FROM users")
    assert cursor.fetchall() == [("Alice", None, None)]
    with pytest.raises(peewee.IntegrityError), store_database.atomic():
        # Session ids are unique.
        store_database.execute_sql(f"UPDATE tokens SET session_id = {p}", (ids[0],))


async def test_reopening_runs_no_migration_twice_and_keeps_data(
    store_opener: OpenStore, store_database: peewee.Database
) -> None:
    store = await store_opener()
    await store.append("general", "alice", "c1", "kept")
    await store.close()
    await (await store_opener()).close()

    cursor = store_database.execute_sql("SELECT version FROM schema_version ORDER BY version")
    assert [version for (version,) in cursor.fetchall()] == list(range(1, len(MIGRATIONS) + 1))
    reopened = await store_opener()
    assert [m.text for m in await reopened.messages_after("general", 0, 10)] == ["kept"]


async def test_a_writer_held_by_the_fault_injection_file_has_committed_but_not_reported(
    tmp_path: Path,
) -> None:
    hold = tmp_path / "hold"
    config = StoreConfig(db_url=None, data_dir=tmp_path / "data")
    store = open_store(config, hold_commits_while=hold)
    await store.open()
    try:
        hold.touch()
        append = asyncio.ensure_future(store.append("general", "alice", "c1", "held"))
        db_file = tmp_path / "data" / SQLITE_FILE_NAME

        def stored() -> list[str]:
            with sqlite.connect(f"file:{db_file}?mode=ro", uri=True) as db:
                texts = [row[0] for row in db.execute("SELECT text FROM messages")]
            db.close()
            return texts

        await eventually(lambda: stored() == ["held"], "the held append is committed")
        assert not append.done()
        hold.unlink()
        assert (await append).created
    finally:
        hold.unlink(missing_ok=True)
        await store.close()


# Secrets at rest ---------------------------------------------------------------


async def test_passwords_are_stored_only_as_hashes(tmp_path: Path) -> None:
    config = StoreConfig(db_url=None, data_dir=tmp_path / "data")
    store = open_store(config)
    await store.open()
    try:
        password = "correct horse battery staple"
        await store.create_user("alice", await hash_password(password))
        credentials = await store.credentials("alice")
    finally:
        await store.close()

    raw = b"".join(path.read_bytes() for path in (tmp_path / "data").iterdir())
    assert password.encode() not in raw
    assert credentials is not None
    assert await verify_password(password, credentials.password_hash)


def test_sqlite_url_names_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "my.db"
    db = database_for(f"sqlite://{path}", tmp_path / "data", lock_timeout=1.0)
    try:
        db.connect()
        assert db.execute_sql("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute_sql("PRAGMA synchronous").fetchone() == (2,)  # FULL
    finally:
        db.close()
    assert path.exists()


@pytest.mark.parametrize("url", ["sqlite://relative.db", "mysql://db", "nonsense"])
def test_an_unusable_db_url_is_refused_with_a_clear_error(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError, match="db_url"):
        open_store(StoreConfig(db_url=url, data_dir=tmp_path))


async def test_a_second_open_store_in_one_process_is_refused(store_opener: OpenStore) -> None:
    await store_opener()
    with pytest.raises(StorageError):
        await store_opener()


# Several server processes on one PostgreSQL ------------------------------------

_APPENDER = """
import asyncio, sys
from dataclasses import dataclass
from pathlib import Path
from chat_server.storage import open_store

@dataclass
class Config:
    db_url: str
    data_dir: Path

async def main(url: str, name: str, first: str, second: str) -> None:
    store = open_store(Config(url, Path(".")))
    await store.open()
    try:
        await store.ensure_room("random")
        # Alternating rooms, in the opposite order to the other processes: batches
        # that locked their rooms in arrival order would deadlock.
        rooms = [first, second] * 40
        await asyncio.gather(
            *(store.append(room, name, f"c{k}", "x") for k, room in enumerate(rooms))
        )
        await store.append("general", "shared", "same-id", "from every process")
    finally:
        await store.close()

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.mark.postgres
async def test_several_processes_on_one_postgresql_share_gapless_seqs(
    store_pg_url: str, tmp_path: Path
) -> None:
    _empty_pg(store_pg_url)
    orders = [("general", "random"), ("random", "general"), ("general", "random")]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _APPENDER, store_pg_url, f"p{index}", *order
        )
        for index, order in enumerate(orders)
    ]
    codes = await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes)), 90)
    assert codes == [0, 0, 0]

    store = open_store(StoreConfig(store_pg_url, tmp_path))
    await store.open()
    try:
        general = await store.messages_after("general", 0, 1000)
        random = await store.messages_after("random", 0, 1000)
    finally:
        await store.close()
    assert [message.seq for message in general] == list(range(1, 3 * 40 + 2))
    assert [message.seq for message in random] == list(range(1, 3 * 40 + 1))
    assert [message.author for message in general].count("shared") == 1


async def test_an_unreachable_postgresql_fails_open_with_storage_error(tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    store = open_store(StoreConfig("postgresql://postgres@127.0.0.1:1/chat", tmp_path))
    with pytest.raises(StorageError):
        await store.open()
    await store.close()


# Version 2: the room log ---------------------------------------------------------


async def test_the_room_log_and_conversations_on_each_database(store: PeeweeChatStore) -> None:
    for name in ("alice", "bob", "carol"):
        await store.create_user(name, "hash")
    await store.set_admin("carol", True)
    first = await store.append("general", "alice", "c1", "hello")
    reply = await store.append("general", "bob", "c2", "hi", reply_to=1)
    assert reply.message.reply_to == 1
    with pytest.raises(BadTarget):
        await store.append("general", "bob", "c3", "to nothing", reply_to=99)
    edited = await store.write("alice", SendEdit("general", 1, "hello!", "c4"))
    assert (edited.seq, edited.created) == (3, True)
    assert await store.write("alice", SendEdit("general", 1, "hello!", "c4")) == AppendResult.of(
        edited.entry,
        False,
        "c4",  # type: ignore[arg-type]
    )
    with pytest.raises(NotYours):
        await store.write("bob", SendEdit("general", 1, "mine now", "c5"))
    await store.write("bob", SendReact("general", 1, "👍", True, "c6"))
    nothing = await store.write("bob", SendReact("general", 1, "👍", True, "c7"))
    assert nothing.entry is None and nothing.seq == 4
    await store.write("carol", SendDelete("general", 2, "c8"))  # an admin's
    with pytest.raises(UnknownMessage):
        await store.write("bob", SendReact("general", 2, "👍", True, "c9"))
    entries = await store.entries_after("general", 0, 10, everything=True)
    assert [entry.type for entry in entries] == ["message", "message", "edit", "react", "delete"]
    current = await store.messages_after("general", 0, 10)
    assert current[0].text == "hello!" and current[0].edited is not None
    assert current[0].reactions == {"👍": ["bob"]}
    assert current[1].deleted and current[1].text == "" and first.seq == 1

    room, created = await store.create_room("team", "alice", True)
    assert created and room.kind == "private" and room.members == ("alice",)
    with pytest.raises(NameTaken):
        await store.create_room("team", "bob", False)
    await store.write("alice", Invite("team", "BOB", "c10"))
    await store.write("alice", SendTopic("team", "plans", "c11"))
    await store.append("team", "alice", "c12", "secret")
    assert await store.set_read("bob", "team", 99) == 3
    assert await store.set_read("bob", "team", 2) is None
    assert await store.reads("team") == {"bob": 3}
    bobs = {room.name: room for room in await store.rooms_for("bob")}
    assert bobs["team"].members == ("alice", "bob") and bobs["team"].topic == "plans"
    assert (bobs["team"].read_seq, bobs["team"].unread) == (3, 0)
    assert bobs["general"].unread == 1  # alice's message; the deleted one and his own do not count
    assert "team" not in {room.name for room in await store.rooms_for("carol")}
    dm, created = await store.open_dm("alice", ["Bob", "bob"])
    assert created and dm.kind == "direct" and dm.members == ("alice", "bob")
    assert (await store.open_dm("bob", ["alice"]))[0].name == dm.name
    assert await store.delete_room("team") == ["alice", "bob"]
    assert await store.entries_after("team", 0, 10, everything=True) == []
    with pytest.raises(BadTarget):
        await store.create_room("team", "alice", False)
    assert [(p.username, p.admin) for p in await store.people()] == [
        ("alice", False),
        ("bob", False),
        ("carol", True),
    ]


@pytest.mark.parametrize("first", ["a write", "a chore"])
async def test_no_commit_on_the_loop_right_after_the_writer_grouped_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    # Issue 12: a group commit means several writers are at it; the next
    # message goes to the writer too (not an fsync on the loop), for
    # INLINE_QUIET. Issue 17: the store's own chores (the loop's index rows,
    # checkpoints) in the same transaction as one write make no group. A
    # lone message on an idle store is committed on the loop.
    monkeypatch.setattr(workers, "INLINE_QUIET", 60.0)
    store = open_store(StoreConfig(db_url=None, data_dir=tmp_path / "data"))
    await store.open()
    try:
        writer = store._writer
        assert writer is not None
        async with writer_held(store):
            if first == "a chore":
                before = writer.submit(writer.checkpoint_after_commit, chore=True)
            else:
                before = store.append_nowait("general", "alice", "g0", "together")
            write = store.append_nowait("general", "alice", "g1", "together")
        await asyncio.gather(asyncio.wrap_future(before), asyncio.wrap_future(write))
        # The writer may still hold its lock for the checkpoint after its
        # commit (long under load); the loop then rightly leaves it the work.
        await eventually(lambda: not writer.pending and not writer.transaction_lock.locked())

        after = store.append_now("general", "alice", "after", "right after")
        if first == "a write":
            assert after is None
            monkeypatch.setattr(workers, "INLINE_QUIET", 0.0)
            after = store.append_now("general", "alice", "later", "once it is quiet")
        assert after is not None
        assert after.result().message.seq == (3 if first == "a write" else 2)
        assert store.inline_commits == 1
    finally:
        await store.close()


def test_sqlite_connections_have_room_for_every_statement_prepared(tmp_path: Path) -> None:
    # Issue 12: with pysqlite3's default room (100), the migrations and the
    # sign-ups filled it and each message's UPDATE and INSERT were compiled
    # anew every time; the server runs a few hundred distinct statements.
    db = database_for(None, tmp_path, lock_timeout=5.0)
    assert db.connect_params["cached_statements"] == STATEMENT_CACHE >= 500
    migrate(db)
    db.close()
