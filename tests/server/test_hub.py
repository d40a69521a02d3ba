"""The hub on its own: fan-out, presence and typing bookkeeping, with stand-in subscribers.

The subscribers here are plain recorders: the hub's contract with a
connection is only ``deliver`` and ``close_soon``, and recording them shows
exactly what each connection was handed (the real sockets are tested end to
end in the other modules).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from chat_protocol import Edit, Limits, Message, RoomInfo
from chat_server.fanout import Frame
from chat_server.hub import Hub


@dataclass(eq=False)
class Recorder:
    username: str
    token_hash: str = "token"
    frames: list[Frame] = field(default_factory=list)
    closed: list[tuple[int, str]] = field(default_factory=list)
    protocol: int = 2

    def deliver(self, frame: Frame) -> None:
        self.frames.append(frame)

    def close_soon(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))

    @property
    def texts(self) -> list[str]:
        return [frame.text for frame in self.frames]


def message(seq: int, author: str = "alice") -> Message:
    return Message("general", seq, f"c-{seq}", author, "hi", "2026-11-27T10:00:00.000Z")


async def test_a_broadcast_hands_every_recipient_the_same_encoded_frame() -> None:
    hub = Hub(Limits(), [RoomInfo("general", 0)])
    subscribers = [Recorder("alice"), Recorder("bob"), Recorder("bob")]
    for sub in subscribers:
        hub.attach(sub)
    for sub in subscribers:
        sub.frames.clear()
    hub.publish_message(message(1))
    first = subscribers[0].frames[0]
    assert all(sub.frames == [first] and sub.frames[0] is first for sub in subscribers)
    assert first.size == len(first.text.encode()) and first.message == message(1)
    assert hub.last_seq("general") == 1


async def test_presence_changes_only_on_a_users_first_and_last_connection() -> None:
    hub = Hub(Limits())
    watcher, laptop, phone = Recorder("carol"), Recorder("alice"), Recorder("alice")
    hub.attach(watcher)
    hub.attach(laptop)
    hub.attach(phone)
    hub.detach(laptop)
    assert hub.online() == ["alice", "carol"]
    hub.detach(phone)
    assert watcher.texts == ['{"type":"user-join","user":"alice"}',
                             '{"type":"user-leave","user":"alice"}']  # fmt: skip
    assert laptop.texts == [] and hub.online() == ["carol"]


async def test_typing_goes_to_other_users_only() -> None:
    hub = Hub(Limits())
    typist, typist_phone, other = Recorder("alice"), Recorder("alice"), Recorder("bob")
    for sub in (typist, typist_phone, other):
        hub.attach(sub)
    for sub in (typist, typist_phone, other):
        sub.frames.clear()
    hub.publish_typing("general", "alice", True)
    assert typist.frames == [] and typist_phone.frames == []
    assert other.texts == ['{"type":"typing","room":"general","user":"alice","active":true}']
    assert hub.typing_for("bob") == {"general": ["alice"]} and hub.typing_for("alice") == {}


async def test_a_message_clears_its_authors_typing() -> None:
    hub = Hub(Limits(), [RoomInfo("general", 0)])
    hub.publish_typing("general", "alice", True)
    hub.publish_message(message(1, author="alice"))
    assert hub.typing_for("bob") == {}


async def test_revoking_a_token_closes_only_its_connections() -> None:
    hub = Hub(Limits())
    revoked, kept = Recorder("alice", "t1"), Recorder("alice", "t2")
    hub.attach(revoked)
    hub.attach(kept)
    hub.revoke("t1")
    assert revoked.closed == [(4401, "logged out")] and kept.closed == []


async def test_a_session_that_attaches_just_after_its_token_was_revoked_is_closed() -> None:
    # Its token checked out a moment before the revocation reached the hub.
    hub = Hub(Limits())
    hub.revoke("t1")
    late, other = Recorder("alice", "t1"), Recorder("alice", "t2")
    hub.attach(late)
    hub.attach(other)
    assert late.closed == [(4401, "session ended")] and other.closed == []
    assert hub.poll_started("alice", "t1").revoked
    assert not hub.poll_started("alice", "t2").revoked


async def test_changed_fires_on_the_next_change_only() -> None:
    hub = Hub(Limits(), [RoomInfo("general", 0)])
    before = hub.changed()
    assert not before.is_set()
    hub.publish_message(message(1))
    assert before.is_set() and not hub.changed().is_set()


class Untouchable(Recorder):
    """A connection that fails the test if fan-out so much as looks at it."""

    watched = False

    def __getattribute__(self, name: str) -> object:
        if name in ("deliver", "protocol") and object.__getattribute__(self, "watched"):
            raise AssertionError(f"a private room's fan-out looked at a stranger ({name})")
        return object.__getattribute__(self, name)


async def test_a_private_rooms_events_reach_its_members_without_looking_at_anyone_else() -> None:
    hub = Hub(
        Limits(),
        [RoomInfo("general", 0), RoomInfo("team", 0, "private", "", ("alice", "bob"))],
    )
    alice, bob, v1_bob = Recorder("alice"), Recorder("bob"), Recorder("bob", protocol=1)
    strangers = [Untouchable(f"user{n}") for n in range(50)]
    for sub in [alice, bob, v1_bob, *strangers]:
        hub.attach(sub)
    for sub in [alice, bob, v1_bob]:
        sub.frames.clear()
    for stranger in strangers:
        stranger.watched = True
    team_message = Message("team", 1, "c", "alice", "psst", "2026-11-27T10:00:00.000Z")
    hub.publish_entry(team_message)
    hub.publish_entry(Edit("team", 2, 1, "alice", "psst!", "2026-11-27T10:00:01.000Z"))
    hub.publish_typing("team", "alice", True)
    hub.publish_read("team", "bob", 2, skip=None)
    assert [frame.message for frame in bob.frames[:2]] == [
        team_message,
        Edit("team", 2, 1, "alice", "psst!", "2026-11-27T10:00:01.000Z"),
    ]
    # The v1 connection gets the message, not the edit (nor the read).
    assert [json.loads(text)["type"] for text in v1_bob.texts] == ["message", "typing"]
    assert [json.loads(text)["type"] for text in alice.texts] == ["message", "edit", "read"]
    assert hub.typing_for("user1") == {} and hub.typing_for("bob") == {"team": ["alice"]}
