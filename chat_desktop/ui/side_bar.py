"""The side bar's two lists: rooms with unread counts, and members with presence.

Both are tiny list models fed with the controller's RoomEntry / MemberEntry
lists, each replaced wholesale (a few dozen rows at most), plus a delegate
that paints a room's unread count as a badge, and the unread mentions of me
as a second one ("@2"). Muted rooms are dimmed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QCoreApplication,
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
MENTIONS_ROLE = Qt.ItemDataRole.UserRole + 3
MUTED_ROLE = Qt.ItemDataRole.UserRole + 4


class RoomListModel(QAbstractListModel):
    """Rooms by name; DisplayRole is "name", UNREAD_ROLE the unread count,
    MENTIONS_ROLE how many of those mention me, MUTED_ROLE whether it is muted.

    Signals: none beyond QAbstractItemModel's.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rooms: list[RoomEntry] = []
        self._muted: frozenset[str] = frozenset()

    def set_muted(self, rooms: frozenset[str]) -> None:
        """The muted rooms (shown dimmed)."""
        self._muted = rooms
        if self._rooms:
            self.dataChanged.emit(self.index(0), self.index(len(self._rooms) - 1))

    def mentions_of(self, name: str) -> int:
        return next((room.mentions for room in self._rooms if room.name == name), 0)

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
        if role == MENTIONS_ROLE:
            return room.mentions
        if role == MUTED_ROLE:
            return room.name in self._muted
        if role == Qt.ItemDataRole.ForegroundRole and room.name in self._muted:
            return QPalette().brush(QPalette.ColorRole.PlaceholderText)
        if role == Qt.ItemDataRole.ToolTipRole and (room.mentions or room.name in self._muted):
            return _room_tip(room, room.name in self._muted)
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


def _room_tip(room: RoomEntry, muted: bool) -> str:
    """ "3 unread · mentions of you: 1 · muted": what hovering a mentioned or muted room says."""
    parts = []
    if room.unread:
        parts.append(QCoreApplication.translate("RoomListModel", "%n unread", "", room.unread))
    if room.mentions:
        parts.append(
            QCoreApplication.translate("RoomListModel", "mentions of you: %n", "", room.mentions)
        )
    if muted:
        parts.append(QCoreApplication.translate("RoomListModel", "muted"))
    return " · ".join(parts)


class RoomDelegate(QStyledItemDelegate):
    """The default row, plus the unread count as a pill on the right (and "@2"
    beside it for mentions of me); unread rooms in bold.

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
        mentioned = int(index.data(MENTIONS_ROLE) or 0)
        if not unread:
            super().paint(painter, option, index)
            return
        small = QFont(option.font)
        small.setWeight(QFont.Weight.Bold)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.85))
        metrics = QFontMetrics(small)
        height = metrics.height() + 2
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        # Right to left: the unread count, then "@2" for the mentions of me among them.
        pills = [(str(unread) if unread < 1000 else "999+", QColor("#d0403a"))]
        if mentioned:
            pills.append((f"@{mentioned}" if mentioned < 100 else "@99+", QColor("#2f7bd9")))
        right = rect.right() - 10
        shapes = []
        for text, back in pills:
            width = max(metrics.height() + 4, metrics.horizontalAdvance(text) + 12)
            pill = QRectF(right - width, rect.center().y() - height / 2 + 1, width, height)
            shapes.append((pill, text, back))
            right = int(pill.left()) - 4
        shrunk = QStyleOptionViewItem(option)
        shrunk.rect = QRect(rect.left(), rect.top(), right - rect.left() - 2, rect.height())
        super().paint(painter, shrunk, index)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(small)
        for pill, text, back in shapes:
            if selected:
                back, fore = (
                    palette.color(QPalette.ColorRole.HighlightedText),
                    palette.color(QPalette.ColorRole.Highlight),
                )
            else:
                fore = QColor("#ffffff")
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(back)
            painter.drawRoundedRect(pill, height / 2, height / 2)
            painter.setPen(fore)
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
