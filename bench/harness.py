"""What every benchmark needs around the clients: servers, readings, workers, output.

- :class:`ServerProcess` starts a server (ours, or a baseline) as a subprocess
  on a free loopback port and stops it for sure: on return, on error, on
  Ctrl-C, and (through ``PR_SET_PDEATHSIG``) even when the benchmark itself
  is killed. :class:`ProcessStats` reads CPU time and RSS of any process
  from ``/proc``, which also serves for the Mosquitto broker we did not start.
- :class:`ReceiverPool` holds the receiving clients in worker processes
  (multiprocessing), apart from the server and from the senders, so that the
  machine's two cores split between "the server" and "everyone else";
  :class:`WorkerPool` is what it is built on (spawn, commands, stop).
- :func:`register_users` makes accounts on our server over its HTTP API.
- :func:`summary`, :func:`print_table` and :func:`write_json` shape the output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from bench import wire

T = TypeVar("T")

HOST = "127.0.0.1"
# Servers run with the repository as working directory so ``-m bench.baselines...`` resolves.
REPO = Path(__file__).resolve().parents[1]
_LISTENING = re.compile(r"listening on (http://\S+)")
_PR_SET_PDEATHSIG = 1
PASSWORD = "bench-password-123"


def raise_file_limit() -> int:
    """Raise this process's open-file limit to its hard limit; return the new limit.

    Children (servers, workers) inherit it, which is what lets one server hold
    ten thousand sockets.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the benchmark process dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ProcessStats:
    """CPU time and memory of one process, read from /proc (Linux)."""

    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time consumed so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        # Fields after the ")" that closes the command name; utime and stime are 14 and 15.
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        """Resident set size now."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for pid {self.pid}")


def find_process(name: str) -> int | None:
    """The pid of a process called ``name`` (e.g. mosquitto) that we did not start.

    Reading /proc/<pid>/comm is allowed for every process; we only read.
    """
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    return int(entry.name)
    return None


async def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections at host:port."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


@contextlib.contextmanager
def py_spy(pid: int, path: str | None, seconds: float) -> Iterator[None]:
    """Record a py-spy flame graph (SVG) of ``pid`` into ``path`` while the body runs.

    For ``--profile``: where our server misses a target, the graph shows where
    its time goes. py-spy samples from outside, so the server runs unchanged.
    No-op without a path; a note when py-spy is not installed (``pip install py-spy``).
    """
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not path:
        yield
        return
    if not Path(exe).exists():
        print("note: py-spy is not installed (pip install py-spy); no profile recorded")
        yield
        return
    duration = str(max(1, round(seconds)))
    proc = subprocess.Popen(
        [exe, "record", "-p", str(pid), "-d", duration, "-r", "200", "--nonblocking", "-o", path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        try:
            proc.wait(seconds + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print(f"profile of our server written to {path}")


@dataclass
class ServerProcess:
    """A server run as ``python -m MODULE ARGS`` that logs "listening on http://H:P"."""

    label: str
    module: str
    args: list[str] = field(default_factory=list)
    # Run from this checkout instead of this one (``ours_at``: another
    # version of our server, beside this one in the same run).
    tree: Path | None = None
    proc: subprocess.Popen[str] | None = None
    url: str = ""
    port: int = 0
    output: list[str] = field(default_factory=list)

    @classmethod
    def ours(
        cls,
        data_dir: Path,
        messages_per_second: float | None = None,
        extra: Sequence[str] = (),
        tree: Path | None = None,
    ) -> ServerProcess:
        """Our server (:mod:`bench.ours_server`) with a real SQLite file in ``data_dir``;
        ``tree``: the one of another checkout (its ``bench`` and ``server``)."""
        args = ["--host", HOST, "--port", "0", "--data-dir", str(data_dir), *extra]
        if messages_per_second is not None:
            args += ["--messages-per-second", str(messages_per_second)]
        return cls("ours" if tree is None else "ours_at", "bench.ours_server", args, tree)

    @classmethod
    def baseline(cls, label: str, name: str) -> ServerProcess:
        """One of :mod:`bench.baselines`."""
        return cls(label, f"bench.baselines.{name}", ["--host", HOST, "--port", "0"])

    @property
    def stats(self) -> ProcessStats:
        assert self.proc is not None
        return ProcessStats(self.proc.pid)

    def start(self, timeout: float = 30.0) -> str:
        """Start, wait for the listening line, return the base URL."""
        env = None
        if self.tree is not None:
            tree = self.tree.resolve()
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(tree / "server")])}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            preexec_fn=_die_with_parent,
            cwd=self.tree or REPO,
            env=env,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            found = _LISTENING.search(line)
            if found:
                self.url = found.group(1).rstrip("/")
                self.port = int(self.url.rsplit(":", 1)[1])
                # Drain the pipe: a full pipe would block the server's logging.
                threading.Thread(target=self._drain, daemon=True).start()
                return self.url
        self.stop()
        raise RuntimeError(f"{self.label} did not start:\n" + "".join(self.output[-30:]))

    def _drain(self) -> None:
        proc = self.proc
        if proc is None or proc.stdout is None:
            return
        with contextlib.suppress(ValueError, OSError):
            for line in proc.stdout:
                self.output.append(line)
                del self.output[:-200]

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; idempotent."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            with contextlib.suppress(OSError):
                proc.stdout.close()


@contextlib.contextmanager
def running(*servers: ServerProcess) -> Iterator[tuple[ServerProcess, ...]]:
    """Start the servers, yield them, stop them whatever happens (SIGTERM included)."""
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def temp_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="chat-bench-") as path:
        yield Path(path)


async def register_users(
    base_url: str, names: Sequence[str], concurrency: int = 4
) -> dict[str, str]:
    """Register each user over HTTP (or log in if it exists); return name -> token."""
    gate = asyncio.Semaphore(concurrency)
    tokens: dict[str, str] = {}
    body_of = {"password": PASSWORD}
    async with aiohttp.ClientSession(base_url) as session:

        async def one(name: str) -> None:
            async with gate:
                body = {**body_of, "username": name}
                async with session.post("/api/v1/register", json=body) as response:
                    if response.status == 409:
                        async with session.post("/api/v1/login", json=body) as login:
                            login.raise_for_status()
                            tokens[name] = (await login.json())["token"]
                        return
                    if response.status != 201:
                        text = await response.text()
                        raise RuntimeError(f"register {name}: {response.status} {text}")
                    tokens[name] = (await response.json())["token"]

        async with asyncio.TaskGroup() as group:
            for name in names:
                group.create_task(one(name))
    return tokens


# Targets: a server under test plus how to reach it ----------------------------

LABELS = {
    "ours": "ours (chat_server, SQLite)",
    "ours_at": "ours from --ours-at (another checkout)",
    "bare": "bare aiohttp",
    "durable": "bare aiohttp + fsynced SQLite",
    "durable_loop": "bare aiohttp + fsynced SQLite on its loop",
    "socketio": "python-socketio",
    "mqtt": "Mosquitto (MQTT)",
}
MQTT_PORT = 1883


@dataclass
class Target:
    """One server under test: its dialect, its process and the accounts to use on it.

    ``receiver_tokens`` are shared by the receiving clients; ``sender_tokens``
    give each sender an account of its own, because rate limits are per user.
    """

    name: str
    stats: ProcessStats
    port: int
    receiver_tokens: tuple[str, ...] = ()
    sender_tokens: tuple[str, ...] = ()

    @property
    def dialect(self) -> str:
        """How clients talk to it (:data:`bench.wire.DIALECTS`): durable bare servers as bare."""
        if self.name == "ours_at":
            return "ours"
        return "bare" if self.name in ("durable", "durable_loop") else self.name

    def receivers(self) -> wire.Endpoint:
        return wire.Endpoint(self.dialect, HOST, self.port, self.receiver_tokens)

    def senders(self) -> wire.Endpoint:
        return wire.Endpoint(self.dialect, HOST, self.port, self.sender_tokens)


@contextlib.asynccontextmanager
async def open_targets(
    names: Sequence[str],
    *,
    senders: int = 1,
    receiver_users: int = 10,
    messages_per_second: float | None = None,
    ours_args: Sequence[str] = (),
    ours_at: Path | None = None,
) -> AsyncIterator[list[Target]]:
    """Start the servers named (ours, bare, socketio; mqtt is the running broker).

    ``ours_at`` names another checkout, whose server runs as the target
    ``ours_at`` beside this one's (added to ``names``): a change measured
    against the code before it in the same run, the servers taking turns.

    Yields the targets that could be reached; a missing Mosquitto is reported
    and skipped rather than failing the whole run. Everything started here is
    stopped on the way out, whatever the reason.
    """
    if ours_at is not None and "ours_at" not in names:
        names = [*names, "ours_at"]
    found: list[Target] = []
    with contextlib.ExitStack() as stack:
        for name in names:
            if name == "mqtt":
                pid = find_process("mosquitto")
                if pid is None or not await port_open(HOST, MQTT_PORT):
                    print(f"note: no Mosquitto on {HOST}:{MQTT_PORT}; the MQTT peer is skipped")
                    continue
                found.append(Target(name, ProcessStats(pid), MQTT_PORT))
                continue
            if name in ("ours", "ours_at"):
                if name == "ours_at" and ours_at is None:
                    raise ValueError("the target ours_at needs the checkout (--ours-at)")
                data_dir = stack.enter_context(temp_dir())
                tree = ours_at if name == "ours_at" else None
                server = ServerProcess.ours(data_dir, messages_per_second, ours_args, tree)
            else:
                module = {
                    "bare": "bare_aiohttp",
                    "durable": "bare_durable",
                    "durable_loop": "bare_durable_loop",
                    "socketio": "socketio_server",
                }[name]
                server = ServerProcess.baseline(name, module)
            stack.enter_context(running(server))
            target = Target(name, server.stats, server.port)
            if name in ("ours", "ours_at"):
                sender_names = [f"sender{i}" for i in range(senders)]
                receiver_names = [f"reader{i}" for i in range(receiver_users)]
                tokens = await register_users(server.url, sender_names + receiver_names)
                target.sender_tokens = tuple(tokens[n] for n in sender_names)
                target.receiver_tokens = tuple(tokens[n] for n in receiver_names)
            found.append(target)
        yield found


# Receiver worker processes ---------------------------------------------------


def _receiver_worker(
    conn: multiprocessing.connection.Connection,
    endpoint: wire.Endpoint,
    keep_latencies: bool,
    use_uvloop: bool,
    parse: bool,
) -> None:
    """Body of a receiver process: obey commands from the pipe until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    raise_file_limit()
    try:
        run_loop(_receiver_loop(conn, endpoint, keep_latencies, parse), use_uvloop)
    finally:
        conn.close()


def run_loop(main: Coroutine[Any, Any, Any], use_uvloop: bool = False) -> Any:
    """``asyncio.run(main)``, on uvloop's event loop when asked (imported only then)."""
    if not use_uvloop:
        return asyncio.run(main)
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def _receiver_loop(
    conn: multiprocessing.connection.Connection,
    endpoint: wire.Endpoint,
    keep_latencies: bool,
    parse: bool,
) -> None:
    sink = wire.Sink(keep_latencies=keep_latencies, parse=parse)
    clients: list[wire.RawClient] = []
    try:
        while True:
            command, arg = await recv_pipe(conn)
            if command == "connect":
                try:
                    clients += await wire.connect(
                        endpoint, arg, sink, first_index=len(clients) + 1000 * os.getpid()
                    )
                except Exception as exc:
                    conn.send(("error", f"{type(exc).__name__}: {exc}"))
                    return
                conn.send(("ok", len(clients)))
            elif command == "record":
                sink.recording, sink.since_ns = arg
                conn.send(("ok", sink.deliveries))
            elif command == "result":
                conn.send(
                    (
                        "ok",
                        {
                            "deliveries": sink.deliveries,
                            "errors": sink.errors,
                            "lost": sink.lost,
                            "latencies": sink.latencies.tobytes(),
                            "frames_out": sum(client.frames_out for client in clients),
                        },
                    )
                )
                sink.latencies = type(sink.latencies)("q")
                sink.deliveries = 0
            elif command == "stop":
                return
    finally:
        for client in clients:
            client.close()
        await asyncio.sleep(0.05)  # let the close frames go out


async def recv_pipe(conn: multiprocessing.connection.Connection) -> Any:
    """Await the next object on a multiprocessing pipe without blocking the loop."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    loop.add_reader(conn.fileno(), ready.set)
    try:
        await ready.wait()
    finally:
        loop.remove_reader(conn.fileno())
        # uvloop (``--uvloop``) leaves a watched descriptor non-blocking, and
        # multiprocessing's recv and send expect a blocking one: a result larger
        # than the socket buffer would fail half-way with EAGAIN.
        os.set_blocking(conn.fileno(), True)
    return conn.recv()


class WorkerPool:
    """Worker processes (spawned) that each obey commands from a pipe; commands go to all.

    Worker ``k`` runs ``target(conn, *worker_args[k])``; :meth:`all` sends
    one command with an argument per worker and gathers their ``("ok", value)``
    answers, :meth:`close` sends ``stop`` and kills a worker that hangs.
    """

    def __init__(self, target: Callable[..., None], worker_args: Sequence[tuple[Any, ...]]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[multiprocessing.connection.Connection] = []
        self.workers: list[multiprocessing.process.BaseProcess] = []
        for args in worker_args:
            mine, theirs = ctx.Pipe()
            worker = ctx.Process(target=target, args=(theirs, *args), daemon=True)
            worker.start()
            theirs.close()
            self.pipes.append(mine)
            self.workers.append(worker)

    async def all(self, command: str, args: Sequence[Any], within: float = 180.0) -> list[Any]:
        """Send ``(command, args[k])`` to worker k; their answers, in order."""
        for pipe, arg in zip(self.pipes, args, strict=True):
            pipe.send((command, arg))
        answers = []
        # Bounded: a worker that hangs must not hang the benchmark.
        async with asyncio.timeout(within):
            for pipe in self.pipes:
                status, value = await recv_pipe(pipe)
                if status != "ok":
                    raise RuntimeError(f"worker: {value}")
                answers.append(value)
        return answers

    def shares(self, count: int) -> list[int]:
        """``count`` split as evenly as possible across the workers."""
        n = len(self.pipes)
        return [count // n + (1 if i < count % n else 0) for i in range(n)]

    def close(self, within: float = 5.0) -> None:
        """Stop the workers (they close their sockets first); kill the ones that hang."""
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("stop", None))
        for worker in self.workers:
            worker.join(within)
            if worker.is_alive():
                worker.kill()
                worker.join()
        for pipe in self.pipes:
            pipe.close()


class ReceiverPool(WorkerPool):
    """Receiving clients spread over worker processes; commands go to all of them.

    ``use_uvloop`` runs the workers on uvloop; ``parse`` makes the clients
    decode each frame's JSON, as an application would (:class:`bench.wire.Sink`).
    """

    def __init__(
        self,
        endpoint: wire.Endpoint,
        processes: int = 1,
        keep_latencies: bool = True,
        *,
        use_uvloop: bool = False,
        parse: bool = False,
    ) -> None:
        super().__init__(
            _receiver_worker, [(endpoint, keep_latencies, use_uvloop, parse)] * processes
        )
        self.connected = 0

    async def connect(self, count: int) -> None:
        """Open ``count`` more clients, split evenly across the workers."""
        await self.all("connect", self.shares(count))
        self.connected += count

    async def record(self, on: bool, since_ns: int = 0) -> int:
        """Start or stop counting messages sent from ``since_ns`` on; returns the count so far."""
        return sum(await self.all("record", [(on, since_ns)] * len(self.pipes)))

    async def result(self) -> dict[str, Any]:
        """Deliveries, errors, lost connections and latencies (ns) since the last result.

        ``frames_out`` (frames the clients sent: hellos, pongs, messages) counts from the start.
        """
        answers = await self.all("result", [None] * len(self.pipes))
        latencies: array[int] = array("q")
        for answer in answers:
            latencies.frombytes(answer["latencies"])
        return {
            "deliveries": sum(a["deliveries"] for a in answers),
            "errors": sum(a["errors"] for a in answers),
            "lost": sum(a["lost"] for a in answers),
            "frames_out": sum(a["frames_out"] for a in answers),
            "latencies": latencies,
        }


# Numbers and output -----------------------------------------------------------


def summary(latencies_ns: Sequence[int]) -> dict[str, float]:
    """p50, p99 and max in milliseconds, and the count."""
    if not latencies_ns:
        return {"count": 0, "p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    ordered = sorted(latencies_ns)
    n = len(ordered)

    def pick(q: float) -> float:
        return ordered[min(n - 1, int(q * n))] / 1e6

    return {"count": n, "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": ordered[-1] / 1e6}


def medians(runs: Sequence[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per distinct ``keys`` (e.g. target and size): the median of each number.

    The benchmarks repeat each measurement (``--repeat``), alternating the
    servers, so that a burst of load from another process on this shared
    machine hits one repetition of one server rather than decide a ratio.
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault(tuple(run[k] for k in keys), []).append(run)
    out = []
    for group in groups.values():
        row = dict(group[0])
        for field_name, value in group[0].items():
            if field_name not in keys and isinstance(value, int | float):
                row[field_name] = statistics.median(r[field_name] for r in group)
        row["repeats"] = len(group)
        out.append(row)
    return out


def ratio(ours: float, other: float) -> float:
    return ours / other if other else float("nan")


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned text table on stdout."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    sys.stdout.flush()


def command_line(benchmark: str) -> str:
    """The command that is running, as a reader would type it (without ``--json``)."""
    args: list[str] = []
    skip = False
    for arg in sys.argv[1:]:
        if skip or arg.startswith("--json="):
            skip = False
        elif arg == "--json":
            skip = True
        else:
            args.append(arg)
    return f"python -m bench.{benchmark} {shlex.join(args)}".strip()


def plain(args: dict[str, Any]) -> dict[str, Any]:
    """Command-line arguments as JSON can hold them (a path as its text)."""
    return {key: str(value) if isinstance(value, Path) else value for key, value in args.items()}


def write_json(path: str | None, result: dict[str, Any]) -> None:
    """Write a benchmark's result for ``bench.report``; no-op without ``--json``."""
    if path:
        result = {**result, "command": command_line(result["benchmark"])}
        Path(path).write_text(json.dumps(result, indent=1, default=float))


def execute(benchmark: Callable[[Any], Coroutine[Any, Any, dict[str, Any]]], args: Any) -> None:
    """Run a benchmark's ``run(args)``, write ``--json``, and turn Ctrl-C into exit 130.

    Everything a benchmark starts is stopped by its own ``finally`` blocks on
    the way out; this only keeps an interrupted run from ending in a traceback.
    """
    try:
        # ``--uvloop all`` (bench.latency): the benchmark's own process too, i.e. the senders.
        result = run_loop(benchmark(args), getattr(args, "uvloop", "off") == "all")
    except KeyboardInterrupt:
        print("\ninterrupted; every process the benchmark started has been stopped")
        raise SystemExit(130) from None
    write_json(args.json, result)


def add_run_options(parser: argparse.ArgumentParser, *, name: str, duration: float) -> None:
    """The options every load benchmark shares: repeats, timing, workers, profile, output."""
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per server and size (medians are shown)"
    )
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=duration)
    parser.add_argument("--processes", type=int, default=1, help="receiver worker processes")
    parser.add_argument(
        "--profile", metavar="PREFIX", help=f"py-spy our server: PREFIX-{name}-<clients>.svg"
    )
    parser.add_argument(
        "--ours-args",
        default="",
        help="extra arguments for bench.ours_server, e.g. '--switch-interval 0.0005'",
    )
    parser.add_argument(
        "--ours-at",
        type=Path,
        metavar="CHECKOUT",
        help="also run the server of another checkout (target ours_at): a change against"
        " the code before it, in the same rounds",
    )
    parser.add_argument("--json", help="also write the figures to this file")


def in_turns(targets: Sequence[T], repeat: int) -> Iterator[T]:
    """``repeat`` rounds over ``targets``, each round starting with the next one.

    So that no server always runs first or right after the same peer:
    whatever the order does to the figures falls on every server alike.
    """
    for turn in range(repeat):
        shift = turn % len(targets) if targets else 0
        yield from (*targets[shift:], *targets[:shift])


def sizes(text: str) -> list[int]:
    """Parse a comma separated list of sizes (``10,100,1000``)."""
    return [int(part) for part in text.split(",") if part.strip()]
