"""Drafts stay in the room they were typed in, across room switches and restarts.

A real server, real windows and the real cache file: what is typed in one
room and not sent is there again when the room is shown again, in the same
window or in a new one on the same cache (the app's next start); sending
clears it; an edit in progress is not a draft.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.waiting import eventually

from .conftest import ChatClient, LocalChatServer, connected


async def two_rooms(client: ChatClient) -> None:
    client.c.create_room("random")
    await eventually(lambda: "random" in client.w.rooms.names())
    client.w.show_room("general")


def field(client: ChatClient) -> str:
    return client.w.composer.toPlainText()


def test_a_draft_stays_in_its_room_and_survives_a_restart(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice: ChatClient = await make_client(chat_server_here.url, "alice")
        await eventually(lambda: connected(alice))
        await two_rooms(alice)
        composer = alice.w.composer
        composer.setFocus()
        QTest.keyClicks(composer, "half a thought")

        # Another room: the text does not follow; its own draft is typed there.
        alice.w.show_room("random")
        assert field(alice) == ""
        QTest.keyClicks(composer, "for random")
        alice.w.show_room("general")
        assert field(alice) == "half a thought"
        alice.w.show_room("random")
        assert field(alice) == "for random"
        # Kept a moment after the typing stops, without a room switch.
        QTest.keyClicks(composer, "!")
        await eventually(lambda: alice.c.draft("random") == "for random!")

        # The app closes and starts again on the same cache: the drafts are there.
        again = ChatClient(
            alice.username, alice.url, alice.token, alice.cache_file, alice.link_factory
        )
        await alice.close()
        again.open()
        try:
            again.w.show_room("general")
            assert field(again) == "half a thought"
            again.w.show_room("random")
            assert field(again) == "for random!"

            # Sending clears the draft.
            again.w.show_room("general")
            again.w.composer.setFocus()
            QTest.keyClick(again.w.composer, Qt.Key.Key_Return)
            assert field(again) == ""
            assert again.c.draft("general") == ""
            again.w.show_room("random")
            again.w.show_room("general")
            assert field(again) == ""
        finally:
            await again.close()

    run(body())


def test_an_edit_in_progress_is_not_a_draft(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice: ChatClient = await make_client(chat_server_here.url, "alice")
        await eventually(lambda: connected(alice))
        await two_rooms(alice)
        alice.type_and_send("sent earlier")
        await eventually(lambda: alice.w.messages.entries()[-1].seq is not None)
        QTest.keyClicks(alice.w.composer, "typed before the edit")
        alice.w.composer_box.start_edit(alice.w.messages.entries()[-1])
        assert field(alice) == "sent earlier"

        # Leaving the room ends the edit; the draft is what was typed before it.
        alice.w.show_room("random")
        assert alice.w.composer_box.editing is None
        assert not alice.w.composer_box.banner.isVisible()
        alice.w.show_room("general")
        assert field(alice) == "typed before the edit"
        assert alice.c.draft("general") == "typed before the edit"

    run(body())
