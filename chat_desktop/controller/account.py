"""SignInController: sign in, create an account, or host the chat here; then remember it.

The sign-in dialog calls one of three methods and listens to three signals;
the work (HTTP requests, starting the bundled server) runs as asyncio tasks
on the qasync loop, so the dialog stays responsive and shows errors as the
plain sentences that :class:`~chat_desktop.transport.http_api.ApiError` carries.

While the dialog is open, the controller also browses the LAN for servers
that announce themselves (mDNS, :mod:`chat_desktop.transport.discovery`) and
lists them with ``serversFound``.

An ``https://`` server is checked first (:mod:`chat_desktop.transport.pinning`):
a certificate signed by an authority is simply used; a self-signed one (what a
LAN server has) is shown to the user with its fingerprint (``trustNeeded``),
pinned when the user trusts it, and the attempt then runs again.

Once an address is typed or chosen, :meth:`SignInController.check_registration`
asks the server (``GET /api/v1/health``) whether it takes new accounts freely,
with an invite code, or not at all (``registrationChanged``); the dialog then
shows the invite code field or says why "Create account" is off.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from PySide6.QtCore import QCoreApplication, QObject, Signal

from chat_desktop.transport.discovery import DiscoveryError, ServerBrowser
from chat_desktop.transport.http_api import AccountClient, ApiError, Credentials
from chat_desktop.transport.pinning import (
    CertificateCheckError,
    Mismatch,
    NeedsTrust,
    PinnedCertificate,
    PinStore,
    check_server,
    client_context_for,
    pin_key,
    server_address,
)
from chat_desktop.transport.urls import normalize_base_url
from chat_protocol import ErrorCode, rules

from .entries import FoundServer
from .hosting import LocalServer
from .settings import AppSettings, Session
from .tasks import TaskGroup
from .wording import request_failed, say

log = logging.getLogger(__name__)


class _TrustQuestion(Exception):
    """An https server whose certificate the user has to judge before we go on."""

    def __init__(self, text: str, host: str, port: int, certificate: PinnedCertificate) -> None:
        super().__init__(text)
        self.text = text
        self.host = host
        self.port = port
        self.certificate = certificate


def tls_context(pins: PinStore, base_url: str) -> ssl.SSLContext | None:
    """The SSL context for a session's server: None for http, the pin (or the
    system's authorities) for https."""
    if not base_url.startswith("https://"):
        return None
    host, port = server_address(base_url)
    return client_context_for(pins.get(host, port))


class SignInController(QObject):
    """Turns what the user typed into a :class:`Session`, or into an error sentence.

    Signals:
        busyChanged(bool): a request is running (the dialog disables its buttons).
        failed(str): the attempt failed; the sentence is plain text for the user.
        signedIn(object): the :class:`Session`, already remembered in the settings.
        trustNeeded(str): an https server shows a certificate nobody vouches for
            (or another than the trusted one): the plain-text question with its
            fingerprint; answer with :meth:`trust`.
        serversFound(list): the FoundServer values on the LAN right now.
        registrationChanged(str): how the server at the address typed takes new
            accounts: "open", "invite" (an invite code is needed), "closed",
            or "" when unknown (no answer yet, not a server, a bad address).
    """

    busyChanged = Signal(bool)
    failed = Signal(str)
    signedIn = Signal(object)
    trustNeeded = Signal(str)
    serversFound = Signal(list)
    registrationChanged = Signal(str)

    def __init__(
        self,
        settings: AppSettings,
        local_server: LocalServer,
        pins: PinStore,
        *,
        discovery_interfaces: list[str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        # Certificates the user trusted, per host:port (shared with the chat).
        self._pins = pins
        # The open certificate question and the attempt to run again on "trust".
        self._question: _TrustQuestion | None = None
        self._retry: Callable[[], Awaitable[Session]] | None = None
        # The in-process server, started by host(); owned (and stopped) by the app.
        self._local_server = local_server
        self._tasks = TaskGroup()
        self._busy = False
        # The address whose registration mode was asked last: older answers are dropped.
        self._asked_address = ""
        # Browses the LAN while the dialog is open (all interfaces; tests: loopback).
        self._browser = ServerBrowser(
            self._found_changed, self._found_changed, interfaces=discovery_interfaces
        )

    @property
    def busy(self) -> bool:
        return self._busy

    def sign_in(self, address: str, username: str, password: str) -> None:
        self._start(lambda: self._remote(address, username, password, create=False))

    def create_account(self, address: str, username: str, password: str, invite: str = "") -> None:
        self._start(lambda: self._remote(address, username, password, create=True, invite=invite))

    def check_registration(self, address: str) -> None:
        """Ask the server at ``address`` how it takes new accounts (registrationChanged)."""
        self._asked_address = address
        self.registrationChanged.emit("")
        if address.strip():
            self._tasks.spawn(self._registration(address))

    async def _registration(self, address: str) -> None:
        try:
            base_url = normalize_base_url(address)
            client = AccountClient(
                base_url, ssl_context=tls_context(self._pins, base_url), timeout=5.0
            )
            try:
                mode = await client.registration()
            finally:
                await client.close()
        except (ApiError, ValueError, OSError, ssl.SSLError):
            # Not (yet) a server that answers: sign-up stays offered, and an
            # attempt says what is wrong.
            mode = ""
        if address == self._asked_address:
            self.registrationChanged.emit(mode)

    def host(self, username: str, password: str) -> None:
        """Start the bundled server here and sign in to it, creating the account if new."""
        self._start(lambda: self._hosted(username, password))

    def trust(self, accepted: bool) -> None:
        """The user's answer to ``trustNeeded``: pin the certificate and try again, or stop."""
        question, retry = self._question, self._retry
        self._question = self._retry = None
        if question is None or retry is None:
            return
        if not accepted:
            self.failed.emit(self.tr("Not connected: the server's certificate was not trusted."))
            return
        self._pins.pin(question.host, question.port, question.certificate)
        self._start(retry)

    def browse(self) -> None:
        """Start listing the servers on the LAN (serversFound); quietly nothing without mDNS."""
        self._tasks.spawn(self._browse())

    async def _browse(self) -> None:
        try:
            await self._browser.start()
        except DiscoveryError as exc:
            # Typing an address still works; nothing to bother the user with.
            log.info("%s", exc)

    def _found_changed(self, _server: object) -> None:
        self.serversFound.emit(
            [
                FoundServer(server.name, server.url, server.tls, server.fingerprint)
                for server in self._browser.servers
            ]
        )

    async def close(self) -> None:
        """Cancel what is running and stop browsing (the dialog was closed)."""
        await self._tasks.close()
        await self._browser.stop()

    # -------------------------------------------------------------- attempts

    def _start(self, attempt: Callable[[], Awaitable[Session]]) -> None:
        if self._busy:
            # One attempt at a time; the dialog disables its buttons anyway.
            return
        self._set_busy(True)
        self._retry = attempt
        self._tasks.spawn(self._run(attempt()))

    async def _run(self, attempt: Awaitable[Session]) -> None:
        try:
            session = await attempt
        except _TrustQuestion as question:
            self._set_busy(False)
            self._question = question
            self.trustNeeded.emit(question.text)
            return
        except ApiError as exc:
            self._set_busy(False)
            if exc.code == ErrorCode.UNAUTHORIZED:
                # Signing in, "unauthorized" means the name or the password.
                self.failed.emit(self.tr("Wrong username or password."))
            else:
                self.failed.emit(request_failed(exc))
            return
        except (
            ValueError,
            OSError,
            rules.ValidationError,
            CertificateCheckError,
        ) as exc:
            self._set_busy(False)
            self.failed.emit(say(_sentence(str(exc))))
            return
        self._settings.remember(session)
        self._set_busy(False)
        self.signedIn.emit(session)

    async def _remote(
        self, address: str, username: str, password: str, *, create: bool, invite: str = ""
    ) -> Session:
        base_url = normalize_base_url(address)
        _check(username, password)
        context = await self._checked_tls(base_url)

        async def call(client: AccountClient) -> Credentials:
            if not create:
                return await client.login(username, password)
            try:
                return await client.register(username, password, invite)
            except ApiError as exc:
                if exc.code == ErrorCode.INVITE_REQUIRED:
                    # The server went to invite mode since the dialog asked: show the field.
                    self._asked_address = address
                    self.registrationChanged.emit("invite")
                raise

        credentials = await _with_client(base_url, call, context)
        return Session(base_url, credentials.username, credentials.token, hosted=False)

    async def _hosted(self, username: str, password: str) -> Session:
        _check(username, password)
        previous_url, _, was_hosted = self._settings.last_server()
        preferred = _port_of(previous_url) if was_hosted else None
        try:
            base_url = await self._local_server.start(preferred, admin=username)
        except OSError as exc:
            raise OSError(
                self.tr("Cannot start the chat server on this computer: {reason}").format(
                    reason=exc
                )
            ) from None

        async def register_or_login(client: AccountClient) -> Credentials:
            try:
                return await client.register(username, password)
            except ApiError as exc:
                if exc.status != 409:
                    raise
            # The account exists already (an earlier run): sign in to it.
            return await client.login(username, password)

        credentials = await _with_client(base_url, register_or_login)
        return Session(base_url, credentials.username, credentials.token, hosted=True)

    async def _checked_tls(self, base_url: str) -> ssl.SSLContext | None:
        """None for http; for https the context to use, or a question for the user."""
        if not base_url.startswith("https://"):
            return None
        host, port = server_address(base_url)
        result = await check_server(host, port, self._pins)
        where = pin_key(host, port)
        if isinstance(result, NeedsTrust):
            question = self.tr(
                "The server at {where} uses a certificate that no authority vouches for, "
                "as servers on a LAN usually do. Trust it only if its SHA-256 fingerprint "
                "is the one your administrator gave you:\n\n{fingerprint}\n\n"
                "Once trusted, this computer connects to this server only while it shows "
                "this same certificate."
            ).format(where=where, fingerprint=result.fingerprint)
            raise _TrustQuestion(question, host, port, result.certificate)
        if isinstance(result, Mismatch):
            warning = self.tr(
                "The server at {where} shows a different certificate than the one you "
                "trusted, so the connection was refused. This happens when the server was "
                "reinstalled or its certificate renewed, and also when someone intercepts "
                "the connection. Accept the new certificate only if your administrator "
                "confirms its fingerprint.\n\nTrusted:   {pinned}\nPresented: {presented}"
            ).format(where=where, pinned=result.pinned, presented=result.presented)
            raise _TrustQuestion(warning, host, port, result.certificate)
        return result.context()

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)


async def _with_client(
    base_url: str,
    call: Callable[[AccountClient], Awaitable[Credentials]],
    context: ssl.SSLContext | None = None,
) -> Credentials:
    client = AccountClient(base_url, ssl_context=context)
    try:
        return await call(client)
    finally:
        await client.close()


def _check(username: str, password: str) -> None:
    """Validate with the protocol's own rules before bothering the server."""
    rules.validate_username(username)
    if not password:
        raise ValueError(QCoreApplication.translate("SignInController", "Enter your password."))


def _port_of(url: str) -> int | None:
    try:
        return urlsplit(url).port
    except ValueError:
        return None


def _sentence(text: str) -> str:
    text = text.strip() or QCoreApplication.translate("errors", "Something went wrong.")
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
