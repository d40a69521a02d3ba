"""The composer: where a message is written. Enter sends, Shift+Enter adds a line.

The composer knows nothing about rooms or the network: it emits
:attr:`Composer.submitted` with the text and :attr:`Composer.edited` on every
change; the main window hands both to the chat controller (which throttles the
typing notices, see controller/typing.py).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QToolButton, QWidget

from chat_protocol.rules import TEXT_MAX

from .resources import icon


class Composer(QPlainTextEdit):
    """A plain text editor that grows with its text up to a few lines.

    Signals:
        submitted(str): Enter was pressed on a non-empty text; the field is cleared.
        edited(str): the text changed (typed, pasted, cleared).
        refused(str): the text cannot be sent as it is (too long); it stays in
            the field, and the sentence says why.
    """

    submitted = Signal(str)
    edited = Signal(str)
    refused = Signal(str)

    MAX_LINES = 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setPlaceholderText("Write a message…  (Enter sends, Shift+Enter adds a line)")
        self.setTabChangesFocus(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.textChanged.connect(self._on_text_changed)
        self._fit_height()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submit()
            return
        super().keyPressEvent(event)

    def submit(self) -> None:
        """Send what is written, if anything, and clear the field."""
        text = self.toPlainText()
        if not text.strip():
            return
        if len(text.strip()) > TEXT_MAX:
            # Keep the text: the user shortens it rather than losing it.
            self.refused.emit(
                f"A message can hold at most {TEXT_MAX} characters; "
                f"this one has {len(text.strip())}."
            )
            return
        self.clear()
        self.submitted.emit(text)

    def _on_text_changed(self) -> None:
        self._fit_height()
        self.edited.emit(self.toPlainText())

    def _fit_height(self) -> None:
        lines = max(1, min(self.MAX_LINES, int(self.document().size().height())))
        margins = self.contentsMargins()
        line_height = self.fontMetrics().lineSpacing()
        height = lines * line_height + 2 * int(self.document().documentMargin())
        self.setFixedHeight(height + margins.top() + margins.bottom() + 14)


class ComposerBox(QWidget):
    """The composer with its send button, along the bottom of the conversation.

    Signals: none of its own; connect to ``composer.submitted`` and ``composer.edited``.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerBox")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.composer = Composer(self)
        self.send_button = QToolButton(self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.setIconSize(QSize(22, 22))
        self.send_button.clicked.connect(self.composer.submit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 10, 10)
        layout.setSpacing(6)
        layout.addWidget(self.composer, 1)
        layout.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.refresh_icons()

    def refresh_icons(self) -> None:
        self.send_button.setIcon(icon("send"))
