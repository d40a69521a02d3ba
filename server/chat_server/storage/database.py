"""Turning the server's configuration into a configured Peewee database.

``db_url`` None means the default: a SQLite file ``chat.sqlite3`` in the data
directory. ``sqlite:///abs/path`` names another SQLite file,
``postgresql://user@host:port/db`` a PostgreSQL database (driver psycopg2,
``pip install 'chat-desktop[postgres]'``). Nothing connects here; the store's
threads connect on first use.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import peewee
from playhouse.db_url import parse as parse_db_url

from ..private import private_file, private_folder

SQLITE_FILE_NAME = "chat.sqlite3"

# The DB-API driver Peewee opens SQLite files with: ``pysqlite3`` when it is
# installed and its SQLite is at least as new as the one Python was built with
# (the ``pysqlite3-binary`` wheel, a dependency where it exists, carries a
# current SQLite: 3.42 or later is what makes FTS5 erase a deleted message's
# words, see .search_index), else the standard ``sqlite3``. Two SQLite
# libraries in one process must never open the same file: closing a
# connection of one drops the other's POSIX locks, and a checkpoint of one can
# then overwrite the other's writes. Whatever else opens the server's database
# in its process (tools, tests) uses this module.
sqlite_driver: ModuleType = vars(peewee)["sqlite3"]
# How many prepared statements each connection keeps (the driver's default is
# 100). pysqlite3's cache is not an LRU: it keeps the most used statements and
# puts a new one last, where the next new one evicts it. Once it is full, two
# statements taking turns evict each other on every use and are compiled
# anew each time. The writer's connection filled it at start (the
# migrations, a hundred and more statements, and then the sign-ups, each used
# many times), after which every message compiled its UPDATE and INSERT
# again: a fifth of the append's time on the writer (issue 12). The server
# runs a few hundred distinct statements at most; with room for all of them
# no statement is ever evicted.
STATEMENT_CACHE = 1000
# The files SQLite keeps beside the database in WAL mode. SQLite gives them the
# database file's mode when it creates them; ones left over are tightened here.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def sqlite_database(path: Path, lock_timeout: float) -> peewee.SqliteDatabase:
    """A SQLite database tuned for a server that acks only what is on disk.

    The file is made (or tightened to) 0600 before SQLite opens it, in a
    folder made 0700 if missing: see :mod:`chat_server.private`.
    """
    private_folder(path.parent)
    private_file(path)
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            private_file(companion)
    return peewee.SqliteDatabase(
        str(path),
        timeout=lock_timeout,
        # Room for every statement the server runs (see STATEMENT_CACHE).
        cached_statements=STATEMENT_CACHE,
        # Writes start with BEGIN IMMEDIATE: the writer takes the write lock up
        # front (waiting up to busy_timeout), never half way through a batch.
        lock_type="IMMEDIATE",
        pragmas=[
            # WAL: readers and the writer do not block each other.
            ("journal_mode", "wal"),
            # FULL, not NORMAL: in WAL mode NORMAL syncs only at checkpoints, so
            # a power cut could lose transactions that were already acked. The
            # server promises "stored durably before anyone hears of it"; FULL
            # syncs the WAL on every COMMIT, and group commit shares that one
            # fsync among every message of the batch.
            ("synchronous", "full"),
            # How long a write waits for another connection's lock before it
            # fails with "database is locked" (and the callers get StorageError).
            ("busy_timeout", int(lock_timeout * 1000)),
            ("foreign_keys", 1),
            # A deleted message's words must not survive in free pages or
            # unused parts of a page: SQLite overwrites what it frees.
            ("secure_delete", 1),
        ],
    )


def postgresql_database(url: str, lock_timeout: float) -> peewee.PostgresqlDatabase:
    """A PostgreSQL database from a ``postgresql://`` URL."""
    params: dict[str, Any] = parse_db_url(url)
    database = params.pop("database")
    # lock_timeout plays busy_timeout's part: a write that waits longer than
    # this for a row lock (another server holding the room) fails instead of
    # hanging its callers forever.
    params["options"] = f"-c lock_timeout={int(lock_timeout * 1000)}"
    return peewee.PostgresqlDatabase(database, **params)


def database_for(db_url: str | None, data_dir: Path, lock_timeout: float) -> peewee.Database:
    """The database ``db_url`` names (None: the SQLite file in ``data_dir``)."""
    if db_url is None:
        # The data folder is the server's own: 0700 even if it existed before.
        return sqlite_database(private_folder(Path(data_dir)) / SQLITE_FILE_NAME, lock_timeout)
    scheme = urlsplit(db_url).scheme
    if scheme == "sqlite":
        path = db_url.removeprefix("sqlite://")
        if not path.startswith("/") or path == "/":
            raise ValueError(f"db_url {db_url!r}: use sqlite:///absolute/path/to/file")
        return sqlite_database(Path(path), lock_timeout)
    if scheme in ("postgresql", "postgres"):
        return postgresql_database(db_url, lock_timeout)
    raise ValueError(
        f"db_url {db_url!r}: expected sqlite:///path or postgresql://user@host:port/db"
    )
