"""Memory over a long day: the app's RSS after 1,000, after 100,000 messages, and in a soak.

The app is the real thing in a process of its own (``python -m
bench.client_app --child memory``: ``ChatCache``, ``ChatController`` and the
shown ``MainWindow``, Qt offscreen), connected to our server (a subprocess)
as ``reader0``; it reports its RSS, the messages its cache holds, the rows
its window shows and the objects Python's garbage collector tracks, every
``--sample-every`` seconds. One session, three phases:

1. **first**: ``--first`` messages (1,000) arrive in ``general``, the room on
   screen; once all are in and the app has settled, its RSS is the reference;
2. **bulk**: more arrive in ``general`` until ``--messages`` (100,000) in all,
   at up to ``--rate`` messages/s; the RSS once they are in and settled;
3. **soak**: ``--soak-minutes`` of simulated office traffic: ``--soak-rate``
   messages/s over ``--rooms`` rooms, each announced by its author typing, and
   every ``--presence-every`` seconds a colleague coming online and another
   going offline; the RSS all along, its peak and its end.

Each figure is compared with the reference; issue 16's target is within 10%.
The count of objects the collector tracks is the secondary figure: it does
not move with the allocator's caching, so growth there is growth of the app's
own state. Messages are sent by lean clients (:mod:`bench.wire`) in this
process, never more than ``WINDOW`` ahead of what the app has stored, so that
the server never drops the app as a slow consumer.

With ``--tracemalloc-top N`` the app traces Python's allocations and prints
the N sites that grew most between the first phase's mark and
``--tracemalloc-until`` messages (5,000: the one-off rise is over by then);
tracing slows the app, so its RSS figures are not comparable then.

Run: ``python -m bench.client_memory`` (the 100,000 take a few minutes) or,
quickly, ``python -m bench.client_memory --messages 3000 --soak-minutes 0.2``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from bench import harness, wire

GROWTH_TARGET = 0.10
# Messages the senders may be ahead of what the app has stored; below the
# server's per-connection queue (Limits.max_queued_events, 1000).
WINDOW = 500
# Each phase mark waits this long after the last message is stored: the app's
# batches and repaints are done, the allocator has had its say.
SETTLE_S = 2.0


class App:
    """The app's process: its latest ``MEM`` sample and every sample so far."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.samples: list[dict[str, Any]] = []
        self.changed = asyncio.Event()
        self.other: list[str] = []

    @property
    def received(self) -> int:
        return self.samples[-1]["received"] if self.samples else 0

    async def read(self, ready: asyncio.Future[None]) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            if line == "READY":
                ready.set_result(None)
            elif line.startswith("TRACE "):
                print(line, flush=True)
            elif line.startswith("MEM "):
                self.samples.append(json.loads(line[4:]))
                self.changed.set()
            elif not line.startswith("RESULT "):
                self.other.append(line)
        if not ready.done():
            ready.set_exception(RuntimeError("the app ended:\n" + "\n".join(self.other[-20:])))
        self.changed.set()

    async def next_sample(self) -> dict[str, Any]:
        self.changed.clear()
        if self.proc.returncode is None:
            async with asyncio.timeout(60):
                await self.changed.wait()
        if self.proc.stdout is not None and self.proc.stdout.at_eof():
            raise RuntimeError("the app ended:\n" + "\n".join(self.other[-20:]))
        return self.samples[-1]

    async def caught_up(self, sent: int, within: float = 300.0) -> dict[str, Any]:
        """Wait until the app has stored ``sent`` messages, then settle; the sample then."""
        async with asyncio.timeout(within):
            while self.received < sent:
                await self.next_sample()
            deadline = time.monotonic() + SETTLE_S
            sample = await self.next_sample()
            while time.monotonic() < deadline:
                sample = await self.next_sample()
        return sample


@contextlib.asynccontextmanager
async def app_process(
    folder: Path, port: int, token: str, args: argparse.Namespace
) -> AsyncIterator[App]:
    """The app connected as reader0, READY; stopped (stdin closed, then killed) on the way out."""
    trace: list[str] = []
    if args.tracemalloc_top:
        marks = f"{args.first},{args.tracemalloc_until}"
        trace = ["--tracemalloc-at", marks, "--tracemalloc-top", str(args.tracemalloc_top)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.client_app",
        *("--child", "memory", "--cache", str(folder / "memory.sqlite3")),
        *("--url", f"http://{harness.HOST}:{port}", "--username", "reader0"),
        # "=": a token may begin with "-", which argparse would take for an option.
        f"--token={token}",
        *("--run-seconds", "86400", "--sample-every", str(args.sample_every)),
        *trace,
        cwd=harness.REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    app = App(proc)
    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    reader = asyncio.create_task(app.read(ready))
    try:
        async with asyncio.timeout(60):
            await ready
        yield app
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            async with asyncio.timeout(30):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
        await reader


class Traffic:
    """Lean senders in this process that write chat events as the app's peers would."""

    def __init__(self, senders: list[wire.RawClient], app: App, rate: float) -> None:
        self.senders = senders
        self.app = app
        self.rate = rate
        self.sent = 0

    def message(self, room: str) -> None:
        sender = self.senders[self.sent % len(self.senders)]
        self.sent += 1
        n = self.sent
        # Chat lines of 20 to 200 characters.
        text = wire.message_text(time.monotonic_ns(), 0, 20 + n * 37 % 181)
        frame = {"type": "message", "room": room, "client_id": f"mem-{n}", "text": text}
        sender.write_text(json.dumps(frame).encode())

    def typing(self, room: str, active: bool) -> None:
        sender = self.senders[self.sent % len(self.senders)]
        sender.write_text(json.dumps({"type": "typing", "room": room, "active": active}).encode())

    async def burst(self, until: int, room: str) -> None:
        """Send to ``room`` until ``until`` messages in all, at ``rate``, within the window."""
        loop = asyncio.get_running_loop()
        t0, first = loop.time(), self.sent
        while self.sent < until:
            while self.sent - self.app.received >= WINDOW:
                await self.app.next_sample()
                t0, first = loop.time(), self.sent
            delay = t0 + (self.sent - first) / self.rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.message(room)


async def soak(
    traffic: Traffic,
    app: App,
    args: argparse.Namespace,
    rooms: list[str],
    visitors: list[str],
    port: int,
) -> list[dict[str, Any]]:
    """Office traffic for ``soak_minutes``: typing then a message, colleagues coming and going."""
    loop = asyncio.get_running_loop()
    start = len(app.samples)
    end = loop.time() + args.soak_minutes * 60
    online: list[wire.RawClient] = []
    next_presence = loop.time()
    k = 0
    try:
        while loop.time() < end:
            room = rooms[k % len(rooms)]
            traffic.typing(room, True)
            await asyncio.sleep(0.5 / args.soak_rate)
            traffic.message(room)
            await asyncio.sleep(0.5 / args.soak_rate)
            k += 1
            if loop.time() >= next_presence and visitors:
                # One colleague comes online, the one before goes offline.
                endpoint = wire.Endpoint("ours", harness.HOST, port, (visitors[k % len(visitors)],))
                online += await wire.connect(endpoint, 1, wire.Sink())
                if len(online) > 1:
                    online.pop(0).close()
                next_presence += args.presence_every
    finally:
        for client in online:
            client.close()
    await app.caught_up(traffic.sent)
    return app.samples[start:]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    harness.raise_file_limit()
    rooms = ["general"] + [f"room{i}" for i in range(1, args.rooms)]
    visitors_n = 4
    with harness.temp_dir() as folder:
        async with harness.open_targets(
            ["ours"],
            senders=args.senders,
            receiver_users=1 + visitors_n,
            messages_per_second=max(args.rate, 10.0),
        ) as (target,):
            async with aiohttp.ClientSession(f"http://{harness.HOST}:{target.port}") as http:
                auth = {"Authorization": f"Bearer {target.sender_tokens[0]}"}
                for room in rooms[1:]:
                    async with http.post("/api/v1/rooms", json={"name": room}, headers=auth) as r:
                        r.raise_for_status()
            senders = await wire.connect(target.senders(), args.senders, wire.Sink())
            try:
                async with app_process(folder, target.port, target.receiver_tokens[0], args) as app:
                    traffic = Traffic(senders, app, args.rate)
                    started = time.monotonic()
                    await traffic.burst(args.first, "general")
                    first = await app.caught_up(traffic.sent)
                    print(f"first {traffic.sent:,}: RSS {first['rss'] / 2**20:.1f} MiB", flush=True)
                    await traffic.burst(args.messages, "general")
                    bulk = await app.caught_up(traffic.sent, within=args.messages / 10 + 300)
                    bulk_s = time.monotonic() - started
                    print(
                        f"{traffic.sent:,} in {bulk_s:.0f} s: RSS {bulk['rss'] / 2**20:.1f} MiB",
                        flush=True,
                    )
                    visitors = list(target.receiver_tokens[1:])
                    soaked = await soak(traffic, app, args, rooms, visitors, target.port)
            finally:
                for sender in senders:
                    sender.close()
    figures = summarise(first, bulk, soaked, args, bulk_s, app.samples)
    report(figures)
    return {
        "benchmark": "client_memory",
        "args": vars(args),
        "figures": figures,
        "rows": figures["rows"],
        # (seconds into the session, RSS MiB, messages stored), for the chart.
        "samples": [
            (round(s["t"] - app.samples[0]["t"], 2), round(s["rss"] / 2**20, 2), s["received"])
            for s in app.samples
        ],
    }


def summarise(
    first: dict[str, Any],
    bulk: dict[str, Any],
    soaked: list[dict[str, Any]],
    args: argparse.Namespace,
    bulk_s: float,
    samples: list[dict[str, Any]],
) -> dict[str, Any]:
    """Each phase's RSS and tracked objects beside the first phase's.

    Also the slope over the bulk from a tenth of it on, per 10,000 messages:
    a leak grows with every message, while a one-off rise (the allocator's
    and Qt's high-water mark once messages stream in) does not.
    """
    peak = max(soaked, key=lambda s: s["rss"])
    tenth = next(s for s in samples if s["received"] >= bulk["received"] // 10)
    counted = bulk["received"] - tenth["received"]
    slope = (bulk["rss"] - tenth["rss"]) / counted * 10_000 / 2**20 if counted else float("nan")

    def row(label: str, sample: dict[str, Any]) -> dict[str, Any]:
        growth = sample["rss"] / first["rss"] - 1
        return {
            "phase": label,
            "received": sample["received"],
            "rss_mib": sample["rss"] / 2**20,
            "rss_growth_pct": 100 * growth,
            "objects": sample["objects"],
            "objects_growth_pct": 100 * (sample["objects"] / first["objects"] - 1),
            "rows_shown": sample["rows"],
            "within_target": growth <= GROWTH_TARGET,
        }

    rows = [
        row(f"after the first {first['received']:,}", first),
        row(f"after {bulk['received']:,}", bulk),
        row(f"soak {args.soak_minutes:g} min, peak", peak),
        row(f"soak {args.soak_minutes:g} min, end", soaked[-1]),
    ]
    return {
        "rows": rows,
        "first_rss_mib": rows[0]["rss_mib"],
        "bulk_messages": bulk["received"],
        "bulk_growth_pct": rows[1]["rss_growth_pct"],
        "soak_minutes": args.soak_minutes,
        "soak_peak_growth_pct": rows[2]["rss_growth_pct"],
        "soak_end_growth_pct": rows[3]["rss_growth_pct"],
        "soak_growth_pct": 100 * (soaked[-1]["rss"] / bulk["rss"] - 1),
        "bulk_seconds": bulk_s,
        "slope_from": tenth["received"],
        "slope_mib_per_10k": slope,
        "target_pct": 100 * GROWTH_TARGET,
    }


HEADERS = (
    *("phase", "messages stored", "RSS MiB", "vs first"),
    *("GC objects", "vs first", "rows shown"),
)


def table_rows(f: dict[str, Any]) -> list[tuple[Any, ...]]:
    """One line per phase under :data:`HEADERS`, for the console and for bench.report."""
    return [
        (
            r["phase"],
            r["received"],
            r["rss_mib"],
            f"{r['rss_growth_pct']:+.1f}%",
            r["objects"],
            f"{r['objects_growth_pct']:+.1f}%",
            r["rows_shown"],
        )
        for r in f["rows"]
    ]


def report(f: dict[str, Any]) -> None:
    harness.print_table("The app's memory in one session (Qt offscreen)", HEADERS, table_rows(f))
    print(outcome(f))
    print(f"target: every phase within {f['target_pct']:.0f}% of the first")


def outcome(f: dict[str, Any]) -> str:
    """The slope of the bulk and the soak's own growth, in a sentence."""
    return (
        f"From {f['slope_from']:,} messages on, RSS grew {f['slope_mib_per_10k']:+.2f} MiB per"
        f" 10,000 messages; the soak itself moved it by {f['soak_growth_pct']:+.1f}%."
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--first", type=int, default=1000, help="messages of the reference")
    parser.add_argument("--messages", type=int, default=100_000, help="messages in all (bulk)")
    parser.add_argument("--rate", type=float, default=1000.0, help="bulk messages/s at most")
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--soak-minutes", type=float, default=1.0)
    parser.add_argument("--soak-rate", type=float, default=5.0, help="soak messages/s")
    parser.add_argument("--rooms", type=int, default=5, help="rooms the soak talks in")
    parser.add_argument("--presence-every", type=float, default=10.0, help="soak: seconds")
    parser.add_argument("--sample-every", type=float, default=1.0, help="seconds between samples")
    parser.add_argument(
        "--tracemalloc-top",
        type=int,
        default=0,
        help="print the Python allocation sites that grew most (0: do not trace)",
    )
    parser.add_argument(
        "--tracemalloc-until", type=int, default=5000, help="messages of the second snapshot"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    harness.execute(run, parse_args(argv))


if __name__ == "__main__":
    main()
