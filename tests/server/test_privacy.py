"""Privacy first: a private room does not exist for those who are not in it, by any route.

alice keeps a private room ``hideout`` busy (messages, an edit, a reaction,
a topic, typing, a read, an invite for bob). carol, who is not in it, tries
every route there is, over the socket (Version 2 and the v1 view) and over
HTTP, and each answer is compared with the answer for a room that does not
exist at all (``nowhere``): the same code, the same words but the name.
The one trace the contract allows is ``name_taken`` when creating a room
with that name.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from chat_protocol import Error, Message, Welcome
from chat_server.app import ChatServer

from .wire import (
    TIMEOUT,
    Writer,
    api,
    hello,
    http,
    joined,
    make_users,
    recv_raw,
    recv_until,
    ws_url,
)

SECRET = "hideout"
MISSING = "nowhere"

# Every frame that names a room, with what it needs besides the room.
SOCKET_FRAMES: list[dict[str, Any]] = [
    {"type": "message", "text": "hi", "client_id": "c1"},
    {"type": "message", "text": "hi", "client_id": "c2", "reply_to": 1},
    {"type": "edit", "target": 1, "text": "x", "client_id": "c3"},
    {"type": "delete", "target": 1, "client_id": "c4"},
    {"type": "react", "target": 1, "emoji": "👍", "on": True, "client_id": "c5"},
    {"type": "topic", "topic": "mine now", "client_id": "c6"},
    {"type": "invite", "user": "carol", "client_id": "c7"},
    {"type": "remove", "user": "alice", "client_id": "c8"},
    {"type": "leave", "client_id": "c9"},
    {"type": "typing", "active": True},
    {"type": "read", "seq": 1},
    {"type": "history", "before": 5},
]

# Every HTTP route that names a room: (method, path after /api/v1/rooms/ROOM, body).
HTTP_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/messages", {"client_id": "h1", "text": "hi"}),
    ("GET", "/messages", None),
    ("GET", "/messages?after=0&v=2", None),
    ("GET", "/messages?before=9", None),
    ("POST", "/edit", {"target": 1, "text": "x", "client_id": "h2"}),
    ("POST", "/delete", {"target": 1, "client_id": "h3"}),
    ("POST", "/react", {"target": 1, "emoji": "x", "on": True, "client_id": "h4"}),
    ("POST", "/topic", {"topic": "x", "client_id": "h5"}),
    ("POST", "/invite", {"user": "carol"}),
    ("POST", "/remove", {"user": "alice"}),
    ("POST", "/leave", {}),
    ("POST", "/typing", {"active": True}),
    ("POST", "/read", {"seq": 1}),
    ("DELETE", "", None),
]


async def busy_secret_room(server: ChatServer, tokens: dict[str, str]) -> None:
    """alice's private room with something of every kind in it."""
    async with joined(server, tokens["alice"], protocol=2) as ws:
        alice = Writer(server, tokens["alice"], ws)
        await ws.send(json.dumps({"type": "create-room", "name": SECRET, "private": True}))
        assert await alice.write("message", SECRET, text="the secret plan") == ("ack", 1)
        await alice.write("edit", SECRET, target=1, text="the secret plan, v2")
        await alice.write("react", SECRET, target=1, emoji="🤫", on=True)
        await alice.write("topic", SECRET, topic="do not tell carol")
        await alice.write("invite", SECRET, user="bob")
        await ws.send(json.dumps({"type": "typing", "room": SECRET, "active": True}))
        await ws.send(json.dumps({"type": "read", "room": SECRET, "seq": 5}))
        assert await alice.write("message", SECRET, text="still secret") == ("ack", 6)


def same_but_the_name(secret: object, missing: object) -> None:
    assert json.dumps(secret).replace(SECRET, MISSING) == json.dumps(missing)


async def refusal(ws: ClientConnection, frame: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps(frame))
    answer = await recv_raw(ws)
    assert answer["type"] == "error", answer
    return answer


@pytest.mark.parametrize("protocol", [1, 2])
async def test_over_the_socket_a_private_room_is_an_unknown_one(
    chat_server: ChatServer, protocol: int
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob", "carol"])
    await busy_secret_room(chat_server, tokens)
    async with joined(chat_server, tokens["carol"], protocol=protocol) as ws:
        for frame in SOCKET_FRAMES:
            secret = await refusal(ws, {**frame, "room": SECRET})
            missing = await refusal(ws, {**frame, "room": MISSING})
            assert secret["code"] == "unknown_room", (frame, secret)
            same_but_the_name(secret, missing)
        # The allowed trace: the name is taken, and nothing more.
        taken = await refusal(ws, {"type": "create-room", "name": SECRET})
        assert taken["code"] == "name_taken" and "plan" not in taken["message"]


@pytest.mark.parametrize("protocol", [1, 2])
async def test_a_replay_and_the_welcome_leave_a_private_room_out(
    chat_server: ChatServer, protocol: int
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob", "carol"])
    await busy_secret_room(chat_server, tokens)
    async with (
        joined(chat_server, tokens["alice"]) as alice_ws,
        connect(ws_url(chat_server)) as ws,
    ):
        welcome = await hello(ws, tokens["carol"], {SECRET: 0, "general": 0}, protocol)
        assert isinstance(welcome, Welcome)
        assert [room.name for room in welcome.rooms] == ["general"]
        # The first message carol gets is the marker: nothing was replayed from hideout.
        await alice_ws.send(
            json.dumps({"type": "message", "room": "general", "client_id": "m", "text": "marker"})
        )
        first = await recv_until(ws, lambda e: isinstance(e, Message))
        assert isinstance(first, Message) and first.text == "marker"


@pytest.mark.parametrize("protocol", [1, 2])
async def test_nothing_of_a_private_room_reaches_a_connected_stranger(
    chat_server: ChatServer, protocol: int
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob", "carol"])
    async with joined(chat_server, tokens["carol"], protocol=protocol) as carol:
        await busy_secret_room(chat_server, tokens)
        async with joined(chat_server, tokens["alice"], protocol=2) as ws:
            alice = Writer(chat_server, tokens["alice"], ws)
            await alice.write("message", "general", text="marker")
        frames = []
        while True:
            frame = await recv_raw(carol)
            frames.append(frame)
            if frame.get("text") == "marker":
                break
    assert SECRET not in json.dumps(frames)
    assert {frame["type"] for frame in frames} <= {"user-join", "user-leave", "message"}


async def test_over_http_a_private_room_is_an_unknown_one(chat_server: ChatServer) -> None:
    tokens = await make_users(chat_server, ["alice", "bob", "carol"])
    await busy_secret_room(chat_server, tokens)
    carol = tokens["carol"]
    async with http(chat_server) as session:
        for method, path, body in HTTP_ROUTES:
            secret = await api(session, method, f"/api/v1/rooms/{SECRET}{path}", carol, body)
            missing = await api(session, method, f"/api/v1/rooms/{MISSING}{path}", carol, body)
            assert secret[0] == 404 and secret[1]["code"] == "unknown_room", (path, secret)
            same_but_the_name(secret, missing)
        for query in ("", "?v=2"):
            status, rooms = await api(session, "GET", f"/api/v1/rooms{query}", carol)
            assert [room["name"] for room in rooms["rooms"]] == ["general"]
        status, taken = await api(session, "POST", "/api/v1/rooms", carol, {"name": SECRET})
        assert (status, taken["code"]) == (409, "name_taken")


@pytest.mark.parametrize("v", ["", "&v=2"])
async def test_a_long_poll_echoes_a_private_room_like_an_unknown_one(
    chat_server: ChatServer, v: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob", "carol"])
    await busy_secret_room(chat_server, tokens)
    carol = tokens["carol"]
    async with http(chat_server) as session:

        async def poll(room: str) -> dict[str, Any]:
            status, body = await api(
                session, "GET", f"/api/v1/events?since={room}:0{v}&wait=0", carol
            )
            assert status == 200
            return dict(body)

        secret, missing = await poll(SECRET), await poll(MISSING)
        assert secret["since"] == f"{SECRET}:0" and secret["messages"] == []
        same_but_the_name(secret, missing)
        # A poll waiting while alice writes, types and reads there answers only
        # when its own time is up, with nothing of it.
        waiting = asyncio.create_task(
            api(session, "GET", f"/api/v1/events?since={SECRET}:0{v}&wait=1", carol)
        )
        await busy_more(chat_server, tokens["alice"])
        _, answer = await waiting
    assert answer.pop("since") == f"{SECRET}:0" and answer["messages"] == []
    assert SECRET not in json.dumps(answer)


async def busy_more(server: ChatServer, token: str) -> None:
    async with joined(server, token, protocol=2) as ws:
        alice = Writer(server, token, ws)
        await alice.write("message", SECRET, text="more secrets")
        await ws.send(json.dumps({"type": "typing", "room": SECRET, "active": True}))
        await ws.send(json.dumps({"type": "read", "room": SECRET, "seq": 7}))
        await alice.write("react", SECRET, target=7, emoji="🙊", on=True)


async def test_a_stranger_polling_sees_no_typing_reads_or_room_there(
    chat_server: ChatServer,
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob", "carol"])
    async with http(chat_server) as session:
        await api(session, "GET", "/api/v1/events?v=2&wait=0", tokens["carol"])
        # alice still types in the private room (busy_secret_room); now in general too.
        await busy_secret_room(chat_server, tokens)
        async with joined(chat_server, tokens["alice"], protocol=2) as ws:
            await ws.send(json.dumps({"type": "typing", "room": "general", "active": True}))
            answer: dict[str, Any] = {"typing": {}}
            async with asyncio.timeout(TIMEOUT):
                while "general" not in answer["typing"]:
                    _, answer = await api(
                        session, "GET", "/api/v1/events?v=2&wait=5", tokens["carol"]
                    )
    assert SECRET not in json.dumps(answer)
    assert answer["reads"] == {} and answer["rooms"] == [] and answer["removed"] == []


async def test_errors_never_name_what_the_room_holds(chat_server: ChatServer) -> None:
    tokens = await make_users(chat_server, ["alice", "bob", "carol"])
    await busy_secret_room(chat_server, tokens)
    async with joined(chat_server, tokens["carol"], protocol=2) as ws:
        answer = await refusal(
            ws, {"type": "edit", "room": SECRET, "target": 1, "text": "x", "client_id": "e"}
        )
    assert answer == Error("unknown_room", f"there is no room {SECRET!r}", "e").to_wire()
