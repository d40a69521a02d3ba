"""The line under the conversation that says who is typing."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QLabel, QWidget


def typing_sentence(users: list[str]) -> str:
    """ "alice is typing...", "alice and bob are typing...", "several people are typing..."."""
    if not users:
        return ""
    if len(users) == 1:
        return QCoreApplication.translate("TypingLine", "{name} is typing...").format(name=users[0])
    if len(users) == 2:
        return QCoreApplication.translate(
            "TypingLine", "{first} and {second} are typing..."
        ).format(first=users[0], second=users[1])
    return QCoreApplication.translate("TypingLine", "several people are typing...")


class TypingLine(QLabel):
    """A plain-text label showing :func:`typing_sentence` for the current room.

    User names are shown as plain text (never rich text), and the label keeps
    its height when empty so that the conversation does not jump.

    Signals: none.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("typingLine")
        self.setAccessibleName(self.tr("Who is typing"))
        self.setTextFormat(Qt.TextFormat.PlainText)

    def show_users(self, users: list[str]) -> None:
        self.setText(typing_sentence(users))
