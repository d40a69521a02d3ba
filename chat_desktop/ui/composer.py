"""The composer: where a message is written. Enter sends, Shift+Enter adds a line.

The composer knows nothing about rooms or the network: it emits
:attr:`Composer.submitted` with the text and :attr:`Composer.edited` on every
change; the main window hands both to the chat controller (which throttles the
typing notices, see controller/typing.py).

What the user needs while writing is shown where they are looking, in the
:class:`ComposerBox` under the field, never in the status bar (which says
only how the app is connected): a character counter once the text nears the
protocol's limit, and the reason a message cannot be sent. Typing ``@`` opens
a completer of people (:meth:`Composer.set_people`); choosing one writes
``@name``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, QLocale, QSize, QStringListModel, Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QToolButton,
    QWidget,
)

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
    # "@" and what follows it up to the cursor: a mention being typed. A name
    # is what the protocol allows in user names; "@" must start the text or
    # follow white space (so "me@example" is not a mention).
    _MENTION = re.compile(r"(?:^|(?<=\s))@([A-Za-z0-9_.-]*)$")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setAccessibleName(self.tr("Message"))
        self.setPlaceholderText(self.tr("Write a message…  (Enter sends, Shift+Enter adds a line)"))
        self.setTabChangesFocus(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.textChanged.connect(self._on_text_changed)
        # Whether files wait to go with the next message (then it may have no
        # text); the window that attaches files says (see .attachments).
        self.has_attachments: Callable[[], bool] = lambda: False
        # The people @ completes, filtered by what follows the "@".
        self._people = QStringListModel(self)
        self.completer = QCompleter(self._people, self)
        self.completer.setWidget(self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.activated.connect(self._complete_mention)
        self._fit_height()

    def _popup(self) -> QAbstractItemView:
        popup = self.completer.popup()
        assert popup is not None  # QCompleter makes its popup in its constructor
        return popup

    def set_people(self, names: list[str]) -> None:
        """Who ``@`` offers, in the order given (the main window puts online people first)."""
        self._people.setStringList(names)

    def event(self, event: QEvent) -> bool:
        # Tab normally moves the focus before keyPressEvent sees it
        # (setTabChangesFocus); while people are offered, it picks one instead.
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Tab
            and self._popup().isVisible()
        ):
            self.keyPressEvent(event)
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        popup = self._popup()
        if popup.isVisible() and event.key() in (
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
            Qt.Key.Key_Tab,
            Qt.Key.Key_Escape,
        ):
            # The completer's popup takes these: Enter/Tab choose a person
            # (QCompleter's own filter handles Enter; Tab picks the current
            # row), Escape closes it. None of them sends the message.
            if event.key() == Qt.Key.Key_Tab:
                current = popup.currentIndex()
                if not current.isValid():
                    current = self.completer.completionModel().index(0, 0)
                self._complete_mention(str(current.data()))
                popup.hide()
            elif event.key() == Qt.Key.Key_Escape:
                popup.hide()
            else:
                event.ignore()
            return
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submit()
            return
        super().keyPressEvent(event)
        self._offer_mentions()

    def _typed_mention(self) -> str | None:
        """The partial name after an "@" just before the cursor, or None."""
        cursor = self.textCursor()
        block = cursor.block().text()[: cursor.positionInBlock()]
        match = self._MENTION.search(block)
        return None if match is None else match.group(1)

    def _offer_mentions(self) -> None:
        prefix = self._typed_mention()
        if prefix is None or self._people.rowCount() == 0:
            self._popup().hide()
            return
        self.completer.setCompletionPrefix(prefix)
        if self.completer.completionCount() == 0:
            self._popup().hide()
            return
        popup = self._popup()
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
        rect = self.cursorRect()
        rect.setWidth(max(180, popup.sizeHintForColumn(0) + 24))
        self.completer.complete(rect)

    def _complete_mention(self, name: str) -> None:
        """Replace the partial ``@na`` before the cursor with ``@name ``."""
        prefix = self._typed_mention()
        if prefix is None:
            return
        cursor = self.textCursor()
        cursor.movePosition(
            QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(prefix)
        )
        cursor.insertText(f"{name} ")
        self.setTextCursor(cursor)

    def submit(self) -> None:
        """Send what is written, if anything (or files are attached), and clear the field."""
        text = self.toPlainText()
        if not text.strip() and not self.has_attachments():
            return
        if len(text.strip()) > TEXT_MAX:
            # Keep the text: the user shortens it rather than losing it.
            self.refused.emit(
                self.tr(
                    "A message can hold at most {limit} characters; this one has {length}."
                ).format(limit=TEXT_MAX, length=len(text.strip()))
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
    """The composer with its send button, its counter and its inline notice.

    Under the field, one line holds the reason a message was refused (left)
    and, once the text passes :data:`COUNTER_FROM` of the limit, the count of
    characters against it (right). The line keeps its height whether empty or
    not, so nothing above it moves when a notice appears.

    Signals: none of its own; connect to ``composer.submitted`` and ``composer.edited``.
    """

    # The counter shows from this share of TEXT_MAX on (Slack and Mattermost
    # show theirs near the limit only, so it does not nag).
    COUNTER_FROM = 0.9

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerBox")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.composer = Composer(self)
        self.send_button = QToolButton(self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip(self.tr("Send (Enter)"))
        self.send_button.setAccessibleName(self.tr("Send"))
        self.send_button.setIconSize(QSize(22, 22))
        self.send_button.clicked.connect(self.composer.submit)
        # The refusal, in the user's words; plain text (it may quote nothing
        # of the message, but every label here is plain on principle).
        self.notice = QLabel(self)
        self.notice.setObjectName("composerNotice")
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(False)
        self.counter = QLabel(self)
        self.counter.setObjectName("composerCounter")
        self.counter.setTextFormat(Qt.TextFormat.PlainText)
        self.counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        line_height = self.notice.fontMetrics().height()
        self.notice.setFixedHeight(line_height)
        self.counter.setFixedHeight(line_height)
        layout = QGridLayout(self)
        layout.setContentsMargins(12, 8, 10, 4)
        layout.setHorizontalSpacing(6)
        layout.setVerticalSpacing(2)
        layout.addWidget(self.composer, 0, 0, 1, 2)
        layout.addWidget(self.send_button, 0, 2, Qt.AlignmentFlag.AlignBottom)
        layout.addWidget(self.notice, 1, 0)
        layout.addWidget(self.counter, 1, 1, 1, 2)
        layout.setColumnStretch(0, 1)
        self.composer.refused.connect(self.notice.setText)
        self.composer.edited.connect(self._count)
        self.refresh_icons()

    def _count(self, text: str) -> None:
        """Update the counter; a notice about length goes once the text fits again."""
        length = len(text.strip())
        self.counter.setText(
            f"{QLocale().toString(length)} / {QLocale().toString(TEXT_MAX)}"
            if length >= TEXT_MAX * self.COUNTER_FROM
            else ""
        )
        self.counter.setProperty("over", length > TEXT_MAX)
        self.counter.style().unpolish(self.counter)
        self.counter.style().polish(self.counter)
        if length <= TEXT_MAX:
            self.notice.clear()

    def refresh_icons(self) -> None:
        self.send_button.setIcon(icon("send"))
