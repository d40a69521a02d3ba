"""Thumbnails of image files, decoded off the UI thread with a cap on pixels.

An image in a message is drawn as a small picture; decoding it (a 24 MP
photo takes a tenth of a second and 100 MB) must neither freeze the window
nor let a crafted file (a "decompression bomb": a few KB of PNG that claims
50,000 x 50,000 pixels) exhaust the app's memory. So:

- each decode runs in a ``QRunnable`` on a ``QThreadPool`` of its own (a few
  threads at most), and its outcome comes back to the UI thread as a queued
  signal of :class:`ThumbnailLoader`;
- the image's size is read from its header first (``QImageReader.size``,
  which decodes nothing), and an image above :data:`MAX_PIXELS` is refused
  before a byte of it is decoded;
- the reader decodes straight to the thumbnail's size where the format can
  (``setScaledSize``: JPEG decodes at 1/2, 1/4, 1/8), and Qt's own
  allocation limit (``setAllocationLimit``) stays as a second fence;
- reading and decoding are done only from a local file (the downloads
  cache), never from bytes in memory the network handed over.

The widgets ask with :meth:`ThumbnailLoader.request` (a key of their choice,
usually the file id, and the path) and listen to ``ready`` and ``failed``.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader

# Images with more pixels than this are not decoded at all (a 50 MP camera
# still fits; a 50,000 x 50,000 "bomb" does not).
MAX_PIXELS = 64_000_000
# The box a thumbnail fits in (aspect kept): a 16:10 screenshot fills it, a
# 4:3 photo is 267 x 200. A message row keeps a slot of this height for each
# picture, loaded or not, so rows never change height under the reader.
THUMBNAIL_SIZE = QSize(320, 200)
# Decodes at once: enough to keep a screenful coming, few enough for memory.
THREADS = 2


class _Outcome(QObject):
    """Carries one decode's result from the pool's thread to the UI thread (queued)."""

    done = Signal(str, QImage, str)


class _Decode(QRunnable):
    """Decode one image file into a thumbnail on a pool thread."""

    def __init__(self, key: str, path: str, box: QSize, max_pixels: int, outcome: _Outcome) -> None:
        super().__init__()
        self._key = key
        self._path = path
        self._box = box
        self._max_pixels = max_pixels
        self._outcome = outcome

    def run(self) -> None:
        image, why = decode(self._path, self._box, self._max_pixels)
        self._outcome.done.emit(self._key, image, why)


def decode(path: str, box: QSize, max_pixels: int = MAX_PIXELS) -> tuple[QImage, str]:
    """The image at ``path`` scaled down to fit ``box``; a null image and the reason when not.

    Runs on any thread (QImageReader and QImage are safe off the UI thread).
    """
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if not size.isValid() or size.isEmpty():
        return QImage(), reader.errorString() or "not an image"
    if size.width() * size.height() > max_pixels:
        return QImage(), f"too many pixels ({size.width()} x {size.height()})"
    # A second fence in Qt itself, in MiB, for formats whose header says less than they hold.
    reader.setAllocationLimit(max(1, max_pixels * 4 // (1024 * 1024) + 1))
    if size.width() > box.width() or size.height() > box.height():
        # Only ever smaller: a small picture (an icon) is not blown up to a blur.
        reader.setScaledSize(
            size.scaled(box, Qt.AspectRatioMode.KeepAspectRatio).expandedTo(QSize(1, 1))
        )
    image = reader.read()
    if image.isNull():
        return QImage(), reader.errorString() or "the image could not be read"
    return image, ""


class ThumbnailLoader(QObject):
    """Decodes thumbnails on its own thread pool; one answer per request.

    Signals:
        ready(str, QImage): the key of a request and its thumbnail.
        failed(str, str): the key and why no thumbnail (not an image, too many pixels).
    """

    ready = Signal(str, QImage)
    failed = Signal(str, str)

    def __init__(
        self,
        box: QSize = THUMBNAIL_SIZE,
        max_pixels: int = MAX_PIXELS,
        threads: int = THREADS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.box = box
        self.max_pixels = max_pixels
        # A pool of its own: the global one may be busy with Qt's own work.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        # Lives in the UI thread: its queued signal brings results back here.
        self._outcome = _Outcome(self)
        self._outcome.done.connect(self._done)

    def request(self, key: str, path: str) -> None:
        """Decode the image at ``path`` (a local file); ``ready`` or ``failed`` follows."""
        self._pool.start(_Decode(key, path, self.box, self.max_pixels, self._outcome))

    def wait(self, msecs: int = -1) -> bool:
        """Wait for the running decodes (at shutdown, and in tests)."""
        return self._pool.waitForDone(msecs)

    def close(self) -> None:
        """Drop the decodes not started yet and wait for the running ones (the window closes).

        A decode finishing later would report to an object Qt has deleted.
        """
        self._pool.clear()
        self._pool.waitForDone()

    def _done(self, key: str, image: QImage, why: str) -> None:
        if image.isNull():
            self.failed.emit(key, why)
        else:
            self.ready.emit(key, image)
