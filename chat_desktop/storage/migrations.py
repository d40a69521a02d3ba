"""Numbered schema migrations of the client cache.

The cache file outlives the program that wrote it, so its schema only ever
moves forward through the numbered steps below; the ``schema_version`` table
records which steps a file has had, and :func:`migrate` runs the missing ones,
each in its own transaction together with its ``schema_version`` row, so a
crash half-way leaves a file that the next start simply continues.

A step is frozen once released: it is plain SQL rather than derived from the
Peewee models in :mod:`.models`, because the models describe the *current*
schema and would silently change what an old step does. A new column or table
is a new step appended to :data:`MIGRATIONS`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from peewee import SqliteDatabase

log = logging.getLogger(__name__)


class SchemaTooNewError(Exception):
    """The file was migrated by a newer version of the program than this one."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema: its number, what it does, and its SQL statements."""

    version: int
    description: str
    statements: tuple[str, ...]


# The words of a text as a table, for the statements of migration 2: the words
# hold only letters, digits and marks, so quoting them into a JSON array needs
# no escaping. {0}: an SQL expression of the space-separated words.
_WORDS_OF = """json_each('["' || replace({0}, ' ', '","') || '"]')"""
_ADD_TERMS = (
    "INSERT OR IGNORE INTO message_search_terms (term) SELECT value FROM "
    + _WORDS_OF.format("chat_search_words({0})")
    + " WHERE value <> ''"
)
_FORGET_TERMS = (
    "DELETE FROM message_search_terms WHERE term IN (SELECT value FROM "
    + _WORDS_OF.format("chat_search_words({0})")
    + ") AND NOT EXISTS (SELECT 1 FROM message_search"
    " WHERE message_search MATCH '\"' || message_search_terms.term || '\"')"
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "rooms, messages, outbox and settings",
        (
            # last_seq: the newest seq the server reported for the room;
            # read_seq: the newest seq the user has seen (unread counts start above it).
            """CREATE TABLE rooms (
                name TEXT PRIMARY KEY NOT NULL,
                last_seq INTEGER NOT NULL DEFAULT 0,
                read_seq INTEGER NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE messages (
                id INTEGER PRIMARY KEY,
                room TEXT NOT NULL,
                seq INTEGER NOT NULL,
                client_id TEXT NOT NULL,
                author TEXT NOT NULL,
                text TEXT NOT NULL,
                ts TEXT NOT NULL
            )""",
            # The unique index is both the dedupe rule and what makes latest(),
            # before() and the per-room MAX(seq) index look-ups instead of scans.
            "CREATE UNIQUE INDEX messages_room_seq ON messages (room, seq)",
            """CREATE TABLE outbox (
                id INTEGER PRIMARY KEY,
                client_id TEXT NOT NULL UNIQUE,
                room TEXT NOT NULL,
                text TEXT NOT NULL,
                created TEXT NOT NULL,
                failed TEXT
            )""",
            """CREATE TABLE settings (
                key TEXT PRIMARY KEY NOT NULL,
                value TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        2,
        "full-text search index of cached messages",
        (
            # The words of each message, cut by the contract's rule in Python
            # (SEARCH_WORDS_FUNCTION, registered on every connection of the
            # cache); FTS5 takes them verbatim: the ascii tokenizer only splits
            # at the spaces between them. rowid = messages.id. No positions
            # (detail=none): prefix terms joined by AND need none.
            "CREATE VIRTUAL TABLE message_search USING fts5("
            "words, tokenize = 'ascii', detail = 'none', columnsize = 0)",
            "INSERT INTO message_search (rowid, words)"
            " SELECT id, chat_search_words(text) FROM messages",
            # Every word the index holds, so that ChatCache.search can give
            # FTS5 a query term as the whole words it is a prefix of.
            "CREATE TABLE message_search_terms (term TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID",
            f"INSERT OR IGNORE INTO message_search_terms (term) SELECT j.value"
            f" FROM message_search, {_WORDS_OF.format('words')} AS j WHERE j.value <> ''",
            # Triggers keep both in the very statement that changes a message,
            # whoever writes it: saved, edited or deleted. A word leaves the
            # list when no message holds it any more.
            f"""CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
                INSERT INTO message_search (rowid, words)
                VALUES (new.id, chat_search_words(new.text));
                {_ADD_TERMS.format("new.text")};
            END""",
            f"""CREATE TRIGGER message_search_update AFTER UPDATE OF text ON messages BEGIN
                DELETE FROM message_search WHERE rowid = old.id;
                INSERT INTO message_search (rowid, words)
                VALUES (new.id, chat_search_words(new.text));
                {_ADD_TERMS.format("new.text")};
                {_FORGET_TERMS.format("old.text")};
            END""",
            f"""CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
                DELETE FROM message_search WHERE rowid = old.id;
                {_FORGET_TERMS.format("old.text")};
            END""",
        ),
    ),
    Migration(
        3,
        "the room log (Version 2): message state, other entries, room kinds, a general outbox",
        (
            # The messages table holds every entry of a room's log from now
            # on (kind: message, edit, delete, react, member, topic), so that a
            # run of seqs without a hole still means "nothing missing here".
            # Only a message keeps text; another entry keeps what it says in
            # ``detail`` (JSON) and never a text: an edit's words live in its
            # target message only, and go with it when it is deleted.
            "ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message'",
            "ALTER TABLE messages ADD COLUMN reply_to INTEGER",
            "ALTER TABLE messages ADD COLUMN edited TEXT",
            "ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0",
            # [[emoji, [users]], ...] in the order the emoji first appeared.
            "ALTER TABLE messages ADD COLUMN reactions TEXT",
            # The newest seq of the room's log the message's state reflects:
            # an entry at or below it is already in that state (applying it
            # again would undo a later one).
            "ALTER TABLE messages ADD COLUMN state_seq INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE messages ADD COLUMN detail TEXT",
            # [{"id","name","size","type"}, ...]: the files a message carries.
            "ALTER TABLE messages ADD COLUMN files TEXT",
            "UPDATE messages SET state_seq = seq",
            "ALTER TABLE rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'public'",
            "ALTER TABLE rooms ADD COLUMN topic TEXT NOT NULL DEFAULT ''",
            # JSON list of user names (private and direct rooms).
            "ALTER TABLE rooms ADD COLUMN members TEXT",
            # The server's unread count (unread_base), the last_seq it was
            # counted at (unread_at) and the read_seq it was counted from
            # (unread_read; -1: never counted): messages the cache does not
            # hold still count as unread.
            "ALTER TABLE rooms ADD COLUMN unread_base INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE rooms ADD COLUMN unread_at INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE rooms ADD COLUMN unread_read INTEGER NOT NULL DEFAULT -1",
            # Every write waits here in one ordered queue (kind: message, edit,
            # delete, react, read, topic, invite, leave, remove, open-dm). Its
            # target is a seq, or while the target message is itself in the
            # outbox that message's client_id (target_client_id) until its ack.
            "ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'message'",
            "ALTER TABLE outbox ADD COLUMN target INTEGER",
            "ALTER TABLE outbox ADD COLUMN target_client_id TEXT",
            "ALTER TABLE outbox ADD COLUMN detail TEXT",
            """CREATE TABLE drafts (
                room TEXT PRIMARY KEY NOT NULL,
                text TEXT NOT NULL
            )""",
            # Other members' read positions in private and direct rooms ("seen by").
            """CREATE TABLE read_positions (
                room TEXT NOT NULL,
                user TEXT NOT NULL,
                seq INTEGER NOT NULL,
                PRIMARY KEY (room, user)
            )""",
        ),
    ),
    Migration(
        4,
        "who created each room",
        (
            # The room object's "creator" (our server's extension): whoever
            # created the room may remove its members. NULL: not known (a room
            # cached before this step, or a server that does not say), until
            # the next room object tells.
            "ALTER TABLE rooms ADD COLUMN creator TEXT",
        ),
    ),
    Migration(
        5,
        "search: match lists for 2- and 3-character prefixes, messages by time",
        (
            # A query word of 2 or 3 characters ("ka", "mee") is the prefix of
            # hundreds of words: as an OR of them all FTS5 steps hundreds of
            # match lists at once, and as a prefix term it merges them all
            # first (60 ms of CPU for "vu" in 100,000 cached messages, issue
            # 14). With prefix = '2 3' FTS5 keeps one match list per such
            # prefix. The option is fixed when the table is made, so the table
            # is made again, from its own tokens (not cut again from the
            # texts): copied aside, dropped, made, filled. The triggers of
            # migration 2 name the table, not this copy of it, and so go on
            # writing to the new one.
            "CREATE TABLE message_search_copy AS SELECT rowid AS id, words FROM message_search",
            "DROP TABLE message_search",
            "CREATE VIRTUAL TABLE message_search USING fts5("
            "words, tokenize = 'ascii', detail = 'none', columnsize = 0, prefix = '2 3')",
            "INSERT INTO message_search (rowid, words) SELECT id, words FROM message_search_copy",
            "DROP TABLE message_search_copy",
            # A word that thousands of messages hold is found newest first by
            # walking the messages in time order and keeping the matches, not
            # by sorting every match (ChatCache.search).
            "CREATE INDEX messages_ts ON messages (ts)",
        ),
    ),
)

# The SQL function the search index's statements call: a message's text to its
# words (chat_protocol.search.index_text). Every connection to a cache must
# have it, which chat_desktop.storage.cache's _connect sees to.
SEARCH_WORDS_FUNCTION = "chat_search_words"


def run_sql(db: SqliteDatabase, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one SQL statement on ``db`` and return all its rows.

    The one typed doorway to raw SQL: Peewee's stubs leave ``execute_sql`` untyped.
    """
    cursor = db.execute_sql(sql, params)  # type: ignore[no-untyped-call]
    return list(cursor.fetchall())


def run_many(db: SqliteDatabase, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Run one SQL statement on ``db`` once per row of parameters (``executemany``)."""
    connection = db.connection()  # type: ignore[no-untyped-call]
    connection.executemany(sql, rows)


def current_version(db: SqliteDatabase) -> int:
    """The highest migration applied to ``db`` (0 for a new file)."""
    run_sql(
        db,
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY NOT NULL, description TEXT NOT NULL, applied TEXT NOT NULL)",
    )
    rows = run_sql(db, "SELECT MAX(version) FROM schema_version")
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def migrate(db: SqliteDatabase, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply the steps of ``migrations`` that ``db`` has not had; return their numbers.

    Raises :class:`SchemaTooNewError` when the file knows steps this program does not.
    """
    known = max((step.version for step in migrations), default=0)
    have = current_version(db)
    if have > known:
        raise SchemaTooNewError(f"cache schema {have} is newer than this program's ({known})")
    applied: list[int] = []
    for step in sorted(migrations, key=lambda step: step.version):
        if step.version <= have:
            continue
        with db.atomic():
            for statement in step.statements:
                run_sql(db, statement)
            run_sql(
                db,
                "INSERT INTO schema_version (version, description, applied) VALUES (?, ?, ?)",
                (step.version, step.description, datetime.now(UTC).isoformat()),
            )
        log.info("cache migrated to schema %d (%s)", step.version, step.description)
        applied.append(step.version)
    return applied
