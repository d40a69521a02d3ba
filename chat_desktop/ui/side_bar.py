"""The side bar's lists: rooms and direct messages with unread counts, and people with presence.

Both models are tiny list models fed with the controller's RoomEntry /
MemberEntry lists, each replaced wholesale (a few dozen rows at most), plus
a delegate that paints a room's unread count as a badge, and the unread
mentions of me as a second one ("@2"). Muted rooms are dimmed.

One :class:`RoomListModel` holds every room I can read, public and private
rooms first, then direct messages; the side bar shows it in two sections
through :class:`RoomKindFilter` (rooms, "Direct messages"), so that stepping
through rooms, Ctrl+K and the unread total see one list. A room shows its
label (a direct message: the other person's name), a private one a lock, a
direct message the other person's presence dot.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractListModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QListView,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from chat_desktop.controller.entries import MemberEntry, RoomEntry

from .resources import icon

_Index = QModelIndex | QPersistentModelIndex
UNREAD_ROLE = Qt.ItemDataRole.UserRole + 1
NAME_ROLE = Qt.ItemDataRole.UserRole + 2
MENTIONS_ROLE = Qt.ItemDataRole.UserRole + 3
MUTED_ROLE = Qt.ItemDataRole.UserRole + 4
KIND_ROLE = Qt.ItemDataRole.UserRole + 5


class RoomListModel(QAbstractListModel):
    """Rooms, then direct messages, each by label; DisplayRole is the label,
    NAME_ROLE the room's name, KIND_ROLE its kind, UNREAD_ROLE the unread
    count, MENTIONS_ROLE how many of those mention me, MUTED_ROLE whether it is muted.

    Signals: none beyond QAbstractItemModel's.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rooms: list[RoomEntry] = []
        self._muted: frozenset[str] = frozenset()
        # Who is online: a direct message shows the other person's presence.
        self._online: frozenset[str] = frozenset()
        # My name: the members of a direct message other than me are "the others".
        self._me = ""

    def set_me(self, me: str) -> None:
        self._me = me

    def set_online(self, names: frozenset[str]) -> None:
        """Who is online now (repaints the presence dots of direct messages)."""
        if names == self._online:
            return
        self._online = names
        if self._rooms:
            self.dataChanged.emit(self.index(0), self.index(len(self._rooms) - 1))

    def entry(self, name: str) -> RoomEntry | None:
        """The room ``name`` as last reported, None when it is not in the list."""
        return next((room for room in self._rooms if room.name == name), None)

    def set_muted(self, rooms: frozenset[str]) -> None:
        """The muted rooms (shown dimmed)."""
        self._muted = rooms
        if self._rooms:
            self.dataChanged.emit(self.index(0), self.index(len(self._rooms) - 1))

    def mentions_of(self, name: str) -> int:
        return next((room.mentions for room in self._rooms if room.name == name), 0)

    def set_rooms(self, rooms: list[RoomEntry]) -> None:
        rooms = sorted(
            rooms, key=lambda room: (room.kind == "direct", room.label.casefold(), room.name)
        )
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
        if role == Qt.ItemDataRole.DisplayRole:
            return room.label
        if role == NAME_ROLE:
            return room.name
        if role == KIND_ROLE:
            return room.kind
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
            if room.kind == "direct":
                return icon("online" if self._anyone_online(room) else "offline")
            return icon("lock" if room.kind == "private" else "room")
        if role == Qt.ItemDataRole.ToolTipRole and room.unread:
            return self.tr("%n unread", "", room.unread)
        if role == Qt.ItemDataRole.ToolTipRole and room.kind == "private":
            return self.tr("Private room")
        if role == Qt.ItemDataRole.AccessibleTextRole:
            # The painted badge, lock and presence dot, in words for a screen reader.
            what = self._spoken(room)
            if not room.unread:
                return what
            return self.tr("{room}, %n unread", "", room.unread).format(room=what)
        return None

    def _others(self, room: RoomEntry) -> list[str]:
        return [member for member in room.members if member != self._me]

    def _anyone_online(self, room: RoomEntry) -> bool:
        return any(member in self._online for member in self._others(room))

    def _spoken(self, room: RoomEntry) -> str:
        if room.kind == "private":
            return self.tr("{room}, private room").format(room=room.label)
        if room.kind == "direct":
            if self._anyone_online(room):
                return self.tr("{name}, direct message, online").format(name=room.label)
            return self.tr("{name}, direct message, offline").format(name=room.label)
        return room.label


class RoomKindFilter(QSortFilterProxyModel):
    """One section of the room list: the rooms (public and private), or the direct messages.

    Signals: none beyond QAbstractItemModel's.
    """

    def __init__(self, rooms: RoomListModel, *, direct: bool, parent: QObject | None = None):
        super().__init__(parent)
        # Which section: direct messages (True) or the rest.
        self._direct = direct
        self.setSourceModel(rooms)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        model = self.sourceModel()
        kind = model.data(model.index(source_row, 0, source_parent), KIND_ROLE)
        return bool(kind == "direct") == self._direct

    def row_of(self, name: str) -> int | None:
        for row in range(self.rowCount()):
            if self.index(row, 0).data(NAME_ROLE) == name:
                return row
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


# How many average characters of a room's name (in the bold font of an unread
# room) the side bar shows whole at its default width: "design-review",
# "customer-support" and their like, not only "dev-ops".
TYPICAL_NAME = 18
# What a room's row needs besides its name: the list's border and the row's
# margin and padding on both sides (style.qss), the icon and its spacing.
_ROW_CHROME = 2 * (2 + 6 + 8) + 16 + 6


def side_bar_width(font: QFont) -> int:
    """The side bar's default width for the list ``font``: a typical room name whole,
    in bold (unread), beside its icon and an unread count and a mentions count."""
    bold = QFont(font)
    bold.setWeight(QFont.Weight.Bold)
    name = QFontMetrics(bold).averageCharWidth() * TYPICAL_NAME
    small = QFontMetrics(_pill_font(font))
    # Two pills ("12", "@1") as RoomDelegate.paint lays them out.
    pills = [(text, QColor(), _pill_width(small, text)) for text in ("12", "@1")]
    return name + _ROW_CHROME + _pills_room(pills)


def _pill_width(metrics: QFontMetrics, text: str) -> int:
    """A count pill's width: its text with padding, never narrower than round."""
    return max(metrics.height() + 4, metrics.horizontalAdvance(text) + 12)


def _pills_room(pills: list[tuple[str, QColor, int]]) -> int:
    """How much of a row's width RoomDelegate.paint takes for ``pills`` (with its gaps)."""
    return sum(width + 4 for _, _, width in pills) + 13 if pills else 0


def _pill_font(font: QFont) -> QFont:
    """The font of the unread and mention counts: bold, a little smaller than the name."""
    small = QFont(font)
    small.setWeight(QFont.Weight.Bold)
    small.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
    return small


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
        _, pills = self._pills(option, index)
        # Room for the name whole beside the pills (at least as much as one
        # pill takes, so that a row does not grow when a count appears).
        return QSize(size.width() + max(36, _pills_room(pills)), max(size.height(), 30))

    def _pills(
        self, option: QStyleOptionViewItem, index: _Index
    ) -> tuple[QFont, list[tuple[str, QColor, int]]]:
        """The counts painted on the right, right to left: the unread count, then
        "@2" for the mentions of me among them; each with its colour and width."""
        unread = int(index.data(UNREAD_ROLE) or 0)
        mentioned = int(index.data(MENTIONS_ROLE) or 0)
        small = _pill_font(option.font)
        if not unread:
            return small, []
        metrics = QFontMetrics(small)
        pills = [(str(unread) if unread < 1000 else "999+", QColor("#d0403a"))]
        if mentioned:
            pills.append((f"@{mentioned}" if mentioned < 100 else "@99+", QColor("#2f7bd9")))
        return small, [(text, back, _pill_width(metrics, text)) for text, back in pills]

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        small, pills = self._pills(option, index)
        if not pills:
            super().paint(painter, option, index)
            return
        height = QFontMetrics(small).height() + 2
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        right = rect.right() - 10
        shapes = []
        for text, back, width in pills:
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
        # My own name, shown with "(you)" (a click on it opens no conversation).
        self._me = ""
        # The room's creator, shown with "(creator)" (the members panel; None: unknown).
        self._creator: str | None = None

    def set_me(self, me: str) -> None:
        self._me = me

    def set_creator(self, creator: str | None) -> None:
        if creator == self._creator:
            return
        self._creator = creator
        if self._members:
            last = self.index(len(self._members) - 1, 0)
            self.dataChanged.emit(self.index(0, 0), last)

    def set_members(self, members: list[MemberEntry]) -> None:
        members = sorted(members, key=lambda m: (not m.online, m.name.casefold()))
        if members == self._members:
            # Nothing changed: keep the selection and the current row.
            return
        self.beginResetModel()
        self._members = members
        self.endResetModel()

    def members(self) -> list[MemberEntry]:
        return list(self._members)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._members)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._members):
            return None
        member = self._members[index.row()]
        # Names are compared as the server does for accounts: case-insensitively.
        creator = self._creator is not None and member.name.lower() == self._creator.lower()
        if role == Qt.ItemDataRole.DisplayRole and creator:
            if member.name == self._me:
                return self.tr("{name} (you, creator)").format(name=member.name)
            return self.tr("{name} (creator)").format(name=member.name)
        if role == Qt.ItemDataRole.DisplayRole and member.name == self._me:
            return self.tr("{name} (you)").format(name=member.name)
        if role in (Qt.ItemDataRole.DisplayRole, NAME_ROLE):
            return member.name
        if role == Qt.ItemDataRole.DecorationRole:
            return icon("online" if member.online else "offline")
        if role == Qt.ItemDataRole.ToolTipRole:
            presence = self.tr("online") if member.online else self.tr("offline")
            if member.admin:
                presence = self.tr("{presence} · admin").format(presence=presence)
            if creator:
                return self.tr("{presence} · created this room").format(presence=presence)
            return presence
        if role == Qt.ItemDataRole.AccessibleTextRole:
            # The presence dot, in words for a screen reader.
            if creator and member.online:
                return self.tr("{name}, the room's creator, online").format(name=member.name)
            if creator:
                return self.tr("{name}, the room's creator, offline").format(name=member.name)
            if member.online:
                return self.tr("{name}, online").format(name=member.name)
            return self.tr("{name}, offline").format(name=member.name)
        if role == Qt.ItemDataRole.ForegroundRole and not member.online:
            return QPalette().brush(QPalette.ColorRole.PlaceholderText)
        return None


class FittedListView(QListView):
    """A list as tall as its rows (at most ``most_rows`` of them), scrolling beyond.

    The side bar stacks rooms, direct messages and people: a short list
    should not keep empty space that the next section needs, and a long one
    scrolls instead of pushing the others out.

    Signals: none beyond QListView's.
    """

    def __init__(self, parent: QWidget | None = None, *, most_rows: int = 12) -> None:
        super().__init__(parent)
        self._most_rows = most_rows
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    def setModel(self, model: QAbstractItemModel | None) -> None:
        super().setModel(model)
        if model is not None:
            for signal in (
                model.rowsInserted,
                model.rowsRemoved,
                model.modelReset,
                model.layoutChanged,
            ):
                signal.connect(self.updateGeometry)
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        model = self.model()
        rows = min(model.rowCount() if model is not None else 0, self._most_rows)
        height = sum(max(self.sizeHintForRow(row), 0) for row in range(rows))
        # An empty section keeps a sliver under its title, not a blank box.
        height = max(height, 8)
        return QSize(hint.width(), height + 2 * self.frameWidth() + 6)

    def minimumSizeHint(self) -> QSize:
        # One whole row at least: a sliver of a cut row reads as a glitch.
        model = self.model()
        row = self.sizeHintForRow(0) if model is not None and model.rowCount() else 8
        return QSize(super().minimumSizeHint().width(), row + 2 * self.frameWidth() + 2)
