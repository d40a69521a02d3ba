"""``python -m bench.revocation`` runs at a tiny size and every socket sees its 4401.

Not a benchmark and no timing assertion: it keeps the command working (a real
server process, the real CLI) and checks that what it measures happened.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_the_revocation_benchmark_sees_every_socket_closed_with_4401(tmp_path: Path) -> None:
    out = tmp_path / "revocation.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.revocation",
            "--repeat",
            "1",
            "--sockets",
            "2",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = json.loads(out.read_text())["rows"]
    assert {row["action"] for row in rows} == {"reset-password", "disable", "remove"}
    assert all(row["closed_4401"] == row["sockets"] == 2 for row in rows)
    assert "closed with 4401" in done.stdout
