"""The servers we measure ours against, each doing the same broadcast.

- :mod:`.bare_aiohttp`: aiohttp's WebSocket and a loop over the sockets, with
  no accounts and no storage: the floor of our own stack;
- :mod:`.bare_durable`: the same with an fsynced SQLite commit before each
  broadcast, on a writer thread: the floor of a server that stores durably
  first, as ours does;
- :mod:`.bare_durable_loop`: the same commit on the event loop, no thread:
  the shortest durable path, which an outside harness used as its floor;
- :mod:`.socketio_server`: python-socketio on aiohttp, the library a Python
  team would most likely pick instead.

Mosquitto, the third peer, is the broker already running on 127.0.0.1:1883.
Each baseline runs as ``python -m bench.baselines.<name> --port P`` and logs
"listening on http://HOST:PORT" like ``chat-server`` does, so the benchmarks
start all servers the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable

from aiohttp import web


async def serve(app: web.Application, label: str, host: str, port: int) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, logging the address once listening."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    # A deep backlog: the benchmarks open hundreds of sockets at once.
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    real_host, real_port = runner.addresses[0][:2]
    print(f"{label} listening on http://{real_host}:{real_port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def run(make_app: Callable[[], web.Application], label: str, doc: str) -> None:
    """The command line of a baseline: ``--host`` and ``--port``, then serve."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(make_app(), label, args.host, args.port))
