"""Uploads: the files of my messages on their way to the server, before the message goes.

A message with files (``ChatController.send(room, text, files=[...])``) takes
two steps. First this queue uploads each file (``POST /api/v1/files``,
streamed from disk, :class:`~chat_desktop.transport.files.FileClient`),
reporting the progress of the whole message as it goes, so the window can
draw one bar per message and offer Cancel. Then, once every file has its
id on the server, it hands the message to the :class:`~.outbox.Outbox`
under the same ``client_id``; from there it goes like any other message,
exactly once and in order with the messages already there, carrying
``"files": [ID, ...]`` (:meth:`UploadQueue.attachments`).

The rules, from issue 13:

- **Refused at once when too large.** The server's limit comes from its
  health check (``max_file_bytes``); :meth:`UploadQueue.too_large` lets the
  controller refuse a file above it before anything is queued, and the
  queue checks again before sending (the limit may not have been known).
  A 413 is final: the message turns FAILED with ``too_large``, never retried.
- **Failures retry by themselves**, like a message in the outbox: no answer,
  a 5xx, a 429 (after its Retry-After) try again with a growing pause, and
  at once when the connection comes back (:meth:`UploadQueue.resume`).
  Files chosen offline simply wait.
- **Cancel leaves nothing on the server**: the running upload is dropped
  (the server discards a body cut off) and what already arrived is deleted
  with ``DELETE /api/v1/files/{id}``.
- **An expired upload is sent again**: when the server answers the message
  with ``unknown_file`` (the upload was swept, 24 h unattached), the
  controller calls :meth:`UploadQueue.expired`, which uploads the files
  again and hands the message back to the outbox.
- **My own pictures are not downloaded back**: once a picture is up, a
  copy of my file goes into the downloads cache under its id (checked
  against the server's SHA-256), so my window's thumbnail comes from it.
- **It survives a restart**: what is queued is kept in the cache's settings
  (the files' paths, the ids already known) until the server stored the
  message.

Messages still uploading are not in the outbox yet, so a text message
written after one may arrive before it (as in most chat apps: a file takes
its time). Plain asyncio, no Qt: the controller wires the callbacks to signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from chat_desktop.storage import ChatCache
from chat_desktop.storage.downloads import DownloadCache
from chat_desktop.transport.files import FileClient, UploadedFile, UploadStopped, file_type
from chat_desktop.transport.http_api import ApiError
from chat_protocol import Error, ErrorCode, rules

from .entries import DeliveryState, FileRef, MessageEntry
from .phrases import QT_TRANSLATE_NOOP, refusal_reason
from .tasks import TaskGroup

log = logging.getLogger(__name__)

# The cache setting that keeps the queue across restarts.
SETTING = "pending_uploads"
# How often a message's files go up again after unknown_file before it stays refused.
MAX_REUPLOADS = 3
# Pauses before trying a failed upload again: growing, then steady.
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)

UNREADABLE = QT_TRANSLATE_NOOP("phrases", "A file of this message can no longer be read.")


@dataclass(slots=True)
class PendingFiles:
    """One message whose files are being uploaded (or wait to be), and what is known so far."""

    client_id: str
    room: str
    text: str
    created: str
    paths: list[Path]
    reply_to: int | None = None
    # The server's id of each file once uploaded (None: not yet).
    ids: list[str | None] = field(default_factory=list)
    # Each file as the window shows it: name, size, type (id once known).
    refs: list[FileRef] = field(default_factory=list)
    # Handed to the outbox: the files are all up, the message is on its way.
    handed: bool = False
    # How often the server lost its uploads (unknown_file) and they went up again.
    reuploads: int = 0
    # Why it stopped (a protocol code or a marked phrase); "" while it goes on.
    failed: str = ""
    # A file's bytes are on the wire right now (see UploadQueue.cancel).
    sending: bool = False

    def entry(self, me: str) -> MessageEntry:
        """The message as the window shows it while its files go up."""
        state = DeliveryState.FAILED if self.failed else DeliveryState.QUEUED
        return MessageEntry(
            self.room,
            me,
            self.text,
            self.created,
            self.client_id,
            state=state,
            error=self.failed,
            reply_to=self.reply_to,
            files=tuple(self.refs),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "room": self.room,
            "text": self.text,
            "created": self.created,
            "paths": [str(path) for path in self.paths],
            "reply_to": self.reply_to,
            "ids": self.ids,
            "refs": [[ref.id, ref.name, ref.size, ref.type] for ref in self.refs],
            "handed": self.handed,
            "failed": self.failed,
            "reuploads": self.reuploads,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> PendingFiles:
        refs = data["refs"]
        assert isinstance(refs, list)
        reply_to = data.get("reply_to")
        return cls(
            client_id=str(data["client_id"]),
            room=str(data["room"]),
            text=str(data["text"]),
            created=str(data["created"]),
            paths=[Path(str(path)) for path in data["paths"]],  # type: ignore[attr-defined]
            reply_to=reply_to if isinstance(reply_to, int) else None,
            ids=list(data["ids"]),  # type: ignore[call-overload]
            refs=[FileRef(str(i), str(n), int(s), str(t)) for i, n, s, t in refs],
            handed=data.get("handed") is True,
            failed=str(data.get("failed") or ""),
            reuploads=int(data.get("reuploads") or 0),  # type: ignore[call-overload]
        )


class UploadQueue:
    """The messages with files not yet handed to the outbox, uploading one file at a time.

    Callbacks (the controller turns them into signals):
        on_change(MessageEntry): a message's row changed (queued, failed, files known).
        on_progress(client_id, sent, total): bytes of the message's files sent so far.
        on_ready(client_id, room, text, reply_to): every file is up; hand the
            message to the outbox (the first time) or send it again (after
            :meth:`expired`).
        on_cancelled(client_id): the message is gone (the user cancelled it).
    """

    def __init__(
        self,
        cache: ChatCache,
        client: Callable[[], FileClient],
        tasks: TaskGroup,
        *,
        me: str,
        on_change: Callable[[MessageEntry], None],
        on_progress: Callable[[str, int, int], None],
        on_ready: Callable[[str, str, str, int | None], None],
        on_cancelled: Callable[[str], None],
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        scratch: Path | None = None,
        kept: DownloadCache | None = None,
    ) -> None:
        self._cache = cache
        # The downloads cache a picture I sent is copied into once up (see _keep).
        self._kept = kept
        # A folder of files made only to be sent (pasted pictures): each goes
        # once its message is stored or cancelled.
        self._scratch = scratch
        self._client = client
        self._tasks = tasks
        self.me = me
        self._on_change = on_change
        self._on_progress = on_progress
        self._on_ready = on_ready
        self._on_cancelled = on_cancelled
        self._retry_delays = retry_delays
        # The server's upload limit, once its health check said (None: unknown).
        self.limit: int | None = None
        # client_id -> message, in the order written.
        self._pending: dict[str, PendingFiles] = {}
        for data in json.loads(cache.get_setting(SETTING) or "[]"):
            try:
                pending = PendingFiles.from_json(data)
            except (KeyError, TypeError, ValueError, AssertionError):
                log.warning("dropping an unreadable pending upload: %r", data)
                continue
            self._pending[pending.client_id] = pending
        # client_id -> the task uploading its files.
        self._running: dict[str, asyncio.Task[None]] = {}
        # Set (and replaced) by resume(): ends the pauses between tries.
        self._wake = asyncio.Event()

    def __contains__(self, client_id: object) -> bool:
        return client_id in self._pending

    # What the controller asks --------------------------------------------------

    def too_large(self, paths: Iterable[Path]) -> list[tuple[Path, int]]:
        """The files above the server's limit (as far as it is known), with their sizes.

        OSError when a file cannot be read at all.
        """
        sizes = [(path, path.stat().st_size) for path in paths]
        if self.limit is None:
            return []
        return [(path, size) for path, size in sizes if size > self.limit]

    def entries(self, room: str) -> list[MessageEntry]:
        """The messages of ``room`` still uploading (not yet in the outbox)."""
        return [
            pending.entry(self.me)
            for pending in self._pending.values()
            if pending.room == room and not pending.handed
        ]

    def dress(self, entry: MessageEntry) -> MessageEntry:
        """``entry`` (the outbox's) with the files its message carries."""
        pending = self._pending.get(entry.client_id)
        return entry if pending is None else replace(entry, files=tuple(pending.refs))

    def attachments(self, client_id: str) -> tuple[str, ...]:
        """The upload ids the message ``client_id`` carries (for the outbox's frame)."""
        pending = self._pending.get(client_id)
        if pending is None:
            return ()
        return tuple(file_id for file_id in pending.ids if file_id is not None)

    # What the user does --------------------------------------------------------

    def add(
        self, room: str, text: str, paths: list[Path], reply_to: int | None = None
    ) -> MessageEntry:
        """Queue a message with files (checked by the caller); upload them when possible."""
        pending = PendingFiles(
            client_id=str(uuid.uuid4()),
            room=room,
            text=text,
            created=rules.now_ts(),
            paths=list(paths),
            reply_to=reply_to,
            ids=[None] * len(paths),
            refs=[FileRef("", path.name, path.stat().st_size, file_type(path)) for path in paths],
        )
        self._pending[pending.client_id] = pending
        self._save()
        entry = pending.entry(self.me)
        self._on_change(entry)
        self._start(pending)
        return entry

    def cancel(self, client_id: str) -> bool:
        """Stop a message whose files are still going up; False once it is on its way."""
        pending = self._pending.get(client_id)
        if pending is None or pending.handed:
            return False
        task = self._running.pop(client_id, None)
        if task is not None and not pending.sending:
            # Waiting (to retry, for the limit): nothing of it is on the wire.
            task.cancel()
        # While a file goes up the task is left to end by itself: the upload
        # asks before each block whether its message is still wanted and cuts
        # the body off (the server discards it), or, when the last block had
        # already gone, learns the id from the answer and deletes the file.
        # Cancelling the request could lose that answer and leave the file.
        del self._pending[client_id]
        self._save()
        self._forget_scratch(pending)
        uploaded = [file_id for file_id in pending.ids if file_id is not None]
        if uploaded:
            self._tasks.spawn(self._drop(uploaded))
        self._on_cancelled(client_id)
        return True

    def retry(self, client_id: str) -> bool:
        """Try a FAILED message's files again (the user pressed Retry); False if not ours.

        A file the server refused as too large stays refused: a 413 is final.
        """
        pending = self._pending.get(client_id)
        if pending is None or pending.handed:
            return False
        if pending.failed != ErrorCode.TOO_LARGE:
            pending.failed = ""
            self._save()
            self._on_change(pending.entry(self.me))
            self._start(pending)
        return True

    # What the network says -----------------------------------------------------

    def resume(self) -> None:
        """The connection is back: what waits (offline, or between retries) goes now.

        An upload under way goes on undisturbed; one pausing before its next
        try stops pausing.
        """
        self._wake.set()
        self._wake = asyncio.Event()
        for pending in self._pending.values():
            if not pending.handed and not pending.failed:
                self._start(pending)

    def refused(self, error: Error) -> None:
        """The server refused a message of mine; after ``unknown_file`` its files go up again.

        (The outbox marked it FAILED; once the files are up, ``on_ready`` sends it again.)
        """
        if error.code == ErrorCode.UNKNOWN_FILE and error.ref is not None:
            self.expired(error.ref)

    def expired(self, client_id: str) -> bool:
        """The server lost the message's uploads (``unknown_file``): upload again, send again."""
        pending = self._pending.get(client_id)
        if pending is None or pending.reuploads >= MAX_REUPLOADS:
            # A server that keeps losing them: the message stays refused.
            return False
        pending.reuploads += 1
        pending.ids = [None] * len(pending.paths)
        pending.refs = [replace(ref, id="") for ref in pending.refs]
        pending.handed = False
        self._save()
        self._start(pending, again=True)
        return True

    def delivered(self, client_id: str) -> None:
        """The server stored the message: nothing of it is pending any more."""
        pending = self._pending.pop(client_id, None)
        if pending is not None:
            self._save()
            self._forget_scratch(pending)

    def _forget_scratch(self, pending: PendingFiles) -> None:
        for path in pending.paths:
            if self._scratch is not None and path.parent == self._scratch:
                path.unlink(missing_ok=True)

    async def learn_limit(self) -> None:
        """Ask the server for its upload limit (once connected)."""
        try:
            async with self._client() as client:
                self.limit = await client.limit()
        except ApiError as exc:
            log.info("the upload limit is unknown for now: %s", exc)

    # The work ------------------------------------------------------------------

    def _start(self, pending: PendingFiles, *, again: bool = False) -> None:
        if pending.client_id in self._running:
            return
        task = self._tasks.spawn(self._upload_all(pending, again))
        if task is not None:
            self._running[pending.client_id] = task
            task.add_done_callback(lambda _: self._finished(pending.client_id, task))

    def _finished(self, client_id: str, task: asyncio.Task[None]) -> None:
        if self._running.get(client_id) is task:
            del self._running[client_id]

    async def _upload_all(self, pending: PendingFiles, again: bool) -> None:
        """Upload each file not yet up, retrying what failed for reasons not its own."""
        attempt = 0
        while True:
            try:
                await self._upload_missing(pending)
            except UploadStopped:
                return
            except ApiError as exc:
                if pending.client_id not in self._pending:
                    return  # cancelled while the failing request was under way
                if _is_final(exc):
                    self._fail(pending, refusal_reason(exc.code or "", str(exc)))
                    return
                delay = (
                    exc.retry_after or self._retry_delays[min(attempt, len(self._retry_delays) - 1)]
                )
                attempt += 1
                log.info("upload of %s failed (%s); again in %.0f s", pending.client_id, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                continue
            except OSError as exc:
                log.warning("a file of %s cannot be read: %s", pending.client_id, exc)
                self._fail(pending, UNREADABLE)
                return
            break
        if pending.client_id not in self._pending:
            return  # cancelled as its last file went up (and was deleted again)
        pending.handed = True
        self._save()
        self._on_ready(pending.client_id, pending.room, pending.text, pending.reply_to)

    async def _upload_missing(self, pending: PendingFiles) -> None:
        if self.limit is None:
            await self.learn_limit()
        async with self._client() as client:
            await self._upload_with(client, pending)

    async def _upload_with(self, client: FileClient, pending: PendingFiles) -> None:
        total = sum(ref.size for ref in pending.refs)
        for index, path in enumerate(pending.paths):
            if pending.ids[index] is not None:
                continue
            if self.limit is not None and pending.refs[index].size > self.limit:
                raise ApiError(413, "too large", code=ErrorCode.TOO_LARGE)
            before = sum(ref.size for i, ref in enumerate(pending.refs) if pending.ids[i])

            def progress(sent: int, _size: int, before: int = before) -> None:
                self._on_progress(pending.client_id, before + sent, total)

            pending.sending = True
            try:
                uploaded = await client.upload(
                    path,
                    on_progress=progress,
                    stop=lambda: pending.client_id not in self._pending,
                )
            finally:
                pending.sending = False
            if pending.client_id not in self._pending:
                # Cancelled the moment the answer came: it must not stay behind.
                await client.delete(uploaded.id)
                return
            # Before the id is known to the window: a thumbnail asked for then
            # is found in the cache instead of being downloaded.
            await self._keep(path, uploaded)
            pending.ids[index] = uploaded.id
            pending.refs[index] = FileRef(uploaded.id, uploaded.name, uploaded.size, uploaded.type)
            self._save()
        self._on_progress(pending.client_id, total, total)

    async def _keep(self, path: Path, uploaded: UploadedFile) -> None:
        """Seed the downloads cache with a picture I just sent, from my own file.

        My window then shows its thumbnail without downloading back what it
        just uploaded (issue 13). Only pictures (what a message shows
        inline): another file is fetched if and when it is opened, so a large
        archive is not copied for nothing. The copy is checked against the
        server's SHA-256 (DownloadCache.adopt); failing that, or to copy at
        all, costs only the download that would have happened anyway.
        """
        if self._kept is None or uploaded.type not in rules.INLINE_FILE_TYPES:
            return
        try:
            kept = await asyncio.to_thread(
                self._kept.adopt, path, uploaded.id, uploaded.type, uploaded.sha256
            )
        except (OSError, ValueError) as exc:
            log.info("a picture I sent is not kept; it will be downloaded: %s", exc)
            return
        if kept is None:
            log.info("%s changed after it went up; it will be downloaded", path.name)

    def _fail(self, pending: PendingFiles, reason: str) -> None:
        pending.failed = reason
        self._save()
        self._on_change(pending.entry(self.me))

    async def _drop(self, file_ids: list[str]) -> None:
        try:
            async with self._client() as client:
                for file_id in file_ids:
                    await client.delete(file_id)
        except ApiError as exc:
            # Not reachable now: the server drops them by itself within a day.
            log.info("a cancelled upload stays on the server until it expires: %s", exc)

    def _save(self) -> None:
        self._cache.set_setting(
            SETTING, json.dumps([pending.to_json() for pending in self._pending.values()])
        )


def _is_final(error: ApiError) -> bool:
    """Whether trying the same upload again can never help (too large, a bad request)."""
    return not (error.status == 0 or error.status >= 500 or error.status in (408, 429))
