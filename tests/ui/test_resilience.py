"""The chat survives what networks and people do: restarts, offline writing, blocked WebSockets."""

from __future__ import annotations

from collections import Counter
from typing import Any

from chat_desktop.controller.entries import ConnectionKind, DeliveryState
from tests.client.proxy import ReverseProxy
from tests.waiting import eventually

from .conftest import ChatClient, LocalChatServer, register


def kind(client: ChatClient) -> ConnectionKind:
    return client.c.status.kind


def delivered_texts(client: ChatClient) -> list[str]:
    return [e.text for e in client.w.messages.entries() if e.state is DeliveryState.DELIVERED]


def assert_each_once(client: ChatClient, texts: list[str]) -> None:
    entries = client.w.messages.entries()
    counts = Counter(entry.text for entry in entries)
    assert all(counts[text] == 1 for text in texts), counts
    seqs = [entry.seq for entry in entries]
    assert seqs == list(range(1, len(entries) + 1)), seqs


def test_server_restart_mid_conversation_loses_and_doubles_nothing(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice: ChatClient = await make_client(chat_server_here.url, "alice")
        bob: ChatClient = await make_client(chat_server_here.url, "bob")
        await eventually(lambda: kind(alice) is kind(bob) is ConnectionKind.CONNECTED)
        alice.type_and_send("before the restart")
        await eventually(lambda: "before the restart" in delivered_texts(bob))

        await chat_server_here.stop()
        await eventually(lambda: kind(alice) is not ConnectionKind.CONNECTED)
        # The status bar says so, with a way to retry at once.
        status = alice.w.connection
        await eventually(lambda: status.label.text().startswith("Reconnecting"))
        assert status.button.isVisibleTo(alice.w)
        alice.type_and_send("while the server is down 1")
        alice.type_and_send("while the server is down 2")
        assert [e.state for e in alice.w.messages.entries()][-2:] == [DeliveryState.QUEUED] * 2

        await chat_server_here.start()
        await eventually(lambda: kind(alice) is kind(bob) is ConnectionKind.CONNECTED)
        assert status.label.text() == "Connected" and not status.button.isVisibleTo(alice.w)
        # The outbox goes out by itself on reconnect; then the chat goes on.
        await eventually(lambda: len(delivered_texts(bob)) == 3)
        bob.type_and_send("after the restart")
        everything = [
            "before the restart",
            "while the server is down 1",
            "while the server is down 2",
            "after the restart",
        ]
        for client in (alice, bob):
            await eventually(lambda c=client: delivered_texts(c) == everything)
            assert_each_once(client, everything)

    run(body())


def test_messages_written_offline_are_delivered_once_after_an_app_restart(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        url = chat_server_here.url
        alice_token = await register(url, "alice")
        await chat_server_here.stop()

        # Server down: alice writes, the messages wait in the outbox; she quits.
        alice: ChatClient = await make_client(url, "alice", token=alice_token)
        alice.type_and_send("written offline 1")
        alice.type_and_send("written offline 2")
        assert [e.state for e in alice.w.messages.entries()] == [DeliveryState.QUEUED] * 2
        await alice.close()

        await chat_server_here.start()
        bob: ChatClient = await make_client(url, "bob")
        # Alice starts the app again: the outbox is still there and goes out.
        alice.open()
        assert [e.state for e in alice.w.messages.entries()] == [DeliveryState.QUEUED] * 2
        texts = ["written offline 1", "written offline 2"]
        await eventually(lambda: delivered_texts(bob) == texts)
        await eventually(lambda: delivered_texts(alice) == texts)
        assert alice.c is not None and alice.cache is not None
        cache = alice.cache
        # Her read position for what just arrived goes out behind them.
        await eventually(lambda: cache.outbox() == [])

        # A further reconnect must not send them again.
        alice.c.reconnect_now()
        bob.type_and_send("and one more")
        for client in (alice, bob):
            await eventually(lambda c=client: delivered_texts(c) == [*texts, "and one more"])
            assert_each_once(client, [*texts, "and one more"])

    run(body())


def test_client_chats_through_polling_when_websocket_is_refused_and_switches_back(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        proxy = ReverseProxy(chat_server_here.url)
        proxy_url = await proxy.start()
        alice: ChatClient = await make_client(proxy_url, "alice")
        try:
            bob: ChatClient = await make_client(chat_server_here.url, "bob")
            await eventually(lambda: kind(alice) is ConnectionKind.POLLING)
            assert alice.w.connection.label.text() == "Offline: polling"
            await eventually(lambda: kind(bob) is ConnectionKind.CONNECTED)

            alice.type_and_send("sent by polling")
            await eventually(lambda: "sent by polling" in delivered_texts(bob))
            bob.type_and_send("received by polling")
            await eventually(lambda: "received by polling" in delivered_texts(alice))

            proxy.pass_websocket = True
            await eventually(lambda: kind(alice) is ConnectionKind.CONNECTED)
            assert alice.w.connection.label.text() == "Connected"
            bob.type_and_send("back on the socket")
            await eventually(lambda: "back on the socket" in delivered_texts(alice))
            assert_each_once(
                alice, ["sent by polling", "received by polling", "back on the socket"]
            )
        finally:
            # Alice's connections run through the proxy: close them first.
            await alice.close()
            await proxy.stop()

    run(body())
