"""QuickSwitchDialog: Ctrl+K, type a few letters of a room, Enter opens it.

A line edit over a filtered view of the side bar's own
:class:`~chat_desktop.ui.side_bar.RoomListModel` (Qt's ``QSortFilterProxyModel``,
case-insensitive, matching anywhere in the name). The first match is always
the current row, so Enter opens it; Up and Down move through the matches
without leaving the line edit; Escape closes.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QLineEdit, QListView, QVBoxLayout, QWidget

from .side_bar import NAME_ROLE, RoomDelegate, RoomListModel


class QuickSwitchDialog(QDialog):
    """The room switcher; see the module docstring.

    Signals:
        roomChosen(str): Enter (or a click) picked this room; the dialog then closes.
    """

    roomChosen = Signal(str)

    def __init__(self, rooms: RoomListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quickSwitch")
        self.setWindowTitle(self.tr("Switch to room"))
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText(self.tr("Room name"))
        self.filter.setAccessibleName(self.tr("Room name"))
        self.filter.setClearButtonEnabled(True)
        self.matches = QSortFilterProxyModel(self)
        self.matches.setSourceModel(rooms)
        self.matches.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.list = QListView(self)
        self.list.setModel(self.matches)
        self.list.setAccessibleName(self.tr("Matching rooms"))
        self.list.setItemDelegate(RoomDelegate(self.list))
        self.list.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        # The line edit keeps the keys; the list only shows where Enter goes.
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.list)
        self.resize(320, 280)

        self.filter.textChanged.connect(self._filter)
        self.filter.returnPressed.connect(self._choose_current)
        self.filter.installEventFilter(self)
        self.list.clicked.connect(self._choose)
        self._filter("")

    def _filter(self, text: str) -> None:
        # Literal text, not a pattern: a room name with '.' or '*' means just that.
        self.matches.setFilterFixedString(text.strip())
        if self.matches.rowCount():
            self.list.setCurrentIndex(self.matches.index(0, 0))

    def _choose_current(self) -> None:
        index = self.list.currentIndex()
        if index.isValid():
            self._choose(index)

    def _choose(self, index: QModelIndex) -> None:
        self.roomChosen.emit(str(index.data(NAME_ROLE)))
        self.accept()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.filter and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1}.get(Qt.Key(event.key()), 0)
            rows = self.matches.rowCount()
            if step and rows:
                row = (self.list.currentIndex().row() + step) % rows
                self.list.setCurrentIndex(self.matches.index(row, 0))
                return True
        return super().eventFilter(watched, event)
