"""Attaching in the window (issue 13's "done when"): a file dropped into alice's window
arrives in bob's byte for byte, a pasted picture goes as a PNG and decodes as a
thumbnail, a file above the limit is refused at once with a sentence in the
status bar, and Cancel on an upload leaves nothing on the server.

Real windows and a real server (tests/ui/conftest.py); drops and pastes are
the events Qt delivers for them, sent to the real widgets.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QGuiApplication, QImage
from pytestqt.qtbot import QtBot

from chat_desktop.controller.entries import MessageEntry
from chat_desktop.ui.thumbnails import ThumbnailLoader
from tests.sqlite_driver import sqlite
from tests.waiting import eventually

from .conftest import ChatClient, LocalChatServer, alice_and_bob, connected

MiB = 1024 * 1024


def drop(client: ChatClient, *paths: Path) -> None:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    event = QDropEvent(
        QPointF(40, 40),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    # Qt delivers a drop over the message list (which takes none) to the window;
    # outside a real drag it refuses to send one, so the window's filter gets it here.
    assert not client.w.view.viewport().acceptDrops() and client.w.acceptDrops()
    assert client.w.file_drops.eventFilter(client.w, event)


def with_files(client: ChatClient) -> list[MessageEntry]:
    return [entry for entry in client.w.messages.entries() if entry.files]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def downloaded(client: ChatClient, entry: MessageEntry) -> list[Path]:
    """Have ``client`` fetch every file of ``entry``; the local paths (as they come)."""
    paths: list[Path] = []
    client.c.files.downloaded.connect(lambda _id, path: paths.append(Path(path)))
    for ref in entry.files:
        client.c.files.download(ref)
    return paths


def test_a_file_dropped_in_one_window_arrives_in_the_other_byte_for_byte(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        report = tmp_path / "report.pdf"
        report.write_bytes(os.urandom(3 * MiB))
        drop(alice, report)
        assert alice.w.attachments.chosen() == [report] and alice.w.attachments.isVisible()
        alice.w.composer.submit()  # no text: the file is the message
        assert alice.w.attachments.chosen() == []
        await eventually(lambda: len(with_files(bob)) == 1)
        paths = downloaded(bob, with_files(bob)[0])
        await eventually(lambda: len(paths) == 1)
        assert sha(paths[0]) == sha(report)
        alice.w.grab().save(str(tmp_path / "sent.png"))

    run(body())


def test_a_pasted_picture_goes_as_a_png_and_shows_as_a_thumbnail(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, qtbot: QtBot
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        shot = QImage(640, 400, QImage.Format.Format_RGB32)
        shot.fill(QColor("orange"))
        QGuiApplication.clipboard().setImage(shot)
        alice.w.composer.setFocus()
        qtbot.keyClick(alice.w.composer, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
        (pasted,) = alice.w.attachments.chosen()
        assert pasted.suffix == ".png" and pasted.name.startswith("Pasted ")
        alice.w.composer.setPlainText("the bug")
        alice.w.composer.submit()
        await eventually(lambda: len(with_files(bob)) == 1)
        (ref,) = with_files(bob)[0].files
        assert (ref.type, ref.name) == ("image/png", pasted.name)
        # Made only to be sent: gone once the server stored the message.
        await eventually(lambda: not pasted.exists())
        paths = downloaded(bob, with_files(bob)[0])
        await eventually(lambda: len(paths) == 1)
        loader = ThumbnailLoader()
        thumbnails: list[QImage] = []
        loader.ready.connect(lambda _key, image: thumbnails.append(image))
        loader.request(ref.id, str(paths[0]))
        await eventually(lambda: bool(thumbnails))
        assert (thumbnails[0].width(), thumbnails[0].height()) == (320, 200)
        assert thumbnails[0].pixelColor(10, 10) == QColor("orange")
        loader.wait()

    run(body())


def test_a_file_above_the_limit_is_refused_at_once_and_stays_chosen(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        assert chat_server_here.server is not None
        chat_server_here.server.files.config.max_file_bytes = MiB
        alice = await make_client(chat_server_here.url, "alice")
        await eventually(lambda: connected(alice) and alice.c.files.max_file_bytes == MiB)
        movie = tmp_path / "holiday.mov"
        movie.write_bytes(b"\0" * (2 * MiB))
        drop(alice, movie)
        alice.w.composer.setPlainText("look")
        alice.w.composer.submit()
        assert alice.w.statusBar().currentMessage() == (
            "holiday.mov is too large to send: the server takes up to 1.00 MiB."
        )
        # Nothing lost: the text and the file wait for the user to decide.
        assert alice.w.composer.toPlainText() == "look"
        assert alice.w.attachments.chosen() == [movie]
        assert with_files(alice) == []

    run(body())


def test_cancel_on_an_upload_removes_its_row_and_leaves_nothing_on_the_server(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        alice = await make_client(chat_server_here.url, "alice")
        await eventually(lambda: connected(alice))
        big = tmp_path / "disk.img"
        big.write_bytes(os.urandom(24 * MiB))
        area = alice.w.attachments
        drop(alice, big)

        def cancel_at_first_progress(client_id: str, sent: int, total: int) -> None:
            row = area._rows.get(client_id)
            if row is not None and 0 < sent < total:
                row.cancel.click()

        alice.c.files.uploadProgress.connect(cancel_at_first_progress)
        alice.w.composer.submit()
        await eventually(lambda: not area._rows and not area.isVisible())

        def uploads() -> int:
            database = chat_server_here.data_dir / "chat.sqlite3"
            with contextlib.closing(sqlite.connect(database)) as db:
                return int(db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0])

        files = chat_server_here.data_dir / "files"
        await eventually(
            lambda: uploads() == 0 and not [p for p in files.rglob("*") if p.is_file()]
        )

    run(body())
