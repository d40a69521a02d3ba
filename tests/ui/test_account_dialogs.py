"""The account's dialogs: signed-in devices (sign one out, or all others) and changing the password.

The dialogs and their controller run against :mod:`tests.sessions_standin`,
a stand-in for the session and password routes that another branch is adding
to the server; once merged, switch ``standin`` to ``chat_server_here``. The
menu hook runs the whole app against the real server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from chat_desktop.app import ChatApp
from chat_desktop.controller.devices import AccountController
from chat_desktop.controller.settings import AppSettings, Session
from chat_desktop.ui.account_dialogs import ChangePasswordDialog, DevicesDialog
from tests.sessions_standin import SessionsStandIn
from tests.waiting import eventually

from .conftest import PASSWORD, LocalChatServer, register


@pytest.fixture
def standin(run: Any) -> Iterator[SessionsStandIn]:
    server = SessionsStandIn()
    run(server.start())
    yield server
    run(server.stop())


def rows(dialog: DevicesDialog) -> list[str]:
    table = dialog.table
    return [table.topLevelItem(i).text(0) for i in range(table.topLevelItemCount())]


def test_the_devices_are_listed_and_can_be_signed_out_one_or_all(
    standin: SessionsStandIn, run: Any
) -> None:
    standin.add("old", "Chat Desktop/0.1.0 (Windows)", last_used="2026-10-01T08:00:00.000Z")
    mine = standin.add("here", "Chat Desktop/0.1.0 (Linux)")
    standin.add("phone", "<b>Phone</b>", last_used="2026-11-29T18:00:00.000Z")
    controller = AccountController(standin.url, mine)
    dialog = DevicesDialog(controller)

    async def body() -> None:
        dialog.show()
        controller.refresh()
        await eventually(lambda: dialog.table.topLevelItemCount() == 3)
        # This device first, then the most recently active; names as sent, never markup.
        assert rows(dialog) == [
            "Chat Desktop/0.1.0 (Linux)",
            "<b>Phone</b>",
            "Chat Desktop/0.1.0 (Windows)",
        ]
        assert dialog.table.topLevelItem(0).text(3) == "This device"
        assert set(dialog.sign_out_buttons) == {"phone", "old"}

        dialog.sign_out_buttons["phone"].click()
        await eventually(lambda: dialog.table.topLevelItemCount() == 2)
        assert [s.id for s in standin.sessions] == ["old", "here"]
        assert dialog.others_button.isEnabled()

        dialog.others_button.click()
        await eventually(lambda: dialog.table.topLevelItemCount() == 1)
        assert [s.id for s in standin.sessions] == ["here"]
        assert not dialog.others_button.isEnabled()
        assert not dialog.error.isVisible()
        await controller.close()

    run(body())
    dialog.deleteLater()


def test_a_device_signed_out_elsewhere_is_told_so_in_the_dialog(
    standin: SessionsStandIn, run: Any
) -> None:
    controller = AccountController(standin.url, "a token the server forgot")
    dialog = DevicesDialog(controller)

    async def body() -> None:
        dialog.show()
        controller.refresh()
        await eventually(dialog.error.isVisible)
        assert dialog.error.text() == "This device was signed out; sign in again."
        assert dialog.error.textFormat() == Qt.TextFormat.PlainText
        await controller.close()

    run(body())
    dialog.deleteLater()


def test_a_wrong_current_password_is_shown_inline_and_nothing_typed_is_lost(
    standin: SessionsStandIn, run: Any
) -> None:
    mine = standin.add("here", "this computer")
    standin.add("elsewhere", "another computer")
    controller = AccountController(standin.url, mine)
    dialog = ChangePasswordDialog(controller)
    finished: list[int] = []
    dialog.finished.connect(finished.append)

    async def body() -> None:
        dialog.show()
        dialog.old.setText("not my password")
        dialog.new.setText("a brand new password")
        dialog.repeated.setText("a brand new passwort")
        dialog.change_button.click()
        assert dialog.error.text() == "The new passwords do not match."
        assert standin.password == PASSWORD

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

        dialog.old.setText(PASSWORD)
        dialog.change_button.click()
        await eventually(lambda: finished == [ChangePasswordDialog.DialogCode.Accepted])
        assert standin.password == "a brand new password"
        # The other devices are signed out; this one keeps its session.
        assert [s.id for s in standin.sessions] == ["here"]
        # No password stays in the closed dialog.
        assert dialog.old.text() == dialog.new.text() == dialog.repeated.text() == ""
        await controller.close()

    run(body())
    dialog.deleteLater()


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
