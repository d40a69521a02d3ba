"""The window at 400x300 (and at 2x scale): rows never overlap, nothing is cut off."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from chat_desktop.ui.main_window import MINIMUM_SIZE

from .small_window import SMALL, fill_cache, small_window_problems

ROOT = Path(__file__).resolve().parents[2]


def test_at_400x300_rows_never_overlap_and_nothing_is_cut(tmp_path: Path, run: Any) -> None:
    cache_file = tmp_path / "cache.sqlite3"
    fill_cache(cache_file)
    assert run(small_window_problems(cache_file)) == []


def test_at_400x300_and_twice_the_pixel_density_rows_never_overlap(tmp_path: Path) -> None:
    cache_file = tmp_path / "cache.sqlite3"
    fill_cache(cache_file)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": "2"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.ui.small_window", str(cache_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "device pixel ratio 2.0" in result.stdout
    assert result.stderr == ""


def test_the_window_has_a_minimum_size_that_fits_the_layout() -> None:
    assert MINIMUM_SIZE.width() <= SMALL.width() and MINIMUM_SIZE.height() <= SMALL.height()
