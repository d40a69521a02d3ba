"""Advertise and browse inside a qasync event loop, as the desktop app does; exit 0 when it works.

The desktop app hosts a server (and browses for others) on the qasync loop
that drives Qt. ``test_discovery.py`` runs this module in a subprocess, so
that its Qt application and loop cannot meet the suite's own. It prints
``found``, ``lost`` and the number of tasks left over, and exits non-zero on
a timeout.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import qasync
from PySide6.QtCore import QCoreApplication

from chat_desktop.transport.discovery import ServerBrowser
from chat_server.discovery import ServerAdvertiser

TIMEOUT = 15.0


async def round_trip() -> None:
    name = f"qasync {uuid.uuid4().hex[:8]}"
    found, lost = asyncio.Event(), asyncio.Event()
    browser = ServerBrowser(
        lambda server: server.name == name and found.set(),
        lambda key: key.startswith(name) and lost.set(),
        interfaces=["127.0.0.1"],
    )
    await browser.start()
    advertiser = ServerAdvertiser(name=name, port=8765, version="1", host="127.0.0.1")
    await advertiser.start()
    await asyncio.wait_for(found.wait(), TIMEOUT)
    print("found", flush=True)
    await advertiser.stop()
    await asyncio.wait_for(lost.wait(), TIMEOUT)
    print("lost", flush=True)
    await browser.stop()
    left = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    print(f"tasks left: {len(left)}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QCoreApplication(sys.argv)
    qasync.run(round_trip())
