"""Fixtures shared by the whole suite: real servers on free loopback ports.

- ``chat_server``: the bundled server in-process, in the test's asyncio loop
  (pytest-asyncio), with its SQLite file in ``tmp_path``. For server tests and
  the client's transport and cache tests, which are plain asyncio.
- ``server_process``: ``chat-server`` as a real subprocess on a free port, for
  tests that must kill, restart or share it with a Qt event loop.

Servers bind to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chat_protocol import Limits
from chat_server.app import ChatServer
from chat_server.config import ServerConfig

# Qt tests run offscreen: no display needed on CI, and nothing pops up on a desk.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def server_config(tmp_path: Path) -> ServerConfig:
    """A config for a throwaway server: loopback, free port, data in tmp_path."""
    return ServerConfig(
        host="127.0.0.1", port=0, data_dir=tmp_path / "server", name="test", limits=Limits()
    )


@pytest.fixture
async def chat_server(server_config: ServerConfig) -> AsyncIterator[ChatServer]:
    """The real server, started in this test's event loop, stopped afterwards."""
    server = ChatServer(server_config)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


_LISTENING = re.compile(r"listening on (https?://\S+)")
# The checkout: where ``python -m tests...`` finds the tests package.
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ServerProcess:
    """A ``chat-server`` subprocess that a test can stop, kill and start again.

    ``module`` is what ``python -m`` runs: ``chat_server`` (the CLI), or
    ``tests.reliability.limited_server`` for its test-only options.
    """

    data_dir: Path
    port: int = 0
    extra_args: list[str] = field(default_factory=list)
    module: str = "chat_server"
    proc: subprocess.Popen[str] | None = None
    url: str = ""
    # Everything the server printed, kept so that a failing test can show it.
    # A thread drains the pipe; an undrained pipe would block the server once full.
    output: list[str] = field(default_factory=list)
    _drainer: threading.Thread | None = field(default=None, repr=False)

    def start(self, timeout: float = 20.0) -> str:
        """Start (or restart on the same port) and return the base URL once it listens."""
        args = [
            sys.executable,
            "-m",
            self.module,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = _LISTENING.search(line)
            if found:
                self.url = found.group(1).rstrip("/")
                self.port = int(self.url.rsplit(":", 1)[1])
                self.output.extend(lines)
                self._drainer = threading.Thread(target=self._drain, args=(self.proc,), daemon=True)
                self._drainer.start()
                return self.url
        proc = self.proc
        self.kill()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        raise RuntimeError("chat-server did not start:\n" + "".join(lines))

    def tracebacks(self) -> list[str]:
        """The tracebacks the server printed: each is a fault of ours, never a peer's doing.

        Peers that vanish, send garbage or go silent are ordinary and logged
        at debug or info level; only a real server fault (a failing disk, a
        bug) may print a traceback.
        """
        text = "".join(self.output)
        return [part for part in text.split("Traceback (most recent call last):")[1:]]

    def _drain(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for line in proc.stdout:
                self.output.append(line)

    def _reap(self) -> int | None:
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=20)
        finally:
            self.proc = None
            # The process is gone, so its pipe is at its end: once the reader has
            # read that far, ``output`` holds everything it printed.
            if self._drainer is not None:
                self._drainer.join(timeout=20)
                self._drainer = None

    def printed(self) -> str:
        """Everything the process printed; all of it once stop() or kill() returned."""
        return "".join(self.output)

    def stop(self) -> int | None:
        """Stop gracefully with SIGTERM; return the exit code."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self._reap()

    def kill(self) -> None:
        """Kill with SIGKILL, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        self._reap()


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    """A started ``chat-server`` subprocess; always stopped at the end of the test."""
    server = ServerProcess(data_dir=tmp_path / "server-data")
    server.start()
    try:
        yield server
    finally:
        server.stop()
    # Clients killed, cut off or crashing never make the server print a traceback.
    assert not server.tracebacks(), "".join(server.output)
