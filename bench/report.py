"""Run every benchmark and write ``docs/benchmarks.md`` with tables and charts.

Each benchmark runs as its own command (``python -m bench.<name> ... --json F``),
one after the other so they do not compete for the two cores, and its
printed output streams to the console. The report then holds, per
benchmark, the exact command, its figures as tables, a chart
(``docs/benchmarks/<name>.png``, matplotlib), and a summary of issue 5's
targets as met or missed. ``bench/profiles.md`` (hand-written: what the
profiler showed where a target is missed) is included as it stands, since
a profile needs reading by a person.

Run: ``python -m bench.report`` (the issue's sizes; about ten minutes), or
``python -m bench.report --quick`` (tiny sizes, for trying the pipeline).
``--only latency,fanout`` runs a subset; ``--args latency="--clients 10,100"``
replaces one benchmark's arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from bench import client_memory, cluster, fanout, harness, healing, latency, reconnect_storm

BENCHMARKS = (
    "latency",
    "fanout",
    "connections",
    "polling_vs_ws",
    "client",
    "revocation",
    "healing",
    "reconnect_storm",
    "client_memory",
    "files",
    "search",
    "cluster",
)
# Arguments for --quick: each benchmark at a size that runs in seconds.
QUICK = {
    "latency": "--clients 5,20 --repeat 1 --duration 1 --warmup 0.5",
    "fanout": "--clients 10,30 --repeat 1 --duration 1 --warmup 0.5",
    "connections": "--connections 200 --steps 2 --settle 1",
    "polling_vs_ws": "--clients 5 --idle 1 --messages 8",
    "client": "--messages 2000 --burst-seconds 1",
    "revocation": "--repeat 1 --sockets 5",
    "healing": "--clients 3 --outage 2 --gap 3 --restart 0.5",
    "reconnect_storm": "--clients 100 --users 10 --settle 1",
    "client_memory": "--messages 5000 --soak-minutes 0.2 --presence-every 3",
    "files": "--size-mb 4 --upload-mb 4 --clients 3 --repeat 1 --idle 1 --busy 1",
    "search": "--messages 50000 --cached 10000 --queries 100 --fanout-duration 1 --fanout-repeat 1",
    "cluster": "--servers 1,2 --clients 10 --duration 1 --warmup 0.5",
}
PROFILES = Path(__file__).with_name("profiles.md")
COLORS = {
    "ours": "#1f77b4",
    "ours_at": "#17becf",
    "bare": "#7f7f7f",
    "durable": "#9467bd",
    "durable_loop": "#e377c2",
    "socketio": "#ff7f0e",
    "mqtt": "#2ca02c",
    "websocket": "#1f77b4",
    "polling": "#d62728",
}


def run_benchmark(name: str, args: str, workdir: Path) -> dict[str, Any] | None:
    """Run one benchmark, streaming its output; its JSON result, or None when it failed."""
    out = workdir / f"{name}.json"
    command = f"python -m bench.{name} {args}".strip()
    # Others may commit while a long run goes on: note what this benchmark measured.
    code = code_state()
    print(f"\n$ {command}", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *shlex.split(args), "--json", str(out)],
        cwd=harness.REPO,
        check=False,
    )
    if done.returncode != 0 or not out.exists():
        print(f"bench.{name} failed (exit {done.returncode}); left out of the report")
        return None
    result: dict[str, Any] = json.loads(out.read_text())
    result["code"] = code
    out.write_text(json.dumps(result))  # kept with it for a later --from-json or --before
    return result


# Markdown --------------------------------------------------------------------


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def by(rows: list[dict[str, Any]], key: str, value: Any) -> dict[str, dict[str, Any]]:
    """Rows where ``key == value``, indexed by their target."""
    return {r["target"]: r for r in rows if r[key] == value}


def targets_summary(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """Issue 5's targets: (target, measured, required, verdict)."""
    out: list[tuple[str, str, str, str]] = []
    if "latency" in results:
        at = by(results["latency"]["rows"], "clients", 100)
        if "ours" in at and "bare" in at:
            r = harness.ratio(at["ours"]["p99_ms"], at["bare"]["p99_ms"])
            out.append(
                (
                    "p99 latency, 100 clients x 50 msg/s, vs bare aiohttp",
                    f"{r:.2f}x ({at['ours']['p99_ms']:.2f} ms vs {at['bare']['p99_ms']:.2f} ms)",
                    "<= 1.25x",
                    verdict(r <= 1.25),
                )
            )
        for clients in latency.FLOOR_CLIENTS:
            at = by(results["latency"]["rows"], "clients", clients)
            if "ours" in at and "durable_loop" in at:
                ours, floor = at["ours"], at["durable_loop"]
                gap = ours["p50_ms"] - floor["p50_ms"]
                r = harness.ratio(ours["p99_ms"], floor["p99_ms"])
                out.append(
                    (
                        f"latency at {clients:,} clients vs the on-loop durable floor (issue 17)",
                        f"p50 {gap:+.2f} ms ({ours['p50_ms']:.2f} vs {floor['p50_ms']:.2f}),"
                        f" p99 {r:.2f}x ({ours['p99_ms']:.2f} vs {floor['p99_ms']:.2f} ms)",
                        f"p50 <= +{latency.FLOOR_P50_MS} ms, p99 <= {latency.FLOOR_P99_RATIO}x",
                        verdict(gap <= latency.FLOOR_P50_MS and r <= latency.FLOOR_P99_RATIO),
                    )
                )
    if "fanout" in results:
        at = by(results["fanout"]["rows"], "clients", 100)
        for peer, need in (("bare", 0.8), ("socketio", 1.3), ("mqtt", 0.5)):
            if "ours" in at and peer in at:
                r = harness.ratio(at["ours"]["deliveries_per_s"], at[peer]["deliveries_per_s"])
                out.append(
                    (
                        f"fan-out to 100 clients vs {harness.LABELS[peer]}",
                        f"{r:.2f}x ({at['ours']['deliveries_per_s']:,.0f}"
                        f" vs {at[peer]['deliveries_per_s']:,.0f} deliveries/s)",
                        f">= {need}x",
                        verdict(r >= need),
                    )
                )
    if "connections" in results:
        at = {r["target"]: r for r in results["connections"]["rows"]}
        if "ours" in at:
            kib = at["ours"]["kib_per_connection"]
            bare = at.get("bare", {}).get("kib_per_connection")
            measured = f"{kib:.1f} KiB at {at['ours']['connections']:,} connections"
            if bare is not None:
                measured += f" (bare aiohttp {bare:.1f} KiB)"
            out.append(
                (
                    "memory per idle authenticated connection",
                    measured,
                    "< 20 KiB",
                    verdict(kib < 20),
                )
            )
    if "client" in results:
        c = results["client"]["figures"]
        if c.get("first_paint_s") is not None:
            out.append(
                (
                    f"first paint over {c['cached_messages']:,} cached messages",
                    f"{c['first_paint_s']:.3f} s",
                    "< 0.5 s",
                    verdict(c["first_paint_s"] < 0.5),
                )
            )
        if c.get("longest_stall_ms") is not None:
            measured = f"{c['longest_stall_ms']:.1f} ms"
            if c.get("crash"):
                measured += f" until the client crashed after {c['rows_shown']:,} messages"
            out.append(
                (
                    f"longest UI stall while {c['burst_rate']:.0f} messages/s arrive",
                    measured,
                    "<= 50 ms",
                    verdict(c["longest_stall_ms"] <= 50 and not c.get("crash")),
                )
            )
    if "revocation" in results:
        # Issue 11's bound holds for every socket of every run, so the worst one counts.
        runs = results["revocation"].get("runs") or results["revocation"]["rows"]
        worst = max(r["max_ms"] for r in runs)
        unclosed = sum(r["sockets"] - r["closed_4401"] for r in runs)
        measured = f"{worst / 1000:.2f} s at worst over {len(runs)} CLI runs"
        if unclosed:
            measured += f"; {unclosed} socket(s) not closed with 4401"
        out.append(
            (
                "revocation reaches running servers (issue 11)",
                measured,
                "< 2 s",
                verdict(worst < 2000 and not unclosed),
            )
        )
    if "files" in results:
        out += _file_targets(results["files"])
    if "search" in results:
        out += search_targets(results["search"])
    out += issue16_targets(results)
    if "cluster" in results:
        out += cluster_targets(results["cluster"])
    return out


def cluster_targets(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Issue 15's targets: p99 on two servers against one, fan-out against socketio + Redis."""
    f, rows = result["figures"], result["rows"]
    out: list[tuple[str, str, str, str]] = []
    if "p99_two_over_one" in f:
        one, two = cluster.row_of(rows, "ours", 1), cluster.row_of(rows, "ours", 2)
        assert one is not None and two is not None
        out.append(
            (
                f"p99 on two servers against one, {one['clients']} clients spread evenly"
                " (issue 15)",
                f"{f['p99_two_over_one']:.2f}x ({two['p99_ms']:.1f} vs {one['p99_ms']:.1f} ms)",
                f"<= {cluster.TARGET_P99_RATIO}x",
                verdict(f["p99_two_over_one"] <= cluster.TARGET_P99_RATIO),
            )
        )
    for key, ratio in f.items():
        if key.startswith("fanout_over_socketio_"):
            size = int(key.rsplit("_", 1)[1])
            out.append(
                (
                    f"fan-out on {size} process(es) against python-socketio + Redis (issue 15)",
                    f"{ratio:.2f}x",
                    f">= {cluster.TARGET_FANOUT_RATIO}x",
                    verdict(ratio >= cluster.TARGET_FANOUT_RATIO),
                )
            )
    return out


def issue16_targets(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """Issue 16's targets: healing after a restart, and the app's memory over a long day."""
    out: list[tuple[str, str, str, str]] = []
    if "healing" in results:
        h = results["healing"]["figures"]
        out.append(
            (
                f"heal time of a 1 s restart {h['gap_s']:g} s after an 8 s outage,"
                f" {h['clients']} app links (issue 16)",
                f"median {h['median_s']:.2f} s, max {h['max_s']:.2f} s",
                f"< {h['target_s']:g} s",
                verdict(h["max_s"] < h["target_s"]),
            )
        )
    if "reconnect_storm" in results:
        r = results["reconnect_storm"]["figures"]
        out.append(
            (
                f"{r['clients']:,} app links reconnecting after a restart (issue 16)",
                f"all back in {r['all_back_s']:.2f} s; server CPU {r['storm_server_cpu_pct']:.0f}%"
                f" (peak {r['storm_server_peak_cpu_pct']:.0f}%), health check max"
                f" {r['storm_health_max_ms']:.0f} ms",
                "all back, the server answering",
                verdict(r["healed"] == r["clients"] and r["storm_health_failures"] == 0),
            )
        )
    if "client_memory" in results:
        m = results["client_memory"]["figures"]
        need = m["target_pct"]
        for label, key in (
            (f"app RSS after {m['bulk_messages']:,} messages received", "bulk_growth_pct"),
            (f"app RSS at the end of a {m['soak_minutes']:g} min soak", "soak_end_growth_pct"),
        ):
            out.append(
                (
                    f"{label}, vs after the first 1,000 (issue 16)",
                    f"{m[key]:+.1f}% (first: {m['first_rss_mib']:.0f} MiB)",
                    f"within {need:.0f}%",
                    verdict(m[key] <= need),
                )
            )
    return out


def _file_targets(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Issue 13's targets: transfer speed, memory under uploads, chat latency meanwhile."""
    ratios, load = result["ratios"], result["load"]
    rows = [
        (
            f"file {way} speed against a bare aiohttp handler",
            f"{ratios[way]:.2f}x",
            ">= 0.8x",
            verdict(ratios[way] >= 0.8),
        )
        for way in ("upload", "download")
    ]
    rows.append(
        (
            f"server memory while {load['clients']} clients upload {load['upload_mib']:g} MiB",
            f"+{load['peak_above_idle_mib']:.1f} MiB",
            "< 50 MiB above idle",
            verdict(load["peak_above_idle_mib"] < 50),
        )
    )
    rows.append(
        (
            "chat p99 while those uploads run",
            f"{load['busy_p99_ms']:.1f} ms vs {load['idle_p99_ms']:.1f} ms idle"
            f" ({load['p99_ratio']:.2f}x)",
            "< 2x idle",
            verdict(load["p99_ratio"] < 2),
        )
    )
    return rows


def search_targets(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Issue 14's targets: server search p99, the index's write cost, client search."""
    out: list[tuple[str, str, str, str]] = []
    for engine in ("SQLite", "PostgreSQL"):
        rows = [r for r in result["rows"] if r["engine"] == engine]
        if rows:
            worst = max(rows, key=lambda r: r["p99_ms"])
            out.append(
                (
                    f"server search p99 over {rows[0]['messages']:,} messages, {engine},"
                    " 1-3 words (issue 14)",
                    f"{worst['p99_ms']:.1f} ms at worst"
                    f" ({_words(worst['words'])}, {worst['scope']})",
                    "< 30 ms" if engine == "SQLite" else "measured",
                    verdict(worst["p99_ms"] < 30) if engine == "SQLite" else "n/a",
                )
            )
    cost = result["figures"].get("write_cost_pct")
    if cost is not None:
        clients = result["args"]["fanout_clients"]
        out.append(
            (
                f"fan-out throughput lost to the search index, {clients} clients (issue 14)",
                f"{cost:.1f} %",
                "< 15 %",
                verdict(cost < 15),
            )
        )
    client = result.get("client_rows") or []
    if client:
        worst = max(client, key=lambda r: r["p99_ms"])
        out.append(
            (
                f"client search p99 over {client[0]['cached']:,} cached messages (issue 14)",
                f"{worst['p99_ms']:.1f} ms at worst ({_words(worst['words'])}, {worst['scope']})",
                "< 50 ms",
                verdict(worst["p99_ms"] < 50),
            )
        )
    return out


def _words(count: int) -> str:
    return "1 word" if count == 1 else f"{count} words"


def section_search(result: dict[str, Any], charts: Path) -> str:
    del charts  # tables only
    f = result["figures"]
    keys = ("scope", "words", "mean_results", "p50_ms", "p99_ms", "max_ms", "count")
    heads = ["scope", "words", "mean results", "p50 ms", "p99 ms", "max ms", "queries"]
    server = table(
        ["engine", *heads], [[r["engine"], *(r[k] for k in keys)] for r in result["rows"]]
    )
    built = f"SQLite filled in {f['sqlite_build_s']:.0f} s ({f['sqlite_mib']:.0f} MiB)"
    if "postgres_build_s" in f:
        built += f", PostgreSQL in {f['postgres_build_s']:.0f} s"
    client = table(heads, [[r[k] for k in keys] for r in result.get("client_rows", [])])
    writes = table(
        ["server", "deliveries/s", "server CPU us/delivery", "repeats"],
        [
            [r["index"], r["deliveries_per_s"], r["cpu_us_per_delivery"], r["repeats"]]
            for r in result["write_rows"]
        ],
    )
    return (
        f"Server ({built}):\n\n{server}\n\n"
        f"Client cache (written at {f['cache_writes_per_s']:,.0f} messages/s with the"
        f" index's triggers):\n\n{client}\n\n"
        f"Fan-out with and without the index rows:\n\n{writes}\n\n"
        f"The index costs {f['write_cost_pct']:.1f} % of fan-out throughput here.\n"
    )


def section_latency(result: dict[str, Any], charts: Path) -> str:
    rows = result["rows"]
    body = table(
        [
            "server",
            "receivers",
            "senders",
            "msg/s",
            "delivered",
            "p50 ms",
            "p99 ms",
            "max ms",
            "server CPU %",
        ],
        [
            (
                harness.LABELS[r["target"]],
                r["clients"],
                r["senders"],
                r["rate"],
                f"{r['deliveries']:,} / {r['expected']:,}",
                r["p50_ms"],
                r["p99_ms"],
                r["max_ms"],
                r.get("server_cpu_pct", float("nan")),
            )
            for r in rows
        ],
    )
    ratios = []
    for clients in sorted({r["clients"] for r in rows}):
        at = by(rows, "clients", clients)
        for peer in ("bare", "durable", "durable_loop", "socketio", "mqtt"):
            if "ours" in at and peer in at:
                ratios.append(
                    (
                        f"ours / {harness.LABELS[peer]}",
                        clients,
                        harness.ratio(at["ours"]["p50_ms"], at[peer]["p50_ms"]),
                        at["ours"]["p50_ms"] - at[peer]["p50_ms"],
                        harness.ratio(at["ours"]["p99_ms"], at[peer]["p99_ms"]),
                        harness.ratio(at["ours"]["max_ms"], at[peer]["max_ms"]),
                    )
                )
    chart_latency(rows, charts / "latency.png")
    disk = result.get("durable_commit")
    if disk:
        body += (
            "\n\nThe durability floor, measured in the same run: a one-row SQLite commit"
            f" with the WAL fsynced (what ours waits for before broadcasting) takes"
            f" p50 {disk['p50_ms']:.2f} ms, p99 {disk['p99_ms']:.2f} ms,"
            f" max {disk['max_ms']:.2f} ms on this disk."
        )
    return (
        body
        + "\n\nOurs / each peer (1.0 = as fast as the peer, below 1: ours is faster):\n\n"
        + table(["ratio", "receivers", "p50", "p50 ours - peer ms", "p99", "max"], ratios)
        + "\n\n![latency chart](benchmarks/latency.png)\n"
    )


def section_fanout(result: dict[str, Any], charts: Path) -> str:
    rows = result["rows"]
    body = table(
        [
            "server",
            "clients",
            "deliveries/s",
            "server CPU µs/delivery",
            "server CPU %",
            "clients CPU %",
            "p50 ms",
            "p99 ms",
        ],
        [
            (
                harness.LABELS[r["target"]],
                r["clients"],
                r["deliveries_per_s"],
                r["cpu_us_per_delivery"],
                r["server_cpu_pct"],
                r["receivers_cpu_pct"],
                r["p50_ms"],
                r["p99_ms"],
            )
            for r in rows
        ],
    )
    ratios = []
    for clients in sorted({r["clients"] for r in rows}):
        at = by(rows, "clients", clients)
        for peer in ("bare", "durable", "socketio", "mqtt"):
            if "ours" in at and peer in at:
                ratios.append(
                    (
                        f"ours / {harness.LABELS[peer]}",
                        clients,
                        harness.ratio(at["ours"]["deliveries_per_s"], at[peer]["deliveries_per_s"]),
                        harness.ratio(
                            at["ours"]["cpu_us_per_delivery"], at[peer]["cpu_us_per_delivery"]
                        ),
                        harness.ratio(at["ours"]["p99_ms"], at[peer]["p99_ms"]),
                    )
                )
    chart_fanout(rows, charts / "fanout.png")
    model = fanout.cost_model(rows)
    if model:
        body += (
            "\n\nServer CPU split into a fixed cost per message and a cost per delivery"
            " (CPU per message = fixed + clients x per delivery, fitted through the two"
            " sizes):\n\n"
            + table(
                ["server", "µs per message (fixed)", "µs per delivery"],
                [
                    (harness.LABELS[t], fanout.fixed_cost_text(fixed), each)
                    for t, fixed, each in model
                ],
            )
        )
    return (
        body + "\n\nRatios (throughput above 1: ours delivers more; CPU and latency below 1: ours"
        " costs less):\n\n"
        + table(["ratio", "clients", "throughput", "CPU per delivery", "p99 latency"], ratios)
        + "\n\n![fan-out chart](benchmarks/fanout.png)\n"
    )


def section_connections(result: dict[str, Any], charts: Path) -> str:
    rows = result["rows"]
    chart_connections(rows, charts / "connections.png")
    return (
        table(
            ["server", "connections", "RSS before MiB", "RSS after MiB", "KiB per connection"],
            [
                (
                    harness.LABELS[r["target"]],
                    r["connections"],
                    r["rss_base_bytes"] / 2**20,
                    r["rss_bytes"] / 2**20,
                    r["kib_per_connection"],
                )
                for r in rows
            ],
        )
        + "\n\n![connections chart](benchmarks/connections.png)\n"
    )


def section_polling(result: dict[str, Any], charts: Path) -> str:
    rows = result["rows"]
    chart_polling(rows, charts / "polling_vs_ws.png")
    return (
        table(
            [
                "client",
                "idle requests/s per client",
                "idle server CPU ms/s per client",
                "p50 ms",
                "p99 ms",
                "max ms",
                "deliveries",
            ],
            [
                (
                    r["kind"],
                    r["requests_per_client_s"],
                    r["server_cpu_ms_per_client_s"],
                    r["p50_ms"],
                    r["p99_ms"],
                    r["max_ms"],
                    r["count"],
                )
                for r in rows
            ],
        )
        + "\n\nAn idle WebSocket client sends nothing but the pong to the server's ping"
        " every 20 s (0.05 frames/s), which a phase shorter than 20 s may not see.\n"
        "\n![polling vs WebSocket chart](benchmarks/polling_vs_ws.png)\n"
    )


def section_client(result: dict[str, Any], charts: Path) -> str:
    f = result["figures"]
    chart_client(result, charts / "client.png")
    n = f"{f['cached_messages']:,}"
    rows = [
        (
            "cache writes (messages/s)",
            f["cache_writes_per_s"],
            f["sqlite_floor_writes_per_s"],
            "plain sqlite3",
        ),
        (
            f"launch to first paint, {n} cached (s)",
            f["first_paint_s"],
            f["empty_cache_first_paint_s"],
            "empty cache",
        ),
        (f"RSS, {n} cached (MiB)", f["rss_mib"], f["empty_cache_rss_mib"], "empty cache"),
        (
            f"longest UI stall at {f['burst_rate']:.0f} msg/s (ms)",
            f["longest_stall_ms"],
            f["idle_longest_stall_ms"],
            "idle, same window",
        ),
    ]
    text = table(["figure", "ours", "baseline", "baseline is"], rows)
    text += (
        f"\n\nDuring the burst {f['sent']:,} messages were sent; the window showed"
        f" {f['rows_shown']:,} rows at the end."
    )
    if f.get("crash"):
        text += f" **The client process died during the burst**: `{f['crash']}`."
    return text + "\n\n![client chart](benchmarks/client.png)\n"


def section_revocation(result: dict[str, Any], charts: Path) -> str:
    keys = ("action", "sockets", "closed_4401", "p50_ms", "max_ms", "repeats")
    return (
        table(
            ["action", "open sockets", "closed with 4401", "p50 ms", "max ms", "repeats"],
            [[r[key] for key in keys] for r in result["rows"]],
        )
        + "\n\nEach figure is the median over the repeats; the target above takes the"
        " slowest socket of any run.\n"
    )


def section_healing(result: dict[str, Any], charts: Path) -> str:
    rows = result["rows"]
    chart_healing(rows, charts / "healing.png")
    return (
        table(healing.HEADERS, healing.table_rows(rows))
        + "\n\nThe fresh client is the floor: a lean client that connects the moment the"
        " server is back (accept, hello, welcome), with no backoff to wait out.\n"
        "\n![healing chart](benchmarks/healing.png)\n"
    )


def section_reconnect_storm(result: dict[str, Any], charts: Path) -> str:
    r = result["figures"]
    return (
        table(reconnect_storm.HEADERS, reconnect_storm.table_rows(r))
        + "\n\n"
        + reconnect_storm.outcome(r)
        + " The idle RSS is that of the process before the restart, which had"
        " also hashed the accounts' passwords (argon2id: 19 MiB of memory each); the new one"
        " did not.\n"
    )


def section_client_memory(result: dict[str, Any], charts: Path) -> str:
    f = result["figures"]
    chart_client_memory(result, charts / "client_memory.png")
    return (
        table(client_memory.HEADERS, client_memory.table_rows(f))
        + "\n\n"
        + client_memory.outcome(f)
        + " GC objects are the objects Python's collector tracks: they do not move with"
        " the allocator's caching.\n"
        "\n![client memory chart](benchmarks/client_memory.png)\n"
    )


def section_files(result: dict[str, Any], charts: Path) -> str:
    load = result["load"]
    throughput = table(
        ["server", "upload MiB/s", "download MiB/s", "repeats"],
        [
            [r["target"], r["upload_mib_s"], r["download_mib_s"], r["repeats"]]
            for r in result["rows"]
        ]
        + [["ours / bare", result["ratios"]["upload"], result["ratios"]["download"], ""]],
    )
    memory = table(
        ["clients", "MiB each", "idle RSS MiB", "peak RSS MiB", "above idle MiB", "uploads"],
        [
            [
                load["clients"],
                load["upload_mib"],
                load["idle_rss_mib"],
                load["peak_rss_mib"],
                load["peak_above_idle_mib"],
                f"{load['uploads']} in {load['busy_s']:.1f} s",
            ]
        ],
    )
    latency = table(
        ["phase", "messages", "p50 ms", "p99 ms"],
        [
            ["idle", load["idle_messages"], load["idle_p50_ms"], load["idle_p99_ms"]],
            ["during uploads", load["busy_messages"], load["busy_p50_ms"], load["busy_p99_ms"]],
        ],
    )
    lag = load.get("loop_lag", {})
    loop = table(
        ["phase", "timer ticks", "p50 ms", "p99 ms", "max ms", "share > 5 ms late"],
        [
            [phase, f["samples"], f["p50_ms"], f["p99_ms"], f["max_ms"], f["late_5ms"]]
            for phase, f in lag.items()
        ],
    )
    # Results saved before bench.files measured the loop have no lag figures.
    lagging = f"\n\nHow late our server's event loop ran a 10 ms timer:\n\n{loop}" if lag else ""
    return f"{throughput}\n\n{memory}\n\nChat meanwhile:\n\n{latency}{lagging}\n"


# Charts ------------------------------------------------------------------------


def section_cluster(result: dict[str, Any], charts: Path) -> str:
    cores = result.get("cores") or os.cpu_count()
    model = result["figures"].get("cost_model") or []
    fit = ""
    if model:
        fit = (
            "\n\nServer CPU per chat message, fitted as base + per_server x N over the"
            " sizes (`per server`: what every server pays for every message of the chat,"
            " whatever its share of the clients; `base / clients`: at most the cost of one"
            " delivery, the once-per-message store included):\n\n"
            + table(
                ["system", "clients", "base us", "per server us", "base / clients us"],
                [
                    (
                        cluster.LABELS[m["target"]],
                        m["clients"],
                        m["base_us"],
                        m["per_server_us"],
                        m["base_us"] / m["clients"],
                    )
                    for m in model
                ],
            )
        )
    return (
        table(cluster.HEADERS, cluster.table_rows(result["rows"]))
        + fit
        + f"\n\nEvery process (the servers, Redis, PostgreSQL, the clients) shares this"
        f" machine's {cores} cores, so two or three servers cannot deliver more than one"
        " here: what the rows show is what spreading one chat over processes costs (the"
        " Redis hop in the latency, the CPU per delivery of all servers together), not the"
        " capacity a bigger machine would gain. The CPU per delivery is the figure that"
        " carries over: a core gives about 1,000,000 / (us per delivery) deliveries a"
        " second, and each server added brings its cores. PostgreSQL's CPU is not"
        " counted.\n"
    )


def _save(fig: Any, path: Path, top: float = 1.0) -> None:
    """Lay out, write and close ``fig``; ``top`` < 1 leaves room above the plots (a legend)."""
    fig.tight_layout(rect=(0, 0, 1, top))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _grouped_bars(ax: Any, groups: list[Any], series: dict[str, list[float]], width: float) -> None:
    n = len(series)
    colors = {label: COLORS[key] for key, label in harness.LABELS.items()}
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, values, width, label=name, color=colors.get(name))
    ax.set_xticks(range(len(groups)), [f"{g:,}" if isinstance(g, int) else g for g in groups])


def chart_latency(rows: list[dict[str, Any]], path: Path) -> None:
    sizes = sorted({r["clients"] for r in rows})
    targets = [t for t in harness.LABELS if any(r["target"] == t for r in rows)]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, stat in zip(axes, ("p50_ms", "p99_ms"), strict=True):
        series = {
            harness.LABELS[t]: [by(rows, "clients", s)[t][stat] for s in sizes] for t in targets
        }
        _grouped_bars(ax, sizes, series, 0.8 / max(1, len(series)))
        ax.set_yscale("log")
        ax.set_xlabel("receiving clients")
        ax.set_title(f"{stat[:3]} send -> receive latency")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("latency (ms, log scale)")
    axes[0].legend()
    _save(fig, path)


def chart_fanout(rows: list[dict[str, Any]], path: Path) -> None:
    sizes = sorted({r["clients"] for r in rows})
    targets = [
        t for t in ("ours", "bare", "socketio", "mqtt") if any(r["target"] == t for r in rows)
    ]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, label in (
        (axes[0], "deliveries_per_s", "deliveries per second (thousands)"),
        (axes[1], "cpu_us_per_delivery", "server CPU per delivery (µs)"),
    ):
        scale = 1000 if key == "deliveries_per_s" else 1
        series = {
            harness.LABELS[t]: [
                by(rows, "clients", s).get(t, {}).get(key, 0.0) / scale for s in sizes
            ]
            for t in targets
        }
        _grouped_bars(ax, sizes, series, 0.8 / max(1, len(series)))
        ax.set_xlabel("connected clients")
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_title("fan-out throughput (higher is better)")
    axes[1].set_title("server CPU per delivery (lower is better)")
    # One legend for both, above them: inside either plot it would hide a bar.
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False)
    _save(fig, path, top=0.92)


def chart_connections(rows: list[dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in rows:
        xs = [p[0] for p in r["points"]]
        ys = [p[1] / 2**20 for p in r["points"]]
        label = f"{harness.LABELS[r['target']]}: {r['kib_per_connection']:.1f} KiB/connection"
        ax.plot(xs, ys, marker="o", label=label, color=COLORS[r["target"]])
    ax.set_xlabel("idle authenticated connections")
    ax.set_ylabel("server resident memory (MiB)")
    ax.set_title("server memory with idle connections")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


def chart_polling(rows: list[dict[str, Any]], path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    kinds = [r["kind"] for r in rows]
    colors = [COLORS[k] for k in kinds]
    series = {"p50": [r["p50_ms"] for r in rows], "p99": [r["p99_ms"] for r in rows]}
    for i, (name, values) in enumerate(series.items()):
        xs = [k + (i - 0.5) * 0.4 for k in range(len(kinds))]
        axes[0].bar(xs, values, 0.4, color=colors, alpha=1.0 if name == "p50" else 0.55)
        for x, v in zip(xs, values, strict=True):
            axes[0].annotate(name, (x, v), ha="center", va="bottom", fontsize=8)
    axes[0].set_xticks(range(len(kinds)), kinds)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("send -> receive latency (ms, log scale)")
    axes[0].set_title("delivery latency (p50, p99)")
    axes[1].bar(kinds, [r["requests_per_client_s"] for r in rows], color=colors)
    axes[1].set_ylabel("requests (WebSocket: frames) per second per idle client")
    axes[1].set_title("idle traffic per client")
    for ax in axes:
        ax.grid(axis="y", alpha=0.3)
    _save(fig, path)


def chart_client(result: dict[str, Any], path: Path) -> None:
    figures = result["figures"]
    stalls = figures.get("stalls_ms") or []
    fig, ax = plt.subplots(figsize=(7, 4))
    if stalls:
        ax.plot([t for t, _ in stalls], [s for _, s in stalls], label="lateness of a 5 ms timer")
        ax.axhline(50, color="#d62728", linestyle="--", label="target: 50 ms")
        ax.axvline(figures["burst_seconds"], color="#7f7f7f", linestyle=":", label="last send")
        ax.legend()
    ax.set_xlabel("time into the burst (s)")
    ax.set_ylabel("UI event-loop delay (ms)")
    ax.set_title(f"UI responsiveness while {figures.get('burst_rate', 0):.0f} messages/s arrive")
    ax.grid(alpha=0.3)
    _save(fig, path)


def chart_healing(rows: list[dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, r in enumerate(rows):
        times = [t for t in r["heal_s"] if t != float("inf")]
        ax.scatter([i] * len(times), times, alpha=0.6, color=COLORS["ours"])
        ax.scatter([i], [r["floor_s"]], marker="_", s=400, color=COLORS["bare"])
    ax.scatter([], [], color=COLORS["ours"], label="an app link")
    ax.scatter([], [], marker="_", s=200, color=COLORS["bare"], label="a fresh client (floor)")
    ax.axhline(3.0, color="#d62728", linestyle="--", label="target: 3 s")
    ax.set_xticks(range(len(rows)), [f"{r['drop']} ({r['outage_s']:.1f} s down)" for r in rows])
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylabel("server back -> link connected (s)")
    ax.set_title("heal time of each app link")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    _save(fig, path)


def chart_client_memory(result: dict[str, Any], path: Path) -> None:
    samples = result.get("samples") or []
    first = result["figures"]["first_rss_mib"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([t for t, _, _ in samples], [rss for _, rss, _ in samples], label="app RSS")
    ax.axhline(first * 1.1, color="#d62728", linestyle="--", label="target: first 1,000 + 10%")
    ax.set_xlabel("seconds into the session")
    ax.set_ylabel("resident memory (MiB)")
    ax.set_title("the app's memory: first 1,000, then the bulk, then the soak")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


SECTIONS = {
    "latency": ("Latency: send -> receive", section_latency),
    "fanout": ("Fan-out throughput and CPU per delivery", section_fanout),
    "connections": ("Idle connections and memory", section_connections),
    "polling_vs_ws": ("The seed's polling against our WebSocket", section_polling),
    "client": ("The desktop client", section_client),
    "revocation": ("Revocation reaching a running server", section_revocation),
    "healing": ("Healing after a server restart", section_healing),
    "reconnect_storm": ("A thousand clients reconnecting", section_reconnect_storm),
    "client_memory": ("The app's memory over a long day", section_client_memory),
    "files": ("Files: transfer, memory, chat meanwhile", section_files),
    "search": ("Search: server, client cache, and the index's write cost", section_search),
    "cluster": ("Several servers of one chat", section_cluster),
}
# What each benchmark does, in a sentence or two (the module docstrings say more).
METHODS = {
    "latency": "Senders in one process share a fixed rate (one account each, under the"
    " per-user limit); receivers in a worker process time each message from its send"
    " stamp. Ours runs with its default limits and its SQLite store. Each figure is the"
    " median of the repeats, the servers taking turns.",
    "fanout": "Closed loop: 4 senders keep a window of messages in flight and send the"
    " next one when one of their own comes back; deliveries are counted at every"
    " client and the server's CPU time is read from /proc. Ours runs with its per-user"
    " rate limit raised (the limiter still runs) so that 4 senders can saturate it.",
    "connections": "Idle sockets opened in steps by worker processes (authenticated on"
    " ours: hello with a token, welcome received); the server's RSS after each step.",
    "polling_vs_ws": "The same server, the same number of clients of each kind: idle"
    " phases one kind at a time, then messages at random moments with both connected.",
    "client": "The app's window (ChatCache, ChatController, MainWindow, Qt offscreen) in"
    " a process of its own; launch is timed from spawning that process. The burst"
    " comes from our server in a subprocess; a 5 ms Qt timer measures the UI stalls.",
    "revocation": "Our server runs with its defaults (the revocation log read every"
    " second). For each action a fresh user opens WebSocket sessions, then"
    " `chat-server user reset-password|disable|remove NAME` runs as its own process on"
    " the same data, as an operator would; each delay runs from that process's exit"
    " (its change committed) until a socket receives its 4401 close.",
    "healing": "The app's own ServerLink (as ChatController builds it, with its default"
    " reconnect policy) in a worker process, our server in a subprocess stopped with"
    " SIGTERM and started again on its port with the same database: an 8 s outage, then,"
    " 20 s after the server is back, a 1 s restart. Heal time: from the new server's"
    " 'listening' line to the link's CONNECTED (the welcome), CLOCK_MONOTONIC across"
    " processes. Issue 16's target is the second restart, every link under 3 s.",
    "reconnect_storm": "A thousand of the app's ServerLinks in two worker processes,"
    " sharing a few accounts (registering a thousand would measure password hashing), connected"
    " and idle; the server is restarted and the benchmark times until every link is"
    " back, reading the server's CPU and RSS from /proc and timing GET /api/v1/health"
    " every 0.1 s, beside the same readings just before the restart.",
    "client_memory": "The app (ChatCache, ChatController, the shown MainWindow, Qt"
    " offscreen) in a process of its own, connected to our server; lean senders send"
    " the first 1,000 messages, then the bulk, both to the room on screen, then a soak"
    " of office traffic (several rooms, typing before each message, colleagues coming"
    " and going). Each RSS is read once the app has stored every message sent and"
    " settled for 2 s.",
    "files": "One client uploads and downloads a file, our server and a bare aiohttp"
    " handler (the same hash, fsync and rename, FileResponse back) taking turns; then"
    " clients in a worker process each upload a file at once while our server's RSS is"
    " read every 10 ms and a few users chat over WebSockets, timed send -> receive"
    " against the same chat before the uploads.",
    "cluster": "One, two and three of our servers (PostgreSQL for the log, Redis between"
    " them) and as many python-socketio processes with its Redis manager, in turns; the"
    " clients connect to the processes directly (client i to process i mod N), receivers"
    " in a worker process. Latency: bench.latency's open loop at a fixed rate; fan-out:"
    " bench.fanout's closed loop; CPU: all server processes together, from /proc.",
    "search": "Made-up messages (Zipf-distributed words of a 20,000-word vocabulary) are"
    " stored in bulk through the store's own schema, index rows included, then"
    " PeeweeChatStore.search is timed for queries of 1, 2 and 3 words taken from stored"
    " messages, across every room and in one, 20 results; the same for ChatCache.search"
    " over a real cache file filled through save_messages. The write cost compares our"
    " server's fan-out throughput (bench.fanout's closed loop) with and without the"
    " index rows (bench.ours_server --without-search-index), alternating, medians.",
}


def code_state() -> str:
    """Which code was measured: the commit, and the app/server files changed since."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=harness.REPO, capture_output=True, text=True, check=False
        ).stdout

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = git("status", "--porcelain", "--", "chat_desktop", "server").splitlines()
    if dirty:
        files = ", ".join(line[3:] for line in dirty[:6])
        return f"commit {commit} plus uncommitted changes in {files}"
    return f"commit {commit}"


def machine() -> str:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    versions = []
    for package in ("aiohttp", "peewee", "PySide6-Essentials", "python-socketio"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{package} {importlib.metadata.version(package)}")
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        # `mosquitto -h` prints its version first (and exits non-zero).
        first = subprocess.run(
            ["mosquitto", "-h"], capture_output=True, text=True, timeout=5, check=False
        ).stdout.splitlines()
        if first:
            versions.append(first[0].replace(" version", ""))
    return (
        f"{os.cpu_count()} cores ({model}), {platform.system()}, Python"
        f" {platform.python_version()}, " + ", ".join(versions)
    )


def targets_table(
    results: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]] | None, label: str
) -> str:
    """The targets as met or missed; with ``before``, the earlier run's figure beside each."""
    now = targets_summary(results)
    if before is None:
        return table(["target", "measured", "required", "verdict"], now)
    earlier = {row[0]: row for row in targets_summary(before)}
    rows = []
    for target, measured, required, verdict_now in now:
        then = earlier.get(target)
        rows.append(
            (
                target,
                f"{then[1]} ({then[3].strip('*')})" if then else "",
                measured,
                required,
                verdict_now,
            )
        )
    return table(["target", label, "now", "required", "verdict now"], rows)


def render(
    results: dict[str, dict[str, Any]],
    md_path: Path,
    charts: Path,
    before: dict[str, dict[str, Any]] | None = None,
    before_label: str = "before",
) -> None:
    """Write the report and its charts from the benchmarks' JSON results."""
    state = next((r["code"] for r in results.values() if "code" in r), code_state())
    charts.mkdir(parents=True, exist_ok=True)
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Benchmarks",
        "",
        "Written by `python -m bench.report` (see `bench/__init__.py`); every figure"
        " below comes from the command shown above it, and every ratio compares"
        " figures measured in the same run, by the same clients, on the same machine:",
        f"{machine()}, {when}, {state}. The machine is shared and noisy, so compare the"
        " ratios, not the absolute numbers of different runs.",
        "",
        "How the measuring works: the clients are lean (`bench/wire.py`: raw"
        " WebSocket/MQTT on asyncio, one `find` per frame for the send stamp, no"
        " JSON parsing), receivers run in worker processes apart from the server"
        " and the senders, latency is CLOCK_MONOTONIC across processes. Our server"
        " runs as `bench/ours_server.py`: the real `ChatServer` with its SQLite"
        " store in a temporary directory, every message durable before broadcast.",
        "",
        "## Targets (each row names its issue; the unmarked ones are issue 5's)",
        "",
        targets_table(results, before, before_label),
        "",
        "Where a target is missed, the last part of this page says what the profiles"
        " show and what would fix it."
        if any("missed" in row[-1] for row in targets_summary(results))
        else "Every target is met in this run. The last part of this page records what"
        " the profiles showed where targets were missed before, and what was changed.",
        "",
    ]
    for name, (title, section) in SECTIONS.items():
        if name not in results:
            continue
        result = results[name]
        parts += [
            f"## {title}",
            "",
            METHODS[name],
            "",
            "```",
            result["command"],
            "```",
            "",
            section(result, charts),
            "",
        ]
    if PROFILES.exists():
        parts += [PROFILES.read_text().strip(), ""]
    md_path.write_text("\n".join(parts))
    print(f"\nwrote {md_path} and charts in {charts}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a quick look")
    parser.add_argument("--only", type=lambda s: s.split(","), default=list(BENCHMARKS))
    parser.add_argument(
        "--args",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help='arguments for one benchmark, e.g. latency="--clients 10,100"',
    )
    parser.add_argument("--out", type=Path, default=harness.REPO / "docs" / "benchmarks.md")
    parser.add_argument("--from-json", type=Path, help="render from NAME.json files in this folder")
    parser.add_argument("--keep-json", type=Path, help="keep each benchmark's NAME.json here")
    parser.add_argument(
        "--before", type=Path, help="NAME.json files of an earlier run: targets before and after"
    )
    parser.add_argument("--before-label", default="before", help="what the earlier run was")
    return parser.parse_args(argv)


def load_results(folder: Path, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The NAME.json results found in ``folder`` (as ``--keep-json`` left them)."""
    found = {}
    for name in names:
        path = folder / f"{name}.json"
        if path.exists():
            found[name] = json.loads(path.read_text())
    return found


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.args)
    results: dict[str, dict[str, Any]] = {}
    if args.from_json:
        results = load_results(args.from_json, args.only)
    else:
        with contextlib.ExitStack() as stack:
            if args.keep_json:
                args.keep_json.mkdir(parents=True, exist_ok=True)
                folder = args.keep_json
            else:
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            for name in args.only:
                bench_args = overrides.get(name, QUICK[name] if args.quick else "")
                result = run_benchmark(name, bench_args, folder)
                if result is not None:
                    results[name] = result
    before = load_results(args.before, BENCHMARKS) if args.before else None
    render(results, args.out, args.out.with_suffix(""), before, args.before_label)


if __name__ == "__main__":
    main()
