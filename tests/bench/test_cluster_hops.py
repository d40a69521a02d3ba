"""``python -m bench.cluster_hops`` runs at a tiny size and traces every hop it reports.

Not a benchmark: no timing assertions. Real servers (PostgreSQL + Redis, as
bench.cluster starts them) with the tracer in each; the test checks that the
traced servers still deliver everything and that the trace saw each entry
cross to the other server, so the hop figures of bench/profiles.md stay
computable.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]


def count(figure: str) -> int:
    """How many entries a hop's figure covers (its "(n=...)")."""
    found = re.search(r"\(n=(\d+)\)", figure)
    return int(found.group(1)) if found else 0


def test_cluster_hops_traces_each_entry_across_servers(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("bench.cluster_hops needs redis-server")
    out = tmp_path / "hops.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.cluster_hops",
            "--servers",
            "1,2",
            "--messages",
            "10",
            "--rate",
            "20",
            "--clients",
            "4",
            "--senders",
            "2",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    for size in (1, 2):
        figures = report[f"x{size}"]
        assert figures["delivered"] == "40 of 40", figures
        # One shared rate check per message, whatever the number of servers.
        assert figures["per message (whole cluster)"]["redis EVALSHA"] == 1.0, figures
        # At least the measured messages (a warm-up one may commit late).
        assert count(figures["client send -> commit (admit, write)"]) >= 10, figures
    # On two servers every entry committed on one was read from the stream
    # (or the database) and handed to the other server's sockets.
    two = report["x2"]
    assert count(two["commit -> deliver, other server"]) == count(
        two["commit -> deliver, same server"]
    ), two
    assert count(two["commit -> deliver, same server"]) >= 10, two
    assert report["x1"]["commit -> deliver, other server"] == "-"
