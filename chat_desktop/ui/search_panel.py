"""SearchPanel: Ctrl+F (this room) and Ctrl+Shift+F (every room): type a few words, Enter jumps.

A small modeless dialog over the window, like the Ctrl+K switcher: where to
look (this room or every room), the query, a line that says how many hits
came from where ("3 on this computer, 12 from the server"; offline, only
this computer), and the hits, newest first. Each hit shows its room, author
and time above its text, with the words that matched highlighted by the
search rule itself (:func:`chat_protocol.search.match_spans`), drawn with a
``QTextLayout`` over the plain text: a message is never read as markup.

The panel knows nothing of the controller. It asks with
:attr:`SearchPanel.searchRequested` (a short pause after the last key, so a
fast typist starts one search, not ten), takes the answers through
:meth:`SearchPanel.show_answer`, and says which hit was chosen (Enter, a
click) with :attr:`SearchPanel.resultChosen`; the main window wires the
three to ``ChatController.search``, ``searchResults`` and ``open_at``. Up
and Down move through the hits without leaving the query field; Esc closes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPalette,
    QShortcut,
    QTextCharFormat,
    QTextLayout,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from chat_desktop.controller.search import SearchHit, SearchSource, SearchStage
from chat_protocol.search import NoSearchWords, TooManySearchWords, match_spans, query_terms

from .dates import when
from .fonts import bold_font, small_font
from .message_delegate import is_dark
from .message_model import local_time

# The pause after the last key before a search starts (ms).
TYPING_PAUSE_MS = 250
# A hit shows at most this many lines of its text.
TEXT_LINES = 3
# A hit whose first match lies further in than this many characters is shown
# from a little before the match ("… text"), so the match is on screen.
PREVIEW_LEAD = 60
PREVIEW_CONTEXT = 24
# Space around and between a hit's parts (px).
_PAD = 8
_GAP = 2

_Index = QModelIndex | QPersistentModelIndex


class SearchRole(enum.IntEnum):
    """Item data roles of the hits beyond DisplayRole (the text)."""

    HIT = Qt.ItemDataRole.UserRole + 1  # the SearchHit
    HEADER = enum.auto()  # str: "#room · author · time"
    SPANS = enum.auto()  # list[(start, end)]: the matched characters of the text


def utf16_offset(text: str, index: int) -> int:
    """``text[:index]``'s length in UTF-16 code units: where Qt counts character ``index``."""
    return len(text[:index].encode("utf-16-le")) // 2


def preview(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """The text a hit shows and its spans moved along: one line, from near the first match.

    Line breaks become spaces (one for one, so the spans keep their places);
    a first match far into a long text is led up to by "…" and a few words.
    """
    shown = text.replace("\n", " ")
    if not spans or spans[0][0] <= PREVIEW_LEAD:
        return shown, spans
    cut = spans[0][0] - PREVIEW_CONTEXT
    space = shown.rfind(" ", 0, cut + 1)
    if space > cut - PREVIEW_CONTEXT // 2:
        cut = space + 1
    moved = 1 - cut
    return "…" + shown[cut:], [(start + moved, end + moved) for start, end in spans]


class SearchResultsModel(QAbstractListModel):
    """The hits of the last answer, newest first, with their matched spans."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hits: list[SearchHit] = []
        # How each room is shown ("#general"; a direct room by its people).
        self.labels: Mapping[str, str] = {}
        # Per hit, the text shown (see preview) and the query's matches in it.
        self._previews: list[tuple[str, list[tuple[int, int]]]] = []

    def set_hits(self, hits: list[SearchHit], terms: list[str]) -> None:
        self.beginResetModel()
        self._hits = list(hits)
        self._previews = [
            preview(hit.entry.text, match_spans(terms, hit.entry.text)) for hit in self._hits
        ]
        self.endResetModel()

    def hit(self, row: int) -> SearchHit:
        return self._hits[row]

    def label(self, room: str) -> str:
        """How ``room`` is shown: its label as the side bar has it, else "#name"."""
        return self.labels.get(room) or f"#{room}"

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        hit = self._hits[index.row()]
        entry = hit.entry
        if role == Qt.ItemDataRole.DisplayRole:
            return self._previews[index.row()][0]
        if role == SearchRole.HIT:
            return hit
        if role == SearchRole.SPANS:
            return self._previews[index.row()][1]
        if role == SearchRole.HEADER:
            return f"{self.label(entry.room)} · {entry.author} · {when(local_time(entry.ts))}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            moment = when(local_time(entry.ts))
            where = (
                self.tr("on this computer")
                if hit.source is SearchSource.LOCAL
                else self.tr("from the server")
            )
            return self.tr("In {room}, {author}, {time} ({where}): {text}").format(
                room=self.label(entry.room),
                author=entry.author,
                time=moment,
                where=where,
                text=entry.text,
            )
        return None


class SearchResultDelegate(QStyledItemDelegate):
    """Paints a hit: "#room · author · time" small above up to three lines of its text."""

    def _text_layout(
        self, index: _Index, font: QFont, width: int, palette: QPalette
    ) -> tuple[QTextLayout, float, QPointF | None]:
        """The hit's text laid out (plain, matched words marked), the height of its
        lines, and where "…" goes when the text goes on past the last line shown."""
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        spans = index.data(SearchRole.SPANS) or []
        # Lines beyond TEXT_LINES are left out (the preview starts near the match).
        layout = QTextLayout(text, font)
        mark = QColor(palette.color(QPalette.ColorRole.Highlight))
        mark.setAlpha(110 if is_dark(palette) else 70)
        formats = []
        for start, end in spans:
            char_format = QTextCharFormat()
            char_format.setBackground(mark)
            char_format.setFontWeight(QFont.Weight.DemiBold)
            formatted = QTextLayout.FormatRange()
            formatted.start = utf16_offset(text, start)
            formatted.length = utf16_offset(text, end) - formatted.start
            formatted.format = char_format
            formats.append(formatted)
        layout.setFormats(formats)
        ellipsis = QFontMetricsF(font).horizontalAdvance("…")
        layout.beginLayout()
        y = 0.0
        last = None
        for number in range(TEXT_LINES):
            line = layout.createLine()
            if not line.isValid():
                break
            # The last line leaves room for "…".
            narrower = ellipsis if number == TEXT_LINES - 1 else 0.0
            line.setLineWidth(max(10.0, width - narrower))
            line.setPosition(QPointF(0, y))
            y += line.height()
            last = line
        layout.endLayout()
        more = last is not None and last.textStart() + last.textLength() < len(layout.text())
        where = QPointF(last.naturalTextWidth(), last.y()) if more and last is not None else None
        return layout, y, where

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        # The width the row is painted at: the list's (a list view's option
        # here does not carry it).
        view = self.parent()
        width = view.viewport().width() if isinstance(view, QListView) else option.rect.width()
        header = option.fontMetrics.height()
        _, text_height, _ = self._text_layout(index, option.font, width - 2 * _PAD, option.palette)
        return QSize(width, int(_PAD + header + _GAP + text_height + _PAD))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        palette = option.palette
        rect = option.rect
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            current = QColor(palette.color(QPalette.ColorRole.Highlight))
            current.setAlpha(60 if is_dark(palette) else 40)
            painter.fillRect(rect, current)
            painter.fillRect(QRect(rect.left(), rect.top(), 3, rect.height()), palette.highlight())
        elif option.state & QStyle.StateFlag.State_MouseOver:
            hover = QColor(palette.color(QPalette.ColorRole.Text))
            hover.setAlpha(12)
            painter.fillRect(rect, hover)
        small = small_font(option.font)
        header = str(index.data(SearchRole.HEADER) or "")
        painter.setFont(bold_font(small))
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        header_rect = QRect(rect.left() + _PAD, rect.top() + _PAD, rect.width() - 2 * _PAD, 0)
        header_rect.setHeight(option.fontMetrics.height())
        elided = painter.fontMetrics().elidedText(
            header, Qt.TextElideMode.ElideRight, header_rect.width()
        )
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(header_rect, align, elided)
        layout, _, ellipsis = self._text_layout(
            index, option.font, rect.width() - 2 * _PAD, palette
        )
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        origin = QPointF(rect.left() + _PAD, header_rect.bottom() + 1 + _GAP)
        layout.draw(painter, origin)
        if ellipsis is not None:
            painter.setFont(option.font)
            ascent = QFontMetricsF(option.font).ascent()
            painter.drawText(origin + ellipsis + QPointF(0, ascent), "…")
        # A thin rule between hits.
        rule = QColor(palette.color(QPalette.ColorRole.Text))
        rule.setAlpha(25)
        painter.fillRect(QRect(rect.left(), rect.bottom(), rect.width(), 1), rule)
        painter.restore()


class SearchPanel(QDialog):
    """The search popup; see the module docstring. ``labels`` says how rooms are shown
    (a direct room by its people); a room it lacks is "#name".

    Signals:
        searchRequested(str, object): search for this query in this room (None:
            every room); a newer request replaces the older one.
        resultChosen(str, int): the user picked the hit at (room, seq); the
            panel then closes.
        moreRequested(): searching one room, the user went past the last hit:
            the hits before it, please (the answer is the longer list).
    """

    searchRequested = Signal(str, object)
    resultChosen = Signal(str, int)
    moreRequested = Signal()

    def __init__(
        self,
        room: str,
        every_room: bool,
        parent: QWidget | None = None,
        *,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("searchPanel")
        self.setWindowTitle(self.tr("Search messages"))
        self.scope = QComboBox(self)
        self.scope.setAccessibleName(self.tr("Where to search"))
        self.query = QLineEdit(self)
        self.query.setPlaceholderText(self.tr("Words to find"))
        self.query.setAccessibleName(self.tr("Search for"))
        self.query.setClearButtonEnabled(True)
        self.summary = QLabel(self)
        self.summary.setObjectName("searchSummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName(self.tr("Search results summary"))
        self.results = SearchResultsModel(self)
        self.results.labels = labels or {}
        self.list = QListView(self)
        self.list.setModel(self.results)
        self.list.setItemDelegate(SearchResultDelegate(self.list))
        self.list.setAccessibleName(self.tr("Messages found"))
        self.list.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.list.setUniformItemSizes(False)
        # Rows are measured anew when the width changes (their text wraps).
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMouseTracking(True)
        # The query field keeps the keys; the list shows where Enter goes.
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        top = QHBoxLayout()
        top.addWidget(self.query, 1)
        top.addWidget(self.scope)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        self.resize(520, 460)

        # The query and room asked last: an answer to anything else is stale.
        self._asked: tuple[str, str | None] | None = None
        # Enter came before the answer: open its first hit once it is final.
        self._choose_when_answered = False
        # More hits were asked for and their answer has not come yet.
        self._more_asked = False
        self._pause = QTimer(self)
        self._pause.setSingleShot(True)
        self._pause.setInterval(TYPING_PAUSE_MS)
        self._pause.timeout.connect(self.search_now)
        self.query.textChanged.connect(lambda _text: self._pause.start())
        self.query.returnPressed.connect(self._choose_current)
        self.query.installEventFilter(self)
        self.scope.currentIndexChanged.connect(lambda _index: self.search_now())
        # The window's Ctrl+F and Ctrl+Shift+F, while the panel has the keys.
        for keys, row in (("Ctrl+F", 0), ("Ctrl+Shift+F", 1)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(lambda row=row: self.scope.setCurrentIndex(row))
        self.list.clicked.connect(self._choose)
        self.list.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.set_room(room, every_room)
        self.summary.setText(self.tr("Type a few words; every word must match"))

    # ---------------------------------------------------------------- state

    @property
    def room(self) -> str | None:
        """The room searched, None for every room."""
        data = self.scope.currentData()
        return str(data) if data else None

    def set_room(self, room: str, every_room: bool) -> None:
        """Search ``room`` (the one on screen) or every room; the query stays."""
        self.scope.blockSignals(True)
        self.scope.clear()
        self.scope.addItem(self.tr("In {room}").format(room=self.results.label(room)), room)
        self.scope.addItem(self.tr("In every room"), "")
        self.scope.setCurrentIndex(1 if every_room else 0)
        self.scope.blockSignals(False)
        self.query.setFocus()
        self.query.selectAll()
        if self.query.text().strip():
            self.search_now()

    # ------------------------------------------------------------- searching

    def search_now(self) -> None:
        """Ask for the query as it stands (the pause after typing is over)."""
        self._pause.stop()
        text = self.query.text().strip()
        if not text:
            self._asked = None
            self.results.set_hits([], [])
            self.summary.setText(self.tr("Type a few words; every word must match"))
            return
        self._asked = (text, self.room)
        self._choose_when_answered = False
        self.summary.setText(self.tr("Searching…"))
        self.searchRequested.emit(text, self.room)

    def show_answer(self, query: str, hits: list[SearchHit], stage: SearchStage) -> None:
        """An answer from the controller; one to an older query is ignored."""
        if self._asked is None or self._asked[0] != query:
            return
        try:
            terms = query_terms(query)
        except (NoSearchWords, TooManySearchWords):
            terms = []
        # The hit the user moved to stays current when the server's hits come in.
        current = self.list.currentIndex()
        kept = self.results.hit(current.row()).entry if current.isValid() else None
        self.results.set_hits(hits, terms)
        self._more_asked = False
        rows = [hit.entry for hit in hits]
        where = next(
            (n for n, e in enumerate(rows) if kept and (e.room, e.seq) == (kept.room, kept.seq)),
            0,
        )
        if rows:
            self.list.setCurrentIndex(self.results.index(where))
        self.summary.setText(self._summary(hits, stage))
        if self._choose_when_answered and stage.final and rows:
            self._choose(self.results.index(where))

    def _summary(self, hits: list[SearchHit], stage: SearchStage) -> str:
        local = sum(hit.source is SearchSource.LOCAL for hit in hits)
        server = len(hits) - local
        here = self.tr("%n on this computer", "", local)
        if stage is SearchStage.NO_WORDS:
            return self.tr("Type letters or digits: there is no word to search for")
        if stage is SearchStage.LOCAL:
            return self.tr("{found}; searching the server…").format(found=here)
        if stage is SearchStage.OFFLINE:
            return self.tr("{found}. Offline: only messages on this computer were searched").format(
                found=here
            )
        if stage is SearchStage.FAILED:
            return self.tr("{found}. The server could not be searched just now").format(found=here)
        if not hits:
            return self.tr("No messages found")
        there = self.tr("%n from the server", "", server)
        return self.tr("{here}, {there}").format(here=here, there=there)

    def _scrolled(self, value: int) -> None:
        bar = self.list.verticalScrollBar()
        if bar.maximum() > 0 and value >= bar.maximum():
            self._want_more()

    def _want_more(self) -> None:
        """Past the last hit, in one room: ask for the hits before it (once per answer)."""
        if self.room is not None and self.results.rowCount() and not self._more_asked:
            self._more_asked = True
            self.moreRequested.emit()

    # -------------------------------------------------------------- choosing

    def _choose_current(self) -> None:
        if self._pause.isActive():
            # Enter right after typing: search now, open the first hit of the answer.
            self.search_now()
            self._choose_when_answered = True
            return
        index = self.list.currentIndex()
        if index.isValid():
            self._choose(index)

    def _choose(self, index: QModelIndex) -> None:
        entry = self.results.hit(index.row()).entry
        if entry.seq is None:
            return
        self.resultChosen.emit(entry.room, entry.seq)
        self.accept()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.query and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1}.get(Qt.Key(event.key()), 0)
            rows = self.results.rowCount()
            if step and rows:
                current = self.list.currentIndex().row()
                if step > 0 and current == rows - 1:
                    # Down on the last hit: the older ones (in one room).
                    self._want_more()
                    return True
                row = max(0, min(rows - 1, current + step))
                self.list.setCurrentIndex(self.results.index(row))
                return True
        return super().eventFilter(watched, event)
