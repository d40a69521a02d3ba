"""What the server does, independent of how the request arrived.

The socket session (:mod:`chat_server.ws`) and the HTTP API
(:mod:`chat_server.http_api`) both call :class:`ChatService`, so a message
posted over HTTP and one sent over the socket go through the very same steps:
validate (already done by :mod:`chat_protocol`), rate-limit, store
durably, then tell the :class:`~chat_server.hub.Hub`. Refusals are raised as
:class:`~chat_protocol.ProtocolError` with the contract's code, which
the socket turns into an ``error`` event and HTTP into a status code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import secrets
from collections.abc import Callable

from aiohttp import web

from chat_protocol import (
    HistoryPage,
    Limits,
    Message,
    ProtocolError,
    RoomInfo,
    SendMessage,
    SetTyping,
    ValidationError,
    rules,
)

from .accounts import Accounts
from .config import ServerConfig
from .hub import Hub
from .limits import LoginThrottle, RateLimiter
from .security import hash_password, needs_rehash, verify_password
from .storage.base import AppendResult, ChatStore, StorageError, UsernameTaken

log = logging.getLogger(__name__)

# What the store hands back for a message on its way to the database.
WriteFuture = concurrent.futures.Future[AppendResult]

# Error codes beyond the contract's list, used where the contract gives an HTTP
# status but no code (account calls) or names a failure it has no code for.
UNAVAILABLE = "unavailable"  # the database failed; nothing was stored; try again
USERNAME_TAKEN = "username_taken"
REGISTRATION_CLOSED = "registration_closed"


class RateLimited(ProtocolError):
    """``rate_limited`` with the seconds after which trying again makes sense."""

    def __init__(self, message: str, retry_after: float, ref: str | None = None) -> None:
        super().__init__("rate_limited", message, ref)
        # Whole seconds, at least 1: the form HTTP's Retry-After takes.
        self.retry_after = max(1, math.ceil(retry_after))


def unavailable(
    ref: str | None = None, message: str = "the server's database is unavailable; try again"
) -> ProtocolError:
    """The ``unavailable`` refusal: nothing was done, the same request may be retried."""
    return ProtocolError(UNAVAILABLE, message, ref)


class ChatService:
    """Accounts, rooms and messages for both transports, over one store and one hub."""

    def __init__(self, config: ServerConfig, store: ChatStore, hub: Hub) -> None:
        self.config = config
        self.store = store
        self.hub = hub
        limits: Limits = config.limits
        self.limits = limits
        # Per user across all of their connections and HTTP: one bucket each.
        self._messages = RateLimiter(limits.messages_per_second, limits.message_burst)
        # Bursts of typing are pointless, so the burst is the per-second rate
        # (but at least one event, so that a slow rate still lets some through).
        self._typing = RateLimiter(limits.typing_per_second, max(1.0, limits.typing_per_second))
        self._logins = LoginThrottle(limits.login_failures, limits.login_window_seconds)
        # A hash to verify against when the user does not exist, so that an
        # unknown name costs as much time as a wrong password (no enumeration).
        self._decoy_hash: str | None = None
        # Sessions: expiry, listing, ending, revocation everywhere (chat_server.accounts).
        self.accounts = Accounts(config, store, hub)

    # Accounts ---------------------------------------------------------------

    async def register(
        self, username: object, password: object, *, agent: str = ""
    ) -> tuple[str, str]:
        """Create an account and a first token; return (token, username)."""
        if not self.config.registration_open:
            raise ProtocolError(
                REGISTRATION_CLOSED, "registration is closed; ask the operator for an account"
            )
        try:
            name = rules.validate_username(username)
            secret = rules.validate_password(password)
        except ValidationError as exc:
            raise ProtocolError("bad_request", str(exc)) from None
        password_hash = await hash_password(secret)
        try:
            name = await self.store.create_user(name, password_hash)
            return await self.accounts.issue(name, agent), name
        except UsernameTaken:
            raise ProtocolError(USERNAME_TAKEN, f"the name {name!r} is taken") from None
        except StorageError:
            raise unavailable() from None

    async def login(
        self, username: object, password: object, *, agent: str = ""
    ) -> tuple[str, str]:
        """Check a password and issue a token; one answer for every kind of failure."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise ProtocolError("bad_request", "username and password must be strings")
        wait = self._logins.retry_after(username)
        if wait:
            raise RateLimited("too many failed logins for this name; wait and try again", wait)
        # Counted as failed up front (see LoginThrottle.record_failure).
        self._logins.record_failure(username)
        try:
            found = None
            if rules.USERNAME_RE.fullmatch(username):
                found = await self.store.credentials(username)
            if found is None:
                await verify_password(password, await self._decoy())
            elif await verify_password(password, found.password_hash):
                token = await self.accounts.issue(found.username, agent)
                self._logins.forgive(username)
                if needs_rehash(found.password_hash):
                    await self._rehash(found.username, password)
                return token, found.username
        except StorageError:
            self._logins.forgive(username)
            raise unavailable() from None
        raise ProtocolError("unauthorized", "wrong user name or password")

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

    async def logout(self, token_hash: str) -> None:
        """Revoke a token at once and close the sockets that use it."""
        try:
            await self.store.delete_token(token_hash)
        except StorageError:
            raise unavailable() from None
        self.accounts.ended([token_hash], "logged out")

    # Rooms ------------------------------------------------------------------

    async def rooms(self) -> list[RoomInfo]:
        try:
            rooms = await self.store.rooms()
        except StorageError:
            raise unavailable() from None
        self.hub.note_rooms(rooms)
        return rooms

    async def require_room(self, name: str, ref: str | None = None) -> None:
        """Raise ``unknown_room`` unless the room exists."""
        if self.hub.has_room(name):
            return
        # Maybe created by `chat-server room create` in another process: ask the store.
        await self.rooms()
        if not self.hub.has_room(name):
            raise ProtocolError("unknown_room", f"there is no room {name!r}", ref)

    async def create_room(self, name: str) -> tuple[RoomInfo, bool]:
        """Create a room if missing; a new room is announced to every connection."""
        try:
            room, created = await self.store.ensure_room(name)
        except StorageError:
            raise unavailable() from None
        if created:
            log.info("room %s created", name)
            self.hub.publish_room(room)
        else:
            self.hub.note_rooms([room])
        return room, created

    # Messages ---------------------------------------------------------------

    async def post(
        self,
        author: str,
        event: SendMessage,
        on_stored: Callable[[AppendResult], None] | None = None,
    ) -> AppendResult:
        """Store a message durably, then fan it out; a retry is only answered, not re-sent.

        ``on_stored`` runs after the commit and before the fan-out: the socket
        queues its ``ack`` there, so the sender hears "stored as seq N" before
        its own message comes back. The socket session uses the two halves,
        :meth:`start_post` and :meth:`finish_post`, directly.
        """
        writing = self.start_post(author, event)
        with contextlib.suppress(Exception):
            # Only waiting here: finish_post reads the outcome from `writing`
            # itself and turns a refusal into the contract's error.
            await asyncio.wrap_future(writing)
        return self.finish_post(author, event, writing, on_stored)

    def start_post(self, author: str, event: SendMessage) -> WriteFuture:
        """The first half of :meth:`post`: rate-limit, then hand the message to the store.

        Returns at once with the store's future; RateLimited when over the limit.
        """
        wait = self._messages.take(author)
        if wait:
            raise RateLimited(
                f"more than {self.limits.messages_per_second:g} messages per second",
                wait,
                event.client_id,
            )
        try:
            return self.store.append_nowait(event.room, author, event.client_id, event.text)
        except StorageError as exc:  # the store is closed: the server is stopping
            raise unavailable(event.client_id) from exc

    def finish_post(
        self,
        author: str,
        event: SendMessage,
        writing: WriteFuture,
        on_stored: Callable[[AppendResult], None] | None = None,
    ) -> AppendResult:
        """The second half of :meth:`post`, on the event loop once ``writing`` is done.

        Turns the store's refusal into the contract's error, or reports the
        message stored (``on_stored``) and fans a new one out.
        """
        try:
            result = writing.result()
        except KeyError:
            raise ProtocolError(
                "unknown_room", f"there is no room {event.room!r}", event.client_id
            ) from None
        except StorageError as exc:
            log.warning("could not store a message of %s: %s", author, exc)
            raise unavailable(event.client_id) from None
        if on_stored is not None:
            on_stored(result)
        if result.created:
            self.hub.publish_message(result.message)
        return result

    async def set_typing(self, user: str, event: SetTyping) -> None:
        """Relay a typing change, or drop it silently when the user types too often."""
        await self.require_room(event.room)
        if self._typing.take(user):
            return
        self.hub.publish_typing(event.room, user, event.active)

    async def history(self, room: str, before: int | None, limit: int) -> HistoryPage:
        """Up to ``limit`` messages before ``before`` (the newest when None), ascending."""
        await self.require_room(room)
        try:
            page = await self.store.messages_before(room, before, limit + 1)
        except StorageError:
            raise unavailable() from None
        # One more than asked tells whether there is more without a count query.
        return HistoryPage(room, page[-limit:], has_more=len(page) > limit)

    async def after(self, room: str, after: int, limit: int) -> tuple[list[Message], bool]:
        """Up to ``limit`` messages after ``after``, ascending, and whether more follow."""
        await self.require_room(room)
        try:
            page = await self.store.messages_after(room, after, limit + 1)
        except StorageError:
            raise unavailable() from None
        return page[:limit], len(page) > limit


# Where the aiohttp application keeps the service, for the handlers in ws and http_api.
SERVICE_KEY = web.AppKey("service", ChatService)
