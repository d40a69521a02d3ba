"""TLS with a pinned certificate, for real: the server's certificate and the client's trust.

The server side (``chat_server.tls``) makes a self-signed certificate in a data
folder; a small real aiohttp server serves HTTPS and a WebSocket with it on a
free 127.0.0.1 port; the client side (``chat_desktop.transport.pinning``)
meets it the way the app does: first use asks, a pin is trusted on every
connection, a changed certificate is refused before anything is sent.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import websockets
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chat_desktop.transport.pinning import (
    CertificateCheckError,
    Mismatch,
    NeedsTrust,
    PinnedCertificate,
    PinStore,
    Trusted,
    check_server,
    client_context_for,
    fetch_peer_certificate,
)
from chat_server.tls import (
    TlsSetupError,
    certificate_fingerprint,
    ensure_self_signed,
    fingerprint,
    load_server_context,
    prepare_tls,
)


@dataclass
class TlsServer:
    """A tiny real HTTPS + WebSocket server, and what it was asked."""

    port: int = 0
    requests: list[str] = field(default_factory=list)


@asynccontextmanager
async def serving(context: ssl.SSLContext | None, port: int = 0) -> AsyncIterator[TlsServer]:
    """Serve /health and /ws on 127.0.0.1 (a free port by default; HTTPS with a context)."""
    served = TlsServer()

    async def health(request: web.Request) -> web.Response:
        served.requests.append(request.path)
        return web.json_response({"ok": True})

    async def ws(request: web.Request) -> web.WebSocketResponse:
        served.requests.append(request.path)
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for message in socket:
            await socket.send_str(message.data)
        return socket

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/ws", ws)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=context)
    await site.start()
    served.port = runner.addresses[0][1]
    try:
        yield served
    finally:
        await runner.cleanup()


def server_context(data_dir: Path) -> ssl.SSLContext:
    return load_server_context(*ensure_self_signed(data_dir))


# --- the server's certificate -------------------------------------------------


def test_first_start_makes_a_certificate_and_a_key_only_the_owner_can_read(
    tmp_path: Path,
) -> None:
    cert_path, key_path = ensure_self_signed(tmp_path)
    assert cert_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_the_certificate_is_reused_on_the_next_start(tmp_path: Path) -> None:
    cert_path, key_path = ensure_self_signed(tmp_path)
    first = (cert_path.read_bytes(), key_path.read_bytes())
    assert ensure_self_signed(tmp_path) == (cert_path, key_path)
    assert (cert_path.read_bytes(), key_path.read_bytes()) == first


def test_the_certificate_names_this_machine_and_loopback(tmp_path: Path) -> None:
    cert_path, _ = ensure_self_signed(tmp_path)
    names = (
        x509.load_pem_x509_certificate(cert_path.read_bytes())
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value
    )
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)


def test_the_fingerprint_is_the_sha256_of_the_der_form_in_colon_hex(tmp_path: Path) -> None:
    cert_path, _ = ensure_self_signed(tmp_path)
    pem = cert_path.read_text()
    der = ssl.PEM_cert_to_DER_cert(pem)
    printed = fingerprint(pem)
    assert printed == fingerprint(der) == certificate_fingerprint(cert_path)
    assert printed == PinnedCertificate.from_der(der).fingerprint
    assert len(printed.split(":")) == 32 and printed == printed.upper()


def test_a_missing_key_beside_its_certificate_is_a_clear_error(tmp_path: Path) -> None:
    _, key_path = ensure_self_signed(tmp_path)
    key_path.unlink()
    with pytest.raises(TlsSetupError, match=r"key\.pem is missing"):
        ensure_self_signed(tmp_path)


def test_a_certificate_and_a_key_that_do_not_match_are_refused(tmp_path: Path) -> None:
    cert_path, _ = ensure_self_signed(tmp_path / "one")
    _, other_key = ensure_self_signed(tmp_path / "two")
    with pytest.raises(TlsSetupError, match="do not form a valid pair"):
        load_server_context(cert_path, other_key)


def test_prepare_tls_serves_the_self_signed_certificate_and_gives_its_fingerprint(
    tmp_path: Path,
) -> None:
    context, printed = prepare_tls(tmp_path)
    cert_path, _ = ensure_self_signed(tmp_path)
    assert printed == certificate_fingerprint(cert_path)
    assert isinstance(context, ssl.SSLContext)


def test_prepare_tls_uses_a_given_certificate_instead_of_making_one(tmp_path: Path) -> None:
    _, server_cert, server_key = _authority_and_server_certificate(tmp_path)
    _, printed = prepare_tls(tmp_path / "data", server_cert, server_key)
    assert printed == certificate_fingerprint(server_cert)
    assert not (tmp_path / "data").exists()


def test_prepare_tls_refuses_a_certificate_without_its_key(tmp_path: Path) -> None:
    _, server_cert, _ = _authority_and_server_certificate(tmp_path)
    with pytest.raises(TlsSetupError, match="go together"):
        prepare_tls(tmp_path, server_cert, None)


# --- the client's trust -------------------------------------------------------


async def test_first_meeting_with_a_self_signed_server_asks_to_trust_its_fingerprint(
    tmp_path: Path,
) -> None:
    cert_path, _ = ensure_self_signed(tmp_path / "server")
    store = PinStore(tmp_path / "client" / "pins.json")
    async with serving(server_context(tmp_path / "server")) as server:
        result = await check_server("127.0.0.1", server.port, store)
    assert isinstance(result, NeedsTrust)
    assert result.fingerprint == certificate_fingerprint(cert_path)
    assert store.get("127.0.0.1", server.port) is None


async def test_a_pinned_server_is_trusted_and_https_requests_go_through(tmp_path: Path) -> None:
    store = PinStore(tmp_path / "client" / "pins.json")
    async with serving(server_context(tmp_path / "server")) as server:
        first = await check_server("127.0.0.1", server.port, store)
        assert isinstance(first, NeedsTrust)
        store.pin("127.0.0.1", server.port, first.certificate)
        again = await check_server("127.0.0.1", server.port, store)
        assert isinstance(again, Trusted)
        url = f"https://127.0.0.1:{server.port}/health"
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, ssl=again.context()) as reply,
        ):
            assert await reply.json() == {"ok": True}


async def test_a_pinned_server_accepts_a_secure_websocket(tmp_path: Path) -> None:
    async with serving(server_context(tmp_path / "server")) as server:
        der = await fetch_peer_certificate("127.0.0.1", server.port)
        context = client_context_for(PinnedCertificate.from_der(der))
        url = f"wss://127.0.0.1:{server.port}/ws"
        async with websockets.connect(url, ssl=context) as socket:
            await socket.send("hello")
            assert await socket.recv() == "hello"


def test_the_trust_question_and_the_refusal_name_the_server_and_the_fingerprints(
    tmp_path: Path,
) -> None:
    old, new = _a_pin(tmp_path / "old"), _a_pin(tmp_path / "new")
    question = NeedsTrust(fingerprint=new.fingerprint, certificate=new).question("chat.lan:8765")
    warning = Mismatch(pinned=old.fingerprint, presented=new.fingerprint, certificate=new).warning(
        "chat.lan:8765"
    )
    assert "chat.lan:8765" in question and new.fingerprint in question
    assert "chat.lan:8765" in warning
    assert old.fingerprint in warning and new.fingerprint in warning


async def test_a_server_restarted_with_another_certificate_is_a_mismatch_naming_both(
    tmp_path: Path,
) -> None:
    store = PinStore(tmp_path / "client" / "pins.json")
    async with serving(server_context(tmp_path / "old")) as server:
        first = await check_server("127.0.0.1", server.port, store)
        assert isinstance(first, NeedsTrust)
        store.pin("127.0.0.1", server.port, first.certificate)
        port = server.port
    new_cert, new_key = ensure_self_signed(tmp_path / "new")
    async with serving(load_server_context(new_cert, new_key), port) as server:
        result = await check_server("127.0.0.1", port, store)
    assert isinstance(result, Mismatch)
    assert result.pinned == first.fingerprint
    assert result.presented == result.certificate.fingerprint == certificate_fingerprint(new_cert)


async def test_the_old_pin_refuses_a_changed_certificate_before_any_request_is_sent(
    tmp_path: Path,
) -> None:
    old_pin = PinnedCertificate.from_der(
        ssl.PEM_cert_to_DER_cert(ensure_self_signed(tmp_path / "old")[0].read_text())
    )
    async with serving(server_context(tmp_path / "new")) as server:
        url = f"https://127.0.0.1:{server.port}/health"
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(url, ssl=client_context_for(old_pin))
        with pytest.raises(ssl.SSLCertVerificationError):
            await websockets.connect(
                f"wss://127.0.0.1:{server.port}/ws", ssl=client_context_for(old_pin)
            )
        assert server.requests == []


async def test_a_certificate_from_a_trusted_authority_needs_no_prompt(tmp_path: Path) -> None:
    authority, server_cert, server_key = _authority_and_server_certificate(tmp_path)
    trusted = ssl.create_default_context(cafile=authority)
    store = PinStore(tmp_path / "client" / "pins.json")
    async with serving(load_server_context(server_cert, server_key)) as server:
        result = await check_server("127.0.0.1", server.port, store, authorities=trusted)
    assert isinstance(result, Trusted)
    assert result.pinned is None
    assert result.fingerprint == certificate_fingerprint(server_cert)


async def test_a_certificate_from_an_authority_this_machine_does_not_know_can_be_pinned(
    tmp_path: Path,
) -> None:
    _, server_cert, server_key = _authority_and_server_certificate(tmp_path)
    store = PinStore(tmp_path / "client" / "pins.json")
    async with serving(load_server_context(server_cert, server_key)) as server:
        first = await check_server("127.0.0.1", server.port, store)
        assert isinstance(first, NeedsTrust)
        store.pin("127.0.0.1", server.port, first.certificate)
        again = await check_server("127.0.0.1", server.port, store)
        assert isinstance(again, Trusted)
        url = f"https://127.0.0.1:{server.port}/health"
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, ssl=again.context()) as reply,
        ):
            assert reply.status == 200


async def test_checking_a_plain_http_server_says_it_does_not_speak_tls(tmp_path: Path) -> None:
    store = PinStore(tmp_path / "pins.json")
    async with serving(None) as server:
        with pytest.raises(CertificateCheckError, match="does not speak TLS"):
            await check_server("127.0.0.1", server.port, store)


async def test_checking_a_closed_port_says_the_server_cannot_be_reached(tmp_path: Path) -> None:
    async with serving(None) as server:
        port = server.port
    with pytest.raises(CertificateCheckError, match="Cannot reach"):
        await check_server("127.0.0.1", port, PinStore(tmp_path / "pins.json"))


# --- the pin store ------------------------------------------------------------


def _a_pin(tmp_path: Path) -> PinnedCertificate:
    cert_path, _ = ensure_self_signed(tmp_path / "server")
    return PinnedCertificate.from_der(ssl.PEM_cert_to_DER_cert(cert_path.read_text()))


def test_a_pin_is_kept_per_host_and_port_across_restarts(tmp_path: Path) -> None:
    pin = _a_pin(tmp_path)
    PinStore(tmp_path / "pins.json").pin("Chat.Example", 8765, pin)
    reopened = PinStore(tmp_path / "pins.json")
    assert reopened.get("chat.example", 8765) == pin
    assert reopened.get("chat.example", 8766) is None


def test_forgetting_a_pin_removes_only_that_server(tmp_path: Path) -> None:
    pin = _a_pin(tmp_path)
    store = PinStore(tmp_path / "pins.json")
    store.pin("::1", 1, pin)
    store.pin("127.0.0.1", 1, pin)
    store.forget("[::1]", 1)
    assert (store.get("::1", 1), store.get("127.0.0.1", 1)) == (None, pin)


def test_a_damaged_pin_file_is_set_aside_and_trusts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "pins.json"
    path.write_text("{ not json")
    assert PinStore(path).get("127.0.0.1", 1) is None
    assert (tmp_path / "pins.json.damaged").read_text() == "{ not json"


def test_a_pin_edited_to_another_fingerprint_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "pins.json"
    store = PinStore(path)
    store.pin("127.0.0.1", 1, _a_pin(tmp_path))
    path.write_text(path.read_text().replace('"fingerprint": "', '"fingerprint": "00:'))
    assert store.get("127.0.0.1", 1) is None


def test_the_pin_file_is_replaced_whole_leaving_no_temporary_file(tmp_path: Path) -> None:
    store = PinStore(tmp_path / "client" / "pins.json")
    store.pin("127.0.0.1", 1, _a_pin(tmp_path))
    store.pin("127.0.0.1", 2, _a_pin(tmp_path))
    assert sorted(os.listdir(tmp_path / "client")) == ["pins.json"]


def _authority_and_server_certificate(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A test certificate authority and a server certificate for 127.0.0.1 signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths
