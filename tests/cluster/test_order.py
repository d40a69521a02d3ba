"""The per-room watermark that hands each entry to the hub once, in order, without a gap.

:class:`~chat_server.cluster.order.LogOrder` on its own, with a list
standing in for the database (the one thing it reads): entries heard twice,
out of order, or never.
"""

from __future__ import annotations

import asyncio

from chat_protocol import LogEntry, Message, RoomInfo
from chat_server.cluster.order import LogOrder
from tests.waiting import eventually


def message(seq: int, room: str = "general") -> Message:
    return Message(room, seq, f"c{seq}", "alice", f"text {seq}", "2026-01-01T00:00:00.000Z")


class Log:
    """The committed log of one room, and the order's reads of it."""

    def __init__(self, last: int) -> None:
        self.entries = [message(seq) for seq in range(1, last + 1)]
        self.reads = 0

    async def after(self, room: str, seq: int) -> list[LogEntry]:
        self.reads += 1
        await asyncio.sleep(0)
        return [entry for entry in self.entries if entry.room == room and entry.seq > seq]


async def test_repeats_are_dropped_and_the_next_entry_goes_at_once() -> None:
    log = Log(3)
    delivered: list[LogEntry] = []
    order = LogOrder(delivered.append, log.after, [RoomInfo("general", 1)])
    order.offer(message(2))
    order.offer(message(2))
    order.offer(message(1))
    order.offer(message(3))
    assert [entry.seq for entry in delivered] == [2, 3]
    assert log.reads == 0


async def test_a_hole_is_filled_from_the_database_in_order() -> None:
    log = Log(5)
    delivered: list[LogEntry] = []
    order = LogOrder(delivered.append, log.after, [RoomInfo("general", 1)])
    # 2 and 3 were never heard of (lost with Redis); 5 arrives before 4.
    order.offer(message(5))
    order.offer(message(4))
    await eventually(lambda: len(delivered) == 4)
    await order.stop()
    assert [entry.seq for entry in delivered] == [2, 3, 4, 5]


async def test_the_check_finds_a_quiet_rooms_last_entry() -> None:
    log = Log(2)
    delivered: list[LogEntry] = []
    order = LogOrder(delivered.append, log.after, [RoomInfo("general", 1)])
    order.check([RoomInfo("general", 2), RoomInfo("new", 0)])
    await eventually(lambda: len(delivered) == 1)
    # Heard of later through Redis after all: not again.
    order.offer(message(2))
    await order.stop()
    assert [entry.seq for entry in delivered] == [2]


async def test_an_entry_the_database_does_not_have_is_not_waited_for_forever() -> None:
    # Heard of through Redis, but its room was deleted before the read.
    log = Log(1)
    delivered: list[LogEntry] = []
    order = LogOrder(delivered.append, log.after, [RoomInfo("general", 0)])
    order.offer(message(3))
    await eventually(lambda: not order._tasks)
    assert [entry.seq for entry in delivered] == [1] and log.reads == 1
    assert order.watermark("general") == 1
