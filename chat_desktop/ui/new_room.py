"""NewRoomDialog: name a room, see at once whether the server will take the name, and why not.

Opened from the Chat menu (or the + next to ROOMS). The name is checked as it
is typed by :func:`~chat_desktop.controller.room_requests.room_name_of`, the
controller's own check: the protocol's rule
(:func:`chat_protocol.rules.validate_room_name`, the one the server applies)
after trimming and lower-casing (upper case is lowered in the field as it is typed, so what
is shown is what gets created). The reason a name is not acceptable is shown
under the field, and Create stays disabled until it is.

Create hands the name to the window (``createRequested``), which asks the
:class:`~chat_desktop.controller.chat.ChatController`; the dialog then waits
for the answer about that name: :meth:`NewRoomDialog.room_created` closes it,
:meth:`NewRoomDialog.room_refused` (too many new rooms, offline, the server's
refusal) keeps it open with the text as typed and the reason under the field.
Errors are where the user is looking; the status bar is for the connection.

Under the note, the "Private room" switch: a private room is seen only by
its members, so switching it on shows a people picker (:mod:`.people`) for
those to invite at once; :attr:`NewRoomDialog.createRequested` carries the
switch and the picked people with the name. While the answer is awaited
nothing can be changed; a refusal gives everything back as it was, the
switch and the picks included.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chat_desktop.controller.entries import MemberEntry
from chat_desktop.controller.room_requests import room_name_of
from chat_desktop.controller.wording import say

from .people import PeoplePicker

NEW_ROOM_DIALOG = "newRoomDialog"


def hint() -> str:
    """What a room name may hold, shown under the field until something is wrong."""
    return QCoreApplication.translate(
        "NewRoomDialog", "Lower-case letters, digits, - and _; up to 64 characters."
    )


class NewRoomDialog(QDialog):
    """Asks for a room name and stays open until the room exists or the user cancels.

    Signals:
        createRequested(str, bool, list): Create was pressed on an acceptable
            name (trimmed, lower-cased): the name, whether the room is private,
            and the people to invite to it (empty for a public room); answer
            with room_created() or room_refused().
    """

    createRequested = Signal(str, bool, list)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        people: list[MemberEntry] | None = None,
        me: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName(NEW_ROOM_DIALOG)
        self.setWindowTitle(self.tr("New room"))
        # The name whose answer is awaited (Create was pressed), if any.
        self.asked: str | None = None

        label = QLabel(self.tr("Room &name"), self)
        self.name_field = QLineEdit(self)
        self.name_field.setPlaceholderText(self.tr("e.g. plans or team-2026"))
        self.name_field.setAccessibleName(self.tr("Room name"))
        self.name_field.setMaxLength(64)
        label.setBuddy(self.name_field)
        # The hint, or why the name does not do. Refusals quote the server:
        # never rich text. Two lines are kept for it, so that a reason
        # appearing or wrapping never moves the buttons under the pointer.
        self.note = QLabel(hint(), self)
        self.note.setObjectName("roomNameNote")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.note.setMinimumHeight(2 * self.note.fontMetrics().lineSpacing() + 4)

        self.private_switch = QCheckBox(self.tr("&Private: only the members see it"), self)
        self.private_switch.setObjectName("privateSwitch")
        self.private_switch.setAccessibleName(self.tr("Private room"))
        self.members_label = QLabel(self.tr("&Members to invite"), self)
        self.members_picker = PeoplePicker(self, enter_submits=False)
        self.members_picker.set_people(people or [], leave_out=frozenset({me}))
        self.members_label.setBuddy(self.members_picker.filter)
        self.members_label.hide()
        self.members_picker.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.create_button = QPushButton(self.tr("Create"), self)
        self.create_button.setDefault(True)
        buttons.addButton(self.create_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self._create)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(6)
        layout.addWidget(label)
        layout.addWidget(self.name_field)
        layout.addWidget(self.note)
        layout.addWidget(self.private_switch)
        layout.addWidget(self.members_label)
        layout.addWidget(self.members_picker, 1)
        layout.addSpacing(6)
        layout.addWidget(buttons)
        self.setMinimumWidth(400)

        self.name_field.textEdited.connect(self._edited)
        self.private_switch.toggled.connect(self._private_toggled)
        self._check()

    def _private_toggled(self, private: bool) -> None:
        self.members_label.setVisible(private)
        self.members_picker.setVisible(private)
        # Room for the picker when it shows; back to the small dialog when it goes.
        if private:
            self.resize(self.width(), max(self.height(), 460))
        else:
            self.adjustSize()

    @property
    def showing_error(self) -> bool:
        """Whether the note under the field is a reason (not the hint)."""
        return bool(self.note.property("error"))

    @Slot(str)
    def room_created(self, name: str) -> None:
        """The room ``name`` exists now: done, if it is the one asked for."""
        if name == self.asked:
            self.asked = None
            self.accept()

    @Slot(str, str)
    def room_refused(self, name: str, reason: str) -> None:
        """The room ``name`` was not created: say why, keep what was typed."""
        if name != self.asked:
            return
        self.asked = None
        self._freeze(False)
        self.name_field.setFocus()
        self._show(reason, error=True)
        self.create_button.setEnabled(not room_name_of(self.name_field.text())[1])

    def _edited(self, text: str) -> None:
        lowered = text.lower()
        if lowered != text:
            # Room names are lower case: lower it where it is typed, cursor kept.
            cursor = self.name_field.cursorPosition()
            self.name_field.setText(lowered)
            self.name_field.setCursorPosition(cursor)
        self._check()

    def _check(self) -> None:
        text = self.name_field.text()
        # Nothing typed yet is no mistake: the hint says what fits.
        problem = say(room_name_of(text)[1]) if text else ""
        self._show(problem or hint(), error=bool(problem))
        self.create_button.setEnabled(bool(text) and not problem)

    def _create(self) -> None:
        name, problem = room_name_of(self.name_field.text())
        if self.asked is not None or problem:
            return
        self.asked = name
        self._freeze(True)
        self.create_button.setEnabled(False)
        self._show(self.tr("Creating #{room}…").format(room=self.asked), error=False)
        private = self.private_switch.isChecked()
        members = self.members_picker.chosen() if private else []
        self.createRequested.emit(self.asked, private, members)

    def _freeze(self, frozen: bool) -> None:
        """Nothing changes while the answer is awaited; all of it comes back on a refusal."""
        self.name_field.setReadOnly(frozen)
        self.private_switch.setEnabled(not frozen)
        self.members_picker.setEnabled(not frozen)

    def _show(self, text: str, *, error: bool) -> None:
        self.note.setText(text)
        if self.showing_error != error:
            self.note.setProperty("error", error)
            # A dynamic property selects a style rule only after a re-polish.
            self.note.style().unpolish(self.note)
            self.note.style().polish(self.note)
