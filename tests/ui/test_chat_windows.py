"""Two real chat windows on one real server: messages and typing notices cross over."""

from __future__ import annotations

from typing import Any

from chat_desktop.controller.entries import DeliveryState
from tests.waiting import eventually

from .conftest import LocalChatServer, alice_and_bob


def test_two_signed_in_windows_exchange_messages(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)

        alice.type_and_send("hello bob")
        await eventually(lambda: "hello bob" in bob.texts())
        bob.type_and_send("hi alice")
        await eventually(lambda: "hi alice" in alice.texts())

        for client in (alice, bob):
            await eventually(
                lambda c=client: (
                    [e.state for e in c.w.messages.entries()] == [DeliveryState.DELIVERED] * 2
                )
            )
            assert client.texts() == ["hello bob", "hi alice"]
            assert [e.seq for e in client.w.messages.entries()] == [1, 2]

    run(body())


def test_typing_indicator_appears_in_the_other_window_and_expires(
    chat_server_here: LocalChatServer, make_client: Any, run: Any
) -> None:
    async def body() -> None:
        # Expire after 1 s instead of 6 s: the rule is the same, the test faster.
        alice, bob = await alice_and_bob(chat_server_here, make_client, typing_expiry=1.0)

        alice.w.composer.setPlainText("I am writ")
        await eventually(lambda: bob.w.typing_line.text() == "alice is typing...")
        # No further keystrokes: the indicator goes by itself.
        await eventually(lambda: bob.w.typing_line.text() == "")

    run(body())
