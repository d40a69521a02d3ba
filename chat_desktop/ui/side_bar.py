"""The side bar's two lists: rooms with unread counts, and members with presence.

Both are tiny list models fed with the controller's RoomEntry / MemberEntry
lists, each replaced wholesale (a few dozen rows at most), plus a delegate
that paints a room's unread count as a badge.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from chat_desktop.controller.entries import MemberEntry, RoomEntry

from .resources import icon

_Index = QModelIndex | QPersistentModelIndex
UNREAD_ROLE = Qt.ItemDataRole.UserRole + 1
NAME_ROLE = Qt.ItemDataRole.UserRole + 2


class RoomListModel(QAbstractListModel):
    """Rooms by name; DisplayRole is "name", UNREAD_ROLE the unread count.

    Signals: none beyond QAbstractItemModel's.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rooms: list[RoomEntry] = []

    def set_rooms(self, rooms: list[RoomEntry]) -> None:
        rooms = sorted(rooms, key=lambda room: room.name)
        if [r.name for r in rooms] == [r.name for r in self._rooms]:
            # Same rooms, new counts: repaint without resetting the selection.
            self._rooms = rooms
            if rooms:
                self.dataChanged.emit(self.index(0), self.index(len(rooms) - 1))
            return
        self.beginResetModel()
        self._rooms = rooms
        self.endResetModel()

    def row_of(self, name: str) -> int | None:
        for number, room in enumerate(self._rooms):
            if room.name == name:
                return number
        return None

    def names(self) -> list[str]:
        return [room.name for room in self._rooms]

    def unread_of(self, name: str) -> int:
        return next((room.unread for room in self._rooms if room.name == name), 0)

    def unread_total(self) -> int:
        return sum(room.unread for room in self._rooms)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rooms)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rooms):
            return None
        room = self._rooms[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, NAME_ROLE):
            return room.name
        if role == UNREAD_ROLE:
            return room.unread
        if role == Qt.ItemDataRole.DecorationRole:
            return icon("room")
        if role == Qt.ItemDataRole.ToolTipRole and room.unread:
            return self.tr("%n unread", "", room.unread)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            # The painted badge, in words for a screen reader.
            if not room.unread:
                return room.name
            return self.tr("{room}, %n unread", "", room.unread).format(room=room.name)
        return None


class RoomDelegate(QStyledItemDelegate):
    """The default row, plus the unread count as a pill on the right; unread rooms in bold.

    Signals: none.
    """

    def initStyleOption(self, option: QStyleOptionViewItem, index: _Index) -> None:
        super().initStyleOption(option, index)
        if index.data(UNREAD_ROLE):
            option.font.setWeight(QFont.Weight.Bold)

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width() + 36, max(size.height(), 30))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        unread = int(index.data(UNREAD_ROLE) or 0)
        if not unread:
            super().paint(painter, option, index)
            return
        text = str(unread) if unread < 1000 else "999+"
        small = QFont(option.font)
        small.setWeight(QFont.Weight.Bold)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.85))
        metrics = QFontMetrics(small)
        width = max(metrics.height() + 4, metrics.horizontalAdvance(text) + 12)
        height = metrics.height() + 2
        rect = option.rect
        pill = QRectF(
            rect.right() - width - 10,
            rect.center().y() - height / 2 + 1,
            width,
            height,
        )
        shrunk = QStyleOptionViewItem(option)
        shrunk.rect = QRect(rect.left(), rect.top(), rect.width() - width - 12, rect.height())
        super().paint(painter, shrunk, index)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        if selected:
            painter.setBrush(palette.color(QPalette.ColorRole.HighlightedText))
            fore = palette.color(QPalette.ColorRole.Highlight)
        else:
            painter.setBrush(QColor("#d0403a"))
            fore = QColor("#ffffff")
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setPen(fore)
        painter.setFont(small)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class MemberListModel(QAbstractListModel):
    """Users, online first then by name; the decoration is a presence dot.

    Signals: none beyond QAbstractItemModel's.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._members: list[MemberEntry] = []

    def set_members(self, members: list[MemberEntry]) -> None:
        self.beginResetModel()
        self._members = sorted(members, key=lambda m: (not m.online, m.name.casefold()))
        self.endResetModel()

    def members(self) -> list[MemberEntry]:
        return list(self._members)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._members)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._members):
            return None
        member = self._members[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, NAME_ROLE):
            return member.name
        if role == Qt.ItemDataRole.DecorationRole:
            return icon("online" if member.online else "offline")
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tr("online") if member.online else self.tr("offline")
        if role == Qt.ItemDataRole.AccessibleTextRole:
            # The presence dot, in words for a screen reader.
            if member.online:
                return self.tr("{name}, online").format(name=member.name)
            return self.tr("{name}, offline").format(name=member.name)
        if role == Qt.ItemDataRole.ForegroundRole and not member.online:
            return QPalette().brush(QPalette.ColorRole.PlaceholderText)
        return None
