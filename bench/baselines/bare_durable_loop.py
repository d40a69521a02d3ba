"""The durable floor without a thread: the bare broadcast committing each message on its loop.

:mod:`.bare_durable` with ``on_loop=True``: the fsynced SQLite insert (WAL,
``synchronous=FULL``) runs on the event loop before the broadcast, so a
message pays the fsync and nothing else: no hand-off to a writer thread and
back, no GIL switch. The loop can do nothing else meanwhile, which a real
server sharing its loop with uploads (or, in the hosting app, with Qt)
cannot afford under load; at the latency benchmark's 50 messages/s it is the
shortest path a durable message can take on this stack and disk, the floor
an outside harness measured us against (issue 17).

Run: ``python -m bench.baselines.bare_durable_loop --port 0``.
"""

from __future__ import annotations

from aiohttp import web

from bench.baselines import bare_durable, run


def make_app() -> web.Application:
    """The bare application with an fsynced insert on the loop before each broadcast."""
    return bare_durable.make_app(on_loop=True)


if __name__ == "__main__":
    run(make_app, "bare aiohttp + fsynced SQLite on its loop", __doc__ or "")
