"""Batches keep the order things came in where it matters: what came over the old
connection is applied before anything of the next one (and counts in the next
hello's ``since``), and a ``room`` event after log entries is not applied before them.

The server's side is played through a fake link: two events arriving within one
batch's 30 ms is a timing a real peer does not give on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_desktop.controller.chat import ChatController
from chat_desktop.storage import ChatCache
from chat_protocol import (
    Edit,
    HistoryPage,
    HistoryRequest,
    Message,
    Room,
    RoomInfo,
    ServerInfo,
    Welcome,
    rules,
)
from tests.waiting import eventually

from .conftest import ME
from .fake_link import FakeLink


class App:
    """A ChatController over FakeLinks (the server's side played by the test)."""

    def __init__(self, cache: ChatCache) -> None:
        self.links: list[FakeLink] = []
        self.controller = ChatController(
            cache, server_url="http://127.0.0.1:9", username=ME, token="t", link_factory=self.link
        )

    def link(self, *args: object, **kwargs: object) -> FakeLink:
        made = FakeLink(*args, **kwargs)  # type: ignore[arg-type]
        self.links.append(made)
        return made


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    cache = ChatCache.open(tmp_path / "cache.sqlite3")
    made = App(cache)
    made.controller.start()
    try:
        yield made
    finally:
        await made.controller.close()
        cache.close()


def welcome(last_seq: int) -> Welcome:
    room = RoomInfo("general", last_seq, kind="public")
    return Welcome(rules.PROTOCOL_V2, ME, [room], ["bob"], ServerInfo("test", "1"))


async def asking_for_the_first_page(app: App) -> FakeLink:
    """The link, connected and welcomed to a room of two messages: the empty cache
    has asked for the room's newest page."""
    link = app.links[-1]
    link.connect()
    link.deliver(welcome(2))
    await eventually(lambda: link.sent_of(HistoryRequest) != [])
    return link


def first_page() -> HistoryPage:
    """The page as the server read it, before bob's edit of his typo (seq 3)."""
    typo = Message("general", 1, "c1", "bob", "helo", rules.now_ts())
    later = Message("general", 2, "c2", "bob", "anyone here?", rules.now_ts())
    return HistoryPage("general", [typo, later], False)


def the_edit() -> Edit:
    return Edit("general", 3, 1, "bob", "hello", rules.now_ts())


def text_of_the_typo(app: App) -> str | None:
    entry = app.controller.message("general", 1)
    return None if entry is None else entry.text


async def test_an_edit_made_while_the_connection_was_down_reaches_a_message_of_a_page(
    app: App,
) -> None:
    """The first page arrives, the connection drops at once (within one batch's
    time) and the next one is welcomed: bob's edit of a message on that page,
    stored meanwhile, is shown."""
    link = await asking_for_the_first_page(app)
    link.deliver(first_page())
    link.drop()
    link.connect()
    # The server replays what the hello's since says was missed (nothing of a
    # room that is not in it), after the welcome.
    since = link.positions()
    link.deliver(welcome(3))
    if since.get("general", 0) < 3:
        link.deliver(the_edit())
    await eventually(lambda: text_of_the_typo(app) == "hello")


async def test_a_room_event_after_a_page_and_an_edit_does_not_hide_the_edit(app: App) -> None:
    """The page (read before bob's edit), the edit, then the room object (a create-room
    answer, a topic change while polling) saying the room's log is at the edit: the
    room object is not taken as known to the page, and the edit is shown."""
    link = await asking_for_the_first_page(app)
    room = Room("general", 3, RoomInfo("general", 3, kind="public"))
    link.deliver(first_page(), the_edit(), room)
    await eventually(lambda: text_of_the_typo(app) == "hello")
