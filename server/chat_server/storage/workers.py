"""The threads that talk to the database, so that the event loop never does.

Peewee is synchronous and keeps one connection per thread. The store hands
each query to one of these threads as a plain function and awaits the
:class:`concurrent.futures.Future` it gets back (``asyncio.wrap_future``):

- :class:`GroupCommitWriter`: ONE thread for every write. Whatever queued up
  while it was busy goes into the next transaction together (group commit:
  one fsync for many messages), each write in its own savepoint so that one
  write's refusal (unknown room, name taken) does not undo the others, unless
  the write promises to refuse only before it changed anything (the hot path
  of a message: a savepoint each would cost more than the message). A
  caller's future is resolved only after COMMIT returned. If the database
  fails the transaction (locked, read only, disk full, connection lost) every
  write of the batch gets :class:`StorageError`: nothing is reported stored
  that was not; the next batch simply tries again on a fresh connection.
- :class:`ReaderPool`: a few threads for reads, which run in autocommit mode.
  SQLite in WAL mode and PostgreSQL both let them run beside the writer.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

import peewee

from .base import StorageError
from .database import sqlite_driver

T = TypeVar("T")

logger = logging.getLogger(__name__)


def _database_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean "the database failed", wrapped by Peewee or not.

    Peewee wraps what ``execute`` raises, but a driver can also fail while rows
    are fetched, and then its own exception comes through unwrapped.
    """
    # The SQLite driver Peewee picked (pysqlite3 or the standard sqlite3).
    errors: list[type[Exception]] = [peewee.PeeweeException, sqlite_driver.Error]
    try:
        import psycopg2
    except ImportError:  # PostgreSQL support is an optional extra
        pass
    else:
        errors.append(psycopg2.Error)
    return tuple(errors)


DATABASE_ERRORS = _database_errors()


class _Job:
    """A function to run on a database thread and the future for its result."""

    __slots__ = ("future", "order_key", "savepoint", "work")

    def __init__(self, work: Callable[[], Any], order_key: str, savepoint: bool) -> None:
        self.work = work
        self.order_key = order_key
        self.savepoint = savepoint
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()


# Put on a queue to tell one thread to finish the jobs before it and exit.
_STOP = object()

# How long the checkpoint after an erasure waits for readers in its way (ms):
# short, because the writer waits with it; what it could not do is done
# after the next commit.
_SCRUB_BUSY_MS = 250


def _storage_error(exc: BaseException) -> StorageError:
    """A fresh StorageError for one caller, chained to the database's error."""
    error = StorageError(f"the database failed: {exc}")
    error.__cause__ = exc
    return error


def _first_database_error(exc: Exception) -> Exception:
    """The database error that started ``exc``'s chain of exceptions.

    SQLite rolls a transaction back by itself after an I/O error, so Peewee's
    own ROLLBACK then fails too ("no transaction is active"), with the error
    that mattered only in its ``__context__``; that one is what to report.
    """
    first: Exception = exc
    earlier = exc.__context__
    while earlier is not None:
        if isinstance(earlier, DATABASE_ERRORS):
            first = earlier
        earlier = earlier.__context__
    return first


def _drop_connection(db: peewee.Database) -> None:
    """Close this thread's connection after a fault; the next job reconnects.

    A connection that failed may be broken (PostgreSQL restarted) or stuck in
    a failed transaction; a fresh one is cheap next to a fault.
    """
    with suppress(peewee.PeeweeException):
        db.close()


class _DatabaseThreads:
    """Threads that take jobs from one queue, each with its own connection."""

    def __init__(self, db: peewee.Database, name: str, count: int) -> None:
        self._db = db
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{index}", daemon=True)
            for index in range(count)
        ]
        # Jobs submitted and not finished; read by tests and shutdown logging.
        self._pending = 0
        self._pending_lock = threading.Lock()

    @property
    def pending(self) -> int:
        """How many submitted jobs have not finished yet."""
        with self._pending_lock:
            return self._pending

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(
        self, work: Callable[[], T], order_key: str = "", *, savepoint: bool = True
    ) -> concurrent.futures.Future[T]:
        """Queue ``work``; its future resolves on the database thread.

        The writer runs the writes of one batch sorted (stably) by
        ``order_key``: give the name of the room a write locks. With
        ``savepoint=False`` the writer runs ``work`` without a savepoint of its
        own, which ``work`` may ask for only if every exception it raises
        (other than a database error, which fails the whole batch anyway)
        comes before it changed anything.
        """
        job = _Job(work, order_key, savepoint)
        with self._pending_lock:
            self._pending += 1
        job.future.add_done_callback(self._finished)
        self._queue.put(job)
        return job.future

    def _finished(self, _future: concurrent.futures.Future[Any]) -> None:
        with self._pending_lock:
            self._pending -= 1

    def stop(self) -> None:
        """Let each thread finish the jobs queued so far, then exit."""
        for _thread in self._threads:
            self._queue.put(_STOP)

    def join(self) -> None:
        """Wait for the threads to exit (blocking: call it from a thread)."""
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            _drop_connection(self._db)

    def _serve(self) -> None:
        raise NotImplementedError


class ReaderPool(_DatabaseThreads):
    """A few threads that run read-only queries in autocommit mode."""

    def __init__(self, db: peewee.Database, size: int) -> None:
        super().__init__(db, "chat-store-reader", size)

    def _serve(self) -> None:
        while True:
            job = self._queue.get()
            if not isinstance(job, _Job):
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                result = job.work()
            except DATABASE_ERRORS as exc:
                _drop_connection(self._db)
                job.future.set_exception(_storage_error(exc))
            except Exception as exc:
                job.future.set_exception(exc)
            else:
                job.future.set_result(result)


class GroupCommitWriter(_DatabaseThreads):
    """The one thread that writes; it commits the writes that queued up together.

    A write function may raise a refusal (``UnknownRoom``, ``UsernameTaken``):
    its savepoint is rolled back and only its caller gets the exception. A
    database error escaping a write function means the database itself
    failed, and the whole batch is rolled back.

    ``hold_while`` is fault injection for crash tests, never set in service:
    while that file exists the writer stops after each COMMIT, before it
    reports the batch stored (see :meth:`_hold`).
    """

    def __init__(
        self, db: peewee.Database, max_batch: int = 500, *, hold_while: Path | None = None
    ) -> None:
        super().__init__(db, "chat-store-writer", 1)
        # A cap keeps one transaction (and the callers' wait) bounded in a flood.
        self._max_batch = max_batch
        # Fault injection for crash tests only (ServerConfig.hold_commits_while).
        self._hold_while = hold_while
        # Transactions committed so far: the measure of how well writes group.
        self.commits = 0
        # A write of the batch being run erased words (a deleted message or
        # room): the WAL still holds the pages as they were before, so once
        # the batch is committed it is written back and emptied (SQLite only).
        self._scrub = False
        self._sqlite = isinstance(db, peewee.SqliteDatabase)

    def scrub_after_commit(self) -> None:
        """Called by a write job, on this thread: the job erased words from the database.

        With ``secure_delete`` SQLite overwrites what the erasure frees in the
        pages it writes, but in WAL mode the earlier versions of those pages
        stay in the WAL file until it is checkpointed and reused. So after the
        batch commits, and before any caller hears of it, the writer copies
        the WAL back into the database file and truncates it
        (``wal_checkpoint(TRUNCATE)``). Deletes are rare; a checkpoint costs
        at most the WAL's size (SQLite's auto-checkpoint keeps it to about
        1000 pages). A reader of another process in the way for longer than
        a moment defers it to the next commit (logged).
        """
        if self._sqlite:
            self._scrub = True

    def _scrub_wal(self) -> None:
        def one(sql: str) -> Any:
            return self._db.execute_sql(sql).fetchone()  # type: ignore[no-untyped-call]

        try:
            (timeout,) = one("PRAGMA busy_timeout")
            one(f"PRAGMA busy_timeout = {_SCRUB_BUSY_MS}")
            try:
                busy, _, _ = one("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                one(f"PRAGMA busy_timeout = {int(timeout)}")
        except DATABASE_ERRORS as exc:
            logger.warning("could not empty the WAL after an erasure (retrying later): %s", exc)
            return
        if busy:
            logger.info("a reader kept the WAL from being emptied after an erasure; retrying later")
            return
        self._scrub = False

    def _serve(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if not isinstance(first, _Job):
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(job, _Job):
                    stopping = True
                    break
                batch.append(job)
            # Every server process takes the row locks of a batch (the rooms'
            # seq counters) in the same order, so that two of them sharing a
            # PostgreSQL database cannot deadlock. The sort is stable: writes to
            # one room keep the order in which they arrived.
            batch.sort(key=lambda job: job.order_key)
            self._commit([job for job in batch if job.future.set_running_or_notify_cancel()])

    def _commit(self, batch: list[_Job]) -> None:
        if not batch:
            return
        outcomes: list[tuple[_Job, Any, Exception | None]] = []
        try:
            self._db.connect(reuse_if_open=True)
            with self._db.atomic():
                for job in batch:
                    try:
                        if job.savepoint:
                            with self._db.atomic():
                                result = job.work()
                        else:
                            result = job.work()
                    except DATABASE_ERRORS:
                        raise
                    except Exception as exc:
                        outcomes.append((job, None, exc))
                    else:
                        outcomes.append((job, result, None))
        except Exception as exc:
            # Nothing of the batch was written; an erasure not yet scrubbed
            # from an earlier batch keeps its flag.
            cause = _first_database_error(exc)
            logger.warning("a write transaction of %d writes failed: %s", len(batch), cause)
            _drop_connection(self._db)
            for job in batch:
                job.future.set_exception(_storage_error(cause))
            return
        self.commits += 1
        if self._scrub:
            self._scrub_wal()
        if self._hold_while is not None:
            self._hold(len(batch))
        for job, result, error in outcomes:
            if error is None:
                job.future.set_result(result)
            else:
                job.future.set_exception(error)

    def _hold(self, writes: int) -> None:
        """Fault injection: while the hold file exists, keep a committed batch unreported.

        Its writes are durable but none of their callers has heard so (no ack
        has gone out), and the writes submitted meanwhile wait in the queue:
        a SIGKILL now finds both kinds in flight, which no timing can promise.
        """
        assert self._hold_while is not None
        if not self._hold_while.exists():
            return
        logger.warning(
            "holding a committed batch of %d writes while %s exists (fault injection)",
            writes,
            self._hold_while,
        )
        while self._hold_while.exists():
            time.sleep(0.01)
