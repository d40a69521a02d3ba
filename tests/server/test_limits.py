"""Limits that protect the server: slow readers, silent peers, and the bucket arithmetic."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.frames import Close, Opcode

from chat_protocol import Ack, Error, UserLeave
from chat_server.config import ServerConfig
from chat_server.limits import LoginThrottle, RateLimiter, TokenBucket
from tests.server.wire import (
    RawClient,
    hello,
    joined,
    make_users,
    message_frame,
    recv,
    recv_until,
    running,
    ws_url,
)

# The client address of the unit tests' logins.
HERE = "192.0.2.10"


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# Slow readers and silent peers --------------------------------------------------


@pytest.mark.parametrize(
    "limit",
    [{"max_queued_events": 20}, {"max_queued_bytes": 100_000}],
    ids=["events", "bytes"],
)
async def test_a_client_that_stops_reading_is_closed_with_1008_too_slow(
    server_config: ServerConfig, limit: dict[str, int]
) -> None:
    # Give the slow client all the time it needs to read our close frame once
    # it reads again; the default cuts a peer that does not read the close.
    server_config.close_timeout = 60.0
    limits = {"messages_per_second": 1000, "message_burst": 1000, **limit}
    async with running(server_config, **limits) as server:
        tokens = await make_users(server, ["slow", "writer"])
        slow = await RawClient.connect(server, receive_buffer=4096)
        try:
            await slow.send_text(json.dumps({"type": "hello", "token": tokens["slow"]}))
            assert (await slow.read_text())["type"] == "welcome"
            # slow reads nothing from here on; the writer floods the room until
            # the server gives up on slow, which the writer hears as a leave.
            async with joined(server, tokens["writer"]) as writer:
                sent = 0
                while True:
                    await writer.send(message_frame("x" * 4000))
                    sent += 1
                    event = await recv_until(
                        writer, lambda e: e.type == "ack" or isinstance(e, UserLeave)
                    )
                    if event == UserLeave("slow"):
                        break
                    assert sent < 5000, "the slow reader was never closed"
                await slow.read_to_end(answer=True)
        finally:
            slow.close()
    assert slow.protocol.close_rcvd == Close(1008, "too slow")
    received = [frame for frame in slow.frames if frame.opcode is Opcode.TEXT]
    assert len(received) < sent  # the backlog was dropped, not delivered late


async def test_a_client_that_stops_reading_during_the_replay_is_closed_too(
    server_config: ServerConfig,
) -> None:
    server_config.close_timeout = 60.0
    async with running(server_config, ping_interval=0.2) as server:
        tokens = await make_users(server, ["slow", "watcher"])
        store = server.service.store
        # 4000 four-byte characters: 16 KB a message, 10 MB in all, more than
        # the kernel's socket buffers can swallow.
        await asyncio.gather(
            *(store.append("general", "watcher", f"c-{n}", "😀" * 4000) for n in range(600))
        )
        async with joined(server, tokens["watcher"]) as watcher:
            slow = await RawClient.connect(server, receive_buffer=4096)
            try:
                hello = {"type": "hello", "token": tokens["slow"], "since": {"general": 0}}
                await slow.send_text(json.dumps(hello))
                # slow reads nothing: the replay cannot get through.
                left = await recv_until(watcher, lambda e: isinstance(e, UserLeave))
                assert left == UserLeave("slow")
                await slow.read_to_end(answer=True)
            finally:
                slow.close()
    assert slow.protocol.close_rcvd == Close(1008, "too slow")


async def test_a_peer_that_never_answers_pings_is_dropped(
    server_config: ServerConfig,
) -> None:
    server_config.close_timeout = 0.5
    async with running(server_config, ping_interval=0.2) as server:
        tokens = await make_users(server, ["silent", "watcher"])
        async with joined(server, tokens["watcher"]) as watcher:
            silent = await RawClient.connect(server)
            try:
                await silent.send_text(json.dumps({"type": "hello", "token": tokens["silent"]}))
                assert (await silent.read_text())["type"] == "welcome"
                # It reads (so the server can write) but never answers anything.
                assert await recv_until(watcher, lambda e: isinstance(e, UserLeave)) == UserLeave(
                    "silent"
                )
                await silent.read_to_end(answer=False)
            finally:
                silent.close()
    opcodes = [frame.opcode for frame in silent.frames]
    assert Opcode.PING in opcodes
    assert silent.protocol.close_rcvd is not None and silent.protocol.close_rcvd.code == 1011


async def test_a_peer_that_answers_pings_stays_connected(server_config: ServerConfig) -> None:
    async with running(server_config, ping_interval=0.1) as server:
        tokens = await make_users(server, ["alice"])
        # The client's own keepalive is off: only its answers to the server's pings count.
        async with connect(ws_url(server), ping_interval=None) as ws:
            await hello(ws, tokens["alice"])
            with pytest.raises(TimeoutError):
                await recv(ws, within=1.0)  # ten ping intervals without a close
            await ws.send(message_frame("still here"))
            assert (await recv(ws)).type == "ack"


# Token buckets and the login throttle ------------------------------------------


def test_a_token_bucket_allows_the_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=20, clock=clock)
    assert [bucket.take() for _ in range(20)] == [0.0] * 20
    assert bucket.take() == pytest.approx(0.1)
    clock.now += 0.1
    assert bucket.take() == 0.0
    assert bucket.take() > 0


def test_a_rate_limiter_keeps_one_bucket_per_user() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1, burst=1, clock=clock)
    assert limiter.take("alice") == 0.0
    assert limiter.take("alice") > 0
    assert limiter.take("bob") == 0.0


def test_the_login_throttle_blocks_a_name_after_its_failures_until_the_window_passes() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(max_failures=10, window=300, clock=clock)
    for _ in range(10):
        assert throttle.retry_after("alice", HERE) == 0.0
        throttle.record_failure("alice", HERE)
        clock.now += 1
    assert throttle.retry_after("Alice", HERE) == pytest.approx(300 - 10)
    assert throttle.retry_after("bob", HERE) == 0.0
    clock.now += 290
    assert throttle.retry_after("alice", HERE) == 0.0


def test_the_login_throttle_window_slides() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(max_failures=2, window=10, clock=clock)
    throttle.record_failure("alice", HERE)
    clock.now += 6
    throttle.record_failure("alice", HERE)
    assert throttle.retry_after("alice", HERE) == pytest.approx(4)
    clock.now += 4
    assert throttle.retry_after("alice", HERE) == 0.0


def test_the_login_throttle_blocks_a_name_only_at_the_address_that_failed() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(max_failures=3, window=300, max_failures_per_user=7, clock=clock)
    for _ in range(3):
        throttle.record_failure("alice", "10.0.0.66")
    assert throttle.retry_after("alice", "10.0.0.66") > 0
    # alice at her own desk is not locked out by the stranger.
    assert throttle.retry_after("alice", HERE) == 0.0


def test_the_login_throttle_has_a_ceiling_per_name_across_addresses() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(max_failures=3, window=300, max_failures_per_user=7, clock=clock)
    for n in range(7):
        address = f"10.0.0.{n}"
        assert throttle.retry_after("alice", address) == 0.0
        throttle.record_failure("alice", address)
    # A guesser spreading over many addresses is stopped for every address.
    assert throttle.retry_after("alice", "10.0.1.1") > 0
    assert throttle.retry_after("bob", "10.0.1.1") == 0.0


async def test_rate_limited_messages_recover_after_the_rate(server_config: ServerConfig) -> None:
    async with running(server_config, messages_per_second=20, message_burst=1) as server:
        tokens = await make_users(server, ["alice"])
        async with joined(server, tokens["alice"]) as ws:
            kinds = []
            while "ack" not in kinds[1:]:
                await ws.send(message_frame("x"))
                kinds.append((await recv_until(ws, lambda e: e.type in ("ack", "error"))).type)
                await asyncio.sleep(0.02)
    assert kinds[0] == "ack" and "ack" in kinds[1:]


async def test_writes_behind_a_rate_limited_one_are_refused_until_it_comes_again(
    server_config: ServerConfig,
) -> None:
    # A client pipelines a backlog into the limit and, after each refusal,
    # sends again from the refused one on. A token refilling between two
    # frames must not let a younger message in before the refused one: the
    # socket refuses what follows a rate-limited write until it comes again.
    async with running(server_config, messages_per_second=50, message_burst=2) as server:
        tokens = await make_users(server, ["alice"])
        await backlog_drains_in_order(server, tokens["alice"], rate=50)


async def backlog_drains_in_order(server: Any, token: str, *, rate: float, count: int = 30) -> None:
    """Pipeline ``count`` messages on one socket, send again from the first refused one
    on after each round; what is stored must always be a prefix of what was sent."""
    async with joined(server, token) as ws:
        pending = [f"c-{index:02}" for index in range(count)]
        seqs: dict[str, int] = {}
        while pending:
            for client_id in pending:
                await ws.send(message_frame(client_id, client_id=client_id))
            answers: dict[str, Ack | Error] = {}
            while len(answers) < len(pending):
                event = await recv_until(ws, lambda e: e.type in ("ack", "error"))
                if isinstance(event, Ack):
                    answers[event.client_id] = event
                else:
                    assert isinstance(event, Error) and event.code == "rate_limited", event
                    answers[event.ref or ""] = event
            stored = [cid for cid in pending if isinstance(answers[cid], Ack)]
            # What was stored is a prefix of what was sent: nothing overtook.
            assert stored == pending[: len(stored)]
            for cid in stored:
                ack = answers[cid]
                assert isinstance(ack, Ack)
                seqs[cid] = ack.seq
            pending = pending[len(stored) :]
            # Pacing, as a client waits after a refusal (not a condition awaited).
            await asyncio.sleep(1 / rate)
    assert sorted(seqs, key=seqs.__getitem__) == [f"c-{index:02}" for index in range(count)]
