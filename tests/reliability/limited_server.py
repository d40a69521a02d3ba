"""``chat-server`` with test-only settings, as a process: for tests that measure or kill it.

The CLI has no options for the contract's limits (they are the contract's)
nor for fault injection (no operator should have one); tests that need the
real server *process* (to read its memory, to kill it) with those run this
instead: ``python -m tests.reliability.limited_server`` takes the CLI's own
options plus ``--limits JSON`` (fields of :class:`~chat_protocol.Limits` to
replace) and ``--hold-commits-while FILE``
(:attr:`ServerConfig.hold_commits_while`), builds the :class:`ServerConfig`
the CLI would, changes those, and runs :func:`chat_server.cli.serve`
(SIGTERM stops it). :func:`limited_server` starts it on 127.0.0.1 and a free
port and hands back its URL and pid; ``ServerProcess(module=...)`` (see
tests/conftest.py) runs it where a test must kill and restart it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chat_protocol import Limits
from chat_server.cli import build_parser, config_from, serve

ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass
class RunningServer:
    """What a test needs of the process: where it listens, and its pid (for /proc)."""

    url: str
    pid: int
    data_dir: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def base_url(self) -> str:
        return self.url

    def rss_bytes(self) -> int:
        """Resident memory now, from /proc (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")


@contextlib.asynccontextmanager
async def limited_server(data_dir: Path, **limits: Any) -> AsyncIterator[RunningServer]:
    """Run the server process with ``limits``; SIGTERM it at the end (it must exit 0)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.reliability.limited_server",
        *("--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir), "--name", "test"),
        *("--limits", json.dumps(limits)),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output: list[str] = []
    drain: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(20):
            while True:
                line = (await proc.stdout.readline()).decode()
                assert line, "the server did not start:\n" + "".join(output)
                output.append(line)
                if found := _LISTENING.search(line):
                    break

        async def keep_reading() -> None:
            assert proc.stdout is not None
            while line := await proc.stdout.readline():
                output.append(line.decode())

        # An unread pipe would block the server once full.
        drain = asyncio.create_task(keep_reading())
        yield RunningServer(found.group(1).rstrip("/"), proc.pid, data_dir)
    finally:
        if proc.returncode is None:
            proc.terminate()
        code = await proc.wait()
        if drain is not None:
            await drain
    assert code == 0, "".join(output)


def main() -> None:
    parser = build_parser()
    parser.add_argument("--limits", type=json.loads, default={}, metavar="JSON")
    parser.add_argument("--hold-commits-while", type=Path, metavar="FILE")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = config_from(args)
    config.limits = dataclasses.replace(Limits(), **args.limits)
    config.hold_commits_while = args.hold_commits_while
    asyncio.run(serve(config))


if __name__ == "__main__":
    main()
