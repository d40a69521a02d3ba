"""A refused certificate: the user is shown both fingerprints and decides; with nothing
to decide the chat tries again by itself; a decision made meanwhile is not undone.

The server is a real TLS listener on 127.0.0.1 with a self-signed certificate
(the one ``chat-server`` makes), so :func:`check_server` does a real
handshake; only the link is a FakeLink.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from pathlib import Path

import pytest

from chat_desktop.controller.certificates import CertificateChecks
from chat_desktop.controller.entries import CertificateProblem
from chat_desktop.transport.pinning import PIN_FILE, PinnedCertificate, PinStore
from chat_server.tls import certificate_fingerprint, ensure_self_signed, load_server_context

from .conftest import Session, opened


@asynccontextmanager
async def tls_listener(tls_dir: Path) -> AsyncIterator[tuple[int, str]]:
    """A TLS server on a free loopback port; yields its port and certificate fingerprint."""
    cert, key = ensure_self_signed(tls_dir)
    context = load_server_context(cert, key)

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()
        with suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1], certificate_fingerprint(cert)
    finally:
        server.close()
        await server.wait_closed()


def pin_of(tls_dir: Path) -> PinnedCertificate:
    """The certificate in ``tls_dir`` (made there first if need be), as the user pins it."""
    cert, _ = ensure_self_signed(tls_dir)
    return PinnedCertificate.from_der(ssl.PEM_cert_to_DER_cert(cert.read_text()))


@asynccontextmanager
async def refused(
    tmp_path: Path, pins: PinStore, port: int
) -> AsyncIterator[tuple[Session, CertificateChecks, list[CertificateProblem | None]]]:
    async with opened(tmp_path / "cache.sqlite3", f"https://127.0.0.1:{port}") as session:
        problems: list[CertificateProblem | None] = []
        # A certificate that checks out again is retried after 0.05 s, not 3 s.
        checks = CertificateChecks(
            session.connection, pins, on_problem=problems.append, recheck=0.05
        )
        session.link.refuse_certificate()
        yield session, checks, problems


@pytest.fixture
def pins(tmp_path: Path) -> PinStore:
    """The certificates the user pinned."""
    return PinStore(tmp_path / PIN_FILE)


async def test_a_changed_certificate_is_shown_with_both_fingerprints_and_trusted_on_request(
    tmp_path: Path, pins: PinStore
) -> None:
    async with tls_listener(tmp_path / "tls") as (port, presented):
        old = pin_of(tmp_path / "old-tls")
        pins.pin("127.0.0.1", port, old)
        async with refused(tmp_path, pins, port) as (session, checks, problems):
            await checks.check()
            problem = CertificateProblem(f"127.0.0.1:{port}", presented, old.fingerprint)
            assert problems == [problem] and checks.problem == problem
            # The refused link was closed; nothing new is tried until the user decides.
            assert session.link.closed and len(session.links) == 1

            checks.accept()
            assert problems == [problem, None] and checks.problem is None
            pinned = pins.get("127.0.0.1", port)
            assert pinned is not None and pinned.fingerprint == presented
            # A new link, trusting exactly the certificate shown.
            assert len(session.links) == 2 and session.link.started
            assert session.link.ssl_context is not None


@pytest.mark.parametrize("meanwhile", ["the pinned certificate is back", "the server is gone"])
async def test_with_nothing_for_the_user_to_decide_a_new_link_is_tried_shortly(
    tmp_path: Path, pins: PinStore, meanwhile: str
) -> None:
    async with AsyncExitStack() as listening:
        port, _ = await listening.enter_async_context(tls_listener(tmp_path / "tls"))
        pins.pin("127.0.0.1", port, pin_of(tmp_path / "tls"))
        if meanwhile == "the server is gone":
            await listening.aclose()
        async with refused(tmp_path, pins, port) as (session, checks, problems):
            await checks.check()
            assert problems == [None] and checks.problem is None
            assert len(session.links) == 2 and session.link.started


async def test_a_chat_closed_before_the_check_ends_starts_nothing_new(
    tmp_path: Path, pins: PinStore
) -> None:
    async with tls_listener(tmp_path / "tls") as (port, _):
        pins.pin("127.0.0.1", port, pin_of(tmp_path / "old-tls"))
        async with refused(tmp_path, pins, port) as (session, checks, problems):
            checking = asyncio.ensure_future(checks.check())
            await session.connection.close()
            await checking
            assert problems == [] and len(session.links) == 1
            checks.accept()
            assert len(session.links) == 1
