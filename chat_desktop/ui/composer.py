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

Version 2 gives the composer two modes, each shown by a banner above the
field with a button that ends it (Esc does too): *replying* to a message
("Replying to bob: first line"; the message sent carries ``reply_to``) and
*editing* one of mine ("Editing message": the field holds its text, Enter
saves it). Up in an empty field asks for my last message to edit
(:attr:`Composer.editLastRequested`). What happens then is the window's
business (see :mod:`.message_actions`): the box only says what the user wants,
through :attr:`ComposerBox.sendRequested` and :attr:`ComposerBox.editRequested`.

Drafts: what is typed and not sent belongs to the room it was typed in. The
box keeps it through the two functions :meth:`ComposerBox.keep_drafts` is
given (the controller's ``draft``/``set_draft``, kept in the cache across
restarts): a second after the typing stops, when another room is shown
(:meth:`ComposerBox.show_room`, which then puts that room's draft in the
field) and when the window closes (:meth:`ComposerBox.save_draft`). Sending
clears it. An edit or a reply in progress is not a draft: switching rooms
ends it, and while editing the draft is what the field held before the edit.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, QLocale, QSize, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from chat_desktop.controller.entries import MessageEntry
from chat_protocol.rules import TEXT_MAX

from .resources import icon
from .text_spans import plain_tooltip


class Composer(QPlainTextEdit):
    """A plain text editor that grows with its text up to a few lines.

    Signals:
        submitted(str): Enter was pressed on a non-empty text; the field is cleared.
        edited(str): the text changed (typed, pasted, cleared).
        refused(str): the text cannot be sent as it is (too long); it stays in
            the field, and the sentence says why.
        editLastRequested(): Up was pressed in the empty field (edit my last message).
        cancelRequested(): Esc was pressed (no completer open): end replying or editing.
    """

    submitted = Signal(str)
    edited = Signal(str)
    refused = Signal(str)
    editLastRequested = Signal()
    cancelRequested = Signal()

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
        if event.key() == Qt.Key.Key_Escape:
            self.cancelRequested.emit()
            return
        if (
            event.key() == Qt.Key.Key_Up
            and not self.toPlainText()
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
        ):
            self.editLastRequested.emit()
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

    def refit(self) -> None:
        """Fit the height to a text set with signals blocked."""
        self._fit_height()

    def _fit_height(self) -> None:
        lines = max(1, min(self.MAX_LINES, int(self.document().size().height())))
        margins = self.contentsMargins()
        line_height = self.fontMetrics().lineSpacing()
        height = lines * line_height + 2 * int(self.document().documentMargin())
        self.setFixedHeight(height + margins.top() + margins.bottom() + 14)


class ElidedLabel(QLabel):
    """A one-line plain text label that elides its text to its width (never cut, never wider)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def set_full_text(self, text: str) -> None:
        # One line: a quoted first line may still hold a line separator.
        self._full = " ".join(text.split("\n"))
        self.setToolTip(plain_tooltip(self._full))
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(
            self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, self.width())
        )


class ComposerBanner(QFrame):
    """The line above the composer while replying or editing, with a button to stop.

    Signals:
        closed(): its button was pressed (the same as Esc in the composer).
    """

    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.label = ElidedLabel(self)
        self.label.setObjectName("composerBannerText")
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("composerBannerClose")
        self.close_button.setAutoRaise(True)
        self.close_button.setText("✕")
        self.close_button.setToolTip(self.tr("Cancel (Esc)"))
        self.close_button.setAccessibleName(self.tr("Cancel"))
        self.close_button.clicked.connect(self.closed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 2, 2)
        layout.setSpacing(4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self.hide()

    def show_text(self, text: str) -> None:
        self.label.set_full_text(text)
        self.label.setAccessibleName(text)
        self.show()


class ComposerBox(QWidget):
    """The composer with its send button, its counter and its inline notice.

    Under the field, one line holds the reason a message was refused (left)
    and, once the text passes :data:`COUNTER_FROM` of the limit, the count of
    characters against it (right). The line keeps its height whether empty or
    not, so nothing above it moves when a notice appears.

    Above the field, a :class:`ComposerBanner` while replying or editing.

    Signals:
        sendRequested(str, object): send this text, as a reply to the given
            MessageEntry or (None) as a new message.
        editRequested(object, str): replace the text of my MessageEntry.
        (``composer.edited`` still says every change, for the typing notices.)
    """

    sendRequested = Signal(str, object)
    editRequested = Signal(object, str)

    # The counter shows from this share of TEXT_MAX on (Slack and Mattermost
    # show theirs near the limit only, so it does not nag).
    COUNTER_FROM = 0.9
    # The draft is kept this many milliseconds after the typing stops: one
    # cache write per pause, not one per keystroke.
    DRAFT_DELAY_MS = 1000

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
        self.banner = ComposerBanner(self)
        # The message answered (replying) or being changed (editing), if any.
        self.replying: MessageEntry | None = None
        self.editing: MessageEntry | None = None
        # What the field held before an edit began: it comes back afterwards.
        self._kept_text = ""
        layout = QGridLayout(self)
        layout.setContentsMargins(12, 8, 10, 4)
        layout.setHorizontalSpacing(6)
        layout.setVerticalSpacing(2)
        layout.addWidget(self.banner, 0, 0, 1, 3)
        layout.addWidget(self.composer, 1, 0, 1, 2)
        layout.addWidget(self.send_button, 1, 2, Qt.AlignmentFlag.AlignBottom)
        layout.addWidget(self.notice, 2, 0)
        layout.addWidget(self.counter, 2, 1, 1, 2)
        layout.setColumnStretch(0, 1)
        self.composer.refused.connect(self.notice.setText)
        self.composer.edited.connect(self._count)
        self.composer.submitted.connect(self._submitted)
        self.composer.cancelRequested.connect(self.cancel)
        self.banner.closed.connect(self.cancel)
        # Drafts (see the module): the room on show, where drafts are kept,
        # and the pause after typing that saves one.
        self.room: str | None = None
        self._load_draft: Callable[[str], str] = lambda _room: ""
        self._save_draft: Callable[[str, str], None] = lambda _room, _text: None
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(self.DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self.save_draft)
        self.composer.edited.connect(lambda _text: self._draft_timer.start())
        self.refresh_icons()

    # ------------------------------------------------------------ drafts

    def keep_drafts(self, load: Callable[[str], str], save: Callable[[str, str], None]) -> None:
        """Keep drafts through ``load(room)`` and ``save(room, text)`` (the controller's)."""
        self._load_draft, self._save_draft = load, save

    def draft_text(self) -> str:
        """What is this room's draft now: the field, or while editing what it held before."""
        return self._kept_text if self.editing is not None else self.composer.toPlainText()

    def save_draft(self) -> None:
        """Keep the draft of the room on show now (the typing paused, the window closes)."""
        self._draft_timer.stop()
        if self.room is not None:
            self._save_draft(self.room, self.draft_text())

    def show_room(self, room: str) -> None:
        """``room`` is shown: keep the draft of the one before, end a reply or an edit,
        and put ``room``'s draft in the field."""
        if room == self.room:
            return
        self.save_draft()
        self.replying = self.editing = None
        self._kept_text = ""
        self.banner.hide()
        self.room = room
        draft = self._load_draft(room)
        # Quietly: a draft put back is not typing (no typing notice, no save).
        blocked = self.composer.blockSignals(True)
        try:
            self.composer.setPlainText(draft)
        finally:
            self.composer.blockSignals(blocked)
        self.composer.moveCursor(QTextCursor.MoveOperation.End)
        self.composer.refit()
        self.notice.clear()
        self._count(draft)

    # ------------------------------------------------------------ modes

    def start_reply(self, entry: MessageEntry) -> None:
        """Answer ``entry``: the banner quotes it, the next message sent carries reply_to."""
        if self.editing is not None:
            self.cancel()
        self.replying = entry
        line = entry.text.strip().split("\n", 1)[0]
        self.banner.show_text(
            self.tr("Replying to {author}: {text}").format(author=entry.author, text=line)
        )
        self.composer.setFocus()

    def start_edit(self, entry: MessageEntry) -> None:
        """Change my message ``entry``: its text in the field, "Editing message" above."""
        if self.editing is None:
            self._kept_text = self.composer.toPlainText()
        self.replying = None
        self.editing = entry
        self.banner.show_text(self.tr("Editing message"))
        self.composer.setPlainText(entry.text)
        self.composer.moveCursor(QTextCursor.MoveOperation.End)
        self.composer.setFocus()

    def cancel(self) -> None:
        """End replying or editing (Esc, the banner's button, another room)."""
        if self.editing is not None:
            self.composer.setPlainText(self._kept_text)
            self.composer.moveCursor(QTextCursor.MoveOperation.End)
            self._kept_text = ""
        self.replying = self.editing = None
        self.banner.hide()

    def _submitted(self, text: str) -> None:
        editing, replying = self.editing, self.replying
        if editing is not None:
            kept, self._kept_text = self._kept_text, ""
            self.replying = self.editing = None
            self.banner.hide()
            if text != editing.text:
                self.editRequested.emit(editing, text)
            self.composer.setPlainText(kept)
            self.composer.moveCursor(QTextCursor.MoveOperation.End)
            return
        self.replying = None
        self.banner.hide()
        # Sent: nothing of it is a draft any more (the field is empty already).
        self.save_draft()
        self.sendRequested.emit(text, replying)

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
