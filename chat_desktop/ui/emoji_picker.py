"""EmojiPicker: a small popup of common emoji to react to a message with.

Opened from a message's hover "React" button or its context menu (see
:mod:`.message_actions`); choosing an emoji emits :attr:`EmojiPicker.chosen`
and closes the popup, Esc or a click outside closes it without a choice. The
emoji are buttons in a grid, so the keyboard reaches them too (arrow keys
move, Enter or Space picks).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QToolButton, QWidget

from .reactions import COMMON_EMOJI

COLUMNS = 6


class EmojiPicker(QFrame):
    """A popup grid of :data:`~.reactions.COMMON_EMOJI`.

    Signals:
        chosen(str): an emoji was picked (the popup closes itself).
    """

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("emojiPicker")
        self.setAccessibleName(self.tr("Choose a reaction"))
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QGridLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(2)
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 9.0) * 1.35)
        self.buttons: list[QToolButton] = []
        for number, emoji in enumerate(COMMON_EMOJI):
            button = QToolButton(self)
            button.setText(emoji)
            button.setFont(font)
            button.setAutoRaise(True)
            button.setAccessibleName(emoji)
            button.setToolTip(emoji)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.clicked.connect(lambda _=False, e=emoji: self._choose(e))
            layout.addWidget(button, number // COLUMNS, number % COLUMNS)
            self.buttons.append(button)

    def popup_at(self, where: QPoint) -> None:
        """Show the picker with its top left at ``where`` (global), kept on the screen."""
        self.adjustSize()
        screen = QGuiApplication.screenAt(where) or QGuiApplication.primaryScreen()
        area: QRect = screen.availableGeometry()
        x = min(max(where.x(), area.left()), area.right() - self.width())
        y = where.y()
        if y + self.height() > area.bottom():
            y = where.y() - self.height()
        self.move(max(area.left(), x), max(area.top(), y))
        self.show()
        self.buttons[0].setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        moves = {
            Qt.Key.Key_Left: -1,
            Qt.Key.Key_Right: 1,
            Qt.Key.Key_Up: -COLUMNS,
            Qt.Key.Key_Down: COLUMNS,
        }
        focused = self.focusWidget()
        if event.key() in moves and focused in self.buttons:
            at = self.buttons.index(focused)
            self.buttons[(at + moves[Qt.Key(event.key())]) % len(self.buttons)].setFocus()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and focused in self.buttons:
            focused.click()
            return
        super().keyPressEvent(event)

    def _choose(self, emoji: str) -> None:
        self.chosen.emit(emoji)
        self.close()
