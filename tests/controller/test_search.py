"""MessageSearch: the cache's hits first (offline, the whole answer), the server's merged in
once, by (room, seq), with the server's copy of each message."""

from __future__ import annotations

import threading

from chat_desktop.controller.search import (
    MessageSearch,
    SearchAnswer,
    SearchSource,
    SearchStage,
    merge,
)
from chat_protocol import Message
from tests.waiting import eventually

from .conftest import Session


def said(seq: int, text: str, *, room: str = "general", ts: str = "") -> Message:
    return Message(room, seq, f"c{seq}", "bob", text, ts or f"2026-11-30T10:00:{seq:02d}.000Z")


def test_a_message_found_in_both_places_is_listed_once_with_the_servers_text() -> None:
    cached = [said(3, "lunch at noon")]
    server = [said(3, "lunch at noon, edited"), said(1, "lunch yesterday")]
    hits = merge(cached, server, room="general", limit=20)
    assert [(hit.entry.seq, hit.entry.text, hit.source) for hit in hits] == [
        (3, "lunch at noon, edited", SearchSource.LOCAL),
        (1, "lunch yesterday", SearchSource.SERVER),
    ]


def test_a_cached_hit_the_server_no_longer_finds_is_dropped() -> None:
    # The server's answer is complete (fewer than the limit): seq 2 was
    # edited to other words or deleted.
    hits = merge([said(2, "lunch"), said(1, "lunch")], [said(1, "lunch")], room="general", limit=20)
    assert [hit.entry.seq for hit in hits] == [1]


def test_cached_hits_older_than_a_full_server_page_stay() -> None:
    server = [said(9, "lunch"), said(8, "lunch")]
    cached = [said(9, "lunch"), said(7, "lunch old"), said(8, "lunch")]
    hits = merge(cached, server, room="general", limit=2)
    assert [(hit.entry.seq, hit.source) for hit in hits] == [
        (9, SearchSource.LOCAL),
        (8, SearchSource.LOCAL),
        (7, SearchSource.LOCAL),
    ]


def test_hits_across_rooms_are_newest_first_by_time() -> None:
    early = said(5, "lunch", room="random", ts="2026-11-30T09:00:00.000Z")
    late = said(1, "lunch", room="general", ts="2026-11-30T11:00:00.000Z")
    hits = merge([early], [late, early], room=None, limit=20)
    assert [hit.entry.room for hit in hits] == ["general", "random"]


async def test_offline_the_caches_hits_are_the_whole_answer(session: Session) -> None:
    session.cache.save_messages([said(1, "pineapple pizza"), said(2, "no fruit")])
    answers: list[SearchAnswer] = []
    search = MessageSearch(
        session.cache, session.connection, session.tasks, token="t", on_results=answers.append
    )
    search.search("pine")
    await eventually(lambda: answers)
    assert [(a.stage, [h.entry.text for h in a.hits]) for a in answers] == [
        (SearchStage.OFFLINE, ["pineapple pizza"])
    ]


async def test_a_query_without_words_is_answered_at_once(session: Session) -> None:
    answers: list[SearchAnswer] = []
    search = MessageSearch(
        session.cache, session.connection, session.tasks, token="t", on_results=answers.append
    )
    search.search(" ?! ")
    assert [answer.stage for answer in answers] == [SearchStage.NO_WORDS]


async def test_closing_the_panel_ends_the_worker_and_a_new_search_starts_one(
    session: Session,
) -> None:
    session.cache.save_messages([said(1, "pineapple pizza")])
    answers: list[SearchAnswer] = []
    search = MessageSearch(
        session.cache, session.connection, session.tasks, token="t", on_results=answers.append
    )
    search.search("pine")
    await eventually(lambda: answers)
    assert any(thread.name.startswith("cache-search") for thread in threading.enumerate())
    search.cancel()
    await eventually(
        lambda: not any(t.name.startswith("cache-search") for t in threading.enumerate()),
        "the worker thread ended",
    )
    search.search("pizza")
    await eventually(lambda: len(answers) == 2)
    assert [hit.entry.text for hit in answers[1].hits] == ["pineapple pizza"]


async def test_in_one_room_more_adds_the_hits_before_the_oldest_until_there_are_none(
    session: Session,
) -> None:
    session.cache.save_messages([said(seq, f"lunch number {seq}") for seq in range(1, 31)])
    answers: list[SearchAnswer] = []
    search = MessageSearch(
        session.cache, session.connection, session.tasks, token="t", on_results=answers.append
    )
    search.search("lunch", "general")
    await eventually(lambda: answers)
    assert [hit.entry.seq for hit in answers[-1].hits] == list(range(30, 10, -1))
    search.more()
    await eventually(lambda: len(answers) == 2)
    assert [hit.entry.seq for hit in answers[-1].hits] == list(range(30, 0, -1))
    # The last page was not full: there is nothing more to ask for.
    search.more()
    search.search("lunch")  # across rooms: no paging
    await eventually(lambda: len(answers) == 3)
    search.more()
    assert len(answers) == 3
