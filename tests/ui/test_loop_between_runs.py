"""Asyncio work woken while Qt processes events outside ``run``: as in the app, it runs.

Under qasync an asyncio timer is a Qt timer, so anything that makes Qt process
events (``qtbot.waitUntil``, pytest-qt's own tidying after a test) runs due
asyncio callbacks, also between two ``run(...)`` calls of a test. The test
fixtures hold the loop as asyncio's running one for the whole test
(``HeldQtLoop``), so such a step behaves as it does in the app instead of
failing at its next ``asyncio.sleep``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.ui.conftest import LocalChatServer


def test_a_task_woken_between_runs_sleeps_again_and_stops_cleanly(run: Any, qtbot: Any) -> None:
    woken: list[int] = []

    async def ticking() -> None:
        while True:
            await asyncio.sleep(0.01)
            woken.append(1)

    task = run(_started(ticking))
    # Only Qt's event processing here, no run_until_complete: the task's timer
    # fires inside it, and the task must be able to sleep again.
    qtbot.waitUntil(lambda: len(woken) >= 3, timeout=5000)
    assert not task.done()
    task.cancel()
    run(asyncio.wait([task]))
    assert task.cancelled()


def test_the_servers_periodic_checks_survive_qt_processing_events_between_runs(
    chat_server_here: LocalChatServer, run: Any, qtbot: Any
) -> None:
    server = chat_server_here.server
    assert server is not None
    checks: list[int] = []
    store = server.service.accounts.revocations._store
    original = store.revocations_after

    async def counted(position: Any) -> Any:
        checks.append(1)
        return await original(position)

    store.revocations_after = counted  # type: ignore[method-assign]
    # The revocation check runs every second: two of them inside Qt's own
    # processing, outside any run(...).
    qtbot.waitUntil(lambda: len(checks) >= 2, timeout=10_000)
    run(chat_server_here.stop())


async def _started(body: Any) -> asyncio.Task[None]:
    return asyncio.get_running_loop().create_task(body())
