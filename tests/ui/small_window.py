"""The main window made small, and what a user would see wrong in it: a helper of
tests/ui/test_small_window.py, also run as a script (``python -m tests.ui.small_window
CACHE_DIR``) in a subprocess with ``QT_SCALE_FACTOR=2``, since the device pixel
ratio of a running QApplication cannot change."""

from __future__ import annotations

import asyncio
import itertools
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication, QLabel

from chat_desktop.app import close_chat
from chat_desktop.controller.chat import ChatController
from chat_desktop.storage import ChatCache
from chat_desktop.ui.main_window import MainWindow
from chat_desktop.ui.resources import style_sheet
from chat_protocol import Message, RoomInfo
from chat_protocol.events import FileInfo
from chat_protocol.rules import format_ts

SMALL = QSize(400, 300)
_WORDS = "the quick brown fox jumps over a lazy dog while supercalifragilisticexpialidocious"


# Version 2's parts of a row, on some of the messages: wrapping reaction chips,
# reply quotes (of a long and of a deleted message), "(edited)", deletions.
_REACTIONS = {
    "👍": ["bob", "alice"],
    "🎉": ["carol"],
    "a-long-custom-reaction-name": ["bob"],
    "😂": ["dave", "erin", "alice"],
    "🚀": ["bob"],
}


# Files on some messages (issue 13): a picture, a card with a long name, both.
_PICTURE = FileInfo("pic-1", "whiteboard after the planning meeting.png", 183_000, "image/png")
_REPORT = FileInfo(
    "doc-1", "Quarterly report, final version (really final) 2026.pdf", 2_400_000, "application/pdf"
)


def _version_2(seq: int, when: datetime) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if seq % 6 == 2:
        extras["files"] = [_REPORT]
    elif seq % 6 == 5:
        extras["files"] = [_PICTURE, _REPORT]
    if seq % 3 == 0 and seq > 2:
        extras["reply_to"] = seq - 2
    if seq % 4 == 0:
        extras["reactions"] = _REACTIONS
    if seq % 5 == 1:
        extras["edited"] = format_ts(when + timedelta(minutes=3))
    if seq % 7 == 0:
        extras["deleted"] = True
    return extras


def fill_cache(cache_file: Path, count: int = 60) -> None:
    """A conversation of mixed lengths and authors over three days, in ``cache_file``,
    with replies, reactions, edited and deleted messages and files among them."""
    cache = ChatCache.open(cache_file)
    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    words = _WORDS.split()
    messages = []
    for seq in range(1, count + 1):
        length = [1, 3, 12, 40, 0][seq % 5]
        text = " ".join(words[(seq + k) % len(words)] for k in range(length)) or "x" * 120
        author = ["bob", "carol", "a-rather-long-user-name", "alice"][(seq // 2) % 4]
        when = start + timedelta(hours=seq)
        extras = _version_2(seq, when)
        if extras.get("deleted"):
            text = ""
        messages.append(
            Message("general", seq, f"id-{seq}", author, text, format_ts(when), **extras)
        )
    cache.save_rooms([RoomInfo("general", count), RoomInfo("random", 0)])
    cache.save_messages(messages)
    cache.close()


def problems(window: MainWindow) -> list[str]:
    """What overlaps or is clipped in ``window`` as laid out now."""
    found: list[str] = []
    view, model = window.view, window.messages
    width = view.viewport().width()
    rects = [view.visualRect(model.index(row)) for row in range(model.rowCount())]
    # Rows are in order from the top: each must end above the next.
    for row, (above, below) in enumerate(itertools.pairwise(rects)):
        if above.intersects(below):
            found.append(f"rows {row} and {row + 1} overlap: {above} {below}")
    for row, rect in enumerate(rects):
        layout = view.message_delegate.layout_for(model.index(row), rect.width())
        if rect.height() < layout.height:
            found.append(f"row {row} is {rect.height()} px high for {layout.height} px")
        if rect.width() > width:
            found.append(f"row {row} is {rect.width()} px wide in a {width} px view")
        parts = (
            [chip.rect for chip in layout.chips]
            + [box.rect for box in layout.files]
            + [part for part in (layout.quote, layout.seen, layout.text_rect()) if part is not None]
        )
        for part in parts:
            if part.right() >= rect.width() or part.bottom() >= layout.height:
                found.append(f"row {row}: a part {part} sticks out of {rect.size()}")
        for box in layout.files:
            inside = [part for part in (box.label, box.open, box.save) if part is not None]
            if any(not box.rect.contains(part) for part in inside):
                found.append(f"row {row}: a file card's parts stick out of {box.rect}")
            if box.open is not None and box.save is not None and box.open.intersects(box.save):
                found.append(f"row {row}: Open and Save overlap: {box.open} {box.save}")
            if box.label is not None and box.open is not None and box.label.intersects(box.open):
                found.append(f"row {row}: a file's name runs into its buttons")
        if layout.header is not None:
            header = layout.header.translated(rect.topLeft())
            _, name, _, stamp = view.message_delegate.header_parts(
                model.index(row), header, view.font()
            )
            if name.right() >= stamp.left() or stamp.right() > rect.right():
                found.append(f"row {row}: the heading does not fit: {name} {stamp} in {rect}")
    for label in window.findChildren(QLabel):
        if not label.isVisibleTo(window) or not label.text():
            continue
        hint = label.sizeHint()
        if label.wordWrap():
            hint = QSize(label.width(), label.heightForWidth(label.width()))
        if label.height() < hint.height() or label.width() < hint.width():
            found.append(f"{label.text()!r} is cut: {label.size()} for {hint}")
    return found


async def settle() -> None:
    """Let Qt lay out (it does so in posted events, a few turns of the loop).

    The loop is Qt's (qasync): sleeping turns it. No processEvents() here:
    inside a coroutine it would step other tasks (a picture's download) in
    the middle of this one, which asyncio refuses.
    """
    for _ in range(4):
        await asyncio.sleep(0.01)


async def small_window_problems(cache_file: Path) -> list[str]:
    """Open a window over ``cache_file``, make it small, and list what is wrong."""
    cache = ChatCache.open(cache_file)
    controller = ChatController(
        cache, server_url="http://127.0.0.1:9", username="alice", token="unused"
    )
    window = MainWindow(controller)
    try:
        window.show()
        window.resize(SMALL)
        # "Seen by" lines, as a private room shows them.
        window.messages.set_seen_by({seq: ["bob", "carol", "dave"] for seq in range(2, 61, 6)})
        # Replying to a long message: the banner above the composer elides it.
        longest = max(window.messages.entries(), key=lambda entry: len(entry.text))
        window.composer_box.start_reply(longest)
        await settle()
        found = [f"window is {window.size()}, not {SMALL}"] if window.size() != SMALL else []
        bar = window.view.verticalScrollBar()
        # Every scroll position: rows are laid out as they come into view.
        for value in range(bar.minimum(), bar.maximum() + 1, max(1, window.view.height())):
            bar.setValue(value)
            await settle()
            found += problems(window)
        return found
    finally:
        await close_chat(window, controller, cache)


def main() -> int:
    import qasync

    app = QApplication(sys.argv[:1])
    app.setStyleSheet(style_sheet())
    loop = qasync.QEventLoop(app)
    found = loop.run_until_complete(small_window_problems(Path(sys.argv[1])))
    loop.close()
    print(f"device pixel ratio {app.devicePixelRatio()}")
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
