"""A long session must not crash the desktop app: signals emitted from Python are safe.

PySide6 6.12.0 returns the ``True`` of ``SignalInstance.emit`` without taking
a reference, so every emit from Python takes one reference from ``True``.
On Python 3.11 ``True`` is not immortal: after a few thousand emits (about
5,000 with the app's modules loaded) the interpreter aborts with "Fatal
Python error: bool_dealloc". The controller emits a few signals for every
batch of messages, so a day of chatting would end in a crash; the
reliability tests found it mid-burst. pyproject.toml excludes 6.12.0.

The test runs the real :class:`ChatController` in a child process, because
the failure aborts the interpreter and would take the test run with it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from PySide6.QtCore import QCoreApplication
    from chat_desktop.controller.chat import ChatController
    from chat_desktop.storage import ChatCache

    app = QCoreApplication([])
    cache = ChatCache.open(Path(sys.argv[1]))
    controller = ChatController(cache, server_url="http://127.0.0.1:9", username="a", token="t")
    received = []
    controller.problem.connect(received.append)
    # Twice as many emits as True has references: enough to run out of them.
    emits = 2 * sys.getrefcount(True) + 1000
    for k in range(emits):
        controller.problem.emit("note")
    cache.close()
    print(len(received) == emits)
    """
)


def test_tens_of_thousands_of_signal_emits_do_not_crash_the_client(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "cache.sqlite3")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True"
