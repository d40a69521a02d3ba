"""The line under the conversation that says who is typing."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


def typing_sentence(users: list[str]) -> str:
    """ "alice is typing...", "alice and bob are typing...", "several people are typing..."."""
    if not users:
        return ""
    if len(users) == 1:
        return f"{users[0]} is typing..."
    if len(users) == 2:
        return f"{users[0]} and {users[1]} are typing..."
    return "several people are typing..."


class TypingLine(QLabel):
    """A plain-text label showing :func:`typing_sentence` for the current room.

    User names are shown as plain text (never rich text), and the label keeps
    its height when empty so that the conversation does not jump.

    Signals: none.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("typingLine")
        self.setTextFormat(Qt.TextFormat.PlainText)

    def show_users(self, users: list[str]) -> None:
        self.setText(typing_sentence(users))
