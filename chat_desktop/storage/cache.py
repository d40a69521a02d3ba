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

Version 2 (migration 3): the ``messages`` table holds every entry of a
room's log, so that ``positions`` and the hole-free runs count over them;
a message row keeps its current state (edited, deleted, reactions), and
:meth:`ChatCache.apply_log` brings it up to date with edit, delete and react
entries, idempotently (an entry already stored changes nothing, one at or
below the message's ``state_seq`` is already reflected in it). The outbox
holds every kind of write in one ordered queue; drafts and other members'
read positions have tables of their own; :meth:`ChatCache.purge_room` forgets
a room I can no longer read.

Values cross the boundary as protocol :class:`~chat_protocol.Message`
and :class:`~chat_protocol.RoomInfo` objects or the small frozen
dataclasses below, never as Peewee rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from peewee import EXCLUDED, DatabaseError, SqliteDatabase, fn

from chat_protocol import (
    Delete,
    Edit,
    FileInfo,
    LogEntry,
    Member,
    Message,
    ProtocolError,
    Reaction,
    RoomInfo,
    Topic,
)
from chat_protocol.search import (
    DEFAULT_LIMIT,
    MAX_PREFIX_EXPANSIONS,
    fts5_match,
    has_fts5_secure_delete,
    index_text,
    prefix_range,
    query_terms,
)

from .migrations import SEARCH_WORDS_FUNCTION, SchemaTooNewError, migrate, run_many, run_sql
from .models import (
    MODELS,
    DraftRow,
    MessageRow,
    OutboxRow,
    ReadPositionRow,
    RoomRow,
    SettingRow,
)
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
    """A room the cache knows: the server's newest seq and the newest one the user read,
    and (Version 2) its kind, topic, members and creator (None: not known)."""

    name: str
    last_seq: int
    read_seq: int
    kind: str = "public"
    topic: str = ""
    members: tuple[str, ...] = ()
    creator: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A write waiting for its ack; ``failed`` holds the reason once the server refused it.

    ``kind`` is the write (``message``, ``edit``, ``delete``, ``react``,
    ``read``, ``topic``, ``invite``, ``leave``, ``remove``, ``open-dm``);
    ``text`` a message's or an edit's text. An edit, delete or react aims at
    ``target`` (a seq), or at ``target_client_id`` while the target message
    is itself in the outbox. ``detail`` holds the rest (emoji and on, topic,
    user, users, read seq, reply_to).
    """

    client_id: str
    room: str
    text: str
    created: str
    failed: str | None = None
    kind: str = "message"
    target: int | None = None
    target_client_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LogChanges:
    """What :meth:`ChatCache.apply_log` did: the messages it stored or changed, in
    their state after the batch (in the order first touched), which of them are
    new, and the rooms whose topic or members changed; ``current`` has every
    message the batch named, changed or not, in its cached state."""

    messages: list[Message]
    new: set[tuple[str, int]]
    rooms: set[str]
    current: dict[tuple[str, int], Message] = field(default_factory=dict)


# The prefix lengths, in characters, for which the cache's FTS5 table keeps
# match lists of their own (its prefix option, migration 5).
_PREFIX_INDEX_LENGTHS = frozenset({2, 3})
# Up to this many matches a search sorts them all; above, it walks the
# messages newest first (ChatCache.search). Sorting costs ~0.7 us a match,
# walking ~0.2 us a message read, and a rare word's walk reads them all.
_SORT_AT_MOST = 2000


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


def _reactions(raw: str | None) -> list[list[Any]]:
    """A row's reactions: [[emoji, [users]], ...] in the order first seen."""
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _files(raw: str | None) -> tuple[FileInfo, ...]:
    """A row's files (JSON), as the protocol's FileInfo values."""
    if not raw:
        return ()
    try:
        return tuple(FileInfo.from_wire(info) for info in json.loads(raw))
    except (ValueError, TypeError, ProtocolError):
        return ()


def _message(row: MessageRow) -> Message:
    reactions = {str(emoji): list(users) for emoji, users in _reactions(row.reactions) if users}
    return Message(
        room=row.room,
        seq=row.seq,
        client_id=row.client_id,
        author=row.author,
        text=row.text,
        ts=row.ts,
        reply_to=row.reply_to,
        edited=row.edited,
        deleted=bool(row.deleted),
        reactions=reactions or None,
        files=_files(row.files),
    )


def _state_of(message: Message) -> dict[str, Any]:
    """The columns of a message's current state."""
    reactions = [[emoji, list(users)] for emoji, users in (message.reactions or {}).items()]
    return {
        "text": "" if message.deleted else message.text,
        "reply_to": message.reply_to,
        "edited": message.edited,
        "deleted": int(message.deleted),
        "reactions": json.dumps(reactions, ensure_ascii=False) if reactions else None,
        "files": (
            json.dumps([info.to_wire() for info in message.files], ensure_ascii=False)
            if message.files and not message.deleted
            else None
        ),
    }


# The columns of a messages row, in the order apply_log reads and writes them.
_COLUMNS = (
    "id",
    "room",
    "seq",
    "client_id",
    "author",
    "text",
    "ts",
    "kind",
    "reply_to",
    "edited",
    "deleted",
    "reactions",
    "state_seq",
    "detail",
    "files",
)
_STATE = ("text", "reply_to", "edited", "deleted", "reactions", "files")


def _message_of(row: dict[str, Any]) -> Message:
    """A message row read by apply_log (column -> value) as the protocol's Message."""
    reactions = {str(e): list(users) for e, users in _reactions(row["reactions"]) if users}
    return Message(
        room=row["room"],
        seq=row["seq"],
        client_id=row["client_id"],
        author=row["author"],
        text=row["text"],
        ts=row["ts"],
        reply_to=row["reply_to"],
        edited=row["edited"],
        deleted=bool(row["deleted"]),
        reactions=reactions or None,
        files=_files(row["files"]),
    )


def _refresh(cached: dict[str, Any], state: dict[str, Any]) -> bool:
    """Bring a cached row to the state the server handed out; whether it changed."""
    if cached["kind"] != "message":
        return False
    if cached["deleted"] and not state["deleted"]:
        # Deleted here already (by an entry the server's copy was older than).
        return False
    if all(cached[name] == state[name] for name in _STATE):
        return False
    cached.update({name: state[name] for name in _STATE})
    cached["state_seq"] = max(cached["state_seq"], state["state_seq"])
    return True


def _apply(target: dict[str, Any] | None, entry: Edit | Delete | Reaction) -> bool:
    """Apply an edit, delete or react entry to its target row (in memory); whether
    the target changed. Not when its state already reflects the entry."""
    if target is None or target["kind"] != "message" or entry.seq <= target["state_seq"]:
        return False
    target["state_seq"] = entry.seq
    if isinstance(entry, Delete):
        # The words go from the file and the search index, not only from view.
        target.update(text="", deleted=1, reactions=None, files=None)
        return True
    if target["deleted"]:
        return False
    if isinstance(entry, Edit):
        target.update(text=entry.text, edited=entry.ts)
        return True
    reactions = _reactions(target["reactions"])
    for pair in reactions:
        if pair[0] == entry.emoji:
            users = [user for user in pair[1] if user != entry.user]
            pair[1] = [*users, entry.user] if entry.on else users
            break
    else:
        if entry.on:
            reactions.append([entry.emoji, [entry.user]])
    reactions = [pair for pair in reactions if pair[1]]
    target["reactions"] = json.dumps(reactions, ensure_ascii=False) if reactions else None
    return True


def _detail_of(entry: LogEntry) -> dict[str, Any]:
    """What a log entry other than a message keeps (never an edit's text: see migration 3)."""
    if isinstance(entry, Edit | Delete):
        return {"target": entry.target}
    if isinstance(entry, Reaction):
        return {"target": entry.target, "emoji": entry.emoji, "on": entry.on}
    if isinstance(entry, Member):
        return {"target": entry.target, "action": entry.action}
    if isinstance(entry, Topic):
        return {"topic": entry.topic}
    return {}


def _contiguous_down(rows: Iterable[MessageRow], first: int | None) -> tuple[list[Message], int]:
    """Walk rows in descending seq order while they have no hole.

    ``first`` is the seq the run must start at (None: wherever the rows start).
    Returns the run's messages ascending (its other entries left out) and the
    lowest seq of the run (0 for an empty run).
    """
    run: list[Message] = []
    expected = first
    lowest = 0
    for row in rows:
        if expected is not None and row.seq != expected:
            break
        if row.kind == "message":
            run.append(_message(row))
        lowest = row.seq
        expected = row.seq - 1
    run.reverse()
    return run, lowest


def _cached_room(row: RoomRow) -> CachedRoom:
    """A rooms row as what the cache hands out."""
    return CachedRoom(
        row.name,
        row.last_seq,
        row.read_seq,
        row.kind,
        row.topic,
        _members(row.members),
        row.creator,
    )


def _members(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except ValueError:
        return ()
    return tuple(str(user) for user in value) if isinstance(value, list) else ()


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
            return [_cached_room(row) for row in query]

    def save_rooms(self, rooms: Iterable[RoomInfo]) -> None:
        """Record rooms the server announced (welcome, room events); last_seq and
        read_seq only grow. A Version 2 room object also brings its kind, topic,
        members, creator and the server's unread count (kept unless my own read position
        here is ahead of the server's: a read still in the outbox), unless the
        cache knows a newer entry of the room than the object does."""
        infos = list(rooms)
        if not infos:
            return
        with self._bound(write=True):
            for info in infos:
                found = RoomRow.get_or_none(RoomRow.name == info.name)
                row = found or RoomRow(name=info.name, last_seq=0, read_seq=0)
                # A room object older than an entry already applied (a topic,
                # a member) does not undo it.
                current = info.last_seq >= (row.last_seq or 0)
                row.last_seq = max(row.last_seq or 0, info.last_seq)
                if info.kind is not None and current:
                    row.kind = info.kind
                    row.topic = info.topic
                    row.members = None if info.members is None else json.dumps(list(info.members))
                    row.creator = info.creator
                    if info.read_seq >= (row.read_seq or 0):
                        row.read_seq = info.read_seq
                        row.unread_base = info.unread
                        row.unread_at = info.last_seq
                        row.unread_read = info.read_seq
                row.save(force_insert=found is None)

    def room(self, name: str) -> CachedRoom | None:
        """The room ``name`` as the cache knows it, or None."""
        with self._bound():
            row = RoomRow.get_or_none(RoomRow.name == name)
            if row is None:
                return None
            return _cached_room(row)

    def purge_room(self, room: str) -> None:
        """Forget everything of ``room`` (I left it, was removed, or it was deleted):
        its log (the search index with it), outbox, draft, read positions and the room."""
        with self._bound(write=True):
            MessageRow.delete().where(MessageRow.room == room).execute()
            OutboxRow.delete().where(OutboxRow.room == room).execute()
            DraftRow.delete().where(DraftRow.room == room).execute()
            ReadPositionRow.delete().where(ReadPositionRow.room == room).execute()
            RoomRow.delete().where(RoomRow.name == room).execute()

    # Messages and the room log ----------------------------------------------

    def save_messages(self, messages: Iterable[Message]) -> list[Message]:
        """Store messages in one transaction; return those that were not cached yet.

        A message is identified by (room, seq): a replayed or repeated one only
        brings a cached copy up to its current state, and a second copy inside
        the same batch changes nothing more. The result keeps the order of
        ``messages``. Rooms that appear are created, and each room's
        ``last_seq`` is raised to the newest seq seen.
        """
        changes = self.apply_log(list(messages))
        return [
            message for message in changes.messages if (message.room, message.seq) in changes.new
        ]

    def apply_log(self, entries: list[LogEntry]) -> LogChanges:
        """Store entries of room logs, in the order given, in one transaction.

        A message is stored in the state the server handed out (its current
        one) or brings its cached copy to it; an edit, delete or react entry
        is stored and applied to its target message unless that message's
        state already reflects it (the entry's seq is not above its
        ``state_seq``); a topic or member entry newer than anything known of
        the room changes the room's topic or members. An entry already cached
        changes nothing, so applying a batch twice changes nothing.

        The rows the batch names are read at once and changed in memory, then
        written with one statement per kind of change: a replay of a thousand
        messages is a few statements, not thousands.
        """
        if not entries:
            return LogChanges([], set(), set())
        wanted: dict[str, set[int]] = {}
        for entry in entries:
            seqs = wanted.setdefault(entry.room, set())
            seqs.add(entry.seq)
            if isinstance(entry, Edit | Delete | Reaction):
                seqs.add(entry.target)
        touched: dict[tuple[str, int], None] = {}
        fresh: dict[tuple[str, int], None] = {}
        dirty: set[tuple[str, int]] = set()
        rooms_changed: set[str] = set()
        with self._bound(write=True):
            rows = self._rows(wanted)
            # room -> newest seq known so far (the rooms table, raised entry by
            # entry): a message the server hands out now reflects at least that.
            known = self._last_seqs(list(wanted))
            for entry in entries:
                room, key = entry.room, (entry.room, entry.seq)
                prior = known.get(room, 0)
                cached = rows.get(key)
                if isinstance(entry, Message):
                    state = {**_state_of(entry), "state_seq": max(prior, entry.seq)}
                    if cached is None:
                        rows[key] = {
                            "room": room,
                            "seq": entry.seq,
                            "client_id": entry.client_id,
                            "author": entry.author,
                            "ts": entry.ts,
                            "kind": "message",
                            "detail": None,
                            **state,
                        }
                        fresh[key] = None
                        touched[key] = None
                    elif _refresh(cached, state):
                        dirty.add(key)
                        touched[key] = None
                elif cached is None:
                    rows[key] = {
                        "room": room,
                        "seq": entry.seq,
                        "client_id": "",
                        "author": entry.user,
                        "text": "",
                        "ts": entry.ts,
                        "kind": entry.type,
                        "reply_to": None,
                        "edited": None,
                        "deleted": 0,
                        "reactions": None,
                        "files": None,
                        "state_seq": entry.seq,
                        "detail": json.dumps(_detail_of(entry), ensure_ascii=False),
                    }
                    fresh[key] = None
                    if isinstance(entry, Edit | Delete | Reaction):
                        target = (room, entry.target)
                        if _apply(rows.get(target), entry):
                            dirty.add(target)
                            touched[target] = None
                    elif entry.seq > prior and self._apply_to_room(entry):
                        rooms_changed.add(room)
                known[room] = max(prior, entry.seq)
            self._write_rows([rows[key] for key in fresh], [rows[k] for k in dirty - fresh.keys()])
            for room, newest in known.items():
                RoomRow.insert(name=room, last_seq=newest).on_conflict(
                    conflict_target=[RoomRow.name],
                    update={RoomRow.last_seq: fn.MAX(RoomRow.last_seq, EXCLUDED.last_seq)},
                ).execute()
        current = {
            (entry.room, entry.seq): _message_of(rows[(entry.room, entry.seq)])
            for entry in entries
            if isinstance(entry, Message) and rows[(entry.room, entry.seq)]["kind"] == "message"
        }
        messages = [_message_of(rows[key]) for key in touched if rows[key]["kind"] == "message"]
        return LogChanges(messages, set(fresh) & set(touched), rooms_changed, current)

    def _rows(self, wanted: dict[str, set[int]]) -> dict[tuple[str, int], dict[str, Any]]:
        """The cached rows of these (room, seqs), as column -> value."""
        rows: dict[tuple[str, int], dict[str, Any]] = {}
        for room, seqs in wanted.items():
            ordered = sorted(seqs)
            for start in range(0, len(ordered), _LOOKUP_CHUNK):
                chunk = ordered[start : start + _LOOKUP_CHUNK]
                found = run_sql(
                    self._db,
                    f"SELECT {', '.join(_COLUMNS)} FROM messages WHERE room = ?"
                    f" AND seq IN ({', '.join('?' * len(chunk))})",
                    (room, *chunk),
                )
                for values in found:
                    row = dict(zip(_COLUMNS, values, strict=True))
                    rows[(room, row["seq"])] = row
        return rows

    def _last_seqs(self, rooms: list[str]) -> dict[str, int]:
        found = run_sql(
            self._db,
            f"SELECT name, last_seq FROM rooms WHERE name IN ({', '.join('?' * len(rooms))})",
            tuple(rooms),
        )
        return {str(name): int(seq) for name, seq in found}

    def _write_rows(self, new: list[dict[str, Any]], changed: list[dict[str, Any]]) -> None:
        """Insert ``new`` rows and write the state of ``changed`` ones (one statement each)."""
        columns = [name for name in _COLUMNS if name != "id"]
        if new:
            # OR IGNORE is a second line of defence: the look-up filtered what is cached.
            run_many(
                self._db,
                f"INSERT OR IGNORE INTO messages ({', '.join(columns)})"
                f" VALUES ({', '.join('?' * len(columns))})",
                [tuple(row[name] for name in columns) for row in new],
            )
        if changed:
            # The text only where it changed: the search index's trigger runs
            # on every UPDATE OF text, changed or not.
            run_many(
                self._db,
                "UPDATE messages SET text = ? WHERE id = ? AND text IS NOT ?",
                [(row["text"], row["id"], row["text"]) for row in changed],
            )
            run_many(
                self._db,
                "UPDATE messages SET reply_to = ?, edited = ?, deleted = ?, reactions = ?,"
                " files = ?, state_seq = ? WHERE id = ?",
                [
                    (
                        row["reply_to"],
                        row["edited"],
                        row["deleted"],
                        row["reactions"],
                        row["files"],
                        row["state_seq"],
                        row["id"],
                    )
                    for row in changed
                ],
            )

    def _apply_to_room(self, entry: LogEntry) -> bool:
        """A topic or member entry newer than what the room object said: change the room."""
        row = RoomRow.get_or_none(RoomRow.name == entry.room)
        if row is None:
            return False
        if isinstance(entry, Topic):
            row.topic = entry.topic
        elif isinstance(entry, Member):
            members = [user for user in _members(row.members) if user != entry.target]
            if entry.action == "join":
                members.append(entry.target)
            row.members = json.dumps(sorted(members, key=str.lower))
        else:
            return False
        row.save()
        return True

    def message(self, room: str, seq: int) -> Message | None:
        """The cached message ``seq`` of ``room`` in its current state, or None."""
        with self._bound():
            row = MessageRow.get_or_none(
                (MessageRow.room == room) & (MessageRow.seq == seq) & (MessageRow.kind == "message")
            )
            return None if row is None else _message(row)

    def newest_message_seq(self, room: str, upto: int) -> int | None:
        """The seq of the newest cached message of ``room`` at or before ``upto``."""
        rows = run_sql(
            self._db,
            "SELECT MAX(seq) FROM messages WHERE room = ? AND seq <= ? AND kind = 'message'",
            (room, upto),
        )
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    def last_own_message(self, room: str, author: str) -> Message | None:
        """My newest cached message in ``room`` that is not deleted (Up edits it)."""
        with self._bound():
            row = (
                MessageRow.select()
                .where(
                    (MessageRow.room == room)
                    & (MessageRow.kind == "message")
                    & (MessageRow.author == author)
                    & (MessageRow.deleted == 0)
                )
                .order_by(MessageRow.seq.desc())
                .first()
            )
            return None if row is None else _message(row)

    def around(self, room: str, seq: int, span: int) -> list[Message]:
        """The cached messages of ``room`` within ``span`` seqs of ``seq``, ascending."""
        with self._bound():
            query = (
                MessageRow.select()
                .where(
                    (MessageRow.room == room)
                    & (MessageRow.kind == "message")
                    & MessageRow.seq.between(seq - span, seq + span)
                )
                .order_by(MessageRow.seq)
            )
            return [_message(row) for row in query]

    def latest(self, room: str, limit: int) -> list[Message]:
        """The newest cached messages of ``room``, ascending (see :meth:`latest_run`)."""
        return self.latest_run(room, limit)[0]

    def latest_run(self, room: str, limit: int) -> tuple[list[Message], int]:
        """The newest run of at most ``limit`` cached log entries of ``room`` without a
        hole: its messages, ascending, and the run's lowest seq (0 when empty).

        It ends at the newest cached entry and stops where a seq is missing,
        so the caller can tell what to ask the server for.
        """
        if limit <= 0:
            return [], 0
        with self._bound():
            rows = (
                MessageRow.select()
                .where(MessageRow.room == room)
                .order_by(MessageRow.seq.desc())
                .limit(limit)
            )
            return _contiguous_down(rows, None)

    def before(self, room: str, seq: int, limit: int) -> list[Message]:
        """The cached messages just before ``seq``, ascending (see :meth:`before_run`)."""
        return self.before_run(room, seq, limit)[0]

    def before_run(self, room: str, seq: int, limit: int) -> tuple[list[Message], int]:
        """The run of at most ``limit`` cached entries just before ``seq``: its
        messages, ascending, and its lowest seq (0 when empty).

        The run ends at ``seq - 1``: empty when ``seq - 1`` is not cached, and
        shorter than ``limit`` when a hole comes first (the caller then asks
        the server with a ``history`` request).
        """
        if limit <= 0 or seq <= 1:
            return [], 0
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
            if len(term) in _PREFIX_INDEX_LENGTHS:
                # FTS5 keeps this prefix's own match list (migration 5): one
                # list to read instead of an OR of hundreds of words.
                continue
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
        match = fts5_match(terms, expansions)
        # How many messages match, counted only up to what is cheap to sort
        # (FTS5 stops there): the two ways to the newest matches below each
        # cost in proportion to something else.
        (many,) = run_sql(
            self._db,
            "SELECT count(*) > ? FROM (SELECT rowid FROM message_search"
            " WHERE message_search MATCH ? LIMIT ?)",
            (_SORT_AT_MOST, match, _SORT_AT_MOST + 1),
        )[0]
        params: list[object] = [match]
        if many:
            # Many matches (a common word, "ka" as a prefix): walk the messages
            # newest first by an index, keeping those among the matches (a set
            # of ids, which FTS5 hands over in id order: cheap to build), until
            # ``limit`` are found. Sorting them all instead cost 0.7 us a match:
            # 40 ms and more for a common word in 100,000 messages (issue 14).
            source = "messages AS m INDEXED BY " + ("messages_room_seq" if room else "messages_ts")
            where = ["m.id IN (SELECT rowid FROM message_search WHERE message_search MATCH ?)"]
            room_filter = "m.room = ?"
        else:
            # Few: read them all from the index and sort them. Walking the
            # messages would read every one of them for a rare word.
            source = "message_search AS s JOIN messages AS m ON m.id = s.rowid"
            where = ["message_search MATCH ?"]
            # "+": not by the (room, seq) index. Walking a room's messages and
            # asking FTS5 about each one is slower by orders of magnitude than
            # reading FTS5's matches and keeping this room's.
            room_filter = "+m.room = ?"
        if room is not None:
            where.append(room_filter)
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
            f" FROM {source} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?",
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
        """For every known room, the messages above read_seq written by others.

        While the server's own count (from its room object) is still about my
        read position, it counts too (it knows messages the cache lacks) plus
        what arrived since; once I read further, the cached messages count.
        """
        # A correlated COUNT walks only each room's index range above a seq.
        # User names are unique case-insensitively, hence NOCASE.
        count = (
            "(SELECT COUNT(*) FROM messages AS m WHERE m.room = r.name AND m.seq > {0}"
            " AND m.kind = 'message' AND m.author <> ? COLLATE NOCASE)"
        )
        rows = run_sql(
            self._db,
            "SELECT r.name, CASE WHEN r.read_seq <= r.unread_read"
            f" THEN r.unread_base + {count.format('MAX(r.unread_at, r.read_seq)')}"
            f" ELSE {count.format('r.read_seq')} END FROM rooms AS r ORDER BY r.name",
            (me, me),
        )
        return {name: int(count) for name, count in rows}

    def counts_unread(self, room: str) -> bool:
        """Whether the server counted ``room``'s unread messages (a Version 2 room object)."""
        rows = run_sql(self._db, "SELECT unread_read FROM rooms WHERE name = ?", (room,))
        return bool(rows) and int(rows[0][0]) >= 0

    def read_seq(self, room: str) -> int:
        """How far I have read ``room`` (0 when unknown)."""
        with self._bound():
            row = RoomRow.get_or_none(RoomRow.name == room)
            return 0 if row is None else int(row.read_seq)

    def save_read(self, room: str, user: str, seq: int) -> None:
        """Another member's read position in ``room`` moved to ``seq`` (only forward)."""
        with self._bound(write=True):
            ReadPositionRow.insert(room=room, user=user, seq=seq).on_conflict(
                conflict_target=[ReadPositionRow.room, ReadPositionRow.user],
                update={ReadPositionRow.seq: fn.MAX(ReadPositionRow.seq, EXCLUDED.seq)},
            ).execute()

    def read_positions(self, room: str) -> dict[str, int]:
        """Other members' read positions in ``room``: user -> seq."""
        with self._bound():
            query = ReadPositionRow.select().where(ReadPositionRow.room == room)
            return {row.user: row.seq for row in query}

    # Drafts -----------------------------------------------------------------

    def draft(self, room: str) -> str:
        """What was typed and not sent in ``room`` ("" when nothing)."""
        with self._bound():
            row = DraftRow.get_or_none(DraftRow.room == room)
            return "" if row is None else str(row.text)

    def set_draft(self, room: str, text: str) -> None:
        """Keep ``text`` as the draft of ``room``; an empty text removes it."""
        with self._bound(write=True):
            if not text:
                DraftRow.delete().where(DraftRow.room == room).execute()
                return
            DraftRow.insert(room=room, text=text).on_conflict(
                conflict_target=[DraftRow.room], update={DraftRow.text: EXCLUDED.text}
            ).execute()

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
            "WHERE m.kind = 'message' AND m.author <> ? COLLATE NOCASE"
            " AND m.text LIKE ? ESCAPE '\\'",
            (me, pattern),
        )
        return [(str(room), str(text)) for room, text in rows]

    # Outbox -----------------------------------------------------------------

    def outbox_add(self, entry: OutboxEntry) -> None:
        """Queue a write for sending; adding the same client_id again changes nothing."""
        with self._bound(write=True):
            OutboxRow.insert(
                client_id=entry.client_id,
                room=entry.room,
                text=entry.text,
                created=entry.created,
                failed=entry.failed,
                kind=entry.kind,
                target=entry.target,
                target_client_id=entry.target_client_id,
                detail=json.dumps(dict(entry.detail), ensure_ascii=False) if entry.detail else None,
            ).on_conflict_ignore().execute()

    def outbox(self) -> list[OutboxEntry]:
        """Every queued write, oldest first."""
        with self._bound():
            query = OutboxRow.select().order_by(OutboxRow.id)
            return [
                OutboxEntry(
                    row.client_id,
                    row.room,
                    row.text,
                    row.created,
                    row.failed,
                    row.kind,
                    row.target,
                    row.target_client_id,
                    json.loads(row.detail) if row.detail else {},
                )
                for row in query
            ]

    def outbox_resolve(self, client_id: str, seq: int) -> None:
        """My message ``client_id`` is stored as ``seq``: the writes aimed at it aim at
        that seq from now on."""
        with self._bound(write=True):
            OutboxRow.update(target=seq, target_client_id=None).where(
                OutboxRow.target_client_id == client_id
            ).execute()

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
