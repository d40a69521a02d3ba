"""The WebSocket session: hello, welcome, messages, acks, history, rooms and bad input."""

from __future__ import annotations

import json

from chat_desktop.protocol import Ack, Message
from chat_server.app import ChatServer
from tests.server.wire import joined, message_frame, recv, recv_until, register


async def test_hello_with_a_good_token_gets_a_welcome(chat_server: ChatServer) -> None:
    token = await register(chat_server, "alice")
    async with joined(chat_server, token) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        assert isinstance(await recv(ws), object)


async def test_a_message_is_acked_to_the_sender_and_sent_to_every_connection(
    chat_server: ChatServer,
) -> None:
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")
    async with joined(chat_server, alice) as a, joined(chat_server, bob) as b:
        await a.send(message_frame("hi bob", client_id="c-1"))
        got = await recv_until(a, lambda e: isinstance(e, Ack))
        assert isinstance(got, Ack) and got.seq == 1 and got.client_id == "c-1"
        seen = await recv_until(b, lambda e: isinstance(e, Message))
        assert isinstance(seen, Message)
        assert (seen.author, seen.text, seen.seq) == ("alice", "hi bob", 1)
        own = await recv_until(a, lambda e: isinstance(e, Message))
        assert isinstance(own, Message) and own.client_id == "c-1"
