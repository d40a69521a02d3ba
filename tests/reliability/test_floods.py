"""Floods: too many messages, connections that never say hello, frames and bodies too big.

- A user over the rate limit gets ``rate_limited`` (429 with Retry-After over
  HTTP) while another user, chatting at a normal pace at the same moment,
  gets every message through.
- 1,000 WebSocket connections that never say hello are all closed with 1008
  once the hello timeout passes (shrunk to 2 s here; the contract's 10 s is
  the same code path), while a bystander chats normally. The time each took
  is printed for docs/reliability.md.
- A frame or body that *announces* 100 MB is refused after the first 64 KiB
  arrived: the server never waits for (or buffers) the rest.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import struct
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from chat_protocol import Ack, Error, Limits
from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from tests.reliability.clients import register as register_url
from tests.reliability.limited_server import limited_server
from tests.server.wire import (
    RawClient,
    bearer,
    hello,
    http,
    joined,
    message_frame,
    recv_until,
    register,
)

# The contract's burst, with a refill so slow that no token comes back during a
# test: a flooder then gets exactly the burst through, however long a loaded
# machine takes to serve the flood (at the contract's 10/s, each slow second
# would let ten more through).
BURST = Limits().message_burst
SLOW_REFILL = 0.001

HUGE = 100_000_000
# What is sent of the huge payload before waiting for the verdict: over the 64 KiB limit.
SENT = 70_000


@pytest.fixture
def server_config(server_config: ServerConfig) -> ServerConfig:
    """The suite's server config with the message refill at SLOW_REFILL (see there)."""
    server_config.limits = dataclasses.replace(
        server_config.limits, messages_per_second=SLOW_REFILL
    )
    return server_config


async def test_a_flooder_is_rate_limited_while_another_user_chats_unhindered(
    chat_server: ChatServer,
) -> None:
    tokens = {name: await register(chat_server, name) for name in ("flooder", "bystander")}
    async with (
        joined(chat_server, tokens["flooder"]) as flooder,
        joined(chat_server, tokens["bystander"]) as bystander,
    ):

        async def answers(ws: ClientConnection, count: int) -> list[str]:
            kinds = []
            for _ in range(count):
                event = await recv_until(ws, lambda e: isinstance(e, Ack | Error))
                kinds.append("ack" if isinstance(event, Ack) else event.code)  # type: ignore[attr-defined]
            return kinds

        async def flood() -> list[str]:
            for k in range(100):
                await flooder.send(message_frame(f"flood {k}"))
            return await answers(flooder, 100)

        async def chat() -> list[str]:
            kinds = []
            for k in range(8):
                await bystander.send(message_frame(f"calm {k}"))
                kinds += await answers(bystander, 1)
                await asyncio.sleep(0.15)
            return kinds

        flooded, calm = await asyncio.gather(flood(), chat())
    print(f"flooder: {flooded.count('ack')} acked, {flooded.count('rate_limited')} rate_limited")
    assert set(flooded) == {"ack", "rate_limited"} and flooded.count("ack") == BURST
    assert calm == ["ack"] * 8


async def test_an_http_flooder_gets_429_with_retry_after_while_another_user_posts(
    chat_server: ChatServer,
) -> None:
    tokens = {name: await register(chat_server, name) for name in ("flooder", "bystander")}
    async with http(chat_server) as session:

        async def post(token: str, client_id: str) -> tuple[int, str | None]:
            response = await session.post(
                "/api/v1/rooms/general/messages",
                headers=bearer(token),
                json={"client_id": client_id, "text": "hi"},
            )
            return response.status, response.headers.get("Retry-After")

        flooded = await asyncio.gather(*(post(tokens["flooder"], f"f{k}") for k in range(60)))
        calm = await post(tokens["bystander"], "b1")
    statuses = [status for status, _ in flooded]
    assert set(statuses) == {201, 429} and statuses.count(201) == BURST
    assert all(retry and int(retry) >= 1 for status, retry in flooded if status == 429)
    assert calm == (201, None)


@pytest.mark.slow
async def test_a_thousand_connections_that_never_say_hello_are_closed_after_the_timeout(
    tmp_path: Path,
) -> None:
    async with limited_server(tmp_path / "server", hello_timeout=2.0) as server:
        url = server.url.replace("http://", "ws://") + "/ws"
        token = await register_url(server.url, "bystander")
        rss_before = server.rss_bytes()
        gate = asyncio.Semaphore(100)  # the listen backlog is 128

        async def silent() -> tuple[int | None, float]:
            async with gate:
                ws = await connect(url, open_timeout=20)
            opened = time.monotonic()
            try:
                await asyncio.wait_for(ws.recv(), 20)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                return code, time.monotonic() - opened
            finally:
                await ws.close()
            return None, time.monotonic() - opened

        rss_peak = rss_before

        async def sample_rss() -> None:
            nonlocal rss_peak
            while True:
                rss_peak = max(rss_peak, server.rss_bytes())
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample_rss())
        silents = [asyncio.create_task(silent()) for _ in range(1000)]
        async with connect(url) as ws:
            await hello(ws, token)
            await ws.send(message_frame("still served"))
            assert isinstance(await recv_until(ws, lambda e: isinstance(e, Ack)), Ack)
        results = await asyncio.gather(*silents)
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
    codes = [code for code, _ in results]
    waits = sorted(seconds for _, seconds in results)
    print(
        f"1000 silent sockets: closed after {waits[0]:.2f}-{waits[-1]:.2f} s "
        f"(median {waits[500]:.2f}); server RSS {rss_before / 2**20:.0f} -> "
        f"{rss_peak / 2**20:.0f} MiB at the peak"
    )
    assert codes == [1008] * 1000


async def test_a_frame_announcing_100_mb_is_refused_before_it_arrives(
    chat_server: ChatServer,
) -> None:
    token = await register(chat_server, "alice")
    client = await RawClient.connect(chat_server)
    try:
        await client.send_text(json.dumps({"type": "hello", "token": token}))
        assert (await client.read_text())["type"] == "welcome"
        # A masked text frame header announcing HUGE bytes (RFC 6455 5.2), then part of it.
        header = bytes([0x81, 0x80 | 127]) + struct.pack("!Q", HUGE) + b"\x00\x00\x00\x00"
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(client.sock, header + b"x" * SENT)
        await client.read_to_end(answer=False)
    finally:
        client.close()
    assert client.protocol.close_rcvd is not None
    assert client.protocol.close_rcvd.code == Close(1009, "").code


async def test_a_body_announcing_100_mb_is_refused_with_413_before_it_arrives(
    chat_server: ChatServer,
) -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", chat_server.port))
        head = (
            "POST /api/v1/register HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {HUGE}\r\n\r\n"
        ).encode()
        await loop.sock_sendall(sock, head + b" " * SENT)
        answer = await asyncio.wait_for(loop.sock_recv(sock, 4096), 10)
    finally:
        sock.close()
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code":"too_large"' in answer.replace(b" ", b"")
