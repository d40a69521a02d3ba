"""Replay after hello and the hand-over to live events: nothing lost, nothing repeated."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import ClientConnection

from chat_protocol import Ack, Gap, Message, ServerEvent
from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from tests.server.wire import (
    joined,
    make_users,
    message_frame,
    recv,
    recv_until,
    register,
    running,
)


def is_message(event: ServerEvent) -> bool:
    return isinstance(event, Message)


async def post(ws: ClientConnection, count: int, room: str = "general", pad: int = 0) -> None:
    """Send ``count`` messages (``pad`` characters longer) and wait for each ack."""
    for number in range(count):
        await ws.send(message_frame(f"message {number}" + "." * pad, room=room))
        await recv_until(ws, lambda e: isinstance(e, Ack))


async def messages_until(ws: ClientConnection, last_seq: int) -> list[Message]:
    """Every message event up to and including ``last_seq`` (other events skipped)."""
    got: list[Message] = []
    while not got or got[-1].seq < last_seq:
        event = await recv_until(ws, is_message)
        assert isinstance(event, Message)
        got.append(event)
    return got


async def test_hello_with_since_replays_exactly_the_missed_messages(
    chat_server: ChatServer,
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with joined(chat_server, tokens["bob"]) as bob:
        await post(bob, 5)
    async with joined(chat_server, tokens["alice"], since={"general": 2}) as alice:
        replay = [await recv(alice) for _ in range(3)]
    assert [(m.seq, m.text) for m in replay if isinstance(m, Message)] == [
        (3, "message 2"),
        (4, "message 3"),
        (5, "message 4"),
    ]


async def test_a_client_that_is_up_to_date_gets_no_replay(chat_server: ChatServer) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with joined(chat_server, tokens["bob"]) as bob:
        await post(bob, 2)
        async with joined(chat_server, tokens["alice"], since={"general": 2}) as alice:
            await bob.send(message_frame("live"))
            live = await recv_until(alice, is_message)
    assert isinstance(live, Message) and (live.seq, live.text) == (3, "live")


async def test_replay_beyond_the_limit_sends_a_gap_then_the_newest_messages(
    server_config: ServerConfig,
) -> None:
    server_config.replay_limit = 3
    async with running(server_config) as server:
        tokens = await make_users(server, ["alice", "bob"])
        async with joined(server, tokens["bob"]) as bob:
            await post(bob, 7)
        async with joined(server, tokens["alice"], since={"general": 1}) as alice:
            events = [await recv(alice) for _ in range(4)]
    assert events[0] == Gap("general", after=1, before=5)
    assert [m.seq for m in events[1:] if isinstance(m, Message)] == [5, 6, 7]


async def test_replay_of_exactly_the_limit_has_no_gap(server_config: ServerConfig) -> None:
    server_config.replay_limit = 3
    async with running(server_config) as server:
        tokens = await make_users(server, ["alice", "bob"])
        async with joined(server, tokens["bob"]) as bob:
            await post(bob, 4)
        async with joined(server, tokens["alice"], since={"general": 1}) as alice:
            events = [await recv(alice) for _ in range(3)]
    assert [m.seq for m in events if isinstance(m, Message)] == [2, 3, 4]


async def test_replay_covers_each_room_in_since_and_ignores_unknown_rooms(
    chat_server: ChatServer,
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with joined(chat_server, tokens["bob"]) as bob:
        await bob.send(json.dumps({"type": "create-room", "name": "random"}))
        await post(bob, 2, room="random")
        await post(bob, 1, room="general")
    since = {"general": 0, "random": 1, "gone": 5}
    async with joined(chat_server, tokens["alice"], since=since) as alice:
        replay = [await recv(alice) for _ in range(2)]
    assert sorted((m.room, m.seq) for m in replay if isinstance(m, Message)) == [
        ("general", 1),
        ("random", 2),
    ]


async def test_resuming_after_a_drop_loses_and_repeats_nothing(chat_server: ChatServer) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with joined(chat_server, tokens["bob"]) as bob:
        async with joined(chat_server, tokens["alice"]) as alice:
            await post(bob, 3)
            before = await messages_until(alice, 3)
        await post(bob, 3)  # while alice is away
        async with joined(chat_server, tokens["alice"], since={"general": 3}) as alice:
            await post(bob, 2)
            after = await messages_until(alice, 8)
    assert [m.seq for m in before + after] == list(range(1, 9))


async def test_connecting_while_messages_flow_loses_and_repeats_nothing(
    server_config: ServerConfig,
) -> None:
    # The hand-over from replay to live is where a message could slip through
    # or arrive twice; connect several clients at random points of a stream.
    # Long messages make the replay take a while, so live ones arrive during it.
    total = 120
    async with running(server_config, messages_per_second=1000, message_burst=1000) as server:
        delays = range(0, total, 8)
        names = ["writer", *(f"reader{n}" for n in delays)]
        tokens = await make_users(server, names)
        async with joined(server, tokens["writer"]) as writer:

            async def read_all(name: str, delay_acks: int) -> list[int]:
                # Start once the writer is partway through.
                hub = server.service.hub
                while hub.last_seq("general") < delay_acks:
                    await hub.changed().wait()
                async with joined(server, tokens[name], since={"general": 0}) as reader:
                    return [m.seq for m in await messages_until(reader, total)]

            readers = [
                asyncio.create_task(read_all(name, delay))
                for name, delay in zip(names[1:], delays, strict=True)
            ]
            await post(writer, total, pad=3000)
            results = await asyncio.gather(*readers)
    for seqs in results:
        assert seqs == list(range(1, total + 1))


async def test_fifty_clients_chatting_at_once_all_end_with_the_same_full_history(
    server_config: ServerConfig,
) -> None:
    clients, each = 50, 4
    total = clients * each
    async with running(server_config) as server:
        tokens = await make_users(server, [f"user{n}" for n in range(clients)])

        async def chat(name: str, start: asyncio.Event) -> list[tuple[int, str, str]]:
            async with joined(server, tokens[name]) as ws:
                ready.append(name)
                if len(ready) == clients:
                    start.set()
                await start.wait()
                for number in range(each):
                    await ws.send(message_frame(f"{name} says {number}"))
                seen = await messages_until(ws, total)
                return [(m.seq, m.author, m.text) for m in seen]

        ready: list[str] = []
        start = asyncio.Event()
        histories = await asyncio.gather(*(chat(name, start) for name in tokens))
        stored = await server.service.store.messages_after("general", 0, total + 1)
    expected = [(m.seq, m.author, m.text) for m in stored]
    assert [seq for seq, _, _ in expected] == list(range(1, total + 1))
    for history in histories:
        assert history == expected


async def test_a_second_login_of_the_same_user_sees_its_own_messages_live(
    chat_server: ChatServer,
) -> None:
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as first, joined(chat_server, token) as second:
        await first.send(message_frame("from my laptop"))
        got = await recv_until(second, is_message)
    assert isinstance(got, Message) and got.text == "from my laptop"


async def test_a_client_ahead_of_the_server_still_gets_new_messages(
    chat_server: ChatServer,
) -> None:
    # Say the server's data was restored from an older backup: the client's
    # position is beyond the room's end. New messages must still reach it.
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with joined(chat_server, tokens["bob"]) as bob:
        await post(bob, 2)
        async with joined(chat_server, tokens["alice"], since={"general": 10}) as alice:
            await bob.send(message_frame("new"))
            got = await recv_until(alice, is_message)
    assert isinstance(got, Message) and (got.seq, got.text) == (3, "new")
