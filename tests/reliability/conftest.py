"""Fixtures for the reliability tests: tests/ui's qasync loop, server and windows, reused.

tests/ui/conftest.py owns the one qasync loop of the session and the
signed-in windows over a real server; the literal-text test needs exactly
those, so they are re-exported here rather than copied.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.conftest import ServerProcess
from tests.ui.conftest import chat_server_here, make_client, qloop, run

__all__ = ["chat_server_here", "make_client", "qloop", "run"]


@pytest.fixture(autouse=True)
def no_server_traceback(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a chaos or fault test whose in-process server logged an error with a traceback.

    Cut networks, killed clients, slow readers and floods are ordinary peer
    behaviour: the server logs them at debug or info level, never as an
    ERROR traceback that an operator would take for a crash. Even a failing
    database (locked, read-only, full) is reported in one line, not a trace.
    """
    yield
    faults = [
        record
        for record in caplog.get_records("call")
        if record.name.startswith("chat_server")
        and record.levelno >= logging.ERROR
        and record.exc_info
    ]
    assert not faults, "\n".join(record.getMessage() for record in faults)


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
    # Whatever the fuzz sent, the server answered it: no traceback in its log.
    assert not process.tracebacks(), "".join(process.output)
