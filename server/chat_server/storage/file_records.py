"""What the database knows about uploaded files: who uploaded what, and who holds which bytes.

Two tables (:class:`~.models.FileBlob`, :class:`~.models.Upload`): a blob per
content (SHA-256, size, and ``holders``, the number of uploads pointing at
it), and an upload per ``POST /api/v1/files`` (id, name, type, uploader,
and ``messages``, the number of messages carrying it). The same bytes
uploaded twice are two uploads and one blob with two holders.

:class:`FileRecords` runs its queries on the chat store's threads
(:meth:`PeeweeChatStore.run_write` / ``run_read``), so its writes share the
one writer and commit with the messages around them. The order inside one
write is what keeps bytes and records consistent:

- recording an upload takes (or creates) the blob's row *first*, then has
  the :class:`~.files.FileStore` place the bytes, then inserts the upload;
  all in one transaction. A crash before the commit leaves at most bytes no
  record holds, which a later sweep removes; never a record without bytes.
  That transaction commits without waiting for its fsync (``durable=False``),
  which a thread of the upload's own then does (``sync_writes``) before the
  uploader hears of the file: so the writer, which commits chat messages
  too, never waits for the disk on an upload's behalf. A crash between the
  two loses the record of an upload nobody heard of, and its bytes go with
  the sweep, as above.
- the sweep deletes a blob's row (only while ``holders`` is 0) and then its
  bytes, in its own transaction. On PostgreSQL the row lock makes an upload
  of the same bytes from another server wait for that commit and create
  the row afresh (placing the bytes again); on SQLite writes are serial.
- bytes with no row at all (a crash between placing and committing) are
  removed by the sweep once they are older than a grace period, judged by
  the file itself (:meth:`~.files.FileStore.remove_if_stale`).

The attach step (``"files":[ID,...]`` on a message) uses :func:`hold_uploads`
and :func:`release_uploads`: plain functions the chat store calls *inside*
the message's own write (and the delete's), so that a message, its
:class:`~.models.MessageFile` rows and the holds of its files commit together.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chat_protocol.rules import now_ts

from .base import StorageError
from .files import FileStore, StagedFile
from .models import FileBlob, Membership, MessageFile, Room, Upload

if TYPE_CHECKING:
    # Only a type here: the store itself calls hold_uploads and release_uploads.
    from .peewee_store import PeeweeChatStore


class UnknownFile(StorageError):
    """A message named an upload that does not exist, expired, or is not the sender's."""

    def __init__(self, file_id: str) -> None:
        super().__init__(f"there is no upload {file_id!r} of yours (it may have expired)")
        self.file_id = file_id


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One upload as the server knows it."""

    id: str
    name: str
    size: int
    type: str
    sha256: str
    uploader: str
    created: str
    # How many messages carry it (0: a bare upload, which expires).
    messages: int

    def to_wire(self) -> dict[str, Any]:
        """The answer to ``POST /api/v1/files``."""
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "type": self.type,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one sweep removed."""

    expired_uploads: int
    # Contents whose bytes were removed (nothing held them).
    removed_bytes: int
    # Temporary files of uploads that never finished.
    temporary: int = 0


def _record(row: Upload) -> FileRecord:
    return FileRecord(
        id=row.id,
        name=row.name,
        size=row.size,
        type=row.type,
        sha256=row.sha256,
        uploader=row.uploader,
        created=row.created,
        messages=row.messages,
    )


def _drop_uploads(rows: Iterable[Upload]) -> int:
    """Delete upload rows and give up their holds on the blobs; return how many."""
    dropped = 0
    for row in rows:
        if Upload.delete().where(Upload.id == row.id).execute():
            FileBlob.update(holders=FileBlob.holders - 1).where(
                FileBlob.sha256 == row.sha256
            ).execute()
            dropped += 1
    return dropped


def _remove_unheld(files: FileStore, among: list[str] | None = None) -> int:
    """Delete the blobs nothing holds (``among`` these, or all) and their bytes; return how many.

    A row goes only if it is still unheld; then its bytes, inside the same
    transaction, so that an upload of the same bytes waits for this one to
    commit and then creates the row and places the bytes afresh.
    """
    unheld = FileBlob.select(FileBlob.sha256).where(FileBlob.holders <= 0)
    if among is not None:
        unheld = unheld.where(FileBlob.sha256.in_(among))
    removed = 0
    for sha256 in [row.sha256 for row in unheld]:
        if FileBlob.delete().where(FileBlob.sha256 == sha256, FileBlob.holders <= 0).execute():
            files.remove(sha256)
            removed += 1
    return removed


def hold_uploads(file_ids: list[str], sender: str, not_before: str) -> list[FileRecord]:
    """Mark uploads as carried by one more message; their records, in the order given.

    For the attach step, inside the message's write transaction. Raises
    :class:`UnknownFile` (before changing anything) for an id that is
    unknown, not ``sender``'s, or a bare upload created before ``not_before``
    (expired: the sweep may already be removing it).
    """
    rows = {row.id: row for row in Upload.select().where(Upload.id.in_(file_ids))}
    for file_id in file_ids:
        row = rows.get(file_id)
        expired = row is not None and row.messages == 0 and row.created < not_before
        if row is None or row.uploader != sender or expired:
            raise UnknownFile(file_id)
    Upload.update(messages=Upload.messages + 1).where(Upload.id.in_(file_ids)).execute()
    return [_record(rows[file_id]) for file_id in file_ids]


def release_uploads(file_ids: list[str]) -> int:
    """A message carrying these uploads was deleted: drop each that no message carries now.

    For the attach step, inside the delete's write transaction; the bytes go
    with the next sweep once no upload holds them. Returns how many uploads
    were dropped.
    """
    Upload.update(messages=Upload.messages - 1).where(
        Upload.id.in_(file_ids), Upload.messages > 0
    ).execute()
    unheld = Upload.select().where(Upload.id.in_(file_ids), Upload.messages <= 0)
    return _drop_uploads(list(unheld))


class FileRecords:
    """Uploads and blobs over the chat store's database, with the bytes in ``files``."""

    def __init__(self, store: PeeweeChatStore, files: FileStore) -> None:
        self._store = store
        self._files = files

    async def add(self, staged: StagedFile, name: str, type_: str, uploader: str) -> FileRecord:
        """Place ``staged`` at its address and record the upload, in one transaction."""

        def work() -> FileRecord:
            now = now_ts()
            # The blob's row first: see the module doc.
            FileBlob.insert(
                sha256=staged.sha256, size=staged.size, holders=1, created=now
            ).on_conflict(
                conflict_target=[FileBlob.sha256],
                update={FileBlob.holders: FileBlob.holders + 1},
            ).execute()
            self._files.place(staged)
            file_id = secrets.token_urlsafe(16)
            Upload.insert(
                id=file_id,
                sha256=staged.sha256,
                name=name,
                type=type_,
                size=staged.size,
                uploader=uploader,
                created=now,
            ).execute()
            return FileRecord(file_id, name, staged.size, type_, staged.sha256, uploader, now, 0)

        # The upload's commit leaves its fsync to a thread of ours (sync_writes)
        # and the writer free for chat messages meanwhile: with files streaming
        # to the same disk that fsync can take tens of ms, and a message
        # committed after it would wait for all of it (bench/profiles.md,
        # issue 13). The uploader hears of the file only once it is durable.
        record = await self._store.run_write(work, durable=False)
        await self._store.sync_writes()
        return record

    async def get(self, file_id: str) -> FileRecord | None:
        """The upload with this id, or None."""

        def work() -> FileRecord | None:
            row = Upload.get_or_none(Upload.id == file_id)
            return None if row is None else _record(row)

        return await self._store.run_read(work)

    async def delete_upload(self, file_id: str, uploader: str) -> bool:
        """Delete ``uploader``'s upload that no message carries; False when there is none."""

        def work() -> bool:
            rows = list(
                Upload.select().where(
                    Upload.id == file_id, Upload.uploader == uploader, Upload.messages == 0
                )
            )
            if not _drop_uploads(rows):
                return False
            # A cancelled upload leaves nothing behind, unless another holds its bytes.
            _remove_unheld(self._files, [row.sha256 for row in rows])
            return True

        return await self._store.run_write(work)

    async def sweep(self, expired_before: str) -> SweepReport:
        """Drop bare uploads created before ``expired_before``, then bytes no upload holds."""

        def work() -> SweepReport:
            expired = Upload.select().where(Upload.messages == 0, Upload.created < expired_before)
            dropped = _drop_uploads(list(expired))
            return SweepReport(dropped, _remove_unheld(self._files))

        return await self._store.run_write(work)

    async def carried_where(self, file_id: str, user: str) -> bool:
        """Whether a message ``user`` can read carries this upload (public room, or a member)."""

        def work() -> bool:
            mine = Membership.select(Membership.room).where(Membership.user_key == user.lower())
            query = (
                MessageFile.select()
                .join(Room, on=(MessageFile.room == Room.id))
                .where(
                    MessageFile.upload == file_id,
                    Room.deleted == 0,
                    (Room.kind == "public") | Room.id.in_(mine),
                )
            )
            return bool(query.exists())

        return await self._store.run_read(work)

    async def known_blobs(self, addresses: list[str]) -> set[str]:
        """Which of these addresses have a blob row."""

        def work() -> set[str]:
            query = FileBlob.select(FileBlob.sha256).where(FileBlob.sha256.in_(addresses))
            return {row.sha256 for row in query}

        return await self._store.run_read(work)
