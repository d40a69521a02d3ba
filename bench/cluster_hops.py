"""Where a chat message's time goes between the servers of one chat: each hop timed.

bench.cluster gives one figure per size (send -> receive at every client);
when two servers are much slower than one, that figure cannot say whether a
message waits for something structural (a poll interval, a batch timer, the
once-a-second database check, a hole filled from the database, a Redis round
trip per entry) or only for the CPU. This experiment starts N of our servers
(PostgreSQL + Redis, as bench.cluster does) with a tracer in each that stamps
every hop of every log entry on the machine's monotonic clock (the same in
every process):

- ``commit``: the service hands the committed entry to the cluster (beside
  the client's send time, which the benchmark message carries);
- ``deliver``: the hub fans it out to this server's sockets;
- ``flush``: the bus's pipeline carrying it to the Redis stream returned;
- ``recv``: another server's stream reader got it;
- ``fill``: an entry waited for a hole below it to be read from the database;

and counts the Redis round trips (commands, pipelines) and write
transactions, so that the report gives the cost per message. A handful of
senders (spread over the servers) send on one clock, the receivers are
spread evenly; the report is the client latency beside the hops.

The tracer wraps methods from outside (this module only); the servers run
unchanged otherwise. Run: ``python -m bench.cluster_hops --servers 1,2``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import harness, wire
from bench.cluster import Deployment, Redis, deployed
from bench.latency import paced

# Environment variable naming the file a traced server writes its stamps to.
TRACE_ENV = "BENCH_CLUSTER_TRACE"


# The traced server ------------------------------------------------------------


def _install_tracer(path: str) -> None:
    """Wrap the hops of the cluster's path so that each writes a stamp to ``path``."""
    import redis.asyncio.client as redis_client

    from chat_server import hub, service
    from chat_server.cluster import Cluster, bus, order
    from chat_server.storage import workers

    out = open(path, "a", buffering=1)  # noqa: SIM115 - open for the process's life

    def stamp(*fields: Any) -> None:
        out.write(json.dumps([time.monotonic_ns(), *fields]) + "\n")

    def wrap(owner: Any, name: str, before: Callable[..., None], after: str | None = None) -> None:
        original = getattr(owner, name)
        if asyncio.iscoroutinefunction(original):

            async def traced_async(*args: Any, **kwargs: Any) -> Any:
                before(*args)
                return await original(*args, **kwargs)

            setattr(owner, name, traced_async)
        else:

            def traced(*args: Any, **kwargs: Any) -> Any:
                before(*args)
                try:
                    return original(*args, **kwargs)
                finally:
                    if after is not None:
                        stamp(after)

            setattr(owner, name, traced)

    def entry_seqs(self: Any) -> None:
        seqs = [e["e"]["seq"] for e, _ in self._outgoing if e.get("k") == "entry"]
        stamp("flush", seqs)

    def heard(self: Any, fields: dict[bytes, bytes]) -> None:
        if fields.get(b"s", b"").decode() == self._server_id:
            return
        event = json.loads(fields[b"e"])
        if event.get("k") == "entry":
            stamp("recv", event["e"]["seq"])

    def committed(_self: Any, entry: Any) -> None:
        # The client's send time rides in the benchmark message's text (bench.wire).
        text = getattr(entry, "text", "")
        sent = int(text[2 : text.index("~", 2)]) if text.startswith("~T") else None
        stamp("commit", entry.seq, sent, entry.client_id)

    wrap(Cluster, "committed", committed)
    wrap(hub.Hub, "publish_entry", lambda _self, entry: stamp("deliver", entry.seq))
    wrap(bus.Bus, "_flush", entry_seqs)
    wrap(bus.Bus, "_dispatch", heard)
    wrap(order.LogOrder, "_fill", lambda _self, _room, state: stamp("fill", state.delivered))
    wrap(service.ChatService, "admit", lambda _self, _user, event: stamp("admit", event.client_id))
    wrap(redis_client.Redis, "execute_command", lambda _self, *args: stamp("redis", str(args[0])))
    wrap(redis_client.Pipeline, "execute", lambda _self, *_: stamp("pipeline"))
    wrap(
        workers.GroupCommitWriter,
        "_commit",
        lambda _self, batch: stamp("tx", len(batch)),
        after="tx_end",
    )


def serve(argv: list[str]) -> None:
    """This process as one of the traced servers: bench.ours_server with the tracer."""
    from bench import ours_server

    _install_tracer(os.environ[TRACE_ENV] + f".{os.getpid()}")
    sys.argv = ["bench.ours_server", *argv]
    ours_server.main()


# The experiment -----------------------------------------------------------------


async def measure(
    size: int, messages: int, rate: float, clients: int, senders: int, folder: Path
) -> dict[str, Any]:
    """One run on ``size`` traced servers; the client latencies and each server's stamps."""
    trace = folder / f"trace-{size}"
    os.environ[TRACE_ENV] = str(trace)
    redis = Redis(folder).start()
    try:
        async with deployed("ours", size, redis, folder, senders, 10) as deployment:
            return await _drive(deployment, trace, messages, rate, clients, senders)
    finally:
        redis.stop()
        del os.environ[TRACE_ENV]


async def _drive(
    deployment: Deployment, trace: Path, messages: int, rate: float, clients: int, senders: int
) -> dict[str, Any]:
    sink = wire.Sink()
    receivers = await wire.connect(deployment.endpoint(deployment.receiver_tokens), clients, sink)
    # The senders' own copies are not counted: only the receivers' latencies.
    sending = await wire.connect(
        deployment.endpoint(deployment.sender_tokens), senders, wire.Sink()
    )
    try:
        await paced(sending, rate, 1.0)  # warm-up, not counted
        await asyncio.sleep(0.5)
        since = time.monotonic_ns()
        sink.since_ns, sink.recording = since, True
        sent = await paced(sending, rate, messages / rate)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            if sink.deliveries >= sent * clients:
                break
        sink.recording = False
    finally:
        for client in receivers + sending:
            client.close()
    return {
        "since": since,
        "traces": [f"{trace}.{server.proc.pid}" for server in deployment.servers if server.proc],
        "sent": sent,
        "expected": sent * clients,
        "deliveries": sink.deliveries,
        "latency": harness.summary(list(sink.latencies)),
    }


def read_stamps(row: dict[str, Any]) -> list[list[list[Any]]]:
    """Each server's stamps from the measured window, once the servers have stopped."""
    stamps = []
    for trace in row["traces"]:
        lines = Path(trace).read_text().splitlines()
        stamps.append([s for s in map(json.loads, lines) if s[0] >= row["since"]])
    return stamps


def _percentiles(values_ns: Sequence[int]) -> str:
    if not values_ns:
        return "-"
    ordered = sorted(values_ns)
    pick = [ordered[min(len(ordered) - 1, int(len(ordered) * q))] / 1e6 for q in (0.5, 0.9, 0.99)]
    return "p50 {:.1f} / p90 {:.1f} / p99 {:.1f} / max {:.1f} ms (n={})".format(
        *pick, ordered[-1] / 1e6, len(ordered)
    )


def hops(stamps: list[list[list[Any]]]) -> dict[str, Any]:
    """Per-hop delays (from the commit on the writing server) and round trips per message."""
    times: dict[int, dict[tuple[str, int], int]] = collections.defaultdict(dict)
    counts: list[collections.Counter[str]] = []
    for index, server in enumerate(stamps):
        count: collections.Counter[str] = collections.Counter()
        for ts, kind, *rest in server:
            count[kind if kind != "redis" else f"redis {rest[0]}"] += 1
            if kind in ("commit", "deliver", "recv"):
                times[rest[0]].setdefault((kind, index), ts)
            elif kind == "flush":
                for seq in rest[0]:
                    times[seq].setdefault(("flush", index), ts)
        counts.append(count)
    stored: list[int] = []
    intake: list[int] = []
    admitted: list[int] = []
    transactions: list[int] = []
    for server in stamps:
        admits = {rest[0]: ts for ts, kind, *rest in server if kind == "admit"}
        started = None
        for ts, kind, *rest in server:
            if kind == "commit" and rest[1]:
                stored.append(ts - rest[1])
                if rest[2] in admits:
                    intake.append(admits[rest[2]] - rest[1])
                    admitted.append(ts - admits[rest[2]])
            elif kind == "tx":
                started = ts
            elif kind == "tx_end" and started is not None:
                transactions.append(ts - started)
    own: list[int] = []
    flushed: list[int] = []
    received: list[int] = []
    other: list[int] = []
    for stamped in times.values():
        origin = [i for i in range(len(stamps)) if ("commit", i) in stamped]
        if not origin:
            continue
        commit = stamped[("commit", origin[0])]
        if ("deliver", origin[0]) in stamped:
            own.append(stamped[("deliver", origin[0])] - commit)
        if ("flush", origin[0]) in stamped:
            flushed.append(stamped[("flush", origin[0])] - commit)
        for i in range(len(stamps)):
            if i != origin[0] and ("recv", i) in stamped:
                received.append(stamped[("recv", i)] - commit)
            if i != origin[0] and ("deliver", i) in stamped:
                other.append(stamped[("deliver", i)] - commit)
    messages = sum(count["commit"] for count in counts) or 1
    total: collections.Counter[str] = sum(counts, collections.Counter())
    return {
        "client send -> commit (admit, write)": _percentiles(stored),
        "client send -> rate check starts": _percentiles(intake),
        "rate check starts -> commit": _percentiles(admitted),
        "write transaction (writer thread)": _percentiles(transactions),
        "commit -> deliver, same server": _percentiles(own),
        "commit -> bus write starts, same server": _percentiles(flushed),
        "commit -> stream read, other server": _percentiles(received),
        "commit -> deliver, other server": _percentiles(other),
        "per message (whole cluster)": {
            kind: round(n / messages, 2)
            for kind, n in sorted(total.items())
            if kind not in ("commit", "deliver", "recv", "tx_end")
        },
    }


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        serve(argv[1:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--servers", type=harness.sizes, default=[1, 2])
    parser.add_argument("--messages", type=int, default=250)
    parser.add_argument("--rate", type=float, default=50.0, help="messages/s in all")
    parser.add_argument("--clients", type=int, default=100, help="receiving clients")
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    harness.raise_file_limit()
    # The servers run this module's --serve (bench.ours_server with the tracer).
    original = harness.ServerProcess.ours

    def traced(data_dir: Path, mps: float | None = None, extra: Sequence[str] = ()) -> Any:
        server = original(data_dir, mps, extra)
        server.module = "bench.cluster_hops"
        server.args = ["--serve", *server.args]
        return server

    harness.ServerProcess.ours = traced  # type: ignore[method-assign,assignment]
    report: dict[str, Any] = {"load": os.getloadavg()}
    with tempfile.TemporaryDirectory() as folder:
        for size in args.servers:
            row = asyncio.run(
                measure(size, args.messages, args.rate, args.clients, args.senders, Path(folder))
            )
            figures = {
                "servers": size,
                "delivered": f"{row['deliveries']} of {row['expected']}",
                "client latency ms": row["latency"],
                **hops(read_stamps(row)),
            }
            report[f"x{size}"] = figures
            print(json.dumps(figures, indent=1), flush=True)
    report["load after"] = os.getloadavg()
    print("load average before / after:", report["load"], report["load after"])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
