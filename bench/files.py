"""File transfer: throughput against a bare handler, memory and chat latency under uploads.

Issue 13's targets, measured on our server (:mod:`bench.ours_server`: a real
process, a real SQLite file, files in its data folder) in the same run as
:mod:`bench.baselines.bare_files` (an aiohttp handler that streams the body
to disk with the same hash, fsync and rename, and serves it with
``FileResponse``):

1. **Throughput**: one client uploads a ``--size-mb`` file, then downloads
   it, ``--repeat`` times, the two servers taking turns; MiB/s each way
   (median), and ours / bare (target: at least 0.8).
2. **Memory**: ``--clients`` clients each upload a ``--upload-mb`` file at
   once (from a worker process, so that their CPU does not slow this one);
   our server's RSS is sampled every 10 ms; peak minus idle (target: under
   50 MiB).
3. **Chat latency under uploads**: ``--senders`` users send messages at
   ``--rate`` each per second, and one more receives them over WebSockets;
   send -> receive p99 while idle (``--idle`` s) and while the uploads of
   step 2 run (target: p99 under 2x idle). So that the busy phase holds
   enough messages, each client uploads again until ``--busy`` seconds
   have passed (the same bytes: stored once, each upload still streamed,
   hashed, fsynced and renamed).

Run: ``python -m bench.files`` (the issue's sizes) or, quickly,
``python -m bench.files --size-mb 4 --upload-mb 4 --clients 3 --repeat 1 --idle 1``.
For a diagnosis, ``--files-dir /dev/shm`` keeps our server's uploads and
``--data-dir /dev/shm`` its database on another file system (memory: no
disk at all), to tell what the disk costs chat from what the CPU does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench import harness
from bench.wire import ROOM, hello

MiB = 1024 * 1024
CHUNK = 256 * 1024
# How often our server's memory is read while the uploads run.
RSS_INTERVAL = 0.01


def _write_payload(path: Path, size: int) -> None:
    block = os.urandom(MiB)
    with open(path, "wb") as sink:
        for start in range(0, size, MiB):
            sink.write(block[: min(MiB, size - start)])


async def _upload(
    session: aiohttp.ClientSession, url: str, path: Path, token: str | None
) -> tuple[float, dict[str, Any]]:
    """Upload ``path`` to ``url``; (seconds, answer)."""
    headers = {"Content-Type": "application/octet-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    # aiohttp reads a file object on a thread; opening it takes no time.
    with open(path, "rb") as body:  # noqa: ASYNC230
        async with session.post(url, data=body, headers=headers) as response:
            answer = await response.json()
            if response.status != 201:
                raise RuntimeError(f"upload to {url}: {response.status} {answer}")
    return time.perf_counter() - started, answer


async def _download(session: aiohttp.ClientSession, url: str, token: str | None) -> float:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = time.perf_counter()
    async with session.get(url, headers=headers) as response:
        response.raise_for_status()
        async for _ in response.content.iter_chunked(CHUNK):
            pass
    return time.perf_counter() - started


async def _throughput(
    ours: harness.ServerProcess, bare: harness.ServerProcess, token: str, path: Path, repeat: int
) -> list[dict[str, Any]]:
    size_mib = (await asyncio.to_thread(path.stat)).st_size / MiB
    runs: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(repeat):
            for target, base, auth in (("ours", ours.url, token), ("bare", bare.url, None)):
                if target == "ours":
                    up_url = f"{base}/api/v1/files?name={path.name}"
                else:
                    up_url = f"{base}/upload"
                seconds_up, answer = await _upload(session, up_url, path, auth)
                if target == "ours":
                    down_url = f"{base}/api/v1/files/{answer['id']}"
                else:
                    down_url = f"{base}/download/{answer['id']}"
                seconds_down = await _download(session, down_url, auth)
                runs.append(
                    {
                        "target": target,
                        "upload_mib_s": size_mib / seconds_up,
                        "download_mib_s": size_mib / seconds_down,
                    }
                )
    return runs


def _upload_worker(
    url: str, tokens: list[str], path: str, busy: float, conn: Any, nice: int = 0
) -> None:
    """In a process of its own: every token uploads ``path`` at once, again and again
    until ``busy`` seconds have passed (each at least once); send back each upload's seconds.

    ``nice`` > 0: a diagnosis (``--uploaders-nice``): this process runs only
    on CPU the server and the chat probe leave, as if the uploading clients
    were other machines on the LAN rather than this one's second core.
    """
    if nice:
        os.nice(nice)

    async def client(session: aiohttp.ClientSession, token: str, until: float) -> list[float]:
        took: list[float] = []
        target = f"{url}/api/v1/files?name=load.bin"
        while not took or time.monotonic() < until:
            seconds, _ = await _upload(session, target, Path(path), token)
            took.append(seconds)
        return took

    async def main() -> list[float]:
        async with aiohttp.ClientSession() as session:
            conn.send("ready")
            conn.recv()  # go
            until = time.monotonic() + busy
            done = await asyncio.gather(*(client(session, token, until) for token in tokens))
            return [seconds for took in done for seconds in took]

    conn.send(asyncio.run(main()))


class ChatProbe:
    """Senders at a fixed rate and one receiver, timing each message from send to receipt."""

    def __init__(self, url: str, senders: dict[str, str], receiver: str, rate: float) -> None:
        self.ws_url = url.replace("http://", "ws://") + "/ws"
        self.senders = senders
        self.receiver = receiver
        self.rate = rate
        # Send -> receive delays of the current phase, in ns.
        self.delays: list[int] = []
        self._session: aiohttp.ClientSession | None = None
        self._sockets: list[aiohttp.ClientWebSocketResponse] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def _open(self, token: str) -> aiohttp.ClientWebSocketResponse:
        assert self._session is not None
        ws = await self._session.ws_connect(self.ws_url)
        await ws.send_str(hello(token))
        while (await ws.receive_json()).get("type") != "welcome":
            pass
        self._sockets.append(ws)
        return ws

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        reader = await self._open(self.receiver)
        self._tasks.append(asyncio.create_task(self._receive(reader)))
        for token in self.senders.values():
            ws = await self._open(token)
            self._tasks.append(asyncio.create_task(self._send(ws)))

    async def _send(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        interval = 1 / self.rate
        while True:
            text = str(time.monotonic_ns())
            frame = {"type": "message", "room": ROOM, "client_id": str(uuid.uuid4()), "text": text}
            await ws.send_str(json.dumps(frame))
            await asyncio.sleep(interval)

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for frame in ws:
            event = json.loads(frame.data)
            if event.get("type") == "message" and event.get("text", "").isdigit():
                self.delays.append(time.monotonic_ns() - int(event["text"]))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for ws in self._sockets:
            await ws.close()
        if self._session is not None:
            await self._session.close()


async def _sample_rss(server: harness.ServerProcess, stop: asyncio.Event) -> list[int]:
    samples = []
    while not stop.is_set():
        samples.append(server.stats.rss_bytes())
        await asyncio.sleep(RSS_INTERVAL)
    return samples


async def _under_load(
    ours: harness.ServerProcess, tokens: dict[str, str], args: argparse.Namespace, path: Path
) -> dict[str, Any]:
    uploaders = [tokens[f"up{index}"] for index in range(args.clients)]
    senders = {name: token for name, token in tokens.items() if name.startswith("chat")}
    probe = ChatProbe(ours.url, senders, tokens["reader"], args.rate)
    await probe.start()
    try:
        # Idle: chat only; the server's memory at rest meanwhile.
        idle_from = time.monotonic_ns()
        await asyncio.sleep(args.idle)
        idle_until = time.monotonic_ns()
        idle_rss = statistics.median([ours.stats.rss_bytes() for _ in range(5)])
        idle_delays, probe.delays = probe.delays, []
        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe()
        worker = context.Process(
            target=_upload_worker,
            args=(ours.url, uploaders, str(path), args.busy, theirs, args.uploaders_nice),
            daemon=True,
        )
        worker.start()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, mine.recv)  # ready
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample_rss(ours, stop))
        mine.send("go")
        started = time.monotonic()
        busy_from = time.monotonic_ns()
        upload_seconds = await loop.run_in_executor(None, mine.recv)
        busy_until = time.monotonic_ns()
        busy_seconds = time.monotonic() - started
        stop.set()
        rss = await sampler
        worker.join(10)
        busy_delays = probe.delays
    finally:
        await probe.stop()
    idle, busy = harness.summary(idle_delays), harness.summary(busy_delays)
    return {
        "clients": args.clients,
        "upload_mib": args.upload_mb,
        "idle_rss_mib": idle_rss / MiB,
        "peak_rss_mib": max(rss) / MiB,
        "peak_above_idle_mib": (max(rss) - idle_rss) / MiB,
        "uploads": len(upload_seconds),
        "upload_p50_s": statistics.median(upload_seconds),
        "busy_s": busy_seconds,
        "idle_p99_ms": idle["p99_ms"],
        "busy_p99_ms": busy["p99_ms"],
        "idle_p50_ms": idle["p50_ms"],
        "busy_p50_ms": busy["p50_ms"],
        "idle_messages": idle["count"],
        "busy_messages": busy["count"],
        "p99_ratio": harness.ratio(busy["p99_ms"], idle["p99_ms"]),
        "phases_ns": {"idle": [idle_from, idle_until], "busy": [busy_from, busy_until]},
    }


def _loop_lag(path: Path, phases: dict[str, list[int]]) -> dict[str, dict[str, float]]:
    """How late our server's 10 ms timer fired in each phase (bench.ours_server --loop-lag)."""
    samples = []
    with open(path, encoding="ascii") as source:
        for line in source:
            at, lag = line.split()
            samples.append((int(at), int(lag) / 1e6))
    figures = {}
    for phase, (start, end) in phases.items():
        lags = sorted(lag for at, lag in samples if start <= at < end)
        if not lags:
            continue
        figures[phase] = {
            "samples": len(lags),
            "p50_ms": lags[len(lags) // 2],
            "p99_ms": lags[min(len(lags) - 1, int(len(lags) * 0.99))],
            "max_ms": lags[-1],
            # Share of the phase the loop was late by more than a message's idle p99.
            "late_5ms": sum(lag > 5 for lag in lags) / len(lags),
        }
    return figures


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with harness.temp_dir() as folder:
        transfer = folder / "transfer.bin"
        load = folder / "load.bin"
        _write_payload(transfer, int(args.size_mb * MiB))
        _write_payload(load, int(args.upload_mb * MiB))
        lag_file = folder / "loop-lag.txt"
        extra = ["--loop-lag", str(lag_file)]
        elsewhere = contextlib.ExitStack()
        if args.files_dir:
            files = elsewhere.enter_context(tempfile.TemporaryDirectory(dir=args.files_dir))
            extra += ["--files-dir", files]
        data = folder / "data"
        if args.data_dir:
            data = Path(elsewhere.enter_context(tempfile.TemporaryDirectory(dir=args.data_dir)))
        servers = (
            harness.ServerProcess.ours(data, extra=extra),
            harness.ServerProcess.baseline("bare files", "bare_files"),
        )
        with elsewhere, harness.running(*servers) as (ours, bare):
            names = [
                "bench",
                "reader",
                *(f"up{i}" for i in range(args.clients)),
                *(f"chat{i}" for i in range(args.senders)),
            ]
            tokens = await harness.register_users(ours.url, names)
            runs = await _throughput(ours, bare, tokens["bench"], transfer, args.repeat)
            load_row = await _under_load(ours, tokens, args, load)
        load_row["loop_lag"] = _loop_lag(lag_file, load_row.pop("phases_ns"))
    rows = harness.medians(runs, ["target"])
    at = {row["target"]: row for row in rows}
    ratios = {
        "upload": harness.ratio(at["ours"]["upload_mib_s"], at["bare"]["upload_mib_s"]),
        "download": harness.ratio(at["ours"]["download_mib_s"], at["bare"]["download_mib_s"]),
    }
    harness.print_table(
        f"Throughput, one client, a {args.size_mb:g} MiB file (MiB/s, medians)",
        ["server", "upload", "download", "repeats"],
        [
            [
                "ours (chat_server, SQLite)" if r["target"] == "ours" else "bare aiohttp to disk",
                r["upload_mib_s"],
                r["download_mib_s"],
                r["repeats"],
            ]
            for r in rows
        ]
        + [["ours / bare aiohttp to disk", ratios["upload"], ratios["download"], ""]],
    )
    harness.print_table(
        f"{args.clients} clients each uploading {args.upload_mb:g} MiB at once (ours)",
        ["idle RSS MiB", "peak RSS MiB", "peak above idle MiB", "uploads", "s each", "for s"],
        [
            [
                load_row["idle_rss_mib"],
                load_row["peak_rss_mib"],
                load_row["peak_above_idle_mib"],
                load_row["uploads"],
                load_row["upload_p50_s"],
                load_row["busy_s"],
            ]
        ],
    )
    harness.print_table(
        f"Chat latency meanwhile ({args.senders} senders x {args.rate:g}/s, one receiver)",
        ["phase", "messages", "p50 ms", "p99 ms"],
        [
            ["idle", load_row["idle_messages"], load_row["idle_p50_ms"], load_row["idle_p99_ms"]],
            [
                "during uploads",
                load_row["busy_messages"],
                load_row["busy_p50_ms"],
                load_row["busy_p99_ms"],
            ],
            ["during / idle", "", "", load_row["p99_ratio"]],
        ],
    )
    lag = load_row["loop_lag"]
    harness.print_table(
        "How late our server's event loop ran a 10 ms timer (ms)",
        ["phase", "samples", "p50", "p99", "max", "share > 5 ms"],
        [
            [phase, f["samples"], f["p50_ms"], f["p99_ms"], f["max_ms"], f["late_5ms"]]
            for phase, f in lag.items()
        ],
    )
    return {"benchmark": "files", "rows": rows, "runs": runs, "ratios": ratios, "load": load_row}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=25.0, help="file for the throughput")
    parser.add_argument("--repeat", type=int, default=3, help="transfers per server (medians)")
    parser.add_argument("--clients", type=int, default=10, help="uploads at once for memory")
    parser.add_argument("--upload-mb", type=float, default=25.0, help="size of each of those")
    parser.add_argument(
        "--busy", type=float, default=5.0, help="seconds the uploads go on (each at least once)"
    )
    parser.add_argument("--senders", type=int, default=3, help="chat users sending meanwhile")
    parser.add_argument("--rate", type=float, default=8.0, help="messages/s of each sender")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle chat measured")
    parser.add_argument(
        "--files-dir",
        help="a diagnosis: our server keeps uploads in a folder of its own under this one"
        " (another file system than the database's, e.g. /dev/shm)",
    )
    parser.add_argument(
        "--data-dir",
        help="a diagnosis: our server's data folder (the database) under this one instead"
        " of the temporary folder",
    )
    parser.add_argument(
        "--uploaders-nice",
        type=int,
        default=0,
        help="a diagnosis: the uploading clients' process at this niceness (10: they get"
        " only the CPU our server and the chat probe leave, as clients on other machines)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    harness.execute(run, parser.parse_args(argv))


if __name__ == "__main__":
    main()
