"""What the server does, independent of how the request arrived.

The socket session (:mod:`chat_server.session`) and the HTTP API
(:mod:`chat_server.http_api`) both call :class:`ChatService`, so a message
posted over HTTP and one sent over the socket go through the very same steps,
forward only: validate (already done by :mod:`chat_protocol`), rate-limit,
store durably (:meth:`ChatService.start_post`), then the transport tells the
sender ("stored as seq N"), then :meth:`ChatService.publish` tells the
:class:`~chat_server.hub.Hub`, which fans it out. The socket pipelines those
steps (it reads on while the store commits); HTTP awaits them in
:meth:`ChatService.post`. What a client missed while away is read by one rule,
:meth:`ChatService.replay`, for the socket's ``hello`` and the long poll alike.

Refusals are raised, never returned: :class:`~chat_protocol.ProtocolError`
with the contract's code, or the store's typed
:class:`~chat_server.storage.base.StorageError`; nothing here catches the
latter just to rename it. :func:`chat_server.refusals.refusal_for` turns
either into the socket's ``error`` event or HTTP's status and body.

One of several servers (``ServerConfig.redis_url``) has a
:class:`~chat_server.cluster.Cluster`: what happens here is then also told to
it (it orders committed entries before the hub and sends everything to the
other servers), and the rate limits are counted in Redis. Without one, each
of those is a single ``None`` check away from the single server's path.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from aiohttp import web

from chat_protocol import (
    ErrorCode,
    HistoryPage,
    Limits,
    LogEntry,
    LogWrite,
    ProtocolError,
    RoomInfo,
    SendMessage,
    SetTyping,
    ValidationError,
    rules,
)

from . import invites
from .accounts import Accounts
from .config import Registration, ServerConfig
from .hub import Hub, Subscriber
from .limits import LoginThrottle, RateLimiter
from .priority import ChatFirst
from .security import hash_password, needs_rehash, verify_password
from .storage.base import AppendResult, ChatStore, Person, StorageError

if TYPE_CHECKING:
    from .cluster import Cluster

log = logging.getLogger(__name__)

# What the store hands back for a write on its way to the database.
WriteFuture = concurrent.futures.Future[AppendResult]


class RateLimited(ProtocolError):
    """``rate_limited`` with the seconds after which trying again makes sense."""

    def __init__(self, message: str, retry_after: float, ref: str | None = None) -> None:
        super().__init__(ErrorCode.RATE_LIMITED, message, ref)
        # Whole seconds, at least 1: the form HTTP's Retry-After takes.
        self.retry_after = max(1, math.ceil(retry_after))


class ChatService:
    """Accounts, rooms and messages for both transports, over one store and one hub."""

    def __init__(
        self, config: ServerConfig, store: ChatStore, hub: Hub, cluster: Cluster | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.hub = hub
        self.cluster = cluster
        # Several servers: the limits below are counted in Redis (each is
        # still the fallback while Redis is away).
        self._shared = None if cluster is None else cluster.limits
        limits: Limits = config.limits
        self.limits = limits
        # Per user across all of their connections and HTTP: one bucket each.
        self._messages = RateLimiter(limits.messages_per_second, limits.message_burst)
        # Bursts of typing are pointless, so the burst is the per-second rate
        # (but at least one event, so that a slow rate still lets some through).
        self._typing = RateLimiter(limits.typing_per_second, max(1.0, limits.typing_per_second))
        self._logins = LoginThrottle(
            limits.login_failures, limits.login_window_seconds, limits.login_failures_per_user
        )
        # Strangers (docs/security.md): sign-ups per client address, new rooms per user.
        self._registrations = RateLimiter(
            config.registrations_per_minute / 60, config.registration_burst
        )
        self._new_rooms = RateLimiter(config.rooms_per_minute / 60, config.room_burst)
        # A hash to verify against when the user does not exist, so that an
        # unknown name costs as much time as a wrong password (no enumeration).
        self._decoy_hash: str | None = None
        # Sessions: expiry, listing, ending, revocation everywhere (chat_server.accounts).
        self.accounts = Accounts(config, store, hub)
        # The names the hosting app made admins (ServerConfig.admins), lower-cased.
        self._admins = {name.lower() for name in config.admins}
        self._shared_logins = None if cluster is None else cluster.login_throttle(self._logins)
        # Writes the sockets handed to the writer thread whose answers have
        # not reached the loop yet (session.PostPipeline counts them): while
        # any are, no message is committed on the loop (start_post's ``now``),
        # so none overtakes them.
        self.posts_on_their_way = 0
        # Upload bodies give way to chat writes (chat_server.priority): the
        # transports report each write from its hand-over to its answer.
        self.priority = ChatFirst()

    @property
    def features(self) -> list[str]:
        """What a Version 2 ``welcome`` lists: ``cluster`` too when one of several."""
        features = list(rules.FEATURES)
        if self.cluster is not None:
            features.append("cluster")
        return features

    @property
    def limits_shared(self) -> bool:
        """True when rate limits are counted in Redis (a socket then awaits :meth:`admit`)."""
        return self._shared is not None

    async def _take(self, name: str, limiter: RateLimiter, key: str) -> float:
        """Spend a token of ``key``: in Redis for several servers, else in-process."""
        if self._shared is None:
            return limiter.take(key)
        return await self._shared.take(name, key, limiter)

    async def admit(self, author: str, event: LogWrite) -> None:
        """Several servers: the rate limit of a log write, counted for the whole chat.

        Awaited before :meth:`start_post`, which then counts nothing itself.
        """
        if self.hub.hides(event.room, author):
            raise ProtocolError(
                ErrorCode.UNKNOWN_ROOM, f"there is no room {event.room!r}", event.client_id
            )
        wait = await self._take("messages", self._messages, author)
        if wait:
            raise RateLimited(
                f"more than {self.limits.messages_per_second:g} messages per second",
                wait,
                event.client_id,
            )

    # Accounts ---------------------------------------------------------------

    async def register(
        self,
        username: object,
        password: object,
        *,
        address: str,
        invite: object = None,
        agent: str = "",
    ) -> tuple[str, str]:
        """Create an account and a first token; return (token, username).

        ``address`` is the client's (see :func:`chat_server.guards.client_address`):
        every attempt, accepted or not, spends one of its registration tokens.
        In invite mode ``invite`` must be a code that still has a use left.
        """
        mode = self.config.registration
        if mode is Registration.CLOSED:
            raise ProtocolError(
                ErrorCode.REGISTRATION_CLOSED,
                "registration is closed; ask the operator for an account",
            )
        wait = await self._take("registrations", self._registrations, address)
        if wait:
            raise RateLimited("too many new accounts from this address; wait and try again", wait)
        try:
            name = rules.validate_username(username)
            secret = rules.validate_password(password)
        except ValidationError as exc:
            raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc)) from None
        code_hash = None
        if mode is Registration.INVITE:
            if invite is None or invite == "":
                raise ProtocolError(
                    ErrorCode.INVITE_REQUIRED, "registration needs an invite code from the operator"
                )
            code_hash = invites.hash_code(invite) if isinstance(invite, str) else ""
        password_hash = await hash_password(secret)
        if code_hash is not None and not await self.store.use_invite(code_hash):
            raise ProtocolError(
                ErrorCode.INVITE_INVALID, "this invite code is unknown, used up or expired"
            )
        try:
            # UsernameTaken, like every refusal of the store, goes up as it is.
            name = await self.store.create_user(
                name, password_hash, admin=name.lower() in self._admins
            )
        except BaseException:
            if code_hash is not None:
                # The name was taken (or the database failed): the code keeps its use.
                await self.store.return_invite(code_hash)
            raise
        return await self.accounts.issue(name, agent), name

    async def login(
        self, username: object, password: object, *, address: str, agent: str = ""
    ) -> tuple[str, str]:
        """Check a password and issue a token; one answer for every kind of failure.

        Failures are counted per (name, ``address``), see :class:`LoginThrottle`.
        """
        if not isinstance(username, str) or not isinstance(password, str):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "username and password must be strings")
        shared = self._shared_logins
        if shared is None:
            wait = self._logins.retry_after(username, address)
        else:
            # Checked and counted in one step (chat_server.cluster.limits).
            wait = await shared.attempt(username, address)
        if wait:
            raise RateLimited("too many failed logins for this name; wait and try again", wait)
        if shared is None:
            # Counted as failed up front (see LoginThrottle.record_failure).
            self._logins.record_failure(username, address)
        try:
            found = None
            if rules.USERNAME_RE.fullmatch(username):
                found = await self.store.credentials(username)
            if found is None:
                await verify_password(password, await self._decoy())
            elif await verify_password(password, found.password_hash):
                token = await self.accounts.issue(found.username, agent)
                await self._forgive(username, address)
                if needs_rehash(found.password_hash):
                    await self._rehash(found.username, password)
                return token, found.username
        except StorageError:
            # Not the user's failure: it must not count towards a lock-out.
            await self._forgive(username, address)
            raise
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "wrong user name or password")

    async def _forgive(self, username: str, address: str) -> None:
        if self._shared_logins is None:
            self._logins.forgive(username, address)
        else:
            await self._shared_logins.forgive(username, address)

    async def _rehash(self, username: str, password: str) -> None:
        """Replace an older scheme's hash while the password is at hand (one try per login)."""
        try:
            await self.store.set_password(username, await hash_password(password))
        except StorageError as exc:
            log.warning("could not upgrade the password hash of %s: %s", username, exc)

    async def _decoy(self) -> str:
        if self._decoy_hash is None:
            self._decoy_hash = await hash_password(secrets.token_urlsafe(16))
        return self._decoy_hash

    async def user_for_token(self, token: str) -> tuple[str, str] | None:
        """(username, token hash) for a valid token, else None. StorageError passes up."""
        return await self.accounts.resolve(token)

    async def people(self) -> list[tuple[Person, bool]]:
        """Every account with whether it is online now."""
        return [
            (person, self.hub.is_online(person.username)) for person in await self.store.people()
        ]

    async def logout(self, token_hash: str) -> None:
        """Revoke a token at once and close the sockets that use it."""
        await self.store.delete_token(token_hash)
        self.accounts.ended([token_hash], "logged out")

    # Rooms ------------------------------------------------------------------

    async def rooms(self) -> list[RoomInfo]:
        """Every room (for the hub's index), whoever may read it."""
        rooms = await self.store.rooms()
        self.hub.note_rooms(rooms)
        return rooms

    async def rooms_for(self, user: str, *, v2: bool) -> list[RoomInfo]:
        """The rooms ``user`` may read, as ``user``'s room objects (v1 shaped unless ``v2``)."""
        rooms = await self.store.rooms_for(user)
        self.hub.note_rooms(rooms)
        return rooms if v2 else [room.v1() for room in rooms]

    async def rooms_named(self, user: str, names: list[str]) -> list[RoomInfo]:
        """``user``'s room objects of these rooms, leaving out any gone meanwhile."""
        return [room for room in await self.store.rooms_for(user) if room.name in names]

    async def require_room(self, name: str, user: str, ref: str | None = None) -> None:
        """Raise ``unknown_room`` unless the room exists and ``user`` may read it.

        A private or direct room that ``user`` is not in gets the very same
        answer as a room that does not exist: nothing tells them apart.
        """
        if self.hub.can_read(name, user):
            return
        # Maybe created by `chat-server room create` in another process: ask the store.
        await self.rooms()
        if not self.hub.can_read(name, user):
            raise ProtocolError(ErrorCode.UNKNOWN_ROOM, f"there is no room {name!r}", ref)

    async def create_room(
        self, name: str, user: str, private: bool = False, *, v2: bool = True
    ) -> tuple[RoomInfo, bool]:
        """Create a room if missing; a new room is announced to those who may read it.

        A room that does not exist yet costs ``user`` one of their room tokens,
        so that nobody can fill everyone's room list; asking for a known room is free.
        """
        if not self.hub.has_room(name):
            wait = await self._take("rooms", self._new_rooms, user)
            if wait:
                raise RateLimited(
                    f"more than {self.config.room_burst} new rooms in a short time; wait and "
                    "try again",
                    wait,
                )
        room, created = await self.store.create_room(name, user, private)
        if created:
            log.info("room %s created", name)
            self.hub.publish_room(room)
            if self.cluster is not None:
                self.cluster.room(room)
        else:
            self.hub.note_rooms([room])
        return (room if v2 else room.v1()), created

    async def open_dm(self, user: str, others: list[str]) -> tuple[RoomInfo, bool]:
        """Find or create the direct room of ``user`` and ``others``; a new one is
        announced to every member's connections."""
        room, created = await self.store.open_dm(user, others)
        if created:
            log.info("direct room %s opened", room.name)
            self.hub.publish_room(room)
            if self.cluster is not None:
                self.cluster.room(room)
        else:
            self.hub.note_rooms([room])
        return room, created

    async def delete_room(self, name: str, user: str | None) -> None:
        """Delete a room (``user`` must be an admin; None: the operator), erasing its log."""
        if user is not None:
            await self.require_room(name, user)
            if not await self.store.is_admin(user):
                raise ProtocolError(ErrorCode.FORBIDDEN, "only an admin deletes a room")
        await self.store.delete_room(name)
        log.info("room %s deleted", name)
        self.hub.remove_room(name)
        if self.cluster is not None:
            self.cluster.room_removed(name)

    # The log ----------------------------------------------------------------

    async def post(self, author: str, event: SendMessage) -> AppendResult:
        """Store a message durably, then publish it; HTTP's way, awaiting each step.

        The socket session takes the same steps itself, pipelined: it calls
        :meth:`start_post`, reads on, and once the commit is done acks and
        calls :meth:`publish`.
        """
        await self.require_room(event.room, author, event.client_id)
        if self._shared is not None:
            await self.admit(author, event)
        with self.priority.chat_write():
            result = await asyncio.wrap_future(self.start_post(author, event))
            self.publish(result)
        return result

    def start_post(self, author: str, event: LogWrite, *, now: bool = False) -> WriteFuture:
        """Rate-limit, then hand a write to the store; return the store's future at once.

        RateLimited when over the limit; ``unknown_room`` for a private or
        direct room the author is not in (the hub's member index answers,
        without a query). The future resolves on a database thread once the
        write is committed, with its :class:`AppendResult`, or with the
        store's refusal (``UnknownRoom``, ``StorageError``...).

        ``now``: the caller has had every earlier write answered, so a
        message may be committed right here on the loop when the store is
        idle (:meth:`ChatStore.append_now`); the future is then done already.
        """
        if self.hub.hides(event.room, author):
            raise ProtocolError(
                ErrorCode.UNKNOWN_ROOM, f"there is no room {event.room!r}", event.client_id
            )
        # Several servers: admit() counted it in Redis already.
        wait = 0.0 if self._shared is not None else self._messages.take(author)
        if wait:
            raise RateLimited(
                f"more than {self.limits.messages_per_second:g} messages per second",
                wait,
                event.client_id,
            )
        if isinstance(event, SendMessage):
            # The hot path, without the isinstance chain of write_nowait.
            if now:
                done = self.store.append_now(
                    event.room, author, event.client_id, event.text, event.reply_to, event.files
                )
                if done is not None:
                    return done
            return self.store.append_nowait(
                event.room, author, event.client_id, event.text, event.reply_to, event.files
            )
        return self.store.write_nowait(author, event)

    async def write(
        self,
        user: str,
        event: LogWrite,
        answer: Callable[[AppendResult], None] | None = None,
    ) -> AppendResult:
        """Store any log write awaiting each step: ``answer`` (the socket's ack),
        then publish, then tell an invitee of their new room. The socket's
        membership changes and every HTTP write go this way."""
        await self.require_room(event.room, user, event.client_id)
        if self._shared is not None:
            await self.admit(user, event)
        with self.priority.chat_write():
            result = await asyncio.wrap_future(self.start_post(user, event))
            if answer is not None:
                answer(result)
            self.publish(result)
        await self._welcome_invitee(result)
        return result

    def publish(self, result: AppendResult) -> None:
        """Fan a stored entry out, once its writer has been answered.

        A retry (``created`` False) was published the first time, and a write
        that logged nothing has nothing to publish: they are only answered.
        """
        entry = result.entry
        if result.created and entry is not None:
            if self.cluster is None:
                self.hub.publish_entry(entry)
            else:
                # In order with the other servers' entries of the room.
                self.cluster.committed(entry)

    async def _welcome_invitee(self, result: AppendResult) -> None:
        """After an invite was published: the invitee's connections get the ``room`` event."""
        entry = result.entry
        if result.created and entry is not None and entry.type == "member":
            target = getattr(entry, "target", "")
            if getattr(entry, "action", "") == "join":
                room = await self.store.room_for(target, entry.room)
                self.hub.announce_room_to(target, room)
                if self.cluster is not None:
                    self.cluster.room(room, target)

    async def set_typing(self, user: str, event: SetTyping) -> None:
        """Relay a typing change, or drop it silently when the user types too often."""
        await self.require_room(event.room, user)
        if await self._take("typing", self._typing, user):
            return
        self.hub.publish_typing(event.room, user, event.active)
        if self.cluster is not None:
            self.cluster.typing(event.room, user, event.active)

    async def read(self, user: str, room: str, seq: int, skip: Subscriber | None = None) -> None:
        """Move ``user``'s read position forward; tell who should hear (not ``skip``)."""
        await self.require_room(room, user)
        position = await self.store.set_read(user, room, seq)
        if position is not None:
            self.hub.publish_read(room, user, position, skip)
            if self.cluster is not None:
                self.cluster.read(room, user, position)

    async def history(
        self, user: str, room: str, before: int | None, limit: int, *, v2: bool = False
    ) -> HistoryPage:
        """Up to ``limit`` entries before ``before`` (the newest when None), ascending."""
        await self.require_room(room, user)
        page = await self.store.entries_before(room, before, limit + 1, everything=v2)
        # One more than asked tells whether there is more without a count query.
        return HistoryPage.of(room, page[-limit:], len(page) > limit, v2=v2)

    async def after(
        self, user: str, room: str, after: int, limit: int, *, v2: bool = False
    ) -> tuple[list[LogEntry], bool]:
        """Up to ``limit`` entries after ``after``, ascending, and whether more follow."""
        await self.require_room(room, user)
        page = await self.store.entries_after(room, after, limit + 1, everything=v2)
        return page[:limit], len(page) > limit

    async def replay(
        self,
        user: str,
        since: Mapping[str, int],
        limit: int | None = None,
        *,
        newest: bool = True,
        v2: bool = False,
    ) -> dict[str, list[LogEntry]]:
        """What ``user`` missed: per readable room of ``since``, the entries after its seq.

        The one rule behind the socket's replay after ``hello`` and the long
        poll. Ascending, at most ``limit`` per room (``replay_limit`` when
        None): with ``newest`` the most recent ones (the socket: a client far
        behind gets the recent ones at once and a gap to page back through
        with history), otherwise the oldest (the long poll: the client asks
        again from where the answer ends). A room with nothing new is not
        read at all: the hub knows each room's last seq. A room ``user`` may
        not read is left out exactly like one that does not exist. Without
        ``v2`` only messages (the v1 view).
        """
        if limit is None:
            limit = self.config.replay_limit
        missed: dict[str, list[LogEntry]] = {}
        for room, position in since.items():
            if not self.hub.can_read(room, user):
                continue
            if self.hub.last_seq(room) <= position:
                missed[room] = []
            elif newest:
                recent = await self.store.entries_before(room, None, limit, everything=v2)
                missed[room] = [entry for entry in recent if entry.seq > position]
            else:
                missed[room] = await self.store.entries_after(room, position, limit, everything=v2)
        return missed


# Where the aiohttp application keeps the service, for the handlers in ws and http_api.
SERVICE_KEY = web.AppKey("service", ChatService)
