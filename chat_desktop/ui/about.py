"""The Help menu's two boxes: About Chat Desktop (versions) and the keyboard shortcuts.

Both show plain text only (the server's version comes from the network).
The shortcuts are read from the window's own menus,
so the list cannot drift from what the keys do; the README's "Using the app"
section says the rest.
"""

from __future__ import annotations

import platform

import PySide6
from PySide6.QtCore import QCoreApplication, Qt, qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMenu,
    QMenuBar,
    QMessageBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

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
        _tr("Chat Desktop {version}").format(version=__version__),
        _tr("Qt {qt}, PySide6 {pyside}").format(qt=qVersion(), pyside=PySide6.__version__),
        _tr("Python {version}").format(version=platform.python_version()),
        _tr("Server {version} at {url}").format(version=server, url=server_url),
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


def shortcuts(menu_bar: QMenuBar) -> list[tuple[str, str]]:
    """Every menu action that has keys, menu by menu: ("Go > Switch to room…", "Ctrl+K")."""
    rows = []
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
            rows.append((f"{menu_name} > {action.text().replace('&', '')}", keys))
    return rows


class ShortcutsDialog(QDialog):
    """The keyboard shortcuts (Help > Keyboard shortcuts, F1), in two columns.

    Signals: none of its own.
    """

    def __init__(self, menu_bar: QMenuBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        self.table = QTreeWidget(self)
        self.table.setHeaderLabels([self.tr("Action"), self.tr("Keys")])
        self.table.setRootIsDecorated(False)
        self.table.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for action, keys in shortcuts(menu_bar):
            # QTreeWidgetItem text is plain text.
            self.table.addTopLevelItem(QTreeWidgetItem([action, keys]))
        self.table.resizeColumnToContents(0)
        self.table.setColumnWidth(0, self.table.columnWidth(0) + 24)
        note = QLabel(
            self.tr(
                "Enter sends, Shift+Enter adds a line; @ offers people's names.\n"
                'More in the README, section "Using the app".'
            ),
            self,
        )
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setWordWrap(True)
        self.note = note
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(480, 380)
