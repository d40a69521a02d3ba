"""Send -> receive latency at a fixed message rate: ours (persistence on) beside the bare floor.

For each receiver count (10, 100 and 1,000 by default), our server (its
real SQLite store in a temporary directory, every message durable before it
is broadcast, default limits), the bare aiohttp broadcast server (the
floor), the same bare server with an fsynced SQLite commit before each
broadcast (the floor of any durable server), once on a writer thread
(:mod:`bench.baselines.bare_durable`) and once on its event loop
(:mod:`bench.baselines.bare_durable_loop`), python-socketio and Mosquitto get
the same clients in the same run, each measurement repeated (``--repeat``)
with the servers taking turns:

- ``--senders`` sender connections in this process share the rate
  (``--rate`` messages/s in total, 50 by default, paced by one clock) and each
  stays well under the contract's 10 messages/s per user;
- the receiving clients sit in a worker process (:mod:`bench.wire`): each
  frame costs them a header walk and one ``find`` for the send stamp, so the
  latency measured is the server's, not the clients' JSON parsing.
  ``--processes`` spreads them over more workers, ``--uvloop receivers``
  (or ``all``, senders too) runs them on uvloop, and ``--parse`` makes them
  decode every frame's JSON as an application would: the knobs that
  reproduce an outside harness's set-up (issue 17, ``bench/profiles.md``).
- ``--sender-library websockets`` sends through the ``websockets`` library
  (our app's client library) instead of the lean clients: a library frames
  and masks each message and reads every broadcast back, as a real client
  does (ours and the bare servers only).
- ``--ours-at CHECKOUT`` runs another checkout's server too (target
  ``ours_at``), taking turns with this one's: a change weighed against the
  code before it within each round, where the machine's load is the same
  for both (issue 17's changes were measured so).

Latency is CLOCK_MONOTONIC at the receiver minus the stamp the sender put in
the text just before writing the frame. Printed: p50, p99 and max per server
and size (medians over the repeats), and ours / each peer. Issue 5's target
is p99 at 100 clients x 50 messages/s no more than 1.25x the bare server's;
issue 17's, p50 within 0.3 ms of the on-loop durable floor and p99 at most
1.10x of it, at 100 and 1,000 clients.

Run: ``python -m bench.latency`` or, quickly,
``python -m bench.latency --clients 5 --duration 1 --warmup 0.5``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import os
import shlex
import sqlite3
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from bench import harness, wire

# ours_at (another checkout's server) runs only with --ours-at.
TARGETS = ("ours", "bare", "durable", "durable_loop", "socketio", "mqtt")
TARGET_CLIENTS = 100
TARGET_RATIO = 1.25
# Issue 17: how close to the on-loop durable floor, at these sizes.
FLOOR_CLIENTS = (100, 1000)
FLOOR_P50_MS = 0.3
FLOOR_P99_RATIO = 1.10


class Sender(Protocol):
    """A sending client: a lean :class:`bench.wire.RawClient` or a :class:`LibrarySender`."""

    def send_message(self) -> Awaitable[None] | None: ...


class LibrarySender:
    """A sender on the ``websockets`` library: frames, masks and reads back as a real client.

    The stamp goes into the text just before ``send`` is awaited, so the
    library's own work on the way out counts in the latency, as it would in
    a harness written with it. Broadcasts coming back are read (and
    discarded) by a task, or the server would stop writing to this socket;
    error events and a connection lost early count into ``sink``.
    """

    _serial = itertools.count()

    def __init__(self, ws: ClientConnection, sender: int, sink: wire.Sink) -> None:
        self.ws = ws
        self.sender = sender
        self.sink = sink
        self.closing = False
        self.sent = 0
        self._ids = f"lib{os.getpid()}-{next(self._serial)}-"
        self._reader = asyncio.create_task(self._drain())

    @classmethod
    async def open(cls, endpoint: wire.Endpoint, sender: int, sink: wire.Sink) -> LibrarySender:
        """Connect (and, on ours, say hello with the sender's own account)."""
        ws = await ws_connect(f"ws://{endpoint.host}:{endpoint.port}/ws", compression=None)
        if endpoint.dialect == "ours":
            await ws.send(wire.hello(endpoint.tokens[sender % len(endpoint.tokens)]))
            async with asyncio.timeout(30.0):
                while '"welcome"' not in str(await ws.recv()):
                    pass
        return cls(ws, sender + 1, sink)

    async def _drain(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in self.ws:
                if '"type":"error"' in str(frame):
                    self.sink.errors += 1
        if not self.closing:
            self.sink.lost += 1

    async def send_message(self) -> None:
        self.sent += 1
        text = wire.message_text(time.monotonic_ns(), self.sender, 64)
        await self.ws.send(wire.message_event(f"{self._ids}{self.sent}", text))

    async def close(self) -> None:
        self.closing = True
        await self.ws.close()
        await self._reader


async def open_senders(
    endpoint: wire.Endpoint, count: int, library: str, sink: wire.Sink
) -> list[Any]:
    """``count`` senders of the kind asked for (``raw``: lean clients, or ``websockets``)."""
    if library == "raw":
        return await wire.connect(endpoint, count, sink)
    if endpoint.dialect not in ("ours", "bare"):
        raise SystemExit(f"--sender-library {library}: ours and the bare servers only")
    opening = (LibrarySender.open(endpoint, i, sink) for i in range(count))
    return list(await asyncio.gather(*opening))


async def paced(senders: Sequence[Sender], rate: float, seconds: float) -> int:
    """Send ``rate`` messages/s round-robin over the senders for ``seconds``; return the count.

    Open loop on one schedule (message k at t0 + k / rate): a slow server
    meets the same offered load as a fast one. A late tick sends at once but
    does not bunch up to catch up beyond one message.
    """
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    count = int(rate * seconds)
    for k in range(count):
        delay = t0 + k / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        sending = senders[k % len(senders)].send_message()
        if sending is not None:
            await sending
    return count


async def measure(
    target: harness.Target,
    clients: int,
    senders: int,
    rate: float,
    warmup: float,
    duration: float,
    processes: int,
    profile: str | None = None,
    *,
    use_uvloop: bool = False,
    parse: bool = False,
    sender_library: str = "raw",
) -> dict[str, Any]:
    """Latency of one server at one size; returns its figures.

    With ``profile`` (a file name) and our server, py-spy records it meanwhile.
    ``use_uvloop`` and ``parse`` are the receivers' (:class:`harness.ReceiverPool`).
    """
    pool = harness.ReceiverPool(target.receivers(), processes, use_uvloop=use_uvloop, parse=parse)
    sending: list[Any] = []
    try:
        await pool.connect(clients)
        sink = wire.Sink()
        sending = await open_senders(target.senders(), senders, sender_library, sink)
        await paced(sending, rate, warmup)
        since = time.monotonic_ns()
        await pool.record(True, since)
        started = time.monotonic()
        cpu0 = target.stats.cpu_seconds()
        svg = f"{profile}-latency-{clients}.svg" if profile and target.name == "ours" else None
        with harness.py_spy(target.stats.pid, svg, duration):
            sent = await paced(sending, rate, duration)
        cpu = target.stats.cpu_seconds() - cpu0
        # Let the last messages arrive before counting stops; bounded.
        expected = sent * clients
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            if await pool.record(True, since) >= expected:
                break
        await pool.record(False, since)
        elapsed = time.monotonic() - started
        result = await pool.result()
        stats = harness.summary(result["latencies"])
        return {
            "target": target.name,
            "clients": clients,
            "senders": senders,
            "rate": sent / duration,
            "sent": sent,
            "deliveries": result["deliveries"],
            "expected": expected,
            "errors": result["errors"] + sink.errors,
            "lost": result["lost"] + sink.lost,
            "elapsed": elapsed,
            "server_cpu_pct": cpu / duration * 100,
            **stats,
        }
    finally:
        for client in sending:
            closing = client.close()
            if closing is not None:
                await closing
        pool.close()


def durable_commits(folder: Path, count: int = 300) -> dict[str, float]:
    """Latency of one-row SQLite commits with the WAL fsynced (``synchronous=FULL``).

    The floor that "stored durably before anyone hears of it" puts under our
    latency on this disk, measured in the same run: the bare server skips it.
    """
    db = sqlite3.connect(folder / "commits.sqlite3", isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=wal")
        db.execute("PRAGMA synchronous=full")
        db.execute("CREATE TABLE t (x INTEGER)")
        times = []
        for i in range(count):
            started = time.perf_counter_ns()
            db.execute("BEGIN")
            db.execute("INSERT INTO t VALUES (?)", (i,))
            db.execute("COMMIT")
            times.append(time.perf_counter_ns() - started)
    finally:
        db.close()
    return harness.summary(times)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    harness.raise_file_limit()
    senders = args.senders or max(1, math.ceil(args.rate / 5))
    runs: list[dict[str, Any]] = []
    async with harness.open_targets(
        args.targets,
        senders=senders,
        ours_args=shlex.split(args.ours_args),
        ours_at=args.ours_at,
    ) as targets:
        for clients in args.clients:
            for target in harness.in_turns(targets, args.repeat):
                runs.append(
                    await measure(
                        target,
                        clients,
                        senders,
                        args.rate,
                        args.warmup,
                        args.duration,
                        args.processes,
                        args.profile,
                        use_uvloop=args.uvloop != "off",
                        parse=args.parse,
                        sender_library=args.sender_library,
                    )
                )
    with harness.temp_dir() as folder:
        disk = durable_commits(folder)
    rows = harness.medians(runs, ("target", "clients"))
    report(rows)
    print(
        f"durable SQLite commit on this disk (WAL, synchronous=FULL): p50 {disk['p50_ms']:.2f} ms,"
        f" p99 {disk['p99_ms']:.2f} ms, max {disk['max_ms']:.2f} ms"
    )
    return {
        "benchmark": "latency",
        "args": harness.plain(vars(args)),
        "rows": rows,
        "runs": runs,
        "durable_commit": disk,
    }


def report(rows: list[dict[str, Any]]) -> None:
    """Print the latency table and ours / bare at each size, with the issue's target."""
    harness.print_table(
        "Send -> receive latency (same clients, same offered rate for every server)",
        [
            "server",
            "receivers",
            "senders",
            "msg/s",
            "delivered",
            "of",
            "p50 ms",
            "p99 ms",
            "max ms",
            "server CPU %",
            "errors",
        ],
        [
            (
                harness.LABELS[r["target"]],
                r["clients"],
                r["senders"],
                r["rate"],
                r["deliveries"],
                r["expected"],
                r["p50_ms"],
                r["p99_ms"],
                r["max_ms"],
                r["server_cpu_pct"],
                r["errors"],
            )
            for r in rows
        ],
    )
    ratios = []
    for clients in sorted({r["clients"] for r in rows}):
        at = {r["target"]: r for r in rows if r["clients"] == clients}
        if "ours" not in at:
            continue
        for peer, peer_row in at.items():
            if peer == "ours":
                continue
            p99 = harness.ratio(at["ours"]["p99_ms"], peer_row["p99_ms"])
            p50_gap = at["ours"]["p50_ms"] - peer_row["p50_ms"]
            verdict = ""
            if clients == TARGET_CLIENTS and peer == "bare":
                verdict = "met" if p99 <= TARGET_RATIO else "missed"
                verdict += f" (target p99 <= {TARGET_RATIO}x bare)"
            if clients in FLOOR_CLIENTS and peer == "durable_loop":
                met = p50_gap <= FLOOR_P50_MS and p99 <= FLOOR_P99_RATIO
                verdict = "met" if met else "missed"
                verdict += f" (target p50 +{FLOOR_P50_MS} ms, p99 <= {FLOOR_P99_RATIO}x)"
            ratios.append(
                (
                    f"ours / {harness.LABELS[peer]}",
                    clients,
                    harness.ratio(at["ours"]["p50_ms"], peer_row["p50_ms"]),
                    p50_gap,
                    p99,
                    harness.ratio(at["ours"]["max_ms"], peer_row["max_ms"]),
                    verdict,
                )
            )
    if ratios:
        harness.print_table(
            "Latency ratios (1.0 = as fast as the peer; below 1: ours is faster)",
            ["ratio", "receivers", "p50", "p50 ours - peer ms", "p99", "max", "target"],
            ratios,
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=harness.sizes, default=[10, 100, 1000])
    parser.add_argument("--targets", type=lambda s: s.split(","), default=list(TARGETS))
    parser.add_argument("--rate", type=float, default=50.0, help="messages/s, all senders")
    parser.add_argument(
        "--senders",
        type=int,
        default=0,
        help="sender connections, one account each (default: one per 5 msg/s)",
    )
    parser.add_argument(
        "--uvloop",
        choices=("off", "receivers", "all"),
        default="off",
        help="run the receiver workers (all: and the senders) on uvloop",
    )
    parser.add_argument(
        "--parse", action="store_true", help="receivers decode each frame's JSON (default: raw)"
    )
    parser.add_argument(
        "--sender-library",
        choices=("raw", "websockets"),
        default="raw",
        help="send through lean clients (raw) or the websockets library",
    )
    harness.add_run_options(parser, name="latency", duration=5.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    harness.execute(run, parse_args(argv))


if __name__ == "__main__":
    main()
