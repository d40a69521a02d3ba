"""ImageViewer: a picture of a message, as large as fits, with Save; Esc closes it.

A click on a thumbnail in the conversation opens it (through
:class:`~.message_files.MessageFiles`, which has downloaded the file by
then). The thumbnail shows at once; the picture itself is decoded like any
thumbnail (:class:`~.thumbnails.ThumbnailLoader`: off the UI thread, with the
same cap on pixels) to the size of the screen, then drawn scaled to fit the
dialog, never larger than it is. A picture that cannot be decoded says so.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from .thumbnails import ThumbnailLoader


class ImageViewer(QDialog):
    """One picture, scaled to fit; Save and Close under it.

    Signals:
        saveRequested(): Save was pressed (the owner asks where).
    """

    saveRequested = Signal()

    def __init__(
        self, name: str, path: str, preview: QPixmap | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("imageViewer")
        # A window title is plain text in Qt: the sender's name cannot format anything.
        self.setWindowTitle(name)
        screen = self.screen().availableGeometry().size() if self.screen() else QSize(1280, 800)
        self.picture = QLabel(self)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setTextFormat(Qt.TextFormat.PlainText)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setMinimumSize(120, 90)
        self.picture.setAccessibleName(name)
        buttons = QDialogButtonBox(self)
        self.save_button = QPushButton(self.tr("Save…"), self)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        self.save_button.clicked.connect(self.saveRequested)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addWidget(buttons)
        # The best picture so far: the thumbnail, then the full decode.
        self._image = preview
        # Decoded to the screen's size in device pixels: full detail on HiDPI too.
        self._loader = ThumbnailLoader(box=screen * self.devicePixelRatioF(), parent=self)
        self._loader.ready.connect(self._decoded)
        self._loader.failed.connect(self._failed)
        self._loader.request("full", path)
        self.finished.connect(lambda _result: self._loader.close())
        self.resize(QSize(min(900, screen.width() * 4 // 5), min(680, screen.height() * 4 // 5)))
        self._fit()

    @property
    def image_size(self) -> QSize:
        """The size of the picture held (the decoded one once it is in), empty before."""
        return self._image.size() if self._image is not None else QSize()

    def _decoded(self, _key: str, image: QImage) -> None:
        self._image = QPixmap.fromImage(image)
        self._fit()

    def _failed(self, _key: str, _why: str) -> None:
        if self._image is None:
            self.picture.setText(self.tr("The picture could not be shown."))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._image is None:
            return
        ratio = self.devicePixelRatioF()
        room = self.picture.size()
        # A copy: the preview is the conversation's thumbnail, drawn there at its own ratio.
        image = self._image.copy()
        if image.width() > room.width() * ratio or image.height() > room.height() * ratio:
            image = image.scaled(
                room * ratio,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        # At its own size when it fits (one pixel a point), else packed to fit.
        over = max(image.width() / max(1, room.width()), image.height() / max(1, room.height()))
        image.setDevicePixelRatio(min(ratio, max(1.0, over)))
        self.picture.setPixmap(image)
