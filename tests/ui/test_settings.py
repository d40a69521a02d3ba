"""Settings (Ctrl+,), room mute, do not disturb, mentions on the room, Help and About.

Real windows on a real server: alice's window is on room "random" while
messages from "bob" (stored and broadcast by the server) arrive in
"general", so each would notify. What a user notices: the tray's last
notification, the status bar, the side bar's counts, the settings file.
"""

from __future__ import annotations

import platform
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import PySide6
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence, QPalette

from chat_desktop import __version__
from chat_desktop.controller.autostart import Autostart
from chat_desktop.controller.notifications import NotificationPolicy, Preferences
from chat_desktop.controller.settings import AppSettings
from chat_desktop.ui.settings_dialog import SettingsDialog
from chat_desktop.ui.side_bar import MENTIONS_ROLE, MUTED_ROLE, UNREAD_ROLE
from tests.ui.conftest import ChatClient, ClientFactory, LocalChatServer, Runner, connected
from tests.waiting import eventually


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 4, 12, 30)

    def __call__(self) -> datetime:
        return self.now


async def alice_on_random(
    server: LocalChatServer, make_client: ClientFactory, tmp_path: Path, **window: Any
) -> ChatClient:
    """Alice's window, with its settings file in tmp_path, showing room "random"."""
    assert server.server is not None
    await server.server.service.store.ensure_room("random")
    window.setdefault(
        "policy", NotificationPolicy(Preferences(AppSettings(tmp_path / "alice-data")))
    )
    window.setdefault("autostart", Autostart(tmp_path / "autostart", command=["chat-desktop"]))
    alice = await make_client(server.url, "alice", window_options=window)
    await eventually(lambda: connected(alice) and "random" in alice.w.rooms.names())
    alice.w.show_room("random")
    return alice


async def bob_says(server: LocalChatServer, alice: ChatClient, text: str) -> None:
    """bob writes ``text`` in general; wait until alice's side bar counts it."""
    before = alice.w.rooms.unread_of("general")
    await server.post("bob", [text])
    await eventually(lambda: alice.w.rooms.unread_of("general") > before)


def open_settings(alice: ChatClient) -> SettingsDialog:
    alice.w.settings_action.trigger()
    dialog = alice.w.settings_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def room_data(alice: ChatClient, room: str, role: int) -> Any:
    row = alice.w.rooms.row_of(room)
    assert row is not None
    return alice.w.rooms.index(row).data(role)


def test_settings_are_in_the_chat_menu_with_ctrl_comma_and_apply_at_once(
    chat_server_here: LocalChatServer, make_client: ClientFactory, tmp_path: Path, run: Runner[Any]
) -> None:
    async def body() -> None:
        alice = await alice_on_random(chat_server_here, make_client, tmp_path)
        action = alice.w.settings_action
        assert action.shortcut() == QKeySequence("Ctrl+,")
        assert action in alice.w.menuBar().actions()[0].menu().actions()
        dialog = open_settings(alice)

        dialog.level.setCurrentIndex(dialog.level.findData("none"))
        await bob_says(chat_server_here, alice, "anyone for lunch?")
        await bob_says(chat_server_here, alice, "@alice lunch?")
        assert alice.w.tray.last_message == ""
        assert alice.w.last_alert is not None and not alice.w.last_alert.show

        dialog.level.setCurrentIndex(dialog.level.findData("mentions"))
        await bob_says(chat_server_here, alice, "the build is green")
        assert alice.w.tray.last_message == ""
        await bob_says(chat_server_here, alice, "@Alice the build is green")
        assert alice.w.tray.last_message == "bob in #general: @Alice the build is green"
        # The decision to play a sound (no audio offscreen), then none with sound off.
        assert alice.w.last_alert.sound
        dialog.sound.setChecked(False)
        await bob_says(chat_server_here, alice, "@alice once more")
        assert alice.w.last_alert.show and not alice.w.last_alert.sound

        # Saved as plain text at once: a new start reads the same choices.
        again = Preferences(AppSettings(tmp_path / "alice-data"))
        assert again.level.value == "mentions" and not again.sound

    run(body())


def test_a_muted_room_is_quiet_but_mentions_of_me_notify_and_are_counted_until_read(
    chat_server_here: LocalChatServer, make_client: ClientFactory, tmp_path: Path, run: Runner[Any]
) -> None:
    async def body() -> None:
        alice = await alice_on_random(chat_server_here, make_client, tmp_path)
        # The room list's context menu mutes the room.
        menu = alice.w.room_menu("general")
        [mute] = menu.actions()
        assert mute.text() == "Mute room"
        mute.trigger()
        assert room_data(alice, "general", MUTED_ROLE)
        assert alice.w.room_menu("general").actions()[0].text() == "Unmute room"

        await bob_says(chat_server_here, alice, "cat pictures")
        assert alice.w.tray.last_message == ""
        assert room_data(alice, "general", MENTIONS_ROLE) == 0

        await bob_says(chat_server_here, alice, "hey @ALICE, look at this")
        assert alice.w.tray.last_message == "bob in #general: hey @ALICE, look at this"
        await bob_says(chat_server_here, alice, "and @alice again; @alicia is someone else")
        assert room_data(alice, "general", UNREAD_ROLE) == 3
        assert room_data(alice, "general", MENTIONS_ROLE) == 2
        tip = room_data(alice, "general", Qt.ItemDataRole.ToolTipRole)
        assert tip == "3 unread · mentions of you: 2 · muted"
        # Read: the badge goes.
        alice.w.show_room("general")
        await eventually(lambda: room_data(alice, "general", MENTIONS_ROLE) == 0)
        assert room_data(alice, "general", UNREAD_ROLE) == 0

    run(body())


def test_do_not_disturb_shows_in_the_status_bar_until_ended(
    chat_server_here: LocalChatServer, make_client: ClientFactory, tmp_path: Path, run: Runner[Any]
) -> None:
    async def body() -> None:
        clock = Clock()
        policy = NotificationPolicy(Preferences(AppSettings(tmp_path / "alice-data")), clock=clock)
        alice = await alice_on_random(
            chat_server_here, make_client, tmp_path, policy=policy, quiet_check=0.05
        )
        indicator = alice.w.quiet_indicator
        assert not indicator.isVisible()
        dialog = open_settings(alice)
        dialog.quiet_hour.click()
        assert indicator.isVisible()
        assert indicator.label.text().startswith("Do not disturb until ")
        assert dialog.quiet_state.text().startswith("On until ")
        await bob_says(chat_server_here, alice, "@alice urgent!")
        assert alice.w.tray.last_message == ""

        indicator.end_button.click()
        assert not indicator.isVisible()
        assert dialog.quiet_state.text() == "Off"
        await bob_says(chat_server_here, alice, "@alice urgent!")
        assert alice.w.tray.last_message == "bob in #general: @alice urgent!"

        dialog.quiet_tomorrow.click()
        assert indicator.isVisible()
        assert policy.quiet_until() == datetime(2026, 3, 5, 8, 0)
        # The morning comes: the indicator goes by itself on its next check.
        clock.now = datetime(2026, 3, 5, 8, 0) + timedelta(seconds=1)
        await eventually(lambda: not indicator.isVisible())

    run(body())


def test_dark_appearance_then_the_systems_again(
    chat_server_here: LocalChatServer, make_client: ClientFactory, tmp_path: Path, run: Runner[Any]
) -> None:
    async def body() -> None:
        alice = await alice_on_random(chat_server_here, make_client, tmp_path)
        system = QGuiApplication.palette().color(QPalette.ColorRole.Window)
        dialog = open_settings(alice)
        try:
            dialog.appearance.setCurrentIndex(dialog.appearance.findData("dark"))
            # The window repaints dark (palette changes reach widgets by events).
            await eventually(
                lambda: alice.w.palette().color(QPalette.ColorRole.Window).lightness() < 100
            )
            assert alice.w.policy.preferences.appearance.value == "dark"
        finally:
            dialog.appearance.setCurrentIndex(dialog.appearance.findData("system"))
        assert QGuiApplication.palette().color(QPalette.ColorRole.Window) == system

    run(body())


def test_start_at_login_and_close_to_tray(
    chat_server_here: LocalChatServer, make_client: ClientFactory, tmp_path: Path, run: Runner[Any]
) -> None:
    async def body() -> None:
        autostart = Autostart(tmp_path / "autostart", command=["chat-desktop"], supported=True)
        alice = await alice_on_random(chat_server_here, make_client, tmp_path, autostart=autostart)
        dialog = open_settings(alice)
        assert dialog.start_at_login.isEnabled() and not dialog.start_at_login.isChecked()
        dialog.start_at_login.setChecked(True)
        entry = tmp_path / "autostart" / "chat-desktop.desktop"
        assert "Exec=chat-desktop\n" in entry.read_text()
        assert entry.stat().st_mode & 0o777 == 0o600
        dialog.start_at_login.setChecked(False)
        assert not entry.exists()

        # The offscreen platform has no tray: the box says so, and closing quits.
        assert not alice.w.tray.available()
        assert not dialog.close_to_tray.isEnabled()
        alice.w.policy.preferences.close_to_tray = True
        quits: list[bool] = []
        alice.w.quitRequested.connect(lambda: quits.append(True))
        alice.w.close()
        assert quits == [True]

    run(body())


def test_start_at_login_is_disabled_where_unsupported(
    chat_server_here: LocalChatServer, make_client: ClientFactory, tmp_path: Path, run: Runner[Any]
) -> None:
    async def body() -> None:
        autostart = Autostart(tmp_path / "autostart", command=["x"], supported=False)
        alice = await alice_on_random(chat_server_here, make_client, tmp_path, autostart=autostart)
        dialog = open_settings(alice)
        assert not dialog.start_at_login.isEnabled()
        assert dialog.start_error.isVisible()
        assert "not supported" in dialog.start_error.text()

    run(body())


def test_about_names_every_version_and_help_lists_the_shortcuts(
    chat_server_here: LocalChatServer, make_client: ClientFactory, tmp_path: Path, run: Runner[Any]
) -> None:
    async def body() -> None:
        alice = await alice_on_random(chat_server_here, make_client, tmp_path)
        help_menu = alice.w.menuBar().actions()[-1].menu()
        assert alice.w.about_action in help_menu.actions()
        alice.w.about_action.trigger()
        box = alice.w.about_box
        assert box is not None and box.isVisible()
        assert box.textFormat() == Qt.TextFormat.PlainText
        assert chat_server_here.server is not None
        server_version = chat_server_here.server.config.version
        for version in (__version__, PySide6.__version__, platform.python_version()):
            assert version in box.text()
        assert f"Server {server_version} at {chat_server_here.url}" in box.text()

        alice.w.shortcuts_action.trigger()
        shortcuts = alice.w.shortcuts_box
        assert shortcuts is not None and shortcuts.isVisible()
        table = shortcuts.table
        rows = [
            (table.topLevelItem(row).text(0), table.topLevelItem(row).text(1))
            for row in range(table.topLevelItemCount())
        ]
        assert ("Go > Switch to room…", "Ctrl+K") in rows
        assert ("Chat > Settings…", "Ctrl+,") in rows
        assert ("Go > Next room", "Alt+Down, Ctrl+Tab") in rows
        assert "Using the app" in shortcuts.note.text()

    run(body())
