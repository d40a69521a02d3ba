"""The app in German and to a screen reader: no English left, every control named, the .qm shipped.

The windows are the real ones over a real server (a sent message, a refused
one, the dialogs of the menu, the sign-in dialog with an error), built after
the German translation was installed through the loader the app uses at
start (:func:`chat_desktop.i18n.install_translations`). Every text a user can
see or hear (labels, buttons, menus and their actions, placeholders,
tooltips, window titles, accessible names, the rows' status lines) is
compared with the English sources of ``chat_desktop_de.ts``: one that is
still an English source (with any names filled in) is a string that escaped
translation.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QTreeWidget,
    QWidget,
)

from chat_desktop.controller.account import SignInController
from chat_desktop.controller.devices import AccountController
from chat_desktop.controller.entries import CertificateProblem, DeliveryState
from chat_desktop.controller.hosting import LocalServer
from chat_desktop.controller.phrases import RULES
from chat_desktop.controller.room_requests import sentence
from chat_desktop.controller.settings import AppSettings
from chat_desktop.controller.wording import error_text
from chat_desktop.i18n import translation_file
from chat_desktop.transport.pinning import PinStore
from chat_desktop.ui.account_dialogs import ChangePasswordDialog, DevicesDialog
from chat_desktop.ui.certificate import CertificateReviewDialog
from chat_desktop.ui.dates import day_label, when
from chat_desktop.ui.message_model import MessageRole
from chat_desktop.ui.quit_prompt import HostingQuitPrompt
from chat_desktop.ui.sign_in import SignInDialog
from chat_protocol import ErrorCode, rules
from tests.waiting import eventually

from .conftest import ChatClient, LocalChatServer, connected

ROOT = Path(__file__).resolve().parents[2]
GERMAN_TS = ROOT / "chat_desktop" / "i18n" / "chat_desktop_de.ts"
FINGERPRINT = ":".join(["AB"] * 32)


def _pattern(source: str) -> re.Pattern[str]:
    """The source as it shows once filled in: {names} are any text, %n a number."""
    text = re.escape(source.replace("&", ""))
    text = re.sub(r"\\\{\w+\\\}", ".+", text)
    return re.compile(text.replace("%n", r"\d+"), re.DOTALL)


def english_sources() -> list[tuple[str, re.Pattern[str]]]:
    """Every source string of the German .ts whose translation differs from it."""
    found = []
    for message in ET.parse(GERMAN_TS).getroot().iter("message"):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        assert translation is not None
        forms = [form.text or "" for form in translation.findall("numerusform")] or [
            translation.text or ""
        ]
        assert all(forms), f"not translated: {source!r}"
        if any(form != source for form in forms):
            found.append((source, _pattern(source)))
    return found


def shown_texts(top: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) for everything a user sees or hears in ``top`` and its children."""
    widgets = [top, *top.findChildren(QWidget)]
    for widget in widgets:
        if not widget.isVisibleTo(top) and widget is not top:
            continue
        name = f"{type(widget).__name__}#{widget.objectName()}"
        if widget.isWindow():
            yield name + " title", widget.windowTitle()
        yield name + " tooltip", widget.toolTip()
        yield name + " accessible name", widget.accessibleName()
        yield name + " accessible description", widget.accessibleDescription()
        if isinstance(widget, QLabel | QAbstractButton):
            yield name + " text", widget.text()
        if isinstance(widget, QLineEdit | QPlainTextEdit):
            yield name + " placeholder", widget.placeholderText()
        if isinstance(widget, QTreeWidget):
            header = widget.headerItem()
            for column in range(widget.columnCount()):
                yield name + " header", header.text(column)
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            for row in range(model.rowCount()):
                index = model.index(row, 0)
                for role in (
                    Qt.ItemDataRole.ToolTipRole,
                    Qt.ItemDataRole.AccessibleTextRole,
                    MessageRole.DAY_LABEL,
                ):
                    value = index.data(role)
                    if isinstance(value, str):
                        yield f"{name} row {row}", value
    if isinstance(top, QMainWindow):
        for menu_action in top.menuBar().actions():
            yield "menu", menu_action.text()
            menu = menu_action.menu()
            assert isinstance(menu, QMenu)
            for action in menu.actions():
                yield f"menu {menu_action.text()}", action.text()


def english_left(tops: list[QWidget]) -> list[str]:
    sources = english_sources()
    left = []
    for top in tops:
        for where, text in shown_texts(top):
            plain = text.replace("&", "").strip()
            for source, pattern in sources:
                if plain and pattern.fullmatch(plain):
                    left.append(f"{where}: {text!r} (source {source!r})")
    return left


async def everything_open(
    alice: ChatClient, server: LocalChatServer, tmp_path: Path
) -> tuple[list[QWidget], list[Any]]:
    """The main window with a delivered and a refused message, and every dialog open.

    Returns the windows to look at and the controllers to close afterwards.
    """
    await eventually(lambda: connected(alice))
    window = alice.w
    alice.type_and_send("hello")
    await eventually(lambda: any(e.seq for e in window.messages.entries()))
    window.show_room("plans")
    alice.type_and_send("draft for plans")
    await eventually(lambda: window.messages.entries()[0].state is DeliveryState.FAILED)
    problem = CertificateProblem(f"127.0.0.1:{server.port}", FINGERPRINT, FINGERPRINT)
    window.certificate_bar.show_problem(problem)

    window.ask_new_room()
    window.ask_room()
    window.ask_search(every_room=True)
    panel = window.search_panel
    assert panel is not None
    panel.query.setText("hello")
    # The final answer's summary ("1 on this computer, 0 from the server"; the
    # cache's first answer says "…; searching the server").
    await eventually(lambda: panel.results.rowCount() == 1 and ";" not in panel.summary.text())
    window.ask_sign_out()
    review = CertificateReviewDialog(problem, window)
    quit_prompt = HostingQuitPrompt(
        ["bob", "carol", "dave", "erin", "frank", "grace"], tray_available=True, parent=window
    )
    devices_controller = AccountController(alice.url, alice.token)
    devices = DevicesDialog(devices_controller, window)
    devices_controller.refresh()
    password_controller = AccountController(alice.url, alice.token)
    password = ChangePasswordDialog(password_controller, window)
    password.old.setText("x")
    password.new.setText("a")
    password.repeated.setText("b")
    password.change_button.click()
    sign_in_controller = SignInController(
        AppSettings(tmp_path / "app"), LocalServer(tmp_path / "unused"), PinStore(tmp_path / "p")
    )
    # A server that does not answer: the dialog says so.
    sign_in = SignInDialog(sign_in_controller, address="http://127.0.0.1:9", username="alice")
    sign_in.password.setText("a long password")
    sign_in.sign_in_button.click()
    for dialog in (review, quit_prompt, devices, password, sign_in):
        dialog.show()
    await eventually(lambda: devices.table.topLevelItemCount() == 1)
    await eventually(lambda: bool(sign_in.error.text()))
    assert window.sign_out_box is not None
    tops: list[QWidget] = [
        window,
        window.new_room_dialog,
        window.quick_switch,
        window.search_panel,
        window.sign_out_box,
        review,
        quit_prompt,
        devices,
        password,
        sign_in,
    ]
    return tops, [devices_controller, password_controller, sign_in_controller]


def close_all(tops: list[QWidget]) -> None:
    for top in tops[1:]:
        top.close()
        top.deleteLater()


def test_the_german_ui_shows_no_english_string(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, speak: Any, tmp_path: Path
) -> None:
    speak("de")

    async def body() -> None:
        alice = await make_client(chat_server_here.url, "alice")
        tops, controllers = await everything_open(alice, chat_server_here, tmp_path)
        try:
            texts = [text for top in tops for _, text in shown_texts(top) if text]
            # The walk sees the windows' words (or it could not fail) ...
            assert "&Chat" in texts and "Abmelden" in texts and "Heute" in texts
            status = alice.w.view.message_delegate.layout_for(alice.w.messages.index(0))
            assert status.status_text == "Nicht zugestellt: Diesen Raum gibt es nicht."
            sign_in = tops[-1]
            assert isinstance(sign_in, SignInDialog)
            assert (
                sign_in.error.text() == "Der Server unter http://127.0.0.1:9 ist nicht erreichbar."
            )
            # ... and none of them is still English.
            assert english_left(tops) == []
        finally:
            for controller in controllers:
                await controller.close()
            close_all(tops)

    run(body())


def test_every_control_a_keyboard_reaches_has_a_name_for_a_screen_reader(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        alice = await make_client(chat_server_here.url, "alice")
        tops, controllers = await everything_open(alice, chat_server_here, tmp_path)
        try:
            focusable = [
                widget
                for top in tops
                for widget in [top, *top.findChildren(QWidget)]
                if widget.isVisibleTo(top)
                and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
                and not widget.isWindow()
            ]
            assert len(focusable) > 20
            unnamed = []
            for widget in focusable:
                interface = QAccessible.queryAccessibleInterface(widget)
                name = interface.text(QAccessible.Text.Name) if interface is not None else ""
                if not name.strip():
                    unnamed.append(f"{type(widget).__name__}#{widget.objectName()}")
            assert unnamed == []
            # The controls without words of their own are named explicitly.
            assert alice.w.add_room_button.accessibleName() == "New room"
            assert alice.w.composer_box.send_button.accessibleName() == "Send"
            assert alice.w.room_list.accessibleName() == "Rooms"
            assert alice.w.view.accessibleName() == "Messages"
            # Rows say in words what is painted: who wrote, the unread badge, presence.
            alice.w.show_room("general")
            said = alice.w.messages.index(0).data(Qt.ItemDataRole.AccessibleTextRole)
            assert said.startswith("alice at ") and said.endswith(": hello")
            members = alice.w.members
            assert members.index(0).data(Qt.ItemDataRole.AccessibleTextRole) == "alice, online"
        finally:
            for controller in controllers:
                await controller.close()
            close_all(tops)

    run(body())


# Calls that put text on screen, and the constructors that take it first.
_SHOWS_TEXT = {
    "setText", "setPlaceholderText", "setToolTip", "setWindowTitle", "setAccessibleName",
    "setAccessibleDescription", "setStatusTip", "setInformativeText", "setTitle", "addMenu",
    "addRow", "addButton", "showMessage", "setHeaderLabels", "QLabel", "QPushButton", "QAction",
    "QToolButton", "QCheckBox", "QRadioButton", "QGroupBox", "QMessageBox",
}  # fmt: skip
# Literal texts that are not words to translate.
_NOT_WORDS = {"chat.example.lan:8765"}


def _literal_words(node: ast.expr) -> list[str]:
    """The string literals of ``node`` (plain, f-string parts, list items) with words in them."""
    if isinstance(node, ast.List):
        return [word for item in node.elts for word in _literal_words(item)]
    parts = node.values if isinstance(node, ast.JoinedStr) else [node]
    texts = [part.value for part in parts if isinstance(part, ast.Constant)]
    return [
        text
        for text in texts
        if isinstance(text, str) and re.search(r"[A-Za-z]{2}", text) and text not in _NOT_WORDS
    ]


def test_no_text_reaches_the_screen_without_going_through_translation() -> None:
    """A string literal handed straight to a widget would show in English in every language."""
    found = []
    files = [*(ROOT / "chat_desktop" / "ui").glob("*.py"), ROOT / "chat_desktop" / "app.py"]
    for path in sorted(files):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            name = node.func.id if isinstance(node.func, ast.Name) else name
            if name in _SHOWS_TEXT:
                for argument in node.args[:2]:
                    found += [f"{path.name}:{node.lineno} {w!r}" for w in _literal_words(argument)]
    assert found == []


def test_every_protocol_error_code_has_its_own_sentence() -> None:
    fallback = "the server's words"
    for code in ErrorCode:
        assert error_text(code, fallback) != fallback, code
    assert error_text("from_a_newer_server", fallback) == fallback


def test_the_rules_the_app_checks_are_the_sentences_marked_for_translation() -> None:
    """The protocol's rule texts are translated by their exact words: they must not drift."""
    said = []
    for rule, value in (
        (rules.validate_room_name, "Team Plans"),
        (rules.validate_username, "no spaces"),
        (rules.validate_password, "short"),
        (rules.normalize_text, "  "),
        (rules.normalize_text, "x" * (rules.TEXT_MAX + 1)),
    ):
        with pytest.raises(rules.ValidationError) as refused:
            rule(value)
        said.append(sentence(str(refused.value)))
    assert said == list(RULES)


def test_dates_follow_the_chosen_language(speak: Any) -> None:
    speak("de")
    assert QLocale().name() == "de_DE"
    assert day_label(datetime(2026, 11, 27).date(), datetime(2026, 11, 30).date()) == (
        "Freitag, 27. November 2026"
    )
    assert day_label(datetime(2026, 11, 30).date(), datetime(2026, 11, 30).date()) == "Heute"
    assert when(datetime.now().astimezone().replace(hour=14, minute=5)) == "Heute 14:05"
    speak("en_US")
    assert when(datetime.now().astimezone().replace(hour=14, minute=5)) == "Today 2:05\u202fPM"


def test_the_translations_are_found_where_the_wheel_installs_them(tmp_path: Path) -> None:
    """Install the package (no dependencies) into a folder and load from there alone."""
    # A copy of what the build reads, so that building writes nothing into the checkout.
    source = tmp_path / "source"
    for part in ("chat_desktop", "chat_protocol", "server/chat_server", "resources"):
        shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        cwd=tmp_path,
        capture_output=True,
    )
    probe = (
        "import sys; from PySide6.QtCore import QTranslator; "
        "from chat_desktop.i18n import translation_file; "
        "path = translation_file('de'); t = QTranslator(); "
        "print(path); print(t.load(path)); "
        "print(t.translate('MainWindow', '&Quit'))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert shown[0].startswith(str(target)) and shown[1:] == ["True", "&Beenden"]


def test_the_translations_hold_every_string_of_the_code_translated() -> None:
    """pyside6-lupdate over the code finds nothing the committed .ts files lack."""
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_translations.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize(
    ("lang", "shown"),
    [("de_AT.UTF-8", ["&Beenden", "de_AT"]), ("en_US.UTF-8", ["&Quit", "en_US"])],
)
def test_without_lang_the_app_speaks_the_language_of_the_system(
    lang: str, shown: list[str]
) -> None:
    probe = (
        "from PySide6.QtCore import QCoreApplication, QLocale; "
        "from chat_desktop.i18n import install_translations; "
        "app = QCoreApplication([]); install_translations(); "
        "print(QCoreApplication.translate('MainWindow', '&Quit')); print(QLocale().name())"
    )
    environment = {
        "LANG": lang,
        "PYTHONPATH": str(ROOT),
        "PATH": "/usr/bin:/bin",
        "QT_QPA_PLATFORM": "offscreen",
    }
    printed = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    )
    assert printed.stdout.splitlines() == shown


def test_the_source_checkout_has_the_german_file_and_none_for_klingon() -> None:
    assert translation_file("de") is not None
    assert translation_file("tlh") is None


def test_no_translator_is_the_tests_default(qapp: QApplication) -> None:
    assert QCoreApplication.translate("MainWindow", "&Quit") == "&Quit"


def test_why_the_connection_dropped_is_said_in_german_too(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, speak: Any
) -> None:
    speak("de")

    async def body() -> None:
        alice = await make_client(chat_server_here.url, "alice")
        label = alice.w.connection.label
        await chat_server_here.stop()
        # The socket drops, then every new attempt finds nobody at the address.
        await eventually(lambda: "nicht erreichbar" in label.toolTip())
        tip = label.toolTip()
        assert f"Der Server unter {chat_server_here.url} ist nicht erreichbar." in tip
        assert "Cannot" not in tip and "server" not in tip

    run(body())
