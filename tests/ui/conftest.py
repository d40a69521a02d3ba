"""Fixtures for the Qt tests: one qasync loop, a real server on it, signed-in chat windows.

pytest-qt drives Qt's event loop and pytest-asyncio drives its own asyncio
loop; neither knows qasync. The UI needs both on one thread (that is what the
app does), so these tests keep one qasync ``QEventLoop`` over pytest-qt's
``qapp`` for the whole session and run each test's async body on it with
``run(body())`` (``loop.run_until_complete`` under a timeout). Inside, waiting
is ``await eventually(condition)``: the loop keeps turning (Qt events,
sockets, timers) until the condition holds.

The server is the real :class:`~chat_server.app.ChatServer`, in-process on
the same loop, bound to 127.0.0.1 on a free port, with its data in tmp_path.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qasync
from PySide6.QtWidgets import QApplication, QMessageBox

from chat_desktop.app import close_chat
from chat_desktop.controller.chat import ChatController
from chat_desktop.controller.entries import ConnectionKind
from chat_desktop.i18n import install_translations, remove_translations
from chat_desktop.storage import ChatCache
from chat_desktop.transport import Jitter, ReconnectPolicy, ServerLink
from chat_desktop.ui.main_window import MainWindow
from chat_desktop.ui.resources import style_sheet
from chat_desktop.ui.sign_in import SignInDialog
from chat_server.app import ChatServer
from chat_server.config import Registration, ServerConfig
from tests.accounts import PASSWORD as PASSWORD
from tests.accounts import register as register
from tests.waiting import eventually

T = TypeVar("T")

# The offscreen platform lacks a window manager and says so whenever a window
# is shown or raised ("This plugin does not support propagateSizeHints()",
# "... raise()"); it is not our code.
OFFSCREEN_NOISE = "This plugin does not support"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/ui/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture(scope="session")
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """The one qasync loop (Qt's event loop as an asyncio loop) of the session."""
    qapp.setStyleSheet(style_sheet())
    # As in the app: hiding the last window (an accepted dialog) must not
    # make Qt quit its event loop, which would stop the qasync loop mid-test.
    qapp.setQuitOnLastWindowClosed(False)
    loop = HeldQtLoop(qapp)
    yield loop
    loop.close()


class HeldQtLoop(qasync.QEventLoop):
    """The qasync loop, held as asyncio's running loop for the length of a test.

    Under qasync, asyncio's timers are Qt timers: whenever Qt processes events,
    due callbacks run, also outside ``run_until_complete`` (pytest-qt processes
    events before a test's fixtures are torn down, and qasync once more after
    each ``run_until_complete``). A task stepped there while asyncio sees no
    running loop fails at its next ``asyncio.sleep`` (the server's one-second
    revocation check did, now and then, under load). In the app ``exec()``
    never returns, so the loop is always the running one; :func:`run` makes a
    test the same, and lets go at its end so that tests of plain asyncio run
    after it.
    """

    held = False

    def hold(self, held: bool) -> None:
        self.held = held
        asyncio.events._set_running_loop(self if held else None)

    def run_forever(self) -> Any:
        try:
            return super().run_forever()
        finally:
            # qasync's own run_forever lets go of the running loop on its way out.
            if self.held:
                asyncio.events._set_running_loop(self)


Runner = Callable[[Coroutine[Any, Any, T]], T]


@pytest.fixture
def speak(qapp: QApplication) -> Iterator[Callable[[str], None]]:
    """``speak("de")`` installs the app's translations as ``--lang de`` does at start;
    the English sources (no translator, the tests' default) come back after the test."""
    yield install_translations
    remove_translations()


@pytest.fixture
def run(qloop: HeldQtLoop) -> Iterator[Runner[Any]]:
    """Run a coroutine on the qasync loop to completion, failing after 30 s.

    The loop stays asyncio's running loop until the test's fixtures are torn
    down (see :class:`HeldQtLoop`)."""

    def runner(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        # run_until_complete refuses to start while a loop is running: let go
        # for its length (run_forever sets it again inside).
        asyncio.events._set_running_loop(None)
        try:
            return qloop.run_until_complete(asyncio.wait_for(coro, timeout))
        finally:
            asyncio.events._set_running_loop(qloop if qloop.held else None)

    qloop.hold(True)
    yield runner
    qloop.hold(False)


def fast_link(**overrides: Any) -> Callable[..., ServerLink]:
    """ServerLink with reconnect delays short enough for tests."""
    policy = ReconnectPolicy(
        first_retry=0.05, initial=0.05, factor=2.0, cap=0.4, jitter=Jitter.NONE
    )
    options: dict[str, Any] = {"policy": policy, "ws_retry_interval": 0.5, "poll_wait": 1.0}
    options.update(overrides)
    return functools.partial(ServerLink, **options)


@dataclass
class LocalChatServer:
    """The in-process server; restartable on the same port."""

    data_dir: Path
    server: ChatServer | None = None
    port: int = 0
    # Messages replayed per room after hello before a gap (the contract's 1000).
    replay_limit: int = 1000
    # Serve https/wss with a self-signed certificate made in data_dir/tls.
    tls: bool = False
    # How the server takes new accounts (open, invite codes only, closed).
    registration: Registration = Registration.OPEN
    # Users the server makes admins (as the hosting app makes its own user one).
    admins: frozenset[str] = frozenset()

    async def post(self, author: str, texts: list[str], room: str = "general") -> None:
        """Store and broadcast messages as ``author``, like the service's post without
        its per-user rate limit (tests need hundreds at once)."""
        assert self.server is not None
        service = self.server.service
        for text in texts:
            result = await service.store.append(room, author, str(uuid.uuid4()), text)
            service.hub.publish_message(result.message)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def start(self) -> str:
        config = ServerConfig(
            host="127.0.0.1",
            port=self.port,
            data_dir=self.data_dir,
            name="test",
            replay_limit=self.replay_limit,
            tls=self.tls,
            registration=self.registration,
            admins=self.admins,
        )
        self.server = ChatServer(config)
        await self.server.start()
        self.port = self.server.port
        return self.url

    async def stop(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            await server.stop()


@pytest.fixture
def chat_server_here(tmp_path: Path, run: Runner[Any]) -> Iterator[LocalChatServer]:
    """A real ChatServer on the qasync loop, on 127.0.0.1 and a free port."""
    server = LocalChatServer(tmp_path / "server")
    run(server.start())
    yield server
    run(server.stop())


@dataclass
class ChatClient:
    """One signed-in user's window, controller and cache (what ChatApp builds)."""

    username: str
    url: str
    token: str
    cache_file: Path
    link_factory: Callable[..., ServerLink]
    ssl_context: ssl.SSLContext | None = None
    # More keywords for the ChatController (typing_expiry=1.0, say).
    controller_options: dict[str, Any] = field(default_factory=dict)
    # Keywords for the MainWindow (policy=..., autostart=...).
    window_options: dict[str, Any] = field(default_factory=dict)
    window: MainWindow | None = None
    controller: ChatController | None = None
    cache: ChatCache | None = None

    def open(self, *, connect: bool = True) -> ChatClient:
        self.cache = ChatCache.open(self.cache_file)
        self.controller = ChatController(
            self.cache,
            server_url=self.url,
            username=self.username,
            token=self.token,
            link_factory=self.link_factory,
            ssl_context=self.ssl_context,
            **self.controller_options,
        )
        self.window = MainWindow(self.controller, **self.window_options)
        self.window.show()
        if connect:
            self.controller.start()
        return self

    async def close(self) -> None:
        """Close like the app does: link and tasks, then the cache, then the window."""
        window, controller, cache = self.window, self.controller, self.cache
        self.window = self.controller = self.cache = None
        await close_chat(window, controller, cache)
        # Let deleteLater happen while the loop still runs.
        await asyncio.sleep(0)

    # Shortcuts for the tests -------------------------------------------------

    @property
    def w(self) -> MainWindow:
        assert self.window is not None
        return self.window

    @property
    def c(self) -> ChatController:
        assert self.controller is not None
        return self.controller

    def texts(self) -> list[str]:
        return [entry.text for entry in self.w.messages.entries()]

    def type_and_send(self, text: str) -> None:
        self.w.composer.setPlainText(text)
        self.w.composer.submit()


def connected(*clients: ChatClient) -> bool:
    """Every one of ``clients`` shows "Connected" (its link is up and its hello answered)."""
    return all(client.c.status.kind is ConnectionKind.CONNECTED for client in clients)


ClientFactory = Callable[..., Awaitable[ChatClient]]


async def alice_and_bob(
    server: LocalChatServer, make_client: ClientFactory, **options: Any
) -> tuple[ChatClient, ChatClient]:
    """Two signed-in windows on ``server``, alice's and bob's, both connected
    (``options`` go to make_client for both)."""
    alice = await make_client(server.url, "alice", **options)
    bob = await make_client(server.url, "bob", **options)
    await eventually(lambda: connected(alice, bob))
    return alice, bob


@pytest.fixture
def make_client(tmp_path: Path, run: Runner[Any]) -> Iterator[Callable[..., Awaitable[ChatClient]]]:
    """``await make_client(url, "alice")``: register, open a window, connect."""
    clients: list[ChatClient] = []

    async def factory(
        url: str,
        username: str,
        *,
        token: str | None = None,
        link_factory: Callable[..., ServerLink] | None = None,
        connect: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        window_options: dict[str, Any] | None = None,
        **controller_options: Any,
    ) -> ChatClient:
        if token is None:
            token = await register(url, username, ssl_context)
        client = ChatClient(
            username,
            url,
            token,
            tmp_path / f"cache-{username}.sqlite3",
            link_factory or fast_link(),
            ssl_context,
            controller_options,
            window_options or {},
        )
        clients.append(client)
        return client.open(connect=connect)

    yield factory

    async def close_all() -> None:
        for client in clients:
            await client.close()

    run(close_all())


async def create_account_until_asked_to_trust(dialog: SignInDialog) -> QMessageBox:
    """Create alice's account in the sign-in dialog of a TLS server: the certificate question."""
    dialog.username.setText("alice")
    dialog.password.setText(PASSWORD)
    dialog.create_button.click()
    await eventually(lambda: dialog.trust_box is not None and dialog.trust_box.isVisible())
    assert dialog.trust_box is not None
    return dialog.trust_box


def accept_trust(box: QMessageBox) -> None:
    """Press the certificate question's "Trust this server"."""
    next(b for b in box.buttons() if box.buttonRole(b) == box.ButtonRole.AcceptRole).click()
