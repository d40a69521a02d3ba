"""What a click or a keystroke does: retry, links, rooms and unread counts, Enter to send."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QPoint, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtTest import QTest

from chat_desktop.controller.entries import DeliveryState
from chat_desktop.ui.message_delegate import open_link
from chat_desktop.ui.side_bar import UNREAD_ROLE
from chat_desktop.ui.text_spans import SpanKind
from chat_protocol import ErrorCode
from tests.waiting import eventually

from .conftest import ChatClient, LocalChatServer, alice_and_bob, connected


class UrlCatcher(QObject):
    """Stands in for the desktop's browser: records the URLs Qt would open."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


def click_in_row(client: ChatClient, row: int, point: QPoint) -> None:
    view = client.w.view
    rect = view.visualRect(client.w.messages.index(row))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.topLeft() + point)


def test_enter_sends_and_shift_enter_adds_a_line(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice: ChatClient = await make_client(chat_server_here.url, "alice")
        composer = alice.w.composer
        composer.setFocus()
        QTest.keyClicks(composer, "two")
        QTest.keyClick(composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
        QTest.keyClicks(composer, "lines")
        assert alice.texts() == []
        QTest.keyClick(composer, Qt.Key.Key_Return)
        assert alice.texts() == ["two\nlines"]
        assert composer.toPlainText() == ""
        await eventually(lambda: alice.w.messages.entries()[0].seq == 1)

    run(body())


def test_a_refused_message_shows_failed_and_retry_delivers_it(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice: ChatClient = await make_client(chat_server_here.url, "alice")
        await eventually(lambda: connected(alice))
        # A room only this window knows about: the server refuses the message.
        alice.w.show_room("plans")
        alice.type_and_send("draft for plans")
        await eventually(lambda: alice.w.messages.entries()[0].state is DeliveryState.FAILED)
        entry = alice.w.messages.entries()[0]
        # The refusal's code, shown as its sentence (translated), not the server's words.
        assert entry.error == ErrorCode.UNKNOWN_ROOM
        layout = alice.w.view.message_delegate.layout_for(alice.w.messages.index(0))
        assert layout.status_text == "Not delivered: This room does not exist."

        alice.c.create_room("plans")
        await eventually(lambda: "plans" in alice.w.rooms.names())
        layout = alice.w.view.message_delegate.layout_for(alice.w.messages.index(0))
        assert layout.retry is not None
        click_in_row(alice, 0, layout.retry.center())
        await eventually(lambda: alice.w.messages.entries()[0].state is DeliveryState.DELIVERED)
        assert alice.w.messages.entries()[0].seq == 1
        assert alice.cache is not None and alice.cache.outbox() == []

    run(body())


def test_clicking_a_link_opens_it_and_only_web_and_mail_links_open(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("https", catcher, "open")
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:

        async def body() -> None:
            alice: ChatClient = await make_client(chat_server_here.url, "alice")
            alice.type_and_send("docs at https://example.org/guide today")
            # Delivered, so the connection is up: a handshake still running when
            # the loop stops would be finished by Qt's event processing outside it.
            await eventually(lambda: [entry.seq for entry in alice.w.messages.entries()] == [1])
            index = alice.w.messages.index(0)
            layout = alice.w.view.message_delegate.layout_for(index)
            link = next(span for span in layout.spans if span.kind is SpanKind.LINK)
            line = layout.text.lineForTextPosition(link.start + 3)
            x = line.cursorToX(link.start + 3)[0]
            point = layout.text_origin + line.position()
            target = QPoint(int(point.x() + x), int(point.y() + line.height() / 2))
            click_in_row(alice, 0, target)
            assert catcher.urls == ["https://example.org/guide"]
            # Clicking plain text opens nothing.
            click_in_row(alice, 0, QPoint(int(layout.text_origin.x()) + 2, target.y()))
            assert catcher.urls == ["https://example.org/guide"]

        run(body())
        assert not open_link("file:///etc/passwd")
        assert catcher.urls == ["https://example.org/guide"]
    finally:
        QDesktopServices.unsetUrlHandler("https")
        QDesktopServices.unsetUrlHandler("file")


def test_unread_counts_grow_in_other_rooms_and_clear_when_the_room_is_opened(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        bob.c.create_room("random")
        await eventually(lambda: "random" in alice.w.rooms.names())
        await chat_server_here.post("bob", ["one", "two"], room="random")

        def unread(name: str) -> int:
            row = alice.w.rooms.row_of(name)
            return (
                0 if row is None else int(alice.w.rooms.data(alice.w.rooms.index(row), UNREAD_ROLE))
            )

        await eventually(lambda: unread("random") == 2)
        assert alice.w.tray.unread == 2
        alice.w.show_room("random")
        assert [e.text for e in alice.w.messages.entries()] == ["one", "two"]
        assert unread("random") == 0

    run(body())


def test_history_from_before_my_first_visit_is_not_counted_unread(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        bob: ChatClient = await make_client(chat_server_here.url, "bob")
        await eventually(lambda: connected(bob))
        bob.c.create_room("random")
        await eventually(lambda: "random" in bob.w.rooms.names())
        await chat_server_here.post("bob", ["said before alice came"], room="random")
        alice: ChatClient = await make_client(chat_server_here.url, "alice")
        await eventually(lambda: connected(alice) and "random" in alice.w.rooms.names())

        def unread_random() -> int | None:
            row = alice.w.rooms.row_of("random")
            return (
                None
                if row is None
                else int(alice.w.rooms.data(alice.w.rooms.index(row), UNREAD_ROLE))
            )

        # Once the message is in alice's cache, the count must settle at 0 (it was 1).
        await eventually(
            lambda: alice.c._cache.positions().get("random") == 1 and unread_random() == 0
        )
        assert alice.w.tray.unread == 0

    run(body())


def test_a_message_in_another_room_notifies_and_clicking_the_notice_opens_that_room(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice: ChatClient = await make_client(chat_server_here.url, "alice")
        await eventually(lambda: connected(alice))
        alice.c.create_room("random")
        await eventually(lambda: alice.w.messages.room == "random")
        alice.w.show_room("general")
        await chat_server_here.post("bob", ["over here"], room="random")
        await eventually(lambda: alice.w.tray.last_message == "bob in #random: over here")
        alice.w.tray.roomClicked.emit(alice.w.tray.last_room)
        assert alice.w.messages.room == "random"
        assert [e.text for e in alice.w.messages.entries()] == ["over here"]

    run(body())


def test_a_too_long_message_stays_in_the_composer_with_the_reason_shown(
    make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice: ChatClient = await make_client(
            "http://127.0.0.1:9", "alice", token="unused", connect=False
        )
        text = "x" * 4001
        alice.w.composer.setPlainText(text)
        alice.w.composer.submit()
        assert alice.w.composer.toPlainText() == text
        assert alice.texts() == []
        # The reason is under the composer; the status bar is for the connection.
        assert "at most 4000 characters" in alice.w.composer_box.notice.text()
        assert "at most" not in alice.w.statusBar().currentMessage()

    run(body())
