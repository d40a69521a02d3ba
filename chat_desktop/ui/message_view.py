"""MessageView: the conversation's QListView, with the scrolling behaviour of a chat.

- **Pinned to the bottom**: while the user is at the bottom, new rows keep the
  newest message in view. Scrolled up reading history, new rows do not move
  the view; a floating "N new messages" button counts them and jumps down.
- **Older messages on demand**: when the user reaches the top, the view emits
  :attr:`MessageView.olderWanted`; the main window asks the controller, which
  answers from the cache, then the server. Rows prepended at the top keep what
  the user was reading in place: the distance to the bottom of the scroll range
  is remembered before the insert and restored once the range has grown.
  (Qt's ``canFetchMore``/``fetchMore`` only fire at the *bottom* of a view, so
  the top has to be watched here.)
- **A bounded list while pinned**: Qt measures every row at each layout pass
  (each batch of new rows), so a long burst would make every batch slower.
  While pinned to the bottom, once more than :data:`LIVE_ROWS_MAX` rows are
  shown the oldest are dropped down to :data:`LIVE_ROWS_KEEP`; they are in
  the cache and come back as older pages when the reader scrolls up.
- **A bounded list while scrolled up**: a reader far up in the history
  during a long burst would otherwise see the list (and every layout pass)
  grow without end. Past :data:`SCROLLED_ROWS_MAX` rows, new messages are
  *held back* (:meth:`MessageView.holds_back`): they stay in the cache, the
  jump button counts them, and jumping down (or scrolling to the bottom)
  emits :attr:`MessageView.newestWanted`, on which the window reloads the
  newest page from the cache.
- **Links**: the cursor becomes a pointing hand over a link (and over the
  other things a click does something to: reaction chips, a reply's quote).
- **Message actions**: over the row under the mouse float React, Reply and
  More (:class:`~.message_actions.HoverActions`); a right click or the menu
  key asks for the row's context menu (:attr:`MessageView.menuRequested`).
  Rows can be chosen (click, Shift/Ctrl+click) and Ctrl+C copies their text;
  a double click opens a read-only field over a row's text to select part
  of it with the mouse (see MessageDelegate.createEditor for why).
- **Jumping to a message** (a search hit): the window shows the page around
  it and calls :meth:`MessageView.show_message`, which scrolls that row to
  the middle and flashes it (a highlight that fades out, painted over the
  row here, so the delegate needs no part in it). The list then is not the
  newest page: it counts as *behind*, so new messages wait on the jump
  button and going down to the bottom reloads the newest page.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractAnimation,
    QEasingCurve,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    Qt,
    QTimer,
    QVariantAnimation,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFocusEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QTextCursor,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractItemView, QListView, QPlainTextEdit, QPushButton, QWidget

from .message_actions import HoverActions, available_actions
from .message_delegate import TEXT_X, MessageDelegate, is_dark
from .message_model import MessageListModel, MessageRole
from .resources import icon

# Within this many pixels of the bottom counts as "at the bottom".
_BOTTOM_SLACK = 24
# While pinned, more rows than MAX are cut back to the newest KEEP (the gap
# between the two makes it one removal per few hundred new rows, not per batch).
LIVE_ROWS_MAX = 500
LIVE_ROWS_KEEP = 300
# While scrolled up, the list grows to at most this many rows; newer
# messages wait in the cache until the reader jumps down.
SCROLLED_ROWS_MAX = 3000
# How long a message jumped to is highlighted: it lights up, stays, fades (ms).
FLASH_MS = 1800


class MessageView(QListView):
    """The list of messages; see the module docstring for its scrolling rules.

    Signals:
        olderWanted(): the user scrolled to the top and older messages may exist.
        newestWanted(): the user went down to the newest while messages were
            held back; reload the newest page (from the cache).
        menuRequested(object, QPoint): the context menu of a MessageEntry
            (right click, the menu key) at a global position.
        textTyped(str): a key was typed while the list had the focus (the
            window hands it on to the composer).
    """

    olderWanted = Signal()
    newestWanted = Signal()
    menuRequested = Signal(object, QPoint)
    textTyped = Signal(str)

    def __init__(self, model: MessageListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageView")
        self.setAccessibleName(self.tr("Messages"))
        self.setModel(model)
        self._model = model
        self.message_delegate = MessageDelegate(self, self)
        self.setItemDelegate(self.message_delegate)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Rows are chosen with the mouse (Shift/Ctrl+click for more) or the
        # arrow keys for Ctrl+C; a double click opens the read-only text field
        # for selecting part of a text (see MessageDelegate.createEditor). Tab
        # reaches the list, so that the keyboard gets to every message's menu
        # (the menu key or Shift+F10 on the current row).
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # Rows are re-laid out (wrapped anew) whenever the width changes.
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setWordWrap(True)
        self.setMouseTracking(True)
        self.setUniformItemSizes(False)

        # Whether the user is at the bottom; decided before each insert, when
        # the scroll bar still shows where the user was.
        self._pinned = True
        # New rows that arrived while scrolled up; shown on the jump button.
        self._unseen = 0
        # Messages arrived that are not in the list (see holds_back).
        self._behind = False
        # Distance from the bottom to keep while older rows are prepended.
        self._keep_from_bottom: int | None = None
        self._older_pending = False
        # A _stick_to_bottom is queued: a burst of inserts asks for one, not one
        # each (every scrollToBottom lays out all rows again).
        self._stick_pending = False

        self.new_button = QPushButton(self.viewport())
        self.new_button.setObjectName("newMessagesButton")
        self.new_button.setAccessibleDescription(self.tr("Scrolls down to the newest message"))
        self.new_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.new_button.hide()
        self.new_button.clicked.connect(self.scroll_to_newest)

        # The row jumped to last and its highlight's strength over time (0..1).
        self._flash_row = QPersistentModelIndex()
        self._flash = QVariantAnimation(self)
        self._flash.setDuration(FLASH_MS)
        self._flash.setStartValue(0.0)
        self._flash.setKeyValueAt(0.12, 1.0)
        self._flash.setKeyValueAt(0.55, 1.0)
        self._flash.setEndValue(0.0)
        self._flash.setEasingCurve(QEasingCurve.Type.InOutQuad)
        self._flash.valueChanged.connect(lambda _value: self.viewport().update())
        # Set while show_message moves the view itself (see there).
        self._jumping = False

        model.rowsAboutToBeInserted.connect(self._before_insert)
        model.rowsInserted.connect(self._after_insert)
        model.modelReset.connect(self._after_reset)
        scroll_bar = self.verticalScrollBar()
        scroll_bar.rangeChanged.connect(self._range_changed)
        scroll_bar.valueChanged.connect(self._scrolled)

        # The row and file button (Open, Save) drawn lit under the mouse, if any.
        self._lit: tuple[QPersistentModelIndex, str] | None = None
        # React, Reply, More over the row under the mouse (message_actions.py).
        self.hover_actions = HoverActions(self.viewport())
        self._hover_row = QPersistentModelIndex()
        # Rows move under a still mouse when the list scrolls or changes.
        scroll_bar.valueChanged.connect(lambda _value: self._place_hover())
        model.dataChanged.connect(lambda *_args: self._place_hover())
        model.modelReset.connect(self._place_hover)

    # ----------------------------------------------------------------- state

    @property
    def pinned(self) -> bool:
        return self._pinned

    @property
    def loading_older(self) -> bool:
        """An older page was asked for, or its rows are not laid out yet."""
        return self._older_pending or self._keep_from_bottom is not None

    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.maximum() - bar.value() <= _BOTTOM_SLACK

    @property
    def behind(self) -> bool:
        """Newer messages than the list's last row were held back (they are in the cache)."""
        return self._behind

    def holds_back(self, incoming: int) -> bool:
        """Whether ``incoming`` new rows should stay out of the list for now.

        True while scrolled up with the list at its bound (or already behind):
        the rows are counted on the jump button instead, and going down to
        the newest asks for them again (:attr:`newestWanted`).
        """
        if not self._behind:
            if self._pinned or self._model.rowCount() + incoming <= SCROLLED_ROWS_MAX:
                return False
            self._behind = True
        self._set_unseen(self._unseen + incoming)
        return True

    def scroll_to_newest(self) -> None:
        if self._behind:
            # The list lacks the newest rows: the window reloads it, and the
            # reset scrolls to the bottom.
            self.newestWanted.emit()
            return
        self._pinned = True
        self._set_unseen(0)
        self.scrollToBottom()
        # The layout may still be pending (rows just inserted): once more after it.
        self._stick_soon()

    def show_message(self, seq: int) -> bool:
        """Scroll the row of message ``seq`` to the middle and flash it; False if not shown.

        The list holds the page around it (see the module docstring): it is
        *behind* from now on, unpinned.
        """
        row = self._model.row_of_seq(seq)
        if row is None:
            return False
        self._pinned = False
        self._behind = True
        self._set_unseen(self._unseen)
        index = self._model.index(row)
        self._flash_row = QPersistentModelIndex(index)
        # The rows of the page are laid out now, and the scroll moves that
        # follow (the range shrinking under the old position, the centring)
        # are not the reader going down to the bottom.
        self._jumping = True
        try:
            self.executeDelayedItemsLayout()
            self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        finally:
            self._jumping = False
        # Once more after the layout the reset queued (rows measured anew).
        QTimer.singleShot(0, self._center_flashed)
        self._flash.stop()
        self._flash.start()
        return True

    def flashing_row(self) -> int | None:
        """The row being flashed now (the message jumped to), None when no flash runs."""
        if self._flash.state() != QAbstractAnimation.State.Running or not self._flash_row.isValid():
            return None
        return self._flash_row.row()

    def _center_flashed(self) -> None:
        if self._flash_row.isValid() and not self._pinned:
            index = self._model.index(self._flash_row.row())
            self._jumping = True
            try:
                self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
            finally:
                self._jumping = False

    def older_loaded(self, added: int) -> None:
        """The older page asked for with olderWanted has arrived with ``added`` rows."""
        self._older_pending = False
        if added:
            QTimer.singleShot(0, self._fill_if_short)

    def _fill_if_short(self) -> None:
        """Rows that do not fill the view cannot be scrolled up: load older ones now."""
        if self.verticalScrollBar().maximum() == 0:
            self._want_older()

    # --------------------------------------------------------------- inserts

    def _before_insert(self, parent: QModelIndex, first: int, last: int) -> None:
        # Rows above everything: keep the reader's place (unless pinned to the
        # bottom, where the newest message stays in view anyway).
        if first == 0 and self._model.rowCount() > 0 and not self._pinned:
            bar = self.verticalScrollBar()
            self._keep_from_bottom = bar.maximum() - bar.value()

    def _after_insert(self, parent: QModelIndex, first: int, last: int) -> None:
        if first == 0 and self._keep_from_bottom is not None:
            return
        if self._pinned:
            self._stick_soon()
            return
        mine = all(
            self._model.data(self._model.index(row), MessageRole.MINE)
            for row in range(first, last + 1)
        )
        if mine:
            # I just wrote it: I want to see it, wherever I was.
            self.scroll_to_newest()
        else:
            self._set_unseen(self._unseen + last - first + 1)

    def _after_reset(self) -> None:
        self._behind = False
        self._keep_from_bottom = None
        self._older_pending = False
        self.message_delegate.clear_cache()
        self.scroll_to_newest()
        QTimer.singleShot(0, self._fill_if_short)

    def _range_changed(self, minimum: int, maximum: int) -> None:
        if self._keep_from_bottom is not None:
            self.verticalScrollBar().setValue(maximum - self._keep_from_bottom)
            self._keep_from_bottom = None
        elif self._pinned:
            self.verticalScrollBar().setValue(maximum)

    def _stick_soon(self) -> None:
        """Scroll to the bottom once the event loop is idle (after the pending layout)."""
        if not self._stick_pending:
            self._stick_pending = True
            QTimer.singleShot(0, self._stick_to_bottom)

    def _stick_to_bottom(self) -> None:
        self._stick_pending = False
        if not self._pinned:
            return
        rows = self._model.rowCount()
        if rows > LIVE_ROWS_MAX and not self.loading_older:
            self._model.drop_oldest(rows - LIVE_ROWS_KEEP)
        self.scrollToBottom()

    def _scrolled(self, value: int) -> None:
        if self._keep_from_bottom is not None or self._jumping:
            return
        if self.at_bottom():
            if self._behind:
                # A page that fits the view (a short one jumped to) is not
                # "scrolled down to": its jump button goes back to the newest.
                if self.verticalScrollBar().maximum() > 0:
                    self.newestWanted.emit()
                return
            self._pinned = True
            self._set_unseen(0)
        elif self.verticalScrollBar().isSliderDown() or value < self.verticalScrollBar().maximum():
            self._pinned = False
        if value <= self.verticalScrollBar().minimum() + 4:
            self._want_older()

    def _want_older(self) -> None:
        if self._older_pending or not self._model.has_older or self._model.rowCount() == 0:
            return
        self._older_pending = True
        self.olderWanted.emit()

    def _set_unseen(self, count: int) -> None:
        self._unseen = count
        if count or self._behind:
            # Behind after a jump with nothing new yet: the way back down.
            text = self.tr("%n new messages", "", count) if count else self.tr("Back to the newest")
            self.new_button.setText(text)
            self.new_button.setIcon(
                icon("down", self.palette().color(QPalette.ColorRole.HighlightedText))
            )
            self.new_button.adjustSize()
            self._place_button()
            self.new_button.show()
            self.new_button.raise_()
        else:
            self.new_button.hide()

    # ----------------------------------------------------------- geometry

    def resizeEvent(self, event: QResizeEvent) -> None:
        # Rows wrap anew only when the width changes (a taller or shorter
        # view keeps every row's layout and height).
        if event.size().width() != event.oldSize().width():
            self.message_delegate.clear_cache()
        super().resizeEvent(event)
        self._place_button()
        if self._pinned:
            self._stick_soon()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            # Row heights were measured with the old font.
            self.message_delegate.clear_cache()
            self.scheduleDelayedItemsLayout()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        # Scrolling moves the viewport's child widgets with the rows: the
        # button floats, so it goes back to its place.
        if self.new_button.isVisible():
            self._place_button()

    def _place_button(self) -> None:
        viewport = self.viewport()
        size = self.new_button.sizeHint()
        self.new_button.resize(size)
        self.new_button.move(
            QPoint((viewport.width() - size.width()) // 2, viewport.height() - size.height() - 12)
        )

    def wheelEvent(self, event: QWheelEvent) -> None:
        bar = self.verticalScrollBar()
        if bar.value() == bar.minimum() and event.angleDelta().y() > 0:
            # Already at the top: the scroll bar will not move, so say it here.
            self._want_older()
        super().wheelEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        row = self.flashing_row()
        if row is None:
            return
        color = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        # Stronger on a dark background, where the same alpha shows less.
        strength = 0.5 if is_dark(self.palette()) else 0.35
        color.setAlphaF(strength * float(self._flash.currentValue() or 0.0))
        painter = QPainter(self.viewport())
        painter.fillRect(self.visualRect(self._model.index(row)), color)
        painter.end()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)
        index = self.indexAt(event.position().toPoint())
        clickable = False
        if index.isValid():
            rect = self.visualRect(index)
            clickable = self.message_delegate.clickable_at(index, rect, QPointF(event.position()))
        self.viewport().setCursor(
            Qt.CursorShape.PointingHandCursor if clickable else Qt.CursorShape.ArrowCursor
        )
        self._light_file_button(index, event.position())
        self._hover_row = QPersistentModelIndex(index)
        self._place_hover()

    def _light_file_button(self, index: QModelIndex, position: QPointF) -> None:
        """Draw the Open or Save under the mouse lit: repaint the rows whose lit part changed."""
        delegate = self.message_delegate
        part = None
        if index.isValid():
            part = delegate.file_part_at(index, self.visualRect(index), position)
        spot = (QPersistentModelIndex(index), part) if part in ("open", "save") else None
        delegate.mouse_at = position.toPoint()
        if spot != self._lit:
            for lit in (self._lit, spot):
                if lit is not None and lit[0].isValid():
                    self.viewport().update(self.visualRect(self._model.index(lit[0].row())))
            self._lit = spot

    # ------------------------------------------------------ message actions

    def leaveEvent(self, event: QEvent) -> None:
        super().leaveEvent(event)
        self.message_delegate.mouse_at = None
        if self._lit is not None:
            if self._lit[0].isValid():
                self.viewport().update(self.visualRect(self._model.index(self._lit[0].row())))
            self._lit = None
        if not self.hover_actions.underMouse():
            self._hover_row = QPersistentModelIndex()
            self.hover_actions.hide()

    def _place_hover(self) -> None:
        """Put the hover bar at the top right of the row under the mouse (or hide it)."""
        bar = self.hover_actions
        if not self._hover_row.isValid():
            bar.hide()
            return
        index = self._model.index(self._hover_row.row())
        entry = self._model.entry(index.row())
        # Whether I am an admin only decides whether the menu behind "More"
        # has Delete; any message with text has Copy there anyway.
        bar.show_for(entry, available_actions(entry, self._model.me, admin=True))
        if not bar.isVisible():
            return
        rect = self.visualRect(index)
        layout = self.message_delegate.layout_for(index, rect.width())
        top = rect.top() + (layout.day.bottom() + 1 if layout.day is not None else 0)
        bar.move(rect.right() - bar.width() - 8, max(0, top - bar.height() // 3))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        # The menu key arrives as a key press first (keyPressEvent answers it).
        index = self.indexAt(event.pos())
        if index.isValid():
            self.menuRequested.emit(self._model.entry(index.row()), event.globalPos())
            event.accept()

    def copy_selection(self) -> str:
        """Put the chosen rows' text on the clipboard; return it.

        One row: its text as written. More: one line each, "author: text",
        oldest first (what a reader pastes into a mail or a ticket).
        """
        rows = sorted(index.row() for index in self.selectionModel().selectedIndexes())
        entries = [self._model.entry(row) for row in rows]
        entries = [entry for entry in entries if not entry.deleted]
        if len(entries) == 1:
            text = entries[0].text
        else:
            text = "\n".join(f"{entry.author}: {entry.text}" for entry in entries)
        if text:
            QGuiApplication.clipboard().setText(text)
        return text

    def focusInEvent(self, event: QFocusEvent) -> None:
        # Tabbed into: the newest message is the current one (not selected);
        # Qt would make it the oldest loaded, far up the history.
        tabbed = event.reason() in (
            Qt.FocusReason.TabFocusReason,
            Qt.FocusReason.BacktabFocusReason,
        )
        if tabbed and not self.currentIndex().isValid() and self._model.rowCount():
            self.selectionModel().setCurrentIndex(
                self._model.index(self._model.rowCount() - 1),
                QItemSelectionModel.SelectionFlag.NoUpdate,
            )
        super().focusInEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_selection()
            return
        current = self.currentIndex()
        menu_key = event.key() == Qt.Key.Key_Menu or (
            event.key() == Qt.Key.Key_F10 and event.modifiers() == Qt.KeyboardModifier.ShiftModifier
        )
        if menu_key and current.isValid():
            where = self.visualRect(current)
            self.menuRequested.emit(
                self._model.entry(current.row()),
                self.viewport().mapToGlobal(where.topLeft() + QPoint(TEXT_X, where.height() // 2)),
            )
            return
        if event.key() == Qt.Key.Key_Escape:
            self.clearSelection()
            return
        typed = event.text()
        if (
            typed
            and typed.isprintable()
            and not event.modifiers()
            & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
        ):
            self.textTyped.emit(typed)
            return
        super().keyPressEvent(event)

    def selection_field(self) -> QPlainTextEdit | None:
        """The read-only text field open over a row (a double click opened it), if any."""
        if self.state() != QAbstractItemView.State.EditingState:
            return None
        return self.viewport().findChild(QPlainTextEdit, "messageTextSelection")

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        super().mouseDoubleClickEvent(event)
        # The text field opened over the row: the word double-clicked is selected in it.
        field = self.selection_field()
        if field is not None:
            cursor = field.cursorForPosition(
                field.mapFrom(self.viewport(), event.position().toPoint())
            )
            cursor.select(QTextCursor.SelectionType.WordUnderCursor)
            field.setTextCursor(cursor)
            field.setFocus()
