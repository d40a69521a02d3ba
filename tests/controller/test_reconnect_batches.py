"""A reconnect in the middle of a batch: what came over the old connection is applied
before anything of the next one, and counts in the next hello's ``since``."""

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


async def test_an_edit_made_while_the_connection_was_down_reaches_a_message_of_a_page(
    app: App,
) -> None:
    """The first page arrives, the connection drops at once (within one batch's
    time) and the next one is welcomed: bob's edit of a message on that page,
    stored meanwhile, is shown."""
    link = app.links[-1]
    link.connect()
    link.deliver(welcome(2))
    # An empty cache asks for the room's newest page.
    await eventually(lambda: link.sent_of(HistoryRequest) != [])
    typo = Message("general", 1, "c1", "bob", "helo", rules.now_ts())
    later = Message("general", 2, "c2", "bob", "anyone here?", rules.now_ts())
    link.deliver(HistoryPage("general", [typo, later], False))
    link.drop()
    link.connect()
    # The server replays what the hello's since says was missed (nothing of a
    # room that is not in it), after the welcome.
    since = link.positions()
    link.deliver(welcome(3))
    if since.get("general", 0) < 3:
        link.deliver(Edit("general", 3, 1, "bob", "hello", rules.now_ts()))

    def shown() -> str | None:
        entry = app.controller.message("general", 1)
        return None if entry is None else entry.text

    await eventually(lambda: shown() == "hello")
