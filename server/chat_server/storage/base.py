"""The storage interface the server's handlers program against.

Every method is a coroutine that never blocks the event loop: the Peewee
implementation runs its queries on a worker thread and groups the writes that
arrive together into one transaction (group commit). A method returns only
after its data is durable, which is what lets the server keep the contract's
rule "a message is stored durably before anyone hears of it".

Values cross this boundary as protocol objects (:class:`Message`,
:class:`RoomInfo`) or plain values, never as database rows.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass

from chat_protocol import LogEntry, LogWrite, Message, RoomInfo


class StorageError(Exception):
    """The store did not do what was asked; nothing that raised this was stored.

    A plain StorageError means the database failed (locked, read-only, disk
    full, gone): the same request may succeed later. The subclasses below are
    refusals of the request itself. Neither transport catches them one by
    one: :func:`chat_server.refusals.refusal_for` turns each into the
    contract's error code, for a socket's ``error`` event and an HTTP status
    alike, never an ack.
    """


class UnknownRoom(StorageError):
    """A message named a room that does not exist."""

    def __init__(self, room: str) -> None:
        super().__init__(f"there is no room {room!r}")
        self.room = room


class UnknownUser(StorageError):
    """A token was issued for a user that does not exist (removed meanwhile)."""

    def __init__(self, username: str) -> None:
        super().__init__(f"there is no user {username!r}")
        self.username = username


class UsernameTaken(StorageError):
    """Registration or rename hit an existing user name (compared case-insensitively)."""

    def __init__(self, username: str) -> None:
        super().__init__(f"the name {username!r} is taken")
        self.username = username


class UnknownMessage(StorageError):
    """An edit, delete or react aimed at a message that is not there (or deleted)."""

    def __init__(self, room: str, seq: int) -> None:
        super().__init__(f"there is no message {seq} in {room!r}")


class NotYours(StorageError):
    """An edit or delete of someone else's message, or a removal by a plain member."""


class BadTarget(StorageError):
    """A write that names something that cannot be: a reply to a seq that is no
    message, an invite of an unknown user, leaving a public room, ``private``
    on a public room's name, a deleted room's name."""


class NameTaken(StorageError):
    """A room name a private or direct room holds (to someone not in it)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the name {name!r} is taken")


@dataclass(frozen=True, slots=True)
class Credentials:
    """What login needs to check a password: the canonical name and the stored hash."""

    username: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """Whose a valid token is: the user, the session's id and when it was last used."""

    username: str
    session_id: str
    last_used: str


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One signed-in session of a user. ``token_hash`` never leaves the server."""

    session_id: str
    created: str
    last_used: str
    agent: str
    token_hash: str


@dataclass(frozen=True, slots=True)
class AppendResult:
    """The outcome of a write to a room's log: what to ack, and the entry to publish.

    ``created`` is False when (user, client_id) was already stored: a retry,
    which gets the original seq and time stamp back and is not broadcast
    again; ``entry`` is then the stored one. ``entry`` is None for a write
    that logged nothing (a reaction already set, a member invited again):
    it is acked with the room's ``last_seq``.
    """

    entry: LogEntry | None
    created: bool
    client_id: str
    room: str
    seq: int
    ts: str

    @classmethod
    def of(cls, entry: LogEntry, created: bool, client_id: str) -> AppendResult:
        return cls(entry, created, client_id, entry.room, entry.seq, entry.ts)

    @property
    def message(self) -> Message:
        """The stored message (for a message write)."""
        if not isinstance(self.entry, Message):
            raise TypeError(f"not a message write: {self.entry!r}")
        return self.entry


@dataclass(frozen=True, slots=True)
class Person:
    """An account as ``GET /api/v1/users`` lists it."""

    username: str
    admin: bool


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """A search of the stored messages (``GET /api/v1/search``).

    ``terms`` come from :func:`chat_protocol.search.query_terms`, each to match
    as a prefix; ``rooms``: the rooms the searching user may read (None: all);
    ``room``: only that one, and then ``before``: only its seqs below it.
    """

    terms: list[str]
    rooms: Collection[str] | None
    limit: int
    room: str | None = None
    before: int | None = None


class ChatStore(ABC):
    """Accounts, tokens, rooms and messages, durable and ordered."""

    @abstractmethod
    async def open(self) -> None:
        """Connect, run pending migrations and create the room ``general`` if missing."""

    @abstractmethod
    async def close(self) -> None:
        """Finish pending writes and release the database."""

    # Accounts -------------------------------------------------------------

    @abstractmethod
    async def create_user(self, username: str, password_hash: str, *, admin: bool = False) -> str:
        """Add a user; return the stored name. Raise UsernameTaken on a clash."""

    @abstractmethod
    async def people(self) -> list[Person]:
        """Every account with its admin flag, sorted case-insensitively."""

    @abstractmethod
    async def set_admin(self, username: str, admin: bool) -> bool:
        """Make a user an admin or not; False when there is no such user."""

    @abstractmethod
    async def is_admin(self, username: str) -> bool:
        """Whether ``username`` is an admin (False for an unknown user)."""

    @abstractmethod
    async def credentials(self, username: str) -> Credentials | None:
        """Look a user up case-insensitively; None when unknown, disabled or removed."""

    @abstractmethod
    async def set_password(self, username: str, password_hash: str) -> bool:
        """Replace a user's password hash; False when there is no such user."""

    @abstractmethod
    async def delete_user(self, username: str) -> bool:
        """Remove a user and end their sessions; False when unknown.

        Their messages stay, and so does their name: a removed account's name
        cannot be registered again (:class:`UsernameTaken`).
        """

    @abstractmethod
    async def set_disabled(self, username: str, disabled: bool) -> bool:
        """Disable (ending every session) or enable an account; False when unknown."""

    @abstractmethod
    async def list_users(self, *, only_disabled: bool = False) -> list[str]:
        """Every user name (removed ones not), sorted case-insensitively.

        ``only_disabled``: just the disabled accounts (the operator's list marks them).
        """

    @abstractmethod
    async def add_token(self, username: str, token_hash: str, agent: str = "") -> str:
        """Remember a session token by its hash; return the new session's id.

        UnknownUser when there is no such user (or it is disabled or removed).
        """

    @abstractmethod
    async def token_owner(self, token_hash: str) -> TokenOwner | None:
        """Whose the token is, or None when it is unknown or revoked."""

    async def user_for_token(self, token_hash: str) -> str | None:
        """The user a token hash belongs to, or None when it is unknown or revoked."""
        owner = await self.token_owner(token_hash)
        return None if owner is None else owner.username

    @abstractmethod
    async def touch_tokens(self, token_hashes: list[str]) -> None:
        """Record that these sessions were used now."""

    @abstractmethod
    async def sessions_of(self, username: str) -> list[SessionInfo]:
        """Every session of a user, oldest first."""

    # Every method below that ends sessions also writes them to the revocation
    # log (revocations_after) in the same transaction, so that every server
    # process on the database learns of it, whichever process ended them.

    @abstractmethod
    async def delete_token(self, token_hash: str) -> None:
        """Revoke one token."""

    @abstractmethod
    async def delete_session(self, username: str, session_id: str) -> str | None:
        """End one session of ``username``; its token hash, or None when it is not theirs."""

    @abstractmethod
    async def delete_tokens_of(self, username: str, keep: str | None = None) -> list[str]:
        """Revoke every token of a user but ``keep``; return the hashes that were revoked."""

    @abstractmethod
    async def revocations_after(self, after: int | None) -> tuple[int, list[str]]:
        """Token hashes revoked after log position ``after``, and the newest position.

        ``after`` None: nothing, only the newest position (where a watcher starts).
        """

    @abstractmethod
    async def clean_up(self, in_use: list[str], unused_before: str, revocations_before: str) -> int:
        """Touch the tokens ``in_use``, then delete tokens unused since ``unused_before``
        and revocation records older than ``revocations_before``, in one transaction.

        Returns how many tokens were deleted.
        """

    # Invites --------------------------------------------------------------

    @abstractmethod
    async def add_invite(self, code_hash: str, uses: int, expires: str) -> None:
        """Remember an invite code by its hash, good for ``uses`` accounts until ``expires``."""

    @abstractmethod
    async def use_invite(self, code_hash: str) -> bool:
        """Spend one use of a code; False when it is unknown, used up or expired."""

    @abstractmethod
    async def return_invite(self, code_hash: str) -> None:
        """Give back the use :meth:`use_invite` took (the account could not be made)."""

    # Rooms ----------------------------------------------------------------

    @abstractmethod
    async def ensure_room(self, name: str) -> tuple[RoomInfo, bool]:
        """Create a room if missing; return it and whether it was created now."""

    @abstractmethod
    async def rooms(self) -> list[RoomInfo]:
        """Every room (not deleted) with its last seq, kind, topic and members, by name."""

    @abstractmethod
    async def rooms_for(self, user: str) -> list[RoomInfo]:
        """The rooms ``user`` can read, as ``user``'s room objects (read_seq, unread)."""

    @abstractmethod
    async def room_for(self, user: str, name: str) -> RoomInfo:
        """One room as ``user``'s room object; UnknownRoom when it is not there."""

    @abstractmethod
    async def create_room(self, name: str, creator: str, private: bool) -> tuple[RoomInfo, bool]:
        """Create a public or private room, or find it; (room, created).

        NameTaken for a private or direct room ``creator`` is not in;
        BadTarget for ``private`` on a public room's name, a ``dm-`` name or
        a deleted room's name.
        """

    @abstractmethod
    async def open_dm(self, opener: str, others: list[str]) -> tuple[RoomInfo, bool]:
        """Find or create the direct room of ``opener`` and ``others``; (room, created).

        BadTarget for an unknown user or no other member.
        """

    @abstractmethod
    async def delete_room(self, name: str) -> list[str] | None:
        """Erase a room's log and retire its name; its members (None for public rooms).

        UnknownRoom when there is none; BadTarget for ``general``.
        """

    @abstractmethod
    async def set_read(self, user: str, room: str, seq: int) -> int | None:
        """Move ``user``'s read position forward to ``seq`` (clamped to last_seq).

        The new position, or None when it did not move.
        """

    @abstractmethod
    async def reads(self, room: str) -> dict[str, int]:
        """Every stored read position in ``room``, by canonical user name."""

    # Messages -------------------------------------------------------------

    async def append(
        self,
        room: str,
        author: str,
        client_id: str,
        text: str,
        reply_to: int | None = None,
        files: tuple[str, ...] = (),
    ) -> AppendResult:
        """Store a message with the room's next seq, durably, before returning.

        Idempotent per (author, client_id). ``reply_to``: the seq of a
        message of the room this one answers (BadTarget when there is none).
        ``files``: ids of the author's uploads it carries (UnknownFile for
        one that is unknown, expired or not theirs). Raises UnknownRoom for
        an unknown room and StorageError when the database refuses the write.
        """
        return await asyncio.wrap_future(
            self.append_nowait(room, author, client_id, text, reply_to, files)
        )

    @abstractmethod
    def append_nowait(
        self,
        room: str,
        author: str,
        client_id: str,
        text: str,
        reply_to: int | None = None,
        files: tuple[str, ...] = (),
    ) -> concurrent.futures.Future[AppendResult]:
        """:meth:`append` without a coroutine: hand the message over now, learn the outcome later.

        The hot path of a chat server: the socket session calls it for each
        message it reads and is called back when the commit is done, with no
        task and no extra turn of the event loop in between (see
        :mod:`chat_server.session`). Messages handed over one after the other are
        stored (and their futures resolve) in that order, per room. The
        future resolves on a database thread; its result and exceptions are
        those of :meth:`append`.
        """

    def append_now(
        self,
        room: str,
        author: str,
        client_id: str,
        text: str,
        reply_to: int | None = None,
        files: tuple[str, ...] = (),
    ) -> concurrent.futures.Future[AppendResult] | None:
        """:meth:`append_nowait` committed on the calling thread (the event loop), if it may be.

        Returns a future that is already done (stored and fsynced, or
        refused), or None: not now (the store has writes on their way, the
        loop has spent its share on such commits lately, the database is busy
        or failed, or the store cannot do it at all); then the caller uses
        :meth:`append_nowait`. The caller must also know that every write it
        handed over earlier has been answered, so that this one cannot
        overtake it. The default: never.
        """
        return None

    @abstractmethod
    def write_nowait(
        self, user: str, event: LogWrite, *, admin: bool = False
    ) -> concurrent.futures.Future[AppendResult]:
        """Log any write (message, edit, delete, react, topic, member) without a coroutine.

        As :meth:`append_nowait` (a message goes through it). Idempotent per
        (user, client_id). ``admin``: the user may delete others' messages and
        remove members (else the store looks the user's admin flag up).
        Refusals: UnknownRoom, UnknownMessage, NotYours, BadTarget.
        A delete erases the target's text and that of its earlier edits.
        """

    async def write(self, user: str, event: LogWrite, *, admin: bool = False) -> AppendResult:
        """:meth:`write_nowait`, awaited."""
        return await asyncio.wrap_future(self.write_nowait(user, event, admin=admin))

    async def messages_after(self, room: str, after: int, limit: int) -> list[Message]:
        """Up to ``limit`` messages with seq > after, ascending, in their current state."""
        return await self.entries_after(room, after, limit, everything=False)  # type: ignore[return-value]

    async def messages_before(self, room: str, before: int | None, limit: int) -> list[Message]:
        """Up to ``limit`` newest messages with seq < before (all when None), ascending."""
        return await self.entries_before(room, before, limit, everything=False)  # type: ignore[return-value]

    @abstractmethod
    async def entries_after(
        self, room: str, after: int, limit: int, *, everything: bool
    ) -> list[LogEntry]:
        """Up to ``limit`` entries above ``after``, ascending (all kinds with ``everything``)."""

    @abstractmethod
    async def entries_before(
        self, room: str, before: int | None, limit: int, *, everything: bool
    ) -> list[LogEntry]:
        """Up to ``limit`` newest entries with seq < before (all when None), ascending."""

    @abstractmethod
    async def search(self, request: SearchRequest) -> list[Message]:
        """The newest ``request.limit`` messages whose words match every term, newest first.

        Newest first means by seq within a room and by ``ts`` across rooms.
        """
