"""Typing, presence and the long poll: the live state besides messages."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect

from chat_protocol import Message, ServerEvent, Typing, UserJoin, UserLeave
from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from tests.server.wire import (
    bearer,
    hello,
    http,
    joined,
    make_users,
    message_frame,
    recv,
    recv_until,
    running,
    ws_url,
)


def typing_frame(active: bool, room: str = "general") -> str:
    return json.dumps({"type": "typing", "room": room, "active": active})


def is_typing(event: ServerEvent) -> bool:
    return isinstance(event, Typing)


async def poll(
    session: aiohttp.ClientSession, token: str, since: str = "general:0", wait: float = 0
) -> dict[str, Any]:
    async with session.get(
        f"/api/v1/events?since={since}&wait={wait}", headers=bearer(token)
    ) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
        assert isinstance(body, dict)
        return body


# Typing ---------------------------------------------------------------------


async def test_typing_reaches_other_users_but_not_any_connection_of_the_typist(
    chat_server: ChatServer,
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with (
        joined(chat_server, tokens["alice"]) as typist,
        joined(chat_server, tokens["alice"]) as typist_phone,
        joined(chat_server, tokens["bob"]) as bob,
    ):
        await typist.send(typing_frame(True))
        assert await recv_until(bob, is_typing) == Typing("general", "alice", True)
        # A message sent afterwards is the first thing alice's own sockets see.
        await bob.send(message_frame("marker"))
        for ws in (typist, typist_phone):
            first = await recv_until(ws, lambda e: not isinstance(e, UserJoin))
            assert isinstance(first, Message) and first.text == "marker"


async def test_typing_faster_than_the_limit_is_dropped_silently(
    server_config: ServerConfig,
) -> None:
    async with running(server_config, typing_per_second=0.01) as server:
        tokens = await make_users(server, ["alice", "bob"])
        async with joined(server, tokens["alice"]) as alice, joined(server, tokens["bob"]) as bob:
            await alice.send(typing_frame(True))
            await alice.send(typing_frame(False))  # over the limit: dropped
            await alice.send(message_frame("marker"))
            got = [await recv_until(bob, lambda e: not isinstance(e, UserJoin)) for _ in range(2)]
            # alice hears no error about it either: her next event is her ack.
            assert (await recv_until(alice, lambda e: not isinstance(e, UserJoin))).type == "ack"
    assert got[0] == Typing("general", "alice", True)
    assert isinstance(got[1], Message)


async def test_typing_is_never_stored(chat_server: ChatServer) -> None:
    tokens = await make_users(chat_server, ["alice"])
    async with joined(chat_server, tokens["alice"]) as alice:
        await alice.send(typing_frame(True))
        await alice.send(message_frame("marker"))
        await recv_until(alice, lambda e: e.type == "ack")
    stored = await chat_server.service.store.messages_after("general", 0, 10)
    assert [m.text for m in stored] == ["marker"]


# Presence -------------------------------------------------------------------


async def test_join_on_the_first_connection_and_leave_after_the_last(
    chat_server: ChatServer,
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with joined(chat_server, tokens["bob"]) as bob:
        async with joined(chat_server, tokens["alice"]):
            assert await recv(bob) == UserJoin("alice")
            async with joined(chat_server, tokens["alice"]):
                pass  # a second connection opening and closing: no presence change
            await bob.send(message_frame("marker"))
            assert isinstance(await recv_until(bob, lambda e: e.type != "ack"), Message)
        assert await recv(bob) == UserLeave("alice")


async def test_welcome_lists_who_is_online(chat_server: ChatServer) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with joined(chat_server, tokens["bob"]), connect(ws_url(chat_server)) as ws:
        welcome = await hello(ws, tokens["alice"])
    assert welcome.online == ["alice", "bob"]


async def test_a_poller_counts_as_online_until_it_stops_polling(
    server_config: ServerConfig,
) -> None:
    async with running(server_config, poll_presence_seconds=0.3) as server:
        tokens = await make_users(server, ["alice", "carol"])
        async with joined(server, tokens["alice"]) as alice, http(server) as session:
            await poll(session, tokens["carol"])
            assert await recv(alice) == UserJoin("carol")
            status = await poll(session, tokens["alice"])
            assert status["online"] == ["alice", "carol"]
            # carol polls no more: after poll_presence_seconds she is gone.
            assert await recv(alice) == UserLeave("carol")


async def test_a_poller_that_keeps_polling_stays_online(server_config: ServerConfig) -> None:
    async with running(server_config, poll_presence_seconds=0.5) as server:
        tokens = await make_users(server, ["alice", "carol"])
        async with joined(server, tokens["alice"]) as alice, http(server) as session:
            await poll(session, tokens["carol"])
            assert await recv(alice) == UserJoin("carol")
            for _ in range(4):  # each long poll lasts 0.3 s, within the 0.5 s
                await poll(session, tokens["carol"], wait=0.3)
            await alice.send(message_frame("marker"))
            assert (await recv_until(alice, lambda e: e.type != "ack")).type == "message"


async def test_logging_out_a_poller_ends_its_presence(chat_server: ChatServer) -> None:
    tokens = await make_users(chat_server, ["alice", "carol"])
    async with joined(chat_server, tokens["alice"]) as alice, http(chat_server) as session:
        await poll(session, tokens["carol"])
        assert await recv(alice) == UserJoin("carol")
        async with session.post("/api/v1/logout", headers=bearer(tokens["carol"])):
            pass
        assert await recv(alice) == UserLeave("carol")


# The long poll ----------------------------------------------------------------


async def test_the_first_poll_answers_at_once_with_the_current_state(
    chat_server: ChatServer,
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with joined(chat_server, tokens["bob"]) as bob, http(chat_server) as session:
        await bob.send(message_frame("earlier"))
        await recv_until(bob, lambda e: e.type == "ack")
        body = await poll(session, tokens["alice"], wait=30)
    assert [m["text"] for m in body["messages"]] == ["earlier"]
    assert body["online"] == ["alice", "bob"] and body["typing"] == {}
    assert body["since"] == "general:1"


async def test_a_long_poll_answers_promptly_when_a_message_arrives(
    chat_server: ChatServer,
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with http(chat_server) as session, joined(chat_server, tokens["bob"]) as bob:
        await poll(session, tokens["alice"])  # the first poll: the current state
        waiting = asyncio.create_task(poll(session, tokens["alice"], wait=30))
        await bob.send(message_frame("wake up"))
        # Far less than the 30 s the poll may wait: it must answer on the message.
        body = await asyncio.wait_for(waiting, 10)
    assert [(m["seq"], m["author"], m["text"]) for m in body["messages"]] == [(1, "bob", "wake up")]
    assert body["since"] == "general:1"


async def test_a_long_poll_with_nothing_new_times_out_empty(
    server_config: ServerConfig,
) -> None:
    async with running(server_config) as server, http(server) as session:
        tokens = await make_users(server, ["alice"])
        await poll(session, tokens["alice"])
        body = await poll(session, tokens["alice"], since="general:0", wait=0.2)
    assert body == {"messages": [], "typing": {}, "online": ["alice"], "since": "general:0"}


async def test_a_long_poll_answers_when_someone_starts_typing(chat_server: ChatServer) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with http(chat_server) as session, joined(chat_server, tokens["bob"]) as bob:
        await poll(session, tokens["alice"])
        waiting = asyncio.create_task(poll(session, tokens["alice"], wait=30))
        await bob.send(typing_frame(True))
        body = await asyncio.wait_for(waiting, 10)
    assert body["typing"] == {"general": ["bob"]} and body["messages"] == []


async def test_a_long_poll_answers_when_presence_changes(chat_server: ChatServer) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with http(chat_server) as session:
        await poll(session, tokens["alice"])
        waiting = asyncio.create_task(poll(session, tokens["alice"], wait=30))
        async with joined(chat_server, tokens["bob"]):
            body = await asyncio.wait_for(waiting, 10)
    assert body["online"] == ["alice", "bob"]


async def test_the_long_poll_ignores_rooms_it_was_not_asked_about(
    chat_server: ChatServer,
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with http(chat_server) as session, joined(chat_server, tokens["bob"]) as bob:
        await bob.send(json.dumps({"type": "create-room", "name": "random"}))
        await bob.send(message_frame("elsewhere", room="random"))
        await recv_until(bob, lambda e: e.type == "ack")
        await poll(session, tokens["alice"], since="general:0")
        body = await poll(session, tokens["alice"], since="general:0", wait=0.2)
    assert body["messages"] == [] and body["since"] == "general:0"


async def test_typing_seen_by_a_poller_excludes_the_pollers_own_user(
    chat_server: ChatServer,
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with http(chat_server) as session, joined(chat_server, tokens["alice"]) as alice:
        await alice.send(typing_frame(True))
        await alice.send(message_frame("marker", room="nowhere"))  # an error: a sync point
        await recv_until(alice, lambda e: e.type == "error")
        own = await poll(session, tokens["alice"])
        other = await poll(session, tokens["bob"])
    assert own["typing"] == {} and other["typing"] == {"general": ["alice"]}


async def test_a_message_ends_its_authors_typing_for_pollers(chat_server: ChatServer) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with http(chat_server) as session, joined(chat_server, tokens["alice"]) as alice:
        await alice.send(typing_frame(True))
        await alice.send(message_frame("done typing"))
        await recv_until(alice, lambda e: e.type == "ack")
        body = await poll(session, tokens["bob"])
    assert body["typing"] == {} and [m["text"] for m in body["messages"]] == ["done typing"]


@pytest.mark.parametrize("query", ["since=general", "since=general:x", "since=general:0&wait=x",
                                   "since=general:0&wait=-1", "since=BAD:1"])  # fmt: skip
async def test_a_malformed_poll_is_400(chat_server: ChatServer, query: str) -> None:
    tokens = await make_users(chat_server, ["alice"])
    async with (
        http(chat_server) as session,
        session.get(f"/api/v1/events?{query}", headers=bearer(tokens["alice"])) as response,
    ):
        assert response.status == 400
