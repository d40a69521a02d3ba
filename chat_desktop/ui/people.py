"""Picking people: the picker the "New message", "New room" and "Invite" dialogs share.

:class:`PeoplePicker` is a filter field over a list of everyone the
controller knows (``ChatController.people()``: online first, each with a
presence dot), with a check box per person. A click on a row or Space on the
current row ticks or unticks it; the picked names are kept in the model, not
in the view's selection, so that narrowing the filter never forgets them.
Down in the filter field moves into the list, typing in the list goes back
to the filter. In a dialog that only picks people, Enter on a typed name
with nobody picked yet picks the first match and goes on to the dialog's
button ("bob", Enter is a conversation with bob); inside a bigger form,
Enter picks the match and clears the filter for the next name. Under the
list, "Chosen: bob, carol" repeats the choice, so that it shows while the
filter hides some of it.

:class:`PeopleDialog` wraps a picker with an OK button named for what it
does ("Open conversation", "Invite"); it is opened with ``open()`` (no
nested event loop, see main_window.py) and says what was picked with
:attr:`PeopleDialog.peopleChosen`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chat_desktop.controller.entries import MemberEntry

from .resources import icon
from .side_bar import NAME_ROLE

_Index = QModelIndex | QPersistentModelIndex


class PeopleModel(QAbstractListModel):
    """People with presence dots and a check box each; CheckStateRole says who is picked.

    Signals:
        chosenChanged(): a person was picked or unpicked.
    """

    chosenChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._people: list[MemberEntry] = []
        # Picked names, kept across set_people() and the filter.
        self._chosen: list[str] = []

    def set_people(self, people: list[MemberEntry]) -> None:
        self.beginResetModel()
        self._people = sorted(people, key=lambda m: (not m.online, m.name.casefold()))
        self.endResetModel()
        known = {person.name for person in self._people}
        kept = [name for name in self._chosen if name in known]
        if kept != self._chosen:
            self._chosen = kept
            self.chosenChanged.emit()

    def chosen(self) -> list[str]:
        """The picked names, in the order they were picked."""
        return list(self._chosen)

    def toggle(self, name: str) -> None:
        if name in self._chosen:
            self._chosen.remove(name)
        elif any(person.name == name for person in self._people):
            self._chosen.append(name)
        else:
            return
        row = next(n for n, person in enumerate(self._people) if person.name == name)
        self.dataChanged.emit(self.index(row), self.index(row))
        self.chosenChanged.emit()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._people)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        # Not ItemIsUserCheckable: the delegate must not toggle on its own, the
        # picker does (a click anywhere on the row, Space), exactly once.
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._people):
            return None
        person = self._people[index.row()]
        chosen = person.name in self._chosen
        if role in (Qt.ItemDataRole.DisplayRole, NAME_ROLE):
            return person.name
        if role == Qt.ItemDataRole.CheckStateRole:
            return Qt.CheckState.Checked if chosen else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole:
            return icon("online" if person.online else "offline")
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tr("online") if person.online else self.tr("offline")
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if person.online:
                text = self.tr("{name}, online").format(name=person.name)
            else:
                text = self.tr("{name}, offline").format(name=person.name)
            return self.tr("{person}, chosen").format(person=text) if chosen else text
        if role == Qt.ItemDataRole.ForegroundRole and not person.online:
            return QPalette().brush(QPalette.ColorRole.PlaceholderText)
        return None


class PeoplePicker(QWidget):
    """A filter field over everyone, with a check box per person; see the module docstring.

    Signals:
        chosenChanged(list): the picked names, whenever they change.
    """

    chosenChanged = Signal(list)

    def __init__(self, parent: QWidget | None = None, *, enter_submits: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("peoplePicker")
        # Whether Enter in the filter field is left to the dialog's default
        # button (a dialog that only picks people) or picks the match (a form
        # with more fields, where Enter must not send it half done).
        self.enter_submits = enter_submits
        self.people = PeopleModel(self)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText(self.tr("Find people"))
        self.filter.setAccessibleName(self.tr("Find people"))
        self.filter.setClearButtonEnabled(True)
        self.matches = QSortFilterProxyModel(self)
        self.matches.setSourceModel(self.people)
        self.matches.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.list = QListView(self)
        self.list.setObjectName("peopleList")
        self.list.setModel(self.matches)
        self.list.setAccessibleName(self.tr("People"))
        self.list.setAccessibleDescription(self.tr("Space or a click picks a person"))
        self.list.setIconSize(QSize(12, 12))
        self.list.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.summary = QLabel(self)
        self.summary.setObjectName("pickedPeople")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.summary)

        self.filter.textChanged.connect(self._filter)
        self.filter.installEventFilter(self)
        self.list.installEventFilter(self)
        self.list.clicked.connect(self._toggle_at)
        self.people.chosenChanged.connect(self._chosen_changed)
        self._chosen_changed()

    def set_people(
        self, people: list[MemberEntry], *, leave_out: frozenset[str] = frozenset()
    ) -> None:
        """Offer ``people`` but those in ``leave_out`` (me, the members already in)."""
        self.people.set_people([person for person in people if person.name not in leave_out])
        self._filter(self.filter.text())

    def chosen(self) -> list[str]:
        return self.people.chosen()

    def choose(self, name: str) -> None:
        """Pick ``name`` (as a click on it would)."""
        if name not in self.people.chosen():
            self.people.toggle(name)

    def _filter(self, text: str) -> None:
        # Literal text, not a pattern.
        self.matches.setFilterFixedString(text.strip())
        if self.matches.rowCount():
            self.list.setCurrentIndex(self.matches.index(0, 0))

    def _enter_in_filter(self) -> bool:
        """Enter in the filter field; whether the picker took the key."""
        index = self.list.currentIndex()
        if self.enter_submits:
            # Nobody picked yet: Enter picks the match under the typed name,
            # and the dialog's default button takes the same Enter right
            # after ("bob", Enter opens the conversation with bob).
            if not self.people.chosen() and index.isValid() and self.filter.text().strip():
                self._toggle_at(index)
            return False
        # Inside a bigger form Enter picks (or unpicks) the match and clears
        # the filter for the next name; the form is sent by its own button.
        if index.isValid() and self.filter.text().strip():
            self._toggle_at(index)
            self.filter.clear()
        return True

    def _toggle_at(self, index: QModelIndex) -> None:
        if index.isValid():
            self.people.toggle(str(index.data(NAME_ROLE)))

    def _chosen_changed(self) -> None:
        chosen = self.people.chosen()
        if chosen:
            self.summary.setText(self.tr("Chosen: {names}").format(names=", ".join(chosen)))
        else:
            self.summary.setText(self.tr("Nobody chosen yet"))
        self.chosenChanged.emit(chosen)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress:
            return super().eventFilter(watched, event)
        assert isinstance(event, QKeyEvent)
        key = Qt.Key(event.key())
        if watched is self.filter and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return self._enter_in_filter()
        if watched is self.filter and key == Qt.Key.Key_Down and self.matches.rowCount():
            self.list.setFocus()
            if not self.list.currentIndex().isValid():
                self.list.setCurrentIndex(self.matches.index(0, 0))
            return True
        if watched is self.list:
            if key == Qt.Key.Key_Space:
                self._toggle_at(self.list.currentIndex())
                return True
            if event.text() and event.text().isprintable() and not event.text().isspace():
                # Typing in the list goes on in the filter field.
                self.filter.setFocus()
                self.filter.insert(event.text())
                return True
        return super().eventFilter(watched, event)


class PeopleDialog(QDialog):
    """A people picker with OK named for the action; see the module docstring.

    Signals:
        peopleChosen(list): OK was pressed with at least one person picked.
    """

    peopleChosen = Signal(list)

    def __init__(
        self,
        title: str,
        action: str,
        people: list[MemberEntry],
        *,
        leave_out: frozenset[str] = frozenset(),
        note: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("peopleDialog")
        self.setWindowTitle(title)
        self.note = QLabel(note, self)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        self.note.setVisible(bool(note))
        self.picker = PeoplePicker(self)
        self.picker.set_people(people, leave_out=leave_out)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = QPushButton(action, self)
        self.ok_button.setDefault(True)
        buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self._ok)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(8)
        layout.addWidget(self.note)
        layout.addWidget(self.picker, 1)
        layout.addWidget(buttons)
        self.resize(360, 420)
        self.picker.chosenChanged.connect(lambda chosen: self.ok_button.setEnabled(bool(chosen)))
        self.ok_button.setEnabled(False)
        self.picker.filter.setFocus()

    def _ok(self) -> None:
        chosen = self.picker.chosen()
        if chosen:
            self.peopleChosen.emit(chosen)
            self.accept()
