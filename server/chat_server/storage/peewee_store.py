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
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import secrets
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

import peewee
from peewee import fn

from chat_protocol import DEFAULT_ROOM, Message, RoomInfo
from chat_protocol.rules import now_ts

from .base import (
    AppendResult,
    ChatStore,
    Credentials,
    SearchRequest,
    SessionInfo,
    StorageError,
    TokenOwner,
    UnknownRoom,
    UnknownUser,
    UsernameTaken,
)
from .migrations import migrate
from .models import Invite, Revocation, Room, StoredMessage, Token, User, database_proxy
from .search_index import SearchIndex
from .workers import GroupCommitWriter, ReaderPool

T = TypeVar("T")


class PeeweeChatStore(ChatStore):
    """Accounts, tokens, rooms and messages in one Peewee database.

    Only one store can be open per process at a time, because the models are
    bound to the database through the module-wide :data:`database_proxy`.
    """

    def __init__(self, db: peewee.Database, *, readers: int = 4, max_batch: int = 500) -> None:
        self._db = db
        self._reader_count = readers
        self._max_batch = max_batch
        # Both set while the store is open, None before open() and after close().
        self._writer: GroupCommitWriter | None = None
        self._readers: ReaderPool | None = None
        self._sql = _AppendSql(db.param)
        # The full-text index, written in the same transactions as the log.
        self.search_index = SearchIndex(db)

    @property
    def database(self) -> peewee.Database:
        """The Peewee database this store runs on."""
        return self._db

    @property
    def commits(self) -> int:
        """Write transactions committed since open(): fewer than writes when they grouped."""
        return self._writer.commits if self._writer is not None else 0

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
        self._writer = GroupCommitWriter(self._db, self._max_batch)
        self._readers = ReaderPool(self._db, self._reader_count)
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
        self._ensure_room(DEFAULT_ROOM)

    async def close(self) -> None:
        writer, readers = self._writer, self._readers
        if writer is None or readers is None:
            return
        # From here on new calls fail fast; what was queued still completes.
        self._writer = self._readers = None
        writer.stop()
        readers.stop()

        def join() -> None:
            writer.join()
            readers.join()

        await asyncio.to_thread(join)
        database_proxy.initialize(None)

    async def _write(self, work: Callable[[], T], room: str = "", *, savepoint: bool = True) -> T:
        """Run ``work`` in the writer's next transaction; ``room``: the room it locks.

        ``savepoint``: see :meth:`GroupCommitWriter.submit`.
        """
        if self._writer is None:
            raise StorageError("the store is closed")
        return await asyncio.wrap_future(self._writer.submit(work, room, savepoint=savepoint))

    async def _read(self, work: Callable[[], T]) -> T:
        if self._readers is None:
            raise StorageError("the store is closed")
        return await asyncio.wrap_future(self._readers.submit(work))

    # Accounts ---------------------------------------------------------------

    async def create_user(self, username: str, password_hash: str) -> str:
        def work() -> str:
            try:
                User.insert(
                    name=username,
                    name_key=username.lower(),
                    password_hash=password_hash,
                    created=now_ts(),
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

    def _ensure_room(self, name: str) -> tuple[RoomInfo, bool]:
        room = Room.get_or_none(Room.name == name)
        if room is not None:
            return RoomInfo(room.name, room.last_seq), False
        try:
            # A savepoint, so that losing a race with another server process
            # (PostgreSQL) leaves this transaction usable.
            with database_proxy.atomic():
                Room.insert(name=name, last_seq=0, created=now_ts()).execute()
        except peewee.IntegrityError:
            room = Room.get(Room.name == name)
            return RoomInfo(room.name, room.last_seq), False
        return RoomInfo(name, 0), True

    async def rooms(self) -> list[RoomInfo]:
        def work() -> list[RoomInfo]:
            query = Room.select(Room.name, Room.last_seq).order_by(Room.name)
            return [RoomInfo(name, last_seq) for name, last_seq in _tuples(query)]

        return await self._read(work)

    # Messages ---------------------------------------------------------------

    def append_nowait(
        self, room: str, author: str, client_id: str, text: str
    ) -> concurrent.futures.Future[AppendResult]:
        if self._writer is None:
            raise StorageError("the store is closed")
        # No savepoint: _append raises (UnknownRoom) only before it changed anything.
        return self._writer.submit(
            lambda: self._append(room, author, client_id, text), room, savepoint=False
        )

    def _append(self, room: str, author: str, client_id: str, text: str) -> AppendResult:
        sql = self._sql
        cursor = cast(Any, self._db).cursor()  # the stubs leave cursor() untyped
        cursor.execute(sql.bump, (room,))
        bumped = cursor.fetchone()
        if bumped is None:
            # A retry of a message already stored still gets it back, whatever
            # room it names; anything else in an unknown room is refused.
            stored = self._find(cursor, author, client_id)
            if stored is None:
                raise UnknownRoom(room)
            return AppendResult(stored, created=False)
        room_id, seq = bumped
        ts = now_ts()
        cursor.execute(sql.insert, (room_id, seq, author, client_id, text, ts))
        if cursor.rowcount == 1:
            self.search_index.add(cursor, room_id, seq, text)
            message = Message(
                room=room, seq=seq, client_id=client_id, author=author, text=text, ts=ts
            )
            return AppendResult(message, created=True)
        # Nothing inserted: the message is stored already (by this batch or
        # another process). Give the seq back, so that it is not a hole; the
        # room's row stays locked until the commit, so nobody took a later one.
        cursor.execute(sql.unbump, (room_id,))
        stored = self._find(cursor, author, client_id)
        if stored is None:
            raise StorageError(f"message {client_id!r} of {author!r} conflicted but is not stored")
        return AppendResult(stored, created=False)

    def _find(self, cursor: Any, author: str, client_id: str) -> Message | None:
        cursor.execute(self._sql.find, (author, client_id))
        row = cursor.fetchone()
        return None if row is None else _to_message(row)

    async def messages_after(self, room: str, after: int, limit: int) -> list[Message]:
        def work() -> list[Message]:
            query = (
                _message_query()
                .where(Room.name == room, StoredMessage.seq > after)
                .order_by(StoredMessage.seq)
                .limit(limit)
            )
            return [_to_message(row) for row in query]

        return await self._read(work)

    async def messages_before(self, room: str, before: int | None, limit: int) -> list[Message]:
        def work() -> list[Message]:
            query = _message_query().where(Room.name == room)
            if before is not None:
                query = query.where(StoredMessage.seq < before)
            newest_first = query.order_by(StoredMessage.seq.desc()).limit(limit)
            return [_to_message(row) for row in reversed(list(newest_first))]

        return await self._read(work)

    async def search(self, request: SearchRequest) -> list[Message]:
        return await self._read(lambda: self.search_index.search(request))


class _AppendSql:
    """The constant statements of the append hot path, in the driver's parameter style."""

    __slots__ = ("bump", "find", "insert", "unbump")

    def __init__(self, param: str) -> None:
        p = param
        self.bump = (
            f"UPDATE rooms SET last_seq = last_seq + 1 WHERE name = {p} RETURNING id, last_seq"
        )
        self.unbump = f"UPDATE rooms SET last_seq = last_seq - 1 WHERE id = {p}"
        self.insert = (
            "INSERT INTO messages (room_id, seq, author, client_id, text, ts)"
            f" VALUES ({p}, {p}, {p}, {p}, {p}, {p})"
            " ON CONFLICT (author, client_id) DO NOTHING"
        )
        self.find = (
            "SELECT r.name, m.seq, m.client_id, m.author, m.text, m.ts"
            " FROM messages m JOIN rooms r ON r.id = m.room_id"
            f" WHERE m.author = {p} AND m.client_id = {p}"
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


def _message_query() -> Any:
    """Messages with their room's name, as tuples in :func:`_to_message`'s order."""
    return (
        StoredMessage.select(
            Room.name,
            StoredMessage.seq,
            StoredMessage.client_id,
            StoredMessage.author,
            StoredMessage.text,
            StoredMessage.ts,
        )
        .join(Room)
        .tuples()
    )


def _to_message(row: tuple[str, int, str, str, str, str]) -> Message:
    room, seq, client_id, author, text, ts = row
    return Message(room=room, seq=seq, client_id=client_id, author=author, text=text, ts=ts)
