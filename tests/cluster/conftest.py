"""Fixtures for several servers of one chat: a PostgreSQL database and a Redis of the test's own.

Each test gets a throwaway PostgreSQL database (``tests.postgres``) and its
own ``redis-server`` on a free port, started without persistence
(``--save ''``) so that the machine's Redis is never touched and a test may
kill and restart it. Where either is missing the test is skipped with the
reason; ``.ci/run`` provides both.

``cluster`` starts servers as processes (``tests.cluster.node``; one chat
store per process) on free ports, with the heartbeat and the database check
shrunk so that a dead server's users leave within a few seconds instead of 40.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import ServerProcess
from tests.postgres import throwaway_database
from tests.server.wire import PASSWORD

pytestmark = pytest.mark.postgres

# What the tests shrink: a dead server is dropped after DEAD_AFTER seconds.
HEARTBEAT = 0.3
DEAD_AFTER = 2.5
CHECK = 0.3
TIMING = {
    "cluster_heartbeat_seconds": HEARTBEAT,
    "cluster_dead_after_seconds": DEAD_AFTER,
    "cluster_check_seconds": CHECK,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class RedisServer:
    """A ``redis-server`` process of the test's own, which the test may kill and restart."""

    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("no redis-server on this machine")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        self.kill()
        pytest.fail(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with throwaway_database("chat_cluster_test") as url:
        yield url


class Node(ServerProcess):
    """One server of the test's chat, as a process (one chat store per process)."""

    @property
    def base_url(self) -> str:
        return self.url


@dataclasses.dataclass
class Cluster:
    """Servers of one chat as processes on free ports; all stopped at the end.

    Every server prints no traceback during a test, whatever happens to its
    peers, Redis or the other servers.
    """

    tmp_path: Path
    db_url: str
    redis_url: str
    nodes: list[Node] = dataclasses.field(default_factory=list)

    def node(
        self,
        *,
        limits: dict[str, Any] | None = None,
        hold_commits_while: Path | None = None,
        args: tuple[str, ...] = (),
        **config: Any,
    ) -> Node:
        """A server of the chat, not started yet."""
        index = len(self.nodes)
        extra = [
            *("--db", self.db_url, "--redis", self.redis_url, "--name", f"node-{index}"),
            *("--no-discovery", "--files-dir", str(self.tmp_path / "files")),
            *("--config", json.dumps({**TIMING, "revocation_check_seconds": 0.2, **config})),
            *("--limits", json.dumps(limits or {})),
            *args,
        ]
        if hold_commits_while is not None:
            extra += ["--hold-commits-while", str(hold_commits_while)]
        node = Node(
            data_dir=self.tmp_path / f"node-{index}", extra_args=extra, module="tests.cluster.node"
        )
        self.nodes.append(node)
        return node

    def start(self, count: int = 1, **options: Any) -> list[Node]:
        started = [self.node(**options) for _ in range(count)]
        for node in started:
            node.start()
        return started

    def stop(self) -> None:
        hung = []
        for node in self.nodes:
            try:
                node.stop()
            except subprocess.TimeoutExpired:
                # A server that does not stop is a failure, but it must not
                # outlive the test, nor keep the others from being stopped.
                node.kill()
                hung.append(node)
        assert not hung, "a server did not stop on SIGTERM:\n" + hung[0].printed()
        for index, node in enumerate(self.nodes):
            # Shown by pytest only when the test failed.
            print(f"--- node-{index} ---\n{node.printed()}")
        for node in self.nodes:
            assert not node.tracebacks(), node.printed()


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, redis_server: RedisServer) -> Iterator[Cluster]:
    nodes = Cluster(tmp_path, postgres_url, redis_server.url)
    try:
        yield nodes
    finally:
        nodes.stop()


async def register(node: Node, username: str, password: str = PASSWORD) -> str:
    """A new account over HTTP; its token."""
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{node.url}/api/v1/register", json={"username": username, "password": password}
        )
        assert response.status == 201, await response.text()
        return str((await response.json())["token"])


async def make_users(node: Node, names: list[str]) -> dict[str, str]:
    return {name: await register(node, name) for name in names}
