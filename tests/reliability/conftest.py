"""Fixtures for the reliability tests: tests/ui's qasync loop, server and windows, reused.

tests/ui/conftest.py owns the one qasync loop of the session and the
signed-in windows over a real server; the literal-text test needs exactly
those, so they are re-exported here rather than copied.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ServerProcess
from tests.ui.conftest import chat_server_here, make_client, qloop, run

__all__ = ["chat_server_here", "make_client", "qloop", "run"]


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One ``chat-server`` for a whole fuzzing module; it must still exit 0 at the end."""
    # The fuzz registers a fresh account for every logout it tries: far more
    # than the registration burst one address gets by default.
    process = ServerProcess(
        tmp_path_factory.mktemp("fuzz"),
        extra_args=["--no-discovery", "--registration-burst", "10000"],
    )
    process.start()
    try:
        yield process
    finally:
        assert process.stop() == 0, "".join(process.output)
