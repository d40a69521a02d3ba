"""The ``chat-desktop`` command: check that Qt is there, then start the app.

The distribution installs without Qt for a headless server
(``pip install chat-desktop`` gives ``chat-server`` alone; the app is the
``desktop`` extra). This module imports nothing heavy, so that a machine
without the extra gets one line saying what to install instead of an
ImportError traceback from deep inside :mod:`chat_desktop.app`.
"""

from __future__ import annotations

import importlib.util
import sys


def main(argv: list[str] | None = None) -> int:
    missing = [name for name in ("PySide6", "qasync") if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"chat-desktop: {', '.join(missing)} not installed; the app needs the desktop"
            " extra: pip install 'chat-desktop[desktop]'",
            file=sys.stderr,
        )
        return 1
    from chat_desktop.app import main as run_app

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
