"""The widgets of issue 12 on their own, fed with hand-made RoomEntry / MemberEntry values:
the room list's sections, the people picker, the room header's topic, the members panel."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from chat_desktop.controller.entries import MemberEntry, RoomEntry
from chat_desktop.ui.members_panel import MembersPanel
from chat_desktop.ui.people import PeopleDialog, PeoplePicker
from chat_desktop.ui.room_header import TOPIC_LENGTH, RoomHeader
from chat_desktop.ui.side_bar import NAME_ROLE, RoomKindFilter, RoomListModel

PEOPLE = [
    MemberEntry("alice", True),
    MemberEntry("bob", False),
    MemberEntry("carol", True),
    MemberEntry("dave", False, admin=True),
]
PLANS = RoomEntry("plans", kind="private", topic="Q3 plans", members=("alice", "bob", "carol"))
DM_BOB = RoomEntry("dm-0123456789abcdef", kind="direct", members=("alice", "bob"), title="bob")


def show_active(qtbot: QtBot, widget: QWidget) -> None:
    """Show ``widget`` as the active window: keyboard focus goes where a user's would."""
    widget.show()
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)


def shown(model: RoomKindFilter) -> list[str]:
    return [str(model.index(row, 0).data()) for row in range(model.rowCount())]


def answer(box: QMessageBox | None, role: QMessageBox.ButtonRole) -> None:
    assert box is not None and box.isVisible()
    next(b for b in box.buttons() if box.buttonRole(b) == role).click()


def test_direct_messages_have_their_own_section_under_the_other_persons_name(
    qtbot: QtBot,
) -> None:
    rooms = RoomListModel()
    rooms.set_me("alice")
    rooms.set_rooms([RoomEntry("general"), DM_BOB, PLANS, RoomEntry("random")])
    public, direct = RoomKindFilter(rooms, direct=False), RoomKindFilter(rooms, direct=True)
    assert shown(public) == ["general", "plans", "random"]
    assert shown(direct) == ["bob"]
    assert direct.index(0, 0).data(NAME_ROLE) == "dm-0123456789abcdef"
    # Rooms first, then direct messages: stepping through rooms follows the side bar.
    assert rooms.names() == ["general", "plans", "random", "dm-0123456789abcdef"]

    access = Qt.ItemDataRole.AccessibleTextRole
    assert public.index(1, 0).data(access) == "plans, private room"
    assert direct.index(0, 0).data(access) == "bob, direct message, offline"
    rooms.set_online(frozenset({"alice", "bob"}))
    assert direct.index(0, 0).data(access) == "bob, direct message, online"


def test_the_people_picker_keeps_picks_while_filtering_and_picks_with_space(
    qtbot: QtBot,
) -> None:
    picker = PeoplePicker()
    qtbot.addWidget(picker)
    picker.set_people(PEOPLE, leave_out=frozenset({"alice"}))
    show_active(qtbot, picker)
    # Online first, me left out.
    names = [picker.matches.index(r, 0).data() for r in range(picker.matches.rowCount())]
    assert names == ["carol", "bob", "dave"]

    QTest.keyClicks(picker.filter, "bo")
    assert picker.matches.rowCount() == 1
    QTest.keyClick(picker.filter, Qt.Key.Key_Down)
    assert picker.list.hasFocus()
    QTest.keyClick(picker.list, Qt.Key.Key_Space)
    assert picker.chosen() == ["bob"]
    # Typing in the list goes on in the filter.
    QTest.keyClick(picker.list, Qt.Key.Key_A)
    assert picker.filter.hasFocus() and picker.filter.text() == "boa"

    picker.filter.clear()
    rect = picker.list.visualRect(picker.matches.index(0, 0))
    QTest.mouseClick(picker.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert picker.chosen() == ["bob", "carol"]
    assert picker.summary.text() == "Chosen: bob, carol"
    # A click on a picked person unpicks them.
    QTest.mouseClick(picker.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert picker.chosen() == ["bob"]


def test_typing_a_name_and_enter_in_the_new_message_dialog_picks_that_person(
    qtbot: QtBot,
) -> None:
    dialog = PeopleDialog(
        "New message", "Open conversation", PEOPLE, leave_out=frozenset({"alice"})
    )
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.ok_button.isEnabled()
    QTest.keyClicks(dialog.picker.filter, "car")
    with qtbot.waitSignal(dialog.peopleChosen) as chosen:
        QTest.keyClick(dialog.picker.filter, Qt.Key.Key_Return)
    assert chosen.args == [["carol"]]
    assert not dialog.isVisible()


def test_the_topic_is_edited_in_place_enter_saves_and_escape_cancels(qtbot: QtBot) -> None:
    header = RoomHeader()
    qtbot.addWidget(header)
    header.show_room(PLANS)
    show_active(qtbot, header)
    assert header.text() == "plans" and header.topic.text() == "Q3 plans"
    assert header.kind_icon.isVisible() and header.members_button.text() == "3"

    QTest.mouseClick(header.topic, Qt.MouseButton.LeftButton)
    assert header.editing and header.topic_field.text() == "Q3 plans"
    assert header.topic_field.maxLength() == TOPIC_LENGTH
    header.topic_field.setText("changed my mind")
    with qtbot.assertNotEmitted(header.topicEdited):
        QTest.keyClick(header.topic_field, Qt.Key.Key_Escape)
    assert not header.editing and header.topic.text() == "Q3 plans"

    # From the keyboard: Enter on the focused topic edits it, Enter saves.
    header.topic.setFocus()
    QTest.keyClick(header.topic, Qt.Key.Key_Return)
    assert header.editing
    header.topic_field.setText("  Q4 plans ")
    with qtbot.waitSignal(header.topicEdited) as saved:
        QTest.keyClick(header.topic_field, Qt.Key.Key_Return)
    assert saved.args == ["plans", "Q4 plans"] and not header.editing


def test_a_public_room_header_has_no_members_button_and_offers_a_topic(qtbot: QtBot) -> None:
    header = RoomHeader()
    qtbot.addWidget(header)
    header.show_room(RoomEntry("general"))
    header.show()
    assert header.text() == "# general" and header.topic.text() == "Add a topic"
    assert not header.members_button.isVisible() and not header.kind_icon.isVisible()
    header.show_room(DM_BOB)
    assert header.text() == "bob" and header.members_button.isVisible()


def test_the_members_panel_lists_members_with_presence_and_asks_before_leaving(
    qtbot: QtBot,
) -> None:
    panel = MembersPanel("alice")
    qtbot.addWidget(panel)
    panel.set_people(PEOPLE)
    panel.show_room(PLANS)
    panel.show()
    rows = [panel.members.index(r).data() for r in range(panel.members.rowCount())]
    assert rows == ["alice (you)", "carol", "bob"]
    assert panel.title.text() == "MEMBERS · 3"
    # No admin, and the room's creator is not known: no Remove.
    assert panel.invite_button.isVisible() and not panel.remove_button.isVisible()

    panel.leave_button.click()
    with qtbot.assertNotEmitted(panel.leaveRequested):
        answer(panel.leave_box, QMessageBox.ButtonRole.RejectRole)
    panel.leave_button.click()
    with qtbot.waitSignal(panel.leaveRequested) as left:
        answer(panel.leave_box, QMessageBox.ButtonRole.AcceptRole)
    assert left.args == ["plans"]


def test_an_admin_removes_a_member_after_confirming(qtbot: QtBot) -> None:
    panel = MembersPanel("alice")
    qtbot.addWidget(panel)
    panel.set_people(PEOPLE)
    panel.show_room(PLANS)
    panel.set_admin(True)
    panel.show()
    assert panel.remove_button.isVisible() and not panel.remove_button.isEnabled()
    # Myself: nothing to remove (leaving is Leave).
    panel.list.setCurrentIndex(panel.members.index(0))
    assert not panel.remove_button.isEnabled()
    panel.list.setCurrentIndex(panel.members.index(2))
    assert panel.remove_button.isEnabled()
    panel.remove_button.click()
    assert panel.remove_box is not None and "Remove bob from plans?" in panel.remove_box.text()
    with qtbot.waitSignal(panel.removeRequested) as removed:
        answer(panel.remove_box, QMessageBox.ButtonRole.AcceptRole)
    assert removed.args == ["plans", "bob"]


def test_the_rooms_creator_is_marked_and_may_remove_a_plain_member_may_not(
    qtbot: QtBot,
) -> None:
    panel = MembersPanel("alice")
    qtbot.addWidget(panel)
    panel.set_people(PEOPLE)
    panel.show_room(replace(PLANS, creator="Bob"))  # names match case-insensitively
    panel.show()
    rows = [panel.members.index(r).data() for r in range(panel.members.rowCount())]
    assert rows == ["alice (you)", "carol", "bob (creator)"]
    tip = panel.members.index(2).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == "offline · created this room"
    assert not panel.remove_button.isVisible(), "alice is neither admin nor creator"

    panel.show_room(replace(PLANS, creator="alice"))
    assert panel.members.index(0).data() == "alice (you, creator)"
    assert panel.remove_button.isVisible()
    panel.list.setCurrentIndex(panel.members.index(1))
    panel.remove_button.click()
    with qtbot.waitSignal(panel.removeRequested) as removed:
        answer(panel.remove_box, QMessageBox.ButtonRole.AcceptRole)
    assert removed.args == ["plans", "carol"]


def test_invite_offers_only_people_not_in_the_room(qtbot: QtBot) -> None:
    panel = MembersPanel("alice")
    qtbot.addWidget(panel)
    panel.set_people(PEOPLE)
    panel.show_room(PLANS)
    panel.show()
    panel.invite_button.click()
    dialog = panel.invite_dialog
    assert dialog is not None
    picker = dialog.picker
    offered = [picker.matches.index(r, 0).data() for r in range(picker.matches.rowCount())]
    assert offered == ["dave"]
    picker.choose("dave")
    with qtbot.waitSignal(panel.inviteRequested) as invited:
        dialog.ok_button.click()
    assert invited.args == ["plans", ["dave"]]


def test_a_direct_message_has_members_but_no_invite_or_leave(qtbot: QtBot) -> None:
    panel = MembersPanel("alice")
    qtbot.addWidget(panel)
    panel.set_people(PEOPLE)
    panel.show_room(DM_BOB)
    panel.set_admin(True)
    panel.show()
    assert panel.members.rowCount() == 2
    assert not panel.invite_button.isVisible()
    assert not panel.leave_button.isVisible() and not panel.remove_button.isVisible()
    with qtbot.waitSignal(panel.directMessageRequested) as wanted:
        panel.list.activated.emit(panel.members.index(1))
    assert wanted.args == [["bob"]]
