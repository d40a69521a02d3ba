"""The desktop app's window in a process of its own, for :mod:`bench.client` to measure.

Started as ``python -m bench.client_app --child launch|burst ...`` by
:mod:`bench.client`, never by hand. It builds what ``chat-desktop`` builds
after sign-in (``ChatCache``, ``ChatController``, ``MainWindow`` on a qasync
loop, Qt offscreen) and reports on stdout:

- ``launch``: the CLOCK_MONOTONIC time at which the message list finished its
  first paint with rows in it, and the RSS once painted;
- ``burst``: connects to the server given, prints ``READY``, then every 0.25 s
  a ``TICKS`` line with how late each tick of a 5 ms timer fired (the UI
  event loop's stalls) and how many rows the window shows;
- ``memory`` (for :mod:`bench.client_memory`): connects, prints ``READY``,
  then every ``--sample-every`` seconds a ``MEM`` line: RSS, the messages the
  cache holds, the rows the window shows and the objects the garbage
  collector tracks; until its stdin closes (or ``--run-seconds``). With
  ``--tracemalloc-at A,B`` it traces Python's allocations from the start,
  snapshots them once the cache holds A messages and again at B, and prints
  the ``--tracemalloc-top`` sites that grew most in between as ``TRACE``
  lines (the allocations of Python code only: Qt's and SQLite's own memory
  is not traced).

It imports only the app and the standard library, so what a launch costs
here is what the app costs: the parent's benchmark machinery (aiohttp
clients, multiprocessing) stays in the parent.
"""

from __future__ import annotations

import os

# Before Qt is imported: no display needed.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import asyncio
import contextlib
import gc
import json
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import qasync
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication

from chat_desktop.controller.chat import ChatController
from chat_desktop.controller.entries import ConnectionKind
from chat_desktop.storage import ChatCache
from chat_desktop.ui.main_window import MainWindow

# The stall probe's period: a tick later than this is a stall of the UI loop.
TICK_MS = 5


def rss_bytes() -> int:
    """This process's resident set size (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def connect(controller: ChatController, url: str) -> None:
    """Start the controller's link and wait (30 s at most) until it is connected."""
    connected = asyncio.Event()
    controller.connectionChanged.connect(
        lambda status: status.kind is ConnectionKind.CONNECTED and connected.set()
    )
    controller.start(url)
    async with asyncio.timeout(30):
        await connected.wait()


async def sample_memory(cache: ChatCache, window: MainWindow, args: argparse.Namespace) -> None:
    """Print ``READY``, then a ``MEM`` line every ``sample_every`` s until stdin closes."""
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()

    def wait_for_eof() -> None:
        # The parent closes our stdin to stop us; a parent that dies closes it too.
        sys.stdin.read()
        loop.call_soon_threadsafe(closed.set)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    marks = list(args.tracemalloc_at)
    snapshots: list[tracemalloc.Snapshot] = []
    print("READY", flush=True)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(args.run_seconds):
            while not closed.is_set():
                sample = {
                    "t": time.monotonic(),
                    "rss": rss_bytes(),
                    "received": sum(cache.positions().values()),
                    "rows": window.messages.rowCount(),
                    "objects": len(gc.get_objects()),
                }
                print("MEM " + json.dumps(sample), flush=True)
                if marks and sample["received"] >= marks[0]:
                    snapshots.append(trace_snapshot(marks.pop(0)))
                    if len(snapshots) == 2:
                        print_trace_growth(snapshots[0], snapshots[1], args.tracemalloc_top)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(args.sample_every):
                        await closed.wait()


def trace_snapshot(received: int) -> tracemalloc.Snapshot:
    """Python's live allocations now, without tracemalloc's own; a ``TRACE`` line says when."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    traced, _ = tracemalloc.get_traced_memory()
    print(f"TRACE at {received:,} messages: {traced / 2**20:.1f} MiB traced", flush=True)
    return snapshot


def print_trace_growth(old: tracemalloc.Snapshot, new: tracemalloc.Snapshot, top: int) -> None:
    """The ``top`` allocation sites that grew most from ``old`` to ``new``, as ``TRACE`` lines."""
    growth = new.compare_to(old, "lineno")
    total = sum(stat.size_diff for stat in growth)
    print(f"TRACE growth in all: {total / 2**20:+.2f} MiB", flush=True)
    for stat in growth[:top]:
        print(f"TRACE {stat}", flush=True)


def run(args: argparse.Namespace) -> None:
    """Show the app's window, measure, and print one ``RESULT {json}`` line."""

    class FirstPaint(QObject):
        """Notes when the message list has painted rows for the first time."""

        def __init__(self, window: MainWindow, done: asyncio.Future[float]) -> None:
            super().__init__(window)
            self.window = window
            self.done = done

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if (
                event.type() == QEvent.Type.Paint
                and not self.done.done()
                and self.window.messages.rowCount() > 0
            ):
                # A zero timer fires once this paint has finished.
                QTimer.singleShot(0, self._painted)
            return False

        def _painted(self) -> None:
            if not self.done.done():
                self.done.set_result(time.monotonic())

    if args.tracemalloc_at:
        tracemalloc.start()
    app = QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    async def main() -> dict[str, Any]:
        cache = ChatCache.open(Path(args.cache))
        controller = ChatController(
            cache, server_url=args.url, username=args.username, token=args.token
        )
        window = MainWindow(controller)
        result: dict[str, Any] = {}
        try:
            if args.child == "launch":
                painted: asyncio.Future[float] = loop.create_future()
                watcher = FirstPaint(window, painted)
                window.view.viewport().installEventFilter(watcher)
                window.show()
                if window.messages.rowCount() == 0:
                    # An empty cache paints no rows: the first paint is the baseline.
                    await asyncio.sleep(0)
                    app.processEvents()
                    result["first_paint_mono"] = time.monotonic()
                else:
                    async with asyncio.timeout(60):
                        result["first_paint_mono"] = await painted
                await asyncio.sleep(0.5)
                result["rss_bytes"] = rss_bytes()
                result["rows_shown"] = window.messages.rowCount()
            elif args.child == "memory":
                window.show()
                await connect(controller, args.url)
                await sample_memory(cache, window, args)
            else:
                window.show()
                await connect(controller, args.url)
                ticks: list[tuple[float, float]] = []
                last = [time.monotonic()]

                def tick() -> None:
                    now = time.monotonic()
                    ticks.append((now, (now - last[0]) * 1000 - TICK_MS))
                    last[0] = now

                timer = QTimer()
                timer.setTimerType(Qt.TimerType.PreciseTimer)
                timer.timeout.connect(tick)
                timer.start(TICK_MS)
                print("READY", flush=True)
                # Ticks go out as they come: should the app die mid-burst, what
                # it measured until then is not lost with it.
                for _ in range(int(args.run_seconds / 0.25)):
                    await asyncio.sleep(0.25)
                    rows = window.messages.rowCount()
                    print("TICKS " + json.dumps({"ticks": ticks, "rows": rows}), flush=True)
                    ticks.clear()
                timer.stop()
        finally:
            window.shut_down()
            await controller.close()
            cache.close()
        return result

    with loop:
        result = loop.run_until_complete(main())
    print("RESULT " + json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--child", choices=["launch", "burst", "memory"], required=True)
    parser.add_argument("--cache", required=True, help="the cache file to open")
    parser.add_argument("--url", default="http://127.0.0.1:9", help="server (burst)")
    parser.add_argument("--username", default="bench")
    parser.add_argument("--token", default="offline")
    parser.add_argument(
        "--run-seconds", type=float, default=5.0, help="burst: how long; memory: at most"
    )
    parser.add_argument("--sample-every", type=float, default=1.0, help="memory: seconds")
    parser.add_argument(
        "--tracemalloc-at",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[],
        help="memory: trace Python's allocations, snapshot at these two message counts",
    )
    parser.add_argument("--tracemalloc-top", type=int, default=20, help="memory: sites shown")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
