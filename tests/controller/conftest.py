"""Fixtures for the controller's parts: a real cache file, a Connection over FakeLinks, tasks.

The parts (outbox, history, certificate checks, typing) are plain asyncio;
each test wires the one it tests to a :class:`Session` as the ChatController
does, plays the server through the :class:`~.fake_link.FakeLink`, and waits
on what the user would notice with ``eventually``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chat_desktop.controller.connection import Connection
from chat_desktop.controller.tasks import TaskGroup
from chat_desktop.storage import ChatCache
from chat_desktop.transport.state import LinkState
from chat_protocol import Message, ServerEvent, rules

from .fake_link import FakeLink

ME = "alice"


@dataclass
class Session:
    """What the parts share in a test: the cache, the connection, the tasks, and the links made."""

    cache: ChatCache
    tasks: TaskGroup
    links: list[FakeLink] = field(default_factory=list)
    states: list[LinkState] = field(default_factory=list)
    batches: list[list[ServerEvent]] = field(default_factory=list)
    # What the test wants done with each batch (the controller's part of the wiring).
    on_batch: Callable[[list[ServerEvent]], None] | None = None
    connection: Connection = field(init=False)

    @property
    def link(self) -> FakeLink:
        """The newest link (a refused certificate makes a new one)."""
        return self.links[-1]

    def make_link(self, *args: Any, **kwargs: Any) -> FakeLink:
        link = FakeLink(*args, **kwargs)
        self.links.append(link)
        return link

    def batch(self, events: list[ServerEvent]) -> None:
        self.batches.append(events)
        if self.on_batch is not None:
            self.on_batch(events)


def message(seq: int, *, room: str = "general", author: str = "bob") -> Message:
    """A stored message of someone else's."""
    return Message(room, seq, f"c{seq}", author, f"text {seq}", rules.now_ts())


@asynccontextmanager
async def opened(cache_file: Path, url: str = "http://127.0.0.1:9") -> AsyncIterator[Session]:
    """A started Connection to ``url`` over FakeLinks; closed (tasks, cache too) at the end."""
    cache = ChatCache.open(cache_file)
    made = Session(cache, TaskGroup())
    made.connection = Connection(
        server_url=url,
        username=ME,
        token="token",
        positions=cache.positions,
        on_state=made.states.append,
        on_batch=made.batch,
        link_factory=made.make_link,
        batch_seconds=0.01,
    )
    made.connection.start()
    try:
        yield made
    finally:
        await made.connection.close()
        await made.tasks.close()
        cache.close()


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[Session]:
    """A started Connection to ``http://127.0.0.1:9`` over FakeLinks, closed at the end."""
    async with opened(tmp_path / "cache.sqlite3") as made:
        yield made
