"""The bare broadcast plus what durability costs: an fsynced SQLite commit before each broadcast.

:mod:`.bare_aiohttp` with one step added: every ``message`` event is inserted
into a SQLite file (WAL, ``synchronous=FULL``, as ours), one transaction per
message, and broadcast only once the commit returned. That is the least any
server that keeps the contract's "stored durably before anyone hears of it"
must do on this stack and this disk, with no accounts, no group commit and
no limits. It comes in two forms, which the latency benchmark runs beside
the bare server so that the gaps are measured in the same run:

- this module: the commit runs on one writer thread, as ours does (the loop
  stays free during the fsync; the price is two thread hand-offs);
- :mod:`.bare_durable_loop`: the commit runs on the event loop itself, no
  thread (the loop is blocked during the fsync; nothing is handed off),
  the floor an outside harness measured us against (issue 17).

Run: ``python -m bench.baselines.bare_durable --port 0`` (the database lives
in a temporary directory that is removed on exit).
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.baselines import bare_aiohttp, run


def make_app(on_loop: bool = False) -> web.Application:
    """The bare application with an fsynced insert before each broadcast.

    ``on_loop``: commit on the event loop (blocking it for the fsync) instead
    of on a writer thread.
    """
    folder = Path(tempfile.mkdtemp(prefix="bare-durable-"))
    db = sqlite3.connect(folder / "messages.sqlite3", isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=wal")
    db.execute("PRAGMA synchronous=full")
    db.execute(
        "CREATE TABLE messages (room TEXT, seq INTEGER, client_id TEXT, author TEXT,"
        " text TEXT, ts TEXT, PRIMARY KEY (room, seq))"
    )
    # One thread does every write, so the connection is used by one thread at a time.
    writer = ThreadPoolExecutor(1, thread_name_prefix="bare-durable-writer")

    def insert(out: dict[str, Any]) -> None:
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)",
            (out["room"], out["seq"], out["client_id"], out["author"], out["text"], out["ts"]),
        )
        db.execute("COMMIT")

    async def persist(out: dict[str, Any]) -> None:
        if on_loop:
            insert(out)
        else:
            await asyncio.get_running_loop().run_in_executor(writer, insert, out)

    async def close(_app: web.Application) -> None:
        writer.shutdown()
        db.close()
        shutil.rmtree(folder, ignore_errors=True)

    app = bare_aiohttp.make_app(persist)
    app.on_cleanup.append(close)
    return app


if __name__ == "__main__":
    run(make_app, "bare aiohttp + fsynced SQLite", __doc__ or "")
