"""The :class:`ChatStore` the server runs on: Peewee over SQLite or PostgreSQL.

Each public coroutine packs its queries into a plain function and hands it to
a database thread (:mod:`.workers`): reads to a small pool, writes to the one
writer, which commits the writes that arrive together in one transaction.
The event loop only awaits.

Seq numbers come from ``rooms.last_seq``: the writer increments it with
``UPDATE ... RETURNING`` inside the transaction that inserts the message. The
UPDATE row-locks the room on PostgreSQL, so several server processes sharing
a database still hand out each seq once; a rolled-back transaction rolls the
counter back with it, so seqs stay gapless. Idempotency rests on the unique
index over (author, client_id): the insert is ``ON CONFLICT (author,
client_id) DO NOTHING``, and when it inserted nothing (a retry, even one in
the same batch as the original or racing it from another process) the seq
bump is undone and the stored message read back.

Appending a message is the hot path, so it runs constant SQL straight through
the connection, without a SELECT first, without a savepoint, and without
Peewee building the statements anew for every message.

The log's other writes (edit, delete, react, topic, member) take the same
seq counter and the same (user, client_id) index, through Peewee, each in
its own savepoint. A message row holds its current state: an edit replaces
its text, a delete erases it (and the text of its earlier edits) with an
UPDATE, and SQLite's ``secure_delete`` (:mod:`.database`) overwrites what
that frees; once the erasure is committed, the writer empties the WAL, which
still held the pages as they were (:meth:`GroupCommitWriter.scrub_after_commit`),
and FTS5's own ``secure-delete`` erases the words from the search index
(:mod:`.search_index`). So the words are gone from the files, not only hidden.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import peewee
from peewee import fn

from chat_protocol import (
    DEFAULT_ROOM,
    Delete,
    Edit,
    FileInfo,
    Leave,
    LogEntry,
    LogWrite,
    Member,
    Message,
    Reaction,
    Remove,
    RoomInfo,
    SendDelete,
    SendEdit,
    SendMessage,
    SendReact,
    SendTopic,
    Topic,
    rules,
)
from chat_protocol import (
    Invite as InviteEvent,
)
from chat_protocol.rules import format_ts, now_ts

from .base import (
    AppendResult,
    BadTarget,
    ChatStore,
    Credentials,
    NameTaken,
    NotYours,
    Person,
    SearchRequest,
    SessionInfo,
    StorageError,
    TokenOwner,
    UnknownMessage,
    UnknownRoom,
    UnknownUser,
    UsernameTaken,
)
from .file_records import FileRecord, hold_uploads, release_uploads
from .migrations import migrate
from .models import (
    Invite,
    Membership,
    MessageFile,
    ReadPosition,
    Revocation,
    Room,
    StoredMessage,
    StoredReaction,
    Token,
    Upload,
    User,
    database_proxy,
)
from .search_index import SearchIndex
from .workers import GroupCommitWriter, InlineCommitter, ReaderPool, sync_log

T = TypeVar("T")


class PeeweeChatStore(ChatStore):
    """Accounts, tokens, rooms and messages in one Peewee database.

    Only one store can be open per process at a time, because the models are
    bound to the database through the module-wide :data:`database_proxy`.
    """

    def __init__(
        self,
        db: peewee.Database,
        *,
        readers: int = 4,
        max_batch: int = 500,
        hold_commits_while: Path | None = None,
    ) -> None:
        self._db = db
        self._sqlite = isinstance(db, peewee.SqliteDatabase)
        self._reader_count = readers
        self._max_batch = max_batch
        # Fault injection for crash tests: see GroupCommitWriter.
        self._hold_commits_while = hold_commits_while
        # Both set while the store is open, None before open() and after close().
        self._writer: GroupCommitWriter | None = None
        self._readers: ReaderPool | None = None
        # SQLite only: commits a lone message on the event loop (append_now).
        self._inline: InlineCommitter | None = None
        self._sql = _AppendSql(db.param)
        # The full-text index, written in the same transactions as the log.
        self.search_index = SearchIndex(db)
        # How long an upload no message carries may still be attached
        # (ServerConfig.upload_expiry_seconds; the file service sets it).
        self.upload_expiry_seconds = 24 * 3600.0

    @property
    def database(self) -> peewee.Database:
        """The Peewee database this store runs on."""
        return self._db

    @property
    def commits(self) -> int:
        """Write transactions committed since open(): fewer than writes when they grouped."""
        if self._writer is None:
            return 0
        return self._writer.commits + (self._inline.commits if self._inline is not None else 0)

    @property
    def inline_commits(self) -> int:
        """Of :attr:`commits`, those made on the event loop (:meth:`append_now`)."""
        return self._inline.commits if self._inline is not None else 0

    @property
    def pending_writes(self) -> int:
        """Writes submitted and not yet committed or refused."""
        return self._writer.pending if self._writer is not None else 0

    # Life cycle -------------------------------------------------------------

    async def open(self) -> None:
        if self._writer is not None:
            raise StorageError("the store is already open")
        if database_proxy.obj is not None:
            raise StorageError(
                "another chat store is already open in this process: the models share "
                "one database binding, so close it first"
            )
        database_proxy.initialize(self._db)
        self._writer = GroupCommitWriter(
            self._db,
            self._max_batch,
            hold_while=self._hold_commits_while,
            # The index rows of a batch of messages, written just before COMMIT.
            deferred=self.search_index,
        )
        self._readers = ReaderPool(self._db, self._reader_count)
        if self._sqlite:
            self._inline = InlineCommitter(self._db, self._writer)
        self._writer.start()
        self._readers.start()
        try:
            await self._write(self._prepare)
        except BaseException:
            await self.close()
            raise

    def _prepare(self) -> None:
        migrate(self._db)
        self.search_index.prepare()
        # What a crash left out of the index (see InlineCommitter).
        self.search_index.catch_up()
        self._ensure_room(DEFAULT_ROOM)

    async def close(self) -> None:
        writer, readers = self._writer, self._readers
        if writer is None or readers is None:
            return
        # From here on new calls fail fast; what was queued still completes.
        self._writer = self._readers = None
        inline, self._inline = self._inline, None
        if inline is not None:
            inline.close()
        writer.stop()
        readers.stop()

        def join() -> None:
            writer.join()
            readers.join()

        await asyncio.to_thread(join)
        database_proxy.initialize(None)

    async def _write(
        self,
        work: Callable[[], T],
        room: str = "",
        *,
        savepoint: bool = True,
        durable: bool = True,
    ) -> T:
        """Run ``work`` in the writer's next transaction; ``room``: the room it locks.

        ``savepoint``: see :meth:`GroupCommitWriter.submit`. ``durable=False``:
        the result may come before the write is on disk; await
        :meth:`sync_writes` before anyone hears of it (see ``submit``).
        """
        if self._writer is None:
            raise StorageError("the store is closed")
        return await asyncio.wrap_future(
            self._writer.submit(work, room, savepoint=savepoint, durable=durable)
        )

    async def sync_writes(self) -> None:
        """Make every write committed so far durable (after a ``durable=False`` write).

        On a thread of its own, never the writer's: the writer goes on
        committing (and fsyncing) chat messages meanwhile.
        """
        if self._writer is None:
            raise StorageError("the store is closed")
        await asyncio.to_thread(sync_log, self._db)

    async def _read(self, work: Callable[[], T]) -> T:
        if self._readers is None:
            raise StorageError("the store is closed")
        return await asyncio.wrap_future(self._readers.submit(work))

    # The same two doors for the storage modules beside this one that keep
    # their own tables in this database (.file_records), so that their writes
    # share the one writer and its transactions.
    run_write = _write
    run_read = _read

    # Accounts ---------------------------------------------------------------

    async def create_user(self, username: str, password_hash: str, *, admin: bool = False) -> str:
        def work() -> str:
            try:
                User.insert(
                    name=username,
                    name_key=username.lower(),
                    password_hash=password_hash,
                    created=now_ts(),
                    admin=int(admin),
                ).execute()
            except peewee.IntegrityError:
                raise UsernameTaken(username) from None
            return username

        return await self._write(work)

    async def credentials(self, username: str) -> Credentials | None:
        def work() -> Credentials | None:
            user = _active_user(username)
            if user is None or user.disabled is not None:
                return None
            return Credentials(user.name, user.password_hash)

        return await self._read(work)

    async def set_password(self, username: str, password_hash: str) -> bool:
        def work() -> bool:
            query = User.update(password_hash=password_hash).where(
                User.name_key == username.lower(), User.removed.is_null()
            )
            return bool(query.execute())

        return await self._write(work)

    async def delete_user(self, username: str) -> bool:
        def work() -> bool:
            user = _active_user(username)
            if user is None:
                return False
            _end_sessions(user, Token.user == user.id)
            # The row stays with its name_key, so the name stays taken; the
            # hash goes, and an empty hash verifies no password.
            User.update(removed=now_ts(), password_hash="").where(User.id == user.id).execute()
            return True

        return await self._write(work)

    async def set_disabled(self, username: str, disabled: bool) -> bool:
        def work() -> bool:
            user = _active_user(username)
            if user is None:
                return False
            if disabled:
                _end_sessions(user, Token.user == user.id)
                if user.disabled is None:
                    User.update(disabled=now_ts()).where(User.id == user.id).execute()
            else:
                User.update(disabled=None).where(User.id == user.id).execute()
            return True

        return await self._write(work)

    async def list_users(self, *, only_disabled: bool = False) -> list[str]:
        def work() -> list[str]:
            query = User.select(User.name).where(User.removed.is_null()).order_by(User.name_key)
            if only_disabled:
                query = query.where(User.disabled.is_null(False))
            return [name for (name,) in _tuples(query)]

        return await self._read(work)

    async def people(self) -> list[Person]:
        def work() -> list[Person]:
            # Every account that can sign in: disabled and removed ones are not people.
            query = (
                User.select(User.name, User.admin)
                .where(User.disabled.is_null() & User.removed.is_null())
                .order_by(User.name_key)
            )
            return [Person(name, bool(admin)) for name, admin in _tuples(query)]

        return await self._read(work)

    async def set_admin(self, username: str, admin: bool) -> bool:
        def work() -> bool:
            query = User.update(admin=int(admin)).where(User.name_key == username.lower())
            return bool(query.execute())

        return await self._write(work)

    async def is_admin(self, username: str) -> bool:
        def work() -> bool:
            query = User.select(User.admin).where(User.name_key == username.lower())
            return bool(query.scalar())

        return await self._read(work)

    async def add_token(self, username: str, token_hash: str, agent: str = "") -> str:
        """Remember a session token by its hash; return its session id.

        UnknownUser when there is no such (active, enabled) user.
        """

        def work() -> str:
            user = _active_user(username)
            if user is None or user.disabled is not None:
                raise UnknownUser(username)
            session_id = secrets.token_urlsafe(12)
            Token.insert(
                hash=token_hash, user=user.id, created=now_ts(), session_id=session_id, agent=agent
            ).execute()
            return session_id

        return await self._write(work)

    async def token_owner(self, token_hash: str) -> TokenOwner | None:
        def work() -> TokenOwner | None:
            query = (
                User.select(
                    User.name, Token.session_id, fn.COALESCE(Token.last_used, Token.created)
                )
                .join(Token)
                .where(Token.hash == token_hash)
            )
            row = query.tuples().first()
            return None if row is None else TokenOwner(str(row[0]), str(row[1]), str(row[2]))

        return await self._read(work)

    async def touch_tokens(self, token_hashes: list[str]) -> None:
        def work() -> None:
            now = now_ts()
            Token.update(last_used=now).where(Token.hash.in_(token_hashes)).execute()

        if token_hashes:
            await self._write(work)

    async def sessions_of(self, username: str) -> list[SessionInfo]:
        def work() -> list[SessionInfo]:
            query = (
                Token.select(
                    Token.session_id,
                    Token.created,
                    fn.COALESCE(Token.last_used, Token.created),
                    fn.COALESCE(Token.agent, ""),
                    Token.hash,
                )
                .join(User)
                .where(User.name_key == username.lower())
                .order_by(Token.created, Token.session_id)
            )
            return [SessionInfo(*row) for row in _tuples(query)]

        return await self._read(work)

    async def delete_token(self, token_hash: str) -> None:
        def work() -> None:
            owner = Token.select(Token.user).where(Token.hash == token_hash).first()
            if owner is not None:
                _end_sessions(owner.user, Token.hash == token_hash)

        await self._write(work)

    async def delete_session(self, username: str, session_id: str) -> str | None:
        def work() -> str | None:
            user = _active_user(username)
            if user is None:
                return None
            ended = _end_sessions(user, (Token.user == user.id) & (Token.session_id == session_id))
            return ended[0] if ended else None

        return await self._write(work)

    async def delete_tokens_of(self, username: str, keep: str | None = None) -> list[str]:
        def work() -> list[str]:
            user = _active_user(username)
            if user is None:
                return []
            which = Token.user == user.id
            if keep is not None:
                which &= Token.hash != keep
            return _end_sessions(user, which)

        return await self._write(work)

    async def revocations_after(self, after: int | None) -> tuple[int, list[str]]:
        def work() -> tuple[int, list[str]]:
            if after is None:
                newest = Revocation.select(fn.MAX(Revocation.id)).scalar()
                return int(newest or 0), []
            query = (
                Revocation.select(Revocation.id, Revocation.token_hash)
                .where(Revocation.id > after)
                .order_by(Revocation.id)
            )
            rows = _tuples(query)
            return (int(rows[-1][0]) if rows else after), [str(row[1]) for row in rows]

        return await self._read(work)

    async def clean_up(self, in_use: list[str], unused_before: str, revocations_before: str) -> int:
        def work() -> int:
            if in_use:
                Token.update(last_used=now_ts()).where(Token.hash.in_(in_use)).execute()
            last_used = fn.COALESCE(Token.last_used, Token.created)
            deleted = int(Token.delete().where(last_used < unused_before).execute())
            Revocation.delete().where(Revocation.created < revocations_before).execute()
            return deleted

        return await self._write(work)

    # Invites ----------------------------------------------------------------

    async def add_invite(self, code_hash: str, uses: int, expires: str) -> None:
        def work() -> None:
            Invite.insert(
                code_hash=code_hash, uses_left=uses, expires=expires, created=now_ts()
            ).execute()

        await self._write(work)

    async def use_invite(self, code_hash: str) -> bool:
        def work() -> bool:
            # One conditional UPDATE: two newcomers racing for the last use
            # cannot both get it.
            query = Invite.update(uses_left=Invite.uses_left - 1).where(
                Invite.code_hash == code_hash, Invite.uses_left > 0, Invite.expires > now_ts()
            )
            return bool(query.execute())

        return await self._write(work)

    async def return_invite(self, code_hash: str) -> None:
        def work() -> None:
            query = Invite.update(uses_left=Invite.uses_left + 1).where(
                Invite.code_hash == code_hash
            )
            query.execute()

        await self._write(work)

    # Rooms ------------------------------------------------------------------

    async def ensure_room(self, name: str) -> tuple[RoomInfo, bool]:
        return await self._write(lambda: self._ensure_room(name), room=name)

    def _ensure_room(
        self, name: str, kind: str = "public", creator: str = ""
    ) -> tuple[RoomInfo, bool]:
        room = Room.get_or_none(Room.name == name)
        if room is not None:
            if room.deleted:
                raise BadTarget(f"the name {name!r} belonged to a deleted room")
            return _room_info(room), False
        try:
            # A savepoint, so that losing a race with another server process
            # (PostgreSQL) leaves this transaction usable.
            with database_proxy.atomic():
                Room.insert(
                    name=name, last_seq=0, created=now_ts(), kind=kind, creator=creator
                ).execute()
        except peewee.IntegrityError:
            return self._ensure_room(name, kind, creator)
        return (
            RoomInfo(name, 0, kind, "", () if kind != "public" else None, creator=creator or None),
            True,
        )

    async def rooms(self) -> list[RoomInfo]:
        def work() -> list[RoomInfo]:
            rooms = list(Room.select().where(Room.deleted == 0).order_by(Room.name))
            members = _members_of([room.id for room in rooms if room.kind != "public"])
            return [_room_info(room, members.get(room.id)) for room in rooms]

        return await self._read(work)

    async def rooms_for(self, user: str) -> list[RoomInfo]:
        return await self._read(lambda: self._rooms_for(user))

    async def room_for(self, user: str, name: str) -> RoomInfo:
        def work() -> RoomInfo:
            found = self._rooms_for(user, name)
            if not found:
                raise UnknownRoom(name)
            return found[0]

        return await self._read(work)

    def _rooms_for(self, user: str, only: str | None = None) -> list[RoomInfo]:
        key = user.lower()
        mine = Membership.select(Membership.room).where(Membership.user_key == key)
        query = Room.select().where(Room.deleted == 0, (Room.kind == "public") | Room.id.in_(mine))
        if only is not None:
            query = query.where(Room.name == only)
        rooms = list(query.order_by(Room.name))
        ids = [room.id for room in rooms]
        read = dict(
            _tuples(
                ReadPosition.select(ReadPosition.room, ReadPosition.seq).where(
                    ReadPosition.user_key == key, ReadPosition.room.in_(ids)
                )
            )
        )
        unread = dict(
            _tuples(
                StoredMessage.select(StoredMessage.room, peewee.fn.COUNT(StoredMessage.id))
                .join(
                    ReadPosition,
                    peewee.JOIN.LEFT_OUTER,
                    on=(ReadPosition.room == StoredMessage.room) & (ReadPosition.user_key == key),
                )
                .where(
                    StoredMessage.room.in_(ids),
                    StoredMessage.kind == "message",
                    StoredMessage.deleted == 0,
                    peewee.fn.LOWER(StoredMessage.author) != key,
                    StoredMessage.seq > peewee.fn.COALESCE(ReadPosition.seq, 0),
                )
                .group_by(StoredMessage.room)
            )
        )
        members = _members_of([room.id for room in rooms if room.kind != "public"])
        return [
            _room_info(room, members.get(room.id), read.get(room.id, 0), unread.get(room.id, 0))
            for room in rooms
        ]

    async def create_room(self, name: str, creator: str, private: bool) -> tuple[RoomInfo, bool]:
        def work() -> tuple[RoomInfo, bool]:
            if name.startswith(rules.DM_PREFIX):
                raise BadTarget(f"names starting with {rules.DM_PREFIX!r} are for direct rooms")
            existing = Room.get_or_none(Room.name == name)
            if existing is not None and existing.kind != "public" and not existing.deleted:
                if not _is_member(existing.id, creator):
                    raise NameTaken(name)
                return self._room_for_member(existing, creator), False
            if existing is not None and private and not existing.deleted:
                raise BadTarget(f"{name!r} is a public room")
            room, created = self._ensure_room(name, "private" if private else "public", creator)
            if created and private:
                row = Room.get(Room.name == name)
                _add_member(row.id, creator)
                return self._room_for_member(row, creator), True
            return room, created

        return await self._write(work, room=name)

    def _room_for_member(self, room: Room, user: str) -> RoomInfo:
        return self._rooms_for(user, room.name)[0]

    async def open_dm(self, opener: str, others: list[str]) -> tuple[RoomInfo, bool]:
        def work() -> tuple[RoomInfo, bool]:
            keys = {name.lower() for name in others} - {opener.lower()}
            if not keys:
                raise BadTarget("name at least one other user")
            if len(keys) > rules.DM_OTHERS_MAX:
                raise BadTarget(f"a direct room has at most {rules.DM_OTHERS_MAX} others")
            found = _tuples(User.select(User.name).where(User.name_key.in_(sorted(keys))))
            if len(found) != len(keys):
                raise BadTarget("there is no such user")
            members = [opener, *(str(row[0]) for row in found)]
            name = rules.dm_name(members)
            _, created = self._ensure_room(name, "direct", opener)
            row = Room.get(Room.name == name)
            if created:
                for member in members:
                    _add_member(row.id, member)
            return self._room_for_member(row, opener), created

        return await self._write(work)

    async def delete_room(self, name: str) -> list[str] | None:
        def work() -> list[str] | None:
            room = Room.get_or_none(Room.name == name, Room.deleted == 0)
            if room is None:
                raise UnknownRoom(name)
            if name == DEFAULT_ROOM:
                raise BadTarget(f"{DEFAULT_ROOM!r} cannot be deleted")
            members = _members_of([room.id]).get(room.id) if room.kind != "public" else None
            # Before the messages go: on SQLite nothing ties the index rows to them.
            self.search_index.unindex_room(name)
            _release_files(room.id)
            StoredMessage.delete().where(StoredMessage.room == room.id).execute()
            StoredReaction.delete().where(StoredReaction.room == room.id).execute()
            Membership.delete().where(Membership.room == room.id).execute()
            ReadPosition.delete().where(ReadPosition.room == room.id).execute()
            Room.update(deleted=1, topic="").where(Room.id == room.id).execute()
            self._erased()
            return None if members is None else list(members)

        return await self._write(work, room=name)

    async def set_read(self, user: str, room: str, seq: int) -> int | None:
        def work() -> int | None:
            row = Room.get_or_none(Room.name == room, Room.deleted == 0)
            if row is None:
                raise UnknownRoom(room)
            position = min(seq, row.last_seq)
            key = user.lower()
            current = ReadPosition.get_or_none(
                ReadPosition.room == row.id, ReadPosition.user_key == key
            )
            if current is None:
                if position <= 0:
                    return None
                ReadPosition.insert(room=row.id, user_key=key, seq=position).execute()
                return position
            if position <= current.seq:
                return None
            ReadPosition.update(seq=position).where(ReadPosition.id == current.id).execute()
            return position

        return await self._write(work, room=room)

    async def reads(self, room: str) -> dict[str, int]:
        def work() -> dict[str, int]:
            query = (
                ReadPosition.select(User.name, ReadPosition.seq)
                .join(Room, on=(ReadPosition.room == Room.id))
                .join(User, on=(User.name_key == ReadPosition.user_key))
                .where(Room.name == room)
            )
            return dict(_tuples(query))

        return await self._read(work)

    # Messages ---------------------------------------------------------------

    def append_nowait(
        self,
        room: str,
        author: str,
        client_id: str,
        text: str,
        reply_to: int | None = None,
        files: tuple[str, ...] = (),
    ) -> concurrent.futures.Future[AppendResult]:
        if self._writer is None:
            raise StorageError("the store is closed")
        self._index_in_order()
        # No savepoint: _append raises (UnknownRoom) only before it changed
        # anything; except UnknownFile, found once the message is in, so a
        # message with files takes a savepoint of its own.
        return self._writer.submit(
            lambda: self._append(room, author, client_id, text, reply_to, files),
            room,
            savepoint=bool(files),
        )

    def append_now(
        self,
        room: str,
        author: str,
        client_id: str,
        text: str,
        reply_to: int | None = None,
        files: tuple[str, ...] = (),
    ) -> concurrent.futures.Future[AppendResult] | None:
        inline = self._inline
        if inline is None or self._writer is None:
            return None
        if files:  # its index row is written in its own transaction, at once
            self._index_in_order()
        return inline.run(lambda: self._append(room, author, client_id, text, reply_to, files))

    def _index_in_order(self) -> None:
        """Before a write that indexes a new message at once: hand the rows the
        loop's commits carry (``InlineCommitter``) to the writer first.

        The writer commits its jobs in the order they came (and a carried
        job sorts first in a batch), so those older messages' rows are
        committed no later than the new one's: the index never holds a
        message's row while an older message still lacks its own, which is
        what ``SearchIndex.catch_up`` relies on after a crash. With rows
        carried, the inline commit of ``append_now`` then steps aside (the
        writer has work) and the message goes to the writer after them.
        """
        if self._inline is not None:
            self._inline.hand_over()

    def write_nowait(
        self, user: str, event: LogWrite, *, admin: bool = False
    ) -> concurrent.futures.Future[AppendResult]:
        if isinstance(event, SendMessage):
            return self.append_nowait(
                event.room, user, event.client_id, event.text, event.reply_to, event.files
            )
        if self._writer is None:
            raise StorageError("the store is closed")
        return self._writer.submit(lambda: self._log(user, event, admin), event.room)

    def _append(
        self,
        room: str,
        author: str,
        client_id: str,
        text: str,
        reply_to: int | None = None,
        files: tuple[str, ...] = (),
    ) -> AppendResult:
        sql = self._sql
        cursor = cast(Any, self._db).cursor()  # the stubs leave cursor() untyped
        if reply_to is not None:
            cursor.execute(sql.is_message, (room, reply_to))
            if cursor.fetchone() is None:
                stored = self._find(cursor, author, client_id)
                if stored is not None:
                    return AppendResult.of(stored, False, client_id)
                if not Room.select().where(Room.name == room, Room.deleted == 0).exists():
                    raise UnknownRoom(room)
                raise BadTarget(f"there is no message {reply_to} in {room!r} to reply to")
        cursor.execute(sql.bump, (room,))
        bumped = cursor.fetchone()
        if bumped is None:
            # A retry of a message already stored still gets it back, whatever
            # room it names; anything else in an unknown room is refused.
            stored = self._find(cursor, author, client_id)
            if stored is None:
                raise UnknownRoom(room)
            return AppendResult.of(stored, False, client_id)
        room_id, seq = bumped
        ts = now_ts()
        cursor.execute(sql.insert, (room_id, seq, author, client_id, text, ts, reply_to))
        if cursor.rowcount == 1:
            # SQLite's lastrowid is the new row's id; PostgreSQL's driver has none.
            # Buffered, for the writer (or the inline commit) to write the
            # batch's rows at once before COMMIT; a message with files runs in
            # a savepoint of its own, which may be rolled back: written now.
            self.search_index.add(cursor, room_id, seq, text, self._new_id(cursor), later=not files)
            message = Message(
                room=room,
                seq=seq,
                client_id=client_id,
                author=author,
                text=text,
                ts=ts,
                reply_to=reply_to,
                files=self._attach(room_id, seq, author, files) if files else (),
            )
            return AppendResult(message, True, client_id, room, seq, ts)
        # Nothing inserted: the message is stored already (by this batch or
        # another process). Give the seq back, so that it is not a hole; the
        # room's row stays locked until the commit, so nobody took a later one.
        cursor.execute(sql.unbump, (room_id,))
        stored = self._find(cursor, author, client_id)
        if stored is None:
            raise StorageError(f"message {client_id!r} of {author!r} conflicted but is not stored")
        return AppendResult.of(stored, False, client_id)

    def _attach(
        self, room_id: int, seq: int, author: str, files: tuple[str, ...]
    ) -> tuple[FileInfo, ...]:
        """Hold ``author``'s uploads for message ``seq``; UnknownFile (the savepoint undoes it)."""
        not_before = format_ts(datetime.now(UTC) - timedelta(seconds=self.upload_expiry_seconds))
        records = hold_uploads(list(files), author, not_before)
        MessageFile.insert_many(
            [
                {"room": room_id, "seq": seq, "position": position, "upload": record.id}
                for position, record in enumerate(records)
            ]
        ).execute()
        return tuple(_file_info(record) for record in records)

    def _find(self, cursor: Any, author: str, client_id: str) -> LogEntry | None:
        cursor.execute(self._sql.find, (author, client_id))
        row = cursor.fetchone()
        return None if row is None else _to_entry(row)

    def _log(self, user: str, event: LogWrite, admin: bool) -> AppendResult:
        """Every log write but a message: check, change the current state, log the entry."""
        cursor = cast(Any, self._db).cursor()
        stored = self._find(cursor, user, event.client_id)
        if stored is not None:
            return AppendResult.of(stored, False, event.client_id)
        room = Room.get_or_none(Room.name == event.room, Room.deleted == 0)
        if room is None:
            raise UnknownRoom(event.room)
        ts = now_ts()
        row: dict[str, Any] = {"kind": event.type, "text": ""}
        if isinstance(event, SendEdit | SendDelete | SendReact):
            target = StoredMessage.get_or_none(
                StoredMessage.room == room.id,
                StoredMessage.seq == event.target,
                StoredMessage.kind == "message",
                StoredMessage.deleted == 0,
            )
            if target is None:
                raise UnknownMessage(event.room, event.target)
            row["target"] = event.target
            if isinstance(event, SendEdit):
                if target.author != user:
                    raise NotYours("only its author edits a message")
                target.text, target.edited = event.text, ts
                target.save()
                # Found by its new words only, in the same transaction.
                self.search_index.index_edit(event.room, event.target, event.text)
                row["text"] = event.text
            elif isinstance(event, SendDelete):
                if target.author != user and not (admin or _is_admin(user)):
                    raise NotYours("only its author or an admin deletes a message")
                # Out of the index first (it finds the row by room and seq).
                self.search_index.unindex(event.room, event.target)
                _erase(room.id, event.target)
                self._erased()
                _release_files(room.id, event.target)
            else:
                if not self._react(room.id, event.target, user, event.emoji, event.on):
                    return _nothing_logged(room, event.client_id, ts)
                row.update(detail=event.emoji, flag=int(event.on))
        elif isinstance(event, SendTopic):
            Room.update(topic=event.topic).where(Room.id == room.id).execute()
            row["text"] = event.topic
        elif isinstance(event, InviteEvent | Remove | Leave):
            target_user = self._membership_change(room, user, event, admin)
            if target_user is None:
                return _nothing_logged(room, event.client_id, ts)
            row.update(kind="member", detail=target_user, flag=int(isinstance(event, InviteEvent)))
        else:  # a message: write_nowait sends those to _append
            raise TypeError(f"not a log write of _log: {event.type}")
        cursor.execute(self._sql.bump, (event.room,))
        _, seq = cursor.fetchone()
        StoredMessage.insert(
            room=room.id, seq=seq, author=user, client_id=event.client_id, ts=ts, **row
        ).execute()
        entry = self._find(cursor, user, event.client_id)
        assert entry is not None
        return AppendResult.of(entry, True, event.client_id)

    def _new_id(self, cursor: Any) -> int | None:
        """The id of the row the cursor just inserted, where the driver tells it (SQLite)."""
        return int(cursor.lastrowid) if self._sqlite else None

    def _erased(self) -> None:
        """On the writer thread, after erasing words: have the WAL emptied once committed."""
        if self._writer is not None:
            self._writer.scrub_after_commit()

    def _react(self, room_id: int, seq: int, user: str, emoji: str, on: bool) -> bool:
        """Set or clear a reaction; False when that state already held."""
        mine = (
            StoredReaction.room == room_id,
            StoredReaction.seq == seq,
            StoredReaction.user == user,
            StoredReaction.emoji == emoji,
        )
        if not on:
            return bool(StoredReaction.delete().where(*mine).execute())
        if StoredReaction.select().where(*mine).exists():
            return False
        StoredReaction.insert(room=room_id, seq=seq, user=user, emoji=emoji).execute()
        return True

    def _membership_change(
        self, room: Room, user: str, event: InviteEvent | Remove | Leave, admin: bool
    ) -> str | None:
        """Apply an invite, remove or leave: who joined or left; None when nothing changed."""
        if room.kind != "private":
            raise BadTarget(f"nobody joins or leaves the {room.kind} room {room.name!r}")
        if isinstance(event, Leave):
            Membership.delete().where(
                Membership.room == room.id, Membership.user_key == user.lower()
            ).execute()
            return user
        found = User.get_or_none(User.name_key == event.user.lower())
        if found is None:
            raise BadTarget(f"there is no user {event.user!r}")
        if isinstance(event, InviteEvent):
            return found.name if _add_member(room.id, found.name) else None
        if room.creator != user and not (admin or _is_admin(user)):
            raise NotYours("only the room's creator or an admin removes members")
        removed = (
            Membership.delete()
            .where(Membership.room == room.id, Membership.user_key == found.name_key)
            .execute()
        )
        return found.name if removed else None

    async def entries_after(
        self, room: str, after: int, limit: int, *, everything: bool
    ) -> list[LogEntry]:
        def work() -> list[LogEntry]:
            query = _entry_query(room, everything).where(StoredMessage.seq > after)
            return _with_reactions(list(query.order_by(StoredMessage.seq).limit(limit)))

        return await self._read(work)

    async def entries_before(
        self, room: str, before: int | None, limit: int, *, everything: bool
    ) -> list[LogEntry]:
        def work() -> list[LogEntry]:
            query = _entry_query(room, everything)
            if before is not None:
                query = query.where(StoredMessage.seq < before)
            newest_first = list(query.order_by(StoredMessage.seq.desc()).limit(limit))
            return _with_reactions(newest_first[::-1])

        return await self._read(work)

    async def search(self, request: SearchRequest) -> list[Message]:
        # A message committed on the loop gets its index row a moment later,
        # from the writer: wait for it, so that what was acked is found.
        carrying = self._inline.hand_over() if self._inline is not None else None
        if carrying is not None:
            # Failed: the writer tries again; search what is there meanwhile.
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(carrying)

        def work() -> list[Message]:
            found = self.search_index.search(request)
            carried = _files_of([(message.room, message.seq) for message in found])
            return [
                dataclasses.replace(message, files=carried[message.room, message.seq])
                if (message.room, message.seq) in carried
                else message
                for message in found
            ]

        return await self._read(work)


class _AppendSql:
    """The constant statements of the append hot path, in the driver's parameter style."""

    __slots__ = ("bump", "find", "insert", "is_message", "unbump")

    def __init__(self, param: str) -> None:
        p = param
        self.bump = (
            "UPDATE rooms SET last_seq = last_seq + 1"
            f" WHERE name = {p} AND deleted = 0 RETURNING id, last_seq"
        )
        self.unbump = f"UPDATE rooms SET last_seq = last_seq - 1 WHERE id = {p}"
        self.insert = (
            "INSERT INTO messages (room_id, seq, author, client_id, text, ts, reply_to)"
            f" VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})"
            " ON CONFLICT (author, client_id) DO NOTHING"
        )
        self.find = (
            f"SELECT {_ENTRY_COLUMNS} FROM messages m JOIN rooms r ON r.id = m.room_id"
            f" WHERE m.author = {p} AND m.client_id = {p}"
        )
        self.is_message = (
            "SELECT 1 FROM messages m JOIN rooms r ON r.id = m.room_id"
            f" WHERE r.name = {p} AND r.deleted = 0 AND m.seq = {p} AND m.kind = 'message'"
        )


def _active_user(username: str) -> User | None:
    """The user (disabled or not) named ``username``, unless removed."""
    return User.get_or_none((User.name_key == username.lower()) & User.removed.is_null())


def _end_sessions(user: Any, which: Any) -> list[str]:
    """Delete the tokens ``which`` selects and log them as revoked; return their hashes.

    Inside the caller's write transaction: the log and the deletion commit together.
    """
    hashes = [token_hash for (token_hash,) in _tuples(Token.select(Token.hash).where(which))]
    if hashes:
        Token.delete().where(Token.hash.in_(hashes)).execute()
        now = now_ts()
        Revocation.insert_many(
            [{"username": user.name, "token_hash": h, "created": now} for h in hashes]
        ).execute()
    return hashes


def _tuples(query: peewee.SelectBase) -> list[tuple[Any, ...]]:
    """Run ``query`` for plain tuples (the stubs type every row as a model)."""
    return list(cast(Iterable[tuple[Any, ...]], query.tuples()))


# An entry's columns, in _to_entry's order.
_ENTRY_COLUMNS = (
    "r.name, m.seq, m.client_id, m.author, m.text, m.ts,"
    " m.kind, m.target, m.reply_to, m.edited, m.deleted, m.detail, m.flag"
)

EntryRow = tuple[str, int, str, str, str, str, str, Any, Any, Any, int, str, Any]


def _entry_query(room: str, everything: bool) -> Any:
    """A room's entries (only messages unless ``everything``), as tuples in _to_entry's order."""
    query = (
        StoredMessage.select(
            Room.name,
            StoredMessage.seq,
            StoredMessage.client_id,
            StoredMessage.author,
            StoredMessage.text,
            StoredMessage.ts,
            StoredMessage.kind,
            StoredMessage.target,
            StoredMessage.reply_to,
            StoredMessage.edited,
            StoredMessage.deleted,
            StoredMessage.detail,
            StoredMessage.flag,
        )
        .join(Room)
        .where(Room.name == room, Room.deleted == 0)
        .tuples()
    )
    return query if everything else query.where(StoredMessage.kind == "message")


def _to_entry(row: EntryRow) -> LogEntry:
    (
        room,
        seq,
        client_id,
        author,
        text,
        ts,
        kind,
        target,
        reply_to,
        edited,
        deleted,
        detail,
        flag,
    ) = row
    if kind == "edit":
        return Edit(room, seq, target, author, text, ts)
    if kind == "delete":
        return Delete(room, seq, target, author, ts)
    if kind == "react":
        return Reaction(room, seq, target, author, detail, bool(flag), ts)
    if kind == "member":
        return Member(room, seq, author, detail, "join" if flag else "leave", ts)
    if kind == "topic":
        return Topic(room, seq, author, text, ts)
    return Message(
        room=room,
        seq=seq,
        client_id=client_id,
        author=author,
        text=text,
        ts=ts,
        reply_to=reply_to,
        edited=edited,
        deleted=bool(deleted),
    )


def _with_reactions(rows: list[EntryRow]) -> list[LogEntry]:
    """Rows as entries, each message with its current reactions and files (a query each a page)."""
    entries = [_to_entry(row) for row in rows]
    seqs = [entry.seq for entry in entries if isinstance(entry, Message) and not entry.deleted]
    if not seqs:
        return entries
    room = entries[0].room
    query = (
        StoredReaction.select(StoredReaction.seq, StoredReaction.emoji, StoredReaction.user)
        .join(Room, on=(StoredReaction.room == Room.id))
        .where(Room.name == room, StoredReaction.seq.in_(seqs))
        .order_by(StoredReaction.id)
    )
    reactions: dict[int, dict[str, list[str]]] = {}
    for seq, emoji, user in _tuples(query):
        reactions.setdefault(seq, {}).setdefault(emoji, []).append(user)
    files = _files_of([(room, seq) for seq in seqs])
    return [
        dataclasses.replace(
            entry,
            reactions=reactions.get(entry.seq, entry.reactions),
            files=files.get((room, entry.seq), ()),
        )
        if isinstance(entry, Message) and (entry.seq in reactions or (room, entry.seq) in files)
        else entry
        for entry in entries
    ]


def _file_info(record: FileRecord) -> FileInfo:
    return FileInfo(record.id, record.name, record.size, record.type)


def _files_of(messages: list[tuple[str, int]]) -> dict[tuple[str, int], tuple[FileInfo, ...]]:
    """The files these (room, seq) messages carry, in order; messages without any left out."""
    if not messages:
        return {}
    wanted = set(messages)
    query = (
        MessageFile.select(
            Room.name, MessageFile.seq, Upload.id, Upload.name, Upload.size, Upload.type
        )
        .join(Room, on=(MessageFile.room == Room.id))
        .join(Upload, on=(MessageFile.upload == Upload.id))
        .where(
            Room.name.in_(sorted({room for room, _ in wanted})),
            MessageFile.seq.in_(sorted({seq for _, seq in wanted})),
        )
        .order_by(MessageFile.room, MessageFile.seq, MessageFile.position)
    )
    found: dict[tuple[str, int], list[FileInfo]] = {}
    for room, seq, file_id, name, size, type_ in _tuples(query):
        if (room, seq) in wanted:
            found.setdefault((room, seq), []).append(FileInfo(file_id, name, size, type_))
    return {key: tuple(infos) for key, infos in found.items()}


def _release_files(room_id: int, seq: int | None = None) -> None:
    """A message (``seq``) or a whole room was deleted: its files are released and forgotten.

    An upload no other message carries is dropped at once (404 for everyone
    from now on); its bytes go with the next sweep unless another upload
    holds the same content.
    """
    rows = MessageFile.select(MessageFile.seq, MessageFile.upload).where(
        MessageFile.room == room_id
    )
    if seq is not None:
        rows = rows.where(MessageFile.seq == seq)
    by_message: dict[int, list[str]] = {}
    for message_seq, upload in _tuples(rows):
        by_message.setdefault(message_seq, []).append(upload)
    for uploads in by_message.values():
        release_uploads(uploads)
    gone = MessageFile.delete().where(MessageFile.room == room_id)
    if seq is not None:
        gone = gone.where(MessageFile.seq == seq)
    gone.execute()


def _nothing_logged(room: Room, client_id: str, ts: str) -> AppendResult:
    """A write that changed nothing: acked with the room's current last_seq."""
    last_seq = Room.get_by_id(room.id).last_seq
    return AppendResult(None, False, client_id, room.name, last_seq, ts)


def _erase(room_id: int, seq: int) -> None:
    """Delete a message: its text and its earlier edits' text erased, its reactions gone."""
    StoredMessage.update(text="", deleted=1).where(
        StoredMessage.room == room_id, StoredMessage.seq == seq
    ).execute()
    StoredMessage.update(text="").where(
        StoredMessage.room == room_id,
        StoredMessage.kind == "edit",
        StoredMessage.target == seq,
    ).execute()
    StoredReaction.delete().where(
        StoredReaction.room == room_id, StoredReaction.seq == seq
    ).execute()


def _is_admin(user: str) -> bool:
    """Asked inside the write's transaction, so a promotion by the CLI counts at once."""
    return bool(User.select(User.admin).where(User.name_key == user.lower()).scalar())


def _is_member(room_id: int, user: str) -> bool:
    query = Membership.select().where(
        Membership.room == room_id, Membership.user_key == user.lower()
    )
    return bool(query.exists())


def _add_member(room_id: int, user: str) -> bool:
    """Add a member; False when they were one already."""
    if _is_member(room_id, user):
        return False
    Membership.insert(room=room_id, user=user, user_key=user.lower()).execute()
    return True


def _members_of(room_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The members of these rooms, each sorted case-insensitively."""
    if not room_ids:
        return {}
    members: dict[int, list[str]] = {room_id: [] for room_id in room_ids}
    query = (
        Membership.select(Membership.room, Membership.user)
        .where(Membership.room.in_(room_ids))
        .order_by(Membership.user_key)
    )
    for room_id, user in _tuples(query):
        members[room_id].append(user)
    return {room_id: tuple(users) for room_id, users in members.items()}


def _room_info(
    room: Room, members: tuple[str, ...] | None = None, read_seq: int = 0, unread: int = 0
) -> RoomInfo:
    return RoomInfo(
        room.name,
        room.last_seq,
        room.kind,
        room.topic,
        (members or ()) if room.kind != "public" else None,
        read_seq,
        unread,
        # "" for a room from before Version 2 or one the server made itself.
        room.creator or None,
    )
