"""``GET /api/v1/search`` over real HTTP against a running server.

Messages go in over the socket and over HTTP, as users send them; the index
itself is tested on both engines in test_search_store.py.
"""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp
import pytest

from chat_protocol import Ack
from chat_protocol.search import DEFAULT_LIMIT, MAX_LIMIT
from chat_server.app import ChatServer
from tests.server.wire import (
    acting,
    bearer,
    http,
    joined,
    message_frame,
    recv_until,
    register,
)


async def _search(
    session: aiohttp.ClientSession, token: str | None, **params: object
) -> tuple[int, dict[str, object]]:
    headers = bearer(token) if token else {}
    query = urlencode({key: str(value) for key, value in params.items()})
    async with session.get(f"/api/v1/search?{query}", headers=headers) as response:
        return response.status, await response.json()


def _found(body: dict[str, object]) -> list[tuple[str, int, str]]:
    results = body["results"]
    assert isinstance(results, list)
    return [(item["room"], item["seq"], item["text"]) for item in results]


async def test_a_message_sent_over_the_socket_is_found_once_acked(
    chat_server: ChatServer,
) -> None:
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")
    async with joined(chat_server, alice) as ws, http(chat_server) as session:
        await ws.send(message_frame("Lunch at the Café Müller?"))
        await recv_until(ws, lambda event: isinstance(event, Ack))
        # Another user finds it at once, by prefixes, without case or accents.
        status, body = await _search(session, bob, q="cafe MULL")
    assert status == 200
    (result,) = body["results"]  # type: ignore[misc]
    assert result == {
        "room": "general",
        "seq": 1,
        "client_id": result["client_id"],
        "author": "alice",
        "text": "Lunch at the Café Müller?",
        "ts": result["ts"],
    }


async def test_results_are_newest_first_across_rooms_and_page_within_one(
    chat_server: ChatServer,
) -> None:
    token = await register(chat_server, "alice")
    store = chat_server.service.store
    await store.ensure_room("dev")
    for n in range(1, 6):
        await store.append("general", "alice", f"g{n}", f"release {n} 東京")
    await store.append("dev", "alice", "d1", "release notes 東京都")
    async with http(chat_server) as session:
        _, everywhere = await _search(session, token, q="release")
        _, in_general = await _search(session, token, q="release", room="general", limit=2)
        _, older = await _search(session, token, q="release", room="general", before=4, limit=2)
        _, cjk = await _search(session, token, q="京都")
    assert _found(everywhere)[0] == ("dev", 1, "release notes 東京都")
    assert [seq for room, seq, _ in _found(everywhere) if room == "general"] == [5, 4, 3, 2, 1]
    assert [seq for _, seq, _ in _found(in_general)] == [5, 4]
    assert [seq for _, seq, _ in _found(older)] == [3, 2]
    assert _found(cjk) == [("dev", 1, "release notes 東京都")]


async def test_limit_defaults_to_20_and_is_at_most_50(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    store = chat_server.service.store
    for n in range(MAX_LIMIT + 5):
        await store.append("general", "alice", f"c{n}", f"standup {n}")
    async with http(chat_server) as session:
        _, default = await _search(session, token, q="standup")
        _, most = await _search(session, token, q="standup", limit=500)
    assert len(_found(default)) == DEFAULT_LIMIT
    assert len(_found(most)) == MAX_LIMIT
    assert _found(most)[0][1] == MAX_LIMIT + 5


async def test_bad_searches_are_clear_refusals(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    async with http(chat_server) as session:
        no_word = await _search(session, token, q="?! ... --")
        no_q = await _search(session, token)
        before_alone = await _search(session, token, q="x", before=3)
        zero = await _search(session, token, q="x", limit=0)
        negative = await _search(session, token, q="x", room="general", before=-1)
        too_many = await _search(session, token, q=" ".join(f"w{n}" for n in range(40)))
        bad_room = await _search(session, token, q="x", room="Not A Room")
        unknown = await _search(session, token, q="x", room="nowhere")
        anonymous = await _search(session, None, q="x")
    for status, body in (no_word, no_q, before_alone, zero, negative, too_many, bad_room):
        assert (status, body["code"]) == (400, "bad_request"), body
    assert "no word" in str(no_word[1]["message"])
    assert "before needs room" in str(before_alone[1]["message"])
    assert (unknown[0], unknown[1]["code"]) == (404, "unknown_room")
    assert (anonymous[0], anonymous[1]["code"]) == (401, "unauthorized")


async def test_nothing_found_is_an_empty_list(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    await chat_server.service.store.append("general", "alice", "c1", "hello")
    async with http(chat_server) as session:
        assert await _search(session, token, q="goodbye") == (200, {"results": []})
        assert await _search(session, token, q="hello", room="general", before=1) == (
            200,
            {"results": []},
        )


@pytest.mark.parametrize("via", ["socket", "http"])
async def test_an_edited_message_is_found_by_its_new_words_only_and_a_deleted_one_never(
    chat_server: ChatServer, via: str
) -> None:
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")
    async with acting(chat_server, alice, via) as writer, http(chat_server) as session:
        _, seq = await writer.write("message", "general", text="the quarterly numbers")
        assert _found((await _search(session, bob, q="quarterly"))[1]) == [
            ("general", seq, "the quarterly numbers")
        ]
        assert await writer.write("edit", "general", target=seq, text="the yearly numbers") == (
            "ack",
            seq + 1,
        )
        assert _found((await _search(session, bob, q="quarterly"))[1]) == []
        assert _found((await _search(session, bob, q="yearly"))[1]) == [
            ("general", seq, "the yearly numbers")
        ]
        assert (await writer.write("delete", "general", target=seq))[0] == "ack"
        for words in ("yearly", "numbers", "quarterly"):
            assert _found((await _search(session, bob, q=words))[1]) == [], words


async def test_a_non_members_search_never_returns_a_private_rooms_message(
    chat_server: ChatServer,
) -> None:
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")
    async with acting(chat_server, alice, "http") as writer, http(chat_server) as session:
        assert (await writer.create("board", private=True))[0] == "room"
        await writer.write("message", "board", text="merger codename bluebird")
        await writer.write("message", "general", text="bluebird seen in the park")
        # A member finds both; the non-member only the public one, and the
        # private room reads as a room that does not exist.
        assert {hit[0] for hit in _found((await _search(session, alice, q="bluebird"))[1])} == {
            "board",
            "general",
        }
        assert _found((await _search(session, bob, q="bluebird"))[1]) == [
            ("general", 1, "bluebird seen in the park")
        ]
        status, body = await _search(session, bob, q="bluebird", room="board")
        missing, nothing = await _search(session, bob, q="bluebird", room="no-such-room")
        assert (status, body["code"]) == (missing, nothing["code"]) == (404, "unknown_room")
