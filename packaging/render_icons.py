"""Render the application icon (``resources/icons/app.svg``) into the files installers need.

The one drawing is the SVG the app itself uses; the bundles need bitmaps
made from it: PNGs in the freedesktop sizes for Linux (``hicolor``), and an
``.ico`` holding several sizes for the Windows executable. They are made at
build time (``build.sh`` and the PyInstaller spec call this) rather than kept
in git, so they never drift from the SVG.

Uses Qt (a dependency of the app already) to render, offscreen, and Pillow
when it is installed (PyInstaller brings it) to pack the ``.ico``.

    python packaging/render_icons.py OUT_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "app.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(out_dir: Path) -> dict[str, Path]:
    """Write the PNGs (``chat-desktop-SIZE.png``) and ``chat-desktop.ico``; return the main ones."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    # Qt paints only with an application object; offscreen needs no display.
    _app = QGuiApplication.instance() or QGuiApplication([])
    out_dir.mkdir(parents=True, exist_ok=True)
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot read the icon {SVG}")
    pngs: dict[int, Path] = {}
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        pngs[size] = out_dir / f"chat-desktop-{size}.png"
        if not image.save(str(pngs[size])):
            raise SystemExit(f"cannot write {pngs[size]}")
    ico = out_dir / "chat-desktop.ico"
    _write_ico(pngs, ico)
    return {"png": pngs[256], "ico": ico, "svg": SVG}


def _write_ico(pngs: dict[int, Path], ico: Path) -> None:
    try:
        from PIL import Image
    except ImportError:
        # Qt's own ICO writer stores one size; good enough without Pillow.
        from PySide6.QtGui import QImage

        QImage(str(pngs[256])).save(str(ico), "ICO")
        return
    with Image.open(pngs[256]) as biggest:
        biggest.save(ico, sizes=[(size, size) for size in ICO_SIZES])


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    for kind, path in render(Path(sys.argv[1])).items():
        print(f"{kind}: {path}")
