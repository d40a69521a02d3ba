"""Version 2's conversations: private rooms, members, direct rooms, topics, room deletion,
people, admins and read positions, over the socket and over HTTP, against a real server.

Who acts does so through the transport under test (``via``); who watches
holds a Version 2 socket, so each test also shows what crosses to the others.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from chat_protocol import Member, Read, Room, RoomInfo, RoomRemoved, ServerEvent, Topic, rules
from chat_server import admin
from chat_server.app import ChatServer
from chat_server.config import ServerConfig

from .wire import (
    PASSWORD,
    Writer,
    acting,
    api,
    hello,
    http,
    joined,
    make_users,
    recv_until,
    register,
    running,
    ws_url,
)

both = pytest.mark.parametrize("via", ["socket", "http"])


async def team_of_alice_and_bob(server: ChatServer, tokens: dict[str, str]) -> Writer:
    """alice's private room ``team``, bob invited (seq 1); alice as a writer over HTTP."""
    alice = Writer(server, tokens["alice"])
    await alice.create("team", private=True)
    assert await alice.write("invite", "team", user="bob") == ("ack", 1)
    return alice


async def next_of(ws: ClientConnection, kind: type[ServerEvent]) -> Any:
    return await recv_until(ws, lambda e: isinstance(e, kind))


@both
async def test_a_private_room_with_invite_leave_and_remove(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob", "carol"])
    async with (
        joined(chat_server, tokens["bob"], protocol=2) as bob,
        acting(chat_server, tokens["alice"], via) as alice,
    ):
        kind, _ = await alice.create("team", private=True)
        assert kind == "room"
        assert await alice.write("invite", "team", user="BOB") == ("ack", 1)
        # The invitee hears the entry that let them in, then the room itself.
        joined_entry = await next_of(bob, Member)
        announced = await next_of(bob, Room)
        assert announced.info.kind == "private" and announced.info.members == ("alice", "bob")
        assert (joined_entry.user, joined_entry.target, joined_entry.action) == (
            "alice",
            "bob",
            "join",
        )
        # Inviting a member again is acked and logs nothing; an unknown user is refused.
        assert (await alice.write("invite", "team", user="bob"))[0] == "ack"
        assert await alice.write("invite", "team", user="nobody") == ("error", "bad_request")
        assert await alice.write("invite", "team", user="carol") == ("ack", 2)
        # Only the creator (or an admin) removes: bob may not, alice may.
        bob_writes = Writer(chat_server, tokens["bob"], bob)
        assert await bob_writes.write("remove", "team", user="carol") == ("error", "forbidden")
        assert await alice.write("remove", "team", user="bob") == ("ack", 3)
        assert await next_of(bob, RoomRemoved) == RoomRemoved("team")
        assert await bob_writes.write("message", "team", text="still here?") == (
            "error",
            "unknown_room",
        )
        assert await alice.write("leave", "general") == ("error", "bad_request")
        rooms = await alice.rooms()
        assert rooms["team"]["members"] == ["alice", "carol"]
        assert rooms["team"]["last_seq"] == 3


@both
async def test_a_room_object_names_its_creator_who_removes_members_like_an_admin(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob", "carol", "dave"])
    async with (
        joined(chat_server, tokens["alice"], protocol=2) as alice_ws,
        joined(chat_server, tokens["carol"], protocol=2) as carol_ws,
        acting(chat_server, tokens["bob"], via) as bob,
    ):
        kind, created = await bob.create("plans", private=True)
        # The socket's room event (parsed) or the HTTP answer's JSON.
        creator = created.creator if isinstance(created, RoomInfo) else created["creator"]
        assert (kind, creator) == ("room", "bob")
        for user in ("alice", "carol"):
            assert (await bob.write("invite", "plans", user=user))[0] == "ack"
        for watcher in (alice_ws, carol_ws):
            announced = await next_of(watcher, Room)
            assert (announced.name, announced.info.creator) == ("plans", "bob")
        _, dm = await bob.open_dm("alice")
        assert (dm.creator if isinstance(dm, RoomInfo) else dm["creator"]) == "bob"
        await bob.create("lobby")
        rooms = await bob.rooms()
        assert {name: room["creator"] for name, room in rooms.items()} == {
            "general": None,  # the server made it: nobody's
            "lobby": "bob",
            "plans": "bob",
            rules.dm_name(["alice", "bob"]): "bob",
        }

        # bob (no admin) removes as the creator; alice, a plain member, may not.
        alice = Writer(chat_server, tokens["alice"], alice_ws if via == "socket" else None)
        assert await alice.write("remove", "plans", user="carol") == ("error", "forbidden")
        assert (await bob.write("remove", "plans", user="carol"))[0] == "ack"
        assert await next_of(carol_ws, RoomRemoved) == RoomRemoved("plans")

    # Neither the removed member nor a stranger sees the room, its creator or anything.
    for outsider in ("carol", "dave"):
        async with connect(ws_url(chat_server)) as ws:
            welcome = await hello(ws, tokens[outsider], protocol=2)
        seen = {room.name: room.creator for room in welcome.rooms}
        assert seen == {"general": None, "lobby": "bob"}
        assert set(await Writer(chat_server, tokens[outsider]).rooms()) == {"general", "lobby"}
    async with connect(ws_url(chat_server)) as ws:
        welcome = await hello(ws, tokens["alice"], protocol=2)
    assert {room.name: room.creator for room in welcome.rooms}["plans"] == "bob"


@both
async def test_leaving_a_private_room_tells_the_leaver_and_the_members(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    await team_of_alice_and_bob(chat_server, tokens)
    async with (
        joined(chat_server, tokens["alice"], protocol=2) as watching,
        acting(chat_server, tokens["bob"], via) as bob,
    ):
        assert await bob.write("leave", "team") == ("ack", 2)
        left = await next_of(watching, Member)
        assert (left.target, left.action) == ("bob", "leave")
        assert "team" not in await bob.rooms()
        if bob.ws is not None:
            assert await next_of(bob.ws, RoomRemoved) == RoomRemoved("team")


@both
async def test_a_direct_room_is_one_per_set_of_members(chat_server: ChatServer, via: str) -> None:
    tokens = await make_users(chat_server, ["alice", "bob", "carol"])
    name = rules.dm_name(["alice", "bob"])
    async with (
        joined(chat_server, tokens["bob"], protocol=2) as bob,
        acting(chat_server, tokens["alice"], via) as alice,
    ):
        first = await alice.open_dm("Bob", "alice", "bob")
        assert first[0] in ("room", 201)
        announced = await next_of(bob, Room)
        assert announced.name == name and announced.info.kind == "direct"
        assert announced.info.members == ("alice", "bob")
        again = await alice.open_dm("bob")
        assert again[0] in ("room", 200)
        assert await alice.write("message", name, text="psst") == ("ack", 1)
        assert await alice.open_dm("nobody") == ("error", "bad_request")
        assert await alice.open_dm("alice") == ("error", "bad_request")
        assert await alice.write("leave", name) == ("error", "bad_request")
        # The dm- prefix is reserved.
        assert await alice.create("dm-mine") == ("error", "bad_request")
    async with acting(chat_server, tokens["carol"], via) as carol:
        assert await carol.write("message", name, text="let me in") == ("error", "unknown_room")


@both
async def test_a_private_rooms_name_is_taken_and_nothing_more(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with acting(chat_server, tokens["alice"], "http") as alice:
        await alice.create("secret-plans", private=True)
    async with acting(chat_server, tokens["bob"], via) as bob:
        assert await bob.create("secret-plans") == ("error", "name_taken")
        assert await bob.create("secret-plans", private=True) == ("error", "name_taken")
        assert await bob.create("general", private=True) == ("error", "bad_request")


@both
async def test_a_topic_is_logged_and_shown_in_the_room_object(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with (
        joined(chat_server, tokens["bob"], protocol=2) as bob,
        acting(chat_server, tokens["alice"], via) as alice,
    ):
        assert await alice.write("topic", "general", topic="  lunch at noon ") == ("ack", 1)
        entry = await next_of(bob, Topic)
        assert (entry.user, entry.topic, entry.seq) == ("alice", "lunch at noon", 1)
        assert await alice.write("topic", "general", topic="x" * 251) == ("error", "bad_request")
        assert (await alice.rooms())["general"]["topic"] == "lunch at noon"


@both
async def test_only_an_admin_deletes_a_room_and_its_name_is_never_used_again(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with acting(chat_server, tokens["alice"], "http") as alice:
        await alice.create("old-news")
        await alice.write("message", "old-news", text="forget me")

    async def delete(token: str, room: str) -> tuple[int, Any]:
        async with http(chat_server) as session:
            return await api(session, "DELETE", f"/api/v1/rooms/{room}", token)

    assert (await delete(tokens["bob"], "old-news"))[1]["code"] == "forbidden"
    await chat_server.service.store.set_admin("bob", True)
    async with joined(chat_server, tokens["alice"], protocol=2) as watching:
        assert await delete(tokens["bob"], "old-news") == (204, None)
        assert await next_of(watching, RoomRemoved) == RoomRemoved("old-news")
    assert (await delete(tokens["bob"], "general"))[1]["code"] == "bad_request"
    assert (await delete(tokens["bob"], "old-news"))[1]["code"] == "unknown_room"
    async with acting(chat_server, tokens["alice"], via) as alice:
        assert await alice.create("old-news") == ("error", "bad_request")
        assert "old-news" not in await alice.rooms()
    store = chat_server.service.store
    assert await store.entries_after("old-news", 0, 10, everything=True) == []


async def test_the_operator_deletes_a_room_and_promotes_users(
    server_config: ServerConfig,
) -> None:
    lines: list[str] = []
    async with running(server_config) as server:
        await make_users(server, ["alice"])
        await server.service.store.ensure_room("stale")
        store = server.service.store
        await admin.delete_room(store, "stale", lines.append)
        with pytest.raises(admin.AdminError):
            await admin.delete_room(store, "general", lines.append)
        await admin.promote_user(store, "alice", lines.append)
        await admin.add_user(store, "root", PASSWORD, lines.append, admin=True)
        people = {person.username: person.admin for person in await store.people()}
    assert people == {"alice": True, "root": True}
    assert lines[0].startswith("deleted public room stale")


async def test_people_lists_everyone_with_presence_and_admins(
    server_config: ServerConfig,
) -> None:
    server_config.admins = frozenset({"Host"})
    async with running(server_config) as server:
        # Registering first makes nobody an admin; the host's name does.
        first = await register(server, "first")
        host = await register(server, "host")
        await register(server, "later")
        async with joined(server, first, protocol=2), http(server) as session:
            status, body = await api(session, "GET", "/api/v1/users", host)
        assert status == 200
        assert body["users"] == [
            {"username": "first", "online": True, "admin": False},
            {"username": "host", "online": False, "admin": True},
            {"username": "later", "online": False, "admin": False},
        ]
        async with connect(ws_url(server)) as ws:
            assert (await hello(ws, host, protocol=2)).admin is True
        async with connect(ws_url(server)) as ws:
            assert (await hello(ws, first, protocol=2)).admin is False


@both
async def test_read_positions_move_forward_and_reach_the_other_devices(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with acting(chat_server, tokens["alice"], "http") as alice:
        for text in ("one", "two", "three"):
            await alice.write("message", "general", text=text)
        await alice.write("edit", "general", target=3, text="three!")
        await alice.write("react", "general", target=3, emoji="👀", on=True)
    async with (
        joined(chat_server, tokens["bob"], protocol=2) as other_device,
        acting(chat_server, tokens["bob"], via) as bob,
    ):
        assert (await bob.rooms())["general"]["unread"] == 3  # edits and reactions do not count
        await bob.read("general", 2)
        assert await next_of(other_device, Read) == Read("general", "bob", 2)
        room = (await bob.rooms())["general"]
        assert (room["read_seq"], room["unread"]) == (2, 1)
        await bob.read("general", 1)  # backwards: nothing moves, nobody hears
        await bob.read("general", 99)  # clamped to last_seq
        assert await next_of(other_device, Read) == Read("general", "bob", 5)
        room = (await bob.rooms())["general"]
        assert (room["read_seq"], room["unread"]) == (5, 0)
        if bob.ws is not None:
            # The sender's own connection gets no echo of its read.
            await bob.ws.send(json.dumps({"type": "history", "room": "general", "limit": 1}))
            event = await recv_until(bob.ws, lambda e: e.type in ("read", "history"))
            assert event.type == "history"


@both
async def test_in_a_private_room_every_member_sees_who_read_what(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    alice = await team_of_alice_and_bob(chat_server, tokens)
    await alice.write("message", "team", text="seen?")
    async with (
        joined(chat_server, tokens["alice"], protocol=2) as watching,
        acting(chat_server, tokens["bob"], via) as bob,
        http(chat_server) as session,
    ):
        _, first = await api(session, "GET", "/api/v1/events?v=2&wait=0", tokens["alice"])
        await bob.read("team", 2)
        assert await next_of(watching, Read) == Read("team", "bob", 2)
        _, answer = await api(session, "GET", "/api/v1/events?v=2&wait=5", tokens["alice"])
    assert answer["reads"] == {"team": {"bob": 2}}
    assert answer["since"] == ""
    assert first["reads"] == {} and first["rooms"] == [] and first["removed"] == []


async def test_a_long_poller_learns_of_its_new_and_removed_rooms(chat_server: ChatServer) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with http(chat_server) as session:
        await api(session, "GET", "/api/v1/events?v=2&wait=0", tokens["bob"])
        alice = Writer(chat_server, tokens["alice"])
        await alice.create("team", private=True)
        await alice.write("invite", "team", user="bob")
        status, answer = await api(session, "GET", "/api/v1/events?v=2&wait=5", tokens["bob"])
        assert [room["name"] for room in answer["rooms"]] == ["team"]
        assert answer["rooms"][0]["members"] == ["alice", "bob"]
        assert answer["rooms"][0]["creator"] == "alice"
        await alice.write("remove", "team", user="bob")
        status, answer = await api(session, "GET", "/api/v1/events?v=2&wait=5", tokens["bob"])
        assert answer["removed"] == ["team"] and answer["rooms"] == []
    assert status == 200
