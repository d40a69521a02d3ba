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
  caller's future is resolved only after COMMIT returned, and, unless the
  write was submitted with ``durable=False`` (see :meth:`~_DatabaseThreads.submit`),
  after the commit's fsync. If the database
  fails the transaction (locked, read only, disk full, connection lost) every
  write of the batch gets :class:`StorageError`: nothing is reported stored
  that was not; the next batch simply tries again on a fresh connection.
- :class:`ReaderPool`: a few threads for reads, which run in autocommit mode.
  SQLite in WAL mode and PostgreSQL both let them run beside the writer.
- :class:`InlineCommitter`: the exception to "the loop never does", for one
  case only: a message arriving while the writer has nothing to do is
  committed (and fsynced) right on the event loop, on the loop's own SQLite
  connection, skipping the two thread wake-ups (loop -> writer, writer ->
  loop) that were most of what a lone message cost beyond its fsync
  (``bench/profiles.md``, issue 17). Under load the writer's group commit
  takes over: see the class for when it steps aside. Even then only the
  message itself is committed there: its search index row follows in the
  writer's next transaction (see :class:`Deferred`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, Protocol, TypeVar

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

    __slots__ = ("chore", "durable", "future", "order_key", "savepoint", "work")

    def __init__(
        self,
        work: Callable[[], Any],
        order_key: str,
        savepoint: bool,
        durable: bool,
        chore: bool = False,
    ) -> None:
        self.work = work
        self.order_key = order_key
        self.savepoint = savepoint
        self.durable = durable
        self.chore = chore
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()


class Deferred(Protocol):
    """Rows that the writes of a transaction leave to be written at its end, all at once.

    The search index is one (:meth:`.search_index.SearchIndex.write_pending`):
    a message's index row is buffered and a batch's rows go in with one
    statement just before COMMIT. Whoever holds the transaction (the writer
    thread, or the event loop for an inline commit) calls :meth:`write_pending`
    before COMMIT and before a savepoint opens (so that the savepoint's
    rollback cannot take rows of writes outside it, and the write inside it
    finds them), and :meth:`drop_pending` when the transaction is rolled back.

    An inline commit on the event loop (:class:`InlineCommitter`) writes them
    later instead: every microsecond before its COMMIT is one that every
    reader of the message waits, and the index rows (FTS5 makes a segment of
    several pages for each transaction) were a third of that
    (``bench/profiles.md``, issue 17). After its COMMIT it calls
    :meth:`carry_over`, and has the writer call :meth:`write_carried` with
    what it got (of many commits at once) in a later transaction.
    """

    def write_pending(self) -> None:
        """Write what is buffered, on the calling thread's connection, in its transaction."""

    def drop_pending(self) -> None:
        """Forget what is buffered: the transaction that buffered it was rolled back."""

    def carry_over(self) -> list[Any]:
        """After a COMMIT that left what is buffered unwritten: take it (for
        :meth:`write_carried`; empty: nothing was buffered)."""

    def write_carried(self, carried: list[Any]) -> None:
        """In a later transaction (the writer's): buffer again what :meth:`carry_over`
        took, leaving out what later writes made moot (a deleted message's row)."""


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
        self,
        work: Callable[[], T],
        order_key: str = "",
        *,
        savepoint: bool = True,
        durable: bool = True,
        chore: bool = False,
    ) -> concurrent.futures.Future[T]:
        """Queue ``work``; its future resolves on the database thread.

        The writer runs the writes of one batch sorted (stably) by
        ``order_key``: give the name of the room a write locks. With
        ``savepoint=False`` the writer runs ``work`` without a savepoint of its
        own, which ``work`` may ask for only if every exception it raises
        (other than a database error, which fails the whole batch anyway)
        comes before it changed anything.

        ``durable=False`` (SQLite): the future may resolve once the write is
        committed but before it is on disk; the caller must then call
        :func:`sync_log` before it tells anyone. A batch made only of such
        writes commits without its fsync (``synchronous = NORMAL``), so the
        writer is free for the next batch (chat messages) at once instead of
        waiting for the disk on the caller's behalf: the caller waits for
        :func:`sync_log` on a thread of its own. A batch with any durable
        write in it is fsynced as always, and that covers the others too.

        ``chore``: housekeeping the store itself asks for (a checkpoint, the
        search index rows of messages committed on the loop), not a client's
        write: it does not count as a sign of several clients writing at once
        (``GroupCommitWriter.grouped_at``).
        """
        job = _Job(work, order_key, savepoint, durable, chore)
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

    ``deferred``: rows the writes buffer for the end of their transaction
    (see :class:`Deferred`); written before each savepoint and before COMMIT.
    """

    def __init__(
        self,
        db: peewee.Database,
        max_batch: int = 500,
        *,
        hold_while: Path | None = None,
        deferred: Deferred | None = None,
    ) -> None:
        super().__init__(db, "chat-store-writer", 1)
        self.deferred = deferred
        # Held while a transaction is open on the writer's connection, and by
        # the InlineCommitter while it commits on the loop: never both at once.
        self.transaction_lock = threading.Lock()
        # A cap keeps one transaction (and the callers' wait) bounded in a flood.
        self._max_batch = max_batch
        # Fault injection for crash tests only (ServerConfig.hold_commits_while).
        self._hold_while = hold_while
        # Transactions committed so far: the measure of how well writes group.
        self.commits = 0
        # perf_counter() when the last commit of several writes at once
        # (a group commit; chores do not count) returned; see InlineCommitter.
        self.grouped_at = float("-inf")
        # A write of the batch being run erased words (a deleted message or
        # room): the WAL still holds the pages as they were before, so once
        # the batch is committed it is written back and emptied (SQLite only).
        self._scrub = False
        self._sqlite = isinstance(db, peewee.SqliteDatabase)
        # The InlineCommitter asked for a checkpoint (its connection leaves
        # them to this thread); checkpoints run so far, for tests.
        self._checkpoint = False
        self.checkpoints = 0

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

    def checkpoint_after_commit(self) -> None:
        """A write job, on this thread: checkpoint the WAL (PASSIVE) after this batch commits.

        The commits made on the event loop (:class:`InlineCommitter`) never
        checkpoint themselves (``wal_autocheckpoint = 0`` on the loop's
        connection: copying up to ~1000 pages back and an fsync of the
        database file would stall the loop); every so many of them they
        submit this instead, so the WAL stays about as small as SQLite's own
        automatic checkpoint keeps it.
        """
        self._checkpoint = True

    @property
    def scrub_pending(self) -> bool:
        """An erasure's WAL scrub is still to be done (after the next commit on this thread)."""
        return self._scrub

    @property
    def holds_commits(self) -> bool:
        """True when fault injection may hold a commit (crash tests): see :meth:`_hold`."""
        return self._hold_while is not None

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

    def _execute(self, sql: str) -> None:
        self._db.execute_sql(sql)  # type: ignore[no-untyped-call]

    def _checkpoint_wal(self) -> None:
        # PASSIVE: copies what no reader still needs, waits for nobody.
        self._checkpoint = False
        try:
            self._db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchone()  # type: ignore[no-untyped-call]
        except DATABASE_ERRORS as exc:
            logger.warning("could not checkpoint the WAL (SQLite retries later): %s", exc)
            return
        self.checkpoints += 1

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
            with self.transaction_lock:
                self._commit([job for job in batch if job.future.set_running_or_notify_cancel()])

    def _commit(self, batch: list[_Job]) -> None:
        if not batch:
            return
        outcomes: list[tuple[_Job, Any, Exception | None]] = []
        # Nobody in this batch needs its fsync before hearing back (see submit).
        lazy = self._sqlite and not any(job.durable for job in batch)
        try:
            self._db.connect(reuse_if_open=True)
            deferred = self.deferred
            if lazy:
                self._execute("PRAGMA synchronous = NORMAL")
            with self._db.atomic():
                for job in batch:
                    try:
                        if job.savepoint:
                            if deferred is not None:
                                # Before the savepoint: its rollback must not
                                # take the rows of the writes before it.
                                deferred.write_pending()
                            with self._db.atomic():
                                result = job.work()
                                if deferred is not None:
                                    deferred.write_pending()  # its own, inside it
                        else:
                            result = job.work()
                    except DATABASE_ERRORS:
                        raise
                    except Exception as exc:
                        if job.savepoint and deferred is not None:
                            deferred.drop_pending()  # what it buffered was rolled back with it
                        outcomes.append((job, None, exc))
                    else:
                        outcomes.append((job, result, None))
                if deferred is not None:
                    deferred.write_pending()
            if lazy:
                # Back to the connection's own (FULL: see .database) for the next batch.
                self._execute("PRAGMA synchronous = FULL")
        except Exception as exc:
            # Nothing of the batch was written; an erasure not yet scrubbed
            # from an earlier batch keeps its flag.
            if self.deferred is not None:
                self.deferred.drop_pending()
            cause = _first_database_error(exc)
            logger.warning("a write transaction of %d writes failed: %s", len(batch), cause)
            _drop_connection(self._db)
            for job in batch:
                job.future.set_exception(_storage_error(cause))
            return
        self.commits += 1
        if sum(not job.chore for job in batch) > 1:
            self.grouped_at = time.perf_counter()
        if self._scrub:
            self._scrub_wal()
        elif self._checkpoint:
            self._checkpoint_wal()
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


# The file's data and what reading it needs (its size), not its times; macOS
# and Windows have only fsync.
_fdatasync = getattr(os, "fdatasync", os.fsync)


def sync_log(db: peewee.Database) -> None:
    """Make every write committed so far durable: fsync SQLite's WAL. Blocking.

    For writes submitted with ``durable=False`` (see ``_DatabaseThreads.submit``),
    which may have committed without their fsync. In WAL mode a commit is the
    frames appended to the ``-wal`` file; once that file is fsynced (from any
    file descriptor: fsync is per file), they survive a crash or a power cut.
    A checkpoint that moved them into the database file meanwhile synced the
    WAL first and the database file after. Nothing to do on PostgreSQL, whose
    writes never skip their flush.
    """
    if not isinstance(db, peewee.SqliteDatabase):
        return
    for suffix in ("-wal", ""):
        # No WAL file: every connection closed, and the last one checkpointed
        # it into the database file (and synced that); sync that file then.
        try:
            # Windows commits only a file opened for writing (nothing is written).
            fd = os.open(db.database + suffix, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            _fdatasync(fd)
        finally:
            os.close(fd)
        return


# At most this share of the event loop's time goes to inline commits: after
# one that took d seconds the next waits d * (1 / share - 1) (see InlineCommitter).
INLINE_SHARE = 0.25
# No commit on the loop for this long after the writer committed several
# writes at once (seconds): see InlineCommitter.
INLINE_QUIET = 0.25
# After this many commits on the loop, the writer is asked to checkpoint the
# WAL (see GroupCommitWriter.checkpoint_after_commit). SQLite's automatic
# checkpoint starts at 1000 pages; a message's commit writes a handful
# (the log, its index, the room's row).
CHECKPOINT_EVERY = 100
# The rows inline commits leave for later (the search index) go to the writer
# after the turn of the first commit at least this long after the first of
# them (seconds), or of the commit that makes this many; when no commit
# comes, CARRY_LATEST after the first: see InlineCommitter._carry. A search
# does not wait for any of them.
CARRY_DELAY = 1.0
CARRY_MAX = 256
CARRY_LATEST = 2.0
# After the writer failed to write them (the database failed), how long until
# it is asked again (seconds).
CARRY_RETRY = 1.0


class InlineCommitter:
    """Commits one write on the calling thread (the event loop's), when nothing queues.

    Why: a message handed to the writer thread and answered back costs two
    wake-ups of a sleeping thread (the writer's queue, then the loop's
    self-pipe), each of which may wait for a core, on top of the one fsync.
    The on-loop durable floor of the latency benchmark pays only the fsync.
    So a write runs here, in its own transaction on the loop thread's
    connection (Peewee keeps one per thread), when ALL of these hold:

    - the database is SQLite (PostgreSQL's writes stay on the writer);
    - the writer is idle: nothing submitted is unfinished and it holds no
      transaction (``transaction_lock``), so this write cannot overtake one
      handed over before it (the caller checks that every earlier answer
      has also reached the loop: see ``PostPipeline``);
    - no fault injection holds commits (crash tests), and no erasure waits
      for its WAL scrub (the writer does that after its next commit);
    - the loop has spent little on inline commits lately: after one that
      took d, the next waits d * (1 / INLINE_SHARE - 1), so these commits
      take at most a quarter of the loop's time however slow the disk is,
      and a burst (many messages in one turn) goes to the writer's group
      commit after its first message: one fsync for the rest, as before;
    - the writer has not just grouped writes: for ``INLINE_QUIET`` after it
      committed several at once, every message goes to it. Such a batch
      means several writers are active, and the next message is one of a
      stream that the group commit serves with one fsync for many, where a
      commit here would hold every socket for an fsync of its own and
      publish one message to every socket in a turn of its own. Under a
      steady load this mattered (issue 12: a commit on the loop after every
      batch took 8% of the loop in a profile of the fan-out benchmark); lone
      messages still go first to the loop, since the writer never groups.

    The loop's connection never checkpoints the WAL either: every
    ``CHECKPOINT_EVERY`` commits here the writer is asked to (see
    ``GroupCommitWriter.checkpoint_after_commit``).

    Nor does it write the rows the write left for the end of its transaction
    (the search index: :class:`Deferred`): only the message is committed
    before its broadcast. Those rows are carried over to the writer, which
    writes those of many messages in one transaction a moment later
    (:meth:`_carry`, :meth:`hand_over`); a reader that must see them (a
    search) calls :meth:`hand_over` first and waits for it. A crash
    in between loses nothing: the store indexes what it finds unindexed at
    the next start (``SearchIndex.catch_up``).

    The loop's connection never waits for a lock (``busy_timeout`` 0): if
    another connection (another process, a backup) holds the database,
    the write goes to the writer, which waits as it always did. A database
    error here also sends the write to the writer instead (after a rollback:
    nothing of it is stored), which then stores it or reports the fault
    exactly as before; the write is idempotent per (author, client_id), so
    even a COMMIT that failed half way cannot store it twice. A refusal
    (unknown room...) rolls the transaction back and is the write's outcome.
    The ack-after-fsync rule is unchanged: the future is resolved only after
    COMMIT returned, with ``synchronous = FULL``.
    """

    def __init__(self, db: peewee.Database, writer: GroupCommitWriter) -> None:
        self._db = db
        self._writer = writer
        self._thread: int | None = None
        # What Deferred.carry_over took, not yet handed to the writer, and the
        # future of the last of it that was (see hand_over). Touched
        # on the loop's thread only.
        self._carried: list[Any] = []
        self._carrying: concurrent.futures.Future[None] | None = None
        # The loop whose thread commits here, for the writer to call back on;
        # the callback or timer that hands the carried jobs over, and when
        # the first of them was carried (see _carry).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.Handle | None = None
        self._carried_at = 0.0
        self._closed = False
        # perf_counter() before which no inline commit starts (the share above).
        self._not_before = 0.0
        # Inline commits so far, and writes that went to the writer after a
        # failed attempt here (for tests and profiles).
        self.commits = 0
        self.fallbacks = 0
        self._since_checkpoint = 0

    def close(self) -> None:
        """Hand what is carried over to the writer, and close the calling thread's
        connection (call it on the loop, when the store closes, before the
        writer stops: it writes what it was handed before it exits)."""
        self.hand_over()
        self._closed = True
        if self._thread == threading.get_ident():
            _drop_connection(self._db)
            self._thread = None

    def run(self, work: Callable[[], T]) -> concurrent.futures.Future[T] | None:
        """``work`` committed here, as a finished future; None: submit it to the writer."""
        writer = self._writer
        if (
            writer.pending
            or writer.holds_commits
            or writer.scrub_pending
            or time.perf_counter() < max(self._not_before, writer.grouped_at + INLINE_QUIET)
        ):
            return None
        if not writer.transaction_lock.acquire(blocking=False):
            return None
        started = time.perf_counter()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        deferred = writer.deferred
        try:
            try:
                self._connect()
                with self._db.atomic():
                    try:
                        result = work()
                    except DATABASE_ERRORS:
                        raise
                    except Exception as exc:
                        future.set_exception(exc)
                        # Leaving the block by an exception rolls it all back.
                        raise _Refused from exc
            except _Refused:
                return future  # rolled back: nothing committed
            except DATABASE_ERRORS as exc:
                # Locked by another connection, read only, disk full...: the
                # writer stores it or reports the fault as it always did.
                self.fallbacks += 1
                logger.debug("an inline commit failed, the writer takes over: %s", exc)
                _drop_connection(self._db)
                self._thread = None
                return None
            else:
                future.set_result(result)
                if deferred is not None:
                    self._carry(deferred.carry_over())
        finally:
            if deferred is not None:
                # Empty after a COMMIT; after a rollback, rows of nothing stored.
                deferred.drop_pending()
            writer.transaction_lock.release()
            took = time.perf_counter() - started
            self._not_before = time.perf_counter() + took * (1 / INLINE_SHARE - 1)
        self.commits += 1
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY:
            self._since_checkpoint = 0
            self._later(self._checkpoint)
        return future

    def _checkpoint(self) -> None:
        if not self._closed:
            self._writer.submit(self._writer.checkpoint_after_commit, chore=True)

    def _later(self, callback: Callable[[], object], delay: float = 0.0) -> asyncio.Handle | None:
        """Run ``callback`` on the loop once this turn is over, or ``delay`` seconds
        on; at once where no loop runs this thread.

        The writer's own jobs (the carried rows, a checkpoint) start there,
        never inside a commit's turn: the commit's caller broadcasts the
        message in that same turn (``PostPipeline.start`` answers a done
        future at once), and a writer woken before it would take the GIL
        and a core from that broadcast. After it, the loop has the longest
        wait it will get before the next message: under a steady stream,
        the time furthest from the next one's arrival.
        """
        if self._loop is None:
            with suppress(RuntimeError):
                self._loop = asyncio.get_running_loop()
        loop = self._loop
        if loop is None:
            callback()
            return None
        return loop.call_later(delay, callback) if delay else loop.call_soon(callback)

    def _carry(self, carried: list[Any]) -> None:
        """Keep ``carried`` for the writer, and say when it is handed over.

        After the turn of a commit (see :meth:`_later`): the first one
        at least ``CARRY_DELAY`` after the first rows kept, or the one that
        makes ``CARRY_MAX`` of them. When no such commit comes (the room
        fell quiet), a timer hands them over ``CARRY_LATEST`` after the first.

        Why wait: a transaction of its own for one message's rows cost more
        CPU than the rows did inside the message's (a BEGIN, a COMMIT and an
        fsync, two thread wake-ups: about half a millisecond a message,
        measured), and on a busy machine that CPU is taken from the
        broadcasts. Gathered over a second, the rows of many messages share
        one transaction and make one FTS5 segment instead of one each.
        Why after a commit's turn and not on a timer of ``CARRY_DELAY``: at
        a steady rate (50 messages/s, a whole number per second) a timer
        set at one message's commit fires as another one arrives, and that
        message then waited for the writer's transaction: 1 in 50 messages,
        enough to raise the latency's p99 by most of a millisecond (measured, 99
        receivers). The fallback timer is later than any commit that finds
        the rows due, so under a stream it never fires.
        """
        if not carried:
            return
        now = time.perf_counter()
        if not self._carried:
            self._carried_at = now
        self._carried.extend(carried)
        due = len(self._carried) >= CARRY_MAX or now - self._carried_at >= CARRY_DELAY
        if due:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._later(self.hand_over)
        elif self._timer is None:
            self._timer = self._later(self.hand_over, CARRY_LATEST)

    def hand_over(self) -> concurrent.futures.Future[None] | None:
        """Give the writer what was carried over; the future of the last batch given.

        That future is done once the rows are committed: a search waits for
        it so that it finds a message as soon as the message was acked.
        """
        carried, self._carried = self._carried, []
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deferred = self._writer.deferred
        if carried and deferred is not None and not self._closed:
            # Durable: fsynced by the writer, off the loop, so that the next
            # message's commit does not have these pages to flush too.
            submitted = self._writer.submit(lambda: deferred.write_carried(carried), chore=True)
            submitted.add_done_callback(lambda done: self._carried_done(done, carried))
            self._carrying = submitted
        carrying = self._carrying
        return None if carrying is None or carrying.done() else carrying

    def _carried_done(self, done: concurrent.futures.Future[None], carried: list[Any]) -> None:
        """On the writer's thread: after a failed transaction, try again later."""
        if done.cancelled() or done.exception() is None or self._closed:
            return
        logger.warning(
            "%d rows left by commits on the loop (the search index) could not be written"
            " yet; retrying: %s",
            len(carried),
            done.exception(),
        )
        loop = self._loop
        if loop is not None:
            # The loop may be closed by now (a server stopping): then the
            # store's next start writes them (SearchIndex.catch_up).
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(self._retry, carried)

    def _retry(self, carried: list[Any]) -> None:
        """On the loop: carry ``carried`` again, handed over after ``CARRY_RETRY``."""
        if self._closed or self._loop is None:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(CARRY_RETRY, self.hand_over)
        self._carried[:0] = carried
        # Not due at the next commit's turn either: a while to recover first.
        self._carried_at = time.perf_counter()

    def _connect(self) -> None:
        if self._db.connect(reuse_if_open=True) or self._thread is None:
            # Never wait for another connection's lock on the loop: fail at
            # once, and the writer (which waits) takes the write.
            self._db.execute_sql("PRAGMA busy_timeout = 0")  # type: ignore[no-untyped-call]
            # Never checkpoint on the loop either: the writer does it.
            self._db.execute_sql("PRAGMA wal_autocheckpoint = 0")  # type: ignore[no-untyped-call]
            self._thread = threading.get_ident()


class _Refused(Exception):
    """Raised inside the inline transaction to roll it back after a refusal."""
