"""What the window shows: user text literally, and the newest messages at once from the cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from chat_desktop.storage import ChatCache
from chat_desktop.ui.message_model import MessageRole
from chat_protocol import Message, RoomInfo
from chat_protocol.rules import format_ts
from tests.waiting import eventually

from .conftest import ChatClient, LocalChatServer, alice_and_bob

HOSTILE = '<b>bold</b> <img src=file:///etc/passwd> <a href="http://evil.example">x</a> &amp;'


def test_html_and_img_in_a_message_are_shown_literally(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        bob.type_and_send(HOSTILE)
        await eventually(lambda: alice.texts() == [HOSTILE])

        window = alice.w
        index = window.messages.index(0)
        assert index.data(Qt.ItemDataRole.DisplayRole) == HOSTILE
        # The delegate lays out exactly the characters typed (no markup parsed).
        layout = window.view.message_delegate.layout_for(index)
        assert layout.text.text() == HOSTILE
        assert index.data(MessageRole.ENTRY).text == HOSTILE
        # Alice's window is not the active one (bob's opened last): she was
        # notified, with the raw text as well.
        assert window.tray.last_message == f"bob in #general: {HOSTILE}"
        for label in window.findChildren(QLabel):
            rich = label.textFormat() == Qt.TextFormat.RichText or (
                label.textFormat() == Qt.TextFormat.AutoText
                and QtGui.Qt.mightBeRichText(label.text())
            )
            assert not rich, f"{label.objectName() or label} shows rich text: {label.text()!r}"

    run(body())


def test_window_over_a_cache_of_ten_thousand_messages_shows_the_newest_at_once(
    tmp_path: Path, make_client: Any, run: Any
) -> None:
    cache_file = tmp_path / "cache-alice.sqlite3"
    cache = ChatCache.open(cache_file)
    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    cache.save_rooms([RoomInfo("general", 10_000)])
    cache.save_messages(
        Message(
            "general",
            seq,
            f"id-{seq}",
            "bob" if seq % 3 else "carol",
            f"message number {seq}",
            format_ts(start + timedelta(seconds=seq * 30)),
        )
        for seq in range(1, 10_001)
    )
    cache.close()

    async def body() -> None:
        # The server is down (nothing listens there): only the cache can answer.
        alice: ChatClient = await make_client(
            "http://127.0.0.1:9", "alice", token="unused", connect=False
        )
        model = alice.w.messages
        # Right after construction, before any network: the newest rows are there.
        assert model.rowCount() > 0
        assert model.entry(model.rowCount() - 1).text == "message number 10000"
        assert model.has_older
        # And the view shows the bottom, not the top.
        bar = alice.w.view.verticalScrollBar()
        await eventually(lambda: bar.maximum() > 0 and alice.w.view.at_bottom())

    run(body())
