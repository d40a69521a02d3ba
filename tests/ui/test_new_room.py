"""The "New room" dialog: the name is checked as typed, the reason is shown under the
field, and a refusal keeps the dialog open with what was typed; the status bar stays
the connection's."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from chat_desktop.controller.entries import MemberEntry
from chat_desktop.ui.new_room import NewRoomDialog, hint
from tests.waiting import eventually

from .conftest import ChatClient, LocalChatServer, connected


async def connected_alice(server: LocalChatServer, make_client: Any) -> ChatClient:
    alice: ChatClient = await make_client(server.url, "alice")
    await eventually(lambda: connected(alice))
    return alice


def opened_dialog(client: ChatClient) -> NewRoomDialog:
    client.w.new_room_action.trigger()
    dialog = client.w.new_room_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


PEOPLE = [
    MemberEntry("alice", True),
    MemberEntry("bob", False),
    MemberEntry("carol", True),
]


def type_name(dialog: NewRoomDialog, text: str) -> None:
    dialog.name_field.selectAll()
    QTest.keyClicks(dialog.name_field, text)


def test_the_name_is_checked_as_typed_and_create_waits_for_a_good_one(qtbot: QtBot) -> None:
    dialog = NewRoomDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    # Nothing typed: the hint, no error, nothing to create.
    assert dialog.note.text() == hint() and not dialog.showing_error
    assert not dialog.create_button.isEnabled()

    type_name(dialog, "team plans")
    assert dialog.showing_error and "a-z, 0-9" in dialog.note.text()
    assert not dialog.create_button.isEnabled()

    # Upper case is lowered where it is typed: what is shown is what gets created.
    type_name(dialog, "Team-Plans_2")
    assert dialog.name_field.text() == "team-plans_2"
    assert dialog.note.text() == hint() and not dialog.showing_error
    assert dialog.create_button.isEnabled()

    with qtbot.waitSignal(dialog.createRequested) as asked:
        QTest.keyClick(dialog.name_field, Qt.Key.Key_Return)
    assert asked.args == ["team-plans_2", False, []]
    # Waiting for the answer: no second request.
    assert not dialog.create_button.isEnabled() and dialog.name_field.isReadOnly()


def test_the_new_room_dialog_sends_private_and_its_members_and_keeps_them_after_a_refusal(
    qtbot: QtBot,
) -> None:
    dialog = NewRoomDialog(people=PEOPLE, me="alice")
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.members_picker.isVisible()
    QTest.keyClicks(dialog.name_field, "plans")
    dialog.private_switch.click()
    assert dialog.members_picker.isVisible()
    # Enter in the picker's filter picks a person; it does not create the room half done.
    QTest.keyClicks(dialog.members_picker.filter, "bob")
    QTest.keyClick(dialog.members_picker.filter, Qt.Key.Key_Return)
    assert dialog.asked is None and dialog.members_picker.chosen() == ["bob"]
    assert dialog.members_picker.filter.text() == ""

    with qtbot.waitSignal(dialog.createRequested) as asked:
        dialog.create_button.click()
    assert asked.args == ["plans", True, ["bob"]]
    assert not dialog.private_switch.isEnabled() and not dialog.members_picker.isEnabled()

    dialog.room_refused("plans", "That name is taken.")
    assert dialog.showing_error and dialog.note.text() == "That name is taken."
    assert dialog.name_field.text() == "plans" and dialog.private_switch.isChecked()
    assert dialog.members_picker.chosen() == ["bob"] and dialog.members_picker.isEnabled()
    assert dialog.create_button.isEnabled()


def test_a_room_created_from_the_dialog_opens_and_the_dialog_closes(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice = await connected_alice(chat_server_here, make_client)
        dialog = opened_dialog(alice)
        results: list[int] = []
        dialog.finished.connect(results.append)
        type_name(dialog, "plans")
        dialog.create_button.click()
        await eventually(lambda: alice.w.new_room_dialog is None)
        assert results == [QDialog.DialogCode.Accepted]
        assert alice.w.messages.room == "plans" and "plans" in alice.w.rooms.names()

    run(body())


def test_a_refusal_by_the_server_is_shown_in_the_dialog_with_the_name_kept(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice = await connected_alice(chat_server_here, make_client)
        # alice used up her new rooms for now (the server's room_burst).
        assert chat_server_here.server is not None
        service = chat_server_here.server.service
        for k in range(service.config.room_burst):
            await service.create_room(f"room-{k}", "alice")

        dialog = opened_dialog(alice)
        type_name(dialog, "one-too-many")
        dialog.create_button.click()
        await eventually(lambda: dialog.showing_error)
        # The code's sentence (translated), not the server's English words.
        assert "Too many requests in a short time" in dialog.note.text()
        assert dialog.isVisible() and alice.w.new_room_dialog is dialog
        assert dialog.name_field.text() == "one-too-many" and not dialog.name_field.isReadOnly()
        # Trying again later is one click away.
        assert dialog.create_button.isEnabled()
        assert alice.w.statusBar().currentMessage() == ""
        assert "one-too-many" not in alice.w.rooms.names()

        # Editing the name goes back to checking it as typed.
        QTest.keyClicks(dialog.name_field, "!")
        assert dialog.showing_error and "a-z, 0-9" in dialog.note.text()
        dialog.reject()
        await eventually(lambda: alice.w.new_room_dialog is None)

    run(body())


def test_offline_the_dialog_says_so_and_keeps_the_name(make_client: Any, run: Any) -> None:
    async def body() -> None:
        alice: ChatClient = await make_client(
            "http://127.0.0.1:9", "alice", token="unused", connect=False
        )
        dialog = opened_dialog(alice)
        type_name(dialog, "plans")
        dialog.create_button.click()
        assert dialog.showing_error and "offline" in dialog.note.text()
        assert dialog.isVisible() and dialog.name_field.text() == "plans"
        assert alice.w.statusBar().currentMessage() == ""
        # One dialog at a time: the menu brings the open one back.
        alice.w.new_room_action.trigger()
        assert alice.w.new_room_dialog is dialog
        dialog.reject()

    run(body())
