"""Find Chat Desktop servers on the LAN (mDNS/DNS-SD), live, as they come and go.

:class:`ServerBrowser` browses for the ``_chat-desktop._tcp`` services that
``chat_server.discovery.ServerAdvertiser`` announces, resolves each one (its
address, port and TXT record) and reports it with ``on_found`` as a
:class:`DiscoveredServer`; when a server says goodbye (or its record expires)
``on_lost`` gets its :attr:`DiscoveredServer.key`. A server whose record
changes (restarted with TLS, say) is reported again with ``on_found`` under the
same key, so a list keyed by ``key`` stays right.

Plain asyncio, no Qt: the controller starts it on the running loop (qasync in
the app) and turns the callbacks into signals for the sign-in dialog. The
callbacks run on the loop's thread.

Everything in a DNS-SD answer comes from the network, unauthenticated: names
are decoded leniently and cut to a sane length, numbers are checked, and a
broken record is skipped rather than raising. The advertised fingerprint is
a hint to show the user, never a reason to trust a certificate: anyone on the
LAN can announce anything (the trust decision is ``pinning.check_server``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import ifaddr  # zeroconf's own dependency; zeroconf asks callers to use it directly
from zeroconf import InterfaceChoice, IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from chat_protocol.lan import FINGERPRINT_RE, SERVICE_TYPE

log = logging.getLogger(__name__)

# How long to wait for a service's address and TXT record, in milliseconds
# (zeroconf's unit); a server that does not answer in time is skipped until
# it announces itself again.
RESOLVE_TIMEOUT_MS = 3000
_MAX_NAME = 100
_T = TypeVar("_T")


class DiscoveryError(Exception):
    """Browsing could not start; ``str()`` is a sentence for the user."""


@dataclass(frozen=True)
class DiscoveredServer:
    """A server found on the LAN, as the sign-in dialog lists it."""

    key: str  # the DNS-SD instance name: unique on the LAN, what on_lost reports
    name: str  # the server's display name (user text: show it as plain text)
    host: str  # the address to connect to (the first usable one)
    port: int
    tls: bool
    fingerprint: str  # "AB:CD:..." as advertised, "" without TLS; a hint, not trust
    version: str
    addresses: tuple[str, ...] = ()  # every IPv4 address it announced

    @property
    def url(self) -> str:
        """The base URL to fill into the address field."""
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


class ServerBrowser:
    """Browses the LAN for servers until :meth:`stop`; reports through two callbacks.

    ``interfaces`` limits where to look (a list of IPv4 addresses); the default
    is every interface. Tests pass ``["127.0.0.1"]``.
    """

    def __init__(
        self,
        on_found: Callable[[DiscoveredServer], None],
        on_lost: Callable[[str], None],
        *,
        interfaces: list[str] | None = None,
    ) -> None:
        self._on_found = on_found
        self._on_lost = on_lost
        self._interfaces: InterfaceChoice | list[str] = (
            interfaces if interfaces is not None else InterfaceChoice.All
        )
        self._zeroconf: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        # One resolution at a time per service; a newer event replaces it.
        self._resolving: dict[str, asyncio.Task[None]] = {}
        # What was reported, so on_lost is only said of servers on_found named.
        self._found: dict[str, DiscoveredServer] = {}

    @property
    def servers(self) -> list[DiscoveredServer]:
        """The servers found so far and not lost, by name."""
        return sorted(self._found.values(), key=lambda server: (server.name.lower(), server.key))

    async def start(self) -> None:
        """Start browsing on the running loop. Idempotent.

        Raises :class:`DiscoveryError` when the mDNS socket cannot be opened
        (no network, a firewall, a platform without multicast): the sign-in
        dialog then simply lists nothing, and typing an address still works.
        """
        if self._zeroconf is not None:
            return
        try:
            self._zeroconf = AsyncZeroconf(interfaces=self._interfaces, ip_version=IPVersion.V4Only)
        except OSError as error:
            raise DiscoveryError(
                f"Cannot look for servers on the network: {error.strerror or error}."
            ) from error
        self._browser = AsyncServiceBrowser(
            self._zeroconf.zeroconf, SERVICE_TYPE, handlers=[self._on_state_change]
        )

    async def stop(self) -> None:
        """Stop browsing, cancel pending resolutions, close the sockets. Idempotent."""
        zeroconf, browser = self._zeroconf, self._browser
        self._zeroconf = self._browser = None
        tasks = list(self._resolving.values())
        self._resolving.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._found.clear()
        if browser is not None:
            await browser.async_cancel()
        if zeroconf is not None:
            await zeroconf.async_close()

    def _on_state_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        """zeroconf's handler (keyword arguments by these names, on the loop's thread)."""
        pending = self._resolving.pop(name, None)
        if pending is not None:
            pending.cancel()
        if state_change is ServiceStateChange.Removed:
            if self._found.pop(name, None) is not None:
                self._report(self._on_lost, name)
            return
        task = asyncio.get_running_loop().create_task(self._resolve(zeroconf, service_type, name))
        self._resolving[name] = task
        task.add_done_callback(lambda done: self._forget_task(name, done))

    def _forget_task(self, name: str, task: asyncio.Task[None]) -> None:
        if self._resolving.get(name) is task:
            del self._resolving[name]

    async def _resolve(self, zeroconf: Zeroconf, service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        if not await info.async_request(zeroconf, RESOLVE_TIMEOUT_MS):
            log.debug("no answer from %s in time; waiting for its next announcement", name)
            return
        server = parse_service_info(info)
        if server is None:
            log.debug("ignoring a malformed record for %s", name)
            return
        if self._found.get(name) != server:
            self._found[name] = server
            self._report(self._on_found, server)

    @staticmethod
    def _report(callback: Callable[[_T], None], value: _T) -> None:
        # A failing callback must not stop the browsing of other servers.
        try:
            callback(value)
        except Exception:
            log.exception("a discovery callback failed")


def parse_service_info(
    info: AsyncServiceInfo, local_networks: Sequence[ipaddress.IPv4Network] | None = None
) -> DiscoveredServer | None:
    """A resolved DNS-SD record as a :class:`DiscoveredServer`, or ``None`` when unusable.

    ``local_networks`` (default: this machine's) decide which of several
    addresses comes first: one on a network this machine is on.
    """
    networks = local_networks if local_networks is not None else _local_networks()
    addresses = tuple(_usable_addresses(info.parsed_addresses(IPVersion.V4Only), networks))
    port = info.port
    if not addresses or port is None or not 0 < port < 65536:
        return None
    text = {
        _decode(key): _decode(value) for key, value in info.properties.items() if value is not None
    }
    instance = info.name.removesuffix("." + SERVICE_TYPE)
    fingerprint = text.get("fingerprint", "").strip().upper()
    if fingerprint and not FINGERPRINT_RE.fullmatch(fingerprint):
        # A bare hex digest is the same fingerprint; anything else is noise.
        bare = fingerprint.replace(":", "")
        fingerprint = (
            ":".join(bare[i : i + 2] for i in range(0, 64, 2))
            if re.fullmatch(r"[0-9A-F]{64}", bare)
            else ""
        )
    return DiscoveredServer(
        key=info.name,
        name=_clean(text.get("name", "")) or _clean(instance) or addresses[0],
        host=addresses[0],
        port=port,
        tls=text.get("tls", "0").strip() == "1",
        fingerprint=fingerprint,
        version=_clean(text.get("version", ""))[:32],
        addresses=addresses,
    )


def _usable_addresses(addresses: list[str], networks: Sequence[ipaddress.IPv4Network]) -> list[str]:
    """Addresses to connect to, the most useful first; never link-local.

    A server on a machine with several networks (a second card, a VPN, a
    container bridge) announces all its addresses; the one on a network this
    machine shares is the one that answers, so it comes first, then the other
    LAN addresses, loopback last.
    """
    parsed = []
    for text in addresses:
        try:
            address = ipaddress.IPv4Address(text)
        except ValueError:
            continue
        if not (address.is_link_local or address.is_unspecified or address.is_multicast):
            parsed.append(address)
    parsed.sort(
        key=lambda address: (
            not any(address in network for network in networks),
            address.is_loopback,
            address,
        )
    )
    return [str(address) for address in dict.fromkeys(parsed)]


def _local_networks() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks this machine is on (loopback included: a server here is reachable)."""
    networks = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if ip.is_IPv4:
                networks.append(ipaddress.IPv4Network(f"{ip.ip}/{ip.network_prefix}", strict=False))
    return networks


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _clean(text: str) -> str:
    """One line of printable text, at most ``_MAX_NAME`` characters."""
    # Control characters become spaces, so "a\nb" does not read as "ab".
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:_MAX_NAME]
