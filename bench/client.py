"""The desktop client: launch to first paint over a big cache, memory, UI stalls, cache writes.

Four figures, each beside a baseline measured in the same run:

1. **Cache write throughput**: ``ChatCache.save_messages`` in batches (the
   controller saves a burst as one batch) filling a cache with ``--messages``
   messages (100,000), against the floor: plain ``sqlite3.executemany`` of the
   same rows into a table of the same shape, WAL and synchronous=NORMAL like
   the cache.
2. **Launch to first paint**: a fresh process (``python -m bench.client_app
   --child launch``) imports the app, opens that cache, builds the
   ``ChatController`` and ``MainWindow`` as ``chat-desktop`` does and shows it
   (Qt offscreen); the time from spawning the process to the end of the first
   paint of the message list with rows in it. Baseline: the same with an
   empty cache.
3. **Memory with them loaded**: that process's RSS once painted, 100,000
   cached messages against an empty cache.
4. **Longest UI stall while messages arrive**: a client process connected to
   our server (a subprocess) with the window shown; a 5 ms Qt timer records
   how late each tick fires. ``--burst-rate`` messages/s (500) arrive for
   ``--burst-seconds`` from senders in this process. Baseline: the same
   window in the same process, idle, just before the burst.

Run: ``python -m bench.client`` or, quickly,
``python -m bench.client --messages 2000 --burst-seconds 1``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from bench import harness, wire
from bench.client_app import TICK_MS
from chat_protocol import Message

AUTHORS = [f"user{i}" for i in range(20)]
WORDS = [
    "the",
    "build",
    "is",
    "green",
    "again",
    "after",
    "we",
    "pinned",
    "the",
    "compiler",
    "and",
    "moved",
    "the",
    "cache",
]
FIRST_PAINT_TARGET_S = 0.5
STALL_TARGET_MS = 50.0


def make_messages(count: int, room: str = "general") -> list[Message]:
    """``count`` plausible messages of varied length, seq 1..count."""
    out = []
    for seq in range(1, count + 1):
        words = WORDS[: 3 + seq % 12] * (1 + seq % 3)
        ts = f"2026-11-{1 + seq // 86400 % 28:02d}T{seq // 3600 % 24:02d}:{seq // 60 % 60:02d}:"
        out.append(
            Message(
                room=room,
                seq=seq,
                client_id=f"c{seq}",
                author=AUTHORS[seq % len(AUTHORS)],
                text=" ".join(words),
                ts=ts + f"{seq % 60:02d}.000Z",
            )
        )
    return out


def write_cache(path: Path, messages: list[Message], batch: int) -> float:
    """Fill a ChatCache at ``path``; messages per second."""
    from chat_desktop.storage import ChatCache

    cache = ChatCache.open(path)
    try:
        started = time.perf_counter()
        for start in range(0, len(messages), batch):
            cache.save_messages(messages[start : start + batch])
        return len(messages) / (time.perf_counter() - started)
    finally:
        cache.close()


def write_sqlite_floor(path: Path, messages: list[Message], batch: int) -> float:
    """The same rows through plain sqlite3, one transaction per batch; messages per second."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=wal")
        db.execute("PRAGMA synchronous=normal")
        db.execute(
            "CREATE TABLE messages (id INTEGER PRIMARY KEY, room TEXT, seq INTEGER,"
            " client_id TEXT, author TEXT, text TEXT, ts TEXT, UNIQUE(room, seq))"
        )
        started = time.perf_counter()
        for start in range(0, len(messages), batch):
            with db:
                db.executemany(
                    "INSERT OR IGNORE INTO messages (room, seq, client_id, author, text, ts)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (m.room, m.seq, m.client_id, m.author, m.text, m.ts)
                        for m in messages[start : start + batch]
                    ],
                )
        return len(messages) / (time.perf_counter() - started)
    finally:
        db.close()


# The app in a child process (bench.client_app) -------------------------------------


async def run_child(argv: list[str], on_ready: Any = None) -> dict[str, Any]:
    """Start a child, optionally run ``on_ready()`` once it prints READY, return its RESULT.

    ``TICKS`` lines are gathered into ``ticks`` and ``rows_shown``. A child that
    dies (a crash is a finding, not an error of the benchmark) yields what it
    reported so far plus ``crash``: the lines that explain it.
    """
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.client_app",
        *argv,
        cwd=harness.REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    streamed: dict[str, Any] = {"ticks": [], "rows_shown": 0}
    sending: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(300):
            async for raw in proc.stdout:
                line = raw.decode(errors="replace").rstrip()
                if line == "READY" and on_ready is not None:
                    # Concurrently: the child's output must keep being read meanwhile.
                    sending = asyncio.create_task(on_ready())
                elif line.startswith("TICKS "):
                    part = json.loads(line[len("TICKS ") :])
                    streamed["ticks"] += part["ticks"]
                    streamed["rows_shown"] = part["rows"]
                elif line.startswith("RESULT "):
                    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
                    await proc.wait()
                    if sending is not None:
                        await sending
                    return {**streamed, **result}
                else:
                    lines.append(line)
        code = await proc.wait()
        if sending is not None:
            await sending
        if not streamed["ticks"]:
            raise RuntimeError("the client process ended without a result:\n" + "\n".join(lines))
        fatal = [line for line in lines if "Fatal" in line or "Error" in line]
        return {**streamed, "crash": f"exit {code}: " + " / ".join(fatal[:3] or lines[-3:])}
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


async def launch(cache: Path) -> dict[str, Any]:
    """Launch to first paint (s) and RSS for one cache file."""
    started = time.monotonic()
    result = await run_child(["--child", "launch", "--cache", str(cache)])
    return {
        "first_paint_s": result["first_paint_mono"] - started,
        "rss_bytes": result["rss_bytes"],
        "rows_shown": result["rows_shown"],
    }


async def burst(folder: Path, rate: float, seconds: float, idle: float) -> dict[str, Any]:
    """Longest UI stall while ``rate`` messages/s arrive, and while idle before that."""
    harness.raise_file_limit()
    senders_n = max(1, int(rate // 100))
    # The limiter's rate is raised: a handful of senders make the whole burst.
    async with harness.open_targets(
        ["ours"], senders=senders_n, receiver_users=1, messages_per_second=rate
    ) as (target,):
        sink = wire.Sink()
        senders = await wire.connect(target.senders(), senders_n, sink)
        window: dict[str, float] = {}

        async def send_burst() -> None:
            window["idle_from"] = time.monotonic()
            await asyncio.sleep(idle)
            window["burst_from"] = time.monotonic()
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            count = int(rate * seconds)
            for k in range(count):
                delay = t0 + k / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                senders[k % senders_n].send_message(size=80)
            window["burst_to"] = time.monotonic()
            window["sent"] = count

        try:
            result = await run_child(
                [
                    "--child",
                    "burst",
                    "--cache",
                    str(folder / "burst.sqlite3"),
                    "--url",
                    f"http://{harness.HOST}:{target.port}",
                    "--username",
                    "reader0",
                    # "=": a token may begin with "-", which argparse would take for an option.
                    f"--token={target.receiver_tokens[0]}",
                    "--run-seconds",
                    str(idle + seconds + 1.5),
                ],
                on_ready=send_burst,
            )
        finally:
            for sender in senders:
                sender.close()
    ticks = result["ticks"]
    idle_stalls = [s for t, s in ticks if window["idle_from"] <= t < window["burst_from"]]
    # Until 1 s after the last send: the client may still be catching up.
    burst_ticks = [(t, s) for t, s in ticks if window["burst_from"] <= t < window["burst_to"] + 1]
    if "crash" in result:
        print(f"note: the client process died during the burst: {result['crash']}")
    return {
        "crash": result.get("crash", ""),
        "burst_rate": rate,
        "sent": window["sent"],
        "rows_shown": result["rows_shown"],
        "longest_stall_ms": max((s for _, s in burst_ticks), default=float("nan")),
        "idle_longest_stall_ms": max(idle_stalls, default=float("nan")),
        # (seconds into the burst, how late the tick was in ms), for the chart.
        "stalls_ms": [(round(t - window["burst_from"], 4), round(s, 2)) for t, s in burst_ticks],
        "burst_seconds": window["burst_to"] - window["burst_from"],
        "stall_tick_ms": TICK_MS,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    messages = make_messages(args.messages)
    with harness.temp_dir() as folder:
        ours_rate = write_cache(folder / "big.sqlite3", messages, args.batch)
        floor_rate = write_sqlite_floor(folder / "floor.sqlite3", messages, args.batch)
        write_cache(folder / "empty.sqlite3", [], args.batch)
        big = await launch(folder / "big.sqlite3")
        empty = await launch(folder / "empty.sqlite3")
        stalls = await burst(folder, args.burst_rate, args.burst_seconds, args.idle_seconds)
    figures = {
        "cached_messages": args.messages,
        "cache_writes_per_s": ours_rate,
        "sqlite_floor_writes_per_s": floor_rate,
        "first_paint_s": big["first_paint_s"],
        "empty_cache_first_paint_s": empty["first_paint_s"],
        "rss_mib": big["rss_bytes"] / 2**20,
        "empty_cache_rss_mib": empty["rss_bytes"] / 2**20,
        "rows_shown": big["rows_shown"],
        **stalls,
    }
    report(figures)
    return {"benchmark": "client", "args": vars(args), "figures": figures, "rows": [figures]}


def report(f: dict[str, Any]) -> None:
    """Print each figure beside its baseline and the issue's targets."""
    paint_ok = "met" if f["first_paint_s"] < FIRST_PAINT_TARGET_S else "missed"
    stall_ok = "met" if f["longest_stall_ms"] <= STALL_TARGET_MS else "missed"
    harness.print_table(
        "The desktop client (Qt offscreen)",
        ["figure", "ours", "baseline", "baseline is", "target"],
        [
            (
                "cache writes (messages/s)",
                f["cache_writes_per_s"],
                f["sqlite_floor_writes_per_s"],
                "plain sqlite3",
                "",
            ),
            (
                f"launch to first paint, {f['cached_messages']:,} cached (s)",
                f["first_paint_s"],
                f["empty_cache_first_paint_s"],
                "empty cache",
                f"{paint_ok} (< {FIRST_PAINT_TARGET_S} s)",
            ),
            (
                f"RSS, {f['cached_messages']:,} cached (MiB)",
                f["rss_mib"],
                f["empty_cache_rss_mib"],
                "empty cache",
                "",
            ),
            (
                f"longest UI stall at {f['burst_rate']:.0f} msg/s (ms)",
                f["longest_stall_ms"],
                f["idle_longest_stall_ms"],
                "idle, same window",
                f"{stall_ok} (<= {STALL_TARGET_MS:.0f} ms)",
            ),
        ],
    )
    print(f"burst: {f['sent']:,} messages sent, the window showed {f['rows_shown']:,} rows")
    if f["crash"]:
        print(f"the client died during the burst ({f['crash']}); stalls are those until then")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="messages in the cache")
    parser.add_argument("--batch", type=int, default=500, help="messages per save_messages call")
    parser.add_argument("--burst-rate", type=float, default=500.0, help="messages/s arriving")
    parser.add_argument("--burst-seconds", type=float, default=5.0)
    parser.add_argument("--idle-seconds", type=float, default=2.0, help="idle baseline first")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    harness.execute(run, parse_args(argv))


if __name__ == "__main__":
    main()
