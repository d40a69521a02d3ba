"""The Help menu's two boxes: About Chat Desktop (versions) and the keyboard shortcuts.

Both are plain text (QMessageBox in PlainText format): the server's version
comes from the network. The shortcuts are read from the window's own menus,
so the list cannot drift from what the keys do; the README's "Using the app"
section says the rest.
"""

from __future__ import annotations

import platform

import PySide6
from PySide6.QtCore import QCoreApplication, Qt, qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QMessageBox, QWidget

from chat_desktop import __version__

from .resources import icon


def _tr(text: str) -> str:
    return QCoreApplication.translate("AboutBox", text)


def about_text(server_version: str, server_url: str) -> str:
    """What About says: the app, Qt, PySide6, Python and the server, one per line."""
    server = server_version or _tr("not connected yet")
    lines = [
        _tr("Chat with your team on the LAN."),
        "",
        _tr("Chat Desktop %1").replace("%1", __version__),
        _tr("Qt %1, PySide6 %2").replace("%1", qVersion()).replace("%2", PySide6.__version__),
        _tr("Python %1").replace("%1", platform.python_version()),
        _tr("Server %1 at %2").replace("%1", server).replace("%2", server_url),
    ]
    return "\n".join(lines)


def _plain_box(title: str, text: str, parent: QWidget) -> QMessageBox:
    close = QMessageBox.StandardButton.Close
    box = QMessageBox(QMessageBox.Icon.NoIcon, title, text, close, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setIconPixmap(icon("app").pixmap(48, 48))
    return box


def about_box(server_version: str, server_url: str, parent: QWidget) -> QMessageBox:
    return _plain_box(_tr("About Chat Desktop"), about_text(server_version, server_url), parent)


def shortcuts_text(menu_bar: QMenuBar) -> str:
    """Every menu action that has keys: "Ctrl+K   Go > Switch to room…", menu by menu."""
    lines = []
    for menu_action in menu_bar.actions():
        menu = menu_action.menu()
        if not isinstance(menu, QMenu):
            continue
        menu_name = menu_action.text().replace("&", "")
        for action in menu.actions():
            if not isinstance(action, QAction) or action.shortcut().isEmpty():
                continue
            keys = ", ".join(
                key.toString(QKeySequence.SequenceFormat.NativeText) for key in action.shortcuts()
            )
            lines.append(f"{keys}\t{menu_name} > {action.text().replace('&', '')}")
    lines += [
        "",
        _tr("Enter sends, Shift+Enter adds a line; @ offers people's names."),
        _tr('More in the README, section "Using the app".'),
    ]
    return "\n".join(lines)


def shortcuts_box(menu_bar: QMenuBar, parent: QWidget) -> QMessageBox:
    return _plain_box(_tr("Keyboard shortcuts"), shortcuts_text(menu_bar), parent)
