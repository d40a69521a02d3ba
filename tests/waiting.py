"""Waiting on a condition with a deadline: the suite's one replacement for sleep-and-hope.

The conditions tests wait on mix link state, recorded events, widget contents
and server internals, which share no signal to await; so ``eventually`` checks
the predicate every few milliseconds, letting the event loop (plain asyncio or
qasync) turn in between, and fails the test after WAIT_LIMIT seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

# The longest any condition may take to come true before the test fails.
WAIT_LIMIT = 15.0


async def eventually(predicate: Callable[[], object]) -> None:
    """Wait until ``predicate()`` is true; raise TimeoutError after WAIT_LIMIT seconds."""
    async with asyncio.timeout(WAIT_LIMIT):
        # No single asyncio.Event could stand for these mixed conditions (see above).
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
