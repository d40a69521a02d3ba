"""The HTTP API: accounts, tokens, rooms, messages, typing, presence, health and limits."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest

from chat_protocol import Error, Message
from chat_server.app import ChatServer
from chat_server.config import Registration, ServerConfig
from tests.server.wire import (
    PASSWORD,
    bearer,
    http,
    joined,
    json_bearer,
    message_frame,
    recv_until,
    refuse_appends,
    register,
    running,
)

ALICE = {"username": "alice", "password": PASSWORD}


async def post_json(
    session: aiohttp.ClientSession, path: str, body: object, token: str | None = None
) -> tuple[int, dict[str, object]]:
    """POST JSON; return the status and the JSON body ({} for an empty one)."""
    headers = bearer(token) if token else {}
    async with session.post(path, json=body, headers=headers) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else {}


async def get_json(
    session: aiohttp.ClientSession, path: str, token: str | None = None
) -> tuple[int, dict[str, object]]:
    headers = bearer(token) if token else {}
    async with session.get(path, headers=headers) as response:
        return response.status, await response.json()


async def test_health_answers_without_a_token(chat_server: ChatServer) -> None:
    async with http(chat_server) as session:
        status, body = await get_json(session, "/api/v1/health")
    assert status == 200
    assert body["status"] == "ok" and body["version"] == chat_server.config.version


async def test_register_returns_a_token_that_works(chat_server: ChatServer) -> None:
    async with http(chat_server) as session:
        status, body = await post_json(session, "/api/v1/register", ALICE)
        assert status == 201 and body["username"] == "alice"
        token = body["token"]
        assert isinstance(token, str) and len(token) >= 22  # >= 128 bits, url-safe base64
        status, rooms = await get_json(session, "/api/v1/rooms", token)
    assert status == 200 and rooms == {"rooms": [{"name": "general", "last_seq": 0}]}


async def test_register_refuses_a_taken_name_case_insensitively(chat_server: ChatServer) -> None:
    async with http(chat_server) as session:
        await post_json(session, "/api/v1/register", ALICE)
        status, body = await post_json(
            session, "/api/v1/register", {"username": "ALICE", "password": PASSWORD}
        )
    assert status == 409 and body["code"] == "username_taken"


@pytest.mark.parametrize(
    "body",
    [
        {"username": "", "password": PASSWORD},
        {"username": "a" * 33, "password": PASSWORD},
        {"username": "with space", "password": PASSWORD},
        {"username": "alice", "password": "short"},
        {"username": "alice", "password": "x" * 1025},
        {"username": "alice"},
        ["alice", PASSWORD],
    ],
)
async def test_register_refuses_invalid_input_with_400(
    chat_server: ChatServer, body: object
) -> None:
    async with http(chat_server) as session:
        status, answer = await post_json(session, "/api/v1/register", body)
    assert status == 400 and answer["code"] == "bad_request" and answer["message"]


async def test_register_is_refused_with_403_when_the_operator_closed_it(
    server_config: ServerConfig,
) -> None:
    server_config.registration = Registration.CLOSED
    async with running(server_config) as server, http(server) as session:
        status, body = await post_json(session, "/api/v1/register", ALICE)
    assert status == 403 and body["code"] == "registration_closed"


async def test_login_gives_a_new_token_for_the_right_password(chat_server: ChatServer) -> None:
    await register(chat_server, "Alice")
    async with http(chat_server) as session:
        status, body = await post_json(
            session, "/api/v1/login", {"username": "alice", "password": PASSWORD}
        )
        assert status == 200 and body["username"] == "Alice"
        status, _ = await get_json(session, "/api/v1/presence", str(body["token"]))
    assert status == 200


async def test_login_answers_unknown_user_and_wrong_password_the_same(
    chat_server: ChatServer,
) -> None:
    await register(chat_server, "alice")
    async with http(chat_server) as session:
        wrong = await post_json(
            session, "/api/v1/login", {"username": "alice", "password": "not the password"}
        )
        unknown = await post_json(
            session, "/api/v1/login", {"username": "nobody", "password": PASSWORD}
        )
    assert wrong == unknown
    assert wrong[0] == 401


async def test_ten_failed_logins_block_that_name_until_the_window_passes(
    server_config: ServerConfig,
) -> None:
    async with running(server_config, login_failures=3, login_window_seconds=600) as server:
        await register(server, "alice")
        await register(server, "bob")
        wrong = {"username": "alice", "password": "not the password"}
        async with http(server) as session:
            for _ in range(3):
                assert (await post_json(session, "/api/v1/login", wrong))[0] == 401
            async with session.post("/api/v1/login", json=ALICE) as blocked:
                assert blocked.status == 429
                assert int(blocked.headers["Retry-After"]) > 0
            # Another name is not affected.
            other = {"username": "bob", "password": PASSWORD}
            assert (await post_json(session, "/api/v1/login", other))[0] == 200


async def test_parallel_guesses_cannot_outrun_the_login_throttle(
    server_config: ServerConfig,
) -> None:
    async with running(server_config, login_failures=10) as server:
        await register(server, "alice")
        wrong = {"username": "alice", "password": "not the password"}
        async with http(server) as session:
            answers = await asyncio.gather(
                *(post_json(session, "/api/v1/login", wrong) for _ in range(15))
            )
    statuses = sorted(status for status, _ in answers)
    assert statuses == [401] * 10 + [429] * 5


async def test_a_successful_login_does_not_count_as_a_failure(
    server_config: ServerConfig,
) -> None:
    async with running(server_config, login_failures=2) as server:
        await register(server, "alice")
        wrong = {"username": "alice", "password": "not the password"}
        async with http(server) as session:
            statuses = [
                (await post_json(session, "/api/v1/login", body))[0]
                for body in (wrong, ALICE, wrong, ALICE)
            ]
    assert statuses == [401, 200, 401, 429]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/rooms"),
        ("POST", "/api/v1/rooms"),
        ("GET", "/api/v1/rooms/general/messages"),
        ("POST", "/api/v1/rooms/general/messages"),
        ("POST", "/api/v1/rooms/general/typing"),
        ("GET", "/api/v1/events"),
        ("GET", "/api/v1/presence"),
        ("POST", "/api/v1/logout"),
    ],
)
async def test_calls_without_a_valid_token_get_401(
    chat_server: ChatServer, method: str, path: str
) -> None:
    async with http(chat_server) as session:
        for headers in ({}, bearer("forged"), {"Authorization": "Basic YTpi"}):
            async with session.request(method, path, headers=headers, json={}) as response:
                assert response.status == 401
                assert response.headers["WWW-Authenticate"] == "Bearer"
                assert (await response.json())["code"] == "unauthorized"


async def test_logout_revokes_the_token_at_once_and_closes_its_sockets(
    chat_server: ChatServer,
) -> None:
    token = await register(chat_server, "alice")
    async with http(chat_server) as session, joined(chat_server, token) as ws:
        async with session.post("/api/v1/logout", headers=bearer(token)) as response:
            assert response.status == 204
        await ws.wait_closed()
        assert ws.close_code == 4401
        status, _ = await get_json(session, "/api/v1/rooms", token)
    assert status == 401


async def test_logout_leaves_the_users_other_tokens_working(chat_server: ChatServer) -> None:
    first = await register(chat_server, "alice")
    async with http(chat_server) as session:
        _, body = await post_json(session, "/api/v1/login", ALICE)
        second = str(body["token"])
        async with session.post("/api/v1/logout", headers=bearer(first)):
            pass
        status, _ = await get_json(session, "/api/v1/rooms", second)
    assert status == 200


async def test_creating_a_room_is_201_then_200(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    async with http(chat_server) as session, joined(chat_server, token) as ws:
        created = await post_json(session, "/api/v1/rooms", {"name": "random"}, token)
        again = await post_json(session, "/api/v1/rooms", {"name": "random"}, token)
        bad = await post_json(session, "/api/v1/rooms", {"name": "Not Valid"}, token)
        announced = await recv_until(ws, lambda e: e.type == "room")
    assert created == (201, {"name": "random", "last_seq": 0})
    assert again == (200, {"name": "random", "last_seq": 0})
    assert bad[0] == 400
    assert announced.to_wire() == {"type": "room", "name": "random", "last_seq": 0}


async def test_posting_a_message_is_201_and_a_retry_is_200_with_the_same_body(
    chat_server: ChatServer,
) -> None:
    token = await register(chat_server, "alice")
    body = {"client_id": "c-1", "text": "over http"}
    async with http(chat_server) as session, joined(chat_server, token) as ws:
        first = await post_json(session, "/api/v1/rooms/general/messages", body, token)
        retry = await post_json(session, "/api/v1/rooms/general/messages", body, token)
        live = await recv_until(ws, lambda e: isinstance(e, Message))
        status, page = await get_json(session, "/api/v1/rooms/general/messages?after=0", token)
    assert first[0] == 201 and retry == (200, first[1])
    assert set(first[1]) == {"seq", "ts"} and first[1]["seq"] == 1
    assert isinstance(live, Message) and (live.author, live.text) == ("alice", "over http")
    assert status == 200 and page["has_more"] is False
    assert page["messages"] == [
        {
            "room": "general",
            "seq": 1,
            "client_id": "c-1",
            "author": "alice",
            "text": "over http",
            "ts": first[1]["ts"],
        }
    ]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/v1/rooms/general/messages", {"client_id": "c-1"}, 400),
        ("/api/v1/rooms/general/messages", {"client_id": "c-1", "text": " "}, 400),
        ("/api/v1/rooms/general/messages", {"client_id": "c-1", "text": "x" * 4001}, 400),
        ("/api/v1/rooms/nowhere/messages", {"client_id": "c-1", "text": "x"}, 404),
        ("/api/v1/rooms/Bad%20Room/messages", {"client_id": "c-1", "text": "x"}, 400),
        ("/api/v1/rooms/general/typing", {"active": "yes"}, 400),
        ("/api/v1/rooms/nowhere/typing", {"active": True}, 404),
    ],
)
async def test_bad_posts_are_refused_with_a_clear_status(
    chat_server: ChatServer, path: str, body: object, status: int
) -> None:
    token = await register(chat_server, "alice")
    async with http(chat_server) as session:
        answer = await post_json(session, path, body, token)
    assert answer[0] == status and answer[1]["message"]


async def test_a_body_that_is_not_json_is_400(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    async with (
        http(chat_server) as session,
        session.post(
            "/api/v1/rooms/general/messages", data=b"{not json", headers=json_bearer(token)
        ) as response,
    ):
        assert response.status == 400


async def test_a_body_above_the_limit_is_413_and_one_at_the_limit_is_not(
    chat_server: ChatServer,
) -> None:
    token = await register(chat_server, "alice")
    limit = chat_server.config.limits.max_frame_bytes
    body = {"client_id": "c-1", "text": "fits", "pad": ""}
    body["pad"] = "p" * (limit - len(json.dumps(body)))
    exact = json.dumps(body).encode()
    assert len(exact) == limit
    async with http(chat_server) as session:
        path = "/api/v1/rooms/general/messages"
        async with session.post(path, data=exact + b" ", headers=json_bearer(token)) as response:
            assert response.status == 413
            assert (await response.json())["code"] == "too_large"
        async with session.post(path, data=exact, headers=json_bearer(token)) as response:
            assert response.status == 201


async def test_messages_can_be_paged_forwards_and_backwards(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    async with http(chat_server) as session:
        for number in range(1, 6):
            await post_json(
                session,
                "/api/v1/rooms/general/messages",
                {"client_id": f"c-{number}", "text": f"m{number}"},
                token,
            )

        async def page(query: str) -> tuple[list[object], object]:
            status, body = await get_json(session, f"/api/v1/rooms/general/messages?{query}", token)
            assert status == 200
            messages = body["messages"]
            assert isinstance(messages, list)
            return [m["seq"] for m in messages], body["has_more"]

        assert await page("after=1&limit=2") == ([2, 3], True)
        assert await page("after=3&limit=2") == ([4, 5], False)
        assert await page("before=5&limit=2") == ([3, 4], True)
        assert await page("before=3&limit=5") == ([1, 2], False)
        assert await page("limit=2") == ([4, 5], True)
        assert await page("after=0&limit=1000") == ([1, 2, 3, 4, 5], False)
        for bad in ("after=-1", "after=x", "before=1&after=1", "limit=0"):
            status, _ = await get_json(session, f"/api/v1/rooms/general/messages?{bad}", token)
            assert status == 400, bad


async def test_typing_over_http_is_204_and_reaches_socket_clients(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")
    async with http(chat_server) as session, joined(chat_server, bob) as ws:
        status, _ = await post_json(
            session, "/api/v1/rooms/general/typing", {"active": True}, alice
        )
        typing = await recv_until(ws, lambda e: e.type == "typing")
    assert status == 204
    assert typing.to_wire() == {
        "type": "typing",
        "room": "general",
        "user": "alice",
        "active": True,
    }


async def test_presence_lists_the_users_online(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")
    async with http(chat_server) as session, joined(chat_server, bob):
        status, body = await get_json(session, "/api/v1/presence", alice)
    assert status == 200 and body == {"online": ["bob"]}


async def test_posting_beyond_the_rate_limit_is_429_with_retry_after(
    server_config: ServerConfig,
) -> None:
    async with running(server_config, messages_per_second=0.01, message_burst=2) as server:
        token = await register(server, "alice")
        async with http(server) as session:
            path = "/api/v1/rooms/general/messages"
            for number in range(2):
                body = {"client_id": f"c-{number}", "text": "x"}
                assert (await post_json(session, path, body, token))[0] == 201
            async with session.post(
                path, json={"client_id": "c-3", "text": "x"}, headers=bearer(token)
            ) as response:
                assert response.status == 429
                assert int(response.headers["Retry-After"]) >= 1
                assert (await response.json())["code"] == "rate_limited"


async def test_a_database_failure_is_503_and_nothing_is_stored(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = await register(chat_server, "alice")
    refuse_appends(monkeypatch, chat_server, "database is locked")
    async with http(chat_server) as session:
        status, body = await post_json(
            session, "/api/v1/rooms/general/messages", {"client_id": "c-1", "text": "x"}, token
        )
    assert status == 503 and body["code"] == "unavailable"
    assert await chat_server.service.store.messages_after("general", 0, 10) == []
    # Answered, and nothing left over on the console ("exception was never retrieved").
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_an_unknown_path_is_a_json_404(chat_server: ChatServer) -> None:
    async with http(chat_server) as session, session.get("/api/v1/nothing") as response:
        assert response.status == 404
        assert (await response.json())["code"] == "not_found"


async def test_a_page_over_http_holds_at_most_200_messages(chat_server: ChatServer) -> None:
    store = chat_server.service.store
    await asyncio.gather(*(store.append("general", "bob", f"c-{n}", f"m{n}") for n in range(205)))
    token = await register(chat_server, "alice")
    async with http(chat_server) as session:
        status, body = await get_json(
            session, "/api/v1/rooms/general/messages?after=0&limit=1000", token
        )
    messages = body["messages"]
    assert status == 200 and isinstance(messages, list) and body["has_more"] is True
    assert [m["seq"] for m in messages] == list(range(1, 201))


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/v1/register", '{"username": "zed", "password": "abcdefgh\\ud800"}', 400),
        # A password no account can have: simply wrong.
        ("/api/v1/login", '{"username": "alice", "password": "abcdefgh\\ud800"}', 401),
        ("/api/v1/rooms/general/messages", '{"client_id": "c-1", "text": "\\udfff"}', 400),
    ],
)
async def test_text_that_is_not_unicode_is_refused_without_harm(
    chat_server: ChatServer, path: str, body: str, status: int
) -> None:
    token = await register(chat_server, "alice")
    async with (
        http(chat_server) as session,
        session.post(path, data=body.encode(), headers=json_bearer(token)) as response,
    ):
        assert response.status == status
        assert (await response.json())["message"]


async def test_the_message_rate_is_shared_by_http_and_socket(server_config: ServerConfig) -> None:
    async with running(server_config, messages_per_second=0.01, message_burst=2) as server:
        token = await register(server, "alice")
        async with http(server) as session, joined(server, token) as ws:
            path = "/api/v1/rooms/general/messages"
            assert (await post_json(session, path, {"client_id": "h", "text": "x"}, token))[
                0
            ] == 201
            await ws.send(json.dumps({"type": "message", "room": "general",
                                      "client_id": "w", "text": "x"}))  # fmt: skip
            assert (await recv_until(ws, lambda e: e.type == "ack")).type == "ack"
            status, body = await post_json(session, path, {"client_id": "h2", "text": "x"}, token)
    assert status == 429 and body["code"] == "rate_limited"


async def test_a_refusal_reads_the_same_over_the_socket_and_over_http(
    chat_server: ChatServer,
) -> None:
    # The store refuses the message (there is no such room); both transports
    # answer through the one mapping from a refusal to the contract's code.
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as ws:
        await ws.send(message_frame("hello?", room="nowhere", client_id="c-1"))
        refused = await recv_until(ws, lambda e: isinstance(e, Error))
    async with http(chat_server) as session:
        status, body = await post_json(
            session, "/api/v1/rooms/nowhere/messages", {"client_id": "c-2", "text": "x"}, token
        )
    assert isinstance(refused, Error) and (refused.code, refused.ref) == ("unknown_room", "c-1")
    assert (status, body) == (404, {"code": refused.code, "message": refused.message})
