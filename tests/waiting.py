"""Waiting on a condition with a deadline: the suite's one replacement for sleep-and-hope.

The conditions tests wait on mix link state, recorded events, widget contents,
server internals, files on disk and what another process printed, which share
no signal to await; so ``eventually`` checks the predicate every few
milliseconds, letting the event loop (plain asyncio or qasync) turn in
between. When the condition has not come true after ``within`` seconds
(WAIT_LIMIT unless the test says otherwise) the test fails with an
AssertionError that says what it was waiting for: the ``what`` the test gave,
or else the predicate's own source line.

Every asyncio test waits through here; Qt tests that run on pytest-qt's loop
alone use ``qtbot.waitUntil``, its Qt-side form.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from pathlib import Path

# The longest any condition may take to come true before the test fails.
WAIT_LIMIT = 15.0
# How often the predicate is checked: short enough not to slow a test down,
# long enough that a predicate reading files or SQLite does not starve the loop.
_POLL = 0.01


async def eventually(
    predicate: Callable[[], object], what: str | None = None, *, within: float = WAIT_LIMIT
) -> None:
    """Wait until ``predicate()`` is true; after ``within`` s fail, naming ``what`` was awaited."""
    try:
        async with asyncio.timeout(within):
            # No single asyncio.Event could stand for these mixed conditions (see above).
            while not predicate():  # noqa: ASYNC110
                await asyncio.sleep(_POLL)
    except TimeoutError:
        awaited = what or _described(predicate)
        raise AssertionError(f"timed out after {within:g} s waiting until {awaited}") from None


def _described(predicate: Callable[[], object]) -> str:
    """The predicate as the test wrote it (its source line and place), for a failure message."""
    code = getattr(predicate, "__code__", None)
    if code is None:
        return repr(predicate)
    try:
        source = " ".join(line.strip() for line in inspect.getsource(code).splitlines())
    except OSError:
        source = code.co_qualname
    return f"{source} ({Path(code.co_filename).name}:{code.co_firstlineno})"
