"""History: older pages come from the cache when it has them and from the server when
not, a gap in the replay is paged until whole, and a room's first page is whole."""

from __future__ import annotations

import asyncio
from typing import Any

from chat_desktop.controller.history import History
from chat_protocol import Gap, HistoryPage, HistoryRequest, RoomInfo
from tests.waiting import eventually

from .conftest import ME, Session, message


def history_of(session: Session, **options: Any) -> tuple[History, list[None]]:
    """A History on the session whose pages are answered as the controller does
    (saved in the cache, then handed to answer()); and its on_read calls."""
    read: list[None] = []
    history = History(
        session.cache,
        session.connection,
        session.tasks,
        on_read=lambda: read.append(None),
        **options,
    )

    def on_batch(events: list[object]) -> None:
        for event in events:
            if isinstance(event, HistoryPage):
                session.cache.save_messages(event.messages)
                history.answer(event)

    session.on_batch = on_batch  # type: ignore[assignment]
    return history, read


def requests(session: Session) -> list[tuple[str, int | None, int]]:
    return [
        (event.room, event.before, event.limit)
        for event in session.link.sent
        if isinstance(event, HistoryRequest)
    ]


def page(room: str, first: int, last: int, *, has_more: bool) -> HistoryPage:
    return HistoryPage(room, [message(seq, room=room) for seq in range(first, last + 1)], has_more)


async def test_scrolling_up_reads_the_cache_without_asking_the_server(session: Session) -> None:
    history, _ = history_of(session)
    session.cache.save_messages([message(seq) for seq in range(1, 151)])
    session.link.connect()

    older = await history.older_page("general", 101)
    assert [entry.seq for entry in older.entries] == list(range(1, 101))
    assert older.has_more is False
    older = await history.older_page("general", 151)
    assert [entry.seq for entry in older.entries] == list(range(51, 151))
    assert older.has_more is True
    assert requests(session) == []


async def test_scrolling_past_the_cache_asks_the_server_for_the_page(session: Session) -> None:
    history, _ = history_of(session)
    session.link.connect()

    asking = asyncio.ensure_future(history.older_page("general", 300))
    await eventually(lambda: requests(session) == [("general", 300, 100)])
    session.link.deliver(page("general", 200, 299, has_more=True))
    older = await asyncio.wait_for(asking, 5)
    assert [entry.seq for entry in older.entries] == list(range(200, 300))
    assert older.has_more is True


async def test_offline_or_unanswered_the_view_may_ask_again_later(session: Session) -> None:
    history, _ = history_of(session, timeout=0.05)
    offline = await history.older_page("general", 300)
    assert offline.entries == [] and offline.has_more is True
    assert requests(session) == []

    session.link.connect()
    unanswered = await history.older_page("general", 300)
    assert unanswered.entries == [] and unanswered.has_more is True
    assert requests(session) == [("general", 300, 100)]


async def test_answers_go_to_the_requests_of_their_room_in_the_order_asked(
    session: Session,
) -> None:
    history, _ = history_of(session)
    session.link.connect()
    first = asyncio.ensure_future(history.request("general", 50, 10))
    other_room = asyncio.ensure_future(history.request("random", 9, 5))
    second = asyncio.ensure_future(history.request("general", 40, 10))
    await eventually(lambda: len(requests(session)) == 3)

    session.link.deliver(page("random", 4, 8, has_more=True))
    session.link.deliver(page("general", 40, 49, has_more=True))
    session.link.deliver(page("general", 30, 39, has_more=True))
    answers = await asyncio.wait_for(asyncio.gather(first, other_room, second), 5)
    assert [answer and answer.messages[0].seq for answer in answers] == [40, 4, 30]


async def test_a_gap_in_the_replay_is_paged_backwards_until_every_message_is_here(
    session: Session,
) -> None:
    history, _ = history_of(session)
    session.link.connect()
    # The server replayed 500.. after a reconnect; 11..499 were skipped.
    history.fill_gap(Gap("general", after=10, before=500))

    await eventually(lambda: requests(session) == [("general", 500, 200)])
    session.link.deliver(page("general", 300, 499, has_more=True))
    await eventually(lambda: requests(session)[-1] == ("general", 300, 200))
    session.link.deliver(page("general", 100, 299, has_more=True))
    await eventually(lambda: requests(session)[-1] == ("general", 100, 89))
    session.link.deliver(page("general", 11, 99, has_more=True))

    def cached() -> list[int]:
        return [m.seq for m in session.cache.latest("general", 1000)]

    await eventually(lambda: cached() == list(range(11, 500)))
    # Every skipped message is here: nothing more is asked for. (The page's
    # waiter woke before eventually's next check, and a fourth request would
    # have been sent in that same step.)
    assert len(requests(session)) == 3


async def test_after_the_welcome_a_room_s_newest_page_is_made_whole(session: Session) -> None:
    history, read = history_of(session)
    # The cache holds the top of "general" only (a drop cut its page short),
    # and nothing of "random"; "empty" has no messages at all.
    session.cache.save_messages([message(seq) for seq in range(190, 201)])
    session.link.connect()

    history.complete_newest_pages(
        [RoomInfo("general", 200), RoomInfo("random", 40), RoomInfo("empty", 0)]
    )
    await eventually(
        lambda: sorted(requests(session), key=str) == [("general", 190, 89), ("random", None, 100)]
    )
    session.link.deliver(page("random", 1, 40, has_more=False))
    # What was said in a room before I first looked there is history, not news.
    await eventually(lambda: read == [None])
    assert session.cache.unread_counts(ME).get("random", 0) == 0


async def test_opening_a_room_shows_the_cache_at_once_and_asks_for_what_it_lacks(
    session: Session,
) -> None:
    history, _ = history_of(session)
    session.cache.save_messages([message(seq) for seq in range(1, 6)])
    session.link.connect()

    assert [e.seq for e in history.cached_page("general", last_seq=5)] == [1, 2, 3, 4, 5]
    assert history.cached_page("random", last_seq=0) == []
    assert requests(session) == []
    assert history.cached_page("random", last_seq=12) == []
    await eventually(lambda: requests(session) == [("random", None, 100)])


async def test_a_rooms_newest_page_leaves_the_servers_unread_count_as_it_is(
    session: Session,
) -> None:
    history, read = history_of(session)
    session.link.connect()
    # Version 2: the server counts 5 of the 40 unread, on every device alike.
    session.cache.save_rooms([RoomInfo("random", 40, kind="public", read_seq=35, unread=5)])
    history.complete_newest_pages([RoomInfo("random", 40, kind="public", read_seq=35, unread=5)])
    await eventually(lambda: requests(session) == [("random", None, 100)])
    session.link.deliver(page("random", 1, 40, has_more=False))
    await eventually(lambda: session.cache.positions().get("random") == 40)
    assert read == []
    assert session.cache.unread_counts(ME)["random"] == 5


async def test_a_room_never_read_anywhere_is_read_on_the_server_on_the_first_visit(
    session: Session,
) -> None:
    told: list[str] = []
    history, read = history_of(session, first_visit=told.append)
    session.link.connect()
    # Version 2: the server counts all 40 unread, and no device of mine read here.
    session.cache.save_rooms([RoomInfo("random", 40, kind="public", read_seq=0, unread=40)])
    history.complete_newest_pages([RoomInfo("random", 40, kind="public", read_seq=0, unread=40)])
    await eventually(lambda: requests(session) == [("random", None, 100)])
    session.link.deliver(page("random", 1, 40, has_more=False))
    await eventually(lambda: told == ["random"])
    assert read == [None]
