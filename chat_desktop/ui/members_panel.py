"""MembersPanel: who is in a private room (or a direct message), invite, remove, leave.

Shown to the right of the conversation for a private room or a direct
message (the header's members button toggles it). It lists the room's
members (``RoomEntry.members``) with the presence dots of the People list,
"(you)" beside my own name and "(creator)" beside the room's creator when the
server names them (``RoomEntry.creator``). Enter or a double click on a
member opens a direct message with them.

In a private room:

- **Invite…** opens a :class:`~.people.PeopleDialog` of everyone not in the
  room; each one picked is invited (``ChatController.invite``);
- **Remove** (the selected member, after a confirmation) is there for those
  the server lets remove: the room's creator and admins. Who created the
  room comes from the room object's ``creator`` (our server's extension);
  from a server that does not send it only admins see Remove, and a creator
  who is no admin would get the server's refusal if they tried another way;
- **Leave…** asks first (a private room is only open again by invitation).

A direct message has no invite, remove or leave: nobody joins or leaves one.
The panel only emits what the user asked for; the window calls the
controller. Questions are opened with ``open()``, not ``exec()`` (no nested
event loop under qasync).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chat_desktop.controller.entries import MemberEntry, RoomEntry

from .people import PeopleDialog
from .side_bar import NAME_ROLE, MemberListModel


class MembersPanel(QWidget):
    """The members of the room on screen; see the module docstring.

    Signals:
        inviteRequested(str, list): room, the users picked to invite.
        removeRequested(str, str): room, the member to remove (confirmed).
        leaveRequested(str): room (confirmed).
        directMessageRequested(list): open a direct message with these users.
    """

    inviteRequested = Signal(str, list)
    removeRequested = Signal(str, str)
    leaveRequested = Signal(str)
    directMessageRequested = Signal(list)

    def __init__(self, me: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("membersPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.me = me
        # The room shown, everyone the controller knows (for presence and the
        # invite dialog), and whether I am an admin (who may remove anywhere).
        self.room: RoomEntry | None = None
        self._people: list[MemberEntry] = []
        self.admin = False
        # The open questions and dialog, if any (tests answer them).
        self.leave_box: QMessageBox | None = None
        self.remove_box: QMessageBox | None = None
        self.invite_dialog: PeopleDialog | None = None

        self.title = QLabel(self)
        self.title.setObjectName("sectionTitle")
        self.title.setWordWrap(True)
        self.members = MemberListModel(self)
        self.members.set_me(me)
        self.list = QListView(self)
        self.list.setObjectName("membersList")
        self.list.setModel(self.members)
        self.list.setAccessibleName(self.tr("Members"))
        self.list.setIconSize(QSize(12, 12))
        self.list.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.invite_button = QPushButton(self.tr("Invite…"), self)
        self.invite_button.setToolTip(self.tr("Invite people to this room"))
        self.remove_button = QPushButton(self.tr("Remove"), self)
        self.remove_button.setToolTip(self.tr("Remove the selected member from this room"))
        self.leave_button = QPushButton(self.tr("Leave…"), self)
        self.leave_button.setToolTip(self.tr("Leave this room"))
        buttons = QHBoxLayout()
        buttons.setContentsMargins(8, 0, 8, 0)
        buttons.setSpacing(4)
        buttons.addWidget(self.invite_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 8)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        leave_row = QHBoxLayout()
        leave_row.setContentsMargins(8, 0, 8, 0)
        leave_row.addWidget(self.leave_button)
        leave_row.addStretch(1)
        layout.addLayout(leave_row)
        self.setMinimumWidth(150)

        self.invite_button.clicked.connect(self.ask_invite)
        self.remove_button.clicked.connect(self._remove_selected)
        self.leave_button.clicked.connect(self.ask_leave)
        self.list.activated.connect(self._message_member)
        self.list.doubleClicked.connect(self._message_member)
        self.list.selectionModel().currentChanged.connect(self._update_buttons)
        self.list.customContextMenuRequested.connect(self._context_menu)

    def show_room(self, room: RoomEntry | None) -> None:
        """Show the members of ``room`` (None: nothing to show)."""
        switched = (room and room.name) != (self.room and self.room.name)
        self.room = room
        if switched:
            for box in (self.leave_box, self.remove_box, self.invite_dialog):
                if box is not None:
                    # A question about another room must not be answered for this one.
                    box.reject()
        self._fill()

    def set_people(self, people: list[MemberEntry]) -> None:
        """Everyone the controller knows: their presence, and whom to offer for invites."""
        self._people = list(people)
        self._fill()

    def set_admin(self, admin: bool) -> None:
        """Whether I am an admin (the server says so in ``welcome``)."""
        self.admin = admin
        self._update_buttons()

    @property
    def can_remove(self) -> bool:
        """Whether I may remove members of the room shown: it is private and I
        am an admin or its creator (the server's rule)."""
        room = self.room
        if room is None or room.kind != "private":
            return False
        # Account names are unique case-insensitively, as the server compares them.
        mine = room.creator is not None and room.creator.lower() == self.me.lower()
        return self.admin or mine

    def ask_invite(self) -> None:
        room = self.room
        if room is None or room.kind != "private":
            return
        if self.invite_dialog is not None:
            self.invite_dialog.raise_()
            return
        dialog = PeopleDialog(
            self.tr("Invite to {room}").format(room=room.label),
            self.tr("Invite"),
            self._people,
            leave_out=frozenset(room.members),
            note=self.tr("They will see the room and its whole history."),
            parent=self,
        )
        dialog.peopleChosen.connect(lambda users: self.inviteRequested.emit(room.name, users))
        self.invite_dialog = dialog
        dialog.finished.connect(lambda _result: self._closed("invite_dialog", dialog))
        dialog.open()

    def ask_leave(self) -> None:
        room = self.room
        if room is None or room.kind != "private":
            return
        box = self._question(
            self.tr("Leave room"),
            self.tr("Leave {room}? You can only come back if a member invites you.").format(
                room=room.label
            ),
            self.tr("Leave"),
            lambda: self.leaveRequested.emit(room.name),
        )
        self.leave_box = box
        box.finished.connect(lambda _result: self._closed("leave_box", box))

    def ask_remove(self, user: str) -> None:
        room = self.room
        if room is None or not self.can_remove or user == self.me:
            return
        box = self._question(
            self.tr("Remove member"),
            self.tr("Remove {user} from {room}?").format(user=user, room=room.label),
            self.tr("Remove"),
            lambda: self.removeRequested.emit(room.name, user),
        )
        self.remove_box = box
        box.finished.connect(lambda _result: self._closed("remove_box", box))

    # ------------------------------------------------------------ private

    def _question(self, title: str, text: str, yes: str, then: Callable[[], None]) -> QMessageBox:
        cancel = QMessageBox.StandardButton.Cancel
        box = QMessageBox(QMessageBox.Icon.Question, title, text, cancel, self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        button.clicked.connect(then)
        box.finished.connect(box.deleteLater)
        box.open()
        return box

    def _closed(self, attribute: str, widget: QWidget) -> None:
        if getattr(self, attribute) is widget:
            setattr(self, attribute, None)

    def _fill(self) -> None:
        room = self.room
        members = list(room.members) if room is not None else []
        online = {person.name: person for person in self._people}
        self.members.set_creator(room.creator if room is not None else None)
        self.members.set_members([online.get(name, MemberEntry(name, False)) for name in members])
        self.title.setText(self.tr("MEMBERS · %n", "", len(members)))
        private = room is not None and room.kind == "private"
        self.invite_button.setVisible(private)
        self.leave_button.setVisible(private)
        self._update_buttons()

    def _selected(self) -> str | None:
        index = self.list.currentIndex()
        return str(index.data(NAME_ROLE)) if index.isValid() else None

    def _update_buttons(self) -> None:
        self.remove_button.setVisible(self.can_remove)
        selected = self._selected()
        self.remove_button.setEnabled(selected is not None and selected != self.me)

    def _remove_selected(self) -> None:
        selected = self._selected()
        if selected is not None:
            self.ask_remove(selected)

    def _message_member(self, index: QModelIndex) -> None:
        name = str(index.data(NAME_ROLE))
        if index.isValid() and name != self.me:
            self.directMessageRequested.emit([name])

    def _context_menu(self, where: QPoint) -> None:
        index = self.list.indexAt(where)
        if not index.isValid():
            return
        name = str(index.data(NAME_ROLE))
        if name == self.me:
            return
        menu = QMenu(self)
        message = menu.addAction(self.tr("Send a direct message"))
        message.triggered.connect(lambda: self.directMessageRequested.emit([name]))
        if self.can_remove:
            remove = menu.addAction(self.tr("Remove from room…"))
            remove.triggered.connect(lambda: self.ask_remove(name))
        menu.aboutToHide.connect(menu.deleteLater)
        menu.popup(self.list.viewport().mapToGlobal(where))
