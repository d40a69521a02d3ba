"""``chat-desktop``: start the app, run asyncio inside Qt, and shut everything down in order.

How asyncio runs inside Qt
--------------------------
A Qt app spends its life in Qt's event loop (``QApplication.exec``); asyncio
code (the ``websockets`` connection, aiohttp requests, the bundled server)
needs an asyncio loop. qasync's ``QEventLoop`` is both: it implements the
asyncio loop *on top of* Qt's loop, so coroutines, socket callbacks, timers
and Qt signals all run on the one main thread, taking turns. A widget slot can
therefore start an asyncio task (``TaskGroup.spawn``), and a task can update a
widget, with no thread and no lock.

One message, from my composer to your window
--------------------------------------------
1. I press Enter. :class:`~chat_desktop.ui.composer.Composer` emits
   ``submitted(text)``; the main window calls ``ChatController.send(room, text)``.
2. The controller draws a ``client_id``, puts the message in the cache's
   outbox (it survives a crash from here on) and emits ``messagesChanged``
   with a QUEUED entry: my window shows it at once, greyed "Queued". If the
   link is up, it spawns a task that awaits ``ServerLink.send(SendMessage)``,
   which writes one JSON frame to the WebSocket; the entry becomes SENT.
3. The server stores the message (seq 42), answers me with ``ack`` and
   broadcasts ``message`` to every connection, yours and mine.
4. In your app, the link's reader task decodes the frame and calls the
   controller's ``on_event``. The controller does not touch the UI yet: it
   collects events for 30 ms (a burst becomes one batch), then saves them in
   one cache transaction, drops any it already had (room, seq), and emits
   ``messagesChanged(room, entries)`` once.
5. Your :class:`~chat_desktop.ui.message_model.MessageListModel` inserts the
   rows in one ``beginInsertRows``/``endInsertRows``; the
   :class:`~chat_desktop.ui.message_view.MessageView` stays pinned to the
   bottom (or counts "1 new message"), and the
   :class:`~chat_desktop.ui.message_delegate.MessageDelegate` paints it.
   If your window is not active, the tray shows a notification.
6. Back in mine, the ``ack`` removes the message from the outbox and my row
   becomes DELIVERED (with its seq); were the connection to drop before the
   ack, the next connect sends it again with the same client_id and the
   server, which stores one message per client_id, answers with the same seq.

Start and stop
--------------
:func:`main` parses the options, creates the QApplication and the qasync
loop, and runs :meth:`ChatApp.run` until the user quits (menu, window close,
SIGINT or SIGTERM). The shutdown order matters: PySide6 + qasync + open
sockets abort at interpreter exit when torn down carelessly, so
:meth:`ChatApp.shut_down` closes the ServerLink (awaited), stops the hosted
server (awaited), closes the cache, and only then does :func:`main` stop the
loop, close it, delete the widgets and let the QApplication go.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

import qasync
from PySide6.QtCore import (
    QCoreApplication,
    QMessageLogContext,
    QStandardPaths,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication

from chat_desktop import __version__
from chat_desktop.controller.account import SignInController, tls_context
from chat_desktop.controller.certificates import CERTIFICATE_RECHECK
from chat_desktop.controller.chat import ChatController
from chat_desktop.controller.devices import AccountController
from chat_desktop.controller.hosting import LocalServer
from chat_desktop.controller.notifications import Appearance, NotificationPolicy, Preferences
from chat_desktop.controller.settings import AppSettings, Session
from chat_desktop.controller.tasks import TaskGroup
from chat_desktop.i18n import install_translations
from chat_desktop.storage import ChatCache, cache_path
from chat_desktop.storage.tokens import TokenStore, token_store
from chat_desktop.transport.pinning import PIN_FILE, PinStore
from chat_desktop.transport.urls import normalize_base_url
from chat_desktop.ui.account_dialogs import ChangePasswordDialog, DevicesDialog
from chat_desktop.ui.main_window import MainWindow
from chat_desktop.ui.quit_prompt import HostingQuitPrompt
from chat_desktop.ui.resources import StyleSheetFollower, forget_rendered_icons, icon
from chat_desktop.ui.settings_dialog import apply_appearance
from chat_desktop.ui.sign_in import SignInDialog

log = logging.getLogger(__name__)

APP_NAME = "Chat Desktop"
# The data folder's name under the platform's data location.
APP_FOLDER = "chat-desktop"
# The cache of a hosted chat is keyed by this rather than by its URL, whose
# port may change from one start to the next (8765 taken, next free one).
HOSTED_CACHE_KEY = "hosted-on-this-computer"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="chat-desktop",
        description="Chat with your team on the LAN: the desktop client of chat-server.",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        help="the chat server to use, e.g. http://chat.lan:8765 (skips the address field)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        help="keep all state (sign-in, cache, hosted server) in DIR instead of the "
        "platform's app data folder",
    )
    parser.add_argument(
        "--lang",
        metavar="LANG",
        help="the language of the app, e.g. de or en (default: the system's, from LANG)",
    )
    parser.add_argument("--version", action="version", version=f"chat-desktop {__version__}")
    return parser.parse_args(argv)


# Qt's own messages go to Python logging, so there is one place that decides
# what reaches the terminal. These are dropped: a platform plugin without a
# window manager (offscreen: CI, screenshots, the app under test) says "This
# plugin does not support propagateSizeHints()" (or raise()) for every window.
_QT_NOISE = ("This plugin does not support",)
_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    if any(noise in message for noise in _QT_NOISE):
        return
    logging.getLogger("qt").log(_QT_LEVELS.get(kind, logging.WARNING), "%s", message)


def default_data_dir() -> Path:
    """The platform's data folder for the app: ``~/.local/share/chat-desktop`` on Linux.

    Qt's ``AppDataLocation`` appends both the organisation and the application
    name, which are the same here, so versions before this one used
    ``.../chat-desktop/chat-desktop``. The folder is now the generic data
    location plus the app's name, and a doubled folder left by an older
    version (its token, settings, caches, a hosted server's database) is moved
    up into it on first start rather than abandoned.
    """
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    folder = Path(location) / APP_FOLDER if location else Path.home() / f".{APP_FOLDER}"
    lift_doubled_folder(folder)
    return folder


def lift_doubled_folder(folder: Path) -> None:
    """Move what an older version kept in ``folder/chat-desktop`` up into ``folder``.

    Nothing is ever overwritten or lost: an entry whose name already exists
    in ``folder`` stays behind (and is logged). The inner folder is first
    renamed aside, so a move cut short (power off) is finished on the next
    start. Renames within one file system keep each file's mode (0600).
    """
    doubled = folder / APP_FOLDER
    aside = folder / f".{APP_FOLDER}-moving"
    if doubled.is_dir() and not aside.exists():
        doubled.rename(aside)
    if not aside.is_dir():
        return
    kept = []
    for entry in sorted(aside.iterdir()):
        target = folder / entry.name
        if target.exists():
            kept.append(entry.name)
        else:
            entry.rename(target)
    if kept:
        log.warning("kept %s in %s: the same names exist in %s", kept, aside, folder)
    else:
        aside.rmdir()
        log.info("moved the data of an older version up into %s", folder)


class ChatApp:
    """The app's life: sign-in dialog or chat window, sign out, quit.

    Owns the settings, the hosted server (if any), and at most one of: the
    sign-in dialog with its controller, or the chat window with its
    controller and cache.
    """

    def __init__(
        self, data_dir: Path, server: str | None = None, *, tokens: TokenStore | None = None
    ) -> None:
        self.data_dir = data_dir
        # tokens: where the session token lives (default: a 0600 file in data_dir).
        self.settings = AppSettings(data_dir, tokens=tokens)
        # --server URL: the address is fixed (normalized; None when not given).
        self.fixed_server = normalize_base_url(server) if server else None
        self.local_server = LocalServer(data_dir / "server")
        # TLS certificates the user trusted (https servers with self-signed ones).
        self.pins = PinStore(data_dir / PIN_FILE)
        # Seconds before a certificate the user fixed is tried again (tests shorten it).
        self.certificate_recheck = CERTIFICATE_RECHECK
        # Where the sign-in dialog looks for servers on the LAN (None: everywhere).
        self.discovery_interfaces: list[str] | None = None
        self.tasks = TaskGroup()
        self.window: MainWindow | None = None
        self.controller: ChatController | None = None
        self.cache: ChatCache | None = None
        self.dialog: SignInDialog | None = None
        self.sign_in: SignInController | None = None
        # The open chat's session (its URL the one the app reaches, hosted or not).
        self.session: Session | None = None
        # "Signed-in devices" or "Change password…", at most one, with its controller.
        self.account_dialog: DevicesDialog | ChangePasswordDialog | None = None
        self._account: AccountController | None = None
        # "Quit and stop the chat for your colleagues?" while it is open.
        self.quit_prompt: HostingQuitPrompt | None = None
        self._quit = asyncio.Event()
        self._finished = False

    async def run(self) -> int:
        """Show the chat (or the sign-in dialog) and wait until the user quits."""
        appearance = Preferences(self.settings).appearance
        if appearance is not Appearance.SYSTEM:
            # Light or dark as chosen in Settings (the desktop's scheme otherwise).
            apply_appearance(appearance)
        session = self.settings.session()
        # --server names the server: a session elsewhere (or hosted here) does not count.
        if session is not None and (
            self.fixed_server is None
            or (not session.hosted and session.server_url == self.fixed_server)
        ):
            await self.open_chat(session)
        else:
            self.show_sign_in()
        await self._quit.wait()
        await self.shut_down()
        return 0

    def quit(self) -> None:
        """Ask the app to quit; :meth:`run` then shuts down in order."""
        self._quit.set()

    def ask_quit(self) -> None:
        """Quit from the menu, the tray or the window: first ask, when hosting for others.

        SIGTERM and SIGINT call :meth:`quit` directly: a logout or a service
        manager does not wait for an answer.
        """
        others = (
            self.local_server.others_online(self.session.username)
            if self.session is not None and self.session.hosted
            else []
        )
        if not others or self.window is None:
            self.quit()
            return
        if self.quit_prompt is not None:
            self.quit_prompt.raise_()
            return
        window = self.window
        if window.isHidden():
            # Asked from the tray while serving in the background: the
            # question shows over the window.
            window.show()
        prompt = HostingQuitPrompt(others, tray_available=window.tray.available(), parent=window)
        prompt.keepServing.connect(window.hide)
        prompt.quitAnyway.connect(self.quit)
        prompt.finished.connect(self._quit_prompt_closed)
        self.quit_prompt = prompt
        prompt.open()

    def _quit_prompt_closed(self) -> None:
        prompt, self.quit_prompt = self.quit_prompt, None
        if prompt is not None:
            prompt.deleteLater()

    # ------------------------------------------------------------ sign in

    def show_sign_in(self, message: str = "") -> None:
        address, username, _ = self.settings.last_server()
        self.sign_in = SignInController(
            self.settings,
            self.local_server,
            self.pins,
            discovery_interfaces=self.discovery_interfaces,
        )
        self.dialog = SignInDialog(
            self.sign_in,
            address=self.fixed_server or address,
            username=username,
            fixed_address=self.fixed_server is not None,
            message=message,
        )
        self.dialog.finished.connect(self._sign_in_finished)
        self.dialog.show()
        if self.fixed_server is None:
            self.sign_in.browse()

    def _sign_in_finished(self, result: int) -> None:
        dialog, self.dialog = self.dialog, None
        session = dialog.session if dialog is not None else None
        self.tasks.spawn(self._after_sign_in(session))
        if dialog is not None:
            dialog.deleteLater()

    async def _after_sign_in(self, session: Session | None) -> None:
        sign_in, self.sign_in = self.sign_in, None
        if sign_in is not None:
            await sign_in.close()
            sign_in.deleteLater()
        if session is None:
            self.quit()
        else:
            await self.open_chat(session)

    # --------------------------------------------------------------- chat

    async def open_chat(self, session: Session) -> None:
        """Open the window from the cache at once, then connect (hosting first if needed)."""
        key = HOSTED_CACHE_KEY if session.hosted else session.server_url
        self.cache = ChatCache.open(cache_path(self.data_dir, key, session.username))
        self.controller = ChatController(
            self.cache,
            server_url=session.server_url,
            username=session.username,
            token=session.token,
            ssl_context=tls_context(self.pins, session.server_url),
            pins=self.pins,
            certificate_recheck=self.certificate_recheck,
        )
        self.window = MainWindow(
            self.controller, policy=NotificationPolicy(Preferences(self.settings))
        )
        geometry = self.settings.window_geometry()
        if geometry:
            self.window.restoreGeometry(geometry)
        self.window.quitRequested.connect(self.ask_quit)
        self.window.signOutRequested.connect(self._sign_out_requested)
        self.window.accountDialogRequested.connect(self.show_account_dialog)
        self.session = session
        self.controller.unauthorized.connect(
            lambda: self.tasks.spawn(
                self.sign_out(
                    QCoreApplication.translate(
                        "ChatApp", "This device was signed out. Please sign in again."
                    )
                )
            )
        )
        self.window.show()
        base_url = session.server_url
        if session.hosted:
            try:
                base_url = await self.local_server.start(
                    _port_of(session.server_url), admin=session.username
                )
            except OSError as exc:
                self.window.statusBar().showMessage(
                    QCoreApplication.translate(
                        "ChatApp", "Cannot start the chat server here: {reason}"
                    ).format(reason=exc)
                )
                return
            if base_url != session.server_url:
                self.session = Session(base_url, session.username, session.token, hosted=True)
                self.settings.remember(self.session)
            if self.window is not None:
                self.window.show_hosting(self.local_server.lan_url())
        if self.controller is not None:
            self.controller.start(base_url)

    def show_account_dialog(self, which: str) -> None:
        """Open "Signed-in devices" (``"devices"``) or "Change password…" (``"password"``)."""
        if self.window is None or self.session is None:
            return
        if self.account_dialog is not None:
            self.account_dialog.raise_()
            self.account_dialog.activateWindow()
            return
        session = self.session
        self._account = AccountController(
            session.server_url,
            session.token,
            ssl_context=tls_context(self.pins, session.server_url),
        )
        kind = DevicesDialog if which == "devices" else ChangePasswordDialog
        self.account_dialog = kind(self._account, parent=self.window)
        self.account_dialog.finished.connect(self._account_dialog_finished)
        # open(), not exec(): no nested event loop under qasync.
        self.account_dialog.open()
        if which == "devices":
            self._account.refresh()

    def _account_dialog_finished(self, result: int) -> None:
        if (
            isinstance(self.account_dialog, ChangePasswordDialog)
            and result == ChangePasswordDialog.DialogCode.Accepted
            and self.window is not None
        ):
            self.window.statusBar().showMessage(
                QCoreApplication.translate(
                    "ChatApp", "Password changed. Your other devices were signed out."
                ),
                10_000,
            )
        self.tasks.spawn(self._close_account_dialog())

    async def _close_account_dialog(self) -> None:
        dialog, self.account_dialog = self.account_dialog, None
        controller, self._account = self._account, None
        if dialog is not None:
            dialog.finished.disconnect(self._account_dialog_finished)
            dialog.hide()
            dialog.deleteLater()
        if controller is not None:
            await controller.close()
            controller.deleteLater()

    def _sign_out_requested(self) -> None:
        self.tasks.spawn(self.sign_out())

    async def sign_out(self, message: str = "") -> None:
        """Log out on the server, forget the token, close the chat, show the dialog."""
        controller = self.controller
        if controller is None:
            return
        await controller.sign_out()
        self.settings.forget_token()
        await self._close_chat()
        if not self._quit.is_set():
            self.show_sign_in(message)

    async def _close_chat(self) -> None:
        await self._close_account_dialog()
        self.session = None
        if self.window is not None:
            self.settings.set_window_geometry(bytes(self.window.saveGeometry().data()))
        window, self.window = self.window, None
        controller, self.controller = self.controller, None
        cache, self.cache = self.cache, None
        await close_chat(window, controller, cache, self.local_server)

    # ----------------------------------------------------------- shutdown

    async def shut_down(self) -> None:
        """Close in order: dialog, link and tasks, hosted server, cache."""
        if self._finished:
            return
        self._finished = True
        if self.dialog is not None:
            dialog, self.dialog = self.dialog, None
            dialog.finished.disconnect(self._sign_in_finished)
            dialog.hide()
            dialog.deleteLater()
        if self.sign_in is not None:
            await self.sign_in.close()
            self.sign_in = None
        await self.tasks.close()
        await self._close_chat()


async def close_chat(
    window: MainWindow | None,
    controller: ChatController | None,
    cache: ChatCache | None,
    local_server: LocalServer | None = None,
) -> None:
    """Close one chat in order: the link and the controller's tasks, the hosted server, the cache.

    Whatever writes goes before what it writes to: the link feeds the
    controller, which writes to the cache; the server writes its own store.
    Once these are awaited nothing runs that could touch the cache. The
    widgets are deleted last, by the event loop (deleteLater).
    """
    if window is not None:
        window.shut_down()
    if controller is not None:
        await controller.close()
    if local_server is not None:
        await local_server.stop()
    if cache is not None:
        cache.close()
    if window is not None:
        window.deleteLater()
    if controller is not None:
        controller.deleteLater()


def _port_of(url: str) -> int | None:
    try:
        return urlsplit(url).port
    except ValueError:
        return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``chat-desktop``; returns the exit code (0 on every normal quit)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    qInstallMessageHandler(_qt_message)

    qt_app = QApplication(sys.argv[:1])
    qt_app.setApplicationName("chat-desktop")
    qt_app.setApplicationDisplayName(APP_NAME)
    qt_app.setOrganizationName("chat-desktop")
    qt_app.setApplicationVersion(__version__)
    qt_app.setWindowIcon(icon("app"))
    # Before any widget: every string is translated when it is made.
    install_translations(args.lang)
    # The sheet takes its colours from the palette: light, dark, and switches.
    StyleSheetFollower(qt_app)
    # The app decides when to quit (after closing connections), not Qt.
    qt_app.setQuitOnLastWindowClosed(False)

    loop = qasync.QEventLoop(qt_app)
    asyncio.set_event_loop(loop)
    data_dir = args.data_dir or default_data_dir()
    # The system keyring only for the platform's own folder: with --data-dir
    # the folder is the whole state (portable use, tests, the bundle check).
    tokens = token_store(data_dir, system_keyring=args.data_dir is None)
    app = ChatApp(data_dir, args.server, tokens=tokens)
    # SIGINT (Ctrl+C) and SIGTERM (logout, kill) quit like the menu does.
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, app.quit)
    try:
        code: int = loop.run_until_complete(app.run())
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
        loop.close()
        asyncio.set_event_loop(None)
    # Widgets go before the QApplication: deleting them after it is gone is
    # what crashes PySide6 programs at exit.
    del app
    gc.collect()
    forget_rendered_icons()
    qt_app.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
