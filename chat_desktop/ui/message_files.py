"""MessageFiles: what the files shown in the conversation look like now, and Open, Save, View.

The message list paints each file of a message as a box
(:mod:`.file_cards`); what a box shows depends on things that arrive later
and elsewhere: a picture's bytes (through the controller's
:class:`~chat_desktop.controller.files.ChatFiles`, into the downloads cache),
its thumbnail (decoded off the UI thread by a
:class:`~.thumbnails.ThumbnailLoader`), how far a download is, why one
failed. One MessageFiles per window keeps all of that by file id and hands
the delegate a :class:`~.file_cards.FileLook` per box when it paints
(:meth:`MessageFiles.look`).

Painting a picture is what asks for it: the first look at a picture not
seen before queues its download (sent once the paint is over), so only
rows that come into view cost a download and a decode. A failure is kept
until the user clicks the box again: nothing is asked again by itself, so
a server that cannot be reached is never asked in a loop (every paint would
otherwise start a new attempt). Downloads run as the controller's tasks and
stop when it closes; decodes still queued are dropped when the window goes
(:meth:`MessageFiles.close`).

The delegate reports clicks (:meth:`MessageFiles.activate`), and a
message's context menu lists the same per file (:meth:`MessageFiles.add_to_menu`,
for the keyboard): a picture
opens the :class:`~.image_viewer.ImageViewer`; Open downloads the file and
hands it to the desktop (:class:`QDesktopServices`), except for kinds that
would run as programs; Save asks where (:class:`QFileDialog`) and copies the
downloaded bytes there.
"""

from __future__ import annotations

import shutil
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from chat_desktop.controller.entries import FileRef, MessageEntry
from chat_desktop.controller.files import ChatFiles

from .file_cards import FileLook, file_icon, is_picture
from .image_viewer import ImageViewer
from .thumbnails import THUMBNAIL_SIZE, ThumbnailLoader

# Thumbnails kept decoded (320 x 200 x 4 bytes, 250 KB each): more than a
# tall window shows at once. One dropped is decoded again from the
# downloads cache when its row comes back into view.
THUMBNAILS_KEPT = 48
# Files of these kinds (by the extension the downloads cache gives them)
# would run as programs if handed to the desktop: Open refuses them.
RUNS_AS_PROGRAM = frozenset(
    {
        ".app",
        ".appimage",
        ".application",
        ".bash",
        ".bat",
        ".cmd",
        ".command",
        ".com",
        ".cpl",
        ".desktop",
        ".exe",
        ".hta",
        ".inf",
        ".jar",
        ".js",
        ".jse",
        ".lnk",
        ".msc",
        ".msi",
        ".msp",
        ".pif",
        ".ps1",
        ".psm1",
        ".py",
        ".reg",
        ".run",
        ".scr",
        ".sh",
        ".url",
        ".vbe",
        ".vbs",
        ".wsf",
        ".wsh",
    }
)


class MessageFiles(QObject):
    """The state of every file on screen, and the actions on them (see the module docstring).

    Signals:
        changed(): a file looks different now (progress, a thumbnail, a failure): repaint.
        notice(str): a sentence for the status bar (a file saved, or why not).
    """

    changed = Signal()
    notice = Signal(str)

    def __init__(self, files: ChatFiles, window: QWidget) -> None:
        super().__init__(window)
        self._files = files
        # The parent of the dialogs (Save as, the viewer).
        self._window = window
        # Thumbnails are decoded with as many pixels as the screen shows in their box
        # (twice as many each way on a HiDPI screen), so that they are sharp there too.
        self._ratio = max(1.0, window.devicePixelRatioF())
        self.thumbnails = ThumbnailLoader(box=THUMBNAIL_SIZE * self._ratio, parent=self)
        self.thumbnails.ready.connect(self._decoded)
        self.thumbnails.failed.connect(self._not_decoded)
        # file id -> its thumbnail, least recently painted first.
        self._thumbs: OrderedDict[str, QPixmap] = OrderedDict()
        # file id -> the share downloaded, while a download runs.
        self._progress: dict[str, float] = {}
        # file id -> why it could not be fetched or shown (kept until clicked again).
        self._failed: dict[str, str] = {}
        # Pictures that were downloaded but would not decode: trying again cannot help them.
        self._undecodable: set[str] = set()
        # Pictures whose thumbnail is on its way (download, then decode).
        self._wanted: set[str] = set()
        # Pictures first painted since the last turn of the loop: fetched after the paint.
        self._queue: list[FileRef] = []
        # file id -> what to do with the local path once downloaded (view, open, save).
        self._after: dict[str, list[Callable[[str], None]]] = {}
        # (name suffix, type) -> its icon: looked up once, not at every paint.
        self._icons: dict[tuple[str, str], QIcon] = {}
        # Whether the connection is up (a download failed while down is tried again once it is).
        self._link_up = False
        # The picture open in the viewer, if any (tests look at it).
        self.viewer: ImageViewer | None = None
        self._closed = False
        files.downloadProgress.connect(self._progressed)
        files.downloaded.connect(self._downloaded)
        files.downloadFailed.connect(self._download_failed)

    # ------------------------------------------------------------ painting

    def look(self, ref: FileRef) -> FileLook:
        """What the box of ``ref`` shows now; the first look at a picture asks for it."""
        if not ref.id:
            # Mine, still going up: only its name and size are known.
            return FileLook(icon=None if is_picture(ref) else self._icon(ref))
        failed = self._failed.get(ref.id, "")
        progress = self._progress.get(ref.id)
        if not is_picture(ref):
            return FileLook(progress, None, failed, self._icon(ref))
        image = self._thumbs.get(ref.id)
        if image is not None:
            self._thumbs.move_to_end(ref.id)
        elif not failed and ref.id not in self._wanted:
            self._want(ref)
        return FileLook(progress, image, failed)

    def thumbnail(self, file_id: str) -> QPixmap | None:
        """The decoded thumbnail of a picture, None while there is none."""
        return self._thumbs.get(file_id)

    def failure(self, file_id: str) -> str:
        """Why a file could not be fetched or shown; "" when nothing failed."""
        return self._failed.get(file_id, "")

    def _icon(self, ref: FileRef) -> QIcon:
        key = (Path(ref.name).suffix.lower(), ref.type)
        found = self._icons.get(key)
        if found is None:
            found = self._icons[key] = file_icon(ref.name, ref.type)
        return found

    def _want(self, ref: FileRef) -> None:
        self._wanted.add(ref.id)
        self._queue.append(ref)
        if len(self._queue) == 1:
            # Not from inside paint: a download already in the cache answers
            # at once, and its repaint would come in the middle of this one.
            QTimer.singleShot(0, self, self._fetch_wanted)

    def _fetch_wanted(self) -> None:
        queue, self._queue = self._queue, []
        if self._closed:
            return
        for ref in queue:
            self._files.download(ref)

    # ------------------------------------------------------------- actions

    def activate(self, ref: FileRef, part: str) -> None:
        """A click on a file's box: "picture", "open" or "save" (see FileBox.part_at)."""
        if not ref.id:
            return
        if part == "picture":
            if ref.id in self._failed:
                # "Could not load": try again, once, because the user asked.
                self._failed.pop(ref.id)
                self._undecodable.discard(ref.id)
                self._thumbs.pop(ref.id, None)
                self._want(ref)
                self.changed.emit()
            else:
                self.view(ref)
        elif part == "open":
            self.open(ref)
        elif part == "save":
            self.save(ref)

    def view(self, ref: FileRef) -> None:
        """Show the picture ``ref`` in the viewer (downloaded first if need be)."""
        self._then(ref, lambda path: self._show(ref, path))

    def open(self, ref: FileRef) -> None:
        """Download ``ref`` and hand it to the desktop's program for its kind."""
        self._then(ref, lambda path: self._open(ref, path))

    def save(self, ref: FileRef) -> None:
        """Ask where to save ``ref`` (named as sent), then download and copy it there."""
        folder = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DownloadLocation
        ) or str(Path.home())
        # The protocol forbids / and \ in names; the dialog gets a bare name all the same.
        name = Path(ref.name).name
        suggested = str(Path(folder) / (name if name not in ("", ".", "..") else ref.id))
        target, _ = QFileDialog.getSaveFileName(self._window, self.tr("Save file"), suggested)
        if target:
            self._then(ref, lambda path: self._copy(ref, path, Path(target)))

    def add_to_menu(self, entry: MessageEntry, menu: QMenu) -> None:
        """A message's context menu gets View or Open, and Save, for each of its files
        (the way there from the keyboard: the menu key on a row)."""
        files = [ref for ref in entry.files if ref.id] if not entry.deleted else []
        if not files:
            return
        menu.addSeparator()
        for ref in files:
            # "&" would be a menu mnemonic: doubled, it shows as itself.
            name = ref.name.replace("&", "&&")
            if is_picture(ref):
                view = menu.addAction(self.tr("View {name}").format(name=name))
                view.triggered.connect(lambda _checked=False, ref=ref: self.view(ref))
            else:
                opened = menu.addAction(self.tr("Open {name}").format(name=name))
                opened.triggered.connect(lambda _checked=False, ref=ref: self.open(ref))
            save = menu.addAction(self.tr("Save {name}…").format(name=name))
            save.triggered.connect(lambda _checked=False, ref=ref: self.save(ref))

    def link_changed(self, up: bool) -> None:
        """The connection came up (or went): downloads that failed get one more try.

        Once per connection, not per paint: a picture that failed offline
        loads when the server is back, and one the server refuses (gone,
        not mine to read) is asked once more, no more.
        """
        was_up, self._link_up = self._link_up, up
        if not up or was_up:
            return
        retried = [file_id for file_id in self._failed if file_id not in self._undecodable]
        for file_id in retried:
            del self._failed[file_id]
        if retried:
            self.changed.emit()

    def close(self) -> None:
        """The window closes: no more downloads asked, decodes stopped, the viewer closed."""
        self._closed = True
        self._after.clear()
        self.thumbnails.close()
        if self.viewer is not None:
            self.viewer.close()

    def _then(self, ref: FileRef, action: Callable[[str], None]) -> None:
        """Run ``action`` with the local path of ``ref`` once it is downloaded."""
        if self._closed:
            return
        self._failed.pop(ref.id, None)
        self._after.setdefault(ref.id, []).append(action)
        self.changed.emit()
        # At once when the file is in the downloads cache.
        self._files.download(ref)

    def _show(self, ref: FileRef, path: str) -> None:
        if self.viewer is not None:
            self.viewer.close()
        viewer = self.viewer = ImageViewer(ref.name, path, self._thumbs.get(ref.id), self._window)
        viewer.saveRequested.connect(lambda: self.save(ref))
        viewer.finished.connect(lambda _result: self._viewer_closed(viewer))
        viewer.show()

    def _viewer_closed(self, viewer: ImageViewer) -> None:
        if self.viewer is viewer:
            self.viewer = None
        viewer.deleteLater()

    def _open(self, ref: FileRef, path: str) -> None:
        if Path(path).suffix.lower() in RUNS_AS_PROGRAM:
            self.notice.emit(
                self.tr(
                    "{name} could run as a program: save it, and open it yourself if you trust it."
                ).format(name=ref.name)
            )
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(path)):
            self.notice.emit(self.tr("No program here opens {name}.").format(name=ref.name))

    def _copy(self, ref: FileRef, path: str, target: Path) -> None:
        try:
            # A few MB at most (the server's limit); the user's umask sets its mode.
            shutil.copyfile(path, target)
        except OSError as exc:
            self.notice.emit(
                self.tr("{name} could not be saved: {reason}").format(
                    name=ref.name, reason=exc.strerror or str(exc)
                )
            )
            return
        self.notice.emit(self.tr("Saved {name}").format(name=target.name))

    # ------------------------------------------------------ what comes back

    def _progressed(self, file_id: str, done: int, total: int) -> None:
        self._progress[file_id] = done / total if total > 0 else 0.0
        self.changed.emit()

    def _downloaded(self, file_id: str, path: str) -> None:
        self._progress.pop(file_id, None)
        if self._closed:
            return
        if file_id in self._wanted and file_id not in self._thumbs:
            self.thumbnails.request(file_id, path)
        for action in self._after.pop(file_id, []):
            action(path)
        self.changed.emit()

    def _download_failed(self, file_id: str, why: str) -> None:
        self._progress.pop(file_id, None)
        self._wanted.discard(file_id)
        self._failed[file_id] = why
        if self._after.pop(file_id, None):
            self.notice.emit(
                self.tr("The file could not be downloaded: {reason}").format(reason=why)
            )
        self.changed.emit()

    def _decoded(self, file_id: str, image: QImage) -> None:
        self._wanted.discard(file_id)
        pixmap = QPixmap.fromImage(image)
        # Device pixels per point: what brings it into the box, never more than the
        # screen has (a small picture shows at its own size).
        over = max(image.width() / THUMBNAIL_SIZE.width(), image.height() / THUMBNAIL_SIZE.height())
        pixmap.setDevicePixelRatio(min(self._ratio, max(1.0, over)))
        self._thumbs[file_id] = pixmap
        while len(self._thumbs) > THUMBNAILS_KEPT:
            self._thumbs.popitem(last=False)
        self.changed.emit()

    def _not_decoded(self, file_id: str, why: str) -> None:
        self._wanted.discard(file_id)
        self._undecodable.add(file_id)
        # The decoder's reason is for a log, not a person: say it plainly.
        if why.startswith("too many pixels"):
            self._failed[file_id] = self.tr("The picture is too large to show.")
        else:
            self._failed[file_id] = self.tr("The picture could not be read.")
        self.changed.emit()
