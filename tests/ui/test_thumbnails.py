"""Thumbnails (issue 13): decoded off the UI thread, scaled, and a decompression bomb refused.

Real image files in tmp_path: made with QImage, or for the bomb written
byte by byte (a PNG whose header claims 100,000 x 100,000 pixels in a few
hundred bytes), which no decoder must be allowed to expand.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from PySide6.QtCore import QSize, QThread
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from chat_desktop.ui import thumbnails
from chat_desktop.ui.thumbnails import ThumbnailLoader, decode


def picture(folder: Path, name: str, width: int, height: int) -> Path:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("teal"))
    path = folder / name
    assert image.save(str(path))
    return path


def png_claiming(folder: Path, width: int, height: int) -> Path:
    """A tiny PNG file whose header claims ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grey
    # The first rows of zeros: what a bomb's few KB expand from.
    rows = zlib.compress(b"\0" * 4096, 9)
    data = (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )
    path = folder / "bomb.png"
    path.write_bytes(data)
    return path


def test_a_picture_comes_back_scaled_to_fit_and_decoded_on_another_thread(
    qtbot: QtBot, tmp_path: Path, monkeypatch
) -> None:
    threads: list[QThread] = []
    original = thumbnails.decode

    def watched(*args: object, **kwargs: object) -> tuple[QImage, str]:
        threads.append(QThread.currentThread())
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(thumbnails, "decode", watched)
    loader = ThumbnailLoader(box=QSize(320, 240))
    path = picture(tmp_path, "wide.png", 1600, 800)
    with qtbot.waitSignal(loader.ready, timeout=10_000) as got:
        loader.request("f1", str(path))
    key, image = got.args
    assert key == "f1" and (image.width(), image.height()) == (320, 160)
    assert threads and threads[0] is not QThread.currentThread()
    loader.wait()


def test_a_decompression_bomb_is_refused_before_anything_is_decoded(
    qtbot: QtBot, tmp_path: Path
) -> None:
    loader = ThumbnailLoader()
    bomb = png_claiming(tmp_path, 100_000, 100_000)
    assert bomb.stat().st_size < 1000
    with qtbot.waitSignal(loader.failed, timeout=10_000) as got:
        loader.request("bomb", str(bomb))
    assert got.args == ["bomb", "too many pixels (100000 x 100000)"]
    loader.wait()


def test_the_pixel_cap_is_the_loaders_own(tmp_path: Path) -> None:
    path = picture(tmp_path, "big.png", 2000, 1000)
    image, why = decode(str(path), QSize(100, 100), max_pixels=1_000_000)
    assert image.isNull() and why == "too many pixels (2000 x 1000)"
    image, why = decode(str(path), QSize(100, 100), max_pixels=2_000_000)
    assert (image.width(), image.height(), why) == (100, 50, "")


def test_a_file_that_is_no_image_fails_with_a_reason(qtbot: QtBot, tmp_path: Path) -> None:
    loader = ThumbnailLoader()
    path = tmp_path / "notes.png"
    path.write_bytes(b"this is text, whatever the name says")
    with qtbot.waitSignal(loader.failed, timeout=10_000) as got:
        loader.request("x", str(path))
    assert got.args[0] == "x" and got.args[1]
    loader.wait()


def test_a_picture_smaller_than_the_box_keeps_its_size(tmp_path: Path) -> None:
    image, why = decode(str(picture(tmp_path, "icon.png", 48, 30)), QSize(320, 200))
    assert (image.width(), image.height(), why) == (48, 30, "")
