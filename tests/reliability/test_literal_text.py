"""A corpus of HTML and rich text goes through every place the window shows user text.

Real widgets, offscreen, over the real server (tests/ui's fixtures). Bob
sends each payload as a message; Alice's window must show it literally: the
model's display text, the text the delegate lays out and paints, and the
notification. User and room
names cannot carry markup through our server (the protocol restricts them),
but a hostile server could send them: they are fed to the window through
the controller's own signals (typing, members, rooms, a problem sentence).
The fixtures are tests/ui's (see conftest.py).
Finally every QLabel that shows any payload must be plain text, and every
tool tip in the window must render to text without markup.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel, QWidget

from chat_desktop.controller.entries import MemberEntry, RoomEntry
from tests.ui.conftest import OFFSCREEN_NOISE, LocalChatServer, alice_and_bob
from tests.waiting import eventually

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)

CORPUS = [
    "<b>bold</b>",
    '<img src="file:///etc/passwd">',
    "<img src=file:///etc/passwd width=4000>",
    '<span style="font-size:400pt">HUGE</span>',
    '<font size="+20">big</font>',
    '<a href="javascript:alert(1)">click me</a>',
    "<a href='file:///etc/shadow'>open</a>",
    "<script>alert(1)</script>",
    "<style>*{color:red;font-size:99pt}</style>x",
    "<qt><h1>heading</h1></qt>",
    "<table><tr><td>cell</td></tr></table>",
    "&lt;not a tag&gt; &amp; &#60;b&#62;",
    "<!-- hidden -->visible",
    "<p dir=rtl>\u202eevil</p>",
    "line one<br>line two",
]


def rendered(tooltip: str) -> str:
    """What Qt shows for a tool tip: rich text when it looks like rich text."""
    if not QtGui.Qt.mightBeRichText(tooltip):
        return tooltip
    document = QTextDocument()
    document.setHtml(tooltip)
    return document.toPlainText()


def test_hostile_markup_is_shown_literally_everywhere_user_text_appears(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        for payload in CORPUS:
            bob.type_and_send(payload)
        await eventually(lambda: alice.texts() == CORPUS)

        window = alice.w
        delegate = window.view.message_delegate
        for row, payload in enumerate(CORPUS):
            index = window.messages.index(row)
            assert index.data(Qt.ItemDataRole.DisplayRole) == payload
            assert delegate.layout_for(index).text.text() == payload
        # The last payload arrived in a batch of its own or with others: either
        # way the notification carries raw text (which tray.notify hands on as is).
        assert window.tray.last_message.startswith("bob in #general: ")
        assert window.tray.last_message.endswith(CORPUS[-1])

        # What a hostile server could send as names, through the controller's signals.
        controller = alice.c
        controller.typingChanged.emit("general", [CORPUS[0]])
        assert window.typing_line.text() == f"{CORPUS[0]} is typing..."
        controller.membersChanged.emit([MemberEntry(name, True) for name in CORPUS])
        controller.roomsChanged.emit([RoomEntry("general", 0), *(RoomEntry(n, 1) for n in CORPUS)])
        members = [window.members.index(r).data() for r in range(window.members.rowCount())]
        rooms = [window.rooms.index(r).data() for r in range(window.rooms.rowCount())]
        assert set(CORPUS) <= set(members) and set(CORPUS) <= set(rooms)
        controller.problem.emit(CORPUS[1])
        assert window.statusBar().currentMessage() == CORPUS[1]
        window.show_room(CORPUS[2])  # as a click on that room would
        assert window.header.text() == f"# {CORPUS[2]}"

        for label in window.findChildren(QLabel):
            if any(payload in label.text() for payload in CORPUS):
                assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()
        widgets = [window, *window.findChildren(QWidget)]
        for widget in widgets:
            tip = widget.toolTip()
            if tip:
                assert "<img" not in rendered(tip).lower() or "&lt;" in tip, tip
        for model in (window.members, window.rooms, window.messages):
            for r in range(model.rowCount()):
                tip = model.index(r).data(Qt.ItemDataRole.ToolTipRole)
                if tip:
                    shown = rendered(tip)
                    assert not any(payload not in shown and payload in tip for payload in CORPUS), (
                        tip
                    )

    run(body())
