"""WriteStage: one end-of-turn write for every socket, and one socket's failure stays its own.

The outboxes here are stand-ins: a transport whose write raises is a fault a
real peer cannot produce on demand (the real path is covered by every
fan-out test in test_session and test_live).
"""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import pytest

from chat_server.fanout import Outbox, WriteStage


class StagedOutbox:
    """Records when its staged frames are written; ``broken`` ones raise instead."""

    def __init__(self, broken: bool = False) -> None:
        self.broken = broken
        self.writes = 0

    def write_staged(self) -> None:
        if self.broken:
            raise OSError("the transport refused the write")
        self.writes += 1


async def test_every_staged_socket_is_written_once_at_the_end_of_the_turn() -> None:
    stage = WriteStage(asyncio.get_running_loop())
    first, second = StagedOutbox(), StagedOutbox()
    stage.add(cast(Outbox, first))
    stage.add(cast(Outbox, second))
    assert (first.writes, second.writes) == (0, 0)  # not before the turn ends
    await asyncio.sleep(0)
    assert (first.writes, second.writes) == (1, 1)
    # The next turn starts empty: a socket added now is written again.
    stage.add(cast(Outbox, first))
    await asyncio.sleep(0)
    assert (first.writes, second.writes) == (2, 1)


async def test_a_socket_whose_write_fails_does_not_hold_back_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stage = WriteStage(asyncio.get_running_loop())
    broken, healthy = StagedOutbox(broken=True), StagedOutbox()
    with caplog.at_level(logging.ERROR, logger="chat_server.fanout"):
        stage.add(cast(Outbox, broken))
        stage.add(cast(Outbox, healthy))
        await asyncio.sleep(0)
    assert healthy.writes == 1
    assert "could not write to a socket" in caplog.text
    # And the stage keeps working afterwards.
    stage.add(cast(Outbox, healthy))
    await asyncio.sleep(0)
    assert healthy.writes == 2


async def test_a_turn_ends_for_sockets_that_only_wrote_at_once() -> None:
    # Issue 17: a socket that wrote its first frame of a turn at once is not
    # listed; it notes the turn, and the turn's end (one callback) makes its
    # next frame go at once again. Only sockets with staged frames are written.
    stage = WriteStage(asyncio.get_running_loop())
    turn = stage.opened()
    assert stage.opened() == turn  # many sockets, one turn, one callback
    staged = StagedOutbox()
    stage.add(cast(Outbox, staged))
    assert stage.turn == turn
    await asyncio.sleep(0)
    assert (stage.turn, staged.writes) == (turn + 1, 1)
    # A turn with writes at once only ends too.
    assert stage.opened() == turn + 1
    await asyncio.sleep(0)
    assert (stage.turn, staged.writes) == (turn + 2, 1)
