"""Servers die, Redis restarts: nothing lost, nothing doubled, nobody seen to leave who stayed.

Real server processes (``tests.cluster.node``) on one PostgreSQL database
and a Redis of the test's own. A client whose server is killed reconnects
to another one (what nginx in front does) with ``since`` and resends what
was not acked, with the same client_ids; the other clients must see each
message exactly once, in one gapless order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from chat_protocol import Ack, Message, ServerEvent, Typing, UserLeave
from tests.cluster.conftest import Cluster, Node, RedisServer, make_users
from tests.server.wire import joined, message_frame, recv, recv_until
from tests.waiting import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

V2 = 2
BURST = 120
FAST = {"messages_per_second": 1000.0, "message_burst": 1000}


class Watcher:
    """A client that records every message and every user-leave it hears, until told to stop."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.leaves: list[str] = []
        self.events: list[ServerEvent] = []

    async def run(self, node: Node, token: str) -> None:
        async with joined(node, token, {"general": 0}, protocol=V2) as ws:
            while True:
                event = await recv(ws, within=60)
                self.events.append(event)
                if isinstance(event, Message) and event.room == "general":
                    self.messages.append(event)
                elif isinstance(event, UserLeave):
                    self.leaves.append(event.user)

    def texts(self) -> list[str]:
        return [message.text for message in self.messages]


async def send_burst(
    nodes: list[Node],
    token: str,
    acked: dict[str, int],
    count: int = BURST,
    linger: asyncio.Event | None = None,
) -> None:
    """Send ``count`` messages in pipelined chunks; on a lost server go on at the next one,
    resending what was not acked (the same client_ids). With ``linger``, stay
    connected afterwards until it is set."""
    ids = [f"burst-{number}" for number in range(count)]
    current = 0
    async with asyncio.timeout(90):
        while len(acked) < count:
            try:
                async with joined(nodes[current], token, {"general": 0}, protocol=V2) as ws:
                    unacked = [cid for cid in ids if cid not in acked]
                    for start in range(0, len(unacked), 10):
                        chunk = unacked[start : start + 10]
                        for cid in chunk:
                            await ws.send(message_frame(f"text of {cid}", client_id=cid))
                        while any(cid not in acked for cid in chunk):
                            event = await recv(ws)
                            if isinstance(event, Ack):
                                acked[event.client_id] = event.seq
                            # A pause between chunks, so that a fault lands mid-burst.
                        await asyncio.sleep(0.02)
                    if linger is not None:
                        await linger.wait()
            except (ConnectionClosed, OSError):
                current = min(current + 1, len(nodes) - 1)


def assert_once_in_order(messages: list[Message], count: int = BURST) -> None:
    texts = [message.text for message in messages]
    assert len(texts) == len(set(texts)), "a message arrived twice"
    assert sorted(texts) == sorted(f"text of burst-{n}" for n in range(count))
    seqs = [message.seq for message in messages]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a gap or a reordering"


@contextlib.asynccontextmanager
async def watching(node: Node, token: str) -> AsyncIterator[Watcher]:
    """A :class:`Watcher` listening on ``node`` for as long as the block runs."""
    watcher = Watcher()
    task = asyncio.create_task(watcher.run(node, token))
    try:
        yield watcher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
            await task


async def typing_crosses(alice: ClientConnection, bob: Watcher) -> None:
    """Alice types until bob hears it: typing is not stored, so only Redis carries it
    from one server to the other, and a signal sent before the bus is back is lost."""
    typing = json.dumps({"type": "typing", "room": "general", "active": True})

    def typed() -> bool:
        return any(isinstance(e, Typing) and e.user == "alice" for e in bob.events)

    async with asyncio.timeout(20):
        while not typed():
            await alice.send(typing)
            with contextlib.suppress(AssertionError):
                await eventually(typed, within=0.6)


class CommitHold:
    """A file that, while it exists, makes a node started with it commit but neither ack
    nor publish: the node then stands between the commit and the publish."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def engage(self) -> None:
        self.path.touch()

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


@pytest.fixture
def hold(cluster: Cluster, tmp_path: Path) -> Iterator[CommitHold]:
    """A :class:`CommitHold`, released before ``cluster`` (which it depends on) stops
    the nodes, so that a node still holding then stops normally."""
    commit_hold = CommitHold(tmp_path / "hold-commits")
    yield commit_hold
    commit_hold.release()


def start_held_and_free(cluster: Cluster, hold: CommitHold) -> tuple[Node, Node]:
    """Node a, which obeys ``hold``, and an ordinary node b."""
    held = cluster.node(hold_commits_while=hold.path)
    held.start()
    (free,) = cluster.start(1)
    return held, free


async def test_kill_9_mid_burst_loses_and_repeats_nothing_and_only_the_absent_leave(
    cluster: Cluster,
) -> None:
    a, b = cluster.start(2, limits=FAST)
    tokens = await make_users(b, ["alice", "bob", "carol"])
    async with watching(b, tokens["bob"]) as bob:
        # Carol is on a and never comes back after it dies.
        async with joined(a, tokens["carol"], {"general": 0}, protocol=V2):
            acked: dict[str, int] = {}
            linger = asyncio.Event()
            sending = asyncio.create_task(send_burst([a, b], tokens["alice"], acked, linger=linger))
            await eventually(lambda: len(acked) >= 40, "40 messages acked")
            a.kill()
            await eventually(lambda: len(bob.messages) >= BURST, f"bob has {BURST} messages")
            assert_once_in_order(bob.messages)
            # The absent user leaves once a is known dead; alice, who came
            # back on b within a second, never seemed to leave.
            await eventually(lambda: "carol" in bob.leaves, "carol left", within=20)
            assert "alice" not in bob.leaves
            linger.set()
            await sending
        # Every ack names the seq the message has.
        assert {f"text of {cid}": seq for cid, seq in acked.items()} == {
            message.text: message.seq for message in bob.messages
        }


async def test_a_quiet_rooms_last_entry_committed_but_never_published_still_arrives(
    cluster: Cluster, hold: CommitHold
) -> None:
    a, b = start_held_and_free(cluster, hold)
    tokens = await make_users(b, ["alice", "bob"])
    async with watching(b, tokens["bob"]) as bob:
        async with joined(a, tokens["alice"], {"general": 0}, protocol=V2) as alice:
            # From now on a commits but neither acks nor publishes: killed
            # here, it dies between the commit and the publish.
            hold.engage()
            await alice.send(message_frame("last words", client_id="last-1"))
            await eventually(lambda: bob.texts() == ["last words"], "bob has the last words")
            a.kill()
        # Alice comes back on b: her replay has it, and resending it stores nothing new.
        async with joined(b, tokens["alice"], {"general": 0}, protocol=V2) as again:
            replayed = await recv_until(again, lambda e: isinstance(e, Message))
            assert isinstance(replayed, Message) and replayed.text == "last words"
            await again.send(message_frame("last words", client_id="last-1"))
            ack = await recv_until(again, lambda e: isinstance(e, Ack))
            assert isinstance(ack, Ack) and ack.seq == bob.messages[0].seq
            await again.send(message_frame("marker"))
            await eventually(lambda: "marker" in bob.texts(), "bob has the marker")
        assert bob.texts() == ["last words", "marker"]


async def test_redis_restarting_mid_burst_loses_and_doubles_nothing(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    a, b = cluster.start(2, limits=FAST)
    tokens = await make_users(b, ["alice", "bob"])
    async with watching(b, tokens["bob"]) as bob:
        await eventually(lambda: "connect bob" in b.printed(), "bob connected")
        acked: dict[str, int] = {}
        sending = asyncio.create_task(send_burst([a], tokens["alice"], acked))
        await eventually(lambda: len(acked) >= 30, "30 messages acked")
        redis_server.kill()
        await eventually(lambda: len(acked) >= 70, "70 messages acked without Redis")
        redis_server.start()
        await sending
        await eventually(lambda: len(bob.messages) >= BURST, f"bob has {BURST} messages")
        assert_once_in_order(bob.messages)
        # Back on the bus: typing (which only Redis carries) crosses again.
        async with joined(a, tokens["alice"], {"general": 0}, protocol=V2) as alice:
            await typing_crosses(alice, bob)
    # Each server said so once, not once per message.
    for node in (a, b):
        await eventually(lambda node=node: "answers again" in node.printed(), "Redis is back")  # type: ignore[misc]
        assert node.printed().count("is unreachable") == 1, node.printed()


async def test_servers_started_while_redis_is_down_serve_and_join_it_later(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    redis_server.kill()
    a, b = cluster.start(2)
    tokens = await make_users(b, ["alice", "bob"])
    async with (
        watching(b, tokens["bob"]) as bob,
        joined(a, tokens["alice"], {"general": 0}, protocol=V2) as alice,
    ):
        # Without Redis the message is stored, acked, and reaches b
        # through the database.
        await alice.send(message_frame("no redis yet", client_id="n-1"))
        ack = await recv_until(alice, lambda e: isinstance(e, Ack))
        assert isinstance(ack, Ack)
        await eventually(lambda: bob.texts() == ["no redis yet"], "bob has it")
        redis_server.start()
        await alice.send(message_frame("with redis", client_id="n-2"))
        await eventually(lambda: bob.texts() == ["no redis yet", "with redis"], "bob has it")
        # And typing, which only Redis carries, crosses once it is there.
        await typing_crosses(alice, bob)


async def test_a_server_stopped_on_purpose_lets_its_clients_move_without_leaving(
    cluster: Cluster,
) -> None:
    a, b = cluster.start(2)
    tokens = await make_users(b, ["alice", "bob", "carol"])
    async with watching(b, tokens["bob"]) as bob:
        await eventually(lambda: "connect bob" in b.printed(), "bob connected")
        async with (
            joined(a, tokens["alice"], {"general": 0}, protocol=V2),
            joined(a, tokens["carol"], {"general": 0}, protocol=V2),
        ):
            await eventually(
                lambda: {"alice", "carol"} <= {getattr(e, "user", "") for e in bob.events},
                "bob saw alice and carol join",
            )
            a.stop()  # SIGTERM: a closes its sockets with 1001 and says goodbye
        # Alice moves to b at once; carol does not come back.
        async with joined(b, tokens["alice"], {"general": 0}, protocol=V2):
            await eventually(lambda: "carol" in bob.leaves, "carol left", within=20)
            assert "alice" not in bob.leaves


async def test_an_entry_published_after_another_server_found_it_is_not_shown_twice(
    cluster: Cluster, hold: CommitHold
) -> None:
    a, b = start_held_and_free(cluster, hold)
    tokens = await make_users(b, ["alice", "bob"])
    async with (
        watching(b, tokens["bob"]) as bob,
        joined(a, tokens["alice"], {"general": 0}, protocol=V2) as alice,
    ):
        hold.engage()
        await alice.send(message_frame("late", client_id="late-1"))
        # b finds it in the database while a still holds it back...
        await eventually(lambda: bob.texts() == ["late"], "bob has it from the database")
        # ...then a goes on: acks it and publishes it, a copy b already has.
        hold.release()
        ack = await recv_until(alice, lambda e: isinstance(e, Ack))
        assert isinstance(ack, Ack) and ack.seq == bob.messages[0].seq
        await alice.send(message_frame("marker"))
        await eventually(lambda: "marker" in bob.texts(), "bob has the marker")
    assert bob.texts() == ["late", "marker"]
