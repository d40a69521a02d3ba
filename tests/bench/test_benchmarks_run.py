"""Each benchmark runs at a tiny size and prints its figures beside its baselines.

These are not benchmarks: they make no timing assertions. They keep every
``python -m bench.<name>`` command working (real servers on loopback, real
worker processes), check that the output names ours and each baseline with
figures, and that ``bench.report`` turns the results into a page and charts.
Every benchmark runs once per session, when a test first asks for it (the
module's ``runs``), then each test checks one thing about one run. The
suite runs on pytest-xdist with ``--dist loadfile``, so the whole module
stays on one worker: no benchmark runs twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# A test runs the benchmark it reads the first time one is asked for (the
# report's test, all that are left): room for that on a busy machine.
pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "latency": [
        "--repeat",
        "1",
        "--clients",
        "3",
        "--rate",
        "20",
        "--duration",
        "0.5",
        "--warmup",
        "0.2",
    ],
    "fanout": [
        "--repeat",
        "1",
        "--clients",
        "6",
        "--senders",
        "2",
        "--window",
        "4",
        "--duration",
        "0.5",
        "--warmup",
        "0.2",
    ],
    "connections": ["--connections", "30", "--steps", "2", "--settle", "0.5", "--processes", "1"],
    "polling_vs_ws": ["--clients", "2", "--idle", "0.5", "--messages", "4", "--rate", "8"],
    "client": [
        *("--messages", "300", "--burst-rate", "40", "--burst-seconds", "0.5"),
        *("--idle-seconds", "0.3"),
    ],
    "revocation": ["--repeat", "1", "--sockets", "3"],
    "healing": ["--clients", "2", "--outage", "0.5", "--gap", "1", "--restart", "0.2"],
    "reconnect_storm": ["--clients", "20", "--users", "2", "--settle", "0.5", "--processes", "1"],
    "client_memory": [
        *("--first", "50", "--messages", "300", "--soak-minutes", "0.05"),
        *("--presence-every", "1", "--sample-every", "0.25"),
        *("--tracemalloc-top", "3", "--tracemalloc-until", "200"),
    ],
    "files": [
        *("--size-mb", "1", "--upload-mb", "1", "--clients", "2", "--repeat", "1"),
        *("--senders", "1", "--rate", "20", "--idle", "0.5", "--busy", "0.5"),
        *("--uploaders-nice", "5"),
    ],
    "search": [
        *("--messages", "3000", "--cached", "1000", "--queries", "20", "--fanout-clients", "6"),
        *("--fanout-duration", "0.5", "--fanout-warmup", "0.2", "--fanout-repeat", "1"),
        *("--append-messages", "320", "--append-repeat", "1"),
    ],
    # Needs the PostgreSQL on 127.0.0.1:5432 and redis-server (.ci/run provides both).
    "cluster": [
        *("--servers", "1,2", "--clients", "6", "--rate", "20", "--window", "4"),
        *("--duration", "0.5", "--warmup", "0.2"),
    ],
    "search_ui": ["--cached", "500", "--queries", "5"],
}
# The latency benchmark with the knobs issue 17 added to reproduce an outside
# harness: two receiver processes on uvloop, receivers that parse, senders on
# the websockets library. Its JSON is not a report input.
OUTSIDE = [
    *("--targets", "ours,durable_loop", "--repeat", "1", "--clients", "3", "--rate", "20"),
    *("--duration", "0.5", "--warmup", "0.2"),
    *("--processes", "2", "--uvloop", "all", "--parse", "--sender-library", "websockets"),
]


class Run:
    """What one benchmark printed and the JSON it wrote."""

    def __init__(self, name: str, folder: Path, args: list[str]) -> None:
        self.json_path = folder / f"{name}.json"
        done = subprocess.run(
            [sys.executable, "-m", f"bench.{name}", *args, "--json", str(self.json_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=100,
        )
        self.returncode = done.returncode
        self.output = done.stdout + done.stderr
        self.result = json.loads(self.json_path.read_text()) if self.json_path.exists() else {}


class Runs:
    """The tiny runs of every benchmark, each made the first time a test asks for it.

    Run on demand rather than all in the fixture, so that each test's time
    (and its timeout) is that of the benchmark it reads.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._done: dict[str, Run] = {}

    def __getitem__(self, name: str) -> Run:
        if name not in self._done:
            self._done[name] = Run(name, self.folder, TINY[name])
        return self._done[name]

    def all(self) -> list[Run]:
        """Every benchmark's run (running those no test has asked for yet)."""
        return [self[name] for name in TINY]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return Runs(tmp_path_factory.mktemp("bench"))


@pytest.fixture(scope="module")
def outside_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return Run("latency", tmp_path_factory.mktemp("outside"), OUTSIDE)


@pytest.mark.parametrize("name", sorted(TINY))
def test_benchmark_exits_cleanly_and_writes_its_figures(runs: Runs, name: str) -> None:
    run = runs[name]
    assert run.returncode == 0, run.output
    assert "Traceback" not in run.output, run.output
    assert run.result["benchmark"] == name
    assert run.result["rows"], run.output


def test_latency_prints_ours_beside_every_peer_and_the_ratios(runs: Runs) -> None:
    output = runs["latency"].output
    for label in (
        "ours (chat_server, SQLite)",
        "bare aiohttp",
        "bare aiohttp + fsynced SQLite",
        "bare aiohttp + fsynced SQLite on its loop",
        "python-socketio",
    ):
        assert label in output
    assert "Mosquitto (MQTT)" in output or "no Mosquitto" in output
    assert "ours / bare aiohttp" in output
    assert "ours / bare aiohttp + fsynced SQLite " in output
    assert "ours / bare aiohttp + fsynced SQLite on its loop" in output


def test_latency_delivers_every_message_to_every_receiver(runs: Runs) -> None:
    rows = runs["latency"].result["rows"]
    assert {row["target"] for row in rows} >= {"ours", "bare", "durable", "durable_loop"}
    for row in rows:
        assert row["deliveries"] == row["expected"], row


def test_latency_runs_as_the_outside_harness_did(outside_run: Run) -> None:
    assert outside_run.returncode == 0, outside_run.output
    assert "Traceback" not in outside_run.output, outside_run.output
    rows = outside_run.result["rows"]
    assert {row["target"] for row in rows} == {"ours", "durable_loop"}
    for row in rows:
        # Every receiver in both processes heard every message, parsed and timed.
        assert row["deliveries"] == row["expected"] == row["sent"] * 3, row
        assert row["count"] == row["deliveries"], row
    assert "ours / bare aiohttp + fsynced SQLite on its loop" in outside_run.output


def test_fanout_prints_every_peer_and_the_ratios(runs: Runs) -> None:
    output = runs["fanout"].output
    for label in ("ours (chat_server, SQLite)", "bare aiohttp", "python-socketio"):
        assert label in output
    # The broker is part of the machine, not of the repository: present or said to be missing.
    assert "Mosquitto (MQTT)" in output or "no Mosquitto" in output
    assert "ours / python-socketio" in output


def test_fanout_counts_deliveries_for_every_server(runs: Runs) -> None:
    for row in runs["fanout"].result["rows"]:
        assert row["deliveries"] > 0, row
        assert row["errors"] == 0, row


def test_connections_holds_every_connection_on_both_servers(runs: Runs) -> None:
    rows = {row["target"]: row for row in runs["connections"].result["rows"]}
    assert set(rows) == {"ours", "bare"}
    for row in rows.values():
        assert row["connections"] == 30
        assert row["lost"] == 0
    assert "KiB per idle connection" in runs["connections"].output


def test_polling_vs_ws_measures_both_kinds_of_client(runs: Runs) -> None:
    rows = {row["kind"]: row for row in runs["polling_vs_ws"].result["rows"]}
    assert set(rows) == {"websocket", "polling"}
    assert rows["websocket"]["count"] == rows["polling"]["count"] == 4 * 2
    assert rows["polling"]["requests_per_client_s"] > 0


def test_client_prints_each_figure_beside_its_baseline(runs: Runs) -> None:
    output = runs["client"].output
    for baseline in ("plain sqlite3", "empty cache", "idle, same window"):
        assert baseline in output
    figures = runs["client"].result["figures"]
    assert figures["rows_shown"] > 0
    assert figures["first_paint_s"] > 0


def test_search_ui_times_the_loop_beside_its_no_search_baseline(runs: Runs) -> None:
    rows = {row["how"]: row for row in runs["search_ui"].result["rows"]}
    assert set(rows) == {"no search", "on the loop", "MessageSearch"}
    assert rows["MessageSearch"]["answer"]["count"] == 15
    assert rows["no search"]["loop_late"]["count"] > 0


def test_revocation_closes_every_socket_of_each_action(runs: Runs) -> None:
    rows = {row["action"]: row for row in runs["revocation"].result["rows"]}
    assert set(rows) == {"reset-password", "disable", "remove"}
    for row in rows.values():
        assert row["closed_4401"] == row["sockets"] == 3, row


def test_healing_times_both_restarts_for_every_link(runs: Runs) -> None:
    rows = runs["healing"].result["rows"]
    assert [row["drop"] for row in rows] == ["outage", "restart"]
    for row in rows:
        assert row["healed"] == 2, row
        # Healing cannot beat the fresh client that connects the moment the server is back.
        assert 0 < row["floor_s"] <= row["max_s"] < float("inf"), row
    assert "heal time of the second restart" in runs["healing"].output
    assert "fresh client" in runs["healing"].output


def test_reconnect_storm_brings_every_link_back_beside_the_idle_baseline(
    runs: Runs,
) -> None:
    figures = runs["reconnect_storm"].result["figures"]
    assert figures["healed"] == figures["clients"] == 20
    assert figures["storm_server_peak_rss_mib"] > 0
    assert figures["storm_health_failures"] == 0
    assert "idle, just before" in runs["reconnect_storm"].output


def test_client_memory_reads_the_app_after_each_phase(runs: Runs) -> None:
    rows = runs["client_memory"].result["rows"]
    assert [row["received"] for row in rows[:2]] == [50, 300]
    # The soak sends more: typing first, then a message, in several rooms.
    assert rows[-1]["received"] > 300
    assert rows[0]["rows_shown"] == 50
    for row in rows:
        assert row["rss_mib"] > 0 and row["objects"] > 0, row
    assert "vs first" in runs["client_memory"].output
    assert "per 10,000 messages" in runs["client_memory"].output
    # The Python allocation sites that grew between the first mark and 200.
    output = runs["client_memory"].output.splitlines()
    traced = [line for line in output if line.startswith("TRACE")]
    assert traced[0].startswith("TRACE at 50 messages") and traced[1].startswith("TRACE at 200 ")
    assert traced[2].startswith("TRACE growth in all")
    assert len(traced) == 6 and all(".py:" in line for line in traced[3:]), traced


def test_files_measures_both_servers_memory_and_chat(runs: Runs) -> None:
    result = runs["files"].result
    rows = {row["target"]: row for row in result["rows"]}
    assert set(rows) == {"ours", "bare"}
    for row in rows.values():
        assert row["upload_mib_s"] > 0 and row["download_mib_s"] > 0
    load = result["load"]
    assert load["clients"] == 2
    assert load["peak_rss_mib"] >= load["idle_rss_mib"] > 0
    assert load["idle_messages"] > 0
    assert "ours / bare aiohttp to disk" in runs["files"].output


def test_search_times_every_query_kind_on_server_and_client(runs: Runs) -> None:
    result = runs["search"].result
    engines = {row["engine"] for row in result["rows"]}
    assert "SQLite" in engines
    assert "PostgreSQL" in engines or "no PostgreSQL" in runs["search"].output
    for rows in (result["rows"], result["client_rows"]):
        assert {(row["scope"], row["words"]) for row in rows} == {
            (scope, words) for scope in ("every room", "one room") for words in (1, 2, 3)
        }
        assert all(row["count"] == 20 for row in rows), rows
        # The queries are taken from stored messages: across rooms each finds something.
        assert all(row["mean_results"] >= 1 for row in rows if row["scope"] == "every room")
    assert {row["index"] for row in result["write_rows"]} == {"with index", "without index"}
    assert all(row["deliveries_per_s"] > 0 for row in result["write_rows"])
    assert "of fan-out throughput" in runs["search"].output
    assert {row["index"] for row in result["append_rows"]} == {"with index", "without index"}
    assert all(row["cpu_us_per_message"] > 0 for row in result["append_rows"])
    assert "to each message's append" in runs["search"].output


def test_cluster_runs_each_system_on_each_size_and_delivers_everywhere(
    runs: Runs,
) -> None:
    run = runs["cluster"]
    for label in ("ours (PostgreSQL + Redis)", "python-socketio + Redis manager"):
        assert label in run.output
    rows = {(r["target"], r["servers"]): r for r in run.result["rows"]}
    assert set(rows) == {(t, n) for t in ("ours", "socketio") for n in (1, 2)}
    for key, row in rows.items():
        # Clients on either process get the messages sent on the other.
        assert row["deliveries"] == row["expected"] > 0, key
        assert row["fanout_deliveries"] > 0 and row["cpu_us_per_delivery"] > 0, key
    assert "p99, two servers / one" in run.output


def test_report_writes_the_page_and_readable_charts(runs: Runs, tmp_path: Path) -> None:
    runs.all()
    folder = runs.folder
    out = tmp_path / "benchmarks.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench.report", "--from-json", str(folder), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    page = out.read_text()
    assert "## Targets (each row names its issue" in page
    assert "python -m bench.latency --repeat 1 --clients 3" in page
    assert "| revocation reaches running servers (issue 11) |" in page
    assert "| server search p99 over 3,000 messages, SQLite" in page
    assert "| client search p99 over 1,000 cached messages" in page
    assert "| fan-out throughput lost to the search index" in page
    assert "python -m bench.revocation --repeat 1 --sockets 3" in page
    assert "| file upload speed against a bare aiohttp handler |" in page
    assert "| chat p99 while those uploads run |" in page
    assert "ours / bare aiohttp + fsynced SQLite on its loop" in page
    assert "(issue 16)" in page
    assert "| p99 on two servers against one, 6 clients spread evenly (issue 15) |" in page
    for chart in (
        "latency",
        "fanout",
        "connections",
        "polling_vs_ws",
        "client",
        "healing",
        "client_memory",
    ):
        assert f"benchmarks/{chart}.png" in page
        assert (tmp_path / "benchmarks" / f"{chart}.png").stat().st_size > 10_000
