"""What the servers of one chat count and remember together: limits, the long poll's memory, files.

Three servers: a user's rate limit, the login throttle and the registration
limit per address are counted once for the chat, not once per server; a
long poll may go to any server without answering at once for nothing or
missing a read; a file uploaded through one server is fetched through
another (one shared folder).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import pytest

from tests.cluster.conftest import Cluster, Node, make_users
from tests.server.test_limits import backlog_drains_in_order
from tests.server.wire import PASSWORD, bearer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


async def post_message(session: aiohttp.ClientSession, node: Node, token: str) -> int:
    async with session.post(
        f"{node.url}/api/v1/rooms/general/messages",
        json={"text": "hello", "client_id": str(uuid.uuid4())},
        headers=bearer(token),
    ) as response:
        if response.status == 429:
            assert int(response.headers["Retry-After"]) >= 1
        return response.status


async def test_the_rate_limit_is_counted_once_for_all_servers(cluster: Cluster) -> None:
    # Five at once, then one every ten seconds: the test's few seconds see five.
    nodes = cluster.start(3, limits={"messages_per_second": 0.1, "message_burst": 5})
    tokens = await make_users(nodes[0], ["alice"])
    async with aiohttp.ClientSession() as session:
        statuses = [await post_message(session, nodes[n % 3], tokens["alice"]) for n in range(15)]
    assert statuses.count(201) == 5, statuses
    assert statuses.count(429) == 10, statuses


async def test_a_pipelined_backlog_is_stored_in_order_under_the_shared_limit(
    cluster: Cluster,
) -> None:
    # The limit counted in Redis (admit) keeps the socket's rule too: the
    # writes behind a rate-limited one wait until it comes again.
    nodes = cluster.start(2, limits={"messages_per_second": 50, "message_burst": 2})
    tokens = await make_users(nodes[0], ["alice"])
    await backlog_drains_in_order(nodes[1], tokens["alice"], rate=50)


async def test_the_login_throttle_is_counted_once_for_all_servers(cluster: Cluster) -> None:
    nodes = cluster.start(3)
    await make_users(nodes[0], ["alice"])
    async with aiohttp.ClientSession() as session:

        async def login(node: Node, password: str) -> int:
            async with session.post(
                f"{node.url}/api/v1/login", json={"username": "alice", "password": password}
            ) as response:
                return response.status

        # The contract's ten failures, spread over the three servers...
        statuses = [await login(nodes[n % 3], "wrong password!") for n in range(10)]
        assert statuses == [401] * 10
        # ...and every server refuses the next try, even the right password.
        for node in nodes:
            assert await login(node, PASSWORD) == 429


async def test_parallel_guesses_over_all_servers_get_ten_tries_in_all(cluster: Cluster) -> None:
    nodes = cluster.start(3)
    await make_users(nodes[0], ["alice"])
    async with aiohttp.ClientSession() as session:

        async def guess(node: Node) -> int:
            async with session.post(
                f"{node.url}/api/v1/login", json={"username": "alice", "password": "guess guess"}
            ) as response:
                return response.status

        statuses = await asyncio.gather(*(guess(nodes[n % 3]) for n in range(24)))
    assert statuses.count(401) == 10, statuses
    assert statuses.count(429) == 14, statuses


async def test_registrations_per_address_are_counted_once(cluster: Cluster) -> None:
    # Behind a trusted proxy (nginx on this machine), the client is the
    # address it forwards, counted once for all servers.
    nodes = cluster.start(
        3,
        args=(
            *("--registration-burst", "4", "--registration-rate", "0.5"),
            *("--trusted-proxy", "127.0.0.1"),
        ),
    )
    async with aiohttp.ClientSession() as session:

        async def register(number: int, client: str) -> int:
            async with session.post(
                f"{nodes[number % 3].url}/api/v1/register",
                json={"username": f"user{client[-1]}x{number}", "password": PASSWORD},
                headers={"X-Forwarded-For": client},
            ) as response:
                return response.status

        statuses = [await register(n, "10.0.0.1") for n in range(9)]
        assert statuses.count(201) == 4, statuses
        # Another client behind the same proxy has its own four.
        others = [await register(n, "10.0.0.2") for n in range(5)]
        assert others.count(201) == 4, others


async def poll(
    session: aiohttp.ClientSession, node: Node, token: str, since: str, wait: float
) -> dict[str, Any]:
    async with session.get(
        f"{node.url}/api/v1/events",
        params={"since": since, "wait": str(wait), "v": "2"},
        headers=bearer(token),
    ) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def test_a_long_poll_remembers_across_servers(cluster: Cluster) -> None:
    a, b, c = cluster.start(3)
    tokens = await make_users(a, ["alice", "bob"])
    async with aiohttp.ClientSession() as session:
        first = await poll(session, a, tokens["bob"], "general:0", wait=0)
        since = first["since"]
        # Nothing changed: the same token's poll on another server waits its
        # whole time instead of answering at once (it knows what a told it)...
        waiting = asyncio.ensure_future(poll(session, b, tokens["bob"], since, wait=10))
        await asyncio.sleep(0)
        # ...and wakes for a message posted on a third server.
        async with session.post(
            f"{c.url}/api/v1/rooms/general/messages",
            json={"text": "wake", "client_id": "w-1"},
            headers=bearer(tokens["alice"]),
        ) as response:
            assert response.status == 201
            seq = (await response.json())["seq"]
        answer = await asyncio.wait_for(waiting, 15)
        assert [m["text"] for m in answer["messages"]] == ["wake"]
        # Alice reads it on a; bob's next poll, on c, tells him (a read
        # of a public room goes to the reader's own devices only).
        alice_poll = await poll(session, b, tokens["alice"], answer["since"], wait=0)
        async with session.post(
            f"{a.url}/api/v1/rooms/general/read",
            json={"seq": seq},
            headers=bearer(tokens["alice"]),
        ) as response:
            assert response.status == 204
        later = await poll(session, c, tokens["alice"], alice_poll["since"], wait=10)
        assert later["reads"] == {"general": {"alice": seq}}


async def test_a_file_uploaded_through_one_server_is_fetched_through_another(
    cluster: Cluster,
) -> None:
    a, b = cluster.start(2)
    tokens = await make_users(a, ["alice"])
    body = b"shared folder bytes " * 1000
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{a.url}/api/v1/files",
            params={"name": "notes.txt"},
            data=body,
            headers={**bearer(tokens["alice"]), "Content-Type": "text/plain"},
        ) as response:
            assert response.status == 201, await response.text()
            file_id = (await response.json())["id"]
        async with session.get(
            f"{b.url}/api/v1/files/{file_id}", headers=bearer(tokens["alice"])
        ) as response:
            assert response.status == 200
            assert await response.read() == body


async def test_a_long_poll_hears_typing_presence_and_dms_from_other_servers(
    cluster: Cluster,
) -> None:
    a, b = cluster.start(2)
    tokens = await make_users(a, ["alice", "bob"])
    async with aiohttp.ClientSession() as session:
        first = await poll(session, b, tokens["bob"], "general:0", wait=0)
        assert first["online"] == ["bob"]
        # Alice starts polling on a: bob's poll on b sees her online.
        await poll(session, a, tokens["alice"], "general:0", wait=0)
        seen = await poll(session, b, tokens["bob"], first["since"], wait=10)
        assert seen["online"] == ["alice", "bob"]
        # She types on a: bob's poll on b wakes with it.
        waiting = asyncio.ensure_future(poll(session, b, tokens["bob"], seen["since"], wait=10))
        async with session.post(
            f"{a.url}/api/v1/rooms/general/typing",
            json={"active": True},
            headers=bearer(tokens["alice"]),
        ) as response:
            assert response.status == 204
        typing = await asyncio.wait_for(waiting, 15)
        assert typing["typing"] == {"general": ["alice"]}
        # A direct room opened on a: bob's next poll on b lists it and its message.
        async with session.post(
            f"{a.url}/api/v1/dms", json={"users": ["bob"]}, headers=bearer(tokens["alice"])
        ) as response:
            assert response.status == 201, await response.text()
            dm = (await response.json())["name"]
        async with session.post(
            f"{a.url}/api/v1/rooms/{dm}/messages",
            json={"text": "psst", "client_id": "dm-1"},
            headers=bearer(tokens["alice"]),
        ) as response:
            assert response.status == 201
        news = await poll(session, b, tokens["bob"], typing["since"], wait=10)
        if not news["rooms"]:
            news = await poll(session, b, tokens["bob"], news["since"], wait=10)
        assert [room["name"] for room in news["rooms"]] == [dm]
        private = await poll(session, b, tokens["bob"], f"{news['since']},{dm}:0", wait=10)
        assert [m["text"] for m in private["messages"]] == ["psst"]
