"""Quitting the app that hosts a chat: it asks first while colleagues are connected.

The hosting app runs the server on its own loop, so quitting it cuts everyone
off. A real hosted chat (the app's LocalServer on loopback), a colleague on a
real WebSocket, and the real window: Quit asks, names the colleague, and
either keeps everything running (Cancel) or quits; alone, Quit just quits.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMainWindow
from websockets.asyncio.client import connect

from chat_desktop.app import ChatApp
from chat_desktop.controller.entries import ConnectionKind
from chat_desktop.controller.hosting import LocalServer
from chat_desktop.ui.quit_prompt import HostingQuitPrompt
from tests.accounts import PASSWORD, register
from tests.waiting import eventually


async def _hosting_app(data_dir: Path) -> tuple[ChatApp, asyncio.Future[int]]:
    app = ChatApp(data_dir)
    # The app hosts on 0.0.0.0:8765; tests stay on loopback and a free port.
    app.local_server = LocalServer(data_dir / "server", host="127.0.0.1", port=0, advertise=False)
    app.discovery_interfaces = ["127.0.0.1"]
    running = asyncio.ensure_future(app.run())
    await eventually(lambda: app.dialog is not None and app.dialog.isVisible())
    assert app.dialog is not None
    app.dialog.username.setText("alice")
    app.dialog.password.setText(PASSWORD)
    app.dialog.host_button.click()
    await eventually(
        lambda: (
            app.controller is not None and app.controller.status.kind is ConnectionKind.CONNECTED
        )
    )
    return app, running


def test_quitting_while_a_colleague_is_connected_asks_and_cancel_keeps_the_chat(
    tmp_path: Path, run: Any, speak: Any
) -> None:
    # As the app starts in English: with the English plural forms ("1 colleague is").
    speak("en")

    async def scenario() -> None:
        app, running = await _hosting_app(tmp_path / "app")
        url = app.local_server.base_url
        token = await register(url, "bob")
        async with connect(url.replace("http", "ws", 1) + "/ws", proxy=None) as bob:
            await bob.send(json.dumps({"type": "hello", "token": token}))
            assert json.loads(await bob.recv())["type"] == "welcome"
            assert app.window is not None
            app.window.quit_action.trigger()
            await eventually(lambda: app.quit_prompt is not None and app.quit_prompt.isVisible())
            prompt = app.quit_prompt
            assert prompt is not None
            assert "1 colleague is connected: bob" in prompt.text()
            # Cancel: nothing stops, the colleague stays connected.
            prompt.cancel_button.click()
            await eventually(lambda: app.quit_prompt is None)
            assert not running.done() and app.local_server.running
            await bob.send(json.dumps({"type": "typing", "room": "general", "active": True}))

            app.window.quit_action.trigger()
            await eventually(lambda: app.quit_prompt is not None and app.quit_prompt.isVisible())
            assert app.quit_prompt is not None
            app.quit_prompt.quit_button.click()
            assert await asyncio.wait_for(running, 30) == 0
            assert not app.local_server.running

    run(scenario(), timeout=60)


def test_alone_in_a_hosted_chat_quit_just_quits(tmp_path: Path, run: Any) -> None:
    async def scenario() -> None:
        app, running = await _hosting_app(tmp_path / "app")
        assert app.window is not None
        app.window.quit_action.trigger()
        assert await asyncio.wait_for(running, 30) == 0
        assert app.quit_prompt is None

    run(scenario(), timeout=60)


def test_keep_serving_hides_the_window_and_leaves_the_chat_running(qtbot: Any) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.show()
    prompt = HostingQuitPrompt(["bob", "carol"], tray_available=True, parent=window)
    prompt.keepServing.connect(window.hide)
    quits: list[bool] = []
    prompt.quitAnyway.connect(lambda: quits.append(True))
    assert "2 colleagues are connected: bob, carol" in prompt.text()
    assert prompt.keep_button is not None
    prompt.open()
    prompt.keep_button.click()
    assert window.isHidden() and quits == []
