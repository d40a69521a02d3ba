"""Chat before uploads (issue 13): upload bodies give way to chat, and only while chat goes on.

The rules of :class:`chat_server.priority.ChatFirst` on their own, with a
clock the test moves (no sleeping, no timed assertion): upload readers wait
while a chat write is on its way and go on once it is answered, at most
``give_way`` s even when the answer never comes; the intake budget holds
while chat flows and lets go once chat has been quiet. Then on the real
server: an upload made while chat messages keep coming arrives byte for
byte, every message is delivered, and the gate is open again afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator

from chat_protocol import Ack, Message
from chat_server.app import ChatServer
from chat_server.priority import BUDGET_BURST, BUDGET_WAIT_MAX, ChatFirst
from tests.server.test_files import upload
from tests.server.wire import bearer, http, joined, message_frame, recv_until, register
from tests.waiting import eventually

MiB = 1024 * 1024


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_an_upload_gives_way_while_a_chat_write_is_on_its_way_and_goes_on_after() -> None:
    gate = ChatFirst(give_way=3600)
    await asyncio.wait_for(gate.turn(0), 5)  # no chat: at once
    gate.chat_started()
    gate.chat_started()
    reading = asyncio.ensure_future(gate.turn(0))
    for _ in range(5):
        await asyncio.sleep(0)
    assert gate.chat_waiting and not reading.done()
    gate.chat_finished()
    for _ in range(5):
        await asyncio.sleep(0)
    assert not reading.done()  # one is still on its way
    gate.chat_finished()
    await asyncio.wait_for(reading, 5)
    assert not gate.chat_waiting


async def test_a_chat_write_never_answered_slows_an_upload_but_never_stops_it() -> None:
    gate = ChatFirst(give_way=0.001)
    gate.chat_started()
    for _ in range(3):
        await asyncio.wait_for(gate.turn(0), 5)
    # A finish too many (a bug) does not make the count negative and close the gate.
    gate.chat_finished()
    gate.chat_finished()
    assert not gate.chat_waiting
    await asyncio.wait_for(gate.turn(0), 5)


def test_the_intake_budget_holds_while_chat_flows_and_opens_when_chat_stops() -> None:
    clock = Clock()
    gate = ChatFirst(budget=MiB, quiet=1.0, clock=clock)
    # No chat: no budget, whatever arrives.
    assert gate.budget_wait(100 * MiB) == 0.0
    assert not gate.chat_flowing
    with gate.chat_write():
        pass
    assert gate.chat_flowing
    # The burst goes through; past it, a wait of the deficit at the budget's
    # rate, at most BUDGET_WAIT_MAX per read.
    assert gate.budget_wait(BUDGET_BURST) == 0.0
    assert gate.budget_wait(MiB // 100) > 0.0
    assert gate.budget_wait(100 * MiB) == BUDGET_WAIT_MAX
    # Still within the quiet period: still held.
    clock.now += 0.5
    assert gate.chat_flowing and gate.budget_wait(MiB) > 0.0
    # Chat quiet for as long as `quiet`: full speed again, however much arrives.
    clock.now += 0.5
    assert not gate.chat_flowing
    assert gate.budget_wait(100 * MiB) == 0.0
    # And the bucket is full again for the next time chat starts.
    clock.now += BUDGET_BURST / MiB
    gate.chat_started()
    gate.chat_finished()
    assert gate.budget_wait(BUDGET_BURST) == 0.0


async def test_an_upload_under_a_stream_of_chat_arrives_whole_and_every_message_too(
    chat_server: ChatServer,
) -> None:
    alice, bob = await register(chat_server, "alice"), await register(chat_server, "bob")
    gate = chat_server.files.priority
    # 16 messages: within the message burst a user may send at once.
    pieces = [os.urandom(256 * 1024 + index) for index in range(16)]
    data = b"".join(pieces)
    sent: list[str] = []
    async with joined(chat_server, bob) as ws, http(chat_server) as session:

        async def body() -> AsyncIterator[bytes]:
            # Between every two pieces of the file, bob sends a message and
            # waits for its ack: chat is flowing the whole time the body
            # arrives, and the server gives it priority all along.
            for index, piece in enumerate(pieces):
                text = f"message {index}"
                await ws.send(message_frame(text))
                await recv_until(ws, lambda e: isinstance(e, Ack))
                sent.append(text)
                yield piece

        status, answer = await upload(session, alice, body(), "under-chat.bin")
        assert status == 201
        assert (answer["size"], answer["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
        async with session.get(f"/api/v1/files/{answer['id']}", headers=bearer(alice)) as got:
            assert await got.read() == data
        # Every message was stored (and acked above) and comes back in order.
        async with session.get(
            "/api/v1/rooms/general/messages", params={"limit": 100}, headers=bearer(bob)
        ) as history:
            texts = [m["text"] for m in (await history.json())["messages"]]
        assert [text for text in texts if text.startswith("message ")] == sent
    # No chat write is left counted: the next upload does not wait for one.
    await eventually(lambda: not gate.chat_waiting)


async def test_messages_over_http_and_refused_ones_leave_the_gate_open(
    chat_server: ChatServer,
) -> None:
    alice = await register(chat_server, "alice")
    gate = chat_server.files.priority
    async with http(chat_server) as session:
        for room in ("general", "no-such-room"):
            async with session.post(
                f"/api/v1/rooms/{room}/messages",
                json={"client_id": f"c-{room}", "text": "hello"},
                headers=bearer(alice),
            ) as response:
                assert response.status == (201 if room == "general" else 404)
    assert not gate.chat_waiting
    async with joined(chat_server, alice) as ws:
        await ws.send(message_frame("to nowhere", room="no-such-room"))
        await ws.send(message_frame("here"))
        event = await recv_until(ws, lambda e: isinstance(e, Message))
        assert isinstance(event, Message) and event.text == "here"
    assert not gate.chat_waiting
