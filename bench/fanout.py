"""Fan-out throughput: deliveries per second one server process sustains, and its CPU per delivery.

For each client count (100 and 1,000 by default) and each server (ours, the
bare aiohttp broadcast, python-socketio, Mosquitto), in the same run:

- ``clients - senders`` receiving clients sit in a worker process
  (:class:`bench.harness.ReceiverPool`), the senders in this one;
- closed loop: each sender keeps ``--window`` messages in flight (at 100
  clients; scaled inversely for other sizes) and sends the next one as soon
  as one of its own comes back (every client, senders
  included, receives every message), so the offered load follows what the
  server can do instead of piling up in queues;
- after ``--warmup`` seconds, deliveries are counted for ``--duration``
  seconds at every client, and the server's CPU time over the same window is
  read from /proc.

Deliveries/s is messages delivered to all clients per second; CPU per
delivery is server CPU time / deliveries. The client processes' CPU use is
printed too: a server near 100 % of a core and clients well below theirs
means the server is what was measured. Mosquitto is written in C and is
usually limited by our Python clients rather than by itself; its CPU column
shows that.

Run: ``python -m bench.fanout`` (defaults from issue 5) or e.g.
``python -m bench.fanout --clients 10 --duration 1 --warmup 0.5`` for a quick look.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import time
from typing import Any

from bench import harness, wire

TARGETS = ("ours", "bare", "socketio", "mqtt")


async def measure(
    target: harness.Target,
    clients: int,
    senders: int,
    window: int,
    warmup: float,
    duration: float,
    processes: int,
    profile: str | None = None,
) -> dict[str, Any]:
    """One closed-loop run against one server; returns its figures.

    With ``profile`` (a file name) and our server, py-spy records it meanwhile.
    """
    pool = harness.ReceiverPool(target.receivers(), processes)
    sending: list[wire.RawClient] = []
    try:
        await pool.connect(clients - senders)
        sink = wire.Sink()
        running = True

        def next_one(client: wire.RawClient) -> None:
            if running:
                client.send_message()

        sending = await wire.connect(target.senders(), senders, sink, on_own=next_one)
        # The clients' side: the receiver workers and this process (the senders).
        workers = [harness.ProcessStats(w.pid or 0) for w in pool.workers]
        workers.append(harness.ProcessStats(os.getpid()))
        # The window is set for 100 clients; scaled so that the deliveries in
        # flight stay about the same at other sizes (not minutes of queue at 1,000),
        # and capped so no socket's queue nears our server's "too slow" limit
        # (1,000 events) at small sizes.
        in_flight = min(64, max(8, window * 100 // clients))
        for client in sending:
            for _ in range(in_flight):
                client.send_message()
        await asyncio.sleep(warmup)

        cpu0 = target.stats.cpu_seconds()
        clients_cpu0 = sum(w.cpu_seconds() for w in workers)
        t0 = time.monotonic()
        sink.recording = True
        await pool.record(True)
        svg = f"{profile}-fanout-{clients}.svg" if profile and target.name == "ours" else None
        with harness.py_spy(target.stats.pid, svg, duration):
            await asyncio.sleep(duration)
        received = await pool.record(False)
        sink.recording = False
        elapsed = time.monotonic() - t0
        cpu = target.stats.cpu_seconds() - cpu0
        clients_cpu = sum(w.cpu_seconds() for w in workers) - clients_cpu0
        running = False
        result = await pool.result()
        deliveries = received + sink.deliveries
        latency = harness.summary(result["latencies"])
        return {
            "target": target.name,
            "clients": clients,
            "deliveries": deliveries,
            "deliveries_per_s": deliveries / elapsed,
            "messages_per_s": deliveries / clients / elapsed,
            "cpu_us_per_delivery": cpu / deliveries * 1e6 if deliveries else float("nan"),
            "server_cpu_pct": cpu / elapsed * 100,
            "receivers_cpu_pct": clients_cpu / elapsed * 100,
            "p50_ms": latency["p50_ms"],
            "p99_ms": latency["p99_ms"],
            "errors": result["errors"] + sink.errors,
            "lost": result["lost"] + sink.lost,
        }
    finally:
        for client in sending:
            client.close()
        pool.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    harness.raise_file_limit()
    runs: list[dict[str, Any]] = []
    # The limiter stays on; its rate is raised so a few senders can saturate the server.
    async with harness.open_targets(
        args.targets,
        senders=args.senders,
        messages_per_second=1e6,
        ours_args=shlex.split(args.ours_args),
        ours_at=args.ours_at,
    ) as targets:
        for clients in args.clients:
            for target in harness.in_turns(targets, args.repeat):
                runs.append(
                    await measure(
                        target,
                        clients,
                        min(args.senders, clients - 1),
                        args.window,
                        args.warmup,
                        args.duration,
                        args.processes,
                        args.profile,
                    )
                )
    rows = harness.medians(runs, ("target", "clients"))
    report(rows)
    return {"benchmark": "fanout", "args": harness.plain(vars(args)), "rows": rows, "runs": runs}


def cost_model(rows: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    """Split each server's CPU into a fixed cost per message and a cost per delivery.

    CPU per message at N clients is ``fixed + N * per_delivery``; two sizes
    give both (the smallest and the largest measured). The fixed part is what
    a server does once per message (parse, store, encode), the per-delivery
    part what it does for each socket (queue, write). Returns (server,
    fixed us per message, us per delivery).
    """
    out = []
    for target in dict.fromkeys(r["target"] for r in rows):
        mine = sorted((r for r in rows if r["target"] == target), key=lambda r: r["clients"])
        if len(mine) < 2 or mine[0]["clients"] == mine[-1]["clients"]:
            continue
        (n1, c1), (n2, c2) = (
            (r["clients"], r["cpu_us_per_delivery"] * r["clients"]) for r in (mine[0], mine[-1])
        )
        per_delivery = (c2 - c1) / (n2 - n1)
        out.append((target, c1 - n1 * per_delivery, per_delivery))
    return out


def fixed_cost_text(fixed: float) -> float | str:
    """The fitted fixed cost, or why it cannot be read (a negative fit)."""
    # Below zero the straight line does not fit: the cost per delivery itself
    # grew with the number of clients, so "fixed" has no meaning there.
    return fixed if fixed >= 0 else "~0 (per-delivery cost grows with clients)"


def report(rows: list[dict[str, Any]]) -> None:
    """Print the figures and the ratios of ours to each peer at each size."""
    table = [
        (
            harness.LABELS[r["target"]],
            r["clients"],
            r["deliveries_per_s"],
            r["cpu_us_per_delivery"],
            r["server_cpu_pct"],
            r["receivers_cpu_pct"],
            r["p50_ms"],
            r["p99_ms"],
            r["errors"],
        )
        for r in rows
    ]
    harness.print_table(
        "Fan-out throughput (closed loop, same clients for every server)",
        [
            "server",
            "clients",
            "deliveries/s",
            "server CPU us/delivery",
            "server CPU %",
            "clients CPU %",
            "p50 ms",
            "p99 ms",
            "errors",
        ],
        table,
    )
    ratios = []
    for clients in sorted({r["clients"] for r in rows}):
        at = {r["target"]: r for r in rows if r["clients"] == clients}
        if "ours" not in at:
            continue
        for peer, peer_row in at.items():
            if peer != "ours":
                ratios.append(
                    (
                        f"ours / {harness.LABELS[peer]}",
                        clients,
                        harness.ratio(at["ours"]["deliveries_per_s"], peer_row["deliveries_per_s"]),
                        harness.ratio(
                            at["ours"]["cpu_us_per_delivery"], peer_row["cpu_us_per_delivery"]
                        ),
                    )
                )
    if ratios:
        harness.print_table(
            "Ratios (throughput > 1: ours is faster; CPU/delivery < 1: ours is cheaper)",
            ["ratio", "clients", "throughput", "CPU per delivery"],
            ratios,
        )
    model = cost_model(rows)
    if model:
        harness.print_table(
            "Server CPU split (fit over the sizes): once per message + once per socket",
            ["server", "us per message (fixed)", "us per delivery"],
            [(harness.LABELS[t], fixed_cost_text(fixed), each) for t, fixed, each in model],
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=harness.sizes, default=[100, 1000])
    parser.add_argument("--targets", type=lambda s: s.split(","), default=list(TARGETS))
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument(
        "--window",
        type=int,
        default=32,
        help="messages in flight per sender at 100 clients (scaled for other sizes): enough"
        " that the slowest server is busy all the time",
    )
    harness.add_run_options(parser, name="fanout", duration=4.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    harness.execute(run, parse_args(argv))


if __name__ == "__main__":
    main()
