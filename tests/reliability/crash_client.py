"""A desktop client without a window, run as a process that a test kills.

``python -m tests.reliability.crash_client URL USER TOKEN CACHE COUNT [mixed]``
opens the account's cache, starts the real :class:`ChatController`, waits
until it is connected, writes COUNT messages at once as the composer would
(with ``mixed``, each followed by what :func:`action` says: an edit, a
reaction or a delete of it, made while it is still in the outbox), prints
each message's client_id on its own line in the order written, then
``written`` and waits to be killed. :mod:`tests.reliability.test_client_crash` sends it
SIGKILL while its outbox is still full: nothing is closed cleanly.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication

from chat_desktop.controller.chat import ChatController
from chat_desktop.storage import ChatCache
from chat_desktop.transport import LinkKind


def action(k: int) -> str:
    """What the mixed mode does to message ``k`` right after writing it ("" nothing)."""
    return {1: "edit", 2: "react", 3: "delete"}.get(k % 5, "")


async def main(
    url: str, username: str, token: str, cache_file: Path, count: int, mixed: bool
) -> None:
    cache = ChatCache.open(cache_file)
    controller = ChatController(cache, server_url=url, username=username, token=token)
    connected = asyncio.Event()
    controller.connectionChanged.connect(
        lambda status: connected.set() if status.kind is LinkKind.CONNECTED else None
    )
    controller.start()
    await connected.wait()
    for k in range(count):
        entry = controller.send("general", f"{username} #{k}")
        assert entry is not None
        if mixed and action(k) == "edit":
            controller.edit(entry, f"{username} #{k} edited")
        elif mixed and action(k) == "react":
            controller.react(entry, "👍", True)
        elif mixed and action(k) == "delete":
            controller.delete(entry)
        print(entry.client_id, flush=True)
    print("written", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    app = QCoreApplication([])
    url, username, token, cache, count = sys.argv[1:6]
    asyncio.run(main(url, username, token, Path(cache), int(count), sys.argv[6:] == ["mixed"]))
