"""Discovery on the LAN, for real: the server's advertiser and the client's browser.

Both sides run the real ``zeroconf`` library, talking mDNS over loopback
(``interfaces=["127.0.0.1"]``) in this test's event loop: nothing leaves the
machine and nothing is mocked. Other test runs on the same machine may
advertise on loopback at the same time, so each test gives its server a
unique name and looks only for it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from zeroconf.asyncio import AsyncServiceInfo

from chat_desktop.transport.discovery import (
    SERVICE_TYPE,
    DiscoveredServer,
    ServerBrowser,
    parse_service_info,
)
from chat_server.discovery import ServerAdvertiser, _instance_label
from tests.waiting import eventually

LOOPBACK = ["127.0.0.1"]
# Registering probes the name first (about a second), then announces; a
# browser's first query goes out at once. Generous for a loaded CI machine.
TIMEOUT = 15.0
FINGERPRINT = ":".join(["AB"] * 32)


class Sightings:
    """What a browser reported: the servers it lists now and the keys it reported lost."""

    def __init__(self) -> None:
        self.found: dict[str, DiscoveredServer] = {}
        self.lost: list[str] = []

    def on_found(self, server: DiscoveredServer) -> None:
        self.found[server.key] = server

    def on_lost(self, key: str) -> None:
        self.found.pop(key, None)
        self.lost.append(key)

    def named(self, name: str) -> list[DiscoveredServer]:
        return [server for server in self.found.values() if server.name == name]


@asynccontextmanager
async def browsing() -> AsyncIterator[Sightings]:
    sightings = Sightings()
    browser = ServerBrowser(sightings.on_found, sightings.on_lost, interfaces=LOOPBACK)
    await browser.start()
    try:
        yield sightings
    finally:
        await browser.stop()


@asynccontextmanager
async def advertising(**options: object) -> AsyncIterator[ServerAdvertiser]:
    settings: dict[str, object] = {
        "name": f"test {uuid.uuid4().hex[:8]}",
        "port": 8765,
        "version": "0.1.0",
        "host": "127.0.0.1",
    }
    settings.update(options)
    advertiser = ServerAdvertiser(**settings)  # type: ignore[arg-type]
    await advertiser.start()
    try:
        yield advertiser
    finally:
        await advertiser.stop()


async def test_browser_finds_an_advertised_server_with_its_address_port_and_version() -> None:
    async with browsing() as seen, advertising(port=4321, version="9.8.7") as advertiser:
        await eventually(
            lambda: bool(seen.named(advertiser.name)), "the browser lists it", within=TIMEOUT
        )
        (server,) = seen.named(advertiser.name)
        assert await advertiser.announced()
        assert server.key == advertiser.service_name
    assert (server.host, server.port, server.version, server.tls) == (
        "127.0.0.1",
        4321,
        "9.8.7",
        False,
    )
    assert server.url == "http://127.0.0.1:4321"


async def test_a_tls_server_is_listed_with_an_https_url_and_its_fingerprint() -> None:
    async with (
        browsing() as seen,
        advertising(port=4322, tls=True, fingerprint=FINGERPRINT) as advertiser,
    ):
        await eventually(
            lambda: bool(seen.named(advertiser.name)), "the browser lists it", within=TIMEOUT
        )
        (server,) = seen.named(advertiser.name)
    assert server.tls
    assert server.fingerprint == FINGERPRINT
    assert server.url == "https://127.0.0.1:4322"


async def test_a_server_that_was_running_before_the_browser_started_is_found() -> None:
    async with advertising() as advertiser, browsing() as seen:
        await eventually(
            lambda: bool(seen.named(advertiser.name)), "the browser lists it", within=TIMEOUT
        )


async def test_the_browser_reports_the_server_lost_when_its_advertiser_stops() -> None:
    async with browsing() as seen:
        async with advertising() as advertiser:
            await eventually(
                lambda: bool(seen.named(advertiser.name)), "the browser lists it", within=TIMEOUT
            )
            assert await advertiser.announced()
            key = advertiser.service_name
        await eventually(lambda: key in seen.lost, "the browser reports it lost", within=TIMEOUT)
        assert not seen.named(advertiser.name)


async def test_two_servers_with_the_same_name_on_one_machine_are_both_listed() -> None:
    name = f"twin {uuid.uuid4().hex[:8]}"
    async with (
        browsing() as seen,
        advertising(name=name, port=5001) as first,
        advertising(name=name, port=5002) as second,
    ):
        await eventually(
            lambda: len(seen.named(name)) == 2, "the browser lists both", within=TIMEOUT
        )
        assert sorted(server.port for server in seen.named(name)) == [5001, 5002]
        assert await first.announced() and await second.announced()
        assert first.service_name != second.service_name


def test_a_long_name_is_cut_to_a_dns_label_keeping_what_makes_it_unique() -> None:
    label = _instance_label("é" * 100, "host-8765")
    assert len(label.encode("utf-8")) <= 63
    assert label.endswith(" (host-8765)")


async def test_advertising_and_browsing_leave_no_task_running_once_stopped() -> None:
    before = asyncio.all_tasks()
    async with browsing() as seen, advertising() as advertiser:
        await eventually(
            lambda: bool(seen.named(advertiser.name)), "the browser lists it", within=TIMEOUT
        )
    leftover = asyncio.all_tasks() - before
    assert not leftover, leftover


async def test_stopping_while_the_name_is_still_being_probed_leaves_nothing_running() -> None:
    before = asyncio.all_tasks()
    advertiser = ServerAdvertiser(name="short-lived", port=1, version="1", host="127.0.0.1")
    await advertiser.start()
    await advertiser.stop()
    assert not await advertiser.announced()
    assert asyncio.all_tasks() - before == set()


async def test_starting_and_stopping_twice_is_harmless() -> None:
    advertiser = ServerAdvertiser(name="idempotent", port=1, version="1", host="127.0.0.1")
    await advertiser.start()
    await advertiser.start()
    assert await advertiser.announced()
    await advertiser.stop()
    await advertiser.stop()
    assert advertiser.service_name is None


# --- what a record from the network may hold ----------------------------------


def _record(
    properties: dict[str | bytes, str | bytes | None],
    addresses: list[str] | None = None,
    instance: str = "somebody",
) -> AsyncServiceInfo:
    """A resolved DNS-SD record, as zeroconf builds it from the wire."""
    return AsyncServiceInfo(
        SERVICE_TYPE,
        f"{instance}.{SERVICE_TYPE}",
        port=8765,
        properties=properties,
        parsed_addresses=["192.0.2.7"] if addresses is None else addresses,
    )


def test_a_record_without_an_address_is_skipped() -> None:
    assert parse_service_info(_record({"name": "x"}, addresses=[])) is None


def test_a_record_without_a_name_is_listed_under_its_instance_name() -> None:
    server = parse_service_info(_record({}, instance="Lab server"))
    assert server is not None and server.name == "Lab server"


def test_control_characters_and_broken_utf8_in_a_name_are_cleaned() -> None:
    server = parse_service_info(_record({b"name": b"Evil\n\x1b[31mname\xff" + b"x" * 200}))
    assert server is not None
    assert "\n" not in server.name and "\x1b" not in server.name
    assert server.name.startswith("Evil [31mname\ufffd")
    assert len(server.name) == 100


def test_a_bare_hex_fingerprint_is_shown_in_colon_form() -> None:
    server = parse_service_info(_record({"tls": "1", "fingerprint": "ab" * 32}))
    assert server is not None and server.fingerprint == FINGERPRINT


def test_a_malformed_fingerprint_is_dropped() -> None:
    server = parse_service_info(_record({"tls": "1", "fingerprint": "not a fingerprint"}))
    assert server is not None and (server.tls, server.fingerprint) == (True, "")


def test_a_loopback_address_is_offered_after_a_lan_address() -> None:
    server = parse_service_info(_record({}, addresses=["127.0.0.1", "192.0.2.7"]), [])
    assert server is not None
    assert (server.host, server.addresses) == ("192.0.2.7", ("192.0.2.7", "127.0.0.1"))


def test_the_address_on_a_network_this_machine_shares_is_offered_first() -> None:
    record = _record({}, addresses=["172.17.0.1", "198.51.100.7", "10.8.0.3"])
    server = parse_service_info(record, [ipaddress.IPv4Network("198.51.100.0/24")])
    assert server is not None
    assert server.addresses == ("198.51.100.7", "10.8.0.3", "172.17.0.1")


def test_advertising_and_browsing_work_inside_the_qasync_loop_of_the_desktop_app() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "tests.lan.under_qasync"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["found", "lost", "tasks left: 0"]
    assert result.stderr == ""
