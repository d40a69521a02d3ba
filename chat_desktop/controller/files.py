"""ChatFiles: the Qt face of everything files add to one account's chat (issue 13).

The :class:`~.chat.ChatController` makes one, as ``controller.files``; the
widgets send a message with files through it (:meth:`ChatFiles.send`),
cancel an upload, fetch a file, and listen to its signals. It owns the
:class:`~.uploads.UploadQueue` of messages whose files are going up and the
:class:`~.downloads.Downloads` into the account's
:class:`~chat_desktop.storage.downloads.DownloadCache`, each transfer over
its own :class:`~chat_desktop.transport.files.FileClient` for the server the
connection uses now, and turns their callbacks into signals. Both share the
cache: a picture I send is copied into it once up, so my own window shows
it without downloading it back.

It hooks itself in where files touch a message's way, so that the
controller needs no more than to make it: the outbox asks the queue which
files a message carries, dresses its entries with them and reports what was
stored or refused (:meth:`~.outbox.Outbox.carry_files`); the connection
tells it when the link is up (:meth:`~.connection.Connection.watch`), to
learn the server's upload limit and resume what waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QLocale, QObject, Signal, SignalInstance

from chat_desktop.storage import ChatCache
from chat_desktop.storage.downloads import DownloadCache, downloads_folder
from chat_desktop.storage.private import private_dir, write_private
from chat_desktop.transport.files import FileClient
from chat_desktop.transport.state import LinkKind, LinkState
from chat_protocol import rules

from .connection import Connection
from .downloads import Downloads
from .entries import FileRef, MessageEntry
from .outbox import Outbox
from .tasks import TaskGroup
from .uploads import UploadQueue
from .wording import say


class Chat(Protocol):
    """What ChatFiles uses of its :class:`~.chat.ChatController`."""

    messagesChanged: SignalInstance
    problem: SignalInstance

    @property
    def username(self) -> str: ...


class ChatFiles(QObject):
    """Uploads and downloads of one account, with a signal for each step.

    Signals:
        uploadProgress(str, int, int): a message's files going up: its
            client_id, bytes sent, bytes in all. One bar per message.
        uploadCancelled(str): the message ``client_id`` was cancelled while its
            files went up: its row goes.
        downloadProgress(str, int, int): file id, bytes arrived, bytes in all.
        downloaded(str, str): file id and the local path it is at now.
        downloadFailed(str, str): file id and why, as a sentence for the user.
    """

    uploadProgress = Signal(str, int, int)
    uploadCancelled = Signal(str)
    downloadProgress = Signal(str, int, int)
    downloaded = Signal(str, str)
    downloadFailed = Signal(str, str)

    def __init__(
        self,
        cache: ChatCache,
        tasks: TaskGroup,
        connection: Connection,
        outbox: Outbox,
        token: str,
        chat: Chat,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._connection = connection
        self._outbox = outbox
        self._token = token
        self._chat = chat
        # Pasted pictures wait here until sent (a file the queue can read after a restart).
        self._pasted = cache.path.with_name(cache.path.stem + "-pasted")
        kept = DownloadCache(downloads_folder(cache.path))
        self.uploads = UploadQueue(
            cache,
            self.client,
            tasks,
            me=chat.username,
            on_change=lambda entry: chat.messagesChanged.emit(entry.room, [entry]),
            on_progress=self.uploadProgress.emit,
            on_ready=self._uploaded,
            on_cancelled=self.uploadCancelled.emit,
            scratch=self._pasted,
            kept=kept,
        )
        self.downloads = Downloads(
            kept,
            self.client,
            tasks,
            on_progress=self.downloadProgress.emit,
            on_done=self.downloaded.emit,
            on_failed=lambda file_id, why: self.downloadFailed.emit(file_id, say(why)),
        )
        self._tasks = tasks
        outbox.carry_files(self.uploads)
        connection.watch(self._link_state)

    def client(self) -> FileClient:
        """A file client (for one transfer) to the server the connection uses now."""
        url, context = self._connection.server_url, self._connection.ssl_context
        return FileClient(url, self._token, ssl_context=context)

    @property
    def max_file_bytes(self) -> int | None:
        """The server's upload limit once known (its health check, asked on connecting)."""
        return self.uploads.limit

    def send(
        self, room: str, text: str, files: Sequence[Path], reply_to: int | None = None
    ) -> MessageEntry | None:
        """Queue my message with ``files`` (the text may be empty): they go up, then it goes.

        None, after a ``problem`` saying why, when it cannot go at all: a
        file above the server's limit (refused before a byte is sent), a
        file that cannot be read, a text the protocol refuses.
        """
        try:
            text = rules.normalize_text(text, may_be_empty=bool(files))
            large = self.uploads.too_large(files)
        except rules.ValidationError as exc:
            self._chat.problem.emit(say(str(exc)[:1].upper() + str(exc)[1:] + "."))
            return None
        except OSError as exc:
            unreadable = self.tr("{name} cannot be read: {reason}")
            name = Path(exc.filename or "").name
            self._chat.problem.emit(unreadable.format(name=name, reason=exc.strerror or str(exc)))
            return None
        if large:
            too_large = self.tr("{name} is too large to send: the server takes up to {limit}.")
            limit = QLocale().formattedDataSize(self.uploads.limit or 0)
            self._chat.problem.emit(too_large.format(name=large[0][0].name, limit=limit))
            return None
        self.uploads.me = self._chat.username
        return self.uploads.add(room, text, list(files), reply_to)

    def keep_pasted(self, data: bytes, suffix: str = ".png") -> Path:
        """Keep a pasted picture's bytes as a private file to attach; its path.

        Named by the time it was pasted (``Pasted 2026-11-30 21-04-05.png``),
        which is also the name the others see.
        """
        private_dir(self._pasted)
        name = self.tr("Pasted") + datetime.now().strftime(" %Y-%m-%d %H-%M-%S")
        path = self._pasted / f"{name}{suffix}"
        count = 1
        while path.exists():
            count += 1
            path = self._pasted / f"{name} ({count}){suffix}"
        write_private(path, data)
        return path

    def cancel_upload(self, client_id: str) -> bool:
        """Stop a message whose files are going up (uploadCancelled follows); False if too late."""
        return self.uploads.cancel(client_id)

    def pending(self, room: str) -> list[MessageEntry]:
        """My messages of ``room`` whose files are still going up (not in the outbox yet)."""
        return self.uploads.entries(room)

    def download(self, file: FileRef) -> None:
        """Fetch a file of a message: downloaded(id, path) follows (at once when kept)."""
        self.downloads.fetch(file)

    def _link_state(self, state: LinkState) -> None:
        if state.kind in (LinkKind.CONNECTED, LinkKind.POLLING):
            self._tasks.spawn(self.uploads.learn_limit())
            self.uploads.resume()

    def _uploaded(self, client_id: str, room: str, text: str, reply_to: int | None) -> None:
        """A message's files are all up: it goes on like any other (again, after unknown_file)."""
        if client_id in self._outbox:
            self._outbox.retry(client_id)
        else:
            self._outbox.add(room, text, reply_to, client_id=client_id)
