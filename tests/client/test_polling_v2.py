"""Version 2 over the HTTP long-polling fallback: the same events as on the socket.

The polling link goes through the proxy that strips the WebSocket upgrade;
the other user is on the socket. Every Version 2 write the polling link
sends goes over HTTP and is answered as on the socket (an ack, a room), and
what the long poll brings (entries of every type, ``reads``, ``rooms``,
``removed``) arrives as the socket's events.
"""

# The ``links`` fixture is imported from test_polling.py, so the tests'
# parameters of that name look like redefinitions to ruff.
# ruff: noqa: F811

from __future__ import annotations

import uuid

from chat_protocol import (
    Ack,
    CreateRoom,
    Edit,
    Error,
    Invite,
    Leave,
    Message,
    OpenDm,
    Reaction,
    Read,
    Room,
    RoomRemoved,
    SendEdit,
    SendMessage,
    SendReact,
    SendRead,
    Welcome,
)
from tests.waiting import eventually

from .test_polling import Links, links  # noqa: F401 (the fixture, used by name)


def cid() -> str:
    return str(uuid.uuid4())


async def test_polling_says_welcome_version_2_with_room_objects(links: Links) -> None:
    _, alice = await links.polling("alice")
    welcome = alice.of(Welcome)[0]
    assert (welcome.protocol, welcome.admin) == (2, False)
    assert [(room.name, room.kind) for room in welcome.rooms] == [("general", "public")]


async def test_edits_reactions_and_replies_go_over_http_and_come_back_as_entries(
    links: Links,
) -> None:
    link, alice = await links.polling("alice")
    _, bob = await links.on_socket("bob")
    first = cid()
    assert await link.send(SendMessage("general", first, "helo"))
    (ack,) = [a for a in alice.of(Ack) if a.client_id == first]
    assert await link.send(SendEdit("general", ack.seq, "hello", cid()))
    assert await link.send(SendReact("general", ack.seq, "👍", True, cid()))
    assert await link.send(SendMessage("general", cid(), "me too", reply_to=ack.seq))
    assert len(alice.of(Ack)) == 4
    # Bob's socket and alice's long poll both hear the same log.
    for heard in (bob, alice):
        await eventually(lambda heard=heard: len(heard.of(Reaction)) == 1)
        assert [e.text for e in heard.of(Edit)] == ["hello"]
        await eventually(lambda heard=heard: "me too" in [m.text for m in heard.of(Message)])
        (reply,) = [m for m in heard.of(Message) if m.text == "me too"]
        assert reply.reply_to == ack.seq


async def test_an_edit_of_someone_elses_message_over_http_is_refused_with_its_ref(
    links: Links,
) -> None:
    bob_link, bob = await links.on_socket("bob")
    mine = cid()
    await bob_link.send(SendMessage("general", mine, "bob's"))
    await eventually(lambda: bool(bob.of(Ack)))
    link, alice = await links.polling("alice")
    ref = cid()
    assert await link.send(SendEdit("general", bob.of(Ack)[0].seq, "mine now", ref))
    assert [(e.code, e.ref) for e in alice.of(Error)] == [("forbidden", ref)]


async def test_reads_invites_and_leaving_arrive_as_the_sockets_events(links: Links) -> None:
    link, alice = await links.polling("alice")
    bob_link, bob = await links.on_socket("bob")
    await bob_link.send(CreateRoom("plans", private=True))
    await eventually(lambda: "plans" in [r.name for r in bob.of(Room)])
    await bob_link.send(Invite("plans", "alice", cid()))
    await eventually(lambda: "plans" in [r.name for r in alice.of(Room)])
    (room,) = [r for r in alice.of(Room) if r.name == "plans"]
    assert room.info is not None and room.info.kind == "private"
    post = cid()
    await bob_link.send(SendMessage("plans", post, "the plan"))
    await eventually(lambda: "the plan" in [m.text for m in alice.of(Message)])
    (seq,) = [m.seq for m in alice.of(Message) if m.text == "the plan"]
    assert await link.send(SendRead("plans", seq))
    await eventually(lambda: Read("plans", "alice", seq) in bob.of(Read))
    await bob_link.send(SendRead("plans", seq))
    await eventually(lambda: Read("plans", "bob", seq) in alice.of(Read))
    assert await link.send(Leave("plans", cid()))
    await eventually(lambda: RoomRemoved("plans") in alice.of(RoomRemoved))


async def test_opening_a_direct_room_over_http_answers_with_its_room(links: Links) -> None:
    link, alice = await links.polling("alice")
    assert await link.send(OpenDm(("bob",), cid()))
    (room,) = [r for r in alice.of(Room) if r.name.startswith("dm-")]
    assert room.info is not None and room.info.kind == "direct"
    assert set(room.info.members or ()) == {"alice", "bob"}
