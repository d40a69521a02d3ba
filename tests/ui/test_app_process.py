"""The app as a user runs it: ``python -m chat_desktop`` in its own process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from chat_desktop.controller.settings import AppSettings, Session
from chat_desktop.storage import cache_path
from tests.conftest import ServerProcess
from tests.sqlite_driver import sqlite
from tests.waiting import eventually

from .conftest import PASSWORD


def _register(url: str, username: str) -> str:
    request = urllib.request.Request(
        f"{url}/api/v1/register",
        data=json.dumps({"username": username, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return str(json.load(answer)["token"])


def _rooms_in(cache_file: Path) -> list[str]:
    if not cache_file.exists():
        return []
    try:
        with sqlite.connect(f"file:{cache_file}?mode=ro", uri=True) as db:
            return [row[0] for row in db.execute("SELECT name FROM rooms")]
    except sqlite.Error:
        return []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_app_process_quits_with_code_zero_and_a_silent_stderr_on_a_signal(
    server_process: ServerProcess, tmp_path: Path, signum: int
) -> None:
    url = server_process.url
    token = _register(url, "alice")
    data_dir = tmp_path / "app"
    AppSettings(data_dir).remember(Session(url, "alice", token))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONWARNINGS": "error"}
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "chat_desktop", "--data-dir", str(data_dir), "--server", url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        # Connected once the welcome's rooms are in the cache: the socket is open.
        cache_file = cache_path(data_dir, url, "alice")
        await eventually(
            lambda: proc.returncode is not None or "general" in _rooms_in(cache_file),
            "the app connects (or exits)",
            within=30,
        )
        assert proc.returncode is None, await proc.communicate()
        proc.send_signal(signum)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert err == b""
    assert out == b""


def test_the_app_module_loads_without_aiohttp_or_the_bundled_server() -> None:
    # Both cost ~0.2 s of a start; only sign-in, polling and hosting need them.
    probe = (
        "import sys, chat_desktop.app; print(sorted({'aiohttp', 'chat_server'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
