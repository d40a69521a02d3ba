"""Trust on first use for the server's TLS certificate, as SSH and Syncthing do it.

A LAN server usually has a self-signed certificate (``chat-server --tls`` makes
one). No authority vouches for it, so the first time the client meets it, the
user is shown its SHA-256 fingerprint and asked to trust it; the certificate is
then *pinned* for that server (``host:port``) in a small JSON file in the
client's data folder. From then on only that exact certificate is accepted; if
the server ever presents another, the client refuses to connect and says so,
and the user may review the new fingerprint and accept it.

The flow, for the controller:

1. ``await check_server(host, port, store)`` returns one of
   - :class:`Trusted`: the certificate chains to an authority the system
     trusts, or it is the pinned one; connect with ``result.context()``;
   - :class:`NeedsTrust`: first meeting; ask ``result.question(where)`` (it
     shows the fingerprint), and on consent ``store.pin(host, port, result.certificate)``;
   - :class:`Mismatch`: the pinned certificate was replaced; refuse with
     ``result.warning(where)`` (both fingerprints), and only on explicit
     consent pin the new one the same way.
2. Give :func:`client_context_for` (the pinned certificate, or ``None`` for an
   authority-signed one) to aiohttp (``ssl=``) and websockets (``ssl=``).

How the pin is enforced (why this design): the pinned certificate becomes the
*only* trust anchor of the SSL context, with the hostname check off. OpenSSL
then verifies every handshake of every connection (WebSocket, polling, each
reconnect) against it, and the handshake fails before a single byte of
application data (a password, a token) is sent if the server presents any
other certificate. The alternative, connecting with verification off and
comparing the fingerprint afterwards, needs a hook between the handshake and
the first write that neither aiohttp nor websockets offers, and one forgotten
check would send a token to an impostor. The hostname check is off because the
pin names one exact certificate: the address the user typed (a LAN address
that DHCP may change) adds nothing to that. The certificate made by
``chat-server`` is a leaf (CA:FALSE), so trusting it cannot make any *other*
certificate valid.

Only the standard library is used here (``ssl``; the fingerprint's format is
:func:`chat_protocol.lan.fingerprint`, the one ``chat-server`` prints): the
client does not need a certificate parser to pin.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import logging
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from chat_protocol import lan

log = logging.getLogger(__name__)

PIN_FILE = "pinned-certificates.json"
_FORMAT_VERSION = 1
# Seconds for connecting and the TLS handshake of a check; a LAN server answers
# in milliseconds, so this only bounds the wait for one that is gone.
HANDSHAKE_TIMEOUT = 10.0


class CertificateCheckError(Exception):
    """The server's certificate could not be checked; ``str()`` is a sentence for the user."""


@dataclass(frozen=True)
class PinnedCertificate:
    """A server certificate the user trusted: its fingerprint and the certificate itself.

    The certificate (PEM) is kept, not only the fingerprint, because it becomes
    the trust anchor that OpenSSL checks every handshake against.
    """

    fingerprint: str
    pem: str

    @classmethod
    def from_der(cls, der: bytes) -> PinnedCertificate:
        return cls(fingerprint=lan.fingerprint(der), pem=ssl.DER_cert_to_PEM_cert(der))


@dataclass(frozen=True)
class Trusted:
    """Connect. ``pinned`` is ``None`` when an authority the system trusts signed it."""

    fingerprint: str
    pinned: PinnedCertificate | None = None

    def context(self) -> ssl.SSLContext:
        return client_context_for(self.pinned)


@dataclass(frozen=True)
class NeedsTrust:
    """First meeting with a self-signed certificate: ask the user, pin ``certificate`` on yes."""

    fingerprint: str
    certificate: PinnedCertificate

    def question(self, where: str) -> str:
        """The trust prompt's text (plain text; show the fingerprint in a fixed-width font)."""
        return (
            f"The server at {where} uses a certificate that no authority vouches for, "
            "as servers on a LAN usually do. Trust it only if its SHA-256 fingerprint "
            "is the one your administrator gave you:\n\n"
            f"{self.fingerprint}\n\n"
            "Once trusted, this computer connects to this server only while it shows "
            "this same certificate."
        )


@dataclass(frozen=True)
class Mismatch:
    """The server presents another certificate than the pinned one: refuse unless the user
    reviews ``presented`` and accepts ``certificate`` explicitly."""

    pinned: str
    presented: str
    certificate: PinnedCertificate

    def warning(self, where: str) -> str:
        """The refusal's text, with both fingerprints for the review (plain text)."""
        return (
            f"The server at {where} shows a different certificate than the one you "
            "trusted, so the connection was refused. This happens when the server was "
            "reinstalled or its certificate renewed, and also when someone intercepts "
            "the connection. Accept the new certificate only if your administrator "
            "confirms its fingerprint.\n\n"
            f"Trusted:   {self.pinned}\n"
            f"Presented: {self.presented}"
        )


TrustResult = Trusted | NeedsTrust | Mismatch


def server_address(url: str) -> tuple[str, int]:
    """``(host, port)`` of an ``https://``/``wss://`` URL (port 443 when none is given)."""
    parts = urlsplit(url)
    if parts.hostname is None:
        raise ValueError(f"{url!r} has no host")
    return parts.hostname, parts.port or 443


def pin_key(host: str, port: int) -> str:
    """The pin store's key: ``host:port``, IPv6 in brackets, names in lower case."""
    host = host.strip("[]").lower()
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    return f"{host}:{port}"


class PinStore:
    """The pinned certificates, one per ``host:port``, in a JSON file written atomically.

    Reads the file on every call (it is tiny and rarely read), so two windows
    or a user editing the file never see a stale copy.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def get(self, host: str, port: int) -> PinnedCertificate | None:
        return self._load().get(pin_key(host, port))

    def pin(self, host: str, port: int, certificate: PinnedCertificate) -> None:
        pins = self._load()
        pins[pin_key(host, port)] = certificate
        self._save(pins)

    def forget(self, host: str, port: int) -> None:
        pins = self._load()
        if pins.pop(pin_key(host, port), None) is not None:
            self._save(pins)

    def _load(self) -> dict[str, PinnedCertificate]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            # Keep the damaged file for a person to look at, and start empty:
            # the user is asked again, which is safe (nothing is trusted blindly).
            aside = self.path.with_name(f"{self.path.name}.damaged")
            log.warning("The pin file %s is damaged (%s); moved to %s.", self.path, error, aside)
            with contextlib.suppress(OSError):
                os.replace(self.path, aside)
            return {}
        pins: dict[str, PinnedCertificate] = {}
        entries = raw.get("pins", {}) if isinstance(raw, dict) else {}
        for key, entry in entries.items() if isinstance(entries, dict) else ():
            pinned = _entry_to_pin(entry)
            if pinned is None:
                log.warning("Ignoring a damaged pin for %s in %s.", key, self.path)
                continue
            pins[str(key)] = pinned
        return pins

    def _save(self, pins: dict[str, PinnedCertificate]) -> None:
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        document = {
            "version": _FORMAT_VERSION,
            "pins": {
                key: {"fingerprint": pin.fingerprint, "certificate": pin.pem, "saved": now}
                for key, pin in sorted(pins.items())
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(document, file, indent=2)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _entry_to_pin(entry: object) -> PinnedCertificate | None:
    """A stored entry back to a pin, or ``None`` when it is damaged or was edited wrongly."""
    if not isinstance(entry, dict):
        return None
    pem = entry.get("certificate")
    if not isinstance(pem, str):
        return None
    try:
        der = ssl.PEM_cert_to_DER_cert(pem)
    except ValueError:
        return None
    pinned = PinnedCertificate.from_der(der)
    # The stored fingerprint is for people reading the file; the certificate
    # is the truth, and the two must agree.
    return pinned if entry.get("fingerprint") == pinned.fingerprint else None


def client_context_for(pinned: PinnedCertificate | None) -> ssl.SSLContext:
    """The SSL context for every connection to one server (see the module docstring).

    ``None``: the system's authorities, with the hostname checked, as a browser
    does. A pin: that certificate as the only trust anchor, hostname not checked.
    """
    if pinned is None:
        return ssl.create_default_context()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=pinned.pem)
    # PARTIAL_CHAIN: the pinned certificate is the anchor even when it is not
    # self-signed (a company CA's certificate that this machine does not
    # trust, pinned like a self-signed one); OpenSSL would otherwise insist
    # on reaching a root and refuse it.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


def _unverified_context() -> ssl.SSLContext:
    """Only for reading the certificate to show it; never for sending anything."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def fetch_peer_certificate(host: str, port: int) -> bytes:
    """The DER certificate ``host:port`` presents, read with verification off.

    Sends nothing but the TLS handshake: the caller decides about trust.
    """
    der = await _handshake(host, port, _unverified_context())
    if der is None:
        raise CertificateCheckError(f"The server at {pin_key(host, port)} sent no certificate.")
    return der


async def check_server(
    host: str,
    port: int,
    store: PinStore,
    *,
    authorities: ssl.SSLContext | None = None,
) -> TrustResult:
    """Decide whether the TLS server at ``host:port`` can be trusted, and how.

    A certificate the authorities accept (with the host name checked) is
    :class:`Trusted` at once. Any other one (self-signed, an authority this
    machine does not know, another name, expired) goes the trust-on-first-use
    way: compared with the pin, or shown to the user. ``authorities`` is the
    context that decides the first case (default: the system's); tests pass
    their own.
    """
    verified = authorities if authorities is not None else ssl.create_default_context()
    try:
        der = await _handshake(host, port, verified)
    except ssl.SSLCertVerificationError:
        der = None
    else:
        if der is not None:
            return Trusted(fingerprint=lan.fingerprint(der))
    presented = PinnedCertificate.from_der(await fetch_peer_certificate(host, port))
    pinned = store.get(host, port)
    if pinned is None:
        return NeedsTrust(fingerprint=presented.fingerprint, certificate=presented)
    if pinned.fingerprint == presented.fingerprint:
        return Trusted(fingerprint=presented.fingerprint, pinned=pinned)
    return Mismatch(
        pinned=pinned.fingerprint, presented=presented.fingerprint, certificate=presented
    )


async def _handshake(host: str, port: int, context: ssl.SSLContext) -> bytes | None:
    """Open a TLS connection, return the peer's DER certificate, close."""
    where = pin_key(host, port)
    try:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            _reader, writer = await asyncio.open_connection(
                host,
                port,
                ssl=context,
                server_hostname=host,
                ssl_handshake_timeout=HANDSHAKE_TIMEOUT,
            )
    except ssl.SSLCertVerificationError:
        raise
    except ssl.SSLError as error:
        raise CertificateCheckError(
            f"The server at {where} does not speak TLS as expected ({error.reason or error}); "
            "check that it runs with --tls, or use an http:// address."
        ) from error
    except TimeoutError as error:
        raise CertificateCheckError(f"The server at {where} did not answer in time.") from error
    except OSError as error:
        raise CertificateCheckError(
            f"Cannot reach the server at {where}: {error.strerror or error}."
        ) from error
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der: bytes | None = (
            ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        )
    finally:
        writer.close()
        # A peer that drops the connection without a TLS close is no reason to fail.
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            async with asyncio.timeout(HANDSHAKE_TIMEOUT):
                await writer.wait_closed()
    return der
