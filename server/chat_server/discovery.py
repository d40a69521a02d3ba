"""The server announces itself on the LAN (mDNS/DNS-SD), so clients find it with no address typed.

:class:`ServerAdvertiser` registers one service of type ``_chat-desktop._tcp``
with the ``zeroconf`` package's asyncio API. The TXT record carries what the
sign-in dialog shows before connecting: the server's ``name``, its
``version``, the ``port``, whether it uses TLS (``tls`` = ``1``/``0``) and its
certificate ``fingerprint`` (``AB:CD:...``, empty without TLS). The client side
is ``chat_desktop.transport.discovery.ServerBrowser``; the two share nothing
but this wire format (the layers may not import each other).

It runs in the server's own event loop: under ``chat-server`` that is the
plain asyncio loop, in the desktop app that hosts a server it is the qasync
loop; zeroconf then does its networking on that loop, without a thread of its
own. :meth:`ServerAdvertiser.stop` sends the DNS-SD goodbye, so browsers drop
the server at once, and closes every socket and task it opened.

Where it advertises follows where the server listens: a server on a
loopback address is announced on loopback only (what the tests use), one on
a single address on that interface only, and one on ``0.0.0.0`` on every
IPv4 interface with all of the machine's IPv4 addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket

import ifaddr  # zeroconf's own dependency; zeroconf asks callers to use it directly
from zeroconf import InterfaceChoice, IPVersion, NonUniqueNameException
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from chat_protocol.lan import SERVICE_TYPE

log = logging.getLogger(__name__)

# DNS labels (the instance name) are at most 63 bytes.
_MAX_LABEL = 63


class DiscoveryError(Exception):
    """Advertising could not start (e.g. the mDNS port is taken); the server runs on without it."""


class ServerAdvertiser:
    """Announces one running server over DNS-SD until :meth:`stop`.

    ``host`` is the address the server listens on; it decides the interfaces
    and the addresses announced (see the module docstring). ``fingerprint`` is
    the certificate's (``chat_server.tls.fingerprint``) when TLS is on.
    """

    def __init__(
        self,
        *,
        name: str,
        port: int,
        version: str,
        host: str = "0.0.0.0",
        tls: bool = False,
        fingerprint: str = "",
    ) -> None:
        self.name = name
        self.port = port
        self.version = version
        self.host = host
        self.tls = tls
        self.fingerprint = fingerprint
        # Set from start() to stop(): zeroconf's sockets, the record, and the
        # task that probes the name and announces it (a second or two; the
        # server does not wait for it, clients simply see it a moment later).
        self._zeroconf: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None
        self._announcing: asyncio.Task[bool] | None = None

    @property
    def service_name(self) -> str | None:
        """The instance name (zeroconf may add `` (2)`` on a clash) once announced."""
        announcing = self._announcing
        if self._info is None or announcing is None or not announcing.done():
            return None
        return self._info.name if not announcing.cancelled() and announcing.result() else None

    def properties(self) -> dict[str, str]:
        """The TXT record: what a browser learns before it connects."""
        return {
            "name": self.name,
            "version": self.version,
            "port": str(self.port),
            "tls": "1" if self.tls else "0",
            "fingerprint": self.fingerprint if self.tls else "",
        }

    async def start(self) -> None:
        """Open the mDNS sockets and start announcing in the background. Idempotent.

        Returns at once: probing the name on the LAN takes a second or two,
        which the server's start should not wait for. Raises
        :class:`DiscoveryError` when the sockets cannot be opened; a failure
        later (a name clash that cannot be resolved) is logged, and
        :meth:`announced` returns False.
        """
        if self._zeroconf is not None:
            return
        interfaces, addresses = _interfaces_and_addresses(self.host)
        host_label = _host_label(socket.gethostname())
        label = _instance_label(self.name or socket.gethostname(), f"{host_label}-{self.port}")
        info = AsyncServiceInfo(
            SERVICE_TYPE,
            f"{label}.{SERVICE_TYPE}",
            port=self.port,
            properties=self.properties(),
            # A host name of our own, not the machine's: announcing `<host>.local`
            # with other addresses than the system's responder (Avahi, Bonjour)
            # would make that responder rename the whole machine.
            server=f"{host_label}-chat-{self.port}.local.",
            parsed_addresses=addresses,
        )
        try:
            zeroconf = AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
        except OSError as error:
            raise DiscoveryError(
                f"Cannot open the mDNS socket: {error.strerror or error}."
            ) from error
        self._zeroconf, self._info = zeroconf, info
        self._announcing = asyncio.get_running_loop().create_task(self._announce(zeroconf, info))

    async def announced(self) -> bool:
        """Wait until the service is announced; False if that failed or it was stopped."""
        announcing = self._announcing
        if announcing is None:
            return False
        try:
            return await asyncio.shield(announcing)
        except asyncio.CancelledError:
            if announcing.cancelled():
                return False
            raise

    async def _announce(self, zeroconf: AsyncZeroconf, info: AsyncServiceInfo) -> bool:
        try:
            # allow_name_change: two servers with one name on a LAN both stay
            # visible, the second as "name (2)", instead of the second failing.
            sent = await zeroconf.async_register_service(info, allow_name_change=True)
            await sent
        except (OSError, NonUniqueNameException) as error:
            log.warning("the server is not announced on the LAN: %s", error)
            return False
        log.info("announcing %r on the LAN as %s", self.name, info.name)
        return True

    async def stop(self) -> None:
        """Send the goodbye and close zeroconf's sockets and tasks. Idempotent."""
        zeroconf, info, announcing = self._zeroconf, self._info, self._announcing
        self._zeroconf = self._info = self._announcing = None
        if zeroconf is None:
            return
        try:
            registered = False
            if announcing is not None:
                announcing.cancel()
                # wait(), not await: the task's cancellation is not ours to raise.
                await asyncio.wait([announcing])
                registered = not announcing.cancelled() and announcing.result()
            if registered and info is not None:
                # The first await queues the goodbye, the second waits until it is
                # sent; without it the sending task would outlive stop().
                goodbye = await zeroconf.async_unregister_service(info)
                await goodbye
        finally:
            # Also says goodbye for a record whose announcement was cut short.
            await zeroconf.async_close()


def _interfaces_and_addresses(host: str) -> tuple[InterfaceChoice | list[str], list[str]]:
    """The interfaces to announce on and the IPv4 addresses to announce, for a listen address."""
    try:
        address = ipaddress.ip_address(host) if host not in ("", "localhost") else None
    except ValueError:
        # A host name: announce it where it resolves.
        try:
            address = ipaddress.ip_address(socket.gethostbyname(host))
        except OSError:
            address = None
    if host == "localhost" or (address is not None and address.is_loopback):
        return ["127.0.0.1"], ["127.0.0.1"]
    if address is not None and address.version == 4 and not address.is_unspecified:
        return [str(address)], [str(address)]
    lan = lan_addresses()
    return InterfaceChoice.All, lan or ["127.0.0.1"]


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback and link-local, in a stable order."""
    found: set[str] = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if not ip.is_IPv4:
                continue
            parsed = ipaddress.IPv4Address(ip.ip)
            if not (parsed.is_loopback or parsed.is_link_local):
                found.add(str(parsed))
    return sorted(found, key=ipaddress.IPv4Address)


def _instance_label(name: str, where: str) -> str:
    """A DNS-SD instance label ``name (where)``: no dots, at most 63 UTF-8 bytes.

    ``where`` (machine and port) makes it unique without a name probe having
    to notice a clash: two servers on one machine, named alike (both after
    the host, say), would otherwise race for one name, and on one host the
    probe can miss the other's answer (all mDNS sockets share port 5353 and
    a unicast answer reaches only one of them). Clients show the TXT ``name``,
    so the suffix is never in the way.
    """
    suffix = f" ({where})"
    text = " ".join(name.replace(".", " ").split()) or "chat"
    room = _MAX_LABEL - len(suffix.encode("utf-8"))
    # Cut on a character boundary, never in the middle of a UTF-8 sequence.
    cut = text.encode("utf-8")[:room].decode("utf-8", errors="ignore").strip() or "chat"
    return cut + suffix


def _host_label(hostname: str) -> str:
    """A valid DNS host label from the machine name, leaving room for ``-chat-PORT``."""
    label = re.sub(r"[^a-z0-9-]+", "-", hostname.split(".", 1)[0].lower()).strip("-") or "host"
    return label[: _MAX_LABEL - len("-chat-65535")]
