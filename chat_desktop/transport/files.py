"""Files over HTTP as the app moves them: upload from disk, download to disk, both streamed.

Version 2's Files routes (docs/protocol.md): ``POST /api/v1/files?name=NAME``
with the file's bytes as the body, ``DELETE /api/v1/files/{id}`` for an
upload no message carries (a cancelled one), ``GET /api/v1/files/{id}`` for
the bytes, and the limit in ``GET /api/v1/health`` (``max_file_bytes``).

Neither direction holds a file in memory: an upload reads the file in
blocks as the connection takes them (``Content-Length`` is sent, so a
server refuses a file too large before any byte of it), a download writes
each block as it arrives. Each reports its progress after every block; to
cancel one, cancel the task that awaits it (the connection is dropped).
Failures are :class:`~.http_api.ApiError`: status 0 when no answer came,
the HTTP status and the protocol ``code`` otherwise (413 ``too_large`` is
final: the same bytes will never fit).
"""

from __future__ import annotations

import asyncio
import mimetypes
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Self
from urllib.parse import quote

from chat_protocol import ErrorCode
from chat_protocol.errors import CODE_OF_STATUS

from .http_api import ApiError, ApiResponse, ApiSession, _json_object

# Bytes read from disk or the network per step: big enough that a 25 MiB
# file is a hundred steps, small enough that progress moves smoothly.
BLOCK = 256 * 1024
# Seconds without a byte moving before a transfer counts as broken.
IDLE_LIMIT = 60.0
OCTET_STREAM = "application/octet-stream"

Progress = Callable[[int, int], None]


class UploadStopped(Exception):
    """The upload was stopped before its last byte left (``upload(stop=...)``):
    the server got a cut-off body, which it discards."""


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """The server's answer to an upload."""

    id: str
    name: str
    size: int
    type: str
    sha256: str


def file_type(path: Path) -> str:
    """The media type an upload is declared as: guessed from the name's extension."""
    guessed, _ = mimetypes.guess_type(path.name, strict=False)
    return guessed or OCTET_STREAM


class FileClient:
    """Upload, download and delete files of one account on one server.

    An async context manager (``async with FileClient(...) as client``): it
    closes its HTTP session on the way out. The app makes one per transfer,
    as transfers are few and long, so nothing stays open between them.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        idle_limit: float = IDLE_LIMIT,
    ) -> None:
        self._api = ApiSession(base_url, token=token, ssl_context=ssl_context)
        self._idle_limit = idle_limit
        # max_file_bytes as the server's health check said it (None: not asked yet).
        self._limit: int | None = None

    async def limit(self) -> int | None:
        """The server's upload limit in bytes; None when it does not say (an older server)."""
        if self._limit is None:
            response = await self._api.request("GET", "/api/v1/health")
            value = response.body.get("max_file_bytes") if response.ok else None
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                self._limit = value
        return self._limit

    async def upload(
        self,
        path: Path,
        *,
        name: str | None = None,
        on_progress: Progress | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> UploadedFile:
        """Send the file at ``path`` (named ``name``, else its own name); the server's record.

        OSError when the file cannot be read; ApiError when the server refuses
        it or does not answer. ``stop`` is asked before each block: once it
        says True, the body is cut off and UploadStopped raised. It is never
        asked after the last block, so an upload is either cut off (nothing
        stored) or answered (the caller learns the id and can delete it):
        cancelling the request task instead could lose the answer of an upload
        the server already stored.
        """
        size = await asyncio.to_thread(lambda: path.stat().st_size)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            stopped = False

            def stopping() -> bool:
                nonlocal stopped
                stopped = stopped or (stop is not None and stop())
                return stopped

            body = _blocks(handle, size, on_progress, stopping)
            headers = {"Content-Type": file_type(path), "Content-Length": str(size)}
            params = {"name": name or path.name}
            async with self._api.exchange(
                "POST",
                "/api/v1/files",
                data=body,
                headers=headers,
                params=params,
                idle_limit=self._idle_limit,
            ) as response:
                answer = ApiResponse(response.status, _json_object(await self._api.read(response)))
        except ApiError:
            if stopped:
                raise UploadStopped(path.name) from None
            raise
        finally:
            await asyncio.to_thread(handle.close)
        if answer.status != 201:
            raise _refused(answer, "The server did not take the file")
        fields = answer.body
        try:
            return UploadedFile(
                str(fields["id"]),
                str(fields["name"]),
                int(fields["size"]),
                str(fields["type"]),
                str(fields["sha256"]),
            )
        except (KeyError, TypeError, ValueError):
            raise ApiError(answer.status, "The server sent an unexpected answer") from None

    async def delete(self, file_id: str) -> None:
        """Drop an upload no message carries; one the server no longer has counts as dropped."""
        response = await self._api.request("DELETE", f"/api/v1/files/{quote(file_id, safe='')}")
        if not response.ok and response.status != 404:
            raise _refused(response, "The server did not drop the file")

    async def download(
        self, file_id: str, into: BinaryIO, *, on_progress: Progress | None = None
    ) -> int:
        """Write the bytes of ``file_id`` into ``into``; how many were written.

        ApiError 404 (``not_found``) for a file that is gone or not for me.
        """
        path = f"/api/v1/files/{quote(file_id, safe='')}"
        async with self._api.exchange("GET", path, idle_limit=self._idle_limit) as response:
            if response.status != 200:
                body = _json_object(await self._api.read(response))
                raise _refused(ApiResponse(response.status, body), "The file could not be fetched")
            total = response.content_length or 0
            done = 0
            async for chunk in self._api.chunks(response, BLOCK):
                await asyncio.to_thread(into.write, chunk)
                done += len(chunk)
                if on_progress is not None:
                    on_progress(done, max(total, done))
            if total and done != total:
                raise ApiError(0, "The file arrived incomplete")
            return done

    async def close(self) -> None:
        await self._api.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()


async def _blocks(
    handle: BinaryIO, size: int, on_progress: Progress | None, stop: Callable[[], bool]
) -> AsyncIterator[bytes]:
    """The file's bytes in blocks, read off the loop's thread, reporting what went;
    cut off (the request fails) when ``stop()`` says so before a block."""
    sent = 0
    while sent < size:
        if stop():
            raise UploadStopped("stopped")
        block = await asyncio.to_thread(handle.read, min(BLOCK, size - sent))
        if not block:
            # The file shrank while being sent: the Content-Length would lie.
            raise OSError("the file changed while it was being sent")
        sent += len(block)
        yield block
        if on_progress is not None:
            on_progress(sent, size)


def _refused(response: ApiResponse, fallback: str) -> ApiError:
    code: Any = response.server_code() or CODE_OF_STATUS.get(response.status)
    message = response.server_message() or fallback
    if response.status == 413:
        code = ErrorCode.TOO_LARGE
    return ApiError(response.status, message, code=code, retry_after=response.retry_after)
