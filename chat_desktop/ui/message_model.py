"""MessageListModel: the rows of one conversation, for a QListView and MessageDelegate.

Rows are kept in the order the user reads them: first every stored message by
seq, then my own messages that have no seq yet (queued, on the wire, refused)
in the order I wrote them. The model never talks to the network or the cache;
the main window feeds it with what the controller emits:

- :meth:`reset` when the room changes (the newest page from the cache),
- :meth:`add` for a batch of new or updated entries (one insert per batch),
- :meth:`prepend` for an older page (history scrolled into view),
- :meth:`drop_oldest` to forget rows the reader has scrolled far past (the
  view does this while pinned to the bottom; they come back from the cache
  through :meth:`prepend` when the reader scrolls up).

Duplicates are dropped by seq (a replay after a reconnect may repeat what the
cache already had), and an entry whose (author, client_id) is already present
replaces that row: that is how "sent" becomes "delivered" when the ack or the
broadcast of my own message arrives.

Besides the entry itself the model derives, per row, what only makes sense
next to its neighbours: whether the row starts a new group (another author,
or a pause of more than :data:`GROUP_SECONDS`) and whether a new day starts.

Version 2 adds two things a row shows that come from elsewhere: the message a
reply quotes (:attr:`MessageRole.QUOTE`: found among the rows, else through
the lookup given to :meth:`MessageListModel.set_quote_source`, which the
window points at the controller's cache) and who has read up to this
message in a private or direct room (:meth:`MessageListModel.set_seen_by`).
An edited, deleted or reacted message arrives again with the same author and
client_id and replaces its row; replies quoting it are refreshed with it.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from chat_desktop.controller.entries import DeliveryState, MessageEntry
from chat_desktop.controller.wording import say
from chat_protocol.rules import parse_ts

from .dates import clock, day_label, full
from .text_spans import mentions, plain_tooltip

# Consecutive messages of one author closer than this share one header.
GROUP_SECONDS = 5 * 60

_Index = QModelIndex | QPersistentModelIndex


class MessageRole(enum.IntEnum):
    """Item data roles beyond DisplayRole (the plain text) and ToolTipRole."""

    ENTRY = Qt.ItemDataRole.UserRole + 1  # the MessageEntry
    SHOW_HEADER = enum.auto()  # bool: paint author and time above this row
    DAY_LABEL = enum.auto()  # str: a day separator above this row, "" for none
    MENTION = enum.auto()  # bool: the text mentions me
    MINE = enum.auto()  # bool: I wrote it
    TIME = enum.auto()  # str: local time as the locale writes it ("14:05", "2:05 PM")
    QUOTE = enum.auto()  # Quote | None: what a reply quotes, above its text
    SEEN_BY = enum.auto()  # tuple[str, ...]: who has read up to this message (private rooms)


@dataclass(frozen=True, slots=True)
class Quote:
    """The message a reply answers, as its quote shows it: author and first line.

    ``author`` is "" when the original is not on this computer (the quote then
    says so); ``deleted`` when it was deleted since.
    """

    seq: int
    author: str
    first_line: str
    deleted: bool = False

    @classmethod
    def of(cls, seq: int, original: MessageEntry | None) -> Quote:
        if original is None:
            return cls(seq, "", "")
        line = original.text.strip().split("\n", 1)[0] if original.text.strip() else ""
        return cls(seq, original.author, line, original.deleted)


# A quote not looked up yet (None is a looked-up "not a reply").
_UNKNOWN = Quote(0, "", "")


@dataclass(slots=True, eq=False)
class _Row:
    """An entry plus what the model computes once for it (local time, mention).

    ``height`` is the row's laid-out height as the delegate last measured it,
    valid for ``height_key`` (the delegate's width and font generation). Qt
    asks for the height of every row at each layout pass; keeping it here
    makes that a lookup. A new entry makes a new _Row; a neighbour that
    changes this row's header forgets the height (:meth:`_neighbour_changed`).
    """

    entry: MessageEntry
    local: datetime
    mention: bool
    height_key: object = None
    height: int = 0
    # The quote of a reply, once looked up (_UNKNOWN before).
    quote: Quote | None = _UNKNOWN

    @property
    def day(self) -> date:
        return self.local.date()


def local_time(ts: str) -> datetime:
    """A protocol time stamp in the computer's time zone (now when unreadable)."""
    try:
        return parse_ts(ts).astimezone()
    except ValueError:
        return datetime.now().astimezone()


class MessageListModel(QAbstractListModel):
    """The messages of the room being shown, oldest first.

    Signals: none of its own beyond QAbstractItemModel's (rowsInserted,
    dataChanged, modelReset, ...); the view uses rowsAboutToBeInserted at row 0
    to keep the scroll position when older messages are prepended.
    """

    def __init__(self, me: str = "", parent: QObject | None = None) -> None:
        super().__init__(parent)
        # My user name: marks my own rows and finds mentions of me.
        self._me = me
        self._room = ""
        self._rows: list[_Row] = []
        # Rows [0, _stored) have a seq and are sorted by it; the rest are mine, pending.
        self._stored = 0
        # Seqs present, to drop duplicates of a replay or a history page in O(1).
        self._seqs: set[int] = set()
        # (author, client_id) -> seq of every stored row: row_of finds a stored
        # row by bisecting on that seq, which stays right when rows shift (a
        # scan of all rows per arriving message made a burst quadratic).
        self._ids: dict[tuple[str, str], int] = {}
        # Finds a quoted message that is not among the rows (the controller's
        # cache); None: only the rows are searched.
        self._quote_source: Callable[[str, int], MessageEntry | None] | None = None
        # seq -> the other members who have read up to it (private/direct rooms).
        self._seen: dict[int, tuple[str, ...]] = {}

    # ----------------------------------------------------------------- state

    @property
    def room(self) -> str:
        return self._room

    @property
    def me(self) -> str:
        return self._me

    @property
    def has_older(self) -> bool:
        """Whether messages older than row 0 exist: seqs start at 1 and have no holes."""
        return self._stored > 0 and (self._rows[0].entry.seq or 0) > 1

    def oldest_seq(self) -> int | None:
        """The seq of the oldest stored row, None when there is none."""
        return self._rows[0].entry.seq if self._stored else None

    def entry(self, row: int) -> MessageEntry:
        return self._rows[row].entry

    def entries(self) -> list[MessageEntry]:
        return [row.entry for row in self._rows]

    def row_of(self, author: str, client_id: str) -> int | None:
        """The row holding the message (author, client_id), None when it is not shown.

        A stored row is found through its seq in O(log n); the pending rows
        (mine, without a seq: few) are searched from the newest.
        """
        seq = self._ids.get((author, client_id))
        if seq is not None:
            number = self._position(seq)
            if number < self._stored and self._rows[number].entry.seq == seq:
                return number
        for number in range(len(self._rows) - 1, self._stored - 1, -1):
            entry = self._rows[number].entry
            if entry.client_id == client_id and entry.author == author:
                return number
        return None

    def row_of_seq(self, seq: int) -> int | None:
        """The row of the stored message ``seq``, None when it is not shown."""
        number = self._position(seq)
        if number < self._stored and self._rows[number].entry.seq == seq:
            return number
        return None

    def quote(self, number: int) -> Quote | None:
        """What row ``number`` quotes when it is a reply, None when it is not one."""
        row = self._rows[number]
        if row.quote is _UNKNOWN:
            seq = row.entry.reply_to
            if seq is None:
                row.quote = None
            else:
                at = self.row_of_seq(seq)
                original = self._rows[at].entry if at is not None else None
                if original is None and self._quote_source is not None:
                    original = self._quote_source(self._room, seq)
                row.quote = Quote.of(seq, original)
        return row.quote

    def set_quote_source(self, source: Callable[[str, int], MessageEntry | None]) -> None:
        """Look quoted messages that are not shown up with ``source(room, seq)``."""
        self._quote_source = source

    def seen_by(self, number: int) -> tuple[str, ...]:
        entry = self._rows[number].entry
        return self._seen.get(entry.seq, ()) if entry.seq is not None else ()

    def set_seen_by(self, seen: dict[int, list[str]]) -> None:
        """Who has read up to which message: "Seen by …" moves to those rows."""
        fresh = {seq: tuple(sorted(users, key=str.lower)) for seq, users in seen.items() if users}
        if fresh == self._seen:
            return
        changed = set(fresh) ^ set(self._seen) | {
            seq for seq in fresh.keys() & self._seen.keys() if fresh[seq] != self._seen[seq]
        }
        self._seen = fresh
        for seq in changed:
            self._refresh(self.row_of_seq(seq))

    def row_height(self, number: int, key: object) -> int | None:
        """The height stored for row ``number`` under ``key``, None when unknown."""
        row = self._rows[number]
        return row.height if row.height_key == key else None

    def set_row_height(self, number: int, key: object, height: int) -> None:
        """Store row ``number``'s laid-out height for ``key`` (see _Row)."""
        row = self._rows[number]
        row.height_key = key
        row.height = height

    # ------------------------------------------------------------- feeding

    def reset(self, room: str, entries: Iterable[MessageEntry]) -> None:
        """Show ``room`` with ``entries`` (any order; duplicates dropped)."""
        self.beginResetModel()
        if room != self._room:
            self._seen = {}
        self._room = room
        self._rows = []
        self._stored = 0
        self._seqs = set()
        self._ids = {}
        stored, pending = self._split(entries)
        self._rows = [self._row(entry) for entry in stored + pending]
        self._stored = len(stored)
        for entry in stored:
            self._index(entry)
        self.endResetModel()

    def add(self, entries: Iterable[MessageEntry]) -> int:
        """Merge new messages and state changes of this room; return how many rows were added.

        The common case, a batch of messages newer than everything shown, is
        one beginInsertRows/endInsertRows for the whole batch.
        """
        fresh: list[MessageEntry] = []
        for entry in entries:
            if entry.room != self._room:
                continue
            known = self.row_of(entry.author, entry.client_id)
            if known is None:
                if entry.seq is None or entry.seq not in self._seqs:
                    fresh.append(entry)
                continue
            current = self._rows[known].entry
            if current.seq is not None and entry.seq is None:
                # A late "sent" or "failed" for a message the server already
                # stored (the broadcast overtook the ack): the stored one wins.
                continue
            if current.seq is None and entry.seq is not None:
                # My pending message got its seq: it moves among the stored rows.
                self._remove(known)
                if entry.seq not in self._seqs:
                    fresh.append(entry)
                continue
            if current != entry:
                self._rows[known] = self._row(entry)
                if known + 1 < len(self._rows):
                    # Its header may depend on this row's author and time.
                    self._rows[known + 1].height_key = None
                if entry.seq is not None:
                    self._index(entry)
                    self._quoted_changed(entry.seq)
                index = self.index(known)
                self.dataChanged.emit(index, index)
        stored, pending = self._split(fresh)
        added = 0
        if stored:
            added += self._insert_stored(stored)
        if pending:
            self._insert(len(self._rows), pending)
            added += len(pending)
        return added

    def prepend(self, entries: Iterable[MessageEntry]) -> int:
        """Add an older page above the first row; return how many rows were added."""
        stored, _ = self._split(e for e in entries if e.room == self._room)
        stored = [e for e in stored if e.seq not in self._seqs]
        if not stored:
            return 0
        return self._insert_stored(stored)

    def drop_oldest(self, count: int) -> int:
        """Remove up to ``count`` of the oldest stored rows; return how many were removed.

        Only stored rows go (they are in the cache and come back as an older
        page); my pending messages always stay.
        """
        count = min(count, self._stored)
        if count <= 0:
            return 0
        self.beginRemoveRows(QModelIndex(), 0, count - 1)
        for row in self._rows[:count]:
            self._unindex(row.entry)
        del self._rows[:count]
        self._stored -= count
        self.endRemoveRows()
        self._neighbour_changed(0)
        return count

    # ----------------------------------------------------- Qt model interface

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        number = index.row()
        row = self._rows[number]
        entry = row.entry
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.text
        if role == MessageRole.ENTRY:
            return entry
        if role == MessageRole.SHOW_HEADER:
            return self._starts_group(number)
        if role == MessageRole.DAY_LABEL:
            return self._day_label(number)
        if role == MessageRole.MENTION:
            return row.mention
        if role == MessageRole.MINE:
            return entry.author == self._me
        if role == MessageRole.TIME:
            return clock(row.local)
        if role == MessageRole.QUOTE:
            return self.quote(number)
        if role == MessageRole.SEEN_BY:
            return self.seen_by(number)
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(self._tooltip(row))
        if role == Qt.ItemDataRole.AccessibleTextRole:
            # What a screen reader says for the row: who, when, what (the
            # painted header is not text it can read).
            text = self.tr("message deleted") if entry.deleted else entry.text
            if entry.files and not entry.deleted:
                names = self.tr("Files: {names}").format(
                    names=", ".join(ref.name for ref in entry.files)
                )
                text = f"{text}. {names}" if text else names
            return self.tr("{author} at {time}: {text}").format(
                author=entry.author, time=clock(row.local), text=text
            )
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        # Selectable, so that Ctrl+C copies the rows chosen (see MessageView);
        # "editable" only in that a read-only text field opens on a row for
        # selecting part of its text with the mouse (see MessageDelegate).
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not self._rows[index.row()].entry.deleted:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    # -------------------------------------------------------------- helpers

    def _row(self, entry: MessageEntry) -> _Row:
        mine = entry.author == self._me
        return _Row(entry, local_time(entry.ts), not mine and mentions(entry.text, self._me))

    @staticmethod
    def _split(entries: Iterable[MessageEntry]) -> tuple[list[MessageEntry], list[MessageEntry]]:
        """Stored entries sorted by seq without duplicates, and pending ones in order."""
        by_seq: dict[int, MessageEntry] = {}
        pending = []
        for entry in entries:
            if entry.seq is None:
                pending.append(entry)
            else:
                by_seq[entry.seq] = entry
        return [by_seq[seq] for seq in sorted(by_seq)], pending

    def _insert_stored(self, stored: Sequence[MessageEntry]) -> int:
        """Insert entries sorted by seq, as one block when they do not interleave."""
        first = self._position(stored[0].seq or 0)
        last = self._position(stored[-1].seq or 0)
        if first == last:
            self._insert(first, stored)
        else:
            # A history page that fills a hole in the middle: rare, row by row.
            for entry in stored:
                self._insert(self._position(entry.seq or 0), [entry])
        return len(stored)

    def _index(self, entry: MessageEntry) -> None:
        """Record a stored entry in the seq set and the (author, client_id) index."""
        assert entry.seq is not None
        self._seqs.add(entry.seq)
        self._ids[(entry.author, entry.client_id)] = entry.seq

    def _unindex(self, entry: MessageEntry) -> None:
        """Forget a stored entry that leaves the model (undoes :meth:`_index`)."""
        assert entry.seq is not None
        self._seqs.discard(entry.seq)
        key = (entry.author, entry.client_id)
        if self._ids.get(key) == entry.seq:
            del self._ids[key]

    def _position(self, seq: int) -> int:
        return bisect.bisect_left(self._rows, seq, hi=self._stored, key=_seq_of)

    def _insert(self, at: int, entries: Sequence[MessageEntry]) -> None:
        self.beginInsertRows(QModelIndex(), at, at + len(entries) - 1)
        self._rows[at:at] = [self._row(entry) for entry in entries]
        for entry in entries:
            if entry.seq is not None:
                self._stored += 1
                self._index(entry)
        self.endInsertRows()
        self._neighbour_changed(at + len(entries))

    def _remove(self, number: int) -> None:
        self.beginRemoveRows(QModelIndex(), number, number)
        row = self._rows.pop(number)
        if row.entry.seq is not None:
            self._stored -= 1
            self._unindex(row.entry)
        self.endRemoveRows()
        self._neighbour_changed(number)

    def _refresh(self, number: int | None) -> None:
        """Row ``number`` looks different (its quote, its "seen by"): measure and paint it anew."""
        if number is None:
            return
        self._rows[number].height_key = None
        index = self.index(number)
        self.dataChanged.emit(index, index, [MessageRole.QUOTE, MessageRole.SEEN_BY])

    def _quoted_changed(self, seq: int) -> None:
        """Message ``seq`` changed (edited, deleted): the replies quoting it follow."""
        # Replies come after what they quote: only the rows below it are looked at.
        start = self.row_of_seq(seq)
        for number in range(0 if start is None else start + 1, len(self._rows)):
            row = self._rows[number]
            if row.entry.reply_to == seq:
                row.quote = _UNKNOWN
                self._refresh(number)

    def _neighbour_changed(self, number: int) -> None:
        """The row after an insert or removal may gain or lose its header."""
        if 0 <= number < len(self._rows):
            self._rows[number].height_key = None
            index = self.index(number)
            self.dataChanged.emit(index, index, [MessageRole.SHOW_HEADER, MessageRole.DAY_LABEL])

    def _starts_group(self, number: int) -> bool:
        if number == 0:
            return True
        row, previous = self._rows[number], self._rows[number - 1]
        return (
            row.entry.author != previous.entry.author
            or row.day != previous.day
            or (row.local - previous.local).total_seconds() > GROUP_SECONDS
        )

    def _day_label(self, number: int) -> str:
        row = self._rows[number]
        if number > 0 and self._rows[number - 1].day == row.day:
            return ""
        return day_label(row.day)

    def _tooltip(self, row: _Row) -> str:
        entry = row.entry
        when = full(row.local)
        if entry.edited:
            when += "\n" + self.tr("Edited {time}").format(time=full(local_time(entry.edited)))
        if entry.author != self._me:
            return when
        if entry.state is DeliveryState.QUEUED:
            state = self.tr("Queued: it will be sent when the connection is back")
        elif entry.state is DeliveryState.SENT:
            state = self.tr("Sent, waiting for the server")
        elif entry.state is DeliveryState.DELIVERED:
            state = self.tr("Delivered (#{seq})").format(seq=entry.seq)
        else:
            state = self.tr("Not delivered: {reason}").format(reason=say(entry.error))
        return f"{when}\n{state}"


def _seq_of(row: _Row) -> int:
    return row.entry.seq or 0
