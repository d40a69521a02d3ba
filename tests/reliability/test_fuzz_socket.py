"""Hypothesis throws hostile frames at one running server over one WebSocket.

ONE ``chat-server`` process serves the whole module (examples share it, as
attackers share a real server). Each example sends a frame, then a
``history`` request for a room nothing else touches (the *sentinel*): the
server handles a connection's frames in order and queues its replies in
order, so everything before the sentinel's page is the answer to the
frame. The server must answer every frame the shared protocol refuses with
an ``error`` carrying a code and a sentence, must keep the connection open,
and must go on serving a bystander.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from chat_protocol import ProtocolError, decode_client
from tests.conftest import ServerProcess
from tests.reliability.clients import register
from tests.reliability.hostile import hostile_text_frames
from tests.server.wire import hello

SENTINEL_ROOM = "zz-sentinel-7f3a"
KNOWN_CODES = {
    "bad_request",
    "unknown_type",
    "unknown_room",
    "too_large",
    "rate_limited",
    "unauthorized",
    "unavailable",
}
FUZZ = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Prober:
    """A signed-in socket on its own event loop, for synchronous hypothesis tests."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.token = self.run(register(url, "fuzzer"))
        self.ws: ClientConnection | None = None
        self.frames = 0

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, 30))

    async def _connect(self) -> ClientConnection:
        ws = await connect(self.url.replace("http", "ws", 1) + "/ws", max_queue=None)
        await hello(ws, self.token)
        return ws

    async def probe(self, frame: str | bytes) -> list[dict[str, Any]]:
        """Send ``frame`` then the sentinel; return what came back before the sentinel."""
        if self.ws is None:
            self.ws = await self._connect()
            await self.ws.send(json.dumps({"type": "create-room", "name": SENTINEL_ROOM}))
        self.frames += 1
        await self.ws.send(frame)
        await self.ws.send(json.dumps({"type": "history", "room": SENTINEL_ROOM, "limit": 1}))
        answers: list[dict[str, Any]] = []
        while True:
            event = json.loads(await self.ws.recv())
            if event.get("type") == "history" and event.get("room") == SENTINEL_ROOM:
                return answers
            if event.get("type") == "room" and event.get("name") == SENTINEL_ROOM:
                continue
            answers.append(event)

    def close(self) -> None:
        if self.ws is not None:
            self.run(self.ws.close())
        self.loop.close()


@pytest.fixture(scope="module")
def prober(fuzz_target: ServerProcess) -> Iterator[Prober]:
    prober = Prober(fuzz_target.url)
    try:
        yield prober
    finally:
        prober.close()


def _check_answers(frame: str | bytes, answers: list[dict[str, Any]]) -> None:
    try:
        decode_client(frame)
    except ProtocolError:
        errors = [a for a in answers if a.get("type") == "error"]
        assert errors, f"no error for {frame[:80]!r}: {answers}"
        assert errors[0]["code"] in KNOWN_CODES and errors[0]["message"], errors[0]


def _bystander_is_served(prober: Prober, fuzz_target: ServerProcess) -> None:
    async def chat() -> None:
        token = await register(fuzz_target.url, f"bystander{uuid.uuid4().hex[:8]}")
        ws = await connect(fuzz_target.url.replace("http", "ws", 1) + "/ws")
        try:
            await hello(ws, token)
            await ws.send(
                json.dumps({"type": "message", "room": "general", "client_id": "b1", "text": "ok"})
            )
            while json.loads(await ws.recv()).get("type") != "ack":
                pass
        finally:
            await ws.close()

    prober.run(chat())
    assert fuzz_target.proc is not None and fuzz_target.proc.poll() is None, "the server died"


@pytest.mark.slow
@FUZZ
@given(frame=hostile_text_frames)
def test_hostile_text_frames_get_a_clear_error_and_the_socket_stays(
    prober: Prober, frame: str
) -> None:
    _check_answers(frame, prober.run(prober.probe(frame)))


@pytest.mark.slow
@FUZZ
@given(frame=st.binary(max_size=2000))
def test_binary_frames_get_a_clear_error_and_the_socket_stays(prober: Prober, frame: bytes) -> None:
    answers = prober.run(prober.probe(frame))
    assert [a["code"] for a in answers if a.get("type") == "error"] == ["bad_request"]


def test_after_the_fuzzing_the_server_serves_a_bystander(
    prober: Prober, fuzz_target: ServerProcess
) -> None:
    if not prober.frames:
        pytest.skip("meaningful only after this module's fuzz tests (run the module)")
    _bystander_is_served(prober, fuzz_target)


def test_a_text_frame_that_is_not_utf8_closes_only_that_socket(
    prober: Prober, fuzz_target: ServerProcess
) -> None:
    async def send_invalid_utf8() -> int | None:
        ws = await connect(fuzz_target.url.replace("http", "ws", 1) + "/ws")
        try:
            await hello(ws, prober.token)
            # websockets checks nothing it is given as bytes for a text frame.
            await ws.send(b'{"type": "typing", "room": "general", "active": \xff\xfe}', text=True)
            try:
                while True:
                    await ws.recv()
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None
        finally:
            await ws.close()

    assert prober.run(send_invalid_utf8()) == 1007
    _bystander_is_served(prober, fuzz_target)
