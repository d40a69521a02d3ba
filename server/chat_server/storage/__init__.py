"""Durable storage for the server, behind the small :class:`ChatStore` interface.

The handlers only ever see :class:`ChatStore` and protocol objects; Peewee,
threads and SQL stay in here, so SQLite and PostgreSQL (and later several
server instances over one PostgreSQL) plug in without touching the handlers.

:func:`open_store` builds the store the configuration asks for; the caller
then awaits ``store.open()`` (connect, migrate, create ``general``) and, at
shutdown, ``store.close()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from .base import (
    AppendResult,
    BadTarget,
    ChatStore,
    Credentials,
    NameTaken,
    NotYours,
    Person,
    SessionInfo,
    StorageError,
    TokenOwner,
    UnknownMessage,
    UnknownRoom,
    UnknownUser,
    UsernameTaken,
)
from .database import database_for
from .peewee_store import PeeweeChatStore

__all__ = [
    "AppendResult",
    "BadTarget",
    "ChatStore",
    "Credentials",
    "NameTaken",
    "NotYours",
    "PeeweeChatStore",
    "Person",
    "SessionInfo",
    "StorageError",
    "StoreConfig",
    "TokenOwner",
    "UnknownMessage",
    "UnknownRoom",
    "UnknownUser",
    "UsernameTaken",
    "open_store",
]


class StoreConfig(Protocol):
    """The part of ``chat_server.config.ServerConfig`` that storage reads."""

    @property
    def db_url(self) -> str | None: ...

    @property
    def data_dir(self) -> Path: ...


def open_store(
    config: StoreConfig, *, lock_timeout: float = 5.0, hold_commits_while: Path | None = None
) -> PeeweeChatStore:
    """The store ``config`` names, not yet opened: await ``open()`` on it.

    ``config.db_url`` None means the SQLite file ``data_dir/chat.sqlite3``;
    otherwise ``sqlite:///abs/path`` or ``postgresql://user@host:port/db``.
    ``lock_timeout`` is how long a write waits for a lock held elsewhere
    before it fails with :class:`StorageError`. Raises ValueError for a
    ``db_url`` it does not understand. ``hold_commits_while``: fault
    injection for crash tests (``ServerConfig.hold_commits_while``).
    """
    return PeeweeChatStore(
        database_for(config.db_url, config.data_dir, lock_timeout),
        hold_commits_while=hold_commits_while,
    )
