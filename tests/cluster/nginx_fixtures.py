"""Fixtures for the tests through nginx: a private Redis per session, servers behind nginx per test.

``behind_nginx(n)`` starts n servers on a fresh PostgreSQL database
(tests/postgres.py, dropped afterwards) behind nginx, and stops all of it
when the test ends; the servers that were not killed must not have printed a
traceback. A test module imports these fixtures by name (they are not in a
conftest.py, which the servers' own cluster tests in this folder use).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cluster.harness import Cluster, RedisServer, missing_programs
from tests.postgres import throwaway_database


@pytest.fixture(scope="session")
def session_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One private redis-server for the session (never the machine's own)."""
    missing = missing_programs()
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (.ci/run installs them)")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def behind_nginx(session_redis: RedisServer, tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    """``behind_nginx(n)``: n servers behind nginx, started; all of it stopped after the test."""
    started: list[Cluster] = []
    session_redis.flush()
    with throwaway_database("nginx") as database_url:

        def start(
            size: int, extra_args: list[str] | None = None, *, refuse_websockets: bool = False
        ) -> Cluster:
            folder = tmp_path / f"cluster-{len(started)}"
            made = Cluster(
                folder, database_url, session_redis.url, size, extra_args or [], refuse_websockets
            )
            started.append(made)
            return made.start()

        try:
            yield start
        finally:
            for made in started:
                made.close()
        # Before the database is dropped: the servers are gone by now.
    for made in started:
        assert not made.hung, f"{made.hung} did not stop on SIGTERM:\n{made.output()}"
        assert not made.tracebacks(), made.output()
