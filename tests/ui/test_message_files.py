"""Files in the conversation (issue 13): what bob's window shows of the files alice sends.

A picture shows as its thumbnail (decoded off the UI thread), any other file
as a card with Open and Save; Save writes the very bytes alice sent; a click
on a thumbnail opens the viewer; a member of no room that carries a file
never sees it and the server answers 404 for it; a deleted message shows no
files; a picture that claims 100,000 x 100,000 pixels says it could not be
loaded while the window keeps running; a download that fails is not asked
again at every repaint, and a window closes at once while one hangs.

Real windows and a real server (tests/ui/conftest.py). Only the desktop's
parts are stubbed: the Save dialog (it returns a path in tmp_path) and the
desktop's "open this file" (it records the URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import itertools
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import QColor, QImage, QMouseEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from chat_desktop.app import close_chat
from chat_desktop.controller.chat import ChatController
from chat_desktop.controller.entries import DeliveryState, FileRef, MessageEntry
from chat_desktop.storage import ChatCache
from chat_desktop.transport import ApiError
from chat_desktop.transport.files import FileClient
from chat_desktop.ui import message_files
from chat_desktop.ui.file_cards import FileBox
from chat_desktop.ui.main_window import MainWindow
from chat_desktop.ui.message_delegate import status_line
from chat_desktop.ui.thumbnails import THUMBNAIL_SIZE
from chat_protocol import Message, RoomInfo
from chat_protocol.events import FileInfo
from chat_protocol.rules import format_ts
from tests.waiting import eventually

from .conftest import ChatClient, LocalChatServer, alice_and_bob, connected
from .test_thumbnails import png_claiming

ORANGE = QColor("orange")


def picture(folder: Path, name: str = "whiteboard.png", size: tuple[int, int] = (640, 480)) -> Path:
    image = QImage(*size, QImage.Format.Format_RGB32)
    image.fill(ORANGE)
    path = folder / name
    assert image.save(str(path))
    return path


def a_file(folder: Path, name: str, size: int) -> Path:
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def with_files(client: ChatClient) -> list[MessageEntry]:
    return [entry for entry in client.w.messages.entries() if entry.files]


def send_with_files(client: ChatClient, text: str, *paths: Path) -> None:
    """Choose files in the window's attachment area and press Enter, as a user does."""
    client.w.attachments.add(list(paths))
    client.w.composer.setPlainText(text)
    client.w.composer.submit()


def boxes(client: ChatClient, entry: MessageEntry) -> tuple[int, tuple[FileBox, ...]]:
    """The row of ``entry`` in the client's list and its file boxes as laid out."""
    row = client.w.messages.row_of(entry.author, entry.client_id)
    assert row is not None
    index = client.w.messages.index(row)
    width = client.w.view.visualRect(index).width()
    return row, client.w.view.message_delegate.layout_for(index, width).files


def pdf_id(entry: MessageEntry) -> str:
    return next(ref.id for ref in entry.files if ref.type == "application/pdf")


def click(client: ChatClient, qtbot: QtBot, row: int, spot: QPoint) -> None:
    """A left click at ``spot`` (row coordinates) of row ``row``, scrolled into view first."""
    view = client.w.view
    index = client.w.messages.index(row)
    view.scrollTo(index)
    where = view.visualRect(index).topLeft() + spot
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)


class SaveDialog:
    """Stands in for QFileDialog: "the user chose ``target``" (and what was suggested)."""

    target = ""
    suggested: list[str] = []

    @classmethod
    def getSaveFileName(cls, _parent: object, _title: str, suggested: str) -> tuple[str, str]:
        cls.suggested.append(suggested)
        return cls.target, ""


@pytest.fixture
def save_dialog(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[SaveDialog]]:
    SaveDialog.suggested = []
    monkeypatch.setattr(message_files, "QFileDialog", SaveDialog)
    yield SaveDialog


async def picture_and_report(
    server: LocalChatServer, make_client: Any, folder: Path
) -> tuple[ChatClient, ChatClient, Path, Path, MessageEntry]:
    """alice sends a picture and a PDF in one message; bob's window has it (delivered)."""
    alice, bob = await alice_and_bob(server, make_client)
    shot = picture(folder)
    report = a_file(folder, "report.pdf", 300_000)
    send_with_files(alice, "from the meeting", shot, report)
    await eventually(lambda: len(with_files(bob)) == 1)
    return alice, bob, shot, report, with_files(bob)[0]


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[QUrl]:
    """What the app handed the desktop to open (instead of launching a program)."""
    urls: list[QUrl] = []

    class Desktop:
        @staticmethod
        def openUrl(url: QUrl) -> bool:
            urls.append(url)
            return True

    monkeypatch.setattr(message_files, "QDesktopServices", Desktop)
    return urls


def test_a_picture_shows_as_its_thumbnail_and_another_file_as_a_card(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        _alice, bob, _shot, _report, entry = await picture_and_report(
            chat_server_here, make_client, tmp_path
        )
        image_ref, pdf_ref = entry.files
        assert (image_ref.type, pdf_ref.type) == ("image/png", "application/pdf")
        row, (slot, card) = boxes(bob, entry)
        # The picture: a slot of the thumbnail box's size, loaded and decoded as it was painted.
        assert slot.picture and (slot.rect.width(), slot.rect.height()) == (320, 200)
        files = bob.w.message_files
        await eventually(lambda: files.thumbnail(image_ref.id) is not None)
        look = bob.w.view.message_delegate.file_look(image_ref)
        assert look.image is not None and look.failed == ""
        # 640 x 480 fitted into the thumbnail box (320 x 200).
        fitted = QSize(640, 480).scaled(THUMBNAIL_SIZE, Qt.AspectRatioMode.KeepAspectRatio)
        assert look.image.size() == fitted and fitted.height() == 200
        # What bob sees there is alice's orange picture.
        index = bob.w.messages.index(row)
        shown = bob.w.view.viewport().grab().toImage()
        spot = bob.w.view.visualRect(index).topLeft() + slot.rect.center()
        ratio = shown.devicePixelRatio()
        assert shown.pixelColor(int(spot.x() * ratio), int(spot.y() * ratio)) == ORANGE
        # The other file: a card with its name, Open and Save, nothing downloaded.
        assert not card.picture and card.ref.name == "report.pdf"
        assert card.open is not None and card.save is not None
        assert card.rect.contains(card.open) and card.rect.contains(card.save)
        assert bob.w.view.message_delegate.file_look(pdf_ref).progress is None

    run(body())


def test_a_picture_i_send_shows_in_my_window_from_my_own_file_without_a_download(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        # Every download the server answers goes through FileService.readable:
        # counted here, the real one still answering.
        assert chat_server_here.server is not None
        service = chat_server_here.server.files
        readable = service.readable
        downloads: list[tuple[str, str]] = []

        async def counted(user: str, file_id: str) -> Any:
            downloads.append((user, file_id))
            return await readable(user, file_id)

        service.readable = counted  # type: ignore[method-assign]
        shot = picture(tmp_path)
        send_with_files(alice, "my screen", shot)
        await eventually(lambda: len(with_files(bob)) == 1)
        await eventually(lambda: with_files(alice)[0].state is DeliveryState.DELIVERED)
        (ref,) = with_files(alice)[0].files
        # alice's window shows her orange picture...
        await eventually(lambda: alice.w.message_files.thumbnail(ref.id) is not None)
        look = alice.w.view.message_delegate.file_look(ref)
        assert look.image is not None and look.image.toImage().pixelColor(5, 5) == ORANGE
        # ...from the copy of her own file kept under its id, not downloaded back.
        assert downloads == []
        kept = alice.c.files.downloads.cache.get(ref.id, ref.type)
        assert kept is not None and sha(kept) == sha(shot)
        # bob's window has no such copy: his thumbnail is downloaded (once).
        await eventually(lambda: bob.w.message_files.thumbnail(ref.id) is not None)
        assert downloads == [("bob", ref.id)]

    run(body())


def test_a_cards_button_lights_up_under_the_mouse(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        _alice, bob, _shot, _report, entry = await picture_and_report(
            chat_server_here, make_client, tmp_path
        )
        row, (_slot, card) = boxes(bob, entry)
        assert card.save is not None
        view = bob.w.view
        view.scrollTo(bob.w.messages.index(row))
        top_left = view.visualRect(bob.w.messages.index(row)).topLeft()
        # A point inside the button, clear of its label.
        inside = top_left + card.save.topLeft() + QPoint(3, card.save.height() // 2)

        def shade() -> QColor:
            shown = view.viewport().grab().toImage()
            ratio = shown.devicePixelRatio()
            return shown.pixelColor(int(inside.x() * ratio), int(inside.y() * ratio))

        before = shade()
        # The event a mouse move makes, sent as Qt would (QTest's mouseMove runs the
        # event loop inside this coroutine, which asyncio refuses).
        moved = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(inside),
            QPointF(view.viewport().mapToGlobal(inside)),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(view.viewport(), moved)
        await eventually(lambda: shade() != before)
        assert view.viewport().cursor().shape() == Qt.CursorShape.PointingHandCursor

    run(body())


def test_save_on_a_card_writes_the_bytes_alice_sent(
    chat_server_here: LocalChatServer,
    make_client: Any,
    run: Any,
    tmp_path: Path,
    qtbot: QtBot,
    save_dialog: type[SaveDialog],
) -> None:
    async def body() -> None:
        _alice, bob, _shot, report, entry = await picture_and_report(
            chat_server_here, make_client, tmp_path / "sent"
        )
        row, (_slot, card) = boxes(bob, entry)
        assert card.save is not None
        save_dialog.target = str(tmp_path / "kept.pdf")
        click(bob, qtbot, row, card.save.center())
        assert [Path(name).name for name in save_dialog.suggested] == ["report.pdf"]
        kept = tmp_path / "kept.pdf"
        await eventually(lambda: kept.exists() and sha(kept) == sha(report))
        await eventually(lambda: bob.w.statusBar().currentMessage() == "Saved kept.pdf")

    (tmp_path / "sent").mkdir()
    run(body())


def test_open_downloads_the_file_and_hands_it_to_the_desktop(
    chat_server_here: LocalChatServer,
    make_client: Any,
    run: Any,
    tmp_path: Path,
    qtbot: QtBot,
    opened: list[QUrl],
) -> None:
    async def body() -> None:
        _alice, bob, _shot, report, entry = await picture_and_report(
            chat_server_here, make_client, tmp_path
        )
        row, (_slot, card) = boxes(bob, entry)
        assert card.open is not None
        click(bob, qtbot, row, card.open.center())
        await eventually(lambda: bool(opened))
        local = Path(opened[0].toLocalFile())
        # The copy in bob's downloads cache, named by its id: nothing alice chose.
        assert local.parent == bob.c.files.downloads.cache.folder and local.stem == pdf_id(entry)
        assert sha(local) == sha(report)

    run(body())


def test_the_menu_key_on_a_row_offers_save_for_its_file(
    chat_server_here: LocalChatServer,
    make_client: Any,
    run: Any,
    tmp_path: Path,
    qtbot: QtBot,
    save_dialog: type[SaveDialog],
) -> None:
    async def body() -> None:
        _alice, bob, _shot, report, entry = await picture_and_report(
            chat_server_here, make_client, tmp_path / "sent"
        )
        view = bob.w.view
        row, _boxes = boxes(bob, entry)
        view.setFocus()
        view.setCurrentIndex(bob.w.messages.index(row))
        qtbot.keyClick(view, Qt.Key.Key_Menu)
        menu = bob.w.message_actions.menu
        assert menu is not None
        items = {item.text(): item for item in menu.actions() if item.text()}
        assert {"View whiteboard.png", "Save whiteboard.png…", "Open report.pdf"} <= set(items)
        save_dialog.target = str(tmp_path / "from-the-menu.pdf")
        items["Save report.pdf…"].trigger()
        menu.close()
        kept = tmp_path / "from-the-menu.pdf"
        await eventually(lambda: kept.exists() and sha(kept) == sha(report))

    (tmp_path / "sent").mkdir()
    run(body())


def test_open_refuses_a_file_that_would_run_as_a_program(
    chat_server_here: LocalChatServer,
    make_client: Any,
    run: Any,
    tmp_path: Path,
    qtbot: QtBot,
    opened: list[QUrl],
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        script = tmp_path / "install.sh"
        script.write_text("#!/bin/sh\necho hello\n")
        send_with_files(alice, "run this", script)
        await eventually(lambda: len(with_files(bob)) == 1)
        entry = with_files(bob)[0]
        row, (card,) = boxes(bob, entry)
        assert card.open is not None
        click(bob, qtbot, row, card.open.center())
        said = "install.sh could run as a program: save it, and open it yourself if you trust it."
        await eventually(lambda: bob.w.statusBar().currentMessage() == said)
        assert opened == []

    run(body())


def test_a_click_on_a_thumbnail_opens_the_viewer_whose_save_and_esc_work(
    chat_server_here: LocalChatServer,
    make_client: Any,
    run: Any,
    tmp_path: Path,
    qtbot: QtBot,
    save_dialog: type[SaveDialog],
) -> None:
    async def body() -> None:
        _alice, bob, shot, _report, entry = await picture_and_report(
            chat_server_here, make_client, tmp_path / "sent"
        )
        files = bob.w.message_files
        await eventually(lambda: files.thumbnail(entry.files[0].id) is not None)
        row, (slot, _card) = boxes(bob, entry)
        click(bob, qtbot, row, slot.rect.center())
        await eventually(lambda: files.viewer is not None and files.viewer.isVisible())
        viewer = files.viewer
        assert viewer is not None and viewer.windowTitle() == "whiteboard.png"
        # The picture itself (640 x 480 fits the screen), not the thumbnail.
        await eventually(lambda: viewer.image_size == QSize(640, 480))
        pixmap = viewer.picture.pixmap()
        assert not pixmap.isNull() and pixmap.width() <= viewer.picture.width() * 2
        save_dialog.target = str(tmp_path / "board.png")
        viewer.save_button.click()
        await eventually(lambda: (tmp_path / "board.png").exists())
        assert sha(tmp_path / "board.png") == sha(shot)
        qtbot.keyClick(viewer, Qt.Key.Key_Escape)
        await eventually(lambda: files.viewer is None)

    (tmp_path / "sent").mkdir()
    run(body())


def test_someone_not_in_a_private_room_never_sees_its_file_and_gets_404_for_it(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        carol = await make_client(chat_server_here.url, "carol")
        await eventually(lambda: connected(carol))
        alice.c.create_room("plans", private=True, members=["bob"])
        await eventually(lambda: "plans" in {room.name for room in bob.c.rooms()})
        secret = a_file(tmp_path, "salaries.xlsx", 20_000)
        alice.w.show_room("plans")
        send_with_files(alice, "for bob only", secret)
        bob.w.show_room("plans")
        await eventually(lambda: len(with_files(bob)) == 1)
        (ref,) = with_files(bob)[0].files
        # Bob, a member, may fetch it.
        paths: list[str] = []
        bob.c.files.downloaded.connect(lambda _id, path: paths.append(path))
        bob.c.files.download(ref)
        await eventually(lambda: bool(paths))
        assert sha(Path(paths[0])) == sha(secret)

        # Carol: no such room, no such message, and 404 for the file's URL.
        assert "plans" not in {room.name for room in carol.c.rooms()}
        assert with_files(carol) == []
        assert [e for e in carol.c.open_room("general") if e.files] == []
        with pytest.raises(ApiError) as refused:
            async with FileClient(chat_server_here.url, carol.token) as client:
                await client.download(ref.id, io.BytesIO())
        assert refused.value.status == 404
        # Asked through her window's controller, it fails with a sentence, nothing on disk.
        failed: list[str] = []
        carol.c.files.downloadFailed.connect(lambda _id, why: failed.append(why))
        carol.c.files.download(ref)
        await eventually(lambda: bool(failed))
        assert not list(carol.c.files.downloads.cache.folder.glob(f"{ref.id}*"))

    run(body())


def test_a_deleted_message_shows_no_files(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        send_with_files(alice, "wrong file", a_file(tmp_path, "draft.docx", 5000))
        await eventually(lambda: len(with_files(bob)) == 1)
        shown = with_files(bob)[0]
        assert len(boxes(bob, shown)[1]) == 1
        await eventually(lambda: with_files(alice)[0].state is DeliveryState.DELIVERED)
        alice.c.delete(with_files(alice)[0])
        await eventually(lambda: bob.w.messages.entry(boxes(bob, shown)[0]).deleted)
        assert boxes(bob, shown)[1] == ()
        with pytest.raises(ApiError) as refused:
            async with FileClient(chat_server_here.url, bob.token) as client:
                await client.download(shown.files[0].id, io.BytesIO())
        assert refused.value.status == 404

    run(body())


def test_a_picture_claiming_huge_dimensions_says_it_could_not_be_loaded_without_a_freeze(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        # The UI thread's longest stall while bob's window fetches and tries the bomb.
        ticks: list[float] = [time.monotonic()]
        ticker = QTimer()
        ticker.timeout.connect(lambda: ticks.append(time.monotonic()))
        ticker.start(10)
        send_with_files(alice, "", png_claiming(tmp_path, 100_000, 100_000))
        await eventually(lambda: len(with_files(bob)) == 1)
        (ref,) = with_files(bob)[0].files
        files = bob.w.message_files
        await eventually(lambda: files.failure(ref.id) != "")
        ticker.stop()
        assert files.failure(ref.id) == "The picture is too large to show."
        assert files.thumbnail(ref.id) is None
        assert bob.w.view.message_delegate.file_look(ref).failed
        stall = max(later - earlier for earlier, later in itertools.pairwise(ticks))
        assert stall < 2.0, f"the window stood still for {stall:.2f} s"

    run(body())


# ------------------------------------------------- without a server to answer


def cache_with_a_picture(path: Path) -> FileRef:
    """A cache whose #general holds one message of bob's carrying a picture not downloaded yet."""
    cache = ChatCache.open(path)
    info = FileInfo("pic-1", "holiday.jpg", 2_000_000, "image/jpeg")
    stamp = format_ts(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    cache.save_rooms([RoomInfo("general", 1)])
    cache.save_messages([Message("general", 1, "m-1", "bob", "look", stamp, files=[info])])
    cache.close()
    return FileRef(info.id, info.name, info.size, info.type)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def window_over(cache_file: Path, url: str) -> tuple[MainWindow, ChatController, ChatCache]:
    cache = ChatCache.open(cache_file)
    controller = ChatController(cache, server_url=url, username="alice", token="unused")
    window = MainWindow(controller)
    window.show()
    return window, controller, cache


def test_a_failed_download_is_not_asked_again_when_the_row_is_painted_again(
    tmp_path: Path, run: Any
) -> None:
    ref = cache_with_a_picture(tmp_path / "cache.sqlite3")

    async def body() -> None:
        # Nothing listens there: each try fails at once.
        window, controller, cache = window_over(
            tmp_path / "cache.sqlite3", f"http://127.0.0.1:{free_port()}"
        )
        asked: list[str] = []
        fetch = controller.files.download

        def counted(file: FileRef) -> None:
            asked.append(file.id)
            fetch(file)

        controller.files.download = counted  # type: ignore[method-assign]
        try:
            await eventually(lambda: window.message_files.failure(ref.id) != "")
            assert asked == [ref.id]
            assert window.view.message_delegate.file_look(ref).failed
            for _ in range(5):
                window.view.viewport().repaint()
            # A timer queued now fires after any fetch those paints queued.
            turned: list[bool] = []
            QTimer.singleShot(0, lambda: turned.append(True))
            await eventually(lambda: bool(turned))
            assert asked == [ref.id]
        finally:
            await close_chat(window, controller, cache)

    run(body())


def test_the_window_closes_at_once_while_a_download_hangs_and_leaves_no_partial_file(
    tmp_path: Path, run: Any
) -> None:
    cache_with_a_picture(tmp_path / "cache.sqlite3")

    async def body() -> None:
        # A server that takes the request and never answers it.
        asked = asyncio.Event()
        held: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)
            await reader.readuntil(b"\r\n\r\n")
            asked.set()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        window, controller, cache = window_over(
            tmp_path / "cache.sqlite3", f"http://127.0.0.1:{port}"
        )
        folder = controller.files.downloads.cache.folder
        try:
            await asyncio.wait_for(asked.wait(), 15)
            started = time.monotonic()
            await asyncio.wait_for(close_chat(window, controller, cache), 10)
            assert time.monotonic() - started < 5
        finally:
            for writer in held:
                writer.close()
            server.close()
            with contextlib.suppress(Exception):
                await server.wait_closed()
        assert [path.name for path in folder.glob("*")] == []

    run(body())


def test_my_message_whose_files_are_going_up_says_so_not_queued(qapp: Any) -> None:
    going = MessageEntry(
        "general",
        "alice",
        "",
        "2026-11-30T09:00:00Z",
        "c-1",
        state=DeliveryState.QUEUED,
        files=(FileRef("", "notes.txt", 10, "text/plain"),),
    )
    assert status_line(going) == "Waiting for its files to go up"
    up = replace(going, files=(FileRef("f-1", "notes.txt", 10, "text/plain"),))
    assert status_line(up) == "Queued: sends when the connection is back"
