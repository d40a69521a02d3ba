"""Our server as the benchmarks run it: ``ChatServer`` in its own process, SQLite on disk.

The same :class:`chat_server.app.ChatServer` that ``chat-server`` runs, with
the same store (a real SQLite file in ``--data-dir``, group commit, durable
before broadcast), started through its Python API so that a benchmark can set
the per-user message rate: the throughput benchmark's few senders each send
far more than the contract's 10 messages/s, and with the default limit they
would measure the rate limiter. The limiter still runs; only its rate differs.
The registration burst is raised too, since every account comes from one
address. Every other limit keeps the contract's default.

``--db URL`` puts the log in PostgreSQL instead of the SQLite file, and
``--redis URL`` makes the process one of several servers of one chat
(bench.cluster runs one, two and three of them on one database and Redis).

``--without-search-index`` stores messages without their search index rows
(the index table is still there, left empty): how bench.search measures what
the index adds to each message's write.

Run: ``python -m bench.ours_server --data-dir DIR [--messages-per-second R]``;
logs "listening on http://127.0.0.1:PORT" and stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import sys
import time
from pathlib import Path
from typing import Any

from chat_protocol import Limits
from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from chat_server.storage import open_store
from chat_server.storage.search_index import SearchIndex

# How often the loop-lag probe (--loop-lag) sets its timer.
LAG_INTERVAL_NS = 10_000_000


class _NoSearchIndex(SearchIndex):
    """The search index with its one hook in the append path turned into nothing."""

    def add(
        self,
        cursor: Any,
        room_id: int,
        seq: int,
        text: str,
        message_id: int | None = None,
        *,
        later: bool = False,
    ) -> int:
        return 0


async def _probe_loop_lag(path: Path, stop: asyncio.Event) -> None:
    """Every ``LAG_INTERVAL_NS``, how late the event loop ran a timer: written to ``path``.

    A chat message needs several turns of the loop (its frame, the store's
    answer, the fan-out), so how late a plain timer fires is the most direct
    measure of what uploads cost everyone else. Lines are
    ``monotonic_ns lag_ns``; ``time.monotonic_ns`` is one clock for every
    process of the machine, so a benchmark can split them into its phases.
    """
    lines: list[str] = []
    with open(path, "w", encoding="ascii") as sink:  # noqa: ASYNC230 (once, at start)
        while not stop.is_set():
            due = time.monotonic_ns() + LAG_INTERVAL_NS
            await asyncio.sleep(LAG_INTERVAL_NS / 1e9)
            now = time.monotonic_ns()
            lines.append(f"{now} {max(0, now - due)}\n")
            if len(lines) >= 100:
                sink.writelines(lines)
                sink.flush()
                lines.clear()
        sink.writelines(lines)


async def serve(
    config: ServerConfig, search_index: bool = True, loop_lag: Path | None = None
) -> None:
    """Run until SIGTERM or SIGINT, then stop the server cleanly (pending writes finish)."""
    store = open_store(config)
    if not search_index:
        store.search_index = _NoSearchIndex(store.database)
    server = ChatServer(config, store)
    await server.start()
    print(f"chat server listening on {server.base_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    probe = asyncio.create_task(_probe_loop_lag(loop_lag, stop)) if loop_lag else None
    try:
        await stop.wait()
    finally:
        if probe is not None:
            await probe
        # For bench.handoffs: how many commits there were, and how many of
        # them the event loop made itself (issue 17; 0 before that change).
        commits, inline = store.commits, getattr(store, "inline_commits", 0)
        await server.stop()
        print(f"commits: {commits}, on the loop: {inline}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--db", help="postgresql://... instead of SQLite in --data-dir")
    parser.add_argument(
        "--files-dir", type=Path, help="uploaded files here instead of DATA_DIR/files"
    )
    parser.add_argument("--redis", help="redis://...: one of several servers of one chat")
    parser.add_argument("--name", default="bench", help="the server name clients are shown")
    parser.add_argument("--messages-per-second", type=float, default=Limits().messages_per_second)
    parser.add_argument(
        "--switch-interval",
        type=float,
        help="sys.setswitchinterval for a diagnosis (GIL hand-over between the loop and the"
        " storage thread); default: Python's 5 ms",
    )
    parser.add_argument(
        "--loop-lag",
        type=Path,
        help="write how late a 10 ms timer fires to this file (monotonic_ns lag_ns per line)",
    )
    parser.add_argument(
        "--without-search-index",
        action="store_true",
        help="store messages without search index rows (bench.search's write cost baseline)",
    )
    args = parser.parse_args()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    rate = args.messages_per_second
    limits = dataclasses.replace(
        Limits(), messages_per_second=rate, message_burst=max(Limits().message_burst, int(rate))
    )
    config = ServerConfig(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        db_url=args.db,
        files_dir=args.files_dir,
        redis_url=args.redis,
        name=args.name,
        limits=limits,
        # The harness signs up every sender and reader from this one address:
        # more than the burst a stranger gets. The benchmarks measure chat,
        # not the registration limit.
        registration_burst=100_000,
    )
    asyncio.run(serve(config, search_index=not args.without_search_index, loop_lag=args.loop_lag))


if __name__ == "__main__":
    main()
