"""Direct messages and private rooms between real app windows on one real server (issue 12).

Each test drives the windows as a user would (a click on a person, the
new-room dialog, the members panel, the topic in the header) and waits for
the other window to show the result. A third window, carol's, is the
non-member: a private room must never show in it. "Never" is checked after a
message in general posted last has reached her: the server sends her
everything in order, so whatever of the private room could reach her would
have come before it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QListView, QMessageBox

from chat_desktop.ui.side_bar import NAME_ROLE
from tests.waiting import eventually

from .conftest import ChatClient, LocalChatServer, alice_and_bob, connected, register


def row_named(model: QAbstractItemModel, name: str) -> int | None:
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        if name in (index.data(NAME_ROLE), index.data(Qt.ItemDataRole.DisplayRole)):
            return row
    return None


def click_row(view: QListView, name: str) -> None:
    """Click the row of ``view`` whose name or label is ``name``."""
    row = row_named(view.model(), name)
    assert row is not None, f"{name} is not in {view.accessibleName()}"
    index = view.model().index(row, 0)
    view.scrollTo(index)
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center()
    )


def labels(view: QListView) -> list[str]:
    model = view.model()
    return [str(model.index(row, 0).data()) for row in range(model.rowCount())]


def answer(box: QMessageBox | None, role: QMessageBox.ButtonRole) -> None:
    assert box is not None
    next(b for b in box.buttons() if box.buttonRole(b) == role).click()


async def admin_alice_bob_and_carol(
    server: LocalChatServer, make_client: Any
) -> tuple[ChatClient, ChatClient, ChatClient]:
    """alice (an admin), bob and carol, each in a connected window."""
    token = await register(server.url, "alice")
    assert server.server is not None
    await server.server.service.store.set_admin("alice", True)
    alice = await make_client(server.url, "alice", token=token)
    bob = await make_client(server.url, "bob")
    carol = await make_client(server.url, "carol")
    await eventually(lambda: connected(alice, bob, carol))
    return alice, bob, carol


async def private_room_with(creator: ChatClient, members: list[str]) -> None:
    """``creator`` creates the private room "plans" in the dialog, ``members`` picked."""
    for name in members:
        await eventually(lambda n=name: row_named(creator.w.members, n) is not None)
    creator.w.new_room_action.trigger()
    dialog = creator.w.new_room_dialog
    assert dialog is not None
    QTest.keyClicks(dialog.name_field, "plans")
    dialog.private_switch.click()
    for name in members:
        dialog.members_picker.choose(name)
    dialog.create_button.click()
    await eventually(
        lambda: creator.w.new_room_dialog is None and creator.w.messages.room == "plans"
    )


async def private_room_with_bob(alice: ChatClient, bob: ChatClient) -> None:
    """alice creates the private room "plans" in the dialog, bob picked as a member."""
    await private_room_with(alice, ["bob"])
    await eventually(lambda: "plans" in bob.w.rooms.names())


async def is_up_to_date(sender: ChatClient, receiver: ChatClient, text: str) -> None:
    """``sender`` says ``text`` in general and ``receiver``'s window shows it: the
    receiver has had everything the server sent them before it."""
    sender.w.show_room("general")
    sender.type_and_send(text)
    receiver.w.show_room("general")
    await eventually(lambda: text in receiver.texts())


def test_a_direct_message_opened_from_the_people_list_arrives_in_the_other_window(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        await eventually(lambda: row_named(alice.w.members, "bob") is not None)
        click_row(alice.w.member_list, "bob")
        await eventually(lambda: alice.w.messages.room.startswith("dm-"))
        room = alice.w.messages.room
        assert labels(alice.w.dm_list) == ["bob"]
        assert alice.w.header.text() == "bob"
        # The members of a direct message are in its name: the panel opens on request.
        assert not alice.w.members_panel.isVisible()
        alice.w.header.members_button.click()
        assert alice.w.members_panel.isVisible() and alice.w.members_panel.members.rowCount() == 2
        alice.type_and_send("just between us")

        # bob's side bar has the conversation under alice's name; opening it shows the message.
        await eventually(lambda: labels(bob.w.dm_list) == ["alice"])
        click_row(bob.w.dm_list, "alice")
        assert bob.w.messages.room == room
        await eventually(lambda: "just between us" in bob.texts())
        # Not in the rooms section.
        assert "alice" not in labels(bob.w.room_list) and room not in labels(bob.w.room_list)

    run(body())


def test_a_group_message_is_opened_from_the_new_message_dialog(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob, carol = await admin_alice_bob_and_carol(chat_server_here, make_client)
        await eventually(lambda: row_named(alice.w.members, "carol") is not None)
        alice.w.new_message_action.trigger()
        dialog = alice.w.new_message_dialog
        assert dialog is not None
        dialog.picker.choose("bob")
        dialog.picker.choose("carol")
        dialog.ok_button.click()
        await eventually(lambda: alice.w.messages.room.startswith("dm-"))
        alice.type_and_send("the three of us")
        for other in (bob, carol):
            await eventually(lambda o=other: len(labels(o.w.dm_list)) == 1)
            other.w.show_room(alice.w.messages.room)
            await eventually(lambda o=other: "the three of us" in o.texts())
        assert "alice" in labels(bob.w.dm_list)[0] and "carol" in labels(bob.w.dm_list)[0]

    run(body())


def test_a_private_room_shows_in_the_invitees_window_and_never_in_a_non_members(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob, carol = await admin_alice_bob_and_carol(chat_server_here, make_client)
        await private_room_with_bob(alice, bob)
        assert alice.w.header.kind_icon.isVisible() and alice.w.members_panel.isVisible()
        alice.type_and_send("secret plans")
        bob.w.show_room("plans")
        await eventually(lambda: "secret plans" in bob.texts())
        assert sorted(bob.w.current_entry().members) == ["alice", "bob"]

        # Invited later, from the members panel: carol now sees it, dave never did.
        dave = await make_client(chat_server_here.url, "dave")
        await eventually(lambda: connected(dave))
        await eventually(lambda: row_named(alice.w.members, "carol") is not None)
        alice.w.show_room("plans")
        alice.w.members_panel.invite_button.click()
        dialog = alice.w.members_panel.invite_dialog
        assert dialog is not None
        dialog.picker.choose("carol")
        dialog.ok_button.click()
        await eventually(lambda: "plans" in carol.w.rooms.names())
        await eventually(lambda: alice.w.members_panel.members.rowCount() == 3)

        await is_up_to_date(alice, dave, "after the invite")
        assert "plans" not in dave.w.rooms.names()
        assert all("secret" not in text for text in dave.texts())

    run(body())


def test_a_removed_member_loses_the_room_and_goes_back_to_general(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob, carol = await admin_alice_bob_and_carol(chat_server_here, make_client)
        await private_room_with_bob(alice, bob)
        bob.w.show_room("plans")
        panel = alice.w.members_panel
        assert panel.remove_button.isVisible(), "alice is an admin"
        panel.list.setCurrentIndex(panel.members.index(row_named(panel.members, "bob") or 0))
        panel.remove_button.click()
        answer(panel.remove_box, QMessageBox.ButtonRole.AcceptRole)

        await eventually(lambda: "plans" not in bob.w.rooms.names())
        assert bob.w.messages.room == "general"
        await eventually(lambda: panel.members.rowCount() == 1)
        await is_up_to_date(alice, carol, "all done")
        assert "plans" not in carol.w.rooms.names()

    run(body())


def test_the_rooms_creator_removes_a_member_and_a_plain_member_cannot(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        # alice is the admin of the other tests; here nobody is.
        alice, bob, carol = [
            await make_client(chat_server_here.url, name) for name in ("alice", "bob", "carol")
        ]
        await eventually(lambda: connected(alice, bob, carol))
        assert not bob.w.controller.is_admin and not alice.w.controller.is_admin
        await private_room_with(bob, ["alice", "carol"])
        bob_panel = bob.w.members_panel
        await eventually(lambda: bob_panel.members.rowCount() == 3)
        for other in (alice, carol):
            await eventually(lambda o=other: "plans" in o.w.rooms.names())
        alice.w.show_room("plans")
        carol.w.show_room("plans")
        await eventually(lambda: alice.w.members_panel.members.rowCount() == 3)

        # Everyone sees who created the room; only its creator may remove.
        assert "bob (you, creator)" in labels(bob_panel.list)
        assert "bob (creator)" in labels(alice.w.members_panel.list)
        assert bob_panel.remove_button.isVisible(), "bob created the room"
        assert not alice.w.members_panel.remove_button.isVisible(), "alice is a plain member"

        carol_row = row_named(bob_panel.members, "carol")
        assert carol_row is not None
        bob_panel.list.setCurrentIndex(bob_panel.members.index(carol_row))
        bob_panel.remove_button.click()
        answer(bob_panel.remove_box, QMessageBox.ButtonRole.AcceptRole)

        await eventually(lambda: "plans" not in carol.w.rooms.names())
        assert carol.w.messages.room == "general"
        await eventually(lambda: bob_panel.members.rowCount() == 2)
        await eventually(lambda: alice.w.members_panel.members.rowCount() == 2)
        assert not alice.w.members_panel.remove_button.isVisible()

    run(body())


def test_a_member_who_leaves_loses_the_room_and_the_others_see_one_member_less(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob, _ = await admin_alice_bob_and_carol(chat_server_here, make_client)
        await private_room_with_bob(alice, bob)
        await eventually(lambda: alice.w.members_panel.members.rowCount() == 2)
        bob.w.show_room("plans")
        assert not bob.w.members_panel.remove_button.isVisible(), "bob is no admin"
        bob.w.members_panel.leave_button.click()
        answer(bob.w.members_panel.leave_box, QMessageBox.ButtonRole.AcceptRole)

        await eventually(lambda: "plans" not in bob.w.rooms.names())
        assert bob.w.messages.room == "general"
        await eventually(lambda: alice.w.members_panel.members.rowCount() == 1)

    run(body())


def test_a_topic_set_in_the_header_shows_in_the_other_window(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        alice.w.show_room("general")
        bob.w.show_room("general")
        header = alice.w.header
        QTest.mouseClick(header.topic, Qt.MouseButton.LeftButton)
        assert header.editing
        header.topic_field.setText("Lunch at 12, stand-up at 10:30")
        QTest.keyClick(header.topic_field, Qt.Key.Key_Return)
        # Each window shows the topic once the server's entry reaches it: bob's
        # may come first, so alice's is waited for too, not read at once.
        for window in (bob.w, alice.w):
            await eventually(
                lambda window=window: window.header.topic.text() == "Lunch at 12, stand-up at 10:30"
            )

    run(body())


def test_an_admin_deletes_a_room_after_confirming_and_everyone_moves_to_general(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob, _ = await admin_alice_bob_and_carol(chat_server_here, make_client)
        await private_room_with_bob(alice, bob)
        bob.w.show_room("plans")
        # general is never offered; bob, no admin, is offered nothing.
        assert "Delete room…" not in [a.text() for a in alice.w.room_menu("general").actions()]
        assert "Delete room…" not in [a.text() for a in bob.w.room_menu("plans").actions()]

        alice.w.delete_action.trigger()
        assert alice.w.delete_box is not None
        answer(alice.w.delete_box, QMessageBox.ButtonRole.RejectRole)
        alice.w.delete_action.trigger()
        answer(alice.w.delete_box, QMessageBox.ButtonRole.DestructiveRole)

        for client in (alice, bob):
            await eventually(lambda c=client: "plans" not in c.w.rooms.names())
            assert client.w.messages.room == "general"

    run(body())
