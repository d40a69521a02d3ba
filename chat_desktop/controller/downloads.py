"""Downloads: the files of messages fetched into the account's downloads cache, once each.

The window asks for a file (to show a thumbnail, to open or save it) with
:meth:`Downloads.fetch`; the answer is a local path, through ``on_done``:
at once when the file is already in the
:class:`~chat_desktop.storage.downloads.DownloadCache`, else after
``GET /api/v1/files/{id}`` streamed it there, with ``on_progress`` after
every block. Asking again while a download runs adds nothing. A file that
is gone (its message deleted) or not readable for me ends in ``on_failed``
with the protocol code, which the Qt face words. Plain asyncio, no Qt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from chat_desktop.storage.downloads import DownloadCache
from chat_desktop.transport.files import FileClient
from chat_desktop.transport.http_api import ApiError

from .entries import FileRef
from .phrases import refusal_reason
from .tasks import TaskGroup

log = logging.getLogger(__name__)


class Downloads:
    """Fetch files of messages into the downloads cache; one download per file at a time.

    Callbacks:
        on_progress(file_id, done, total): bytes arrived so far.
        on_done(file_id, path): the file is on disk at ``path``.
        on_failed(file_id, reason): a protocol code or the transport's sentence.
    """

    def __init__(
        self,
        cache: DownloadCache,
        client: Callable[[], FileClient],
        tasks: TaskGroup,
        *,
        on_progress: Callable[[str, int, int], None],
        on_done: Callable[[str, str], None],
        on_failed: Callable[[str, str], None],
    ) -> None:
        self.cache = cache
        self._client = client
        self._tasks = tasks
        self._on_progress = on_progress
        self._on_done = on_done
        self._on_failed = on_failed
        # file id -> its running download.
        self._running: dict[str, asyncio.Task[None]] = {}

    def fetch(self, ref: FileRef) -> None:
        """Make ``ref`` available on disk; the path comes through ``on_done``."""
        try:
            kept = self.cache.get(ref.id, ref.type)
        except ValueError:
            # Not an id the server draws: nothing to ask it for.
            self._on_failed(ref.id, "not_found")
            return
        if kept is not None:
            self._on_done(ref.id, str(kept))
            return
        if ref.id in self._running:
            return
        task = self._tasks.spawn(self._download(ref))
        if task is not None:
            self._running[ref.id] = task
            task.add_done_callback(lambda _: self._running.pop(ref.id, None))

    def cancel(self, file_id: str) -> None:
        """Stop a running download (its partial file is removed)."""
        task = self._running.pop(file_id, None)
        if task is not None:
            task.cancel()

    async def _download(self, ref: FileRef) -> None:
        try:
            with self.cache.receive(ref.id, ref.type) as into:
                async with self._client() as client:
                    await client.download(
                        ref.id,
                        into,
                        on_progress=lambda done, total: self._on_progress(ref.id, done, total),
                    )
        except ApiError as exc:
            self._on_failed(ref.id, refusal_reason(exc.code or "", str(exc)))
            return
        except OSError as exc:
            log.warning("a download could not be written: %s", exc)
            self._on_failed(ref.id, str(exc))
            return
        self._on_done(ref.id, str(self.cache.path_for(ref.id, ref.type)))
