"""Typing notices at work: mine go out only when they can, theirs end on time or when
their message arrives, and a dropped connection forgets them all."""

from __future__ import annotations

from chat_desktop.controller.typing import TypingIndicators
from chat_protocol import SetTyping, Typing
from tests.waiting import eventually

from .conftest import Session


def indicators(session: Session, expiry: float = 6.0) -> tuple[TypingIndicators, list[tuple]]:
    changes: list[tuple] = []
    typing = TypingIndicators(
        session.connection,
        session.tasks,
        on_change=lambda room, users: changes.append((room, users)),
        expiry=expiry,
    )
    return typing, changes


async def test_my_typing_goes_out_while_connected_and_stops_when_i_send(session: Session) -> None:
    typing, _ = indicators(session)
    session.link.connect()
    typing.composer_edited("general", "hello")
    typing.composer_edited("general", "hello there")
    typing.sent()
    said = [SetTyping("general", True), SetTyping("general", False)]
    await eventually(lambda: session.link.sent == said)

    # Offline, typing is best effort: nothing is tried, nothing kept for later.
    session.link.drop()
    typing.composer_edited("random", "hi")
    typing.sent()
    session.link.connect()
    assert session.link.attempts == said
    typing.close()


async def test_an_indicator_ends_by_itself_after_the_expiry(session: Session) -> None:
    typing, changes = indicators(session, expiry=0.1)
    typing.notice(Typing("general", "bob", True))
    assert changes == [("general", ["bob"])]
    await eventually(lambda: changes == [("general", ["bob"]), ("general", [])])
    assert typing.users("general") == []


async def test_their_message_or_a_drop_ends_indicators_at_once(session: Session) -> None:
    typing, changes = indicators(session)
    typing.notice(Typing("general", "bob", True))
    typing.notice(Typing("random", "carol", True))
    typing.message_arrived("general", "bob")
    assert changes[-1] == ("general", [])
    typing.clear(["general", "random"])
    assert changes[-1] == ("random", []) and typing.users("random") == []
    typing.close()
