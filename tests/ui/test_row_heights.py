"""Long conversations stay cheap to lay out: heights kept per width, few rows while pinned."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QStyleOptionViewItem

from chat_desktop.controller.entries import MessageEntry
from chat_desktop.ui.message_delegate import MessageDelegate, MessageLayout
from chat_desktop.ui.message_model import MessageListModel
from chat_desktop.ui.message_view import LIVE_ROWS_MAX, MessageView


def entry(seq: int, author: str = "bob", text: str = "hello") -> MessageEntry:
    ts = f"2026-11-27T10:{seq:02d}:00.000Z"
    return MessageEntry("general", author, text, ts, f"c{seq}", seq)


def shown(qtbot: Any, width: int = 600) -> tuple[MessageListModel, MessageView]:
    model = MessageListModel("alice")
    view = MessageView(model)
    qtbot.addWidget(view)
    view.resize(width, 400)
    view.show()
    qtbot.waitExposed(view)
    return model, view


def height(view: MessageView, model: MessageListModel, row: int) -> int:
    return view.message_delegate.sizeHint(QStyleOptionViewItem(), model.index(row)).height()


def test_a_row_gains_its_header_height_when_another_author_is_inserted_above_it(
    qtbot: Any,
) -> None:
    model, view = shown(qtbot)
    model.reset("general", [entry(1), entry(3)])
    grouped = height(view, model, 1)
    model.prepend([entry(2, "carol")])
    assert height(view, model, 2) > grouped
    assert height(view, model, 2) == view.message_delegate.layout_for(model.index(2)).height


def test_a_narrower_view_measures_a_long_message_taller(qtbot: Any) -> None:
    model, view = shown(qtbot, width=900)
    model.reset("general", [entry(1, text="word " * 120)])
    wide = height(view, model, 0)
    view.resize(400, 400)
    qtbot.waitUntil(lambda: view.viewport().width() <= 400)
    assert height(view, model, 0) > wide


def test_a_row_height_is_looked_up_not_laid_out_again_for_the_same_width(
    qtbot: Any, monkeypatch: Any
) -> None:
    model, view = shown(qtbot)
    model.reset("general", [entry(1)])
    first = height(view, model, 0)
    asked: list[int] = []
    layout_for = MessageDelegate.layout_for

    def counting(self: MessageDelegate, index: Any, width: int | None = None) -> MessageLayout:
        asked.append(index.row())
        return layout_for(self, index, width)

    monkeypatch.setattr(MessageDelegate, "layout_for", counting)
    assert height(view, model, 0) == first
    assert asked == []


def test_while_pinned_a_long_run_of_new_rows_keeps_only_the_newest(qtbot: Any) -> None:
    model, view = shown(qtbot)
    model.reset("general", [entry(1)])
    wanted: list[bool] = []
    view.olderWanted.connect(lambda: wanted.append(True))
    for first in range(2, LIVE_ROWS_MAX + 200, 100):
        model.add([entry(seq) for seq in range(first, first + 100)])
        qtbot.waitUntil(lambda: not view._stick_pending)
    qtbot.waitUntil(lambda: model.rowCount() <= LIVE_ROWS_MAX)
    assert model.entries()[-1].seq == LIVE_ROWS_MAX + 201
    assert model.has_older and view.pinned and view.at_bottom()
    assert wanted == []


def test_scrolled_up_reading_no_row_is_dropped(qtbot: Any) -> None:
    model, view = shown(qtbot)
    model.reset("general", [entry(seq) for seq in range(1, 101)])
    qtbot.waitUntil(lambda: view.at_bottom() and not view._stick_pending)
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum() // 2)
    assert not view.pinned
    model.add([entry(seq) for seq in range(101, LIVE_ROWS_MAX + 201)])
    qtbot.waitUntil(lambda: view.new_button.isVisible() and not view._stick_pending)
    assert model.rowCount() == LIVE_ROWS_MAX + 200


def test_a_bigger_font_measures_the_rows_taller(qtbot: Any) -> None:
    model, view = shown(qtbot)
    model.reset("general", [entry(1)])
    small = height(view, model, 0)
    font = view.font()
    font.setPointSizeF(font.pointSizeF() * 2)
    view.setFont(font)
    assert height(view, model, 0) > small
