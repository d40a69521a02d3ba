"""A reconnect storm: a thousand app links come back after a server restart.

``--clients`` (1,000) of the app's own links (:class:`bench.healing.LinkPool`:
real ``ServerLink`` objects with their real reconnect policy, in
``--processes`` worker processes) are connected to our server, sharing
``--users`` accounts (registering a thousand would measure password hashing). The
server is restarted (SIGTERM, ``--down`` seconds, started again on its port)
and the benchmark measures, from the moment it listens again:

- the time until every link is connected again (and the median and p99 of
  each link's own heal time);
- the server's CPU during the storm (average, and the peak over 0.5 s
  windows) and its peak RSS;
- whether it stayed responsive: the latency of ``GET /api/v1/health``,
  asked every 0.1 s during the storm.

Baseline, in the same run: the same readings with the same links connected
and idle, just before the restart. Everything is bounded (``--within``) and
every process is stopped at the end.

Run: ``python -m bench.reconnect_storm`` or, quickly,
``python -m bench.reconnect_storm --clients 50 --users 5 --settle 1``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from typing import Any

import aiohttp

from bench import harness
from bench.healing import heal_times, link_pool, restart, restartable_server, spread

SAMPLE_S = 0.1
WINDOW_S = 0.5


class Watch:
    """Samples the server's CPU and RSS and times a health check, every ``SAMPLE_S``."""

    def __init__(self, server: harness.ServerProcess) -> None:
        self.server = server
        # (monotonic, server CPU seconds, RSS bytes)
        self.samples: list[tuple[float, float, int]] = []
        self.health_ms: list[float] = []
        self.health_failures = 0

    async def run(self) -> None:
        async with aiohttp.ClientSession(self.server.url) as session:
            while True:
                stats = self.server.stats
                self.samples.append((time.monotonic(), stats.cpu_seconds(), stats.rss_bytes()))
                started = time.perf_counter()
                try:
                    async with asyncio.timeout(10):
                        async with session.get("/api/v1/health") as response:
                            await response.read()
                            ok = response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                if ok:
                    self.health_ms.append((time.perf_counter() - started) * 1000)
                else:
                    self.health_failures += 1
                await asyncio.sleep(SAMPLE_S)

    def figures(self) -> dict[str, Any]:
        """CPU (average and peak window), peak RSS and health latency over the samples."""
        first, last = self.samples[0], self.samples[-1]
        wall = last[0] - first[0]
        peak = 0.0
        j = 0
        for i, (at, cpu, _) in enumerate(self.samples):
            while self.samples[j][0] < at - WINDOW_S:
                j += 1
            if j < i and at - self.samples[j][0] > 0:
                peak = max(peak, (cpu - self.samples[j][1]) / (at - self.samples[j][0]))
        latencies = sorted(self.health_ms)
        return {
            "seconds": wall,
            "server_cpu_pct": 100 * (last[1] - first[1]) / wall if wall else float("nan"),
            "server_peak_cpu_pct": 100 * peak,
            "server_peak_rss_mib": max(rss for _, _, rss in self.samples) / 2**20,
            "health_p50_ms": latencies[len(latencies) // 2] if latencies else float("nan"),
            "health_max_ms": latencies[-1] if latencies else float("nan"),
            "health_failures": self.health_failures,
        }


@contextlib.asynccontextmanager
async def watching(server: harness.ServerProcess) -> Any:
    watch = Watch(server)
    task = asyncio.create_task(watch.run())
    try:
        yield watch
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run(args: argparse.Namespace) -> dict[str, Any]:
    harness.raise_file_limit()
    with harness.temp_dir() as data_dir:
        async with (
            restartable_server(data_dir, args.users) as (server, accounts),
            link_pool(server.url, accounts, args.processes) as pool,
        ):
            started = time.monotonic()
            await pool.open(args.clients)
            connected = await pool.wait_connected(args.within)
            if connected < args.clients:
                raise RuntimeError(f"only {connected} of {args.clients} links connected at first")
            print(f"{args.clients:,} links connected in {time.monotonic() - started:.1f} s")
            async with watching(server) as idle:
                await asyncio.sleep(args.settle)
            stopped, back = restart(server, args.down)
            clients_cpu = pool.cpu_seconds()
            async with watching(server) as storm:
                healed = await pool.wait_connected(args.within)
                clients_cpu = pool.cpu_seconds() - clients_cpu
                # A little after the last link: the server's work for it shows up late.
                await asyncio.sleep(WINDOW_S)
            times = heal_times(await pool.connected_after(back), back)
    row = {
        "clients": args.clients,
        "users": args.users,
        "outage_s": back - stopped,
        "healed": healed,
        # The last link's own CONNECTED, not when the parent heard of it.
        "all_back_s": max(times, default=float("inf")),
        **spread(times),
        "clients_cpu_s": clients_cpu,
        **{f"storm_{k}": v for k, v in storm.figures().items()},
        **{f"idle_{k}": v for k, v in idle.figures().items()},
    }
    report(row)
    return {"benchmark": "reconnect_storm", "args": vars(args), "rows": [row], "figures": row}


HEADERS = ("figure", "storm", "idle, just before")
# (label, key): the storm's figure is "storm_" + key, the baseline's "idle_" + key.
FIGURES = (
    ("server CPU, average (%)", "server_cpu_pct"),
    (f"server CPU, peak over {WINDOW_S:g} s (%)", "server_peak_cpu_pct"),
    ("server RSS, peak (MiB)", "server_peak_rss_mib"),
    ("health check p50 (ms)", "health_p50_ms"),
    ("health check max (ms)", "health_max_ms"),
    ("health checks failed", "health_failures"),
)


def table_rows(r: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Each figure in the storm beside the idle baseline, under :data:`HEADERS`."""
    return [(label, r[f"storm_{key}"], r[f"idle_{key}"]) for label, key in FIGURES]


def outcome(r: dict[str, Any]) -> str:
    """The storm in a sentence: how many came back, how fast, at what cost to the clients."""
    return (
        f"{r['healed']:,} of {r['clients']:,} links ({r['users']} accounts) were back"
        f" {r['all_back_s']:.2f} s after the server listened again (it was down"
        f" {r['outage_s']:.1f} s); each link's own heal time: median {r['median_s']:.2f} s,"
        f" p99 {r['p99_s']:.2f} s. The links' worker processes used {r['clients_cpu_s']:.1f} s"
        " of CPU meanwhile."
    )


def report(r: dict[str, Any]) -> None:
    harness.print_table(
        f"Reconnect storm: {r['clients']:,} app links, server restarted", HEADERS, table_rows(r)
    )
    print(outcome(r))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000, help="app links")
    parser.add_argument("--users", type=int, default=50, help="accounts the links share")
    parser.add_argument("--down", type=float, default=1.0, help="seconds the server is down")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of idle baseline")
    parser.add_argument("--within", type=float, default=120.0, help="give up after this long")
    parser.add_argument("--processes", type=int, default=2, help="worker processes for the links")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    harness.execute(run, parse_args(argv))


if __name__ == "__main__":
    main()
