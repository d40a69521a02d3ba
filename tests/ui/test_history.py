"""History in the window: older pages on scroll, gaps filled, the "new messages" button."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chat_desktop.controller.entries import ConnectionKind
from chat_desktop.storage import ChatCache
from chat_desktop.ui import message_view
from chat_protocol import RoomInfo
from tests.waiting import eventually

from .conftest import ChatClient, LocalChatServer, register


def seqs(client: ChatClient) -> list[int | None]:
    return [entry.seq for entry in client.w.messages.entries()]


def bottom_of(client: ChatClient, seq: int) -> int:
    """Where the row of ``seq`` ends on screen (viewport y)."""
    model = client.w.messages
    row = next(n for n, entry in enumerate(model.entries()) if entry.seq == seq)
    return client.w.view.visualRect(model.index(row)).bottom()


def laid_out_at_bottom(client: ChatClient) -> bool:
    """At the bottom of a laid-out list: before the layout, the scroll range is
    still 0 and "at the bottom" holds trivially, so scrolling to the top would
    change nothing (and ask for nothing)."""
    bar = client.w.view.verticalScrollBar()
    return bar.maximum() > 0 and client.w.view.at_bottom()


def test_scrolling_to_the_top_loads_older_pages_from_the_server_then_the_cache(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        await chat_server_here.post("bob", [f"message {n}" for n in range(1, 251)])
        alice: ChatClient = await make_client(chat_server_here.url, "alice")
        # A fresh cache: the newest page comes from the server.
        await eventually(lambda: seqs(alice) == list(range(151, 251)))
        await eventually(lambda: laid_out_at_bottom(alice))

        alice.w.view.verticalScrollBar().setValue(0)
        await eventually(lambda: alice.w.view.loading_older)
        before = bottom_of(alice, 151)
        await eventually(lambda: seqs(alice) == list(range(51, 251)))
        await eventually(lambda: not alice.w.view.loading_older)
        # The reader's place is kept: the message that was at the top has not moved.
        assert bottom_of(alice, 151) == before

        alice.w.view.verticalScrollBar().setValue(0)
        await eventually(lambda: seqs(alice) == list(range(1, 251)))
        assert not alice.w.messages.has_older
        await alice.close()

        # Restarted offline: the same pages now come from the cache.
        alice.open(connect=False)
        assert seqs(alice) == list(range(151, 251))
        await eventually(lambda: laid_out_at_bottom(alice))
        alice.w.view.verticalScrollBar().setValue(0)
        await eventually(lambda: seqs(alice) == list(range(51, 251)))
        assert alice.c.status.kind is ConnectionKind.OFFLINE

    run(body())


def test_a_gap_in_the_replay_is_filled_from_history(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        await chat_server_here.stop()
        chat_server_here.replay_limit = 5
        await chat_server_here.start()
        token = await register(chat_server_here.url, "alice")
        await chat_server_here.post("bob", ["one", "two"])
        alice: ChatClient = await make_client(chat_server_here.url, "alice", token=token)
        await eventually(lambda: seqs(alice) == [1, 2])
        await alice.close()

        # While alice is away, more than the replay limit arrives.
        await chat_server_here.post("bob", [f"while away {n}" for n in range(3, 41)])
        alice.open()
        await eventually(lambda: seqs(alice) == list(range(1, 41)))
        assert alice.cache is not None
        assert alice.cache.positions() == {"general": 40}

    run(body())


async def scroll_to_the_middle(client: ChatClient) -> None:
    """Scroll a laid-out list half way up, where new messages no longer pull it down."""
    view = client.w.view
    await eventually(lambda: laid_out_at_bottom(client))
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum() // 2)
    await eventually(lambda: not view.pinned)


async def reading_history(server: LocalChatServer, make_client: Any) -> ChatClient:
    """alice, with 60 of bob's lines in the room, scrolled half way up them."""
    await server.post("bob", [f"line {n}" for n in range(1, 61)])
    alice: ChatClient = await make_client(server.url, "alice")
    await eventually(lambda: len(seqs(alice)) == 60)
    await scroll_to_the_middle(alice)
    return alice


def test_new_messages_button_counts_while_scrolled_up_and_jumps_to_the_newest(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice = await reading_history(chat_server_here, make_client)
        view = alice.w.view
        await chat_server_here.post("bob", ["news 1", "news 2"])
        # The two may arrive in one batch or in two: wait for both.
        await eventually(
            lambda: (
                view.new_button.isVisible() and view.new_button.text().endswith("2 new messages")
            )
        )
        assert not view.at_bottom()

        view.new_button.click()
        await eventually(lambda: view.at_bottom() and not view.new_button.isVisible())

        # At the bottom, new messages keep the view pinned there.
        await chat_server_here.post("bob", ["news 3"])
        await eventually(lambda: seqs(alice)[-1] == 63)
        await eventually(lambda: view.at_bottom())
        assert not view.new_button.isVisible()

    run(body())


def test_while_scrolled_up_a_long_burst_waits_in_the_cache_and_jumping_down_shows_it(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, monkeypatch: Any
) -> None:
    # The bound is 3,000 rows; 80 makes the same path quick to reach.
    monkeypatch.setattr(message_view, "SCROLLED_ROWS_MAX", 80)

    async def body() -> None:
        alice = await reading_history(chat_server_here, make_client)
        view = alice.w.view
        await chat_server_here.post("bob", [f"burst {n}" for n in range(1, 101)])
        await eventually(lambda: view.new_button.text().endswith("100 new messages"))
        # The list stopped growing at its bound; the rest is in the cache.
        assert alice.w.messages.rowCount() <= 80
        assert view.behind and not view.at_bottom()

        view.new_button.click()
        await eventually(lambda: seqs(alice)[-1] == 160 and view.at_bottom())
        assert alice.texts()[-1] == "burst 100"
        assert not view.new_button.isVisible() and not view.behind

        # Held back again; this time the reader scrolls all the way down.
        await scroll_up_through_a_burst(alice, 161)
        bar = view.verticalScrollBar()
        bar.setValue(bar.maximum())
        await eventually(lambda: seqs(alice)[-1] == 260 and view.at_bottom() and not view.behind)

        # Held back again; a message of mine is shown at once, as always.
        await scroll_up_through_a_burst(alice, 261)
        alice.type_and_send("my answer")
        await eventually(lambda: alice.texts()[-1] == "my answer" and view.at_bottom())
        assert seqs(alice)[-2] == 360 and not view.behind

    async def scroll_up_through_a_burst(alice: ChatClient, first: int) -> None:
        await scroll_to_the_middle(alice)
        await chat_server_here.post("bob", [f"burst {n}" for n in range(first, first + 100)])
        await eventually(lambda: alice.w.view.new_button.text().endswith("100 new messages"))
        assert alice.w.view.behind

    run(body())


def test_a_hole_in_the_newest_cached_page_is_filled_on_connect(
    chat_server_here: LocalChatServer, tmp_path: Path, make_client: Any, run: Any
) -> None:
    # A connection dropped while the newest page was on its way, and live
    # messages came in above it: the cache holds 41-50 of a room with 50.
    async def body() -> None:
        texts = [f"message {n}" for n in range(1, 51)]
        await chat_server_here.post("bob", texts)
        server_side = await chat_server_here.server.service.store.messages_after("general", 0, 50)
        cache = ChatCache.open(tmp_path / "cache-alice.sqlite3")
        cache.save_rooms([RoomInfo("general", 50)])
        cache.save_messages(server_side[40:])
        cache.close()

        alice: ChatClient = await make_client(chat_server_here.url, "alice")
        await eventually(lambda: alice.texts() == texts)

    run(body())
