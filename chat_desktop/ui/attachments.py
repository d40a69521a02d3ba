"""Attaching files in the window: the attach button, drag and drop, paste, and upload progress.

:class:`AttachmentArea` sits above the composer. It holds the files chosen
for the next message (a row of chips, each with its name, size and a
remove button) and, under it, one row per message whose files are going
up, with a progress bar and Cancel. Files come in three ways, all ending in
:meth:`AttachmentArea.add`:

- the attach button beside the composer (a file dialog);
- dropping files from a file manager anywhere on the conversation;
- pasting: copied files, or a picture (a screenshot), which the controller
  keeps as a private PNG (``controller.files.keep_pasted``) so that it can
  still be sent after a restart.

When the composer submits, the window takes the chosen files
(:meth:`AttachmentArea.take`) and sends them with the text through
``ChatController.send(room, text, files=...)``. Names shown here are the
user's own files' names, set as plain text all the same.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QEvent, QIODevice, QLocale, QObject, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chat_desktop.controller.entries import DeliveryState, MessageEntry
from chat_desktop.controller.files import ChatFiles
from chat_protocol import rules

from .resources import icon


def _size(count: int) -> str:
    return QLocale().formattedDataSize(count, 1)


class _Chip(QWidget):
    """One chosen file: its name and size, and a button that takes it back out."""

    def __init__(self, path: Path, area: AttachmentArea) -> None:
        super().__init__(area)
        self.setObjectName("attachmentChip")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.path = path
        label = QLabel(self)
        label.setTextFormat(Qt.TextFormat.PlainText)
        try:
            size = _size(path.stat().st_size)
        except OSError:
            size = "?"
        label.setText(f"{path.name}  ·  {size}")
        label.setToolTip(str(path))
        self.remove = QToolButton(self)
        self.remove.setObjectName("attachmentRemove")
        self.remove.setIcon(icon("remove"))
        self.remove.setAutoRaise(True)
        self.remove.setToolTip(self.tr("Remove this file"))
        self.remove.setAccessibleName(self.tr("Remove {name}").format(name=path.name))
        self.remove.clicked.connect(lambda: area.discard(path))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(label)
        layout.addWidget(self.remove)


class _UploadRow(QWidget):
    """A message whose files are going up: what, how far, and Cancel."""

    def __init__(self, entry: MessageEntry, files: ChatFiles, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("uploadRow")
        names = ", ".join(ref.name for ref in entry.files)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setText(self.tr("Sending {names}").format(names=names))
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        self.bar.setAccessibleName(self.tr("Upload progress"))
        self.cancel = QToolButton(self)
        self.cancel.setText(self.tr("Cancel"))
        self.cancel.clicked.connect(lambda: files.cancel_upload(entry.client_id))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.cancel)

    def progress(self, sent: int, total: int) -> None:
        self.bar.setValue(1000 if total <= 0 else int(1000 * sent / total))


class AttachmentArea(QWidget):
    """The files chosen for the next message, and the uploads under way (see the module doc)."""

    def __init__(self, files: ChatFiles, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentArea")
        self._files = files
        self._chosen: list[Path] = []
        self._rows: dict[str, _UploadRow] = {}
        self._chips = QHBoxLayout()
        self._chips.setContentsMargins(0, 0, 0, 0)
        self._chips.setSpacing(6)
        self._chips.addStretch(1)
        self._uploads = QVBoxLayout()
        self._uploads.setContentsMargins(0, 0, 0, 0)
        self._uploads.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 10, 0)
        layout.setSpacing(4)
        layout.addLayout(self._uploads)
        layout.addLayout(self._chips)
        self.attach_button = QToolButton()
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setToolTip(self.tr("Attach files"))
        self.attach_button.setAccessibleName(self.tr("Attach files"))
        self.attach_button.clicked.connect(self.choose)
        files.uploadProgress.connect(self._progress)
        files.uploadCancelled.connect(self._finished)
        self.refresh_icons()
        self.setVisible(False)

    # The chosen files --------------------------------------------------------

    def add(self, paths: list[Path]) -> None:
        """Choose these files too (at most the protocol's ten per message; no folders)."""
        for path in paths:
            if (
                path in self._chosen
                or not path.is_file()
                or len(self._chosen) >= rules.FILES_PER_MESSAGE_MAX
            ):
                continue
            self._chosen.append(path)
            self._chips.insertWidget(self._chips.count() - 1, _Chip(path, self))
        self._update_visibility()

    def discard(self, path: Path) -> None:
        """Take one chosen file back out."""
        if path in self._chosen:
            self._chosen.remove(path)
        for index in range(self._chips.count()):
            item = self._chips.itemAt(index)
            chip = item.widget() if item is not None else None
            if isinstance(chip, _Chip) and chip.path == path:
                chip.deleteLater()
                self._chips.removeWidget(chip)
                break
        self._update_visibility()

    def chosen(self) -> list[Path]:
        return list(self._chosen)

    def take(self) -> list[Path]:
        """The chosen files, for the message being sent; the row empties."""
        taken = list(self._chosen)
        for path in taken:
            self.discard(path)
        return taken

    def choose(self) -> None:
        """The attach button: pick files in a dialog."""
        names, _ = QFileDialog.getOpenFileNames(self.window(), self.tr("Attach files"))
        self.add([Path(name) for name in names])

    def paste(self) -> bool:
        """Attach what the clipboard holds, if files or a picture; whether it did."""
        data = QGuiApplication.clipboard().mimeData()
        if data is None:
            return False
        local = [Path(url.toLocalFile()) for url in data.urls() if url.isLocalFile()]
        if local:
            self.add(local)
            return True
        if data.hasImage() and not data.hasText():
            image = QGuiApplication.clipboard().image()
            if image.isNull():
                return False
            # A buffer of its own: PySide6 refuses (or worse) one over a QByteArray of ours.
            buffer = QBuffer()
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs want bytes, PySide6 a str
            self.add([self._files.keep_pasted(bytes(buffer.data().data()))])
            return True
        return False

    # The uploads under way ---------------------------------------------------

    def track(self, entry: MessageEntry | None) -> None:
        """Show the progress of a message just sent with files."""
        if entry is None or not entry.files or entry.client_id in self._rows:
            return
        row = _UploadRow(entry, self._files, self)
        self._rows[entry.client_id] = row
        self._uploads.addWidget(row)
        self._update_visibility()

    def message_changed(self, entry: MessageEntry) -> None:
        """A tracked message's files are all up (it has ids) or it failed: its row goes."""
        if entry.client_id in self._rows and (
            entry.state is DeliveryState.FAILED or all(ref.id for ref in entry.files)
        ):
            self._finished(entry.client_id)

    def _progress(self, client_id: str, sent: int, total: int) -> None:
        row = self._rows.get(client_id)
        if row is not None:
            row.progress(sent, total)

    def _finished(self, client_id: str) -> None:
        row = self._rows.pop(client_id, None)
        if row is not None:
            self._uploads.removeWidget(row)
            row.deleteLater()
        self._update_visibility()

    def _update_visibility(self) -> None:
        self.setVisible(bool(self._chosen or self._rows))

    def refresh_icons(self) -> None:
        self.attach_button.setIcon(icon("attach"))


class FileDrops(QObject):
    """Event filter: files dropped on the window, and Paste in the composer, go to ``area``.

    Installed on the main window (which then accepts drops over every part
    that does not take them itself) and on the composer (which takes text
    drops: a dropped file must not become its path as text).
    """

    def __init__(self, area: AttachmentArea, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._area = area

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(
            event, QDragEnterEvent | QDropEvent
        ):
            if any(url.isLocalFile() for url in event.mimeData().urls()):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop and isinstance(event, QDropEvent):
            local = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
            if local:
                self._area.add(local)
                event.acceptProposedAction()
                return True
        elif (
            kind == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.matches(QKeySequence.StandardKey.Paste)
        ):
            return self._area.paste()
        return False
