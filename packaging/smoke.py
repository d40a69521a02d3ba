"""Check that built bundles really work: the server serves, the desktop app signs in, both exit 0.

``build.sh`` runs it after building; CI can run it on its own. ``--version``
cannot show what a frozen bundle most often gets wrong: modules imported late
(the storage back end, password hashing, Qt plugins), the database
migrations, the network. So this:

1. adds two users with the bundled ``chat-server user add`` and starts the
   bundled server on a free 127.0.0.1 port, in a temporary data folder;
2. signs both in over the HTTP API;
3. with ``--desktop``: starts the bundled app offscreen (no display needed),
   signed in as ``smoke`` through a remembered session in its own temporary
   data folder, waits until the server lists ``smoke`` online (the app's
   WebSocket is up), then sends SIGTERM and expects exit code 0;
4. stops the server with SIGTERM and expects exit code 0.

Standard library only, so any Python 3.11 runs it:

    python packaging/smoke.py --server dist/chat-server/chat-server \\
        [--desktop dist/chat-desktop/chat-desktop]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

LISTENING = re.compile(r"listening on (https?)://\S+?:(\d+)")
TIMEOUT = 60.0
PASSWORD = "smoke-test-password"


class SmokeFailure(Exception):
    """The bundle does not work; the message says what was seen."""


class Program:
    """A started bundle whose output is collected by a thread (a full pipe would block it)."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.output: list[str] = []
        self.listening: tuple[str, int] | None = None
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            match = LISTENING.search(line)
            if match and self.listening is None:
                self.listening = (match.group(1), int(match.group(2)))
                self._ready.set()
        self._ready.set()

    def wait_listening(self) -> int:
        if not self._ready.wait(TIMEOUT) or self.listening is None:
            raise SmokeFailure("the server did not start:\n" + "".join(self.output))
        if self.listening[0] != "http":
            raise SmokeFailure("start the smoke test's server without --tls")
        return self.listening[1]

    def terminate(self, what: str) -> None:
        """SIGTERM, and the exit code must be 0."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise SmokeFailure(f"{what} did not stop on SIGTERM") from None
        if code != 0:
            raise SmokeFailure(
                f"{what} exited with {code} on SIGTERM:\n" + "".join(self.output[-30:])
            )


def api(port: int, method: str, path: str, body: object = None, token: str = "") -> object:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
        method=method,
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
        return json.load(answer)


def login(port: int, username: str) -> str:
    answer = api(port, "POST", "/login", {"username": username, "password": PASSWORD})
    if not isinstance(answer, dict) or answer.get("username") != username:
        raise SmokeFailure(f"unexpected login answer {answer}")
    return str(answer["token"])


def desktop_signs_in(desktop: str, port: int, token: str, observer: str, data: Path) -> None:
    """Run the app with a remembered session; wait until the server sees it online."""
    # The app's settings file as an earlier version left it, token included
    # (the app moves the token to its own 0600 file on start).
    (data / "settings.ini").write_text(
        "[session]\n"
        f"server_url=http://127.0.0.1:{port}\n"
        "username=smoke\n"
        f"token={token}\n"
        "hosted=false\n",
        encoding="utf-8",
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    app = Program([desktop, "--data-dir", str(data)], env=env)
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            online = api(port, "GET", "/presence", token=observer)
            if isinstance(online, dict) and "smoke" in online.get("online", []):
                break
            if app.proc.poll() is not None:
                raise SmokeFailure(
                    f"the app exited with {app.proc.returncode}:\n" + "".join(app.output)
                )
            if time.monotonic() > deadline:
                raise SmokeFailure("the app did not sign in:\n" + "".join(app.output))
            time.sleep(0.2)
        print("desktop bundle: signed in as smoke, online on the server")
    finally:
        app.terminate("the desktop app")
    print("desktop bundle: ok (exit 0 on SIGTERM)")


def main(server: str, desktop: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="chat-smoke-") as folder:
        root = Path(folder)
        storage = ["--data-dir", str(root / "server")]
        for user in ("smoke", "observer"):
            subprocess.run(
                [server, "user", "add", user, "--password", PASSWORD, *storage],
                check=True,
                timeout=TIMEOUT,
                stdout=subprocess.DEVNULL,
            )
        served = Program([server, "--host", "127.0.0.1", "--port", "0", "--no-discovery", *storage])
        try:
            port = served.wait_listening()
            token, observer = login(port, "smoke"), login(port, "observer")
            print(f"server bundle: serving on port {port}, sign-in works")
            if desktop is not None:
                (root / "desktop").mkdir()
                desktop_signs_in(desktop, port, token, observer, root / "desktop")
        finally:
            served.terminate("the server")
        print("server bundle: ok (exit 0 on SIGTERM)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--server", required=True, help="the built chat-server executable")
    parser.add_argument("--desktop", help="the built chat-desktop executable")
    args = parser.parse_args()
    try:
        main(args.server, args.desktop)
    except (SmokeFailure, subprocess.CalledProcessError, OSError) as error:
        sys.exit(f"smoke test failed: {error}")
