"""First contact: ``chat-desktop`` without a usable display says what is missing in one line.

Qt's own answer to a missing display or missing xcb libraries is an abort
(exit 134) after a page of plugin diagnostics; the launcher checks first. The
commands run in a real subprocess, the way a user types them.
"""

from __future__ import annotations

import os
import subprocess
import sys

from chat_desktop.launch import display_problem


def _launch(**env: str) -> subprocess.CompletedProcess[str]:
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    return subprocess.run(
        [sys.executable, "-m", "chat_desktop.launch", "--data-dir", os.devnull + "-unused"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_a_display_the_app_says_so_in_one_line_and_exits_1() -> None:
    result = _launch()
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chat-desktop: no display")


def test_an_unreachable_x_display_is_one_line_and_exit_1_not_an_abort() -> None:
    # Either the xcb libraries are missing here (the line names the packages)
    # or they are present and display :77 does not answer: one line either way.
    result = _launch(DISPLAY=":77", QT_QPA_PLATFORM="xcb")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "apt-get install" in lines[0] or "cannot reach the X display ':77'" in lines[0]


def test_a_chosen_platform_or_wayland_is_left_to_qt() -> None:
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None
    assert display_problem({}) is not None
