"""A message the server does not answer shows Queued, and the next connection delivers it once.

A real server behind :class:`~tests.reliability.chaos_proxy.ChaosProxy`, and
the project's own client (:class:`~tests.reliability.clients.HeadlessClient`:
real controller, link and cache) with its ack timeout shortened. Once the
client is connected the proxy goes quiet in one of two ways: the message
never reaches the server (a vanished route), or it reaches it and the ack is
lost (a server that reads but never answers, as one that is SIGSTOPped after
reading). Either way the link does not notice (noticing is the keepalive's
job); the message must turn from Sending back to Queued. Then the proxy cuts
the quiet connection, the link reconnects for real, and the server's file
must hold the message exactly once, under the client_id it was written with.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_desktop.controller.entries import DeliveryState, MessageEntry
from chat_server.config import ServerConfig
from tests.reliability.chaos_proxy import chaos_proxy
from tests.reliability.clients import HeadlessClient, server_messages
from tests.server.wire import make_users, running
from tests.waiting import eventually

SEED = 20261130


@pytest.mark.parametrize("quiet", ["the message is lost", "the ack is lost"])
async def test_an_unanswered_message_turns_queued_and_is_delivered_once_after_a_reconnect(
    server_config: ServerConfig, tmp_path: Path, quiet: str
) -> None:
    async with running(server_config) as server:
        db_file = server_config.data_dir / "chat.sqlite3"
        tokens = await make_users(server, ["alice"])
        async with chaos_proxy(server.port, SEED) as proxy:
            client = HeadlessClient(
                "alice",
                proxy.base_url,
                tokens["alice"],
                tmp_path / "alice.sqlite3",
                controller_options={"ack_timeout": 0.3},
            ).open()
            states: list[DeliveryState] = []

            def changed(_room: str, entries: list[MessageEntry]) -> None:
                states.extend(e.state for e in entries if e.author == "alice")

            client.c.messagesChanged.connect(changed)
            try:
                await eventually(
                    lambda: client.c.status.kind.value == "connected", "connected", within=10
                )
                connections = proxy.connections
                if quiet == "the message is lost":
                    proxy.blackhole_all()
                else:
                    proxy.swallow_answers()
                client_id = client.send("are you there?")

                await eventually(
                    lambda: states[-1:] == [DeliveryState.QUEUED] and len(states) > 1,
                    "shown Queued",
                    within=10,
                )
                assert states == [DeliveryState.QUEUED, DeliveryState.SENT, DeliveryState.QUEUED]
                assert client.outbox() == [client_id]
                # Nothing closed: the link has not noticed (its keepalive would, later).
                assert client.c.status.kind.value == "connected"

                def stored() -> list[str]:
                    return [row[2] for row in server_messages(db_file)]

                if quiet == "the ack is lost":
                    await eventually(
                        lambda: stored() == [client_id], "stored, unacknowledged", within=10
                    )
                else:
                    assert stored() == []

                proxy.heal()
                await eventually(
                    lambda: client.outbox() == [], "delivered after reconnecting", within=10
                )
                assert proxy.connections > connections
                assert states[-1] is DeliveryState.DELIVERED
                assert [row[2:] for row in server_messages(db_file)] == [
                    (client_id, "are you there?")
                ]
            finally:
                await client.close()
