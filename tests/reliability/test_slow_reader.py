"""A client that stops reading is closed; the server's memory and everyone else are unaffected.

The real server process (shrunk rate limit only, so that one writer can
flood; the queue limits are the contract's 1000 events / 1 MiB) serves:

- ``slow``: says hello, then never reads again (a tiny receive buffer);
- ``writer``: sends 4000-character messages as fast as they are acked;
- ``pinger``: sends a short message every 50 ms and times each ack;
- ``listener``: reads everything.

The pinger runs alone first (the baseline), then through the flood. The
test asserts that the slow reader is dropped (its leave is announced, its
socket ends, with 1008 "too slow" when the close frame gets through), that
the listener and the pinger got every message, and that the server's
resident memory grew by far less than what was pushed at the slow reader.
The latencies are printed for docs/reliability.md: no timing assertion.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Close

from chat_protocol import Ack, Message
from tests.reliability.clients import register
from tests.reliability.limited_server import RunningServer, limited_server
from tests.server.wire import RawClient, hello, message_frame, recv_until
from tests.waiting import eventually

TEXT = "x" * 4000
# Messages the writer sends after the slow reader is gone: memory must not follow them.
AFTERWARDS = 400


async def ping(ws: ClientConnection, stop: asyncio.Event, latencies: list[float]) -> None:
    """Send a short message every 50 ms until ``stop``; record each ack's delay."""
    while not stop.is_set():
        started = time.perf_counter()
        await ws.send(message_frame("ping"))
        await recv_until(ws, lambda e: isinstance(e, Ack))
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)


def summary(latencies: list[float]) -> str:
    ms = sorted(1000 * x for x in latencies)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    return f"n={len(ms)} p50={statistics.median(ms):.1f} ms p95={p95:.1f} ms max={ms[-1]:.1f} ms"


@pytest.mark.slow
async def test_a_reader_that_stops_is_closed_and_nobody_else_notices(tmp_path: Path) -> None:
    async with limited_server(
        tmp_path / "server", messages_per_second=1000, message_burst=1000
    ) as server:
        await _scenario(server)


async def _scenario(server: RunningServer) -> None:
    ws_url = server.url.replace("http://", "ws://") + "/ws"
    tokens = {
        name: await register(server.url, name) for name in ("slow", "writer", "pinger", "listener")
    }
    heard: list[Message] = []
    left: list[str] = []
    async with (
        connect(ws_url, max_queue=None) as listener,
        connect(ws_url, max_queue=None) as pinger,
        connect(ws_url, max_queue=None) as writer,
    ):
        await hello(listener, tokens["listener"])
        await hello(pinger, tokens["pinger"])
        await hello(writer, tokens["writer"])

        async def listen() -> None:
            async for frame in listener:
                event = json.loads(frame)
                if event["type"] == "message":
                    heard.append(Message.from_wire(event))
                elif event["type"] == "user-leave":
                    left.append(event["user"])

        listening = asyncio.create_task(listen())
        idle: list[float] = []
        stop = asyncio.Event()
        pinging = asyncio.create_task(ping(pinger, stop, idle))
        await asyncio.sleep(2.0)  # the baseline: two seconds of pings alone
        stop.set()
        await pinging

        slow = await RawClient.connect(server, receive_buffer=4096)  # type: ignore[arg-type]
        try:
            await slow.send_text(json.dumps({"type": "hello", "token": tokens["slow"]}))
            assert (await slow.read_text())["type"] == "welcome"
            rss_before = server.rss_bytes()
            rss_peak = rss_before
            busy: list[float] = []
            stop = asyncio.Event()
            pinging = asyncio.create_task(ping(pinger, stop, busy))
            sent = 0
            while "slow" not in left:
                await writer.send(message_frame(TEXT))
                await recv_until(writer, lambda e: isinstance(e, Ack))
                sent += 1
                if sent % 50 == 0:
                    rss_peak = max(rss_peak, server.rss_bytes())
                assert sent < 20_000, "the slow reader was never closed"
            closed_after = sent
            for _ in range(AFTERWARDS):
                await writer.send(message_frame(TEXT))
                await recv_until(writer, lambda e: isinstance(e, Ack))
                sent += 1
                if sent % 50 == 0:
                    rss_peak = max(rss_peak, server.rss_bytes())
            stop.set()
            await pinging
            await slow.read_to_end(answer=True)
        finally:
            slow.close()
        total = sent + len(idle) + len(busy)
        await eventually(lambda: len(heard) >= total, "the listener heard everything", within=20)
        listening.cancel()
    await asyncio.gather(listening, return_exceptions=True)

    pushed = closed_after * (len(TEXT) + 150)
    print(
        f"slow reader closed after {closed_after} messages "
        f"(~{pushed / 2**20:.1f} MiB pushed at it); "
        f"server RSS {rss_before / 2**20:.1f} -> peak {rss_peak / 2**20:.1f} MiB; "
        f"ack latency idle: {summary(idle)}; during the flood: {summary(busy)}"
    )
    assert "slow" in left
    if slow.protocol.close_rcvd is not None:
        assert slow.protocol.close_rcvd == Close(1008, "too slow")
    assert [m.seq for m in heard] == list(range(1, total + 1)), "the listener missed messages"
    # Generous: what matters is that the backlog was dropped, not kept.
    assert rss_peak - rss_before < 64 * 2**20
