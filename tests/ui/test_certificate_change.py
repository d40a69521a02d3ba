"""A pinned server's certificate changes: the app refuses, says so plainly, and lets the user
review both fingerprints, then trust the new certificate or sign out.

Everything is real: the ChatApp in-process on the qasync loop, the ChatServer
with ``tls=True`` on 127.0.0.1, and a "reinstalled" server made by deleting its
``tls/`` folder so that it makes a new self-signed certificate on the next
start, on the same port. The ``session`` fixture signs alice in over TLS and
pins the certificate before each test, as the sign-in dialog does.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from chat_desktop.app import ChatApp
from chat_desktop.controller.entries import ConnectionKind
from chat_desktop.controller.settings import AppSettings, Session
from chat_desktop.transport.pinning import (
    PIN_FILE,
    NeedsTrust,
    PinStore,
    check_server,
    client_context_for,
    server_address,
)
from chat_desktop.ui.main_window import MainWindow
from chat_server.tls import CERT_FILE, TLS_DIR, certificate_fingerprint
from tests.waiting import eventually

from .conftest import LocalChatServer, register


async def signed_in_over_tls(server: LocalChatServer, app_dir: Path) -> str:
    """Start the server, trust its certificate as the sign-in dialog does, remember a session.

    Returns the fingerprint that is now pinned.
    """
    url = await server.start()
    pins = PinStore(app_dir / PIN_FILE)
    host, port = server_address(url)
    first = await check_server(host, port, pins)
    assert isinstance(first, NeedsTrust)
    pins.pin(host, port, first.certificate)
    token = await register(url, "alice", client_context_for(first.certificate))
    AppSettings(app_dir).remember(Session(url, "alice", token))
    return first.fingerprint


@dataclass
class PinnedSession:
    """A TLS server, and the app folder of alice's remembered session to it (certificate pinned)."""

    server: LocalChatServer
    app_dir: Path
    # The fingerprint alice trusted when she signed in.
    trusted: str

    def pinned_now(self) -> str | None:
        """The fingerprint pinned for the server now, if any."""
        host, port = server_address(self.server.url)
        pinned = PinStore(self.app_dir / PIN_FILE).get(host, port)
        return None if pinned is None else pinned.fingerprint


@pytest.fixture
def session(tmp_path: Path, run: Any) -> Iterator[PinnedSession]:
    server = LocalChatServer(tmp_path / "server", tls=True)
    app_dir = tmp_path / "app"
    trusted = run(signed_in_over_tls(server, app_dir))
    yield PinnedSession(server, app_dir, trusted)
    run(server.stop())


async def reinstall(server: LocalChatServer) -> str:
    """Restart the server on its port with a new certificate; return its fingerprint."""
    await server.stop()
    shutil.rmtree(server.data_dir / TLS_DIR)
    await server.start()
    return certificate_fingerprint(server.data_dir / TLS_DIR / CERT_FILE)


@asynccontextmanager
async def running_app(app_dir: Path, url: str) -> AsyncIterator[ChatApp]:
    app = ChatApp(app_dir, url)
    # A fixed certificate is tried again after 0.05 s instead of 3 s.
    app.certificate_recheck = 0.05
    running = asyncio.ensure_future(app.run())
    try:
        await eventually(lambda: app.window is not None or app.dialog is not None)
        yield app
    finally:
        app.quit()
        assert await running == 0


@asynccontextmanager
async def refused_at_start(
    session: PinnedSession,
) -> AsyncIterator[tuple[ChatApp, MainWindow, str]]:
    """The server gets a new certificate, then the app starts on its remembered session.

    Yields the app, its window showing the certificate bar, and the new
    certificate's fingerprint.
    """
    presented = await reinstall(session.server)
    async with running_app(session.app_dir, session.server.url) as app:
        window = window_of(app)
        await eventually(lambda: window.certificate_bar.isVisible())
        yield app, window, presented


def window_of(app: ChatApp) -> MainWindow:
    assert app.window is not None
    return app.window


def status_of(app: ChatApp) -> ConnectionKind:
    assert app.controller is not None
    return app.controller.status.kind


def texts(app: ChatApp) -> list[str]:
    return [entry.text for entry in window_of(app).messages.entries()]


def test_a_certificate_changed_mid_session_is_refused_reviewed_and_trusted_then_the_chat_goes_on(
    session: PinnedSession, run: Any
) -> None:
    server = session.server

    async def body() -> None:
        async with running_app(session.app_dir, server.url) as app:
            await eventually(lambda: status_of(app) is ConnectionKind.CONNECTED)
            presented = await reinstall(server)
            assert presented != session.trusted
            await server.post("bob", ["said while the certificate was refused"])

            window = window_of(app)
            await eventually(lambda: window.certificate_bar.isVisible())
            assert status_of(app) is ConnectionKind.CERTIFICATE_REFUSED
            assert window.connection.label.text() == (
                "Not connected: the server's certificate changed"
            )
            bar = window.certificate_bar
            assert "shows a different certificate than the one you trusted" in bar.title.text()
            assert bar.title.textFormat() == Qt.TextFormat.PlainText
            # Refused during the handshake: nothing came over the unpinned certificate.
            assert "said while the certificate was refused" not in texts(app)

            bar.review_button.click()
            dialog = window.certificate_dialog
            assert dialog is not None and dialog.isVisible()
            shown = [label.text().replace("\n", "") for label in dialog.fingerprints]
            assert shown == [session.trusted, presented]
            assert all(
                label.textFormat() == Qt.TextFormat.PlainText for label in dialog.fingerprints
            )
            assert dialog.not_now_button.isDefault()

            dialog.trust_button.click()
            await eventually(lambda: status_of(app) is ConnectionKind.CONNECTED)
            assert not window.certificate_bar.isVisible()
            assert window.certificate_dialog is None
            assert session.pinned_now() == presented
            await eventually(lambda: "said while the certificate was refused" in texts(app))
            window.composer.setPlainText("over the new certificate")
            window.composer.submit()
            await eventually(
                lambda: any(
                    entry.text == "over the new certificate" and entry.seq is not None
                    for entry in window.messages.entries()
                )
            )

    run(body())


def test_a_remembered_session_to_a_server_with_a_new_certificate_is_refused_at_start(
    session: PinnedSession, run: Any
) -> None:
    async def body() -> None:
        async with refused_at_start(session) as (app, _window, presented):
            assert status_of(app) is ConnectionKind.CERTIFICATE_REFUSED
            assert app.controller is not None
            problem = app.controller.certificate_problem
            assert problem is not None
            assert (problem.pinned, problem.presented) == (session.trusted, presented)

    run(body())


def test_signing_out_from_the_certificate_bar_shows_the_sign_in_dialog_and_keeps_the_pin(
    session: PinnedSession, run: Any
) -> None:
    async def body() -> None:
        async with refused_at_start(session) as (app, window, _presented):
            window.certificate_bar.sign_out_button.click()
            await eventually(lambda: app.dialog is not None and app.window is None)
            assert AppSettings(session.app_dir).session() is None
            # Signing out trusts nothing new: the next sign-in asks again.
            assert session.pinned_now() == session.trusted

    run(body())


def test_not_now_keeps_refusing_and_reconnect_finds_the_trusted_certificate_back(
    session: PinnedSession, tmp_path: Path, run: Any
) -> None:
    server = session.server
    original = tmp_path / "original-tls"
    shutil.copytree(server.data_dir / TLS_DIR, original)

    async def body() -> None:
        async with refused_at_start(session) as (app, window, _presented):
            window.certificate_bar.review_button.click()
            dialog = window.certificate_dialog
            assert dialog is not None
            dialog.not_now_button.click()
            assert window.certificate_dialog is None and window.certificate_bar.isVisible()
            assert status_of(app) is ConnectionKind.CERTIFICATE_REFUSED

            # The administrator puts the old certificate back; the user reconnects.
            await server.stop()
            shutil.rmtree(server.data_dir / TLS_DIR)
            shutil.copytree(original, server.data_dir / TLS_DIR)
            await server.start()
            window.reconnect_action.trigger()
            await eventually(lambda: status_of(app) is ConnectionKind.CONNECTED)
            assert not window.certificate_bar.isVisible()

    run(body())
