"""Several servers of one chat: ours on 1, 2 and 3 processes beside python-socketio + Redis.

Issue 15 asks, side by side in one run, for one, two and three of our
servers (PostgreSQL for the log, Redis between the servers, as
``chat-server --db postgresql://... --redis redis://...`` runs them) and
python-socketio with its Redis manager (``AsyncRedisManager``) on the same
number of processes (:mod:`bench.baselines.socketio_server` ``--redis``).
For each system and size, in turns:

- latency: 100 receiving clients spread evenly over the processes (client i
  on process i mod N, :class:`bench.wire.Endpoint` ``ports``) in a worker
  process, senders in this one spread the same way, ``--rate`` messages/s in
  total on one clock (bench.latency's open loop); p50 and p99 send -> receive;
- fan-out: the same spread, closed loop as bench.fanout (each sender keeps a
  window in flight and sends the next when one of its own comes back);
  deliveries/s at every client, and the CPU time of all the server processes
  together, read from /proc, divided by the deliveries: the CPU cost of one
  delivery, which is what predicts how many cores a bigger site needs. Redis's
  own CPU is shown apart; PostgreSQL's is not measured (its backends are
  shared with whatever else runs on this machine).

The clients connect to the servers directly, not through nginx: nginx would
add its own CPU on the same two cores and measure itself. Each of our runs
gets a fresh PostgreSQL database (created and dropped here) and a private
``redis-server`` (no persistence) flushed between runs.

What a two-core machine can show: every process (the servers, Redis,
PostgreSQL, the clients) shares the same two cores, so two or three servers
cannot go faster than one; what the run shows is what spreading costs (the
Redis hop in latency, CPU per delivery as N grows), not capacity gained. The
report says so beside the figures.

Run: ``python -m bench.cluster`` (about three minutes) or, quickly,
``python -m bench.cluster --servers 1,2 --clients 10 --duration 1 --warmup 0.5``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import harness, wire
from bench.latency import paced

SYSTEMS = ("ours", "socketio")
LABELS = {"ours": "ours (PostgreSQL + Redis)", "socketio": "python-socketio + Redis manager"}
# Issue 15's targets.
TARGET_P99_RATIO = 1.5  # p99 on two servers at most 1.5x one server's
TARGET_FANOUT_RATIO = 1.5  # fan-out at least 1.5x python-socketio + Redis, same processes
POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one run of ours, dropped afterwards (even if in use)."""
    import psycopg2  # the [postgres] extra; imported here so --help works without it

    name = f"bench_cluster_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(dbname="postgres", **POSTGRES)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://{POSTGRES['user']}@{POSTGRES['host']}:{POSTGRES['port']}/{name}"
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


@dataclass
class Redis:
    """A private redis-server (no RDB, no AOF) on a free port, stopped with the benchmark."""

    folder: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{harness.HOST}:{self.port}/0"

    def start(self) -> Redis:
        with socket.socket() as probe:
            probe.bind((harness.HOST, 0))
            self.port = probe.getsockname()[1]
        args = ["redis-server", "--port", str(self.port), "--bind", harness.HOST]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            preexec_fn=harness._die_with_parent,
        )
        deadline = time.monotonic() + 20
        while not self.ping():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        return self

    def command(self, line: bytes) -> bytes:
        with socket.create_connection((harness.HOST, self.port), timeout=5) as conn:
            conn.sendall(line + b"\r\n")
            return conn.recv(64)

    def ping(self) -> bool:
        try:
            return self.command(b"PING").startswith(b"+PONG")
        except OSError:
            return False

    def flush(self) -> None:
        self.command(b"FLUSHALL")

    @property
    def stats(self) -> harness.ProcessStats:
        assert self.proc is not None
        return harness.ProcessStats(self.proc.pid)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class Deployment:
    """N processes of one system, started; where the clients go and what their CPU is."""

    system: str
    servers: list[harness.ServerProcess]
    receiver_tokens: tuple[str, ...] = ()
    sender_tokens: tuple[str, ...] = ()

    @property
    def dialect(self) -> str:
        return self.system

    def endpoint(self, tokens: tuple[str, ...]) -> wire.Endpoint:
        ports = tuple(server.port for server in self.servers)
        return wire.Endpoint(self.dialect, harness.HOST, ports[0], tokens, ports)

    def cpu_seconds(self) -> float:
        """CPU time of all the server processes together."""
        return sum(server.stats.cpu_seconds() for server in self.servers)


@contextlib.asynccontextmanager
async def deployed(
    system: str, size: int, redis: Redis, folder: Path, senders: int, receiver_users: int
) -> Any:
    """``size`` processes of ``system`` on one Redis (and, for ours, one fresh database)."""
    redis.flush()
    with contextlib.ExitStack() as stack:
        servers: list[harness.ServerProcess] = []
        if system == "ours":
            database = stack.enter_context(throwaway_database())
            for index in range(size):
                extra = ["--db", database, "--redis", redis.url, "--name", f"bench-{index}"]
                servers.append(
                    harness.ServerProcess.ours(folder / f"ours-{size}-{index}", 1e6, extra)
                )
        else:
            for _ in range(size):
                server = harness.ServerProcess.baseline("socketio", "socketio_server")
                server.args += ["--redis", redis.url]
                servers.append(server)
        # One after the other: the first of ours creates the schema.
        for server in servers:
            stack.enter_context(harness.running(server))
        deployment = Deployment(system, servers)
        if system == "ours":
            sender_names = [f"sender{i}" for i in range(senders)]
            receiver_names = [f"reader{i}" for i in range(receiver_users)]
            tokens = await harness.register_users(servers[0].url, sender_names + receiver_names)
            deployment.sender_tokens = tuple(tokens[n] for n in sender_names)
            deployment.receiver_tokens = tuple(tokens[n] for n in receiver_names)
        yield deployment


async def measure_latency(
    deployment: Deployment, clients: int, senders: int, rate: float, warmup: float, duration: float
) -> dict[str, Any]:
    """bench.latency's open loop, the clients spread evenly over the processes."""
    pool = harness.ReceiverPool(deployment.endpoint(deployment.receiver_tokens), 1)
    sending: list[wire.RawClient] = []
    try:
        await pool.connect(clients)
        sink = wire.Sink()
        sending = await wire.connect(deployment.endpoint(deployment.sender_tokens), senders, sink)
        await paced(sending, rate, warmup)
        since = time.monotonic_ns()
        await pool.record(True, since)
        cpu0 = deployment.cpu_seconds()
        sent = await paced(sending, rate, duration)
        cpu = deployment.cpu_seconds() - cpu0
        expected = sent * clients
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            if await pool.record(True, since) >= expected:
                break
        await pool.record(False, since)
        result = await pool.result()
        return {
            "rate": sent / duration,
            "sent": sent,
            "deliveries": result["deliveries"],
            "expected": expected,
            "errors": result["errors"] + sink.errors,
            "lost": result["lost"] + sink.lost,
            "latency_cpu_pct": cpu / duration * 100,
            **harness.summary(result["latencies"]),
        }
    finally:
        for client in sending:
            client.close()
        pool.close()


async def measure_fanout(
    deployment: Deployment,
    redis: Redis,
    clients: int,
    senders: int,
    window: int,
    warmup: float,
    duration: float,
) -> dict[str, Any]:
    """bench.fanout's closed loop, the clients spread evenly; CPU of all servers together."""
    pool = harness.ReceiverPool(deployment.endpoint(deployment.receiver_tokens), 1)
    sending: list[wire.RawClient] = []
    try:
        await pool.connect(clients - senders)
        sink = wire.Sink()
        running = True

        def next_one(client: wire.RawClient) -> None:
            if running:
                client.send_message()

        sending = await wire.connect(
            deployment.endpoint(deployment.sender_tokens), senders, sink, on_own=next_one
        )
        for client in sending:
            for _ in range(window):
                client.send_message()
        await asyncio.sleep(warmup)
        cpu0, redis0 = deployment.cpu_seconds(), redis.stats.cpu_seconds()
        t0 = time.monotonic()
        sink.recording = True
        await pool.record(True)
        await asyncio.sleep(duration)
        received = await pool.record(False)
        sink.recording = False
        elapsed = time.monotonic() - t0
        cpu = deployment.cpu_seconds() - cpu0
        redis_cpu = redis.stats.cpu_seconds() - redis0
        running = False
        result = await pool.result()
        deliveries = received + sink.deliveries
        return {
            "deliveries_per_s": deliveries / elapsed,
            "fanout_deliveries": deliveries,
            "cpu_us_per_delivery": cpu / deliveries * 1e6 if deliveries else float("nan"),
            # Every client gets every message: messages = deliveries / clients.
            "cpu_us_per_message": cpu / deliveries * clients * 1e6 if deliveries else float("nan"),
            "redis_cpu_us_per_delivery": redis_cpu / deliveries * 1e6
            if deliveries
            else float("nan"),
            "servers_cpu_pct": cpu / elapsed * 100,
            "redis_cpu_pct": redis_cpu / elapsed * 100,
            "fanout_errors": result["errors"] + sink.errors,
            "fanout_lost": result["lost"] + sink.lost,
        }
    finally:
        for client in sending:
            client.close()
        pool.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    harness.raise_file_limit()
    if shutil.which("redis-server") is None:
        raise SystemExit("bench.cluster needs redis-server (apt-get install redis-server)")
    # Senders: one per 5 msg/s for latency (under the per-user limit), and a
    # multiple of every size so each process gets its share.
    senders = args.senders or max(6, math.ceil(args.rate / 5))
    runs: list[dict[str, Any]] = []
    with harness.temp_dir() as folder:
        redis = Redis(folder).start()
        try:
            for _ in range(args.repeat):
                for size in args.servers:
                    for system in args.systems:
                        async with deployed(
                            system, size, redis, folder, senders, args.receiver_users
                        ) as deployment:
                            row: dict[str, Any] = {
                                "target": system,
                                "servers": size,
                                "clients": args.clients,
                            }
                            row.update(
                                await measure_latency(
                                    deployment,
                                    args.clients,
                                    senders,
                                    args.rate,
                                    args.warmup,
                                    args.duration,
                                )
                            )
                            row.update(
                                await measure_fanout(
                                    deployment,
                                    redis,
                                    args.clients,
                                    senders,
                                    args.window,
                                    args.warmup,
                                    args.duration,
                                )
                            )
                            runs.append(row)
                            print(
                                f"{LABELS[system]} x{size}: p50 {row['p50_ms']:.2f} ms,"
                                f" p99 {row['p99_ms']:.2f} ms,"
                                f" {row['deliveries_per_s']:,.0f} deliveries/s,"
                                f" {row['cpu_us_per_delivery']:.1f} us CPU/delivery",
                                flush=True,
                            )
        finally:
            redis.stop()
    rows = harness.medians(runs, ("target", "servers"))
    figures = targets(rows)
    figures["cost_model"] = [
        {"target": s, "base_us": base, "per_server_us": per, "clients": c}
        for s, base, per, c in cost_model(rows)
    ]
    report(rows, figures)
    return {
        "benchmark": "cluster",
        "args": vars(args),
        "rows": rows,
        "runs": runs,
        "figures": figures,
        "cores": os.cpu_count(),
    }


def row_of(rows: Sequence[dict[str, Any]], target: str, servers: int) -> dict[str, Any] | None:
    return next((r for r in rows if r["target"] == target and r["servers"] == servers), None)


def cost_model(rows: Sequence[dict[str, Any]]) -> list[tuple[str, float, float, int]]:
    """Each system's CPU per chat message as ``base + per_server * N`` (least squares over N).

    At a fixed number of clients, what grows with N is what every server pays
    for every message of the chat whatever its share of the clients (hearing
    it from Redis, decoding, framing it once): ``per_server``. ``base`` is the
    rest: storing the message once, and the per-socket writes of all clients
    together (``base / clients`` is an upper bound of the cost of one delivery).
    Returns (system, base us, per_server us, clients) for systems with 2+ sizes.
    """
    out = []
    for system in dict.fromkeys(r["target"] for r in rows):
        mine = [r for r in rows if r["target"] == system]
        if len({r["servers"] for r in mine}) < 2:
            continue
        xs = [float(r["servers"]) for r in mine]
        ys = [float(r["cpu_us_per_message"]) for r in mine]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
            (x - mx) ** 2 for x in xs
        )
        out.append((system, my - slope * mx, slope, int(mine[0]["clients"])))
    return out


def targets(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Issue 15's two ratios, where the run has what they need."""
    out: dict[str, Any] = {}
    one, two = row_of(rows, "ours", 1), row_of(rows, "ours", 2)
    if one and two:
        out["p99_two_over_one"] = harness.ratio(two["p99_ms"], one["p99_ms"])
    for size in sorted({r["servers"] for r in rows}):
        ours, peer = row_of(rows, "ours", size), row_of(rows, "socketio", size)
        if ours and peer:
            out[f"fanout_over_socketio_{size}"] = harness.ratio(
                ours["deliveries_per_s"], peer["deliveries_per_s"]
            )
    return out


HEADERS = [
    "system",
    "servers",
    "clients",
    "p50 ms",
    "p99 ms",
    "delivered",
    "of",
    "deliveries/s",
    "servers CPU us/delivery",
    "Redis CPU us/delivery",
    "servers CPU %",
    "errors",
]


def table_rows(rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            LABELS[r["target"]],
            r["servers"],
            r["clients"],
            r["p50_ms"],
            r["p99_ms"],
            r["deliveries"],
            r["expected"],
            r["deliveries_per_s"],
            r["cpu_us_per_delivery"],
            r["redis_cpu_us_per_delivery"],
            r["servers_cpu_pct"],
            r["errors"] + r["fanout_errors"],
        )
        for r in sorted(rows, key=lambda r: (r["target"] != "ours", r["servers"]))
    ]


def report(rows: Sequence[dict[str, Any]], figures: dict[str, Any]) -> None:
    harness.print_table(
        "Several servers of one chat: latency (open loop) and fan-out (closed loop)",
        HEADERS,
        table_rows(rows),
    )
    model = cost_model(rows)
    if model:
        harness.print_table(
            "Server CPU per chat message = base + per_server x N (fit over the sizes)",
            ["system", "clients", "base us", "per server us", "base / clients us"],
            [(LABELS[s], c, base, per, base / c) for s, base, per, c in model],
        )
    lines = []
    if "p99_two_over_one" in figures:
        ratio = figures["p99_two_over_one"]
        verdict = "met" if ratio <= TARGET_P99_RATIO else "missed"
        lines.append(f"p99, two servers / one: {ratio:.2f}x ({verdict}; <= {TARGET_P99_RATIO}x)")
    for key, ratio in figures.items():
        if key.startswith("fanout_over_socketio_"):
            size = key.rsplit("_", 1)[1]
            verdict = "met" if ratio >= TARGET_FANOUT_RATIO else "missed"
            lines.append(
                f"fan-out, ours / python-socketio + Redis on {size} process(es): {ratio:.2f}x"
                f" ({verdict}; >= {TARGET_FANOUT_RATIO}x)"
            )
    lines.append(
        f"this machine has {os.cpu_count()} cores shared by every process above: more"
        " servers cannot add capacity here, only show what spreading costs"
    )
    print("\n".join(lines), flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--servers", type=harness.sizes, default=[1, 2, 3])
    parser.add_argument("--systems", type=lambda s: s.split(","), default=list(SYSTEMS))
    parser.add_argument("--clients", type=int, default=100, help="receiving clients")
    parser.add_argument("--rate", type=float, default=50.0, help="messages/s for latency")
    parser.add_argument(
        "--senders", type=int, default=0, help="senders (default: 6, or one per 5 msg/s)"
    )
    parser.add_argument("--window", type=int, default=16, help="fan-out messages per sender")
    parser.add_argument("--receiver-users", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="runs per system and size")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    harness.execute(run, parse_args(argv))


if __name__ == "__main__":
    main()
