"""The downloaded files of one account: a private folder that never grows past a size cap.

Files of messages are fetched once (by :mod:`chat_desktop.controller.downloads`)
and kept here, so a thumbnail or a second Open costs no network. Each file is
named after its id on the server, which the protocol draws from URL-safe
characters, plus an extension looked up from its media type in Python's
own table: nothing a sender chose (a name like ``../../.bashrc``) ever
becomes part of a path. The folder is 0700 and every file 0600, like the
rest of the app's data.

A download is written to a temporary file in the folder and renamed into
place only once complete (:meth:`DownloadCache.receive`), so a cut-off
download never passes for the file. When the folder holds more than its cap,
the files used least recently go first (use touches a file's mtime).
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from chat_protocol import rules

from .private import FILE_MODE, private_dir

# What a downloaded file may take in total, per account, unless told otherwise.
DEFAULT_LIMIT = 500 * 1024 * 1024
# Temporary files of downloads in progress start with this.
_PARTIAL = ".partial-"
# An extension from mimetypes' table: a dot and a few letters or digits.
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}")
# Bytes read at a time when a file of mine is copied in (adopt).
_COPY_BLOCK = 1024 * 1024


class _Changed(Exception):
    """The copy is not what the server has: it is dropped (adopt)."""


def downloads_folder(cache_path: Path) -> Path:
    """The downloads folder that goes with the message cache at ``cache_path``."""
    return cache_path.with_name(cache_path.stem + "-files")


class DownloadCache:
    """Downloaded files in ``folder``, at most ``limit`` bytes in all."""

    def __init__(self, folder: Path, limit: int = DEFAULT_LIMIT) -> None:
        self.folder = folder
        self.limit = limit

    def path_for(self, file_id: str, type_: str) -> Path:
        """Where the file ``file_id`` of media type ``type_`` is kept (ValueError for a bad id)."""
        if not rules.FILE_ID_RE.fullmatch(file_id):
            raise ValueError(f"not a file id: {file_id!r}")
        extension = mimetypes.guess_extension(type_.lower(), strict=False) or ""
        if not _EXTENSION.fullmatch(extension):
            extension = ""
        return self.folder / f"{file_id}{extension}"

    def get(self, file_id: str, type_: str) -> Path | None:
        """The kept file, marked as just used; None when it is not here."""
        path = self.path_for(file_id, type_)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    @contextlib.contextmanager
    def receive(self, file_id: str, type_: str) -> Iterator[BinaryIO]:
        """A private temporary file to write the download into; placed when the block ends.

        If the block raises (a broken or cancelled download), the partial
        file is removed and nothing is placed.
        """
        target = self.path_for(file_id, type_)
        private_dir(self.folder)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=_PARTIAL)
        try:
            with os.fdopen(handle, "wb") as file:
                with contextlib.suppress(AttributeError):  # Windows has no fchmod
                    os.fchmod(file.fileno(), FILE_MODE)
                yield file
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.trim(keep=target)

    def adopt(self, source: Path, file_id: str, type_: str, sha256: str) -> Path | None:
        """Keep a copy of my own ``source`` as the file ``file_id`` I just uploaded; its path.

        So that the sender's window shows a picture it sent from the bytes it
        has, instead of downloading them back. Copied (not linked: the
        original may change or go, a pasted picture's does) through
        :meth:`receive`, hashed on the way; when the copy's SHA-256 is not
        the server's ``sha256`` (the file changed after it went up), nothing
        is kept and None returned: the file is downloaded when needed, so
        what shows is always what the others got. Blocking (a thread's work).
        """
        digest = hashlib.sha256()
        try:
            with self.receive(file_id, type_) as into, open(source, "rb") as original:
                while block := original.read(_COPY_BLOCK):
                    digest.update(block)
                    into.write(block)
                if digest.hexdigest() != sha256:
                    raise _Changed
        except _Changed:
            return None
        return self.path_for(file_id, type_)

    def used(self) -> int:
        """Bytes the kept files take now."""
        return sum(size for _, size, _ in self._kept())

    def trim(self, keep: Path | None = None) -> None:
        """Remove the least recently used files until the folder is within its cap.

        ``keep``: the file just placed, which stays even if it alone is above the cap.
        """
        kept = sorted(self._kept(), key=lambda item: item[2])
        total = sum(size for _, size, _ in kept)
        for path, size, _ in kept:
            if total <= self.limit:
                return
            if path == keep:
                continue
            path.unlink(missing_ok=True)
            total -= size

    def _kept(self) -> list[tuple[Path, int, float]]:
        """Each placed file with its size and time of last use."""
        if not self.folder.is_dir():
            return []
        found = []
        for entry in os.scandir(self.folder):
            if entry.is_file() and not entry.name.startswith(_PARTIAL):
                info = entry.stat()
                found.append((Path(entry.path), info.st_size, info.st_mtime))
        return found
