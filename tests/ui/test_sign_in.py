"""The sign-in dialog: hosting here, signing in, and errors in plain words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QListWidgetItem

from chat_desktop.controller.account import SignInController, tls_context
from chat_desktop.controller.hosting import LocalServer
from chat_desktop.controller.settings import AppSettings
from chat_desktop.controller.wording import error_text
from chat_desktop.transport.pinning import PinStore
from chat_desktop.ui.sign_in import SignInDialog
from chat_protocol import ErrorCode
from chat_server import admin
from chat_server.config import Registration
from tests.waiting import eventually

from .conftest import (
    PASSWORD,
    ChatClient,
    LocalChatServer,
    accept_trust,
    connected,
    create_account_until_asked_to_trust,
    register,
)


def test_hosting_starts_the_bundled_server_and_signs_in_remembering_no_password(
    tmp_path: Path, run: Any
) -> None:
    settings = AppSettings(tmp_path / "app")
    local = LocalServer(tmp_path / "app" / "server", host="127.0.0.1", port=0, advertise=False)
    controller = SignInController(settings, local, PinStore(tmp_path / "pins.json"))
    dialog = SignInDialog(controller)

    async def body() -> None:
        dialog.show()
        dialog.username.setText("alice")
        dialog.password.setText(PASSWORD)
        dialog.host_button.click()
        await eventually(lambda: dialog.session is not None)
        assert dialog.session is not None and dialog.session.hosted
        assert local.running and dialog.session.server_url == local.base_url
        remembered = settings.session()
        assert remembered == dialog.session
        ini = (tmp_path / "app" / "settings.ini").read_text()
        assert PASSWORD not in ini

        # The second time the account exists: hosting signs in to it.
        dialog.session = None
        dialog.username.setText("alice")
        dialog.password.setText(PASSWORD)
        dialog.host_button.click()
        await eventually(lambda: dialog.session is not None)
        await controller.close()
        await local.stop()

    run(body())
    dialog.deleteLater()


def test_wrong_password_is_shown_in_the_dialog_as_plain_text(
    chat_server_here: LocalChatServer, tmp_path: Path, run: Any
) -> None:
    settings = AppSettings(tmp_path / "app")
    controller = SignInController(
        settings, LocalServer(tmp_path / "unused"), PinStore(tmp_path / "pins.json")
    )
    dialog = SignInDialog(controller, address=chat_server_here.url)

    async def body() -> None:
        await register(chat_server_here.url, "alice")
        dialog.show()
        dialog.username.setText("alice")
        dialog.password.setText("not the password")
        dialog.sign_in_button.click()
        await eventually(lambda: dialog.error.isVisible() and dialog.error.text())
        assert dialog.error.text() == "Wrong username or password."
        assert dialog.error.textFormat() == Qt.TextFormat.PlainText
        assert dialog.sign_in_button.isEnabled()
        assert dialog.session is None and settings.session() is None

        dialog.password.setText(PASSWORD)
        dialog.sign_in_button.click()
        await eventually(lambda: dialog.session is not None)
        assert settings.session() == dialog.session
        await controller.close()

    run(body())
    dialog.deleteLater()


def test_unreachable_server_is_reported_in_the_dialog(tmp_path: Path, run: Any) -> None:
    controller = SignInController(
        AppSettings(tmp_path / "app"), LocalServer(tmp_path / "x"), PinStore(tmp_path / "pins")
    )
    dialog = SignInDialog(controller, address="http://127.0.0.1:9")

    async def body() -> None:
        dialog.show()
        dialog.username.setText("alice")
        dialog.password.setText(PASSWORD)
        dialog.sign_in_button.click()
        await eventually(lambda: dialog.error.text())
        assert "127.0.0.1:9" in dialog.error.text()
        await controller.close()

    run(body())
    dialog.deleteLater()


def test_a_self_signed_server_is_trusted_on_the_users_word_then_pinned_for_the_chat(
    tmp_path: Path, make_client: Any, run: Any
) -> None:
    server = LocalChatServer(tmp_path / "tls-server", tls=True)
    pins = PinStore(tmp_path / "pins.json")
    settings = AppSettings(tmp_path / "app")
    controller = SignInController(settings, LocalServer(tmp_path / "unused"), pins)
    dialog = SignInDialog(controller)

    async def body() -> None:
        url = await server.start()
        assert url.startswith("https://")
        dialog.show()
        dialog.address.setText(url)
        box = await create_account_until_asked_to_trust(dialog)
        assert "fingerprint" in box.text() and box.textFormat() == Qt.TextFormat.PlainText
        assert dialog.session is None
        accept_trust(box)
        await eventually(lambda: dialog.session is not None)
        session = dialog.session
        assert session is not None and session.server_url == url
        assert pins.path.exists()

        # The chat connects over wss:// with the pinned certificate.
        alice: ChatClient = await make_client(
            url, "alice", token=session.token, ssl_context=tls_context(pins, url)
        )
        await eventually(lambda: connected(alice))
        alice.type_and_send("over TLS")
        await eventually(lambda: alice.w.messages.entries()[0].seq == 1)
        await alice.close()
        await controller.close()
        await server.stop()

    run(body())
    dialog.deleteLater()


def chat_hosted_on_the_lan(
    tmp_path: Path, address: str = ""
) -> tuple[LocalServer, SignInController, SignInDialog]:
    """A chat to host here (announced on 127.0.0.1 once started) and a sign-in dialog
    whose controller browses 127.0.0.1 only."""
    hosted = LocalServer(tmp_path / "hosted", host="127.0.0.1", port=0, advertise=True)
    controller = SignInController(
        AppSettings(tmp_path / "app"),
        LocalServer(tmp_path / "unused"),
        PinStore(tmp_path / "pins.json"),
        discovery_interfaces=["127.0.0.1"],
    )
    return hosted, controller, SignInDialog(controller, address=address)


def test_a_chat_hosted_on_the_lan_is_listed_and_a_click_fills_the_address(
    tmp_path: Path, run: Any
) -> None:
    hosted, controller, dialog = chat_hosted_on_the_lan(tmp_path)

    async def body() -> None:
        url = await hosted.start()
        dialog.show()
        controller.browse()

        # Other chats may be announced on this machine too: look for ours.
        def ours() -> list[QListWidgetItem]:
            items = [dialog.found.item(row) for row in range(dialog.found.count())]
            return [item for item in items if item.data(Qt.ItemDataRole.UserRole) == url]

        await eventually(lambda: ours() and dialog.found.isVisible())
        dialog.found.itemClicked.emit(ours()[0])
        assert dialog.address.text() == url
        await hosted.stop()
        await eventually(lambda: not ours())
        await controller.close()

    run(body())
    dialog.deleteLater()


def test_the_fields_do_not_move_when_a_server_is_found_or_an_error_is_shown(
    tmp_path: Path, run: Any
) -> None:
    hosted, controller, dialog = chat_hosted_on_the_lan(tmp_path, address="http://127.0.0.1:9")
    fields = (dialog.address, dialog.username, dialog.password)

    def geometries() -> list[QRect]:
        return [field.geometry() for field in fields]

    async def body() -> None:
        dialog.show()
        await eventually(lambda: dialog.address.isVisible())
        before = geometries()
        for field in fields:
            assert field.height() >= field.sizeHint().height()

        url = await hosted.start()
        controller.browse()
        await eventually(lambda: dialog.found.isVisible() and dialog.found.count() > 0)
        assert url in [
            dialog.found.item(row).data(Qt.ItemDataRole.UserRole)
            for row in range(dialog.found.count())
        ]
        assert geometries() == before, "a server appearing moved the fields"

        dialog.username.setText("alice")
        dialog.password.setText(PASSWORD)
        dialog.sign_in_button.click()
        await eventually(lambda: dialog.error.text())
        assert "127.0.0.1:9" in dialog.error.text()
        assert geometries() == before, "the error moved or squeezed the fields"
        await hosted.stop()
        await controller.close()

    run(body())
    dialog.deleteLater()


def sign_in_dialog(tmp_path: Path) -> tuple[SignInController, SignInDialog]:
    controller = SignInController(
        AppSettings(tmp_path / "app"), LocalServer(tmp_path / "unused"), PinStore(tmp_path / "pins")
    )
    return controller, SignInDialog(controller)


def test_in_invite_mode_the_dialog_asks_for_the_code_without_moving_a_field(
    tmp_path: Path, run: Any
) -> None:
    server = LocalChatServer(tmp_path / "server", registration=Registration.INVITE)
    controller, dialog = sign_in_dialog(tmp_path)
    fields = (dialog.address, dialog.username, dialog.password)

    async def body() -> None:
        url = await server.start()
        try:
            await invite_mode(url)
        finally:
            await controller.close()
            await server.stop()

    async def invite_mode(url: str) -> None:
        assert server.server is not None
        printed: list[str] = []
        await admin.create_invite(server.server.service.store, 1, 1.0, printed.append)
        code = printed[0]

        dialog.show()
        await eventually(lambda: dialog.address.isVisible())
        before = [field.geometry() for field in fields]
        assert not dialog.invite.isVisible() and not dialog.invite_label.isVisible()
        QTest.keyClicks(dialog.address, url)
        await eventually(lambda: dialog.invite.isVisible())
        assert dialog.invite_label.isVisible() and dialog.invite_label.text() == "Invite code"
        assert [field.geometry() for field in fields] == before, "the invite row moved a field"
        assert dialog.create_button.isEnabled()

        dialog.username.setText("ann")
        dialog.password.setText(PASSWORD)
        dialog.create_button.click()
        await eventually(lambda: dialog.error.text())
        assert dialog.error.text() == error_text(ErrorCode.INVITE_REQUIRED)
        await eventually(lambda: dialog.invite.hasFocus())
        await eventually(lambda: dialog.create_button.isEnabled())
        dialog.invite.setText("NOT-A-CODE")
        dialog.create_button.click()
        await eventually(lambda: dialog.error.text() == error_text(ErrorCode.INVITE_INVALID))
        assert dialog.error.text() == error_text(ErrorCode.INVITE_INVALID)
        assert [field.geometry() for field in fields] == before

        await eventually(lambda: dialog.create_button.isEnabled())
        dialog.invite.setText(code)
        dialog.create_button.click()
        await eventually(lambda: dialog.session is not None)
        assert dialog.session is not None and dialog.session.username == "ann"

    run(body())
    dialog.deleteLater()


def test_in_closed_mode_create_account_is_off_with_the_reason(tmp_path: Path, run: Any) -> None:
    server = LocalChatServer(tmp_path / "server", registration=Registration.CLOSED)
    controller, dialog = sign_in_dialog(tmp_path)

    async def body() -> None:
        url = await server.start()
        try:
            await closed_mode(url)
        finally:
            await controller.close()
            await server.stop()

    async def closed_mode(url: str) -> None:
        dialog.show()
        QTest.keyClicks(dialog.address, url)
        await eventually(lambda: dialog.closed_note.isVisible())
        assert dialog.closed_note.text() == "This server does not take new accounts."
        assert not dialog.create_button.isEnabled()
        assert dialog.sign_in_button.isEnabled()
        assert not dialog.invite.isVisible()
        # Another address (nothing answers there): sign-up is offered again.
        dialog.address.clear()
        QTest.keyClicks(dialog.address, "http://127.0.0.1:9")
        await eventually(lambda: dialog.create_button.isEnabled())
        assert not dialog.closed_note.isVisible()

    run(body())
    dialog.deleteLater()
