"""What the user can do to one message (Version 2), and the wiring that does it.

Three parts:

- :func:`available_actions` says which actions a message offers me: Reply
  and React on any stored message; Edit on mine; Delete on mine, or on any
  for an admin; Copy text on any that has text. Pure, so the rules are
  tested without widgets.
- :class:`HoverActions` is the small bar of buttons (React, Reply, More)
  that :class:`~.message_view.MessageView` shows over the row under the
  mouse; "More" and a right click open :func:`message_menu`, the context
  menu with every action.
- :class:`MessageActions` connects all of it in one place: the view's and
  the delegate's requests (menu, hover buttons, reaction chips, a reply's
  quote), the composer's modes (reply, edit, Up to edit my last message),
  the emoji picker, the delete confirmation, and "Seen by" (the
  controller's ``readsChanged``). It calls the
  :class:`~chat_desktop.controller.chat.ChatController` and nothing else:
  every change comes back through ``messagesChanged`` like any other, so
  what the user sees is what the controller has (shown at once, optimistically).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QCoreApplication,
    QObject,
    QPoint,
    Qt,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractButton,
    QFrame,
    QHBoxLayout,
    QMenu,
    QMessageBox,
    QToolButton,
    QWidget,
)

from chat_desktop.controller.entries import DeliveryState, MessageEntry

from .emoji_picker import EmojiPicker

if TYPE_CHECKING:
    from chat_desktop.controller.chat import ChatController

    from .composer import ComposerBox
    from .message_model import MessageListModel
    from .message_view import MessageView


class MessageAction(enum.Enum):
    """An action on one message, in the order the menu lists them."""

    REPLY = "reply"
    REACT = "react"
    EDIT = "edit"
    DELETE = "delete"
    COPY = "copy"


def available_actions(entry: MessageEntry, me: str, admin: bool) -> list[MessageAction]:
    """The actions ``entry`` offers to ``me`` (an admin when ``admin``), in menu order.

    A deleted message offers nothing. A refused one (FAILED) only Copy: it
    never reached the server, so nothing can point at it there. A reply
    needs the seq of what it answers, so one of mine still on its way
    offers no Reply; edits and reactions aimed at it wait in the outbox
    behind it (the controller targets it by client_id).
    """
    if entry.deleted:
        return []
    if entry.state is DeliveryState.FAILED:
        return [MessageAction.COPY] if entry.text else []
    actions = []
    if entry.seq is not None:
        actions.append(MessageAction.REPLY)
    actions.append(MessageAction.REACT)
    mine = entry.author == me
    if mine:
        actions.append(MessageAction.EDIT)
    if mine or admin:
        actions.append(MessageAction.DELETE)
    if entry.text:
        actions.append(MessageAction.COPY)
    return actions


def action_text(action: MessageAction) -> str:
    """The menu entry for ``action``, translated."""
    translate = QCoreApplication.translate
    texts = {
        MessageAction.REPLY: translate("MessageActions", "Reply"),
        MessageAction.REACT: translate("MessageActions", "React…"),
        MessageAction.EDIT: translate("MessageActions", "Edit"),
        MessageAction.DELETE: translate("MessageActions", "Delete…"),
        MessageAction.COPY: translate("MessageActions", "Copy text"),
    }
    return texts[action]


class HoverActions(QFrame):
    """The buttons over the row under the mouse: React, Reply, More (the context menu).

    The view places it and says which message it stands for
    (:meth:`show_for`); the buttons' clicks go out with that message.

    Signals:
        reactRequested(object, QPoint): the MessageEntry and where to open the picker.
        replyRequested(object): the MessageEntry to answer.
        menuRequested(object, QPoint): the MessageEntry and where to open its menu.
    """

    reactRequested = Signal(object, QPoint)
    replyRequested = Signal(object)
    menuRequested = Signal(object, QPoint)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hoverActions")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.entry: MessageEntry | None = None
        # Glyphs every desktop font has, so the bar looks the same everywhere.
        self.react_button = self._button("☺", self.tr("Add a reaction"))
        self.reply_button = self._button("↩", self.tr("Reply"))
        self.more_button = self._button("⋯", self.tr("More actions"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 1, 2, 1)
        layout.setSpacing(0)
        for button in (self.react_button, self.reply_button, self.more_button):
            layout.addWidget(button)
        self.react_button.clicked.connect(
            lambda: self._emit_at(self.reactRequested, self.react_button)
        )
        self.reply_button.clicked.connect(self._reply)
        self.more_button.clicked.connect(
            lambda: self._emit_at(self.menuRequested, self.more_button)
        )
        self.hide()

    def _button(self, glyph: str, name: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(glyph)
        button.setToolTip(name)
        button.setAccessibleName(name)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return button

    def show_for(self, entry: MessageEntry, actions: list[MessageAction]) -> None:
        """Stand for ``entry``: only the buttons it allows (nothing: the bar hides)."""
        self.entry = entry
        self.react_button.setVisible(MessageAction.REACT in actions)
        self.reply_button.setVisible(MessageAction.REPLY in actions)
        self.more_button.setVisible(bool(actions))
        if not actions:
            self.hide()
            return
        self.adjustSize()
        self.show()
        self.raise_()

    def _emit_at(self, signal: SignalInstance, button: QAbstractButton) -> None:
        if self.entry is not None:
            signal.emit(self.entry, button.mapToGlobal(QPoint(0, button.height())))

    def _reply(self) -> None:
        if self.entry is not None:
            self.replyRequested.emit(self.entry)


def message_menu(
    entry: MessageEntry, me: str, admin: bool, parent: QWidget
) -> tuple[QMenu, dict[MessageAction, object]]:
    """The context menu of ``entry``; and its QActions by what they do (for the caller to
    connect, and for tests to trigger)."""
    menu = QMenu(parent)
    menu.setObjectName("messageMenu")
    actions: dict[MessageAction, object] = {}
    for action in available_actions(entry, me, admin):
        if action is MessageAction.DELETE or action is MessageAction.COPY:
            menu.addSeparator()
        item = menu.addAction(action_text(action))
        item.setObjectName(f"message-{action.value}")
        actions[action] = item
    return menu, actions


class MessageActions(QObject):
    """Connects the message-level UI to the controller (see the module docstring).

    The window makes one, over its view, model and composer box.

    Signals:
        openMessageRequested(str, int): show message seq of room (a reply's
            quote was clicked); the window jumps there (open_at / jumpReady).
    """

    openMessageRequested = Signal(str, int)

    def __init__(
        self,
        controller: ChatController,
        view: MessageView,
        model: MessageListModel,
        box: ComposerBox,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._c = controller
        self._view = view
        self._model = model
        self._box = box
        self._parent = parent
        # The room the composer's mode belongs to: another room ends it.
        self._room = model.room
        # The open menu, picker and delete question, if any (tests answer them).
        self.menu: QMenu | None = None
        self.menu_actions: dict[MessageAction, object] = {}
        self.picker: EmojiPicker | None = None
        self.delete_box: QMessageBox | None = None
        # Adds the file items of a message to its menu (the window's MessageFiles.add_to_menu),
        # so that the keyboard reaches Open and Save too.
        self.file_items: Callable[[MessageEntry, QMenu], None] | None = None

        c = controller
        delegate = view.message_delegate
        view.hover_actions.reactRequested.connect(self.ask_reaction)
        view.hover_actions.replyRequested.connect(self.reply)
        view.hover_actions.menuRequested.connect(self.open_menu)
        view.menuRequested.connect(self.open_menu)
        view.textTyped.connect(self._typed_in_view)
        delegate.reactionToggled.connect(lambda entry, emoji, on: c.react(entry, emoji, bool(on)))
        delegate.quoteClicked.connect(lambda seq: self.openMessageRequested.emit(model.room, seq))
        box.editRequested.connect(lambda entry, text: c.edit(entry, text))
        box.composer.editLastRequested.connect(self.edit_last)
        c.readsChanged.connect(self._reads_changed)
        model.modelReset.connect(self._room_shown)
        model.set_quote_source(c.message)
        self._room_shown()

    @property
    def _admin(self) -> bool:
        return bool(self._c.is_admin)

    def actions_for(self, entry: MessageEntry) -> list[MessageAction]:
        return available_actions(entry, self._c.me, self._admin)

    def _current(self, entry: MessageEntry) -> MessageEntry:
        """``entry`` as the list shows it now: a menu or the picker may stay open
        while the message changes (another reaction, an edit)."""
        row = self._model.row_of(entry.author, entry.client_id)
        return self._model.entry(row) if row is not None else entry

    # ------------------------------------------------------------- the menu

    def open_menu(self, entry: MessageEntry, where: QPoint) -> QMenu | None:
        """The context menu of ``entry`` at ``where`` (global); None when it offers nothing."""
        if self.menu is not None:
            self.menu.close()
        menu, items = message_menu(entry, self._c.me, self._admin, self._parent)
        if not items:
            menu.deleteLater()
            return None
        handlers = {
            MessageAction.REPLY: lambda: self.reply(entry),
            MessageAction.REACT: lambda: self.ask_reaction(entry, where),
            MessageAction.EDIT: lambda: self.edit(entry),
            MessageAction.DELETE: lambda: self.ask_delete(entry),
            MessageAction.COPY: lambda: self.copy(entry),
        }
        for action, item in items.items():
            item.triggered.connect(handlers[action])  # type: ignore[attr-defined]
        if self.file_items is not None:
            self.file_items(self._current(entry), menu)
        self.menu, self.menu_actions = menu, items
        menu.aboutToHide.connect(lambda: self._menu_closed(menu))
        menu.popup(where)
        return menu

    def _menu_closed(self, menu: QMenu) -> None:
        if self.menu is menu:
            self.menu = None
        menu.deleteLater()

    # ----------------------------------------------------------- the actions

    def reply(self, entry: MessageEntry) -> None:
        if entry.seq is not None:
            self._box.start_reply(entry)

    def edit(self, entry: MessageEntry) -> None:
        entry = self._current(entry)
        if entry.author == self._c.me and not entry.deleted:
            self._box.start_edit(entry)

    def edit_last(self) -> None:
        """Up in the empty composer: edit my last message of this room, if there is one."""
        entry = self._c.last_own_message(self._model.room)
        if entry is not None:
            self._box.start_edit(entry)

    def copy(self, entry: MessageEntry) -> None:
        QGuiApplication.clipboard().setText(entry.text)

    def ask_reaction(self, entry: MessageEntry, where: QPoint) -> EmojiPicker:
        """The emoji picker at ``where``; the emoji chosen toggles my reaction."""
        if self.picker is not None:
            self.picker.close()
        picker = self.picker = EmojiPicker(self._parent)
        picker.chosen.connect(lambda emoji: self._react(entry, emoji))
        picker.destroyed.connect(lambda: self._picker_closed(picker))
        picker.popup_at(where)
        return picker

    def _react(self, entry: MessageEntry, emoji: str) -> None:
        """Toggle my reaction ``emoji``: an emoji I already gave is taken back."""
        current = self._current(entry)
        self._c.react(current, emoji, not current.reacted(emoji, self._c.me))

    def _picker_closed(self, picker: EmojiPicker) -> None:
        if self.picker is picker:
            self.picker = None

    def ask_delete(self, entry: MessageEntry) -> QMessageBox:
        """Ask before deleting (for everyone, and it cannot be undone)."""
        if entry.author == self._c.me:
            question = self.tr("Delete this message for everyone? This cannot be undone.")
        else:
            question = self.tr(
                "Delete this message by {author} for everyone? This cannot be undone."
            ).format(author=entry.author)
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Delete message"),
            question,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self._parent,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("Delete"))
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered(button: QAbstractButton) -> None:
            if box.standardButton(button) == QMessageBox.StandardButton.Yes:
                self._c.delete(entry)

        box.buttonClicked.connect(answered)
        box.finished.connect(lambda _result: self._delete_box_closed(box))
        # open(), not exec(): no nested event loop under qasync (see main_window).
        box.open()
        self.delete_box = box
        return box

    def _delete_box_closed(self, box: QMessageBox) -> None:
        if self.delete_box is box:
            self.delete_box = None
        box.deleteLater()

    # ---------------------------------------------------------- the composer

    def _typed_in_view(self, text: str) -> None:
        """A key typed while the list had the focus goes on in the composer."""
        composer = self._box.composer
        composer.setFocus()
        composer.insertPlainText(text)

    # ------------------------------------------------------------ the room

    def _room_shown(self) -> None:
        if self._model.room != self._room:
            self._room = self._model.room
            self._box.cancel()
        self._model.set_seen_by(self._c.seen_by(self._model.room) if self._model.room else {})

    def _reads_changed(self, room: str) -> None:
        if room == self._model.room:
            self._model.set_seen_by(self._c.seen_by(room))
