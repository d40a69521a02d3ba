"""The desktop client's local cache: one SQLite file per (server, account).

The controller writes every message it hears into the cache and reads the
cache first when the user opens a room, so history shows at once, offline too,
and the next connection asks the server only for what is newer
(:meth:`ChatCache.positions` feeds the ``since`` of ``hello``). The outbox keeps
what the user typed until the server acknowledges it, across restarts.

Everything here is synchronous and quick (a few milliseconds even with a
hundred thousand messages: every read goes through the ``(room, seq)`` index),
so the controller calls it straight from the Qt/asyncio thread. The file runs
in WAL mode so that a reader never waits for the writer.

:meth:`ChatCache.search` finds cached messages by their words, offline, by
the same rule as the server (:mod:`chat_protocol.search`): an FTS5 index
(table ``message_search``, migration 2) that triggers keep in step with the
``messages`` table inside the transaction that changes it.

Values cross the boundary as protocol :class:`~chat_protocol.Message`
and :class:`~chat_protocol.RoomInfo` objects or the small frozen
dataclasses below, never as Peewee rows.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from peewee import EXCLUDED, DatabaseError, SqliteDatabase, fn

from chat_protocol import Message, RoomInfo
from chat_protocol.search import (
    DEFAULT_LIMIT,
    MAX_PREFIX_EXPANSIONS,
    fts5_match,
    has_fts5_secure_delete,
    index_text,
    prefix_range,
    query_terms,
)

from .migrations import SEARCH_WORDS_FUNCTION, SchemaTooNewError, migrate, run_sql
from .models import MODELS, MessageRow, OutboxRow, RoomRow, SettingRow
from .private import private_dir, private_file

log = logging.getLogger(__name__)

# SQLite allows a limited number of bound parameters per statement; these keep
# every batch statement well under the oldest builds' limit of 999.
_INSERT_CHUNK = 100
_LOOKUP_CHUNK = 500


def cache_path(data_dir: Path, server_url: str, username: str) -> Path:
    """The cache file of ``username`` on ``server_url``, inside ``data_dir/cache``.

    User names are unique case-insensitively, so the name is folded; the server
    URL loses its trailing slash and case. The readable prefix helps a person
    looking at the folder, the hash keeps two different pairs apart.
    """
    server = server_url.strip().rstrip("/").lower()
    user = username.strip().lower()
    digest = hashlib.sha256(f"{server}\n{user}".encode()).hexdigest()[:16]
    host = urlsplit(server).netloc or server
    readable = re.sub(r"[^a-z0-9]+", "-", f"{host}-{user}").strip("-")[:60]
    return data_dir / "cache" / f"{readable}-{digest}.sqlite3"


@dataclass(frozen=True, slots=True)
class CachedRoom:
    """A room the cache knows: the server's newest seq and the newest one the user read."""

    name: str
    last_seq: int
    read_seq: int


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A message waiting for its ack; ``failed`` holds the reason once the server refused it."""

    client_id: str
    room: str
    text: str
    created: str
    failed: str | None = None


def _connect(path: Path) -> SqliteDatabase:
    """A database object for ``path``; the file is opened lazily, by the first statement.

    Not connecting here keeps every failure of a damaged file (the pragmas
    fail too: "file is not a database") inside the caller's one ``try``. The
    file is created here, 0600, before SQLite sees it: SQLite gives its -wal
    and -shm files the database file's mode, so they are private too.
    """
    # A path that cannot be created (a folder in the way) fails SQLite's open
    # just the same, inside the caller's try, which sets it aside.
    with suppress(OSError):
        private_file(path)
    db = SqliteDatabase(
        str(path),
        pragmas={
            "journal_mode": "wal",
            # In WAL mode NORMAL is still crash-safe for the database; at worst
            # the last transactions before a power cut are lost, which the
            # server's replay restores.
            "synchronous": "normal",
            "foreign_keys": 1,
        },
        timeout=5,
    )
    # The search index's triggers and migration call it (see .migrations).
    db.register_function(index_text, SEARCH_WORDS_FUNCTION, 1, deterministic=True)
    return db


def _erase_deleted_words(db: SqliteDatabase) -> None:
    """Have FTS5 remove a deleted or edited message's words from the index at once.

    Only SQLite 3.42 and later can (``secure-delete``); an older one keeps
    them in the index's segments (never the text) until FTS5 merges them. The
    option is stored in the file, so a newer SQLite switches it on for good.
    """
    (version,) = run_sql(db, "SELECT sqlite_version()")[0]
    if has_fts5_secure_delete(str(version)):
        run_sql(db, "INSERT INTO message_search (message_search, rank) VALUES ('secure-delete', 1)")


def _set_aside(path: Path) -> Path:
    """Rename a cache file this program cannot use (and its WAL files) out of the way."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
    target = path.with_name(f"{path.name}.unusable-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            part.replace(target.with_name(target.name + suffix))
    return target


def _message(row: MessageRow) -> Message:
    return Message(
        room=row.room,
        seq=row.seq,
        client_id=row.client_id,
        author=row.author,
        text=row.text,
        ts=row.ts,
    )


def _contiguous_down(rows: Iterable[MessageRow], first: int | None) -> list[Message]:
    """Walk rows in descending seq order while they have no hole; return them ascending.

    ``first`` is the seq the run must start at (None: wherever the rows start).
    """
    run: list[Message] = []
    expected = first
    for row in rows:
        if expected is not None and row.seq != expected:
            break
        run.append(_message(row))
        expected = row.seq - 1
    run.reverse()
    return run


class ChatCache:
    """Rooms, messages, outbox and settings of one account on one server.

    Open it with :meth:`open` and close it with :meth:`close`. Every method is
    synchronous and runs at most one short transaction.
    """

    def __init__(self, db: SqliteDatabase, path: Path) -> None:
        """Wrap an open, migrated database; use :meth:`open` rather than this."""
        # The database of this cache; the shared models are bound to it per call.
        self._db = db
        self.path = path

    @classmethod
    def open(cls, path: Path) -> ChatCache:
        """Open (creating it and its folder if needed) and migrate the cache at ``path``.

        A file that is not a usable SQLite database, or that a newer version of
        the program migrated, is renamed aside (``*.unusable-<time>``, nothing
        deleted) and a fresh cache starts: the server holds the history, and a
        cache must never keep the program from starting.
        """
        private_dir(path.parent)
        db = _connect(path)
        try:
            migrate(db)
        except (DatabaseError, SchemaTooNewError) as exc:
            db.close()
            moved = _set_aside(path)
            log.warning(
                "cache %s is unusable (%s); moved it to %s, starting afresh", path, exc, moved
            )
            db = _connect(path)
            migrate(db)
        _erase_deleted_words(db)
        return cls(db, path)

    def close(self) -> None:
        """Close the file; calling it again does nothing."""
        if not self._db.is_closed():
            self._db.close()

    @contextmanager
    def _bound(self, write: bool = False) -> Iterator[None]:
        """Bind the models to this cache's file, inside one transaction when writing."""
        with self._db.bind_ctx(MODELS):
            if write:
                with self._db.atomic():
                    yield
            else:
                yield

    # Rooms ------------------------------------------------------------------

    def rooms(self) -> list[CachedRoom]:
        """Every room the cache knows, by name."""
        with self._bound():
            query = RoomRow.select().order_by(RoomRow.name)
            return [CachedRoom(row.name, row.last_seq, row.read_seq) for row in query]

    def save_rooms(self, rooms: Iterable[RoomInfo]) -> None:
        """Record rooms the server announced (welcome, room events); last_seq only grows."""
        rows = [{"name": room.name, "last_seq": room.last_seq} for room in rooms]
        if not rows:
            return
        with self._bound(write=True):
            for start in range(0, len(rows), _INSERT_CHUNK):
                RoomRow.insert_many(rows[start : start + _INSERT_CHUNK]).on_conflict(
                    conflict_target=[RoomRow.name],
                    update={RoomRow.last_seq: fn.MAX(RoomRow.last_seq, EXCLUDED.last_seq)},
                ).execute()

    # Messages ---------------------------------------------------------------

    def save_messages(self, messages: Iterable[Message]) -> list[Message]:
        """Store messages in one transaction; return those that were not cached yet.

        A message is identified by (room, seq): a replayed or repeated one is
        ignored, and so is a second copy inside the same batch. The result keeps
        the order of ``messages``. Rooms that appear are created, and each room's
        ``last_seq`` is raised to the newest seq seen.
        """
        batch: dict[tuple[str, int], Message] = {}
        for message in messages:
            batch.setdefault((message.room, message.seq), message)
        if not batch:
            return []
        by_room: dict[str, list[Message]] = {}
        for message in batch.values():
            by_room.setdefault(message.room, []).append(message)
        fresh: set[tuple[str, int]] = set()
        with self._bound(write=True):
            for room, items in by_room.items():
                cached = self._cached_seqs(room, [message.seq for message in items])
                new = [message for message in items if message.seq not in cached]
                new_rows = [
                    {
                        "room": message.room,
                        "seq": message.seq,
                        "client_id": message.client_id,
                        "author": message.author,
                        "text": message.text,
                        "ts": message.ts,
                    }
                    for message in new
                ]
                for start in range(0, len(new_rows), _INSERT_CHUNK):
                    # on_conflict_ignore is a second line of defence; the look-up
                    # above already filtered what is cached.
                    MessageRow.insert_many(
                        new_rows[start : start + _INSERT_CHUNK]
                    ).on_conflict_ignore().execute()
                fresh.update((room, message.seq) for message in new)
                newest = max(message.seq for message in items)
                RoomRow.insert(name=room, last_seq=newest).on_conflict(
                    conflict_target=[RoomRow.name],
                    update={RoomRow.last_seq: fn.MAX(RoomRow.last_seq, EXCLUDED.last_seq)},
                ).execute()
        return [message for key, message in batch.items() if key in fresh]

    def _cached_seqs(self, room: str, seqs: list[int]) -> set[int]:
        found: set[int] = set()
        for start in range(0, len(seqs), _LOOKUP_CHUNK):
            chunk = seqs[start : start + _LOOKUP_CHUNK]
            query = MessageRow.select(MessageRow.seq).where(
                (MessageRow.room == room) & MessageRow.seq.in_(chunk)
            )
            found.update(row.seq for row in query)
        return found

    def latest(self, room: str, limit: int) -> list[Message]:
        """The newest cached messages of ``room``, ascending, at most ``limit``.

        Like :meth:`before`, this is a run without holes: it ends at the newest
        cached message and stops where a seq is missing, so the caller can tell
        what to ask the server for.
        """
        if limit <= 0:
            return []
        with self._bound():
            rows = (
                MessageRow.select()
                .where(MessageRow.room == room)
                .order_by(MessageRow.seq.desc())
                .limit(limit)
            )
            return _contiguous_down(rows, None)

    def before(self, room: str, seq: int, limit: int) -> list[Message]:
        """The cached messages just before ``seq``, ascending, at most ``limit``.

        The result is the contiguous run that ends at ``seq - 1``: empty when
        ``seq - 1`` is not cached, and shorter than ``limit`` when a hole comes
        first (the caller then asks the server with a ``history`` request).
        """
        if limit <= 0 or seq <= 1:
            return []
        with self._bound():
            rows = (
                MessageRow.select()
                .where((MessageRow.room == room) & (MessageRow.seq < seq))
                .order_by(MessageRow.seq.desc())
                .limit(limit)
            )
            return _contiguous_down(rows, seq - 1)

    def positions(self) -> dict[str, int]:
        """The highest cached seq of every room that has cached messages (``since``)."""
        # A correlated MAX is one index look-up per room (SQLite's min/max
        # optimisation); GROUP BY would walk the whole index.
        rows = run_sql(
            self._db,
            "SELECT r.name, (SELECT MAX(m.seq) FROM messages AS m WHERE m.room = r.name) "
            "FROM rooms AS r",
        )
        return {name: int(seq) for name, seq in rows if seq is not None}

    def search(
        self,
        query: str,
        room: str | None = None,
        before: int | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> list[Message]:
        """Cached messages whose words match every word of ``query`` as a prefix, newest first.

        Newest first is by seq within ``room``, by time stamp across rooms;
        ``before`` (a seq of ``room``) pages back. The rule is the server's
        (:mod:`chat_protocol.search`), so the same query finds the same
        messages here as there, as far as they are cached. Raises
        :class:`~chat_protocol.search.NoSearchWords` for a query with no word
        (and ``TooManySearchWords``), ValueError for ``before`` without ``room``.
        """
        terms = query_terms(query)
        if before is not None and room is None:
            raise ValueError("before needs room: it is a seq of that room")
        if limit <= 0:
            return []
        expansions: dict[str, list[str]] = {}
        for term in terms:
            # The whole words a term is a prefix of, when few: FTS5 reads an OR
            # of words lazily, newest first, but merges a prefix term's whole
            # match list first (see chat_server.storage.search_index).
            words = run_sql(
                self._db,
                "SELECT term FROM message_search_terms WHERE term >= ? AND term < ?"
                " ORDER BY term LIMIT ?",
                (*prefix_range(term), MAX_PREFIX_EXPANSIONS + 1),
            )
            if not words:
                return []
            if len(words) <= MAX_PREFIX_EXPANSIONS:
                expansions[term] = [word for (word,) in words]
        where = ["message_search MATCH ?"]
        params: list[object] = [fts5_match(terms, expansions)]
        if room is not None:
            # "+": not by the (room, seq) index. Walking a room's messages and
            # asking FTS5 about each one is slower by orders of magnitude than
            # reading FTS5's matches and keeping this room's.
            where.append("+m.room = ?")
            params.append(room)
            order = "m.seq DESC"
        else:
            order = "m.ts DESC, m.room, m.seq DESC"
        if before is not None:
            where.append("m.seq < ?")
            params.append(before)
        params.append(limit)
        rows = run_sql(
            self._db,
            "SELECT m.room, m.seq, m.client_id, m.author, m.text, m.ts"
            " FROM message_search AS s JOIN messages AS m ON m.id = s.rowid"
            f" WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?",
            tuple(params),
        )
        return [
            Message(room=room_, seq=seq, client_id=client_id, author=author, text=text, ts=ts)
            for room_, seq, client_id, author, text, ts in rows
        ]

    # Reading ----------------------------------------------------------------

    def mark_read(self, room: str, seq: int) -> None:
        """Record that the user has seen ``room`` up to ``seq``; read_seq never goes back."""
        with self._bound(write=True):
            RoomRow.insert(name=room, read_seq=seq).on_conflict(
                conflict_target=[RoomRow.name],
                update={RoomRow.read_seq: fn.MAX(RoomRow.read_seq, EXCLUDED.read_seq)},
            ).execute()

    def unread_counts(self, me: str) -> dict[str, int]:
        """For every known room, the cached messages above read_seq written by others."""
        # A correlated COUNT walks only each room's index range above read_seq.
        # User names are unique case-insensitively, hence NOCASE.
        rows = run_sql(
            self._db,
            "SELECT r.name, (SELECT COUNT(*) FROM messages AS m "
            "WHERE m.room = r.name AND m.seq > r.read_seq "
            "AND m.author <> ? COLLATE NOCASE) FROM rooms AS r ORDER BY r.name",
            (me,),
        )
        return {name: int(count) for name, count in rows}

    def unread_mentioning(self, me: str) -> list[tuple[str, str]]:
        """(room, text) of the unread messages by others whose text contains ``@me``.

        A cheap first cut (SQLite's LIKE ignores ASCII case, as user names
        do); the caller decides what counts as a mention.
        """
        pattern = "%@" + me.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = run_sql(
            self._db,
            "SELECT m.room, m.text FROM rooms AS r JOIN messages AS m "
            "ON m.room = r.name AND m.seq > r.read_seq "
            "WHERE m.author <> ? COLLATE NOCASE AND m.text LIKE ? ESCAPE '\\'",
            (me, pattern),
        )
        return [(str(room), str(text)) for room, text in rows]

    # Outbox -----------------------------------------------------------------

    def outbox_add(self, entry: OutboxEntry) -> None:
        """Queue a message for sending; adding the same client_id again changes nothing."""
        with self._bound(write=True):
            OutboxRow.insert(
                client_id=entry.client_id,
                room=entry.room,
                text=entry.text,
                created=entry.created,
                failed=entry.failed,
            ).on_conflict_ignore().execute()

    def outbox(self) -> list[OutboxEntry]:
        """Every queued message, oldest first."""
        with self._bound():
            query = OutboxRow.select().order_by(OutboxRow.id)
            return [
                OutboxEntry(row.client_id, row.room, row.text, row.created, row.failed)
                for row in query
            ]

    def outbox_remove(self, client_id: str) -> None:
        """Drop a queued message (acknowledged, or discarded by the user)."""
        with self._bound(write=True):
            OutboxRow.delete().where(OutboxRow.client_id == client_id).execute()

    def outbox_mark_failed(self, client_id: str, reason: str) -> None:
        """Record why the server refused a queued message; it stays queued for the user."""
        with self._bound(write=True):
            OutboxRow.update(failed=reason).where(OutboxRow.client_id == client_id).execute()

    def outbox_clear_failed(self, client_id: str) -> None:
        """Make a failed message eligible for sending again (the user chose to retry)."""
        with self._bound(write=True):
            OutboxRow.update(failed=None).where(OutboxRow.client_id == client_id).execute()

    # Settings ---------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        """The stored value of ``key``, or None."""
        with self._bound():
            row = SettingRow.get_or_none(SettingRow.key == key)
            return None if row is None else row.value

    def set_setting(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing what was there."""
        with self._bound(write=True):
            SettingRow.insert(key=key, value=value).on_conflict(
                conflict_target=[SettingRow.key], update={SettingRow.value: EXCLUDED.value}
            ).execute()
