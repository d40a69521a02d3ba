"""ChatApp in-process: the remembered session, a burst in one batch, sign-out, the options."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex

from chat_desktop import __version__
from chat_desktop.app import ChatApp, parse_args
from chat_desktop.controller.chat import ChatController
from chat_desktop.controller.entries import ConnectionKind
from chat_desktop.controller.hosting import LocalServer
from chat_desktop.controller.settings import AppSettings, Session
from chat_desktop.storage import ChatCache
from chat_desktop.transport import AccountClient, LinkKind, LinkState
from chat_desktop.ui.main_window import MainWindow
from chat_protocol import Message, RoomInfo, ServerEvent, Welcome
from chat_protocol.events import ServerInfo
from tests.waiting import eventually

from .conftest import LocalChatServer, register


def test_a_remembered_session_opens_the_chat_and_sign_out_forgets_the_token(
    chat_server_here: LocalChatServer, tmp_path: Path, run: Any
) -> None:
    async def body() -> None:
        token = await register(chat_server_here.url, "alice")
        settings = AppSettings(tmp_path / "app")
        settings.remember(Session(chat_server_here.url, "alice", token))
        app = ChatApp(tmp_path / "app", chat_server_here.url)
        running = asyncio.ensure_future(app.run())
        await eventually(lambda: app.controller is not None)
        assert app.dialog is None and app.window is not None
        await eventually(
            lambda: (
                app.controller is not None
                and app.controller.status.kind is ConnectionKind.CONNECTED
            )
        )
        await app.sign_out()
        assert settings.session() is None
        assert app.window is None and app.dialog is not None
        assert app.dialog.username.text() == "alice"
        app.quit()
        assert await running == 0
        assert app.dialog is None

    run(body())


class BurstLink:
    """A link that delivers a whole replay within one event-loop turn.

    A real server cannot be made to put a thousand messages into one turn of
    the client's loop on demand; this stand-in does, to show they become one
    batch. Everything else goes through the real controller and window.
    """

    def __init__(self, base_url: str, token: str, **callbacks: Any) -> None:
        self.on_event = callbacks["on_event"]
        self.on_state = callbacks["on_state"]

    def start(self) -> None:
        self.on_state(LinkState(LinkKind.CONNECTED))
        rooms = [RoomInfo("general", 1000)]
        events: list[ServerEvent] = [
            Welcome(1, "alice", rooms, ["alice", "bob"], ServerInfo("test", "1")),
            *(
                Message("general", seq, f"c{seq}", "bob", f"m{seq}", "2026-11-27T10:00:00.000Z")
                for seq in range(1, 1001)
            ),
        ]
        for event in events:
            self.on_event(event)

    async def send(self, event: object) -> bool:
        return True

    def reconnect_now(self) -> None:
        return None

    async def close(self) -> None:
        return None


def test_a_burst_of_a_thousand_messages_is_one_model_insert(tmp_path: Path, run: Any) -> None:
    cache = ChatCache.open(tmp_path / "cache.sqlite3")
    controller = ChatController(
        cache, server_url="http://127.0.0.1:9", username="alice", token="t", link_factory=BurstLink
    )
    window = MainWindow(controller)
    inserts: list[tuple[int, int]] = []

    def record(parent: QModelIndex, first: int, last: int) -> None:
        inserts.append((first, last))

    window.messages.rowsInserted.connect(record)

    async def body() -> None:
        controller.start()
        # Not rowCount() == 1000: pinned to the bottom, the view keeps fewer rows.
        await eventually(lambda: bool(inserts))
        await controller.close()

    try:
        run(body())
        assert inserts == [(0, 999)]
        assert cache.positions() == {"general": 1000}
    finally:
        cache.close()
        window.deleteLater()


def test_version_and_help_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"chat-desktop {__version__}"
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    help_text = capsys.readouterr().out
    assert "--server URL" in help_text and "--data-dir DIR" in help_text
    options = parse_args(["--server", "http://x:1", "--data-dir", "d"])
    assert options.server == "http://x:1" and options.data_dir == Path("d")


def test_sign_out_in_the_menu_asks_first(tmp_path: Path, run: Any) -> None:
    cache = ChatCache.open(tmp_path / "cache.sqlite3")
    controller = ChatController(cache, server_url="http://127.0.0.1:9", username="a", token="t")
    window = MainWindow(controller)
    asked: list[bool] = []
    window.signOutRequested.connect(lambda: asked.append(True))

    async def body() -> None:
        window.sign_out_action.trigger()
        box = window.sign_out_box
        assert box is not None
        await eventually(box.isVisible)
        box.button(box.StandardButton.No).click()
        assert asked == []
        window.sign_out_action.trigger()
        box = window.sign_out_box
        assert box is not None
        await eventually(box.isVisible)
        box.button(box.StandardButton.Yes).click()
        assert asked == [True]
        await controller.close()

    try:
        run(body())
    finally:
        cache.close()
        window.deleteLater()


def test_first_start_hosts_a_chat_and_the_next_start_goes_straight_to_it(
    tmp_path: Path, run: Any
) -> None:
    data_dir = tmp_path / "app"

    def app_on_loopback() -> ChatApp:
        app = ChatApp(data_dir)
        # The app hosts on 0.0.0.0:8765; tests stay on loopback and a free port.
        app.local_server = LocalServer(
            data_dir / "server", host="127.0.0.1", port=0, advertise=False
        )
        app.discovery_interfaces = ["127.0.0.1"]
        return app

    async def first_start() -> str:
        app = app_on_loopback()
        running = asyncio.ensure_future(app.run())
        await eventually(lambda: app.dialog is not None and app.dialog.isVisible())
        assert app.dialog is not None
        app.dialog.username.setText("alice")
        app.dialog.password.setText("correct horse battery")
        app.dialog.host_button.click()
        await eventually(
            lambda: (
                app.controller is not None
                and app.controller.status.kind is ConnectionKind.CONNECTED
            )
        )
        assert app.window is not None
        # The app that hosts a chat makes its user an admin (the welcome says so).
        await eventually(lambda: app.controller is not None and app.controller.is_admin)
        # The host is told the address colleagues connect to.
        assert "colleagues connect to http://" in app.window.identity.text()
        app.window.composer.setPlainText("hello from the host")
        app.window.composer.submit()
        await eventually(lambda: app.window is not None and app.window.messages.entries()[0].seq)
        url = app.local_server.base_url
        app.quit()
        assert await running == 0
        assert not app.local_server.running
        return url

    async def second_start(url: str) -> None:
        app = app_on_loopback()
        running = asyncio.ensure_future(app.run())
        # Straight to the chat: the window, from the cache, before any network.
        await eventually(lambda: app.window is not None)
        assert app.dialog is None
        assert app.window is not None
        assert [e.text for e in app.window.messages.entries()] == ["hello from the host"]
        await eventually(
            lambda: (
                app.controller is not None
                and app.controller.status.kind is ConnectionKind.CONNECTED
            )
        )
        assert app.local_server.base_url == url
        app.quit()
        assert await running == 0

    first_url = run(first_start())
    assert AppSettings(data_dir).session() is not None
    assert AppSettings(data_dir).window_geometry()
    run(second_start(first_url))


def test_a_token_the_server_refuses_leads_back_to_the_sign_in_dialog(
    chat_server_here: LocalChatServer, tmp_path: Path, run: Any
) -> None:
    async def body() -> None:
        token = await register(chat_server_here.url, "alice")
        client = AccountClient(chat_server_here.url)
        await client.logout(token)
        await client.close()
        AppSettings(tmp_path / "app").remember(Session(chat_server_here.url, "alice", token))
        app = ChatApp(tmp_path / "app", chat_server_here.url)
        running = asyncio.ensure_future(app.run())
        await eventually(lambda: app.dialog is not None and app.dialog.error.isVisible())
        assert app.dialog is not None
        assert "signed out" in app.dialog.error.text()
        assert app.window is None
        assert AppSettings(tmp_path / "app").session() is None
        app.quit()
        assert await running == 0

    run(body())
