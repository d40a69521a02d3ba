"""The WebSocket session: hello, welcome, messages, acks, history, rooms and bad input."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chat_protocol import (
    Ack,
    Error,
    HistoryPage,
    Message,
    Room,
    ServerEvent,
    UserJoin,
    UserLeave,
)
from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from chat_server.storage import workers
from chat_server.storage.peewee_store import PeeweeChatStore
from tests.reliability.clients import server_messages
from tests.server.wire import (
    hello,
    joined,
    message_frame,
    recv,
    recv_raw,
    recv_until,
    refuse_appends,
    register,
    running,
    ws_url,
)
from tests.waiting import eventually


def is_ack(event: ServerEvent) -> bool:
    return isinstance(event, Ack)


def is_message(event: ServerEvent) -> bool:
    return isinstance(event, Message)


async def test_welcome_names_the_user_the_rooms_the_online_users_and_the_server(
    chat_server: ChatServer,
) -> None:
    token = await register(chat_server, "alice")
    async with connect(ws_url(chat_server)) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        welcome = await recv_raw(ws)
    assert welcome == {
        "type": "welcome",
        "protocol": 1,
        "username": "alice",
        "rooms": [{"name": "general", "last_seq": 0}],
        "online": ["alice"],
        "server": {"name": "test", "version": chat_server.config.version},
    }


async def test_a_bad_token_closes_the_socket_with_4401(chat_server: ChatServer) -> None:
    async with connect(ws_url(chat_server)) as ws:
        await ws.send(json.dumps({"type": "hello", "token": "not-a-token"}))
        with pytest.raises(ConnectionClosed) as closed:
            await recv(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_no_hello_in_time_closes_the_socket_with_1008(server_config: ServerConfig) -> None:
    async with running(server_config, hello_timeout=0.2) as server, connect(ws_url(server)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await recv(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_events_before_hello_are_refused_and_hello_still_works(
    chat_server: ChatServer,
) -> None:
    token = await register(chat_server, "alice")
    async with connect(ws_url(chat_server)) as ws:
        await ws.send(message_frame("too early", client_id="early"))
        refused = await recv(ws)
        assert isinstance(refused, Error) and (refused.code, refused.ref) == (
            "unauthorized",
            "early",
        )
        welcome = await hello(ws, token)
    assert welcome.username == "alice"


async def test_a_message_is_acked_to_the_sender_before_it_comes_back(
    chat_server: ChatServer,
) -> None:
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as ws:
        await ws.send(message_frame("hello world", client_id="c-1"))
        ack = await recv(ws)
        message = await recv(ws)
    assert isinstance(ack, Ack) and (ack.client_id, ack.room, ack.seq) == ("c-1", "general", 1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ack.ts)
    assert isinstance(message, Message)
    assert (message.seq, message.author, message.text, message.ts) == (
        1,
        "alice",
        "hello world",
        ack.ts,
    )


async def test_a_message_reaches_every_connection_of_every_user(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")
    async with (
        joined(chat_server, alice) as a1,
        joined(chat_server, alice) as a2,
        joined(chat_server, bob) as b,
    ):
        await a1.send(message_frame("  hi all  ", client_id="c-1"))
        for ws in (a1, a2, b):
            got = await recv_until(ws, is_message)
            # Stored and sent trimmed: the contract counts text after trimming.
            assert isinstance(got, Message) and (got.seq, got.text) == (1, "hi all")


async def test_seqs_count_up_per_room_without_gaps(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as ws:
        await ws.send(json.dumps({"type": "create-room", "name": "random"}))
        await recv_until(ws, lambda e: isinstance(e, Room))
        seqs = []
        for room in ("general", "random", "general", "random", "general"):
            await ws.send(message_frame("x", room=room))
            ack = await recv_until(ws, is_ack)
            assert isinstance(ack, Ack)
            seqs.append((room, ack.seq))
    assert seqs == [("general", 1), ("random", 1), ("general", 2), ("random", 2), ("general", 3)]


async def test_a_retry_with_the_same_client_id_is_stored_once_and_not_broadcast_again(
    chat_server: ChatServer,
) -> None:
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")
    async with joined(chat_server, alice) as a, joined(chat_server, bob) as b:
        await a.send(message_frame("once", client_id="same"))
        first = await recv_until(a, is_ack)
        await a.send(message_frame("once", client_id="same"))
        second = await recv_until(a, is_ack)
        await a.send(message_frame("next", client_id="other"))
        assert isinstance(first, Ack) and isinstance(second, Ack)
        assert (second.seq, second.ts) == (first.seq, first.ts)
        seen = [await recv_until(b, is_message), await recv_until(b, is_message)]
    assert [(m.seq, m.text) for m in seen if isinstance(m, Message)] == [(1, "once"), (2, "next")]
    assert len(await chat_server.service.store.messages_after("general", 0, 10)) == 2


# A burst sent without waiting ------------------------------------------------
# The server pipelines one socket's messages (they share group commits) and
# writes what a socket gets in one turn of its loop in one go; neither may
# change what the clients see.

BURST = 100  # more than a socket may have on their way to the database at once


@pytest.fixture
async def burst_server(server_config: ServerConfig) -> AsyncIterator[ChatServer]:
    """A server whose rate limit lets one client send BURST messages at once."""
    async with running(server_config, messages_per_second=1000, message_burst=BURST) as server:
        yield server


def burst_texts() -> list[str]:
    """Texts whose frames take each length form a server frame can have below 64 KiB."""
    return [
        "short" if number % 3 == 0 else "é" * 200 if number % 3 == 1 else "😀" * 4000
        for number in range(BURST)
    ]


async def test_a_lone_message_is_committed_on_the_loop_and_on_disk_before_its_ack(
    chat_server: ChatServer,
) -> None:
    # Issue 17: with the writer idle the loop commits the message itself (no
    # thread hand-off), and the ack still means "in the file, fsynced".
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")
    store = chat_server.service.store
    assert isinstance(store, PeeweeChatStore)
    db_file = chat_server.config.data_dir / "chat.sqlite3"
    async with joined(chat_server, alice) as a, joined(chat_server, bob) as b:
        await eventually(lambda: store.pending_writes == 0)
        before = store.inline_commits
        await a.send(message_frame("alone", client_id="lone-1"))
        ack = await recv_until(a, is_ack)
        # Read through another connection the moment the ack is here.
        assert [row[2] for row in server_messages(db_file)] == ["lone-1"]
        assert isinstance(ack, Ack) and (ack.client_id, ack.seq) == ("lone-1", 1)
        assert store.inline_commits == before + 1
        heard = await recv_until(b, is_message)
        assert isinstance(heard, Message) and (heard.seq, heard.text) == (1, "alone")


async def test_the_writer_checkpoints_the_wal_for_the_commits_made_on_the_loop(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The loop's connection never checkpoints (that would stall the loop);
    # the writer is asked to every CHECKPOINT_EVERY commits made there, so
    # the WAL does not grow without end while every message is a lone one.
    monkeypatch.setattr(workers, "CHECKPOINT_EVERY", 2)
    # No pause after a commit on the loop: each message here is a lone one.
    monkeypatch.setattr(workers, "INLINE_SHARE", 1.0)
    # Nor after the writer grouped writes (sign-ups under load may have).
    monkeypatch.setattr(workers, "INLINE_QUIET", 0.0)
    alice = await register(chat_server, "alice")
    store = chat_server.service.store
    assert isinstance(store, PeeweeChatStore)
    writer = store._writer
    assert writer is not None
    async with joined(chat_server, alice) as a:
        for number in range(2):
            await eventually(
                lambda: store.pending_writes == 0 and not writer.transaction_lock.locked()
            )
            await a.send(message_frame(f"lone {number}", client_id=f"l-{number}"))
            ack = await recv_until(a, is_ack)
            assert isinstance(ack, Ack) and ack.seq == number + 1
        assert store.inline_commits == 2
        await eventually(lambda: writer.checkpoints == 1)


async def test_a_burst_sent_without_waiting_is_acked_and_delivered_in_order(
    burst_server: ChatServer,
) -> None:
    alice = await register(burst_server, "alice")
    bob = await register(burst_server, "bob")
    store = burst_server.service.store
    assert isinstance(store, PeeweeChatStore)
    commits = store.commits
    texts = burst_texts()
    async with joined(burst_server, alice) as a, joined(burst_server, bob) as b:
        for number, text in enumerate(texts):
            await a.send(message_frame(text, client_id=f"c-{number}"))
        acks = [await recv_until(a, is_ack) for _ in texts]
        seen = [await recv_until(b, is_message) for _ in texts]
    # The burst did not cost a transaction (and an fsync) per message.
    assert store.commits - commits <= BURST // 2
    assert [(ack.client_id, ack.seq) for ack in acks if isinstance(ack, Ack)] == [
        (f"c-{number}", number + 1) for number in range(BURST)
    ]
    assert [(m.seq, m.text) for m in seen if isinstance(m, Message)] == list(
        zip(range(1, BURST + 1), texts, strict=True)
    )


async def test_history_asked_right_after_a_burst_includes_all_of_it(
    burst_server: ChatServer,
) -> None:
    token = await register(burst_server, "alice")
    async with joined(burst_server, token) as ws:
        for number in range(BURST):
            await ws.send(message_frame(f"m{number}"))
        await ws.send(json.dumps({"type": "history", "room": "general", "limit": BURST}))
        page = await recv_until(ws, lambda e: isinstance(e, HistoryPage))
    assert isinstance(page, HistoryPage)
    assert [m.text for m in page.messages] == [f"m{number}" for number in range(BURST)]


async def test_messages_sent_just_before_leaving_arrive_before_the_leave(
    burst_server: ChatServer,
) -> None:
    alice = await register(burst_server, "alice")
    bob = await register(burst_server, "bob")
    async with joined(burst_server, bob) as b:
        async with joined(burst_server, alice) as a:
            await recv_until(b, lambda e: isinstance(e, UserJoin))
            for number in range(10):
                await a.send(message_frame(f"bye {number}"))
        # alice's socket is closed; what she sent before was already handed over.
        seen = [await recv_until(b, lambda e: not isinstance(e, Ack)) for _ in range(11)]
    assert [e.text for e in seen[:10] if isinstance(e, Message)] == [
        f"bye {number}" for number in range(10)
    ]
    assert seen[10] == UserLeave("alice")


async def test_history_pages_backwards_in_ascending_order(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as ws:
        for number in range(1, 6):
            await ws.send(message_frame(f"m{number}"))
            await recv_until(ws, is_ack)
        await ws.send(json.dumps({"type": "history", "room": "general", "before": 5, "limit": 2}))
        page = await recv_until(ws, lambda e: isinstance(e, HistoryPage))
        await ws.send(json.dumps({"type": "history", "room": "general", "before": 3, "limit": 5}))
        rest = await recv_until(ws, lambda e: isinstance(e, HistoryPage))
    assert isinstance(page, HistoryPage) and isinstance(rest, HistoryPage)
    assert [m.seq for m in page.messages] == [3, 4] and page.has_more
    assert [m.seq for m in rest.messages] == [1, 2] and not rest.has_more


async def test_history_without_before_gives_the_newest_messages(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as ws:
        for number in range(1, 4):
            await ws.send(message_frame(f"m{number}"))
            await recv_until(ws, is_ack)
        await ws.send(json.dumps({"type": "history", "room": "general", "limit": 2}))
        page = await recv_until(ws, lambda e: isinstance(e, HistoryPage))
    assert isinstance(page, HistoryPage)
    assert [m.text for m in page.messages] == ["m2", "m3"] and page.has_more


async def test_creating_a_room_announces_it_to_every_connection(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")
    async with joined(chat_server, alice) as a, joined(chat_server, bob) as b:
        await a.send(json.dumps({"type": "create-room", "name": "random"}))
        for ws in (a, b):
            assert await recv_until(ws, lambda e: isinstance(e, Room)) == Room("random", 0)


async def test_creating_an_existing_room_tells_the_asker_its_last_seq(
    chat_server: ChatServer,
) -> None:
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as ws:
        await ws.send(message_frame("x"))
        await recv_until(ws, is_ack)
        await ws.send(json.dumps({"type": "create-room", "name": "general"}))
        assert await recv_until(ws, lambda e: isinstance(e, Room)) == Room("general", 1)


@pytest.mark.parametrize(
    ("frame", "code", "ref"),
    [
        ("this is not json", "bad_request", None),
        ("[1, 2, 3]", "bad_request", None),
        ('{"type": "dance"}', "unknown_type", None),
        ('{"type": "message", "room": "general", "client_id": "c-9"}', "bad_request", "c-9"),
        ('{"type": "message", "room": "Bad Room", "client_id": "c-9", "text": "x"}',
         "bad_request", "c-9"),
        ('{"type": "message", "room": "nowhere", "client_id": "c-9", "text": "x"}',
         "unknown_room", "c-9"),
        ('{"type": "message", "room": "general", "client_id": "c-9", "text": "   "}',
         "bad_request", "c-9"),
        ('{"type": "typing", "room": "general", "active": "yes"}', "bad_request", None),
        ('{"type": "typing", "room": "nowhere", "active": true}', "unknown_room", None),
        ('{"type": "history", "room": "nowhere"}', "unknown_room", None),
        ('{"type": "history", "room": "general", "limit": 0}', "bad_request", None),
        ('{"type": "create-room", "name": "UPPER"}', "bad_request", None),
        ('{"type": "hello", "token": "again"}', "bad_request", None),
    ],
)  # fmt: skip
async def test_a_bad_frame_gets_an_error_and_the_connection_stays_usable(
    chat_server: ChatServer, frame: str, code: str, ref: str | None
) -> None:
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as ws:
        await ws.send(frame)
        error = await recv(ws)
        assert isinstance(error, Error) and (error.code, error.ref) == (code, ref), error
        assert error.message
        await ws.send(message_frame("still here"))
        assert isinstance(await recv(ws), Ack)


async def test_an_error_event_always_carries_code_message_and_ref(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as ws:
        await ws.send("{")
        error = await recv_raw(ws)
    assert set(error) == {"type", "code", "message", "ref"} and error["ref"] is None


async def test_a_binary_frame_gets_an_error_and_the_connection_stays_usable(
    chat_server: ChatServer,
) -> None:
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as ws:
        await ws.send(message_frame("as bytes").encode())
        error = await recv(ws)
        assert isinstance(error, Error) and error.code == "bad_request"
        await ws.send(message_frame("as text"))
        assert isinstance(await recv(ws), Ack)


async def test_a_frame_above_the_limit_closes_with_1009(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    limit = chat_server.config.limits.max_frame_bytes
    async with joined(chat_server, token) as ws:
        await ws.send("x" * (limit + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await recv(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_a_frame_of_exactly_the_limit_is_accepted(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    limit = chat_server.config.limits.max_frame_bytes
    request = {"type": "history", "room": "general", "pad": ""}
    request["pad"] = "p" * (limit - len(json.dumps(request)))
    frame = json.dumps(request)
    assert len(frame.encode()) == limit
    async with joined(chat_server, token) as ws:
        await ws.send(frame)
        assert isinstance(await recv(ws), HistoryPage)


async def test_a_database_failure_gets_an_error_and_neither_ack_nor_broadcast(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")

    async with joined(chat_server, alice) as ws, joined(chat_server, bob) as other:
        refuse_appends(monkeypatch, chat_server, "disk full")
        await ws.send(message_frame("lost?", client_id="c-1"))
        error = await recv_until(ws, lambda e: not isinstance(e, UserJoin))
        assert isinstance(error, Error) and (error.code, error.ref) == ("unavailable", "c-1")
        monkeypatch.undo()
        await ws.send(message_frame("retry", client_id="c-1"))
        ack = await recv(ws)
        # bob's first message event is the stored one: the failed one never went out.
        seen = await recv_until(other, is_message)
    assert isinstance(ack, Ack) and ack.seq == 1
    assert isinstance(seen, Message) and seen.text == "retry"


async def test_an_acked_message_is_already_in_the_store(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as ws:
        await ws.send(message_frame("durable", client_id="c-1"))
        ack = await recv(ws)
        assert isinstance(ack, Ack)
        stored = await chat_server.service.store.messages_after("general", 0, 10)
    assert [(m.seq, m.client_id, m.text) for m in stored] == [(1, "c-1", "durable")]


async def test_unknown_fields_are_ignored(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    async with connect(ws_url(chat_server)) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token, "client": "wscat"}))
        await recv(ws)
        frame = json.loads(message_frame("hi"))
        frame["priority"] = "high"
        await ws.send(json.dumps(frame))
        assert isinstance(await recv(ws), Ack)


async def test_history_gives_at_most_200_messages_per_page(chat_server: ChatServer) -> None:
    store = chat_server.service.store
    await asyncio.gather(*(store.append("general", "bob", f"c-{n}", f"m{n}") for n in range(205)))
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as ws:
        await ws.send(json.dumps({"type": "history", "room": "general", "limit": 500}))
        page = await recv_until(ws, lambda e: isinstance(e, HistoryPage))
    assert isinstance(page, HistoryPage) and page.has_more
    assert [m.seq for m in page.messages] == list(range(6, 206))


async def test_messages_beyond_the_rate_limit_are_refused_with_rate_limited(
    server_config: ServerConfig,
) -> None:
    async with running(server_config, messages_per_second=0.01, message_burst=3) as server:
        token = await register(server, "alice")
        async with joined(server, token) as a1, joined(server, token) as a2:
            # The bucket is per user: two connections share it.
            for index, ws in enumerate((a1, a2, a1)):
                await ws.send(message_frame("ok", client_id=f"ok-{index}"))
                assert isinstance(await recv_until(ws, is_ack), Ack)
            await a2.send(message_frame("too many", client_id="c-4"))
            refused = await recv_until(a2, lambda e: isinstance(e, Error))
    assert isinstance(refused, Error) and (refused.code, refused.ref) == ("rate_limited", "c-4")


async def test_a_second_user_joining_is_announced(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")
    async with joined(chat_server, alice) as a, joined(chat_server, bob):
        assert await recv(a) == UserJoin("bob")


NASTY_FRAMES = [
    "",
    "null",
    '"just a string"',
    "[" * 5000 + "]" * 5000,
    '{"type": null}',
    '{"type": ["message"]}',
    '{"type": "message", "room": "general", "client_id": "c", "text": "\\ud800"}',
    '{"type": "message", "room": "general", "client_id": "' + "c" * 65 + '", "text": "x"}',
    '{"type": "message", "room": "general", "client_id": 5, "text": "x"}',
    '{"type": "message", "room": ["general"], "client_id": "c", "text": "x"}',
    '{"type": "message", "room": "general", "client_id": "c", "text": "' + "x" * 4001 + '"}',
    '{"type": "history", "room": "general", "before": -1}',
    '{"type": "history", "room": "general", "before": 1e400}',
    '{"type": "history", "room": "general", "before": NaN}',
    '{"type": "history", "room": "general", "limit": true}',
    '{"type": "history", "room": "general", "before": 99999999999999999999999999}',
    '{"type": "typing", "room": "general", "active": 1}',
    '{"type": "create-room", "name": "' + "r" * 65 + '"}',
    '{"type": "create-room", "name": "nul\\u0000"}',
    '{"type": "hello", "token": "x", "since": {"general": -5}}',
    '{"type": "welcome"}',
    '{"type": "ack"}',
    "\x00\x01\x02",
]


async def test_no_frame_closes_the_connection_or_goes_unanswered(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as ws:
        for frame in NASTY_FRAMES:
            await ws.send(frame)
            answer = await recv(ws)
            assert isinstance(answer, Error), (frame[:80], answer)
        await ws.send(message_frame(" " + "x" * 4000 + " "))  # 4000 after trimming: fine
        assert isinstance(await recv(ws), Ack)


async def test_a_token_that_is_not_unicode_is_a_bad_token(chat_server: ChatServer) -> None:
    async with connect(ws_url(chat_server)) as ws:
        await ws.send('{"type": "hello", "token": "\\ud800"}')
        with pytest.raises(ConnectionClosed) as closed:
            await recv(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_an_unexpected_failure_is_answered_and_the_connection_stays(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = await register(chat_server, "alice")

    async def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    async with joined(chat_server, token) as ws:
        monkeypatch.setattr(chat_server.service.store, "entries_before", broken)
        await ws.send(json.dumps({"type": "history", "room": "general"}))
        error = await recv(ws)
        monkeypatch.undo()
        await ws.send(message_frame("after the bug"))
        assert isinstance(await recv(ws), Ack)
    assert isinstance(error, Error) and error.code == "unavailable"
    assert "failed to handle a frame from alice" in caplog.text
