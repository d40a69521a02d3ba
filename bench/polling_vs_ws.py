"""The seed's baseline: a client polling every 500 ms against our WebSocket client.

The app this project replaced polled ``GET /api/v1/rooms/general/messages?after=SEQ``
every 500 ms. Against our own server, in the same run, with the same number
of clients of each kind (``--clients``, 50 by default):

1. idle cost: only WebSocket clients connected for ``--idle`` seconds, then
   only pollers: requests (frames) per second each client makes and server
   CPU per idle client;
2. delivery latency: both kinds connected, a sender posts ``--messages``
   messages at random moments (a few per second, so they fall anywhere in the
   poll interval); send -> receive time at every client of each kind.

The WebSocket clients are :mod:`bench.wire` connections in a worker process;
the pollers are aiohttp clients (one keep-alive connection each, as separate
apps would have) in another worker process. A poller decodes each JSON answer,
as the seed did, once per poll rather than once per message.

Run: ``python -m bench.polling_vs_ws`` or, quickly,
``python -m bench.polling_vs_ws --clients 3 --idle 1 --messages 5``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import multiprocessing.connection
import random
import signal
import time
from array import array
from typing import Any

import aiohttp

from bench import harness, wire

POLL_INTERVAL = 0.5
PATH = "/api/v1/rooms/general/messages"


class Pollers:
    """Seed-style pollers in this (worker) process; they count requests and time deliveries."""

    def __init__(self, base_url: str, tokens: list[str], interval: float) -> None:
        self.base_url = base_url
        self.tokens = tokens
        self.interval = interval
        self.requests = 0
        self.errors = 0
        self.recording = False
        self.since_ns = 0
        self.latencies: array[int] = array("q")
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, after: int) -> None:
        for i in range(len(self.tokens)):
            # Start times spread over one interval, as independent users' apps would be.
            offset = self.interval * (i * 0.618 % 1.0)
            self.tasks.append(asyncio.create_task(self._poll(i, after, offset)))

    async def _poll(self, index: int, after: int, offset: float) -> None:
        loop = asyncio.get_running_loop()
        headers = {"Authorization": f"Bearer {self.tokens[index]}"}
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(self.base_url, connector=connector) as session:
            await asyncio.sleep(offset)
            tick = loop.time()
            while True:
                try:
                    async with session.get(PATH, params={"after": after}, headers=headers) as r:
                        body = await r.read()
                        ok = r.status == 200
                except aiohttp.ClientError:
                    body, ok = b"", False
                now = time.monotonic_ns()
                self.requests += 1
                if not ok:
                    self.errors += 1
                else:
                    for message in json.loads(body)["messages"]:
                        after = max(after, message["seq"])
                        self._record(message["text"], now)
                tick += self.interval
                await asyncio.sleep(max(0.0, tick - loop.time()))

    def _record(self, text: str, now: int) -> None:
        i = text.find("~T")
        if i < 0 or not self.recording:
            return
        sent = int(text[i + 2 : text.index("~", i + 2)])
        if sent >= self.since_ns:
            self.latencies.append(now - sent)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _poller_worker(conn: multiprocessing.connection.Connection) -> None:
    """Body of the poller process: obey commands from the pipe until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        asyncio.run(_poller_loop(conn))
    finally:
        conn.close()


async def _poller_loop(conn: multiprocessing.connection.Connection) -> None:
    pollers: Pollers | None = None
    try:
        while True:
            command, arg = await harness.recv_pipe(conn)
            if command == "start":
                base_url, tokens, interval, after = arg
                pollers = Pollers(base_url, tokens, interval)
                pollers.start(after)
                conn.send(("ok", None))
            elif command == "record" and pollers is not None:
                pollers.recording, pollers.since_ns = arg
                conn.send(("ok", pollers.requests))
            elif command == "result" and pollers is not None:
                conn.send(
                    (
                        "ok",
                        {
                            "requests": pollers.requests,
                            "errors": pollers.errors,
                            "latencies": pollers.latencies.tobytes(),
                        },
                    )
                )
            elif command == "stop":
                return
    finally:
        if pollers is not None:
            await pollers.stop()


class PollerPool:
    """The poller worker process, driven like :class:`bench.harness.ReceiverPool`."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipe, theirs = ctx.Pipe()
        self.worker = ctx.Process(target=_poller_worker, args=(theirs,), daemon=True)
        self.worker.start()
        theirs.close()

    async def ask(self, command: str, arg: Any = None) -> Any:
        self.pipe.send((command, arg))
        async with asyncio.timeout(60.0):
            status, value = await harness.recv_pipe(self.pipe)
        if status != "ok":
            raise RuntimeError(f"poller worker: {value}")
        return value

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.pipe.send(("stop", None))
        self.worker.join(5)
        if self.worker.is_alive():
            self.worker.kill()
            self.worker.join()
        self.pipe.close()


async def idle_ws(target: harness.Target, clients: int, seconds: float) -> dict[str, Any]:
    """Server CPU and client frames while ``clients`` WebSocket clients sit idle."""
    pool = harness.ReceiverPool(target.receivers(), 1, keep_latencies=False)
    try:
        await pool.connect(clients)
        await asyncio.sleep(1.0)
        before = (await pool.result())["frames_out"]
        cpu0 = target.stats.cpu_seconds()
        await asyncio.sleep(seconds)
        cpu = target.stats.cpu_seconds() - cpu0
        frames = (await pool.result())["frames_out"] - before
    finally:
        pool.close()
    return {
        "kind": "websocket",
        "requests_per_client_s": frames / clients / seconds,
        "server_cpu_ms_per_client_s": cpu / clients / seconds * 1000,
    }


async def idle_polling(
    target: harness.Target, base_url: str, clients: int, seconds: float
) -> dict[str, Any]:
    """Server CPU and requests while ``clients`` pollers poll and nothing is said."""
    pool = PollerPool()
    try:
        tokens = list(target.receiver_tokens[:clients])
        await pool.ask("start", (base_url, tokens, POLL_INTERVAL, 0))
        await asyncio.sleep(1.0)
        before = await pool.ask("record", (False, 0))
        cpu0 = target.stats.cpu_seconds()
        await asyncio.sleep(seconds)
        cpu = target.stats.cpu_seconds() - cpu0
        requests = await pool.ask("record", (False, 0)) - before
    finally:
        pool.close()
    return {
        "kind": "polling",
        "requests_per_client_s": requests / clients / seconds,
        "server_cpu_ms_per_client_s": cpu / clients / seconds * 1000,
    }


async def delivery(
    target: harness.Target, base_url: str, clients: int, messages: int, rate: float
) -> dict[str, dict[str, float]]:
    """Latency of ``messages`` messages at WebSocket clients and at pollers, same run."""
    receivers = harness.ReceiverPool(target.receivers(), 1)
    pollers = PollerPool()
    sending: list[wire.RawClient] = []
    try:
        await receivers.connect(clients)
        await pollers.ask(
            "start", (base_url, list(target.receiver_tokens[:clients]), POLL_INTERVAL, 0)
        )
        sending = await wire.connect(target.senders(), 1, wire.Sink())
        await asyncio.sleep(1.0)
        since = time.monotonic_ns()
        await receivers.record(True, since)
        await pollers.ask("record", (True, since))
        rng = random.Random(5)
        for _ in range(messages):
            # Random gaps: messages land anywhere within the 500 ms poll cycle.
            await asyncio.sleep(rng.uniform(0.5, 1.5) / rate)
            sending[0].send_message()
        await asyncio.sleep(POLL_INTERVAL * 3)
        ws = harness.summary((await receivers.result())["latencies"])
        polled = await pollers.ask("result")
        poll = harness.summary(array("q", polled["latencies"]))
    finally:
        for client in sending:
            client.close()
        receivers.close()
        pollers.close()
    return {"websocket": ws, "polling": poll}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    harness.raise_file_limit()
    async with harness.open_targets(["ours"], receiver_users=args.clients) as targets:
        (target,) = targets
        base_url = f"http://{harness.HOST}:{target.port}"
        idle = [
            await idle_ws(target, args.clients, args.idle),
            await idle_polling(target, base_url, args.clients, args.idle),
        ]
        latency = await delivery(target, base_url, args.clients, args.messages, args.rate)
    rows = [{**row, **latency[row["kind"]]} for row in idle]
    report(rows)
    return {"benchmark": "polling_vs_ws", "args": vars(args), "rows": rows}


def report(rows: list[dict[str, Any]]) -> None:
    """Print both kinds of client side by side and polling / WebSocket."""
    harness.print_table(
        "Seed-style polling (every 500 ms) vs our WebSocket, same server, same run",
        [
            "client",
            "idle requests/s per client",
            "idle server CPU ms/s per client",
            "p50 ms",
            "p99 ms",
            "max ms",
            "messages",
        ],
        [
            (
                r["kind"],
                r["requests_per_client_s"],
                r["server_cpu_ms_per_client_s"],
                r["p50_ms"],
                r["p99_ms"],
                r["max_ms"],
                r["count"],
            )
            for r in rows
        ],
    )
    at = {r["kind"]: r for r in rows}
    poll, ws = at["polling"], at["websocket"]
    line = "polling / websocket: latency p50 x{:.0f}, p99 x{:.0f}".format(
        harness.ratio(poll["p50_ms"], ws["p50_ms"]), harness.ratio(poll["p99_ms"], ws["p99_ms"])
    )
    if ws["server_cpu_ms_per_client_s"] > 0:
        cpu = harness.ratio(poll["server_cpu_ms_per_client_s"], ws["server_cpu_ms_per_client_s"])
        line += f"; idle server CPU x{cpu:.0f}"
    else:
        # /proc counts CPU in 10 ms ticks: idle sockets did not use a single one.
        line += "; idle WebSocket server CPU below one 10 ms tick for the whole phase"
    print(line)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="clients of each kind")
    parser.add_argument(
        "--idle",
        type=float,
        default=25.0,
        help="seconds of each idle phase (25: one keepalive ping reaches every socket)",
    )
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--rate", type=float, default=4.0, help="messages/s on average")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    harness.execute(run, parse_args(argv))


if __name__ == "__main__":
    main()
