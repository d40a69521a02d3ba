"""Search in the window (issue 14): Ctrl+F / Ctrl+Shift+F, hits from the cache and the server, jump.

Real server, real windows: what one user writes, the other finds through the
search panel, online (merged with the server's answer) and with the server
stopped (the cache alone); edits and deletes are made in the author's app.
The private room is made through the HTTP API as its creator (a plain
aiohttp client).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from chat_desktop.controller.search import SearchHit, SearchSource, SearchStage
from chat_desktop.ui.search_panel import SearchPanel, SearchRole, preview
from tests.server.wire import acting
from tests.ui.conftest import ChatClient, ClientFactory, LocalChatServer, Runner, alice_and_bob
from tests.waiting import eventually


def open_search(client: ChatClient, *, every_room: bool) -> SearchPanel:
    action = client.w.find_everywhere_action if every_room else client.w.find_action
    action.trigger()
    panel = client.w.search_panel
    assert panel is not None and panel.isVisible()
    return panel


def hits(panel: SearchPanel) -> list[SearchHit]:
    return [panel.results.hit(row) for row in range(panel.results.rowCount())]


def texts(panel: SearchPanel) -> list[str]:
    return [hit.entry.text for hit in hits(panel)]


async def search(panel: SearchPanel, words: str, final: SearchStage) -> list[str]:
    """Type ``words`` into the panel and wait for the answer of stage ``final``."""
    answers: list[tuple[str, SearchStage]] = []
    controller_signal = panel.parent().controller.searchResults  # type: ignore[attr-defined]

    def heard(query: str, _hits: list[Any], stage: SearchStage) -> None:
        answers.append((query, stage))

    controller_signal.connect(heard)
    try:
        # Cleared first: the same words again are a new search too.
        panel.query.clear()
        panel.query.setText(words)
        await eventually(lambda: (words, final) in answers, f"the {final.value} answer")
    finally:
        controller_signal.disconnect(heard)
    return texts(panel)


async def send_and_wait(sender: ChatClient, reader: ChatClient, text: str) -> None:
    sender.type_and_send(text)
    await eventually(lambda: text in reader.texts(), f"{reader.username} has {text!r}")


def test_a_word_typed_in_one_window_is_found_from_the_other_online_and_offline(
    run: Runner[Any], chat_server_here: LocalChatServer, make_client: ClientFactory
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        await send_and_wait(alice, bob, "Lunch at the pineapple place?")
        await send_and_wait(alice, bob, "Something else entirely")

        panel = open_search(bob, every_room=True)
        assert panel.room is None
        found = await search(panel, "PINEAP", SearchStage.SERVER)
        assert found == ["Lunch at the pineapple place?"]
        # Bob's cache had it, and the server found it too: listed once.
        assert panel.summary.text() == "1 on this computer, 0 from the server"
        spans = panel.results.index(0).data(SearchRole.SPANS)
        assert [found[0][start:end] for start, end in spans] == ["pineap"]

        await chat_server_here.stop()
        await eventually(lambda: not bob.c.status.kind.name.startswith("CONNECTED"))
        found = await search(panel, "lunch", SearchStage.OFFLINE)
        assert found == ["Lunch at the pineapple place?"]
        assert "Offline" in panel.summary.text()

    run(body())


def test_ctrl_f_searches_the_room_on_screen_and_ctrl_shift_f_every_room(
    run: Runner[Any], chat_server_here: LocalChatServer, make_client: ClientFactory
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        alice.c.create_room("plans")
        await eventually(lambda: "plans" in bob.w.rooms.names())
        alice.w.show_room("general")
        await send_and_wait(alice, bob, "kiwi in general")
        alice.w.show_room("plans")
        bob.w.show_room("plans")
        await send_and_wait(alice, bob, "kiwi in plans")

        QTest.keyClick(bob.w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        panel = bob.w.search_panel
        assert panel is not None and panel.room == "plans"
        assert await search(panel, "kiwi", SearchStage.SERVER) == ["kiwi in plans"]
        panel.reject()
        await eventually(lambda: bob.w.search_panel is None)
        bob.w.activateWindow()
        await eventually(bob.w.isActiveWindow)

        QTest.keyClick(
            bob.w,
            Qt.Key.Key_F,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
        panel = bob.w.search_panel
        assert panel is not None and panel.room is None
        found = await search(panel, "kiwi", SearchStage.SERVER)
        assert sorted(found) == ["kiwi in general", "kiwi in plans"]

    run(body())


def test_an_edited_message_is_found_by_its_new_words_only_and_a_deleted_one_is_gone(
    run: Runner[Any], chat_server_here: LocalChatServer, make_client: ClientFactory
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        await send_and_wait(alice, bob, "quokka spotted near the lake")
        await send_and_wait(alice, bob, "quokka selfie incoming")
        panel = open_search(bob, every_room=True)
        found = await search(panel, "quokka", SearchStage.SERVER)
        assert sorted(found) == ["quokka selfie incoming", "quokka spotted near the lake"]

        mine = {entry.text: entry for entry in alice.w.messages.entries()}
        alice.c.edit(mine["quokka spotted near the lake"], "wombat seen")
        alice.c.delete(mine["quokka selfie incoming"])
        await eventually(lambda: "wombat seen" in bob.texts(), "bob sees the edit")
        await eventually(lambda: any(e.deleted for e in bob.w.messages.entries()), "the delete")

        assert await search(panel, "quokka", SearchStage.SERVER) == []
        assert panel.summary.text() == "No messages found"
        assert await search(panel, "wombat", SearchStage.SERVER) == ["wombat seen"]
        # Bob's cache applied the edit: the hit is on this computer, found once.
        assert [hit.source for hit in hits(panel)] == [SearchSource.LOCAL]

        # The same from the cache alone, with the server stopped.
        await chat_server_here.stop()
        assert await search(panel, "quokka", SearchStage.OFFLINE) == []
        assert await search(panel, "wombat", SearchStage.OFFLINE) == ["wombat seen"]
        assert await search(panel, "selfie", SearchStage.OFFLINE) == []

    run(body())


def test_a_non_member_never_finds_a_private_rooms_message(
    run: Runner[Any], chat_server_here: LocalChatServer, make_client: ClientFactory
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        assert chat_server_here.server is not None
        async with acting(chat_server_here.server, alice.token, "http") as writer:
            assert (await writer.create("hideout", private=True))[0] == "room"
            assert (await writer.write("message", "hideout", text="narwhal plans"))[0] == "ack"
        await send_and_wait(alice, bob, "a public narwhal")

        panel = open_search(bob, every_room=True)
        assert await search(panel, "narwhal", SearchStage.SERVER) == ["a public narwhal"]

    run(body())


def test_a_member_removed_from_a_private_room_no_longer_finds_its_messages_even_offline(
    run: Runner[Any], chat_server_here: LocalChatServer, make_client: ClientFactory
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        alice.c.create_room("hideout", private=True, members=["bob"])
        await eventually(lambda: "hideout" in bob.w.rooms.names(), "bob is in the hideout")
        alice.w.show_room("hideout")
        bob.w.show_room("hideout")
        # Bob's window has it: it is stored on the server and in bob's cache,
        # so both searches below would find it but for the removal.
        await send_and_wait(alice, bob, "narwhal plans")
        panel = open_search(bob, every_room=True)
        assert await search(panel, "narwhal", SearchStage.SERVER) == ["narwhal plans"]

        alice.c.remove("hideout", "bob")
        await eventually(lambda: "hideout" not in bob.w.rooms.names(), "bob is out")
        assert await search(panel, "narwhal", SearchStage.SERVER) == []
        await chat_server_here.stop()
        assert await search(panel, "narwhal", SearchStage.OFFLINE) == []

    run(body())


def test_choosing_a_hit_jumps_to_it_with_the_messages_around_it_and_flashes_it(
    run: Runner[Any], chat_server_here: LocalChatServer, make_client: ClientFactory
) -> None:
    async def body() -> None:
        await chat_server_here.post("carol", ["the ancient walrus speaks"])
        await chat_server_here.post("carol", [f"filler {n}" for n in range(160)])
        bob = await make_client(chat_server_here.url, "bob")
        await eventually(lambda: "filler 159" in bob.texts())
        # Only the newest page is on bob's computer: the walrus is the server's.
        assert "the ancient walrus speaks" not in bob.texts()

        panel = open_search(bob, every_room=False)
        assert await search(panel, "walrus", SearchStage.SERVER) == ["the ancient walrus speaks"]
        assert panel.summary.text() == "0 on this computer, 1 from the server"
        QTest.keyClick(panel.query, Qt.Key.Key_Return)

        view = bob.w.view
        await eventually(lambda: view.flashing_row() is not None, "the hit flashes")
        row = view.flashing_row()
        assert row is not None
        assert bob.w.messages.entry(row).text == "the ancient walrus speaks"
        assert bob.w.search_panel is None
        # The messages after it are loaded around it, and it is on screen.
        assert "filler 20" in bob.texts()
        assert "filler 159" not in bob.texts()
        assert view.viewport().rect().intersects(view.visualRect(bob.w.messages.index(row)))

        # Going down to the newest brings the newest page back.
        view.scroll_to_newest()
        await eventually(lambda: "filler 159" in bob.texts())

    run(body())


def test_enter_right_after_typing_opens_the_first_hit_once_the_answer_is_in(
    run: Runner[Any], chat_server_here: LocalChatServer, make_client: ClientFactory
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        await send_and_wait(alice, bob, "the mango is ripe")
        await send_and_wait(alice, bob, "something else")
        panel = open_search(bob, every_room=False)
        QTest.keyClicks(panel.query, "mango")
        QTest.keyClick(panel.query, Qt.Key.Key_Return)
        await eventually(lambda: bob.w.view.flashing_row() is not None, "the hit flashes")
        row = bob.w.view.flashing_row()
        assert row is not None and bob.w.messages.entry(row).text == "the mango is ripe"

    run(body())


def test_a_long_hit_is_shown_from_just_before_its_first_match() -> None:
    text = "word " * 40 + "the pineapple arrived"
    start = text.index("pineapple")
    shown, spans = preview(text, [(start, start + 9)])
    assert shown.startswith("…") and len(shown) < len(text)
    assert [shown[a:b] for a, b in spans] == ["pineapple"]
    assert preview("short\nline pineapple", [(11, 20)]) == ("short line pineapple", [(11, 20)])


def test_a_hit_in_a_direct_room_is_shown_by_the_other_persons_name(
    run: Runner[Any], chat_server_here: LocalChatServer, make_client: ClientFactory
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        alice.c.open_dm(["bob"])
        await eventually(lambda: alice.w.messages.room.startswith("dm-"), "alice in the DM")
        room = alice.w.messages.room
        await eventually(lambda: room in [entry.name for entry in bob.c.rooms()])
        alice.type_and_send("the papaya is for you")
        panel = open_search(bob, every_room=True)
        assert await search(panel, "papaya", SearchStage.SERVER) == ["the papaya is for you"]
        header = panel.results.index(0).data(SearchRole.HEADER)
        assert header.startswith("alice · alice · ")

    run(body())


def test_down_past_the_last_hit_of_a_room_loads_the_older_hits(
    run: Runner[Any], chat_server_here: LocalChatServer, make_client: ClientFactory
) -> None:
    async def body() -> None:
        await chat_server_here.post("carol", [f"kiwi number {n}" for n in range(1, 26)])
        bob = await make_client(chat_server_here.url, "bob")
        await eventually(lambda: "kiwi number 25" in bob.texts())
        panel = open_search(bob, every_room=False)
        found = await search(panel, "kiwi", SearchStage.SERVER)
        assert found == [f"kiwi number {n}" for n in range(25, 5, -1)]
        answers: list[tuple[int, SearchStage]] = []
        bob.c.searchResults.connect(lambda _q, found, stage: answers.append((len(found), stage)))
        for _ in range(len(found)):
            QTest.keyClick(panel.query, Qt.Key.Key_Down)
        # The older page from the cache, then merged with the server's.
        await eventually(lambda: (25, SearchStage.SERVER) in answers, "the older hits")
        assert panel.results.rowCount() == 25
        assert texts(panel)[-1] == "kiwi number 1"
        assert panel.list.currentIndex().row() == 19

    run(body())
