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

Issue 12 adds a "private" switch and a members picker: they belong between
the note and the buttons, and :attr:`NewRoomDialog.createRequested` will then
carry them too.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chat_desktop.controller.room_requests import room_name_of
from chat_desktop.controller.wording import say

NEW_ROOM_DIALOG = "newRoomDialog"


def hint() -> str:
    """What a room name may hold, shown under the field until something is wrong."""
    return QCoreApplication.translate(
        "NewRoomDialog", "Lower-case letters, digits, - and _; up to 64 characters."
    )


class NewRoomDialog(QDialog):
    """Asks for a room name and stays open until the room exists or the user cancels.

    Signals:
        createRequested(str): Create was pressed on an acceptable name (trimmed,
            lower-cased); answer with room_created() or room_refused().
    """

    createRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
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
        layout.addSpacing(6)
        layout.addWidget(buttons)
        self.setMinimumWidth(400)

        self.name_field.textEdited.connect(self._edited)
        self._check()

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
        self.name_field.setReadOnly(False)
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
        self.name_field.setReadOnly(True)
        self.create_button.setEnabled(False)
        self._show(self.tr("Creating #{room}…").format(room=self.asked), error=False)
        self.createRequested.emit(self.asked)

    def _show(self, text: str, *, error: bool) -> None:
        self.note.setText(text)
        if self.showing_error != error:
            self.note.setProperty("error", error)
            # A dynamic property selects a style rule only after a re-polish.
            self.note.style().unpolish(self.note)
            self.note.style().polish(self.note)
