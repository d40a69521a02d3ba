"""Sessions of signed-in users: tokens that expire, can be listed and ended, and passwords.

:class:`Accounts` is what :class:`~chat_server.service.ChatService` delegates
the session side of accounts to, for the socket and HTTP alike:

- a token is good while its session was used within
  ``ServerConfig.session_days`` (30 by default). Checking a token only reads:
  ``last_used`` is written when it is older than
  ``ServerConfig.session_touch_seconds`` (an hour), so a busy client costs
  one write an hour, not one per request. Sockets stay connected for days,
  so the periodic :meth:`Accounts.upkeep` touches the sessions of this
  server's open sockets too, and then deletes the sessions unused for too
  long and old records of the revocation log;
- a user lists their sessions (an opaque id, never the token), ends one or
  all the others, and changes their password, which ends the others too;
- an admin disables or enables another account, or ends all of its
  sessions, over the API (:meth:`Accounts.disable`, :meth:`Accounts.enable`,
  :meth:`Accounts.end_all_of`): the same store calls as the operator's
  ``chat-server user disable``, so the same revocation follows;
- every session that ends goes through the store's revocation log and
  :class:`~chat_server.revocation.Revocations`, so its sockets close (4401)
  and its polls answer 401 on every server process, this one at once.

:meth:`Accounts.run` is the aiohttp ``cleanup_ctx`` that runs the revocation
watcher and the upkeep for the life of the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from chat_protocol import ErrorCode, ProtocolError, ValidationError, rules

from .config import ServerConfig
from .hub import Hub
from .revocation import Revocations
from .security import hash_password, hash_token, new_token, verify_password
from .storage.base import ChatStore, StorageError, UnknownUser

log = logging.getLogger(__name__)

# Longest User-Agent kept for a session: enough to tell devices apart.
AGENT_MAX = 200
# How long ended sessions stay in the revocation log. Running servers read it
# every second or so; one that was down had no sockets to close.
REVOCATION_KEEP = timedelta(days=1)


def trim_agent(agent: str | None) -> str:
    """A User-Agent as a session keeps it: printable, single-line, at most AGENT_MAX."""
    printable = "".join(ch for ch in agent or "" if ch.isprintable())
    return printable.strip()[:AGENT_MAX]


class Accounts:
    """Tokens and sessions over one store, applied to one server's hub."""

    def __init__(self, config: ServerConfig, store: ChatStore, hub: Hub) -> None:
        self.config = config
        self.store = store
        self.hub = hub
        self.revocations = Revocations(store, hub)

    # Tokens -----------------------------------------------------------------

    async def issue(self, username: str, agent: str = "") -> str:
        """A new session for ``username``; returns its token (shown once, stored hashed)."""
        token, token_hash = new_token()
        try:
            await self.store.add_token(username, token_hash, trim_agent(agent))
        except UnknownUser:  # disabled or removed a moment ago
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "wrong user name or password") from None
        return token

    async def resolve(self, token: str) -> tuple[str, str] | None:
        """(username, token hash) for a good token, else None. StorageError passes up."""
        token_hash = hash_token(token)
        owner = await self.store.token_owner(token_hash)
        if owner is None:
            return None
        now = datetime.now(UTC)
        idle = now - rules.parse_ts(owner.last_used)
        if idle > timedelta(days=self.config.session_days):
            return None  # expired; upkeep deletes it
        if idle.total_seconds() >= self.config.session_touch_seconds:
            try:
                await self.store.touch_tokens([token_hash])
            except StorageError as exc:
                # The token checked out; a missed touch is retried on a later use.
                log.warning("could not record the use of a session of %s: %s", owner.username, exc)
        return owner.username, token_hash

    def ended(self, token_hashes: list[str], reason: str) -> None:
        """Sessions were ended here: close their sockets and polls on this server now."""
        self.revocations.apply(token_hashes, reason)

    # A user's own sessions --------------------------------------------------

    async def sessions(self, username: str, current: str) -> list[dict[str, Any]]:
        """The user's sessions as the API lists them; ``current``: the asker's token hash."""
        return [
            {
                "id": session.session_id,
                "created": session.created,
                "last_used": session.last_used,
                "current": session.token_hash == current,
                "agent": session.agent,
            }
            for session in await self.store.sessions_of(username)
        ]

    async def end_session(self, username: str, session_id: str) -> None:
        """End one of the user's sessions; ``not_found`` when it is not theirs."""
        ended = await self.store.delete_session(username, session_id)
        if ended is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, "you have no session with that id")
        self.ended([ended], "signed out from another device")

    async def end_others(self, username: str, current: str) -> None:
        """End every session of the user but the asker's."""
        ended = await self.store.delete_tokens_of(username, keep=current)
        self.ended(ended, "signed out from another device")

    async def change_password(self, username: str, current: str, old: object, new: object) -> None:
        """Check ``old``, store ``new`` and end the user's other sessions."""
        if not isinstance(old, str):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "old must be the current password")
        try:
            secret = rules.validate_password(new)
        except ValidationError as exc:
            raise ProtocolError(ErrorCode.BAD_REQUEST, f"new: {exc}") from None
        found = await self.store.credentials(username)
        if found is None or not await verify_password(old, found.password_hash):
            raise ProtocolError(ErrorCode.WRONG_PASSWORD, "the current password is wrong")
        await self.store.set_password(username, await hash_password(secret))
        await self.end_others(username, current)

    # An admin's hold on other accounts ------------------------------------

    async def _require_admin(self, admin: str) -> None:
        # Checked before anything else, so that a non-admin cannot even learn
        # which accounts exist from the answer.
        if not await self.store.is_admin(admin):
            raise ProtocolError(ErrorCode.FORBIDDEN, "only an admin may do that")

    async def _require_user(self, username: str) -> str:
        """The account's name as stored (case-insensitive match), else ``not_found``."""
        wanted = username.lower()
        for name in await self.store.list_users():
            if name.lower() == wanted:
                return name
        raise ProtocolError(ErrorCode.NOT_FOUND, f"there is no user {username!r}")

    async def disable(self, admin: str, username: str) -> None:
        """``admin`` disables ``username``: no more sign-ins, every session ended now."""
        await self._require_admin(admin)
        name = await self._require_user(username)
        if name.lower() == admin.lower():
            # An admin locking themselves out by a slip leaves nobody to undo it.
            raise ProtocolError(ErrorCode.BAD_REQUEST, "you cannot disable your own account")
        # The sessions first, to close their sockets here at once; set_disabled
        # ends any that a sign-in made in between, through the revocation log.
        ended = await self.store.delete_tokens_of(name)
        await self.store.set_disabled(name, True)
        log.info("%s disabled the account %s (%d session(s) ended)", admin, name, len(ended))
        self.ended(ended, "account disabled")

    async def enable(self, admin: str, username: str) -> None:
        """``admin`` lets a disabled account sign in again."""
        await self._require_admin(admin)
        name = await self._require_user(username)
        await self.store.set_disabled(name, False)
        log.info("%s enabled the account %s", admin, name)

    async def end_all_of(self, admin: str, username: str) -> None:
        """``admin`` signs ``username`` out everywhere (the account stays usable)."""
        await self._require_admin(admin)
        name = await self._require_user(username)
        ended = await self.store.delete_tokens_of(name)
        log.info("%s ended %d session(s) of %s", admin, len(ended), name)
        self.ended(ended, "signed out by an admin")

    # Upkeep -----------------------------------------------------------------

    async def upkeep(self) -> int:
        """Touch the sessions of this server's sockets, delete expired ones; return how many."""
        now = datetime.now(UTC)
        in_use = sorted({sub.token_hash for sub in self.hub.subscribers()})
        unused_before = rules.format_ts(now - timedelta(days=self.config.session_days))
        revocations_before = rules.format_ts(now - REVOCATION_KEEP)
        deleted = await self.store.clean_up(in_use, unused_before, revocations_before)
        if deleted:
            log.info("%d session(s) unused for %g days ended", deleted, self.config.session_days)
        return deleted

    async def run(self, _app: web.Application) -> AsyncIterator[None]:
        """``cleanup_ctx``: watch the revocation log and keep sessions tidy while serving."""
        config = self.config
        await self.revocations.start()
        async with periodically(
            (config.revocation_check_seconds, "revocation check", self.revocations.check),
            (config.session_upkeep_seconds, "session upkeep", self.upkeep),
        ):
            yield


# What to run periodically: every so many seconds, what it is (for the log), the work.
Periodic = tuple[float, str, Callable[[], Awaitable[object]]]


@contextlib.asynccontextmanager
async def periodically(*jobs: Periodic) -> AsyncIterator[None]:
    """Run each job with :func:`_every` while the block runs; cancel them all at its end.

    The server's upkeep (sessions here, the file sweep in :mod:`chat_server.files`)
    runs this way inside an aiohttp ``cleanup_ctx``.
    """
    tasks = [asyncio.create_task(_every(*job)) for job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _every(interval: float, what: str, work: Callable[[], Awaitable[object]]) -> None:
    """Run ``work`` every ``interval`` seconds until cancelled; a failure waits for the next."""
    while True:
        await asyncio.sleep(interval)
        try:
            await work()
        except StorageError as exc:
            log.warning("%s failed (retrying later): %s", what, exc)
        except Exception:  # a bug must not stop this for the rest of the run
            log.exception("%s failed", what)
