"""The account's dialogs: signed-in devices (sign one out, or all others) and changing the password.

The dialogs and their controller run against the real server
(``chat_server_here``), with sessions made by real logins: this device's
through the app's AccountClient, the others' through aiohttp with a
User-Agent of their own (:func:`tests.accounts.sign_in`). The menu hook runs
the whole app against the real server.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from chat_desktop.app import ChatApp
from chat_desktop.controller.devices import AccountController
from chat_desktop.controller.settings import AppSettings, Session
from chat_desktop.transport.http_api import USER_AGENT
from chat_desktop.ui.account_dialogs import ChangePasswordDialog, DevicesDialog
from tests.accounts import app_call, sign_in, signed_in
from tests.waiting import eventually

from .conftest import PASSWORD, LocalChatServer, register

# The agent another computer signed in with.
WINDOWS = "Chat Desktop/0.1.0 (Windows)"


def rows(dialog: DevicesDialog) -> list[str]:
    table = dialog.table
    return [table.topLevelItem(i).text(0) for i in range(table.topLevelItemCount())]


async def this_device(url: str, username: str = "alice") -> str:
    """A session of ``username`` signed in by the app's own client; its token."""
    return (await app_call(url, lambda client: client.login(username, PASSWORD))).token


def test_the_devices_are_listed_and_can_be_signed_out_one_or_all(
    chat_server_here: LocalChatServer, run: Any
) -> None:
    url = chat_server_here.url

    async def body() -> None:
        # Signed in one after the other: "old", this device, then the phone.
        old = await sign_in(url, "alice", WINDOWS, new=True)
        mine = await this_device(url)
        phone = await sign_in(url, "alice", "<b>Phone</b>")
        controller = AccountController(url, mine)
        dialog = DevicesDialog(controller)
        dialog.show()
        controller.refresh()
        await eventually(lambda: dialog.table.topLevelItemCount() == 3)
        # This device first, then the most recently active; names as sent, never markup.
        assert rows(dialog) == [USER_AGENT, "<b>Phone</b>", WINDOWS]
        assert dialog.table.topLevelItem(0).text(3) == "This device"
        ids = {device.name: device.id for device in controller.devices}
        assert set(dialog.sign_out_buttons) == {ids["<b>Phone</b>"], ids[WINDOWS]}

        dialog.sign_out_buttons[ids["<b>Phone</b>"]].click()
        await eventually(lambda: dialog.table.topLevelItemCount() == 2)
        assert rows(dialog) == [USER_AGENT, WINDOWS]
        assert [await signed_in(url, token) for token in (old, mine, phone)] == [True, True, False]
        assert dialog.others_button.isEnabled()

        dialog.others_button.click()
        await eventually(lambda: dialog.table.topLevelItemCount() == 1)
        assert [await signed_in(url, token) for token in (old, mine, phone)] == [False, True, False]
        assert not dialog.others_button.isEnabled()
        assert not dialog.error.isVisible()
        await controller.close()
        dialog.deleteLater()

    run(body())


def test_a_device_signed_out_elsewhere_is_told_so_in_the_dialog(
    chat_server_here: LocalChatServer, run: Any
) -> None:
    url = chat_server_here.url

    async def body() -> None:
        elsewhere = await sign_in(url, "alice", "another computer", new=True)
        mine = await this_device(url)
        # The other computer signs out every device but itself, this one included.
        await app_call(url, lambda client: client.end_other_sessions(elsewhere))
        controller = AccountController(url, mine)
        dialog = DevicesDialog(controller)
        dialog.show()
        controller.refresh()
        await eventually(dialog.error.isVisible)
        assert dialog.error.text() == "This device was signed out; sign in again."
        assert dialog.error.textFormat() == Qt.TextFormat.PlainText
        await controller.close()
        dialog.deleteLater()

    run(body())


def test_a_wrong_current_password_is_shown_inline_and_nothing_typed_is_lost(
    chat_server_here: LocalChatServer, run: Any
) -> None:
    url = chat_server_here.url
    finished: list[int] = []

    async def body() -> None:
        elsewhere = await sign_in(url, "alice", "another computer", new=True)
        mine = await this_device(url)
        controller = AccountController(url, mine)
        dialog = ChangePasswordDialog(controller)
        dialog.finished.connect(finished.append)
        dialog.show()
        dialog.old.setText("not my password")
        dialog.new.setText("a brand new password")
        dialog.repeated.setText("a brand new passwort")
        dialog.change_button.click()
        assert dialog.error.text() == "The new passwords do not match."

        dialog.repeated.setText("a brand new password")
        dialog.change_button.click()
        await eventually(lambda: dialog.error.text() == "The current password is wrong.")
        assert dialog.error.isVisible() and dialog.error.textFormat() == Qt.TextFormat.PlainText
        assert (dialog.old.text(), dialog.new.text(), dialog.repeated.text()) == (
            "not my password",
            "a brand new password",
            "a brand new password",
        )
        assert dialog.isVisible() and finished == []
        assert dialog.change_button.isEnabled()
        # Nothing changed on the server: the password still signs in, nobody was signed out.
        checking = await sign_in(url, "alice", "checking the password")
        assert await signed_in(url, elsewhere)

        dialog.old.setText(PASSWORD)
        dialog.change_button.click()
        await eventually(lambda: finished == [ChangePasswordDialog.DialogCode.Accepted])
        # The other devices are signed out; this one keeps its session.
        assert [await signed_in(url, token) for token in (elsewhere, checking, mine)] == [
            False,
            False,
            True,
        ]
        await sign_in(url, "alice", "with the new password", password="a brand new password")
        # No password stays in the closed dialog.
        assert dialog.old.text() == dialog.new.text() == dialog.repeated.text() == ""
        await controller.close()
        dialog.deleteLater()

    run(body())


def test_the_menu_opens_the_dialogs_over_the_chat(
    chat_server_here: LocalChatServer, tmp_path: Path, run: Any
) -> None:
    async def body() -> None:
        token = await register(chat_server_here.url, "alice")
        AppSettings(tmp_path / "app").remember(Session(chat_server_here.url, "alice", token))
        app = ChatApp(tmp_path / "app", chat_server_here.url)
        running = asyncio.ensure_future(app.run())
        await eventually(lambda: app.window is not None and app.window.isVisible())
        assert app.window is not None
        app.window.devices_action.trigger()
        await eventually(lambda: isinstance(app.account_dialog, DevicesDialog))
        assert app.account_dialog is not None and app.account_dialog.isVisible()
        # One account dialog at a time.
        app.window.password_action.trigger()
        assert isinstance(app.account_dialog, DevicesDialog)
        app.account_dialog.close_button.click()
        await eventually(lambda: app.account_dialog is None)

        app.window.password_action.trigger()
        await eventually(lambda: isinstance(app.account_dialog, ChangePasswordDialog))
        # Quitting with the dialog open closes it and its requests in order.
        app.quit()
        assert await running == 0
        assert app.account_dialog is None

    run(body())
