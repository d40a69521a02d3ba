"""The connection: the link's events arrive in batches, in order; sending says plainly
whether it went out; a closed connection hands nothing on."""

from __future__ import annotations

import inspect

from chat_desktop.transport.link import ServerLink
from chat_desktop.transport.state import LinkKind
from chat_protocol import SetTyping, Typing, UserJoin
from tests.waiting import eventually

from .conftest import Session, message
from .fake_link import FakeLink


def test_the_fake_link_is_made_and_used_as_the_real_one_is() -> None:
    # What the controller's parts are tested against must be what they get.
    for name in ("start", "reconnect_now", "send", "close"):
        fake, real = getattr(FakeLink, name), getattr(ServerLink, name)
        assert inspect.signature(fake) == inspect.signature(real), name
    assert isinstance(FakeLink.state, property) and isinstance(ServerLink.state, property)
    made_with = inspect.signature(FakeLink).parameters
    assert made_with.keys() <= inspect.signature(ServerLink).parameters.keys()


async def test_a_burst_of_events_is_handed_on_as_one_batch_in_order(session: Session) -> None:
    session.link.connect()
    burst = [message(seq) for seq in range(1, 501)]
    session.link.deliver(*burst)
    await eventually(lambda: session.batches != [])
    assert session.batches == [burst]

    session.link.deliver(UserJoin("bob"), Typing("general", "bob", True))
    await eventually(lambda: len(session.batches) == 2)
    assert session.batches[1] == [UserJoin("bob"), Typing("general", "bob", True)]


async def test_the_state_is_kept_and_sending_works_only_while_connected(
    session: Session,
) -> None:
    connection = session.connection
    assert [state.kind for state in session.states] == [LinkKind.CONNECTING]
    assert not connection.can_send()
    assert await connection.send(SetTyping("general", True)) is False

    session.link.connect()
    assert connection.status.kind is LinkKind.CONNECTED and connection.can_send()
    assert await connection.send(SetTyping("general", True)) is True
    assert session.link.sent == [SetTyping("general", True)]

    session.link.drop()
    assert not connection.can_send()
    assert [state.kind for state in session.states][-1] is LinkKind.RECONNECTING


async def test_after_close_nothing_more_is_handed_on(session: Session) -> None:
    session.link.connect()
    session.link.deliver(message(1))
    await session.connection.close()
    assert session.link.closed
    states = list(session.states)
    session.link.deliver(message(2))
    session.link.connect()
    # Give a batch every chance to appear: longer than its window.
    session.link.drop()
    assert session.batches == [] and session.states == states
