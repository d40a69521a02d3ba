"""Two real chat windows on one real server: replies, edits, deletions, reactions and
"seen by" made in one window show in the other.

Each user acts the way they would: the hover bar, the context menu and its
delete question, the emoji picker, Up in the empty composer, Enter. The
other window is then checked for what its user would see: the quote, the new
text and "(edited)", the placeholder, the chips, the line under a message.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from chat_desktop.controller.entries import DeliveryState, MessageEntry
from chat_desktop.ui.message_actions import MessageAction
from chat_desktop.ui.message_delegate import MessageLayout
from chat_desktop.ui.message_view import MessageView
from tests.waiting import eventually

from .conftest import ChatClient, LocalChatServer, alice_and_bob, connected


def find(client: ChatClient, text: str) -> MessageEntry | None:
    return next((e for e in client.w.messages.entries() if e.text == text), None)


def shown_entry(client: ChatClient, seq: int) -> MessageEntry:
    row = client.w.messages.row_of_seq(seq)
    assert row is not None, f"message {seq} is not shown to {client.username}"
    return client.w.messages.entry(row)


def layout(client: ChatClient, seq: int) -> MessageLayout:
    row = client.w.messages.row_of_seq(seq)
    assert row is not None
    return client.w.view.message_delegate.layout_for(client.w.messages.index(row))


def hover_over(view: MessageView, where: QPoint) -> None:
    """The mouse comes to rest at ``where`` (viewport coordinates), no button held."""
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(where),
        QPointF(view.viewport().mapToGlobal(where)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view.viewport(), move)


async def delivered(client: ChatClient, text: str) -> MessageEntry:
    """``text`` typed and sent by ``client``, once the server has stored it."""
    client.type_and_send(text)
    await eventually(lambda: (find(client, text) or MessageEntry("", "", "", "", "")).seq)
    entry = find(client, text)
    assert entry is not None and entry.state is DeliveryState.DELIVERED
    return entry


def test_a_reply_arrives_with_its_quote_and_a_click_on_the_quote_shows_the_original(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        question = await delivered(alice, "Lunch at noon?\nor at one")
        await eventually(lambda: find(bob, "Lunch at noon?\nor at one") is not None)

        # Bob answers from the hover bar over alice's message.
        hover = bob.w.view.hover_actions
        row = bob.w.messages.row_of_seq(question.seq or 0)
        assert row is not None
        hover_over(bob.w.view, bob.w.view.visualRect(bob.w.messages.index(row)).center())
        await eventually(hover.isVisible)
        hover.reply_button.click()
        assert bob.w.composer_box.banner.label.full_text() == "Replying to alice: Lunch at noon?"
        bob.type_and_send("noon is fine")

        await eventually(lambda: find(alice, "noon is fine") is not None)
        answer = find(alice, "noon is fine")
        assert answer is not None and answer.reply_to == question.seq
        await eventually(lambda: answer.seq is not None or find(alice, "noon is fine").seq)  # type: ignore[union-attr]
        answer = find(alice, "noon is fine")
        assert answer is not None and answer.seq is not None
        quoted = layout(alice, answer.seq).quoted
        assert quoted is not None and (quoted.author, quoted.first_line) == (
            "alice",
            "Lunch at noon?",
        )

        # Alice clicks the quote: her list shows the original, flashed.
        quote = layout(alice, answer.seq).quote
        assert quote is not None
        view = alice.w.view
        row = alice.w.messages.row_of_seq(answer.seq)
        assert row is not None
        QTest.mouseClick(
            view.viewport(),
            Qt.MouseButton.LeftButton,
            pos=view.visualRect(alice.w.messages.index(row)).topLeft() + quote.center(),
        )
        await eventually(
            lambda: view.flashing_row() == alice.w.messages.row_of_seq(question.seq or 0)
        )

    run(body())


def test_up_edits_my_last_message_and_the_other_window_shows_the_new_text_as_edited(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        await delivered(alice, "first")
        typo = await delivered(alice, "helo bob")
        await eventually(lambda: find(bob, "helo bob") is not None)

        composer = alice.w.composer
        composer.setFocus()
        QTest.keyClick(composer, Qt.Key.Key_Up)
        assert alice.w.composer_box.banner.label.full_text() == "Editing message"
        assert composer.toPlainText() == "helo bob"
        composer.setPlainText("hello bob")
        QTest.keyClick(composer, Qt.Key.Key_Return)

        await eventually(lambda: shown_entry(bob, typo.seq or 0).text == "hello bob")
        assert shown_entry(bob, typo.seq or 0).edited is not None
        assert layout(bob, typo.seq or 0).text.text() == "hello bob (edited)"
        await eventually(lambda: shown_entry(alice, typo.seq or 0).edited is not None)
        assert composer.toPlainText() == "" and not alice.w.composer_box.banner.isVisible()

    run(body())


def test_deleting_asks_first_and_the_other_window_shows_message_deleted(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        oops = await delivered(alice, "wrong room, sorry")
        await eventually(lambda: find(bob, "wrong room, sorry") is not None)
        actions = alice.w.message_actions

        # Cancel first: nothing happens.
        actions.open_menu(oops, QPoint(20, 20))
        actions.menu_actions[MessageAction.DELETE].trigger()  # type: ignore[attr-defined]
        box = actions.delete_box
        assert box is not None and "for everyone" in box.text()
        box.button(QMessageBox.StandardButton.Cancel).click()
        assert not shown_entry(alice, oops.seq or 0).deleted

        actions.open_menu(oops, QPoint(20, 20))
        actions.menu_actions[MessageAction.DELETE].trigger()  # type: ignore[attr-defined]
        assert actions.delete_box is not None
        actions.delete_box.button(QMessageBox.StandardButton.Yes).click()

        await eventually(lambda: shown_entry(bob, oops.seq or 0).deleted)
        assert shown_entry(bob, oops.seq or 0).text == ""
        assert layout(bob, oops.seq or 0).text.text() == "message deleted"
        # Bob may not delete it (or anything of alice's): his menu has no Delete.
        await delivered(alice, "keep this")
        kept = find(bob, "keep this") or await _arrived(bob, "keep this")
        bob_menu = bob.w.message_actions.open_menu(kept, QPoint(20, 20))
        assert bob_menu is not None
        assert MessageAction.DELETE not in bob.w.message_actions.menu_actions
        bob_menu.close()

    run(body())


async def _arrived(client: ChatClient, text: str) -> MessageEntry:
    await eventually(lambda: find(client, text) is not None)
    entry = find(client, text)
    assert entry is not None
    return entry


def test_an_admin_deletes_someone_elses_message(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        await chat_server_here.stop()
        chat_server_here.admins = frozenset({"alice"})
        await chat_server_here.start()
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        await eventually(lambda: alice.c.is_admin)
        spam = await delivered(bob, "buy cheap watches")
        mine = await _arrived(alice, "buy cheap watches")
        actions = alice.w.message_actions
        actions.open_menu(mine, QPoint(20, 20))
        assert MessageAction.DELETE in actions.menu_actions
        assert MessageAction.EDIT not in actions.menu_actions
        actions.menu_actions[MessageAction.DELETE].trigger()  # type: ignore[attr-defined]
        assert actions.delete_box is not None and "by bob" in actions.delete_box.text()
        actions.delete_box.button(QMessageBox.StandardButton.Yes).click()
        await eventually(lambda: shown_entry(bob, spam.seq or 0).deleted)

    run(body())


def test_a_reaction_shows_as_a_chip_in_both_windows_and_clicks_toggle_it(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        news = await delivered(alice, "we shipped")
        theirs = await _arrived(bob, "we shipped")
        seq = news.seq or 0

        picker = bob.w.message_actions.ask_reaction(theirs, QPoint(30, 30))
        party = picker.buttons[6].text()
        picker.buttons[6].click()
        await eventually(lambda: shown_entry(alice, seq).reactions == ((party, ("bob",)),))
        chip = layout(alice, seq).chips[0]
        assert (chip.label, chip.mine) == (f"{party} 1", False)

        # Alice clicks the chip: she joins; both windows count two.
        view = alice.w.view
        row = alice.w.messages.row_of_seq(seq) or 0
        QTest.mouseClick(
            view.viewport(),
            Qt.MouseButton.LeftButton,
            pos=view.visualRect(alice.w.messages.index(row)).topLeft() + chip.rect.center(),
        )
        for client in (alice, bob):
            await eventually(
                lambda c=client: (
                    layout(c, seq).chips and layout(c, seq).chips[0].label == f"{party} 2"
                )
            )
        assert layout(alice, seq).chips[0].mine and layout(bob, seq).chips[0].mine

        # Bob clicks his: he leaves it; alice's stays.
        bob_view = bob.w.view
        bob_row = bob.w.messages.row_of_seq(seq) or 0
        QTest.mouseClick(
            bob_view.viewport(),
            Qt.MouseButton.LeftButton,
            pos=bob_view.visualRect(bob.w.messages.index(bob_row)).topLeft()
            + layout(bob, seq).chips[0].rect.center(),
        )
        await eventually(lambda: shown_entry(alice, seq).reactions == ((party, ("alice",)),))
        assert not layout(bob, seq).chips[0].mine

        # Picking an emoji she already gave takes hers back too: no chip is left.
        picker = alice.w.message_actions.ask_reaction(shown_entry(alice, seq), QPoint(30, 30))
        picker.buttons[6].click()
        await eventually(lambda: layout(bob, seq).chips == ())

    run(body())


def test_seen_by_shows_under_the_last_message_the_other_member_has_read(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        alice.c.create_room("plans", private=True, members=["bob"])
        await eventually(lambda: alice.w.messages.room == "plans")
        await eventually(lambda: "plans" in bob.w.rooms.names())
        first = await delivered(alice, "the plan")
        second = await delivered(alice, "and the budget")
        assert layout(alice, second.seq or 0).seen is None

        bob.w.show_room("plans")
        bob.c.set_active(True)
        await eventually(lambda: layout(alice, second.seq or 0).seen_text == "Seen by bob")
        assert layout(alice, first.seq or 0).seen is None

    run(body())


def test_a_click_on_a_quote_of_a_message_not_on_this_computer_loads_and_shows_it(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        bob = await make_client(chat_server_here.url, "bob")
        await eventually(lambda: connected(bob))
        original = await delivered(bob, "the very first plan")
        await chat_server_here.post("carol", [f"chatter {n}" for n in range(150)])
        await eventually(lambda: find(bob, "chatter 149") is not None)
        bob.w.message_actions.reply(original)
        bob.type_and_send("as planned at the start")
        answer = await _arrived(bob, "as planned at the start")
        await eventually(lambda: (find(bob, "as planned at the start") or answer).seq is not None)

        # Alice signs in later: her cache starts with the newest page only.
        alice = await make_client(chat_server_here.url, "alice")
        reply = await _arrived(alice, "as planned at the start")
        await eventually(lambda: (find(alice, "as planned at the start") or reply).seq is not None)
        reply = find(alice, "as planned at the start") or reply
        assert find(alice, "the very first plan") is None
        assert alice.cache is not None and alice.cache.message("general", 1) is None
        quoted = layout(alice, reply.seq or 0).quoted
        assert quoted is not None and quoted.author == ""  # "a message not loaded"
        quote = layout(alice, reply.seq or 0).quote
        assert quote is not None
        view = alice.w.view
        row = alice.w.messages.row_of_seq(reply.seq or 0)
        assert row is not None
        QTest.mouseClick(
            view.viewport(),
            Qt.MouseButton.LeftButton,
            pos=view.visualRect(alice.w.messages.index(row)).topLeft() + quote.center(),
        )
        await eventually(lambda: find(alice, "the very first plan") is not None)
        await eventually(
            lambda: view.flashing_row() == alice.w.messages.row_of_seq(original.seq or 0)
        )

    run(body())
