"""Operator commands on the server's data: ``chat-server user|room|invite ...``.

Each command opens the same store the server uses (same data folder or
``--db``), does one thing and closes it, so it works whether or not the
server is running (SQLite's WAL and PostgreSQL both allow a second writer).
Commands return a process exit code and print one line for the operator;
failures raise :class:`AdminError` with a sentence to show. Sessions that a
command ends (reset-password, disable, remove) are written to the store's
revocation log, from which every running server closes their sockets and
long polls within seconds (:mod:`chat_server.revocation`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from chat_protocol import ValidationError, rules

from . import invites
from .config import ServerConfig
from .security import hash_password
from .storage import open_store
from .storage.base import BadTarget, ChatStore, UnknownRoom, UsernameTaken

Output = Callable[[str], None]


class AdminError(Exception):
    """A command could not do what was asked; ``str()`` is the sentence for the operator."""


def _valid(check: Callable[[object], str], value: str) -> str:
    try:
        return check(value)
    except ValidationError as exc:
        raise AdminError(str(exc)) from None


async def add_user(
    store: ChatStore, username: str, password: str, out: Output, *, admin: bool = False
) -> None:
    name = _valid(rules.validate_username, username)
    secret = _valid(rules.validate_password, password)
    try:
        stored = await store.create_user(name, await hash_password(secret), admin=admin)
    except UsernameTaken:
        raise AdminError(f"the name {name!r} is taken") from None
    out(f"added {'admin' if admin else 'user'} {stored}")


async def promote_user(store: ChatStore, username: str, out: Output) -> None:
    """Make an existing user an admin (they may delete any message and any room)."""
    if not await store.set_admin(username, True):
        raise AdminError(f"there is no user {username!r}")
    out(f"{username} is now an admin")


async def remove_user(store: ChatStore, username: str, out: Output) -> None:
    if not await store.delete_user(username):
        raise AdminError(f"there is no user {username!r}")
    out(f"removed user {username} and signed them out (their messages and name stay)")


async def disable_user(store: ChatStore, username: str, out: Output) -> None:
    if not await store.set_disabled(username, True):
        raise AdminError(f"there is no user {username!r}")
    out(f"disabled user {username} and signed them out")


async def enable_user(store: ChatStore, username: str, out: Output) -> None:
    if not await store.set_disabled(username, False):
        raise AdminError(f"there is no user {username!r}")
    out(f"enabled user {username}")


async def reset_password(store: ChatStore, username: str, password: str, out: Output) -> None:
    secret = _valid(rules.validate_password, password)
    if not await store.set_password(username, await hash_password(secret)):
        raise AdminError(f"there is no user {username!r}")
    # A reset is usually about a leaked password: sign every device out too.
    revoked = await store.delete_tokens_of(username)
    out(f"new password set for {username}; {len(revoked)} session(s) signed out")


async def list_users(store: ChatStore, out: Output) -> None:
    """One user name a line; a disabled account says so (``erin (disabled)``)."""
    disabled = set(await store.list_users(only_disabled=True))
    for name in await store.list_users():
        out(f"{name} (disabled)" if name in disabled else name)


async def create_room(store: ChatStore, name: str, out: Output) -> None:
    room_name = _valid(rules.validate_room_name, name)
    room, created = await store.ensure_room(room_name)
    out(f"{'created' if created else 'already exists:'} room {room.name}")


async def delete_room(store: ChatStore, name: str, out: Output) -> None:
    """Delete a room for good: its log is erased and its name is never used again."""
    try:
        members = await store.delete_room(name)
    except UnknownRoom:
        raise AdminError(f"there is no room {name!r}") from None
    except BadTarget as exc:
        raise AdminError(str(exc)) from None
    what = "public room" if members is None else f"room of {len(members)} member(s)"
    out(f"deleted {what} {name}; a running server forgets it when it next reads its rooms")


async def create_invite(store: ChatStore, uses: int, days: float, out: Output) -> None:
    """Make an invite code good for ``uses`` accounts within ``days`` days and print it."""
    if uses < 1:
        raise AdminError("--uses must be at least 1")
    if not 0 < days <= 3650:
        raise AdminError("--days must be more than 0 and at most 3650")
    code = invites.new_code()
    expires = rules.format_ts(datetime.now(UTC) + timedelta(days=days))
    await store.add_invite(invites.hash_code(code), uses, expires)
    # The code alone on the first line, for scripts; it is not stored, only its hash.
    out(code)
    out(f"good for {uses} account(s) until {expires}; it cannot be shown again")


async def run(config: ServerConfig, command: Callable[[ChatStore], Awaitable[None]]) -> None:
    """Open the configured store, run one command on it, close the store."""
    store = open_store(config)
    await store.open()
    try:
        await command(store)
    finally:
        await store.close()
