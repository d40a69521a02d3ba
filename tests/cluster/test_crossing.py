"""What one server's clients do reaches the clients of the others, over both transports.

Two or three servers of one chat (real PostgreSQL, a real Redis of the
test's own), clients spread over them: messages in order and once each,
typing, presence, reads, direct rooms, membership, logout.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection

from chat_protocol import (
    Message,
    Read,
    Room,
    RoomRemoved,
    ServerEvent,
    Typing,
    UserJoin,
    UserLeave,
)
from tests.cluster.conftest import Cluster, Node, make_users
from tests.server.wire import (
    bearer,
    joined,
    message_frame,
    recv,
    recv_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

V2 = 2


async def collect_messages(
    ws: ClientConnection, count: int, room: str = "general"
) -> list[Message]:
    """The next ``count`` messages of ``room`` (other events skipped)."""
    got: list[Message] = []
    while len(got) < count:
        event = await recv_until(ws, lambda e: isinstance(e, Message) and e.room == room)
        assert isinstance(event, Message)
        got.append(event)
    return got


async def poll(
    session: aiohttp.ClientSession, server: Node, token: str, since: str, wait: float = 5
) -> dict[str, Any]:
    async with session.get(
        f"{server.base_url}/api/v1/events",
        params={"since": since, "wait": str(wait), "v": "2"},
        headers=bearer(token),
    ) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def test_messages_cross_servers_in_order_once_each_over_socket_and_long_poll(
    cluster: Cluster,
) -> None:
    a, b = cluster.start(2)
    tokens = await make_users(a, ["alice", "bob", "carol"])
    async with (
        joined(a, tokens["alice"], {"general": 0}, protocol=V2) as alice,
        joined(b, tokens["bob"], {"general": 0}, protocol=V2) as bob,
        aiohttp.ClientSession() as session,
    ):
        # Within the contract's burst of 20 per user.
        for number in range(15):
            await alice.send(message_frame(f"from a {number}"))
            await bob.send(message_frame(f"from b {number}"))
        at_alice = await collect_messages(alice, 30)
        at_bob = await collect_messages(bob, 30)
        # One order for everyone, gapless, each message once.
        assert [m.seq for m in at_alice] == [m.seq for m in at_bob]
        assert [m.seq for m in at_bob] == list(range(at_bob[0].seq, at_bob[0].seq + 30))
        assert [m.text for m in at_alice] == [m.text for m in at_bob]
        assert sorted(m.text for m in at_bob) == sorted(
            [f"from a {n}" for n in range(15)] + [f"from b {n}" for n in range(15)]
        )
        # Carol long-polls, each poll on another server (no sticky sessions).
        since = "general:0"
        texts: list[str] = []
        servers = [a, b]
        turn = 0
        while len(texts) < 30:
            answer = await poll(session, servers[turn % 2], tokens["carol"], since)
            turn += 1
            texts += [m["text"] for m in answer["messages"] if m.get("type") == "message"]
            since = answer["since"]
        assert texts == [m.text for m in at_bob]
        # A poll that waits on one server wakes for a message posted on the other.
        waiting = poll(session, b, tokens["carol"], since, wait=10)
        import asyncio

        task = asyncio.ensure_future(waiting)
        await alice.send(message_frame("wake up"))
        answer = await asyncio.wait_for(task, 10)
        assert [m["text"] for m in answer["messages"]] == ["wake up"]


async def test_welcome_lists_the_cluster_feature(cluster: Cluster) -> None:
    (a,) = cluster.start(1)
    tokens = await make_users(a, ["alice"])
    async with aiohttp.ClientSession() as session:
        import websockets

        async with websockets.connect(a.base_url.replace("http", "ws") + "/ws") as ws:
            await ws.send(json.dumps({"type": "hello", "token": tokens["alice"], "protocol": 2}))
            welcome = json.loads(await ws.recv())
            assert "cluster" in welcome["features"]
        del session


async def test_presence_typing_reads_dms_and_logout_cross_servers(cluster: Cluster) -> None:
    a, b, c = cluster.start(3)
    tokens = await make_users(a, ["alice", "bob", "carol"])
    async with aiohttp.ClientSession() as session:
        bob_token_2 = (
            await (
                await session.post(
                    f"{c.base_url}/api/v1/login",
                    json={"username": "bob", "password": "correct horse battery"},
                )
            ).json()
        )["token"]
        async with joined(a, tokens["alice"], {"general": 0}, protocol=V2) as alice:
            # Bob comes online on b: alice on a hears it.
            async with joined(b, tokens["bob"], {"general": 0}, protocol=V2) as bob:
                joined_event = await recv_until(alice, lambda e: isinstance(e, UserJoin))
                assert joined_event == UserJoin("bob")
                # A second connection of bob's, on c: no second join, and bob
                # stays online while either lives.
                async with joined(c, bob_token_2, {"general": 0}, protocol=V2) as bob_on_c:
                    # Typing from a reaches b (and c).
                    await alice.send(
                        json.dumps({"type": "typing", "room": "general", "active": True})
                    )
                    assert await recv_until(bob, lambda e: isinstance(e, Typing)) == Typing(
                        "general", "alice", True
                    )
                    # A message, then bob reads it on b: his connection on c hears the read.
                    await alice.send(message_frame("read me"))
                    message = await recv_until(bob, lambda e: isinstance(e, Message))
                    assert isinstance(message, Message)
                    await bob.send(
                        json.dumps({"type": "read", "room": "general", "seq": message.seq})
                    )
                    read = await recv_until(bob_on_c, lambda e: isinstance(e, Read))
                    assert read == Read("general", "bob", message.seq)
                    # A direct room opened on a: bob hears of it on b and c.
                    await alice.send(
                        json.dumps({"type": "open-dm", "users": ["bob"], "client_id": "dm-1"})
                    )
                    room = await recv_until(bob, lambda e: isinstance(e, Room))
                    assert isinstance(room, Room)
                    dm = room.name
                    await recv_until(bob_on_c, lambda e: isinstance(e, Room))
                    await alice.send(message_frame("just us", room=dm))
                    private = await recv_until(
                        bob_on_c, lambda e: isinstance(e, Message) and e.room == dm
                    )
                    assert isinstance(private, Message) and private.text == "just us"
                    # Carol, not in the room, learns nothing of it on any server.
                    async with joined(b, tokens["carol"], {dm: 0}, protocol=V2) as carol:
                        await alice.send(message_frame("still just us", room=dm))
                        await alice.send(message_frame("everyone"))
                        seen = await recv_until(
                            carol, lambda e: isinstance(e, Message) and e.text == "everyone"
                        )
                        assert isinstance(seen, Message)
                # bob_on_c closed: bob is still online on b, nobody hears him leave.
                await alice.send(message_frame("marker"))
                events = await _until_marker(alice)
                assert UserLeave("bob") not in events
                # Bob logs out on c (another server): his socket on b closes with 4401.
                response = await session.post(
                    f"{c.base_url}/api/v1/logout", headers=bearer(tokens["bob"])
                )
                assert response.status == 204
                async with __import__("asyncio").timeout(10):
                    while True:
                        try:
                            await recv(bob)
                        except Exception:
                            break
                assert bob.close_code == 4401
            left = await recv_until(alice, lambda e: isinstance(e, UserLeave))
            assert left == UserLeave("bob")


async def _until_marker(ws: ClientConnection) -> list[ServerEvent]:
    events: list[ServerEvent] = []
    while True:
        event = await recv(ws)
        events.append(event)
        if isinstance(event, Message) and event.text == "marker":
            return events


async def test_a_message_posted_over_http_is_acked_and_reaches_other_servers(
    cluster: Cluster,
) -> None:
    a, b = cluster.start(2)
    tokens = await make_users(a, ["alice", "bob"])
    async with (
        joined(b, tokens["bob"], {"general": 0}, protocol=V2) as bob,
        aiohttp.ClientSession() as session,
    ):
        response = await session.post(
            f"{a.base_url}/api/v1/rooms/general/messages",
            json={"text": "over http", "client_id": str(uuid.uuid4())},
            headers=bearer(tokens["alice"]),
        )
        assert response.status == 201
        seq = (await response.json())["seq"]
        message = await recv_until(bob, lambda e: isinstance(e, Message))
        assert isinstance(message, Message) and (message.seq, message.text) == (seq, "over http")


async def test_private_rooms_membership_and_deletion_cross_servers(cluster: Cluster) -> None:
    a, b = cluster.start(2, admins=["alice"])
    tokens = await make_users(a, ["alice", "bob", "carol"])
    async with (
        joined(a, tokens["alice"], {"general": 0}, protocol=V2) as alice,
        joined(b, tokens["bob"], {"general": 0}, protocol=V2) as bob,
        joined(b, tokens["carol"], {"general": 0}, protocol=V2) as carol,
    ):
        await alice.send(json.dumps({"type": "create-room", "name": "secret", "private": True}))
        await recv_until(alice, lambda e: isinstance(e, Room) and e.name == "secret")
        # Invited on a, bob hears of the room on b and then of its entries.
        await alice.send(
            json.dumps({"type": "invite", "room": "secret", "user": "bob", "client_id": "i-1"})
        )
        room = await recv_until(bob, lambda e: isinstance(e, Room))
        assert isinstance(room, Room) and room.name == "secret"
        await alice.send(message_frame("for members", room="secret"))
        got = await recv_until(bob, lambda e: isinstance(e, Message) and e.room == "secret")
        assert isinstance(got, Message) and got.text == "for members"
        # Removed on a: bob's socket on b hears room-removed, then nothing more of it.
        await alice.send(
            json.dumps({"type": "remove", "room": "secret", "user": "bob", "client_id": "r-1"})
        )
        removed = await recv_until(bob, lambda e: isinstance(e, RoomRemoved))
        assert removed == RoomRemoved("secret")
        await alice.send(message_frame("after bob", room="secret"))
        await alice.send(message_frame("marker"))
        events = await _until_marker(bob)
        assert not [e for e in events if getattr(e, "room", None) == "secret"]
        # Carol never heard a word of the room.
        events = await _until_marker(carol)
        assert not [e for e in events if getattr(e, "room", None) == "secret"]
        assert not [e for e in events if isinstance(e, Room) and e.name == "secret"]
        # An admin deletes a public room on a: everyone on b hears it.
        await alice.send(json.dumps({"type": "create-room", "name": "doomed"}))
        await recv_until(bob, lambda e: isinstance(e, Room) and e.name == "doomed")
        async with (
            aiohttp.ClientSession() as session,
            session.delete(
                f"{a.url}/api/v1/rooms/doomed", headers=bearer(tokens["alice"])
            ) as response,
        ):
            assert response.status == 204
        gone = await recv_until(bob, lambda e: isinstance(e, RoomRemoved))
        assert gone == RoomRemoved("doomed")
