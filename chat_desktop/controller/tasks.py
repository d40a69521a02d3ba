"""TaskGroup: the background asyncio tasks of one controller, cancelled together on close.

Controllers start work from Qt slots (a button press, a signal) that cannot
``await``; they spawn a task on the running qasync loop instead. Keeping a
reference matters twice: asyncio holds tasks only weakly (an unreferenced
task may vanish mid-flight), and at shutdown every task must be cancelled
*and awaited*, or Python prints "Task was destroyed but it is pending".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class TaskGroup:
    """A set of running tasks; failures are logged, never lost silently."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        # The loop the tasks run on, kept from the start (or the first spawn):
        # under qasync a Qt signal can fire while Qt processes events outside
        # the loop's run_forever (tests do, between steps), where
        # get_running_loop() fails and the coroutine would be dropped
        # unawaited. create_task on the kept loop schedules it for the loop's
        # next turn instead.
        self._loop: asyncio.AbstractEventLoop | None = None
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run ``coro`` as a task on the group's loop; None (and closed) after close()."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if self._closed or self._loop.is_closed():
            coro.close()
            return None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def close(self) -> None:
        """Cancel every task and wait until they have all finished."""
        self._closed = True
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
