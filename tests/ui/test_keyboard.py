"""The main window from the keyboard: rooms by shortcut, Ctrl+K, the side bar, the menus,
a visible focus; and the unread count in the title and the tray."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from chat_desktop.controller.entries import ConnectionKind
from chat_desktop.transport import Jitter, ReconnectPolicy
from tests.waiting import eventually

from .conftest import ChatClient, LocalChatServer, alice_and_bob, fast_link

Alt = Qt.KeyboardModifier.AltModifier
Ctrl = Qt.KeyboardModifier.ControlModifier
Shift = Qt.KeyboardModifier.ShiftModifier


async def three_rooms(server: LocalChatServer, make_client: Any) -> tuple[ChatClient, ChatClient]:
    assert server.server is not None
    for room in ("dev", "random"):
        await server.server.service.create_room(room, "operator")
    alice, bob = await alice_and_bob(server, make_client)
    await eventually(lambda: alice.w.rooms.names() == ["dev", "general", "random"])
    alice.w.show_room("general")
    alice.w.activateWindow()
    await eventually(lambda: QApplication.activeWindow() is alice.w)
    return alice, bob


def press(client: ChatClient, key: Qt.Key, modifiers: Qt.KeyboardModifier) -> None:
    """A key pressed wherever the focus is (after show_room: the composer)."""
    target = QApplication.focusWidget() or client.w
    QTest.keyClick(target, key, modifiers)


def test_rooms_are_switched_from_the_keyboard_alone(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, _ = await three_rooms(chat_server_here, make_client)
        w = alice.w
        press(alice, Qt.Key.Key_Down, Alt)
        assert w.messages.room == "random" and w.composer.hasFocus()
        press(alice, Qt.Key.Key_Down, Alt)
        assert w.messages.room == "dev", "the last room wraps to the first"
        press(alice, Qt.Key.Key_Up, Alt)
        assert w.messages.room == "random"
        press(alice, Qt.Key.Key_Tab, Ctrl)
        assert w.messages.room == "dev"
        # What a keyboard sends for Ctrl+Shift+Tab: Backtab with Shift held.
        press(alice, Qt.Key.Key_Backtab, Ctrl | Shift)
        assert w.messages.room == "random"
        # The room list follows.
        assert w.room_list.currentIndex().row() == w.rooms.row_of("random")

    run(body())


def test_ctrl_shift_a_goes_to_the_next_room_with_unread_messages(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, _ = await three_rooms(chat_server_here, make_client)
        await chat_server_here.post("bob", ["in dev"], room="dev")
        await eventually(lambda: alice.w.rooms.unread_of("dev") == 1)
        press(alice, Qt.Key.Key_A, Ctrl | Shift)
        assert alice.w.messages.room == "dev"
        await eventually(lambda: alice.w.rooms.unread_of("dev") == 0)
        # Nothing unread any more: the shortcut stays where it is.
        press(alice, Qt.Key.Key_A, Ctrl | Shift)
        assert alice.w.messages.room == "dev"

    run(body())


def test_ctrl_k_filters_rooms_as_typed_and_enter_opens_the_match(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, _ = await three_rooms(chat_server_here, make_client)
        press(alice, Qt.Key.Key_K, Ctrl)
        dialog = alice.w.quick_switch
        assert dialog is not None and dialog.isVisible()
        await eventually(lambda: dialog.filter.hasFocus())
        QTest.keyClicks(dialog.filter, "AN")
        assert dialog.matches.rowCount() == 1
        QTest.keyClick(dialog.filter, Qt.Key.Key_Return)
        assert alice.w.messages.room == "random"
        assert not dialog.isVisible() and alice.w.quick_switch is None

    run(body())


def test_the_side_bar_hides_and_comes_back_with_ctrl_shift_s(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, _ = await three_rooms(chat_server_here, make_client)
        width = alice.w.view.width()
        press(alice, Qt.Key.Key_S, Ctrl | Shift)
        assert not alice.w.side_bar.isVisible()
        assert not alice.w.side_bar_action.isChecked()
        # The conversation takes the room.
        await eventually(lambda: alice.w.view.width() > width)
        press(alice, Qt.Key.Key_S, Ctrl | Shift)
        assert alice.w.side_bar.isVisible()

    run(body())


def test_every_shortcut_is_in_a_menu_where_it_is_shown(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice: ChatClient = await make_client(chat_server_here.url, "alice")
        shown = {}
        for menu_action in alice.w.menuBar().actions():
            menu = menu_action.menu()
            for action in menu.actions():
                if action.isSeparator():
                    continue
                shown[action.shortcut().toString(QKeySequence.SequenceFormat.PortableText)] = (
                    action.text()
                )
        for keys in ("Ctrl+N", "Ctrl+R", "Ctrl+Q", "Ctrl+K", "Alt+Down", "Alt+Up"):
            assert keys in shown, f"{keys} is not shown in any menu: {shown}"
        for keys in ("Ctrl+Shift+A", "Ctrl+Shift+S"):
            assert keys in shown, f"{keys} is not shown in any menu: {shown}"

    run(body())


def test_the_focused_control_is_visibly_marked(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, _ = await three_rooms(chat_server_here, make_client)
        w = alice.w
        for widget in (w.room_list, w.add_room_button, w.composer_box.send_button):
            alice.w.composer.setFocus()
            await eventually(lambda: alice.w.composer.hasFocus())
            unfocused = widget.grab().toImage()
            widget.setFocus(Qt.FocusReason.TabFocusReason)
            await eventually(lambda w=widget: w.hasFocus())
            assert widget.grab().toImage() != unfocused, f"{widget} looks the same with focus"

    run(body())


def test_the_title_and_the_tray_count_unread_messages(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, _ = await three_rooms(chat_server_here, make_client)
        assert alice.w.windowTitle() == "Chat Desktop — general"
        await chat_server_here.post("bob", ["one", "two"], room="dev")
        await chat_server_here.post("bob", ["three"], room="random")
        await eventually(lambda: alice.w.windowTitle() == "(3) Chat Desktop — general")
        assert alice.w.tray.tool_tip == "Chat Desktop: 3 unread"
        alice.w.show_room("dev")
        await eventually(lambda: alice.w.windowTitle() == "(1) Chat Desktop — dev")
        assert alice.w.tray.tool_tip == "Chat Desktop: 1 unread"

    run(body())


def test_the_network_coming_back_reconnects_at_once_instead_of_waiting_out_the_backoff(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        # A backoff far longer than the test: only a reconnect_now can end it.
        slow = ReconnectPolicy(first_retry=600, initial=600, cap=600, jitter=Jitter.NONE)
        alice: ChatClient = await make_client(
            chat_server_here.url, "alice", link_factory=fast_link(policy=slow)
        )
        await eventually(lambda: alice.c.status.kind is ConnectionKind.CONNECTED)
        await chat_server_here.stop()
        await eventually(lambda: alice.c.status.kind is ConnectionKind.RECONNECTING)
        await chat_server_here.start()
        # What QNetworkInformation (network back) or logind (resumed) report;
        # neither can be produced on demand under the offscreen platform.
        alice.w.network_watch.changed.emit()
        await eventually(lambda: alice.c.status.kind is ConnectionKind.CONNECTED)

    run(body())
