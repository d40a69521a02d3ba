"""Asking for a room gets one answer about that name: created, or refused with a reason.

The ChatController is the Qt face, but its room requests need no event loop
of Qt's: signals to plain callables are delivered at once. The server is
played through a :class:`~.fake_link.FakeLink`: its ``room`` event is the
success; a refusal is an ``error`` naming no request, which answers the
oldest room request still open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_desktop.controller.chat import ChatController
from chat_desktop.storage import ChatCache
from chat_protocol import CreateRoom, Error, ErrorCode, Room
from tests.waiting import eventually

from .conftest import ME
from .fake_link import FakeLink


class Asker:
    """A ChatController over a FakeLink, and every answer it gave about rooms."""

    def __init__(self, cache: ChatCache) -> None:
        self.links: list[FakeLink] = []
        self.controller = ChatController(
            cache, server_url="http://127.0.0.1:9", username=ME, token="t", link_factory=self.link
        )
        self.created: list[str] = []
        self.refused: list[tuple[str, str]] = []
        self.problems: list[str] = []
        self.controller.roomCreated.connect(self.created.append)
        self.controller.roomRefused.connect(lambda name, why: self.refused.append((name, why)))
        self.controller.problem.connect(self.problems.append)

    def link(self, *args: object, **kwargs: object) -> FakeLink:
        made = FakeLink(*args, **kwargs)  # type: ignore[arg-type]
        self.links.append(made)
        return made

    def asked(self) -> list[str]:
        return [e.name for e in self.links[-1].sent if isinstance(e, CreateRoom)]


@pytest.fixture
async def asker(tmp_path: Path) -> AsyncIterator[Asker]:
    cache = ChatCache.open(tmp_path / "cache.sqlite3")
    made = Asker(cache)
    made.controller.start()
    made.links[-1].connect()
    try:
        yield made
    finally:
        await made.controller.close()
        cache.close()


async def test_a_bad_name_is_refused_with_the_rule_before_anything_is_sent(asker: Asker) -> None:
    asker.controller.create_room("  Team Plans ")
    rule = "Room name must be 1-64 characters of a-z, 0-9, '_' or '-'."
    assert asker.refused == [("team plans", rule)]
    assert asker.asked() == [] and asker.problems == []


async def test_the_server_s_room_event_answers_the_request(asker: Asker) -> None:
    asker.controller.create_room("Plans")
    await eventually(lambda: asker.asked() == ["plans"])
    asker.links[-1].deliver(Room("plans", 0))
    await eventually(lambda: asker.created == ["plans"])
    assert asker.refused == []


async def test_a_refusal_answers_the_oldest_open_request_and_other_errors_stay_problems(
    asker: Asker,
) -> None:
    asker.controller.create_room("first")
    asker.controller.create_room("second")
    await eventually(lambda: asker.asked() == ["first", "second"])
    link = asker.links[-1]
    # About something else (a history page of a room that is gone): not a room answer.
    # Shown by its code's sentence (translated), not the server's English words.
    link.deliver(Error(ErrorCode.UNKNOWN_ROOM, "there is no room 'old'"))
    await eventually(lambda: asker.problems == ["This room does not exist."])
    assert asker.refused == []

    link.deliver(Error(ErrorCode.RATE_LIMITED, "more than 10 new rooms in a short time"))
    await eventually(lambda: asker.refused != [])
    assert asker.refused == [
        ("first", "Too many requests in a short time: wait a moment and try again.")
    ]
    link.deliver(Room("second", 0))
    await eventually(lambda: asker.created == ["second"])


async def test_a_drop_before_the_answer_refuses_the_request(asker: Asker) -> None:
    asker.controller.create_room("plans")
    await eventually(lambda: asker.asked() == ["plans"])
    asker.links[-1].drop()
    assert [name for name, _ in asker.refused] == ["plans"]
    assert "connection dropped" in asker.refused[0][1]
    # Offline, nothing is sent: the answer comes at once.
    asker.controller.create_room("later")
    assert asker.refused[-1] == (
        "later",
        "You are offline: a room can be created once the connection is back.",
    )
