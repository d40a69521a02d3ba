"""Two machines on one LAN, simulated: the client finds the server and connects over TLS.

Two network namespaces joined by a veth pair (a virtual cable) stand for two
PCs; ``tests/lan/peer.py`` runs in each, one serving HTTPS and advertising
with the real zeroconf library, the other browsing, asking "trust?" once,
pinning and fetching over HTTPS. Multicast crosses the virtual cable as it
would a switch. The addresses are TEST-NET-2 (198.51.100.0/24), inside
namespaces this test makes and removes; nothing reaches the machine's own
network.

Making namespaces needs root and the ``ip`` tool (CI has both); elsewhere the
test is skipped, and the loopback tests in test_discovery.py still run.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_ADDRESS, CLIENT_ADDRESS = "198.51.100.1", "198.51.100.2"
TIMEOUT = 20.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sys.platform != "linux" or os.geteuid() != 0 or shutil.which("ip") is None,
        reason="network namespaces need Linux, root and iproute2",
    ),
]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


@dataclass
class Lan:
    """Two namespaces, ``server`` and ``client``, cabled together."""

    server: str
    client: str


@pytest.fixture
def lan() -> Iterator[Lan]:
    tag = f"{os.getpid() % 100000}"
    net = Lan(server=f"chat-srv-{tag}", client=f"chat-cli-{tag}")
    cable = (f"chs{tag}", f"chc{tag}")
    try:
        try:
            _ip("netns", "add", net.server)
        except subprocess.CalledProcessError as error:
            # A container without the right to make namespaces: not a bug here.
            pytest.skip(f"cannot create a network namespace: {error.stderr.strip()}")
        _ip("netns", "add", net.client)
        for name in (net.server, net.client):
            _ip("-n", name, "link", "set", "lo", "up")
        cable_args = ["link", "add", cable[0], "netns", net.server, "type", "veth"]
        _ip(*cable_args, "peer", "name", cable[1], "netns", net.client)
        for name, device, address in (
            (net.server, cable[0], SERVER_ADDRESS),
            (net.client, cable[1], CLIENT_ADDRESS),
        ):
            _ip("-n", name, "addr", "add", f"{address}/24", "dev", device)
            _ip("-n", name, "link", "set", device, "up")
        yield net
    finally:
        # Deleting a namespace deletes its end of the cable, and so the cable.
        for name in (net.server, net.client):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


@dataclass
class Peer:
    """``peer.py`` running in a namespace; its JSON lines arrive in ``events``."""

    proc: subprocess.Popen[str]
    events: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    seen: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(cls, namespace: str, *args: str) -> Peer:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-m", "tests.lan.peer", *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        peer = cls(proc)
        threading.Thread(target=peer._read, daemon=True).start()
        return peer

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                self.events.put(json.loads(line))

    def expect(self, event: str) -> dict[str, Any]:
        """The next event of this kind (others are kept in ``seen``)."""
        while True:
            try:
                got = self.events.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"no {event!r} in time; saw {self.seen}") from None
            self.seen.append(got)
            if got["event"] == event:
                return got

    def stop(self) -> None:
        """Close stdin (the peer's signal to stop cleanly) and reap it."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            assert self.proc.wait(timeout=TIMEOUT) == 0
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def test_the_client_finds_the_server_on_the_lan_and_connects_over_tls_after_one_trust(
    lan: Lan, tmp_path: Path
) -> None:
    browser = Peer.start(lan.client, "browse", CLIENT_ADDRESS, str(tmp_path / "pins.json"))
    server: Peer | None = None
    try:
        browser.expect("browsing")
        server = Peer.start(lan.server, "serve", SERVER_ADDRESS, "Office", str(tmp_path / "srv"))
        serving = server.expect("serving")

        found = browser.expect("found")
        assert found["url"] == f"https://{SERVER_ADDRESS}:{serving['port']}"
        assert found["fingerprint"] == serving["fingerprint"]
        first = browser.expect("checked")
        assert (first["result"], first["fingerprint"]) == ("NeedsTrust", serving["fingerprint"])
        assert browser.expect("checked")["result"] == "Trusted"
        assert browser.expect("connected") == {
            "event": "connected",
            "status": 200,
            "body": {"name": "Office"},
        }

        server.stop()
        server = None
        browser.expect("lost")
    finally:
        if server is not None:
            server.stop()
        browser.stop()
