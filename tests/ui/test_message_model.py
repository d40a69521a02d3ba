"""MessageListModel: order, duplicates, batches, my pending messages, grouping."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QModelIndex, Qt

from chat_desktop.controller.entries import DeliveryState, FileRef, MessageEntry
from chat_desktop.ui.message_model import MessageListModel, MessageRole


def entry(seq: int | None, author: str = "bob", minute: int = 0, **kw: Any) -> MessageEntry:
    ts = f"2026-11-27T10:{minute:02d}:00.000Z"
    client_id = kw.pop("client_id", f"c{seq}")
    return MessageEntry("general", author, kw.pop("text", f"m{seq}"), ts, client_id, seq, **kw)


class Inserts:
    def __init__(self, model: MessageListModel) -> None:
        self.calls: list[tuple[int, int]] = []
        model.rowsInserted.connect(self.record)

    def record(self, parent: QModelIndex, first: int, last: int) -> None:
        self.calls.append((first, last))


def test_a_batch_of_new_messages_is_one_insert_and_duplicates_are_dropped(qapp: Any) -> None:
    model = MessageListModel("alice")
    model.reset("general", [entry(1), entry(2)])
    inserts = Inserts(model)
    assert model.add([entry(2), entry(3), entry(4), entry(3)]) == 2
    assert inserts.calls == [(2, 3)]
    assert [e.seq for e in model.entries()] == [1, 2, 3, 4]


def test_an_older_page_is_prepended_in_one_insert(qapp: Any) -> None:
    model = MessageListModel("alice")
    model.reset("general", [entry(5), entry(6)])
    inserts = Inserts(model)
    model.prepend([entry(3), entry(4), entry(5)])
    assert inserts.calls == [(0, 1)]
    assert model.oldest_seq() == 3


def test_my_pending_message_becomes_delivered_in_place_of_its_row(qapp: Any) -> None:
    model = MessageListModel("alice")
    model.reset("general", [entry(1)])
    mine = entry(None, "alice", client_id="x", state=DeliveryState.QUEUED)
    model.add([mine])
    model.add([entry(2)])  # someone else's message arrives before my ack
    assert [e.seq for e in model.entries()] == [1, 2, None]
    model.add([mine.with_state(DeliveryState.DELIVERED, seq=3)])
    model.add([entry(3, "alice", client_id="x")])  # the broadcast of the same message
    assert [(e.seq, e.state) for e in model.entries()] == [
        (1, DeliveryState.DELIVERED),
        (2, DeliveryState.DELIVERED),
        (3, DeliveryState.DELIVERED),
    ]


def test_consecutive_messages_of_one_author_share_a_header(qapp: Any) -> None:
    model = MessageListModel("alice")
    model.reset(
        "general",
        [entry(1, "bob", 0), entry(2, "bob", 1), entry(3, "carol", 2), entry(4, "carol", 30)],
    )
    headers = [model.data(model.index(row), MessageRole.SHOW_HEADER) for row in range(4)]
    assert headers == [True, False, True, True]
    assert model.data(model.index(0), MessageRole.DAY_LABEL) != ""
    assert model.data(model.index(1), MessageRole.DAY_LABEL) == ""


def test_a_mention_of_me_is_flagged_but_not_in_my_own_messages(qapp: Any) -> None:
    model = MessageListModel("alice")
    model.reset(
        "general",
        [entry(1, "bob", text="@alice look"), entry(2, "alice", text="@alice note to self")],
    )
    assert model.data(model.index(0), MessageRole.MENTION)
    assert not model.data(model.index(1), MessageRole.MENTION)


def test_row_of_finds_every_message_after_prepends_and_a_pending_one_moving(qapp: Any) -> None:
    model = MessageListModel("alice")
    model.reset("general", [entry(5), entry(6)])
    model.add([entry(None, "alice", client_id="x", state=DeliveryState.SENT)])
    model.prepend([entry(2), entry(3)])
    assert model.row_of("alice", "x") == 4
    model.add([entry(7), entry(8, "alice", client_id="x")])
    expected = [(e.author, e.client_id) for e in model.entries()]
    assert [model.row_of(author, cid) for author, cid in expected] == list(range(6))
    assert model.row_of("alice", "c5") is None  # same client_id, another author


def test_row_of_forgets_the_rows_of_the_previous_room_after_a_reset(qapp: Any) -> None:
    model = MessageListModel("alice")
    model.reset("general", [entry(1), entry(2)])
    model.reset("general", [entry(9)])
    assert model.row_of("bob", "c1") is None
    assert model.row_of("bob", "c9") == 0


def test_dropping_the_oldest_rows_keeps_my_pending_ones_and_finds_the_rest(qapp: Any) -> None:
    model = MessageListModel("alice")
    model.reset("general", [entry(1), entry(2), entry(3)])
    model.add([entry(None, "alice", client_id="x", state=DeliveryState.QUEUED)])
    assert model.drop_oldest(10) == 3
    assert [e.client_id for e in model.entries()] == ["x"]
    model.prepend([entry(2), entry(3)])  # they come back as an older page
    assert [model.row_of("bob", "c2"), model.row_of("bob", "c3")] == [0, 1]
    assert model.row_of("alice", "x") == 2


def test_a_screen_reader_hears_a_messages_files_and_none_of_a_deleted_one(qapp: Any) -> None:
    files = (
        FileRef("f1", "plan.pdf", 10, "application/pdf"),
        FileRef("f2", "board.png", 10, "image/png"),
    )
    model = MessageListModel("alice")
    model.reset(
        "general",
        [entry(1, text="see these", files=files), entry(2, text="", files=files), entry(3)],
    )
    said = [
        model.data(model.index(row), Qt.ItemDataRole.AccessibleTextRole).split(": ", 1)[1]
        for row in range(2)
    ]
    assert said == ["see these. Files: plan.pdf, board.png", "Files: plan.pdf, board.png"]
    model.add([replace(model.entry(0), text="", deleted=True)])
    assert model.data(model.index(0), Qt.ItemDataRole.AccessibleTextRole).endswith(
        ": message deleted"
    )
