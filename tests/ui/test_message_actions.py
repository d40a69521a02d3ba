"""The message-level widgets of Version 2, as a user meets them, without a server.

Real widgets offscreen (the message list with its delegate, the composer box,
the emoji picker, the context menu) fed with hand-made MessageEntry values;
clicks and keys through QTest. What crosses between two windows over a real
server is in test_message_actions_windows.py.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QContextMenuEvent, QGuiApplication, QHelpEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolTip
from pytestqt.qtbot import QtBot

from chat_desktop.controller.entries import DeliveryState, MessageEntry
from chat_desktop.ui.composer import ComposerBox
from chat_desktop.ui.emoji_picker import EmojiPicker
from chat_desktop.ui.message_actions import (
    MessageAction,
    action_text,
    available_actions,
    message_menu,
)
from chat_desktop.ui.message_delegate import MessageLayout
from chat_desktop.ui.message_model import MessageListModel, MessageRole
from chat_desktop.ui.message_view import MessageView
from chat_desktop.ui.reactions import COMMON_EMOJI, who_reacted


def entry(
    seq: int | None, author: str = "bob", text: str = "hello", **extras: object
) -> MessageEntry:
    ts = f"2026-11-27T10:{seq or 59:02d}:00.000Z"
    state = DeliveryState.DELIVERED if seq is not None else DeliveryState.QUEUED
    return MessageEntry(
        "general",
        author,
        text,
        ts,
        f"c{seq}",
        seq,
        state=state,
        **extras,  # type: ignore[arg-type]
    )


def shown(qtbot: QtBot, entries: list[MessageEntry], me: str = "alice") -> MessageView:
    model = MessageListModel(me)
    view = MessageView(model)
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    qtbot.waitExposed(view)
    model.reset("general", entries)
    qtbot.waitUntil(lambda: view.visualRect(model.index(len(entries) - 1)).isValid())
    return view


def layout_of(view: MessageView, row: int) -> MessageLayout:
    index = view.model().index(row, 0)
    return view.message_delegate.layout_for(index, view.visualRect(index).width())


def at_row(view: MessageView, row: int, point: QPoint) -> QPoint:
    """A point of row ``row`` (row coordinates) in the viewport's coordinates."""
    return view.visualRect(view.model().index(row, 0)).topLeft() + point


# ------------------------------------------------------------------ reactions


def test_clicking_a_chip_adds_my_reaction_and_clicking_mine_takes_it_back(qtbot: QtBot) -> None:
    reactions = (("👍", ("bob",)), ("🎉", ("alice", "carol")))
    view = shown(qtbot, [entry(1, reactions=reactions)])
    toggled: list[tuple[str, bool]] = []
    view.message_delegate.reactionToggled.connect(lambda _e, emoji, on: toggled.append((emoji, on)))
    thumbs, party = layout_of(view, 0).chips

    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=at_row(view, 0, thumbs.rect.center())
    )
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=at_row(view, 0, party.rect.center())
    )

    assert toggled == [("👍", True), ("🎉", False)]
    assert (thumbs.mine, party.mine) == (False, True)
    assert (thumbs.label, party.label) == ("👍 1", "🎉 2")


def test_a_chips_tool_tip_names_who_reacted_as_plain_text(qtbot: QtBot) -> None:
    reactions = (("👍", ("<b>bob</b>", "alice")),)
    view = shown(qtbot, [entry(1, reactions=reactions)])
    chip = layout_of(view, 0).chips[0]
    where = at_row(view, 0, chip.rect.center())
    QApplication.sendEvent(
        view.viewport(), QHelpEvent(QEvent.Type.ToolTip, where, view.viewport().mapToGlobal(where))
    )
    qtbot.waitUntil(QToolTip.isVisible)
    # Escaped on purpose (plain_tooltip): the name shows as typed, never as bold.
    assert "&lt;b&gt;bob&lt;/b&gt; and you reacted with 👍" in QToolTip.text()
    QToolTip.hideText()
    assert who_reacted("🎉", ("alice",), "alice") == "You reacted with 🎉"
    assert who_reacted("🎉", ("bob", "carol"), "alice") == "bob, carol reacted with 🎉"


def test_chips_wrap_inside_a_narrow_row(qtbot: QtBot) -> None:
    reactions = tuple((emoji, ("bob",)) for emoji in COMMON_EMOJI[:12])
    view = shown(qtbot, [entry(1, reactions=reactions)])
    width = 260
    layout = view.message_delegate.layout_for(view.model().index(0, 0), width)
    assert len({chip.rect.top() for chip in layout.chips}) > 1
    assert all(chip.rect.right() < width for chip in layout.chips)
    assert layout.height > layout.chips[-1].rect.bottom()


def test_the_picker_offers_two_dozen_emoji_and_a_choice_is_emitted_once(qtbot: QtBot) -> None:
    picker = EmojiPicker()
    chosen: list[str] = []
    picker.chosen.connect(chosen.append)
    picker.popup_at(QPoint(50, 50))
    qtbot.waitExposed(picker)
    assert [button.text() for button in picker.buttons] == list(COMMON_EMOJI)
    assert len(COMMON_EMOJI) == 24
    picker.buttons[2].click()
    assert chosen == [COMMON_EMOJI[2]]
    qtbot.waitUntil(lambda: not picker.isVisible())


# ---------------------------------------------------------- the context menu


def _menu_texts(message: MessageEntry, me: str = "alice", admin: bool = False) -> list[str]:
    menu, _ = message_menu(message, me, admin, None)  # type: ignore[arg-type]
    texts = [action.text() for action in menu.actions() if not action.isSeparator()]
    menu.deleteLater()
    return texts


def test_the_menu_offers_edit_and_delete_on_my_messages_only(qtbot: QtBot) -> None:
    assert _menu_texts(entry(1, "alice")) == ["Reply", "React…", "Edit", "Delete…", "Copy text"]
    assert _menu_texts(entry(1, "bob")) == ["Reply", "React…", "Copy text"]


def test_an_admin_may_delete_anyones_message_but_edit_only_their_own(qtbot: QtBot) -> None:
    assert _menu_texts(entry(1, "bob"), admin=True) == ["Reply", "React…", "Delete…", "Copy text"]


def test_deleted_refused_and_unsent_messages_offer_what_they_can(qtbot: QtBot) -> None:
    assert available_actions(entry(1, "alice", "", deleted=True), "alice", admin=True) == []
    refused = entry(None, "alice").with_state(DeliveryState.FAILED, error="too_long")
    assert available_actions(refused, "alice", admin=False) == [MessageAction.COPY]
    # Not stored yet: nothing can quote it, but edits and reactions queue behind it.
    assert available_actions(entry(None, "alice"), "alice", admin=False) == [
        MessageAction.REACT,
        MessageAction.EDIT,
        MessageAction.DELETE,
        MessageAction.COPY,
    ]
    assert action_text(MessageAction.REPLY) == "Reply"


def test_a_right_click_asks_for_the_menu_of_that_message(qtbot: QtBot) -> None:
    first, second = entry(1, text="first"), entry(2, "carol", text="second")
    view = shown(qtbot, [first, second])
    asked: list[MessageEntry] = []
    view.menuRequested.connect(lambda message, _where: asked.append(message))
    where = view.visualRect(view.model().index(1, 0)).center()
    QApplication.sendEvent(
        view.viewport(),
        _context_event(where, view.viewport().mapToGlobal(where)),
    )
    assert asked == [second]


def test_the_keyboard_reaches_a_messages_menu(qtbot: QtBot) -> None:
    first, second = entry(1, text="first"), entry(2, "carol", text="second")
    view = shown(qtbot, [first, second])
    asked: list[MessageEntry] = []
    view.menuRequested.connect(lambda message, _where: asked.append(message))
    # As in the window, where the composer had the focus before Tab.
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow)
    view.clearFocus()
    view.selectionModel().clear()
    view.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(view.hasFocus)
    # Tabbed in: the newest is the current row; Up goes to the one before.
    QTest.keyClick(view, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(view, Qt.Key.Key_Up)
    QTest.keyClick(view, Qt.Key.Key_Menu)
    assert asked == [second, first]


def _context_event(where: QPoint, global_where: QPoint) -> QEvent:
    return QContextMenuEvent(QContextMenuEvent.Reason.Mouse, where, global_where)


def test_hovering_a_row_shows_react_reply_and_more_for_it(qtbot: QtBot) -> None:
    first, second = entry(1, text="first"), entry(2, "carol", text="second")
    view = shown(qtbot, [first, second])
    replies: list[MessageEntry] = []
    view.hover_actions.replyRequested.connect(replies.append)
    QTest.mouseMove(view.viewport(), view.visualRect(view.model().index(1, 0)).center())
    qtbot.waitUntil(view.hover_actions.isVisible)
    bar = view.hover_actions.geometry()
    assert view.viewport().rect().contains(bar)
    assert bar.bottom() > view.visualRect(view.model().index(1, 0)).top()
    view.hover_actions.reply_button.click()
    assert replies == [second]


# --------------------------------------------------------------- the composer


def _box(qtbot: QtBot) -> ComposerBox:
    box = ComposerBox()
    qtbot.addWidget(box)
    box.resize(600, 140)
    box.show()
    qtbot.waitExposed(box)
    box.composer.setFocus()
    return box


def test_up_in_an_empty_composer_asks_to_edit_my_last_message_and_not_in_a_written_one(
    qtbot: QtBot,
) -> None:
    box = _box(qtbot)
    asked: list[bool] = []
    box.composer.editLastRequested.connect(lambda: asked.append(True))
    QTest.keyClick(box.composer, Qt.Key.Key_Up)
    assert asked == [True]
    QTest.keyClicks(box.composer, "line one")
    QTest.keyClick(box.composer, Qt.Key.Key_Up)
    assert asked == [True]


def test_editing_shows_a_banner_and_esc_cancels_it_giving_back_what_was_typed(
    qtbot: QtBot,
) -> None:
    box = _box(qtbot)
    edits: list[tuple[MessageEntry, str]] = []
    box.editRequested.connect(lambda message, text: edits.append((message, text)))
    QTest.keyClicks(box.composer, "half a thought")
    mine = entry(4, "alice", "my old words")

    box.start_edit(mine)
    assert box.banner.isVisible() and box.banner.label.full_text() == "Editing message"
    assert box.composer.toPlainText() == "my old words"
    QTest.keyClick(box.composer, Qt.Key.Key_Escape)

    assert not box.banner.isVisible() and box.editing is None
    assert box.composer.toPlainText() == "half a thought"
    assert edits == []


def test_enter_while_editing_asks_for_the_edit_and_the_draft_comes_back(qtbot: QtBot) -> None:
    box = _box(qtbot)
    edits: list[tuple[MessageEntry, str]] = []
    sent: list[str] = []
    box.editRequested.connect(lambda message, text: edits.append((message, text)))
    box.sendRequested.connect(lambda text, _reply: sent.append(text))
    QTest.keyClicks(box.composer, "draft")
    mine = entry(4, "alice", "my old words")
    box.start_edit(mine)
    box.composer.setPlainText("my new words")
    QTest.keyClick(box.composer, Qt.Key.Key_Return)
    assert edits == [(mine, "my new words")] and sent == []
    assert box.composer.toPlainText() == "draft" and not box.banner.isVisible()

    # Saving the text unchanged is no edit at all.
    box.start_edit(mine)
    QTest.keyClick(box.composer, Qt.Key.Key_Return)
    assert len(edits) == 1


def test_reply_quotes_the_message_above_the_composer_and_the_message_sent_answers_it(
    qtbot: QtBot,
) -> None:
    box = _box(qtbot)
    sent: list[tuple[str, MessageEntry | None]] = []
    box.sendRequested.connect(lambda text, reply: sent.append((text, reply)))
    original = entry(7, "bob", "Lunch at noon?\nOr later")
    box.start_reply(original)
    assert box.banner.label.full_text() == "Replying to bob: Lunch at noon?"
    QTest.keyClicks(box.composer, "noon is fine")
    QTest.keyClick(box.composer, Qt.Key.Key_Return)
    assert sent == [("noon is fine", original)]
    assert not box.banner.isVisible()
    QTest.keyClicks(box.composer, "and another")
    QTest.keyClick(box.composer, Qt.Key.Key_Return)
    assert sent[-1] == ("and another", None)


def test_esc_cancels_a_reply(qtbot: QtBot) -> None:
    box = _box(qtbot)
    box.start_reply(entry(7, "bob", "question"))
    QTest.keyClicks(box.composer, "keep me")
    QTest.keyClick(box.composer, Qt.Key.Key_Escape)
    assert box.replying is None and not box.banner.isVisible()
    assert box.composer.toPlainText() == "keep me"


# ------------------------------------------------------------ how rows look


def test_a_deleted_message_shows_a_greyed_italic_placeholder_and_nothing_else(
    qtbot: QtBot,
) -> None:
    gone = entry(1, "bob", "", deleted=True, reactions=(("👍", ("carol",)),))
    view = shown(qtbot, [gone])
    layout = layout_of(view, 0)
    assert layout.text.text() == "message deleted"
    assert layout.text.font().italic()
    assert layout.chips == ()
    assert "message deleted" in view.model().index(0, 0).data(Qt.ItemDataRole.AccessibleTextRole)
    # Nothing to select or copy in it.
    assert not view.model().flags(view.model().index(0, 0)) & Qt.ItemFlag.ItemIsEditable


def test_an_edited_message_says_so_after_its_text(qtbot: QtBot) -> None:
    view = shown(qtbot, [entry(1, text="fixed typo", edited="2026-11-27T10:05:00.000Z")])
    assert layout_of(view, 0).text.text() == "fixed typo (edited)"
    assert "Edited" in view.model().index(0, 0).data(Qt.ItemDataRole.ToolTipRole)


def test_a_reply_quotes_its_original_and_a_click_on_the_quote_asks_to_jump(qtbot: QtBot) -> None:
    original = entry(1, "carol", "The build is green\nDetails follow")
    reply = entry(2, "bob", "great", reply_to=1)
    view = shown(qtbot, [original, reply])
    jumps: list[int] = []
    view.message_delegate.quoteClicked.connect(jumps.append)
    layout = layout_of(view, 1)
    assert layout.quote is not None and layout.quoted is not None
    assert (layout.quoted.author, layout.quoted.first_line) == ("carol", "The build is green")
    assert layout.quote.bottom() < layout.text_origin.y()
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=at_row(view, 1, layout.quote.center())
    )
    assert jumps == [1]


def test_a_quote_follows_its_original_when_that_is_deleted(qtbot: QtBot) -> None:
    original = entry(1, "carol", "secret")
    view = shown(qtbot, [original, entry(2, "bob", "great", reply_to=1)])
    model = view.model()
    assert isinstance(model, MessageListModel)
    model.add([MessageEntry("general", "carol", "", original.ts, "c1", 1, deleted=True)])
    quoted = model.index(1, 0).data(MessageRole.QUOTE)
    assert quoted.deleted and quoted.first_line == ""


def test_a_quote_of_a_message_not_shown_is_looked_up_elsewhere(qtbot: QtBot) -> None:
    view = shown(qtbot, [entry(40, "bob", "as I said", reply_to=3)])
    model = view.model()
    assert isinstance(model, MessageListModel)
    assert model.quote(0) is not None and model.quote(0).author == ""  # type: ignore[union-attr]
    model.set_quote_source(lambda room, seq: entry(seq, "dave", f"old {room} {seq}"))
    model.reset("general", [entry(40, "bob", "as I said", reply_to=3)])
    assert model.quote(0).first_line == "old general 3"  # type: ignore[union-attr]


def test_seen_by_shows_under_the_last_message_read_and_moves(qtbot: QtBot) -> None:
    view = shown(qtbot, [entry(1), entry(2), entry(3)])
    model = view.model()
    assert isinstance(model, MessageListModel)
    model.set_seen_by({2: ["carol", "bob"]})
    assert layout_of(view, 1).seen_text == "Seen by bob, carol"
    assert layout_of(view, 2).seen is None
    model.set_seen_by({3: ["carol", "bob"]})
    assert layout_of(view, 1).seen is None
    assert layout_of(view, 2).seen_text == "Seen by bob, carol"


# ------------------------------------------------------------------ copying


def test_ctrl_c_copies_the_chosen_rows(qtbot: QtBot) -> None:
    view = shown(
        qtbot, [entry(1, "bob", "one"), entry(2, "carol", "two"), entry(3, "bob", "three")]
    )
    model = view.model()
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(model.index(0, 0)).center()
    )
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "one"
    QTest.mouseClick(
        view.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.ShiftModifier,
        view.visualRect(model.index(1, 0)).center(),
    )
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "bob: one\ncarol: two"


def test_a_double_click_opens_a_read_only_field_to_select_part_of_the_text(qtbot: QtBot) -> None:
    view = shown(qtbot, [entry(1, "bob", "select some words here")])
    layout = layout_of(view, 0)
    where = at_row(view, 0, layout.text_rect().topLeft() + QPoint(3, 5))
    # What a real double click sends: a click, then the double click.
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    qtbot.waitUntil(lambda: view.selection_field() is not None)
    field = view.selection_field()
    assert field is not None
    assert field.isReadOnly() and field.toPlainText() == "select some words here"
    assert field.textCursor().selectedText() == "select"
    QTest.keyClick(field, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: view.selection_field() is None)
    assert view.model().index(0, 0).data(MessageRole.ENTRY).text == "select some words here"


def test_a_key_typed_in_the_list_goes_to_the_composer(qtbot: QtBot) -> None:
    view = shown(qtbot, [entry(1)])
    typed: list[str] = []
    view.textTyped.connect(typed.append)
    view.setFocus()
    QTest.keyClicks(view, "ok")
    assert typed == ["o", "k"]


def test_the_message_actions_speak_german(qtbot: QtBot, speak: Any) -> None:
    speak("de")
    assert _menu_texts(entry(1, "alice")) == [
        "Antworten",
        "Reagieren…",
        "Bearbeiten",
        "Löschen…",
        "Text kopieren",
    ]
    view = shown(
        qtbot, [entry(1, "bob", "", deleted=True), entry(2, text="neu", edited=entry(2).ts)]
    )
    assert layout_of(view, 0).text.text() == "Nachricht gelöscht"
    assert layout_of(view, 1).text.text() == "neu (bearbeitet)"
    box = _box(qtbot)
    box.start_edit(entry(3, "alice", "alt"))
    assert box.banner.label.full_text() == "Nachricht bearbeiten"
    assert who_reacted("👍", ("bob", "alice"), "alice") == "bob und Sie haben mit 👍 reagiert"
