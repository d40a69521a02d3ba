"""Fixtures for the reliability tests: tests/ui's qasync loop, server and windows, reused.

tests/ui/conftest.py owns the one qasync loop of the session and the
signed-in windows over a real server; the literal-text test needs exactly
those, so they are re-exported here rather than copied.
"""

from __future__ import annotations

from tests.ui.conftest import chat_server_here, make_client, qloop, run

__all__ = ["chat_server_here", "make_client", "qloop", "run"]
