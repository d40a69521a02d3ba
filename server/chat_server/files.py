"""Files over HTTP: upload, download, delete, and the sweep that removes what expired.

The routes (docs/protocol.md, Version 2, "Files"; our "Extensions" for what
the contract leaves open):

- ``POST /api/v1/files?name=NAME``: the raw body, streamed (never read into
  memory, and not bound by the 64 KiB limit of JSON bodies) through
  :meth:`~.storage.files.FileStore.stage` into a temporary file, then placed
  at its content address and recorded in one transaction
  (:class:`~.storage.file_records.FileRecords`). Refused with 413 before the
  body is read when ``Content-Length`` says it is too large, and cut with
  413 at the limit when it does not (chunked). Concurrent uploads are capped
  per user (429 ``rate_limited`` with ``Retry-After``) and for the server
  (503 ``unavailable`` with ``Retry-After``): :class:`UploadSlots`.
- ``GET /api/v1/files/{id}``: the bytes from disk with Range, through
  aiohttp's ``FileResponse`` (``sendfile``, 206, 416), ``nosniff``, and a
  ``Content-Disposition`` in the RFC 6266 ``filename*`` form. 404 for anyone
  :meth:`FileService.may_read` refuses.
- ``DELETE /api/v1/files/{id}``: the uploader drops an upload no message
  carries (204); its bytes go at once when nothing else holds them.

:meth:`FileService.run` (an aiohttp ``cleanup_ctx``) makes the folders,
removes temporary files a crash left, and sweeps every
``ServerConfig.file_sweep_seconds``: uploads no message carries after
``upload_expiry_seconds``, bytes no upload holds, leftovers.

Attaching uploads to messages (``"files":[ID,...]``) is the chat store's
part: it holds the uploads inside the message's write and releases them
inside a delete's (:mod:`.storage.file_records`). Here
:meth:`FileService.may_read` lets through the uploader and whoever can read
a room where a message carries the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from aiohttp import hdrs, web

from chat_protocol import ErrorCode, ProtocolError, dump_json
from chat_protocol.rules import INLINE_FILE_TYPES, format_ts

from .accounts import periodically
from .config import ServerConfig
from .priority import ChatFirst
from .service import RateLimited
from .storage.file_records import FileRecord, FileRecords, SweepReport
from .storage.files import FileStore, SharedFolderStore, TooLarge
from .storage.peewee_store import PeeweeChatStore

log = logging.getLogger(__name__)

PREFIX = "/api/v1/files"
NAME_MAX = 255
OCTET_STREAM = "application/octet-stream"
# type/subtype as RFC 9110 spells a media type (tokens), lower case.
_MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]{1,63}/[a-z0-9!#$&^_.+-]{1,127}")
# When a client refused for too many uploads at once may try again.
UPLOAD_RETRY_SECONDS = 2
# Blob rows looked up per query by the sweep (well below SQLite's variable limit).
SWEEP_BATCH = 500

Authorize = Callable[[web.Request], Awaitable[tuple[str, str]]]


def validate_file_name(name: object) -> str:
    """A file name as the contract allows it: 1-255 characters, no ``/``, ``\\`` or controls."""
    if not isinstance(name, str) or not name:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "give the file's name: ?name=NAME")
    if len(name) > NAME_MAX:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"a file name has at most {NAME_MAX} characters")
    if any(ch in "/\\" or unicodedata.category(ch) == "Cc" for ch in name):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, "a file name may not contain /, \\ or control characters"
        )
    return name


def media_type(request: web.Request) -> str:
    """The upload's declared type without parameters, lower case.

    ``application/octet-stream`` when none is given, and when what is given
    is no media type (aiohttp's parser already reads most such as that): the
    type only decides how a file is offered, and opaque bytes is the safe way.
    """
    declared = request.content_type.lower()
    return declared if _MEDIA_TYPE.fullmatch(declared) else OCTET_STREAM


def content_disposition(record: FileRecord) -> str:
    """``inline`` or ``attachment`` with the name in the RFC 6266 form any browser saves safely.

    ``filename*`` carries the exact name, percent-encoded UTF-8; the plain
    ``filename`` is an ASCII stand-in for clients that know no better.
    """
    kind = "inline" if record.type in INLINE_FILE_TYPES else "attachment"
    fallback = "".join(ch if " " <= ch < "\x7f" and ch not in '"\\%' else "_" for ch in record.name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(record.name, safe='')}"


class UploadSlots:
    """How many uploads run at once, per user and in total; a refusal beyond either.

    Counted per server process: each upload holds a connection, a temporary
    file and a few hundred KiB of buffer on the process that receives it.
    """

    def __init__(self, per_user: int, total: int) -> None:
        self.per_user = per_user
        self.total = total
        # Uploads running now, by user.
        self._running: Counter[str] = Counter()

    @property
    def running(self) -> int:
        """Uploads running now on this server."""
        return self._running.total()

    @contextlib.contextmanager
    def take(self, user: str) -> Iterator[None]:
        """Hold a slot for ``user``'s upload while the block runs."""
        if self._running[user] >= self.per_user:
            raise RateLimited(
                f"you are already sending {self.per_user} files; send this one when one is done",
                UPLOAD_RETRY_SECONDS,
            )
        if self.running >= self.total:
            raise web.HTTPServiceUnavailable(
                reason="the server is receiving too many files at once; try again shortly",
                headers={hdrs.RETRY_AFTER: str(UPLOAD_RETRY_SECONDS)},
            )
        self._running[user] += 1
        try:
            yield
        finally:
            self._running[user] -= 1
            if not self._running[user]:
                del self._running[user]


class FileService:
    """Uploads, downloads and the sweep, over the file records and the folder of bytes."""

    def __init__(
        self,
        config: ServerConfig,
        store: PeeweeChatStore,
        folder: FileStore | None = None,
        priority: ChatFirst | None = None,
    ) -> None:
        self.config = config
        # Whom upload bodies give way to: the chat service's (one per server).
        self.priority = priority or ChatFirst()
        self.folder = folder or SharedFolderStore(config.files_dir or config.data_dir / "files")
        self.records = FileRecords(store, self.folder)
        # The store refuses to attach an upload older than this that no message carries.
        store.upload_expiry_seconds = config.upload_expiry_seconds
        self.slots = UploadSlots(config.max_uploads_per_user, config.max_uploads_total)

    # Uploads ----------------------------------------------------------------

    async def upload(
        self, user: str, name: str, type_: str, body: AsyncIterator[bytes]
    ) -> FileRecord:
        """Receive ``body`` (at most ``max_file_bytes``) and record it as ``user``'s upload."""
        limit = self.config.max_file_bytes
        with self.slots.take(user):
            try:
                staged = await self.folder.stage(body, limit)
            except TooLarge:
                raise ProtocolError(
                    ErrorCode.TOO_LARGE, f"a file may have at most {limit} bytes"
                ) from None
            except TimeoutError:
                raise ProtocolError(
                    ErrorCode.REQUEST_TIMEOUT, "the file stopped arriving; send it again"
                ) from None
            except ConnectionError:
                raise  # the client went away: nothing of ours failed
            except OSError as exc:
                raise self._not_stored(exc) from None
            try:
                return await self.records.add(staged, name, type_, user)
            except OSError as exc:
                raise self._not_stored(exc) from None
            finally:
                # Placed by now unless the record failed; then it goes here.
                await asyncio.to_thread(self.folder.discard, staged)

    @staticmethod
    def _not_stored(exc: OSError) -> ProtocolError:
        log.warning("an upload could not be stored: %s", exc)
        return ProtocolError(
            ErrorCode.UNAVAILABLE, "the server could not store the file; try again"
        )

    # Reading and deleting ---------------------------------------------------

    async def may_read(self, user: str, record: FileRecord) -> bool:
        """Whether ``user`` may fetch ``record``: its uploader, or a reader of a room carrying it.

        Asked of the database on every download, so that leaving a private
        room, or the message's deletion, takes effect at once. Everyone else
        gets the same 404 as for an unknown id.
        """
        return record.uploader == user or await self.records.carried_where(record.id, user)

    async def readable(self, user: str, file_id: str) -> FileRecord:
        """The upload ``user`` may fetch, else ``not_found``."""
        record = await self.records.get(file_id)
        if record is None or not await self.may_read(user, record):
            raise ProtocolError(ErrorCode.NOT_FOUND, "there is no file with that id for you")
        return record

    async def delete(self, user: str, file_id: str) -> None:
        """Drop ``user``'s upload that no message carries, else ``not_found``."""
        if not await self.records.delete_upload(file_id, user):
            raise ProtocolError(
                ErrorCode.NOT_FOUND, "you have no upload with that id that no message carries"
            )

    # The sweep --------------------------------------------------------------

    async def sweep(self, now: datetime | None = None) -> SweepReport:
        """Remove expired uploads, bytes nothing holds, and a crash's leftovers.

        ``now``: the time uploads expire against (default: the clock's), so
        that a test can jump a day ahead.
        """
        now = now or datetime.now(UTC)
        expired_before = format_ts(now - timedelta(seconds=self.config.upload_expiry_seconds))
        report = await self.records.sweep(expired_before)
        leftover = self.config.file_leftover_seconds
        temporary = await asyncio.to_thread(self.folder.sweep_temporary, leftover)
        old = [
            stored.address
            for stored in await asyncio.to_thread(lambda: list(self.folder.stored()))
            if stored.age >= leftover
        ]
        known: set[str] = set()
        for start in range(0, len(old), SWEEP_BATCH):
            known |= await self.records.known_blobs(old[start : start + SWEEP_BATCH])
        unheld = [address for address in old if address not in known]
        orphans = sum(
            [await asyncio.to_thread(self.folder.remove_if_stale, a, leftover) for a in unheld]
        )
        swept = SweepReport(report.expired_uploads, report.removed_bytes + orphans, temporary)
        if swept.expired_uploads or swept.removed_bytes or swept.temporary:
            log.info(
                "file sweep: %d expired upload(s), %d file(s) of bytes and %d unfinished "
                "upload(s) removed",
                swept.expired_uploads,
                swept.removed_bytes,
                swept.temporary,
            )
        return swept

    async def run(self, _app: web.Application) -> AsyncIterator[None]:
        """``cleanup_ctx``: make the folders, clear a crash's leftovers, then sweep periodically."""
        await asyncio.to_thread(self.folder.open)
        # In the data folder, the files are this server's alone: whatever is
        # being received there was cut off when it last stopped. A folder of
        # its own (--files-dir) may be shared, and another server's uploads
        # in flight must stay: there only what nobody wrote to for a while goes.
        shared = self.config.files_dir is not None
        leftover = self.config.file_leftover_seconds if shared else 0.0
        await asyncio.to_thread(self.folder.sweep_temporary, leftover)
        try:
            async with periodically((self.config.file_sweep_seconds, "file sweep", self.sweep)):
                yield
        finally:
            await asyncio.to_thread(self.folder.close)


FILES_KEY = web.AppKey("files", FileService)


# The routes ------------------------------------------------------------------


async def _body(request: web.Request, idle: float, priority: ChatFirst) -> AsyncIterator[bytes]:
    """The request body as it arrives; TimeoutError after ``idle`` s without a byte.

    Before each chunk, the upload gives way to chat (:class:`.priority.ChatFirst`):
    not reading leaves the bytes with TCP, which holds the client back. The
    time given way is not counted as the client's silence.

    One network chunk at a time as aiohttp received it (``readchunk``), never
    joined: ``readany`` joins every chunk buffered since the last read into
    one new bytes object, a copy of up to ~1 MiB made on the event loop while
    chat waits (most of what the loop did for uploads in a profile; see
    bench/profiles.md, issue 13). The file thread hashes and writes the
    chunks as they are.
    """
    size = 0
    while True:
        await priority.turn(size)
        async with asyncio.timeout(idle):
            chunk, boundary = await request.content.readchunk()
        size = len(chunk)
        if not chunk:
            if boundary:
                continue  # the end of a chunk of a chunked body, not of the body
            return
        yield chunk


def add_routes(app: web.Application, authorize: Authorize) -> None:
    """Register the ``/api/v1/files`` routes on ``app``; ``authorize``: the Bearer check."""

    async def upload(request: web.Request) -> web.Response:
        user, _ = await authorize(request)
        files = request.app[FILES_KEY]
        name = validate_file_name(request.query.get("name"))
        type_ = media_type(request)
        limit = files.config.max_file_bytes
        declared = request.content_length
        if declared is not None and declared > limit:
            # Refused on its word, before a byte of the body is read.
            raise ProtocolError(ErrorCode.TOO_LARGE, f"a file may have at most {limit} bytes")
        body = _body(request, files.config.header_timeout, files.priority)
        try:
            record = await files.upload(user, name, type_, body)
        except ConnectionError:
            # The client went away mid-body: nobody is left to answer.
            raise web.HTTPBadRequest(reason="the upload was cut off") from None
        return web.Response(
            text=dump_json(record.to_wire()), status=201, content_type="application/json"
        )

    async def download(request: web.Request) -> web.StreamResponse:
        user, _ = await authorize(request)
        files = request.app[FILES_KEY]
        record = await files.readable(user, request.match_info["id"])
        headers = {
            hdrs.CONTENT_TYPE: record.type if record.type in INLINE_FILE_TYPES else OCTET_STREAM,
            hdrs.CONTENT_DISPOSITION: content_disposition(record),
            # The browser must not second-guess the type (an "image" that is HTML).
            "X-Content-Type-Options": "nosniff",
            # Even shown in place, the file may run nothing and load nothing.
            "Content-Security-Policy": "default-src 'none'; sandbox",
            hdrs.CACHE_CONTROL: "private",
        }
        return web.FileResponse(files.folder.path(record.sha256), headers=headers)

    async def delete(request: web.Request) -> web.Response:
        user, _ = await authorize(request)
        await request.app[FILES_KEY].delete(user, request.match_info["id"])
        return web.Response(status=204)

    app.router.add_post(PREFIX, upload)
    app.router.add_get(f"{PREFIX}/{{id}}", download)
    app.router.add_delete(f"{PREFIX}/{{id}}", delete)
