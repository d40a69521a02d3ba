"""Check that a built server bundle really serves: add a user, start, sign in, stop with 0.

``build.sh`` runs it after building ``dist/chat-server``; CI can run it on its
own. It exercises what a frozen bundle most often gets wrong and ``--version``
cannot show: modules imported late (the storage back end, password hashing),
the database migrations, the HTTP API. Standard library only, so it runs with
any Python 3.11, not only the project's.

    python packaging/smoke_server.py dist/chat-server/chat-server
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

LISTENING = re.compile(r"listening on (https?)://\S+?:(\d+)")
TIMEOUT = 30.0
USER, PASSWORD = "smoke", "smoke-test-password"


def main(binary: str) -> int:
    with tempfile.TemporaryDirectory(prefix="chat-smoke-") as data:
        common = ["--data-dir", data]
        subprocess.run(
            [binary, "user", "add", USER, "--password", PASSWORD, *common],
            check=True,
            timeout=TIMEOUT,
        )
        server = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", "0", *common],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            scheme, port = _wait_until_listening(server)
            if scheme != "http":
                raise SystemExit("smoke test: start the server without --tls")
            reply = _post(f"http://127.0.0.1:{port}/api/v1/login", USER, PASSWORD)
            if reply.get("username") != USER or not reply.get("token"):
                raise SystemExit(f"smoke test: unexpected login answer {reply}")
            print(f"signed in as {USER} on the bundled server (port {port})")
        finally:
            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=TIMEOUT)
        if code != 0:
            raise SystemExit(f"smoke test: the server exited with {code} on SIGTERM")
    print("server bundle: ok")
    return 0


def _wait_until_listening(server: subprocess.Popen[str]) -> tuple[str, int]:
    """Read the server's output until it says where it listens (or give up)."""
    found: list[tuple[str, int]] = []
    seen: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            seen.append(line)
            match = LISTENING.search(line)
            if match and not found:
                found.append((match.group(1), int(match.group(2))))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(TIMEOUT) or not found:
        server.kill()
        raise SystemExit("smoke test: the server did not start:\n" + "".join(seen))
    return found[0]


def _post(url: str, username: str, password: str) -> dict[str, object]:
    body = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
        result: dict[str, object] = json.load(answer)
        return result


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_file():
        raise SystemExit(__doc__)
    sys.exit(main(sys.argv[1]))
