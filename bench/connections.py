"""Idle authenticated connections: how many one server process holds, and the memory each costs.

For our server and the bare aiohttp broadcast server, in the same run: open
idle WebSocket connections in steps up to ``--connections`` (10,000 by
default), each one authenticated on ours (``hello`` with a token, ``welcome``
received), and read the server's resident set size (VmRSS) after each step
has settled. Memory per connection is the RSS growth from a warm start (a few
connections already open) to the full count, divided by the connections added.

The clients are :mod:`bench.wire` connections in worker processes; they answer
the server's pings, so they stay connected however long the run takes. The
open-file limit is raised to its hard limit (servers and workers inherit it).
The accounts are a few (``--users``) shared by all sockets, as devices of the
same people would be: registering ten thousand users would measure password hashing,
and ten thousand presence changes would measure the presence broadcast, not
idle connections.

Issue 5's target: under 20 KiB per idle authenticated connection on ours
(a bare aiohttp socket costs about 14 KiB).

Run: ``python -m bench.connections`` or, quickly, ``python -m bench.connections --connections 50``.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bench import harness

TARGETS = ("ours", "bare")
TARGET_KIB = 20.0
WARM = 10


async def settle(stats: harness.ProcessStats, seconds: float) -> int:
    """Wait until the server's RSS stops moving (bounded by ``seconds``); return it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    last = stats.rss_bytes()
    while loop.time() < deadline:
        await asyncio.sleep(0.5)
        now = stats.rss_bytes()
        if abs(now - last) < 64 * 1024:
            return now
        last = now
    return last


async def measure(
    target: harness.Target, total: int, steps: int, processes: int, settle_s: float
) -> dict[str, Any]:
    """Ramp one server to ``total`` idle connections; RSS at each step."""
    pool = harness.ReceiverPool(target.receivers(), processes, keep_latencies=False)
    try:
        await pool.connect(WARM)
        base = await settle(target.stats, settle_s)
        points = [(WARM, base)]
        marks = sorted({max(WARM + 1, total * (i + 1) // steps) for i in range(steps)})
        for mark in marks:
            await pool.connect(mark - pool.connected)
            points.append((pool.connected, await settle(target.stats, settle_s)))
        result = await pool.result()
        added = points[-1][0] - WARM
        per = (points[-1][1] - base) / added if added else float("nan")
        return {
            "target": target.name,
            "connections": pool.connected,
            "rss_base_bytes": base,
            "rss_bytes": points[-1][1],
            "bytes_per_connection": per,
            "kib_per_connection": per / 1024,
            "points": points,
            "lost": result["lost"],
        }
    finally:
        pool.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    limit = harness.raise_file_limit()
    # Each socket costs a descriptor on both ends; leave room for the rest.
    total = min(args.connections, limit - 200)
    if total < args.connections:
        print(f"note: open-file limit {limit} caps the run at {total} connections")
    rows = []
    async with harness.open_targets(args.targets, receiver_users=args.users) as targets:
        for target in targets:
            rows.append(await measure(target, total, args.steps, args.processes, args.settle))
    report(rows)
    return {"benchmark": "connections", "args": vars(args), "rows": rows}


def report(rows: list[dict[str, Any]]) -> None:
    """Print RSS per connection for each server and ours / bare with the target."""
    harness.print_table(
        "Idle authenticated connections held by one server process",
        ["server", "connections", "RSS before MiB", "RSS after MiB", "KiB/connection", "lost"],
        [
            (
                harness.LABELS[r["target"]],
                r["connections"],
                r["rss_base_bytes"] / 2**20,
                r["rss_bytes"] / 2**20,
                r["kib_per_connection"],
                r["lost"],
            )
            for r in rows
        ],
    )
    at = {r["target"]: r for r in rows}
    if "ours" in at:
        ours = at["ours"]["kib_per_connection"]
        verdict = "met" if ours < TARGET_KIB else "missed"
        line = f"ours: {ours:.1f} KiB per idle connection: {verdict} (target < {TARGET_KIB} KiB)"
        if "bare" in at:
            bare = at["bare"]["kib_per_connection"]
            line += f"; ours / bare aiohttp = {harness.ratio(ours, bare):.2f}"
        print(line)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--targets", type=lambda s: s.split(","), default=list(TARGETS))
    parser.add_argument("--steps", type=int, default=4, help="RSS readings on the way up")
    parser.add_argument("--users", type=int, default=10, help="accounts shared by the sockets")
    parser.add_argument("--processes", type=int, default=2, help="client worker processes")
    parser.add_argument("--settle", type=float, default=5.0, help="max seconds to let RSS settle")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    harness.execute(run, parse_args(argv))


if __name__ == "__main__":
    main()
