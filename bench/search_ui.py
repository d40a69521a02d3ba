"""Search in the app (issue 14): how long the window's loop waits while the cache is searched.

The search panel asks :class:`chat_desktop.controller.search.MessageSearch`,
which runs the cache's search on a worker thread. This fills a real cache
with ``--cached`` messages (100,000 by default, through ``save_messages``,
index triggers and all) and runs ``--queries`` one-, two- and three-word
queries over every room two ways, on one asyncio loop that stands for the
window's (under qasync it is Qt's), after a baseline:

- **no search**: the same pauses without searching: how late the loop wakes
  on this machine anyway (a busy machine makes every figure worse);
- **on the loop**: ``ChatCache.search`` called right there, as a slot would;
- **MessageSearch**: the controller's part, the cache's answer awaited.

Meanwhile a heartbeat on the loop wakes every ``--tick`` ms and records how
late it woke: the longest lateness is the longest time the window could not
paint or take a key. Target (issue 14): never above 50 ms. No assertion:
``python -m bench.search_ui [--cached 100000 --queries 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from bench import harness
from bench.search import WORDS_PER_QUERY, Corpus, _rows
from chat_desktop.controller.search import MessageSearch, SearchAnswer
from chat_desktop.controller.tasks import TaskGroup
from chat_desktop.storage import ChatCache
from chat_protocol import Message


class _Offline:
    """The part of a Connection MessageSearch asks before the server: not connected."""

    def can_send(self) -> bool:
        return False


def fill(path: Path, count: int, rooms: int) -> tuple[ChatCache, Corpus]:
    corpus = Corpus(seed=15)
    cache = ChatCache.open(path)
    messages = [
        Message(room=f"room{room - 1}", seq=seq, client_id=c, author="bob", text=t, ts=ts)
        for _, room, seq, c, t, ts in _rows(corpus, count, list(range(1, rooms + 1)))
    ]
    for start in range(0, len(messages), 500):
        cache.save_messages(messages[start : start + 500])
    return cache, corpus


async def heartbeat(tick: float, lateness: list[int], stop: asyncio.Event) -> None:
    """Wake every ``tick`` s; record how late each wake-up was (ns)."""
    while not stop.is_set():
        planned = time.perf_counter_ns() + int(tick * 1e9)
        await asyncio.sleep(tick)
        lateness.append(max(0, time.perf_counter_ns() - planned))


async def measure(cache: ChatCache, queries: list[str], tick: float) -> list[dict[str, Any]]:
    rows = []
    tasks = TaskGroup()
    answers: asyncio.Queue[SearchAnswer] = asyncio.Queue()
    search = MessageSearch(
        cache,
        _Offline(),
        tasks,
        token="",
        on_results=answers.put_nowait,  # type: ignore[arg-type]
    )
    for how in ("no search", "on the loop", "MessageSearch"):
        lateness: list[int] = []
        answered: list[int] = []
        stop = asyncio.Event()
        beat = asyncio.create_task(heartbeat(tick, lateness, stop))
        for query in queries:
            started = time.perf_counter_ns()
            if how == "on the loop":
                cache.search(query)
            elif how == "MessageSearch":
                search.search(query)
                await answers.get()
            answered.append(time.perf_counter_ns() - started)
            # One tick between queries, as a typist's pause would give.
            await asyncio.sleep(tick)
        stop.set()
        await beat
        rows.append(
            {
                "how": how,
                "answer": harness.summary(answered),
                "loop_late": harness.summary(lateness),
            }
        )
    search.cancel()
    await tasks.close()
    return rows


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with harness.temp_dir() as folder:
        started = time.perf_counter()
        cache, corpus = fill(folder / "cache.sqlite3", args.cached, args.rooms)
        print(f"filled {args.cached:,} messages in {time.perf_counter() - started:.1f} s")
        try:
            queries = [q for words in WORDS_PER_QUERY for q in corpus.queries(words, args.queries)]
            rows = await measure(cache, queries, args.tick)
        finally:
            cache.close()
    harness.print_table(
        f"Cache search over {args.cached:,} messages, every room, {len(queries)} queries",
        ["how", "answer p50 ms", "answer p99 ms", "loop late p99 ms", "loop late max ms"],
        [
            [
                row["how"],
                f"{row['answer']['p50_ms']:.2f}",
                f"{row['answer']['p99_ms']:.2f}",
                f"{row['loop_late']['p99_ms']:.2f}",
                f"{row['loop_late']['max_ms']:.2f}",
            ]
            for row in rows
        ],
    )
    return {"benchmark": "search_ui", "args": vars(args), "rows": rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cached", type=int, default=100_000, help="messages in the cache")
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--queries", type=int, default=100, help="queries per word count")
    parser.add_argument("--tick", type=float, default=0.005, help="heartbeat period (s)")
    parser.add_argument("--json", help="also write the figures to this file")
    harness.execute(run, parser.parse_args(argv))


if __name__ == "__main__":
    main()
