"""Where the bytes of uploaded files live: :class:`FileStore` and its shared-folder form.

A file's bytes are stored once per content, under their SHA-256 (the
*address*); which uploads and messages hold them is the database's business
(:mod:`.file_records`). The store only moves bytes, in three steps that keep
a crash from leaving a half file behind a record:

1. :meth:`FileStore.stage` streams a body to a temporary name, hashing it on
   the way, and fsyncs it; nothing refers to it yet. The shared-folder store
   then also puts the bytes at their address *ahead* of the record, as a
   second name of the same file (a hard link, its folder fsynced), on its own
   file thread: nothing refers to them yet either, and bytes no record holds
   are what a sweep removes (after a grace period).
2. :meth:`FileStore.place` makes sure they are at their address: when they
   were put there ahead and are still there, that is one ``stat``; else it
   renames the temporary file there and fsyncs the folder. The metadata
   store calls it *inside* the transaction that records the upload, after
   that transaction took the blob's row: so the bytes are in place before
   the record can commit, and a sweep that removes the bytes of the same
   address (a row it deleted in its own transaction) cannot run between the
   two (see :mod:`.file_records`). That transaction runs on the database's
   one writer thread, which commits chat messages too: the link ahead keeps
   a rename, a folder fsync and (for bytes already stored) the freeing of a
   file's blocks off it, and the transaction's own fsync is done by the
   upload's thread after it (:mod:`.file_records`), so chat messages do not
   queue behind uploads.
3. :meth:`FileStore.remove` deletes the bytes once no record holds them.

A temporary file left by a crash (or a client that vanished mid-upload in a
process that then died) is removed by :meth:`FileStore.sweep_temporary`,
which the server runs at start-up (everything, in a folder that is its
own) and with every sweep (what nobody wrote to for a while).

:class:`SharedFolderStore` keeps everything under one folder
(``DATA_DIR/files`` by default), laid out as ``ab/cdef...`` (the first two hex
digits of the address as a sub-folder, so no folder holds more than 1/256 of
the files) and ``tmp/`` for files being received. Several servers of one
chat (issue 15) may share that folder (NFS, SMB): every write is
temp-then-rename inside the folder, so a reader on any server sees a whole
file or none, and a temporary file is swept only once it has not been
written to for ``temporary_grace`` seconds, so one server's start-up does
not remove another's upload in flight. Folders are made 0700 and files
0600 (:mod:`chat_server.private`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import os
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..private import FILE_MODE, private_folder

T = TypeVar("T")

log = logging.getLogger(__name__)

# Bytes gathered from the network before they are handed to a thread to be
# hashed and written: large enough that the thread hop is rare, small enough
# that many uploads at once stay within a few MiB (the memory bound of issue 13).
WRITE_BLOCK = 512 * 1024
TEMPORARY_SUFFIX = ".part"
# Buffers one writev may take (POSIX guarantees 16; Linux and macOS take 1024).
_IOV_MAX = 1024
# The thread that hashes and writes uploads, for all uploads together: one
# core's worth of SHA-256 (several hundred MiB/s, more than a LAN brings in)
# at most, so that many uploads at once leave the other cores to the event
# loop and the database writer.
FILE_THREADS = 1


class TooLarge(Exception):
    """The body went past the limit; what was received has been removed."""


@dataclass(frozen=True, slots=True)
class StagedFile:
    """A body received whole into a temporary file, not yet recorded."""

    path: Path
    sha256: str
    size: int
    # Whether the store already put these bytes at their address (a second
    # name, or fresh identical bytes that were there), so that place() has
    # only to check they are still there.
    ahead: bool = False


@dataclass(frozen=True, slots=True)
class StoredBytes:
    """Bytes at an address, for the sweep's look for bytes no record holds."""

    address: str
    # Seconds since the file was last written (placed), by the store's clock.
    age: float


class FileStore(ABC):
    """Content-addressed bytes: stage, place, read, remove, and sweep leftovers."""

    @abstractmethod
    def open(self) -> None:
        """Get ready to store (make folders, connect). Blocking; once at start-up."""

    @abstractmethod
    def close(self) -> None:
        """Release what :meth:`open` took, after the last upload ended. Blocking."""

    @abstractmethod
    async def stage(self, chunks: AsyncIterator[bytes], limit: int) -> StagedFile:
        """Receive ``chunks`` into a temporary file, hashing them, and fsync it.

        Raises :class:`TooLarge` (after removing the temporary file) as soon as
        more than ``limit`` bytes arrived; any other failure removes it too.
        """

    @abstractmethod
    def place(self, staged: StagedFile) -> str:
        """Make sure ``staged``'s bytes are at their address; return the address.

        Bytes the store put there ahead (``staged.ahead``) and still there
        are left as they are; else ``staged`` is moved there (replacing
        identical bytes). Blocking: called on the database's writer thread
        inside the transaction that records the upload, so it should be
        quick (see the module doc).
        """

    @abstractmethod
    def discard(self, staged: StagedFile) -> None:
        """Remove a staged file that will not be placed (blocking; missing is fine)."""

    @abstractmethod
    def exists(self, address: str) -> bool:
        """Whether bytes are stored at ``address``."""

    @abstractmethod
    def path(self, address: str) -> Path:
        """The local path of the bytes at ``address``, for streaming them with Range.

        The shared-folder store serves by path so that aiohttp's
        ``FileResponse`` does Range, 416 and ``sendfile`` itself; a store
        without local paths would return a cached copy here.
        """

    @abstractmethod
    def remove(self, address: str) -> None:
        """Delete the bytes at ``address`` (blocking; missing is fine)."""

    @abstractmethod
    def stored(self) -> Iterator[StoredBytes]:
        """Every address with bytes, for the sweep (blocking)."""

    @abstractmethod
    def remove_if_stale(self, address: str, older_than: float) -> bool:
        """Delete the bytes at ``address`` unless they were placed in the last ``older_than`` s.

        For bytes no record holds: a server sharing the folder may be placing
        the same bytes right now for an upload whose record is not committed
        yet; placing them gives them a fresh time, and that keeps them.
        """

    @abstractmethod
    def sweep_temporary(self, older_than: float) -> int:
        """Remove temporary files not written to for ``older_than`` s; return how many."""


def _fsync_folder(folder: Path) -> None:
    # The rename is durable only once the folder's entry is; Windows cannot
    # open a folder, and its rename is durable once it returns.
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, chunks: list[bytes], size: int) -> None:
    """Write ``chunks`` (``size`` bytes in all) to ``fd`` with as few system calls as it takes."""
    if not hasattr(os, "writev"):  # Windows
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
        return
    buffers: list[bytes | memoryview] = list(chunks)
    while size:
        # A slow client's body comes in small chunks: at most IOV_MAX a call.
        written = os.writev(fd, buffers[:_IOV_MAX])
        size -= written
        # A short write (a signal, a full disk on its way to ENOSPC): drop
        # what went out and write the rest.
        while written:
            if written >= len(buffers[0]):
                written -= len(buffers.pop(0))
            else:
                buffers[0] = memoryview(buffers[0])[written:]
                written = 0


def _start_writeback(fd: int, offset: int, size: int) -> None:
    """Have the kernel start writing a block just written out to the disk, without waiting.

    Why: the upload's fsync at the end would otherwise flush the whole file
    (25 MiB) at once, and on a journalling file system (ext4's ordered data)
    a chat message's commit, whose fsync comes meanwhile, waits behind that
    flush: chat's p99 while ten uploads ran was twice as high with the files
    on the database's disk as with them in memory (bench/profiles.md,
    issue 13). Written out as it comes, the final fsync finds little left.
    POSIX_FADV_DONTNEED on a dirty range starts its writeback (Linux) and,
    once written, lets the page cache drop the upload's pages instead of
    pushing out pages the server reads. Elsewhere (no posix_fadvise) the
    fsync does it all, as before.
    """
    if _FADVISE is not None:
        _FADVISE(fd, offset, size, os.POSIX_FADV_DONTNEED)


_FADVISE = getattr(os, "posix_fadvise", None)


class _Sink:
    """The temporary file being written and the hash of what went into it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # O_EXCL: a fresh name, never someone else's file; 0600 from the start.
        self._fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunks: list[bytes]) -> None:
        # On a thread. hashlib and os.writev release the GIL while they work,
        # and each time this thread wants it back it may wait for the event
        # loop: so one write per block (not per network chunk), and no join
        # into one block either (a copy made holding the GIL, which the
        # loop then waits for).
        for chunk in chunks:
            self._hash.update(chunk)
        size = sum(map(len, chunks))
        _write_all(self._fd, chunks, size)
        _start_writeback(self._fd, self.size, size)
        self.size += size

    def finish(self) -> StagedFile:
        os.fsync(self._fd)
        self.close()
        return StagedFile(self.path, self._hash.hexdigest(), self.size)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class SharedFolderStore(FileStore):
    """Bytes in a folder of their own, which several servers may share (see the module doc)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._temporary = self.root / "tmp"
        # Between open() and close(): see FILE_THREADS.
        self._threads: ThreadPoolExecutor | None = None
        # Ages are measured against the files' modification times: wall clock.
        self._now = time.time

    def open(self) -> None:
        """Make the folders (0700) if missing, start the file threads. Blocking."""
        private_folder(self._temporary)
        self._threads = ThreadPoolExecutor(FILE_THREADS, thread_name_prefix="chat-files")

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown()
            self._threads = None

    async def _on_thread(self, work: Callable[..., T], *args: object) -> T:
        if self._threads is None:
            raise OSError("the file store is closed")
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)

    # Receiving ------------------------------------------------------------

    async def stage(self, chunks: AsyncIterator[bytes], limit: int) -> StagedFile:
        path = self._temporary / f"{secrets.token_hex(16)}{TEMPORARY_SUFFIX}"
        # Creating a file waits for the file system's journal, which the
        # other uploads' fsyncs keep busy: never on the event loop.
        sink = await self._on_thread(_Sink, path)
        # The block being hashed and written on a thread while the next one
        # arrives: receiving and writing overlap, and the event loop copies
        # nothing (the chunks go to the thread as they came).
        writing: asyncio.Future[None] | None = None
        try:
            block: list[bytes] = []
            in_block = received = 0
            async for chunk in chunks:
                received += len(chunk)
                if received > limit:
                    raise TooLarge(f"the file is larger than {limit} bytes")
                block.append(chunk)
                in_block += len(chunk)
                if in_block >= WRITE_BLOCK:
                    if writing is not None:
                        await writing
                    writing = asyncio.ensure_future(self._on_thread(sink.write, block))
                    block, in_block = [], 0
            if writing is not None:
                await writing
            await self._on_thread(sink.write, block)
            return await self._on_thread(self._finish, sink)
        except BaseException:
            if writing is not None:
                # The thread must be done with the file before it is closed.
                await asyncio.wait([writing])
            sink.close()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            raise

    def _finish(self, sink: _Sink) -> StagedFile:
        # On the file thread: fsync, then the bytes at their address ahead of
        # the record (see the module doc), so that place() is a stat.
        staged = sink.finish()
        target = self._path(staged.sha256)
        private_folder(target.parent)
        try:
            os.link(staged.path, target)
        except FileExistsError:
            # Identical bytes are there: a fresh time keeps a sweep of bytes no
            # record holds from taking them before the record commits (see
            # remove_if_stale); this upload's own copy goes with discard().
            try:
                os.utime(target)
            except FileNotFoundError:
                return staged  # removed meanwhile: place() renames ours there
        except OSError:
            # A shared folder without hard links (some SMB servers): place()
            # renames inside the transaction, as it always could.
            return staged
        else:
            _fsync_folder(target.parent)
        return dataclasses.replace(staged, ahead=True)

    def place(self, staged: StagedFile) -> str:
        address = staged.sha256
        target = self._path(address)
        if staged.ahead and target.exists():
            # Put there ahead, and no sweep removed it since (a sweep removes
            # bytes only in a transaction, and this one holds the blob's row).
            return address
        private_folder(target.parent)
        # Replacing identical bytes changes nothing a reader can see, and gives
        # the address a fresh time (see remove_if_stale).
        os.replace(staged.path, target)
        _fsync_folder(target.parent)
        return address

    def discard(self, staged: StagedFile) -> None:
        with contextlib.suppress(FileNotFoundError):
            staged.path.unlink()

    # Reading --------------------------------------------------------------

    def _path(self, address: str) -> Path:
        if len(address) != 64 or not all(ch in "0123456789abcdef" for ch in address):
            # Addresses come from our own hashes; anything else is a bug, and
            # must never become a path.
            raise ValueError(f"not a file address: {address!r}")
        return self.root / address[:2] / address[2:]

    def exists(self, address: str) -> bool:
        return self._path(address).is_file()

    def path(self, address: str) -> Path:
        return self._path(address)

    # Removing -------------------------------------------------------------

    def remove(self, address: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(address).unlink()

    def stored(self) -> Iterator[StoredBytes]:
        now = self._now()
        for folder in sorted(self.root.iterdir()):
            if len(folder.name) != 2 or not folder.is_dir():
                continue  # tmp/, or something an operator left
            for entry in os.scandir(folder):
                address = folder.name + entry.name
                if len(address) == 64 and entry.is_file():
                    yield StoredBytes(address, now - entry.stat().st_mtime)

    def remove_if_stale(self, address: str, older_than: float) -> bool:
        path = self._path(address)
        # Moved aside first, then judged by the file actually moved: a server
        # placing the same bytes at the same moment either put its fresh file
        # at the address before the move (then that is what was moved, it is
        # young, and it goes back) or after it (then it stays where it is).
        aside = self._temporary / f"{secrets.token_hex(16)}.stale"
        try:
            os.replace(path, aside)
            if self._now() - aside.stat().st_mtime < older_than:
                os.replace(aside, path)
                return False
            aside.unlink()
        except FileNotFoundError:
            return False  # removed meanwhile by a sweep of another server
        return True

    def sweep_temporary(self, older_than: float) -> int:
        removed = 0
        now = self._now()
        for entry in os.scandir(self._temporary):
            try:
                if now - entry.stat().st_mtime >= older_than:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue  # placed or removed meanwhile
        if removed:
            log.info("removed %d unfinished upload(s) from %s", removed, self._temporary)
        return removed
