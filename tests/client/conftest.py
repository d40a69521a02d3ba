"""Fixtures for the transport tests: accounts on the in-process server, links that
record what they hear, and a waiting helper that never sleeps and hopes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import pytest

from chat_desktop.transport import (
    AccountClient,
    Credentials,
    Jitter,
    LinkKind,
    LinkState,
    ReconnectPolicy,
    ServerLink,
)
from chat_protocol import Message, ServerEvent
from chat_server.app import ChatServer

from .proxy import ReverseProxy

E = TypeVar("E")


@dataclass
class Recorder:
    """Collects a link's events and states, and serves the cache's ``positions``."""

    events: list[ServerEvent] = field(default_factory=list)
    states: list[LinkState] = field(default_factory=list)

    def on_event(self, event: ServerEvent) -> None:
        self.events.append(event)

    def on_state(self, state: LinkState) -> None:
        self.states.append(state)

    def positions(self) -> dict[str, int]:
        """What a cache would answer: the highest seq received per room."""
        highest: dict[str, int] = {}
        for message in self.of(Message):
            highest[message.room] = max(message.seq, highest.get(message.room, 0))
        return highest

    def of(self, kind: type[E]) -> list[E]:
        return [event for event in self.events if isinstance(event, kind)]

    def kinds(self) -> list[LinkKind]:
        return [state.kind for state in self.states]

    def texts(self, room: str = "general") -> list[str]:
        return [message.text for message in self.of(Message) if message.room == room]


def fast_policy() -> ReconnectPolicy:
    """Backoff short enough for tests (the real one retries within 1 s, then from 0.5 s)."""
    return ReconnectPolicy(first_retry=0.05, initial=0.05, cap=0.2, jitter=Jitter.NONE)


class LinkFactory(Protocol):
    def __call__(
        self, base_url: str, credentials: Credentials, **options: Any
    ) -> tuple[ServerLink, Recorder]: ...


@pytest.fixture
async def accounts(chat_server: ChatServer) -> dict[str, Credentials]:
    """alice, bob and carol, registered on the in-process server."""
    client = AccountClient(chat_server.base_url)
    try:
        return {
            name: await client.register(name, f"{name}-password")
            for name in ("alice", "bob", "carol")
        }
    finally:
        await client.close()


@pytest.fixture
async def make_link() -> AsyncIterator[LinkFactory]:
    """Start links that record into a Recorder; every one is closed at the end."""
    made: list[ServerLink] = []

    def factory(
        base_url: str, credentials: Credentials, **options: Any
    ) -> tuple[ServerLink, Recorder]:
        recorder = Recorder()
        options.setdefault("policy", fast_policy())
        options.setdefault("username", credentials.username)
        options.setdefault("positions", recorder.positions)
        link = ServerLink(
            base_url,
            credentials.token,
            on_event=recorder.on_event,
            on_state=recorder.on_state,
            **options,
        )
        made.append(link)
        link.start()
        return link, recorder

    try:
        yield factory
    finally:
        for link in made:
            await link.close()


@pytest.fixture
async def proxy(chat_server: ChatServer) -> AsyncIterator[ReverseProxy]:
    """A proxy to the in-process server that strips the WebSocket upgrade (polling)."""
    stripping = ReverseProxy(chat_server.base_url)
    await stripping.start()
    try:
        yield stripping
    finally:
        await stripping.stop()
