"""Find and load the icons and the style sheet of ``resources/``.

Where the files are depends on how the app was installed:

- run from a source checkout (``pip install -e .``, or ``python -m chat_desktop``
  in the repository): the top-level ``resources/`` folder next to the package;
- installed from a wheel or ``pip install .``: setuptools ships the folder as
  data files (see ``[tool.setuptools.data-files]`` in pyproject.toml) under
  ``<prefix>/share/chat-desktop``, and the distribution's installed file list
  (importlib.metadata) says where that prefix is.

Icons are SVG. Those drawn in ``currentColor`` are recoloured with the
palette's text colour (in a selected row, the selection's text colour), so
they stay visible in light and dark themes, and rendered at the screen's
device pixel ratio so they stay sharp on HiDPI. ``selectionRing`` is drawn
only in a selected row (the presence dot's outline there).
"""

from __future__ import annotations

import functools
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

_DISTRIBUTION = "chat-desktop"
_INSTALLED_DIR = ("share", "chat-desktop")
# Sizes a themed icon is pre-rendered at; QIcon picks the closest one.
_ICON_SIZES = (16, 20, 24, 32, 48, 64)


@functools.cache
def resource_dir() -> Path:
    """The folder holding ``style.qss`` and ``icons/``."""
    checkout = Path(__file__).resolve().parents[2] / "resources"
    if (checkout / "style.qss").is_file():
        return checkout
    try:
        files = metadata.distribution(_DISTRIBUTION).files or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.parts[-3:] == (*_INSTALLED_DIR, "style.qss"):
            return Path(str(file.locate())).resolve().parent
    raise FileNotFoundError(
        "the resources of chat-desktop (style.qss, icons/) are missing: reinstall the package"
    )


def style_sheet() -> str:
    """The application style sheet (colours come from the palette, see the file)."""
    return (resource_dir() / "style.qss").read_text(encoding="utf-8")


@functools.cache
def _svg(name: str) -> str:
    return (resource_dir() / "icons" / f"{name}.svg").read_text(encoding="utf-8")


def icon(name: str, color: QColor | None = None) -> QIcon:
    """The SVG icon ``name`` with ``currentColor`` painted in ``color``.

    ``color`` defaults to the application palette's window text, so call this
    again after a palette change (the main window does, on PaletteChange).
    """
    palette = QGuiApplication.palette()
    if color is None:
        color = palette.color(QPalette.ColorRole.WindowText)
    selected = palette.color(QPalette.ColorRole.HighlightedText)
    # List models ask for their icons on every paint: render each variant once.
    return _rendered(name, color.name(), selected.name(), _device_pixel_ratio())


@functools.lru_cache(maxsize=128)
def _rendered(name: str, color: str, selected: str, ratio: float) -> QIcon:
    svg = _svg(name)
    result = QIcon()
    # A selected row (QIcon's Selected mode) gets its own pixmaps, drawn in
    # the selection's text colour, with ``selectionRing`` (the presence dot's
    # outline) in it too: Qt's default tints the normal pixmap with the
    # selection's colour, which blurs a green dot into a blue selection.
    for mode, current, ring in (
        (QIcon.Mode.Normal, color, "none"),
        (QIcon.Mode.Selected, selected, selected),
    ):
        drawn = svg.replace("currentColor", current).replace("selectionRing", ring)
        renderer = QSvgRenderer(QByteArray(drawn.encode("utf-8")))
        # 1x and 2x besides the primary screen's ratio: a window moved to
        # another screen finds a sharp pixmap too.
        for scale in sorted({1.0, 2.0, ratio}):
            for size in _ICON_SIZES:
                pixmap = QPixmap(QSize(size, size) * scale)
                pixmap.setDevicePixelRatio(scale)
                pixmap.fill(Qt.GlobalColor.transparent)
                painter = QPainter(pixmap)
                painter.setRenderHint(QPainter.RenderHint.Antialiasing)
                renderer.render(painter, QRectF(0, 0, size, size))
                painter.end()
                result.addPixmap(pixmap, mode)
    return result


def forget_rendered_icons() -> None:
    """Drop the cached icons; call before the QApplication goes (pixmaps need it)."""
    _rendered.cache_clear()


class StyleSheetFollower(QObject):
    """Re-applies the style sheet when the application palette changes.

    Qt resolves the sheet's ``palette(...)`` colours when it applies the sheet,
    so a switch between light and dark (the desktop's colour scheme changed)
    needs the sheet applied once more to pick up the new colours.

    Signals: none.
    """

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app
        self._applying = False
        app.setStyleSheet(style_sheet())
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self._app
            and event.type() == QEvent.Type.ApplicationPaletteChange
            and not self._applying
        ):
            self._applying = True
            try:
                self._app.setStyleSheet(style_sheet())
            finally:
                self._applying = False
        return False


def _device_pixel_ratio() -> float:
    screen = QGuiApplication.primaryScreen()
    return max(1.0, screen.devicePixelRatio()) if screen is not None else 1.0
