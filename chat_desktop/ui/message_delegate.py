"""MessageDelegate paints one message row; MessageLayout says where everything goes.

Qt asks a delegate two questions about each row: how tall is it (``sizeHint``)
and what does it look like (``paint``). Both need the same geometry (the
wrapped lines of text depend on the width), so it is computed once into a
small value object, :class:`MessageLayout`, and cached per row and width.
Qt asks ``sizeHint`` for *every* row at each layout pass (each batch of new
rows), so the height alone is also kept on the model's row
(:meth:`MessageListModel.row_height`): a hit is one lookup, not a layout.

A row, top to bottom:

- a day separator ("Today", "Friday, 27 November 2026") when a new day starts;
- the header, when the row starts a group: an avatar disc with the author's
  initial, the author's name and the local time;
- for a reply, a quote of the original above the text (its author and first
  line; a click on it emits :attr:`MessageDelegate.quoteClicked`);
- the text, wrapped, links underlined, mentions of me in bold; "(edited)"
  after an edited one; "message deleted" (greyed, italic) in place of a
  deleted one;
- the files it carries (:mod:`.file_cards`): a thumbnail per picture, a
  card with Open and Save per other file (a click emits
  :attr:`MessageDelegate.fileClicked`); what each shows now comes from the
  look given to :meth:`MessageDelegate.show_files`;
- the reactions as chips (emoji and count, mine highlighted; a click
  emits :attr:`MessageDelegate.reactionToggled`, the tool tip lists who);
- for my messages that are not delivered yet, a status line (queued,
  sending, or not delivered with a Retry link);
- in private and direct rooms, "Seen by alice, bob" under the last message
  they have read.

The text is laid out with QTextLayout from the plain string: it is never
parsed as HTML, so ``<b>`` or ``<img src=file:...>`` is painted as typed.

Clicks arrive in :meth:`MessageDelegate.editorEvent`: a click on a link opens
it with QDesktopServices (http, https and mailto only, see text_spans); a click
on "Retry" emits :attr:`MessageDelegate.retryRequested`.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractItemModel,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDesktopServices,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPalette,
    QTextCharFormat,
    QTextLayout,
    QTextLine,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QPlainTextEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QWidget,
)

from chat_desktop.controller.entries import DeliveryState, FileRef, MessageEntry
from chat_desktop.controller.wording import say

from .file_cards import FILE_GAP, FileBox, FileLook, file_size, lay_out_files, paint_file
from .fonts import bold_font, small_font
from .message_model import MessageListModel, MessageRole, Quote
from .reactions import Chip, chip_font, lay_out_chips, who_reacted
from .text_spans import ALLOWED_SCHEMES, SpanKind, TextSpan, find_spans, plain_tooltip

_Index = QModelIndex | QPersistentModelIndex

# Geometry in device independent pixels; HiDPI scaling multiplies them.
MARGIN_X = 14
AVATAR = 34
GUTTER = 10
TEXT_X = MARGIN_X + AVATAR + GUTTER
GROUP_TOP = 10
ROW_TOP = 2
ROW_BOTTOM = 3
DAY_HEIGHT = 34
RIGHT_MARGIN = 16
# A reply's quote: padding inside it, space under it; space above reaction chips.
QUOTE_PAD = 3
QUOTE_GAP = 4
CHIP_TOP = 5
# The narrowest row: the avatar column and 40 px of text.
MIN_ROW_WIDTH = TEXT_X + RIGHT_MARGIN + 40
# Layouts kept, least recently used first out. A laid-out row costs ~7.5 KB
# of Qt's memory (the shaped glyphs), so this is about more than a tall
# window paints at once; every row's height is kept on the model anyway.
# (4,000 layouts, emptied when full, was +30 MiB of RSS in a long burst that
# the allocator kept; bench/profiles.md, issue 16.)
_CACHE_LIMIT = 400


def status_line(entry: MessageEntry) -> str:
    """The line under one of my messages on its way: queued, sending, or why it failed."""
    if entry.state is DeliveryState.QUEUED and any(not ref.id for ref in entry.files):
        # Its files go up first (the bar above the composer shows how far).
        return QCoreApplication.translate("MessageDelegate", "Waiting for its files to go up")
    if entry.state is DeliveryState.QUEUED:
        return QCoreApplication.translate(
            "MessageDelegate", "Queued: sends when the connection is back"
        )
    if entry.state is DeliveryState.SENT:
        return QCoreApplication.translate("MessageDelegate", "Sending…")
    # The error is a protocol code (shown as its translated sentence) or the server's words.
    reason = say(entry.error) if entry.error else ""
    if not reason:
        reason = QCoreApplication.translate("MessageDelegate", "Refused by the server.")
    if not reason.endswith((".", "!", "?")):
        reason += "."
    return QCoreApplication.translate("MessageDelegate", "Not delivered: {reason}").format(
        reason=reason
    )


def retry_text() -> str:
    """The link under a failed message that sends it again."""
    return QCoreApplication.translate("MessageDelegate", "Retry")


def edited_marker() -> str:
    """What follows the text of an edited message."""
    return QCoreApplication.translate("MessageDelegate", "(edited)")


def deleted_text() -> str:
    """What stands in place of a deleted message's text."""
    return QCoreApplication.translate("MessageDelegate", "message deleted")


def seen_text(users: tuple[str, ...]) -> str:
    """The line under the last message these members have read."""
    return QCoreApplication.translate("MessageDelegate", "Seen by {names}").format(
        names=", ".join(users)
    )


def quote_missing_text() -> str:
    """A reply's quote when the original is not on this computer (yet)."""
    return QCoreApplication.translate("MessageDelegate", "a message not loaded")


@dataclass(frozen=True, slots=True)
class MessageLayout:
    """Where the parts of one row go, relative to the row's top left corner."""

    height: int
    # The day separator's band, or None.
    day: QRect | None
    day_text: str
    # The header band (avatar, author, time), or None for a grouped row.
    header: QRect | None
    # Top left of the text block and the laid out text.
    text_origin: QPointF
    text: QTextLayout
    spans: tuple[TextSpan, ...]
    # The status line of my undelivered messages, and the Retry link in it.
    status: QRect | None
    status_text: str
    retry: QRect | None
    # A reply's quote of the original (above the text), and what it quotes.
    quote: QRect | None = None
    quoted: Quote | None = None
    # The reaction chips under the text.
    chips: tuple[Chip, ...] = ()
    # The files under the text (above the chips).
    files: tuple[FileBox, ...] = ()
    # "Seen by alice, bob" under the last message they have read.
    seen: QRect | None = None
    seen_text: str = ""

    @classmethod
    def compute(
        cls,
        entry: MessageEntry,
        *,
        width: int,
        font: QFont,
        me: str,
        show_header: bool,
        day_text: str,
        quote: Quote | None = None,
        seen_by: tuple[str, ...] = (),
    ) -> MessageLayout:
        metrics = QFontMetrics(font)
        small = QFontMetrics(small_font(font))
        y = 0
        day = None
        if day_text:
            day = QRect(0, 0, width, DAY_HEIGHT)
            y += DAY_HEIGHT
        header = None
        if show_header:
            y += GROUP_TOP
            header = QRect(0, y, width, max(metrics.height(), small.height()))
            y = header.bottom() + 1 + 2
        else:
            y += ROW_TOP
        text_width = max(40, width - TEXT_X - RIGHT_MARGIN)
        quote_rect = None
        if quote is not None:
            # Two small lines (author, then the first line of the original)
            # beside a bar, the way mail clients quote.
            quote_rect = QRect(TEXT_X, y + 1, text_width, 2 * small.height() + 2 * QUOTE_PAD)
            y = quote_rect.bottom() + 1 + QUOTE_GAP
        if entry.deleted:
            # Nothing of the old text is kept: the placeholder only.
            spans: tuple[TextSpan, ...] = ()
            layout = text_layout(deleted_text(), italic_font(font), spans, text_width, muted=True)
        else:
            spans = tuple(find_spans(entry.text, me))
            layout = text_layout(
                entry.text,
                font,
                spans,
                text_width,
                suffix=f" {edited_marker()}" if entry.edited else "",
            )
        text_origin = QPointF(TEXT_X, y)
        files: tuple[FileBox, ...] = ()
        if entry.files and not entry.deleted:
            # A message of files only has no empty line of text above them.
            if entry.text:
                y += int(layout.boundingRect().height() + 0.999) + FILE_GAP
            else:
                y += 2
            files, bottom = lay_out_files(entry.files, font, TEXT_X, y, text_width)
            y = bottom + 1
        else:
            y += int(layout.boundingRect().height() + 0.999)
        chips: tuple[Chip, ...] = ()
        if entry.reactions and not entry.deleted:
            chips, bottom = lay_out_chips(
                entry.reactions, me, font, TEXT_X, y + CHIP_TOP, text_width
            )
            y = bottom + 1
        status = retry = None
        status_text = ""
        if entry.author == me and entry.state is not DeliveryState.DELIVERED:
            status_text = status_line(entry)
            status = QRect(TEXT_X, y + 1, text_width, small.height())
            if entry.state is DeliveryState.FAILED:
                start = TEXT_X + small.horizontalAdvance(status_text + "  ")
                link = QFontMetrics(retry_font(font))
                retry = QRect(
                    start, y + 1, link.horizontalAdvance(retry_text()) + 2, small.height()
                )
            y = status.bottom() + 1
        seen = None
        seen_line = ""
        if seen_by:
            seen_line = seen_text(seen_by)
            seen = QRect(TEXT_X, y + 2, text_width, small.height())
            y = seen.bottom() + 1
        y += ROW_BOTTOM
        return cls(
            height=y,
            day=day,
            day_text=day_text,
            header=header,
            text_origin=text_origin,
            text=layout,
            spans=spans,
            status=status,
            status_text=status_text,
            retry=retry,
            quote=quote_rect,
            quoted=quote,
            chips=chips,
            files=files,
            seen=seen,
            seen_text=seen_line,
        )

    def chip_at(self, point: QPointF) -> Chip | None:
        """The reaction chip under ``point`` (row coordinates), None when there is none."""
        spot = point.toPoint()
        return next((chip for chip in self.chips if chip.rect.contains(spot)), None)

    def file_at(self, point: QPointF) -> tuple[FileBox, str | None] | None:
        """The file box under ``point`` and the part of it clicked ("open", "save",
        "picture" or None); None when no file is there."""
        spot = point.toPoint()
        for box in self.files:
            if box.rect.contains(spot):
                return box, box.part_at(spot)
        return None

    def quote_at(self, point: QPointF) -> bool:
        return self.quote is not None and self.quote.contains(point.toPoint())

    def text_rect(self) -> QRect:
        """The text block (for the read-only selection field laid over it)."""
        bounds = self.text.boundingRect()
        return QRect(
            int(self.text_origin.x()),
            int(self.text_origin.y()),
            int(bounds.width() + 0.999),
            int(bounds.height() + 0.999),
        )

    def link_at(self, point: QPointF) -> str | None:
        """The URL under ``point`` (row coordinates), None when there is none."""
        local = point - self.text_origin
        for number in range(self.text.lineCount()):
            line = self.text.lineAt(number)
            if not line.rect().contains(local) or local.x() > line.naturalTextWidth():
                continue
            cursor = line.xToCursor(local.x(), QTextLine.CursorPosition.CursorOnCharacter)
            for span in self.spans:
                if span.kind is SpanKind.LINK and span.start <= cursor < span.end:
                    return span.target
        return None

    def retry_at(self, point: QPointF) -> bool:
        return self.retry is not None and self.retry.contains(point.toPoint())


def retry_font(font: QFont) -> QFont:
    """The "Retry" link: small, semi-bold, underlined."""
    link = bold_font(small_font(font))
    link.setUnderline(True)
    return link


def italic_font(font: QFont) -> QFont:
    italic = QFont(font)
    italic.setItalic(True)
    return italic


def text_layout(
    text: str,
    font: QFont,
    spans: tuple[TextSpan, ...],
    width: int,
    *,
    suffix: str = "",
    muted: bool = False,
) -> QTextLayout:
    """Lay out ``text`` as plain text, wrapped to ``width``, with links and mentions formatted.

    QTextLayout takes the characters as they are: nothing is interpreted as
    markup. A newline becomes Unicode's LINE SEPARATOR, which QTextLayout
    breaks on (one character for one, so the spans keep their positions).
    ``suffix`` (" (edited)") follows the text, small and greyed, and wraps
    with it; ``muted`` greys the whole text (a deleted message's placeholder).
    """
    layout = QTextLayout(text.replace("\n", "\u2028") + suffix, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    formats = []
    for span in spans:
        char_format = QTextCharFormat()
        if span.kind is SpanKind.LINK:
            char_format.setFontUnderline(True)
            char_format.setForeground(QBrush(_role_color(QPalette.ColorRole.Link)))
        else:
            char_format.setFontWeight(QFont.Weight.Bold)
        formatted = QTextLayout.FormatRange()
        formatted.start = span.start
        formatted.length = span.end - span.start
        formatted.format = char_format
        formats.append(formatted)
    if suffix or muted:
        grey = QTextCharFormat()
        grey.setForeground(QBrush(_role_color(QPalette.ColorRole.PlaceholderText)))
        if suffix:
            grey.setFont(small_font(font))
        formatted = QTextLayout.FormatRange()
        formatted.start = 0 if muted else len(text)
        formatted.length = len(text) + len(suffix) - formatted.start
        formatted.format = grey
        formats.append(formatted)
    layout.setFormats(formats)
    layout.beginLayout()
    y = 0.0
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        line.setPosition(QPointF(0, y))
        y += line.height()
    layout.endLayout()
    return layout


def _role_color(role: QPalette.ColorRole) -> QColor:
    return QGuiApplication.palette().color(role)


def author_color(author: str, palette: QPalette) -> QColor:
    """A stable colour per author, light on dark themes and dark on light ones."""
    hue = int(hashlib.sha1(author.casefold().encode()).hexdigest()[:4], 16) % 360
    dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
    return QColor.fromHsl(hue, 150, 170 if dark else 95)


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


class MessageDelegate(QStyledItemDelegate):
    """Paints MessageListModel rows (see the module docstring for the parts).

    Signals:
        retryRequested(str): the client_id of a failed message of mine whose
            "Retry" link was clicked.
        linkActivated(str): a link was clicked and handed to QDesktopServices.
        reactionToggled(object, str, bool): a reaction chip was clicked: the
            MessageEntry, the emoji, and whether my reaction is to be set
            (True) or taken back (False).
        quoteClicked(int): the quote of a reply was clicked: the seq it quotes.
        fileClicked(object, str): a file's box was clicked: its FileRef and
            what was hit: "picture", "open" or "save".
    """

    retryRequested = Signal(str)
    linkActivated = Signal(str)
    reactionToggled = Signal(object, str, bool)
    quoteClicked = Signal(int)
    fileClicked = Signal(object, str)

    def __init__(self, view: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # The list view: its viewport width is the width every row is laid out for.
        self._view = view
        self._cache: OrderedDict[tuple[object, ...], MessageLayout] = OrderedDict()
        # Heights kept on the model rows are valid for (this token, width): a
        # new token (clear_cache) forgets them all at once.
        self._token = object()
        # What a file's box shows now (the window's MessageFiles.look); until
        # told, every file is drawn as not loaded.
        self._file_look: Callable[[FileRef], FileLook] = lambda _ref: FileLook()
        # Where the mouse is over the view's viewport (None: elsewhere), for
        # lighting the file button under it; the view keeps it up to date.
        self.mouse_at: QPoint | None = None

    def show_files(self, look: Callable[[FileRef], FileLook]) -> None:
        """Draw each file as ``look(file)`` says at paint time."""
        self._file_look = look

    def file_look(self, ref: FileRef) -> FileLook:
        """What the box of ``ref`` shows now."""
        return self._file_look(ref)

    # ---------------------------------------------------------------- layout

    def layout_for(self, index: _Index, width: int | None = None) -> MessageLayout:
        entry: MessageEntry = index.data(MessageRole.ENTRY)
        model = index.model()
        me = getattr(model, "me", "")
        show_header = bool(index.data(MessageRole.SHOW_HEADER))
        day_text = str(index.data(MessageRole.DAY_LABEL) or "")
        quote: Quote | None = index.data(MessageRole.QUOTE)
        seen_by: tuple[str, ...] = index.data(MessageRole.SEEN_BY) or ()
        width = self._width() if width is None else width
        font = self._view.font()
        key = (entry, width, show_header, day_text, me, font.key(), quote, seen_by)
        layout = self._cache.get(key)
        if layout is None:
            layout = MessageLayout.compute(
                entry,
                width=width,
                font=font,
                me=me,
                show_header=show_header,
                day_text=day_text,
                quote=quote,
                seen_by=seen_by,
            )
            self._cache[key] = layout
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return layout

    def clear_cache(self) -> None:
        """Forget every layout and row height (after a font, palette or width change)."""
        self._cache.clear()
        self._token = object()

    def _width(self) -> int:
        viewport = getattr(self._view, "viewport", None)
        widget = viewport() if viewport is not None else self._view
        # Never wider than the view (a row wider than the view is cut off on the
        # right); the floor is what a row needs at all, for a view not yet shown.
        return max(MIN_ROW_WIDTH, widget.width())

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        width = self._width()
        model = index.model()
        if not isinstance(model, MessageListModel):
            return QSize(width, self.layout_for(index, width).height)
        number = index.row()
        key = (self._token, width)
        height = model.row_height(number, key)
        if height is None:
            height = self.layout_for(index, width).height
            model.set_row_height(number, key, height)
        return QSize(width, height)

    # ----------------------------------------------------------------- paint

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        layout = self.layout_for(index, option.rect.width())
        entry: MessageEntry = index.data(MessageRole.ENTRY)
        palette = option.palette
        font = option.font
        top = option.rect.topLeft()
        width = option.rect.width()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.translate(top)

        body_top = layout.day.bottom() + 1 if layout.day is not None else 0
        body = QRect(0, body_top, width, layout.height - body_top)
        if index.data(MessageRole.MENTION):
            highlight = QColor(palette.color(QPalette.ColorRole.Highlight))
            highlight.setAlpha(45 if is_dark(palette) else 30)
            painter.fillRect(body, highlight)
            painter.fillRect(QRect(0, body.top(), 3, body.height()), palette.highlight())
        elif option.state & QStyle.StateFlag.State_MouseOver:
            hover = QColor(palette.color(QPalette.ColorRole.Text))
            hover.setAlpha(10)
            painter.fillRect(body, hover)
        if option.state & QStyle.StateFlag.State_Selected:
            # Chosen for Ctrl+C: a tint, the text stays readable in its colours.
            chosen = QColor(palette.color(QPalette.ColorRole.Highlight))
            chosen.setAlpha(70 if is_dark(palette) else 50)
            painter.fillRect(body, chosen)
        if option.state & QStyle.StateFlag.State_HasFocus:
            # The row the keyboard is on (Tab into the list, arrows): a ring.
            painter.setPen(palette.color(QPalette.ColorRole.Highlight))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(body).adjusted(1.5, 0.5, -1.5, -0.5))

        muted = QColor(palette.color(QPalette.ColorRole.PlaceholderText))
        small = small_font(font)
        if layout.day is not None:
            self._paint_day(painter, layout, palette, small, muted)
        if layout.header is not None:
            self._paint_header(painter, layout, entry, index, palette, font, small, muted)

        if layout.quote is not None and layout.quoted is not None:
            self._paint_quote(painter, layout.quote, layout.quoted, palette, font, small, muted)

        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.setFont(font)
        if entry.text or not layout.files:
            layout.text.draw(painter, layout.text_origin)
        mouse = self.mouse_at
        hot_spot = mouse - top if mouse is not None and option.rect.contains(mouse) else None
        for box in layout.files:
            hot = box.part_at(hot_spot) if hot_spot is not None else None
            paint_file(painter, box, self._file_look(box.ref), palette, font, hot)

        if layout.chips:
            self._paint_chips(painter, layout.chips, palette, font)
        if layout.seen is not None:
            painter.setFont(small)
            painter.setPen(muted)
            painter.drawText(
                layout.seen,
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                QFontMetrics(small).elidedText(
                    layout.seen_text, Qt.TextElideMode.ElideRight, layout.seen.width()
                ),
            )

        if layout.status is not None:
            failed = entry.state is DeliveryState.FAILED
            painter.setFont(small)
            painter.setPen(QColor("#d0403a") if failed else muted)
            painter.drawText(
                layout.status,
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                layout.status_text,
            )
            if layout.retry is not None:
                painter.setFont(retry_font(font))
                painter.setPen(palette.color(QPalette.ColorRole.Link))
                painter.drawText(layout.retry, Qt.AlignmentFlag.AlignLeft, retry_text())
        painter.restore()

    def _paint_day(
        self,
        painter: QPainter,
        layout: MessageLayout,
        palette: QPalette,
        small: QFont,
        muted: QColor,
    ) -> None:
        assert layout.day is not None
        band = layout.day
        metrics = QFontMetrics(small)
        label_width = metrics.horizontalAdvance(layout.day_text) + 20
        middle = band.center().y()
        line = QColor(palette.color(QPalette.ColorRole.Mid))
        painter.setPen(line)
        left_end = band.center().x() - label_width // 2
        painter.drawLine(MARGIN_X, middle, left_end - 6, middle)
        painter.drawLine(left_end + label_width + 6, middle, band.right() - MARGIN_X, middle)
        pill = QRectF(
            left_end, middle - metrics.height() / 2 - 3, label_width, metrics.height() + 6
        )
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
        painter.setFont(small)
        painter.setPen(muted)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, layout.day_text)

    def _paint_header(
        self,
        painter: QPainter,
        layout: MessageLayout,
        entry: MessageEntry,
        index: _Index,
        palette: QPalette,
        font: QFont,
        small: QFont,
        muted: QColor,
    ) -> None:
        assert layout.header is not None
        header = layout.header
        color = author_color(entry.author, palette)
        disc = QRectF(MARGIN_X, header.top() + 1, AVATAR, AVATAR)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawEllipse(disc)
        initial_font = bold_font(font)
        painter.setFont(initial_font)
        painter.setPen(QColor("#101418") if is_dark(palette) else QColor("#ffffff"))
        painter.drawText(disc, Qt.AlignmentFlag.AlignCenter, entry.author[:1].upper())

        name, name_rect, stamp, time_rect = self.header_parts(index, header, font)
        painter.setFont(bold_font(font))
        painter.setPen(color)
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, name)
        painter.setFont(small)
        painter.setPen(muted)
        painter.drawText(
            time_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, stamp
        )

    def _paint_quote(
        self,
        painter: QPainter,
        rect: QRect,
        quoted: Quote,
        palette: QPalette,
        font: QFont,
        small: QFont,
        muted: QColor,
    ) -> None:
        shade = QColor(palette.color(QPalette.ColorRole.Text))
        shade.setAlpha(14)
        painter.fillRect(rect, shade)
        bar_color = author_color(quoted.author, palette) if quoted.author else muted
        painter.fillRect(QRect(rect.left(), rect.top(), 3, rect.height()), bar_color)
        metrics = QFontMetrics(small)
        inner = rect.adjusted(9, QUOTE_PAD, -6, -QUOTE_PAD)
        first = QRect(inner.left(), inner.top(), inner.width(), metrics.height())
        second = first.translated(0, metrics.height())
        if quoted.author:
            painter.setFont(bold_font(small))
            painter.setPen(bar_color)
            name = QFontMetrics(bold_font(small)).elidedText(
                quoted.author, Qt.TextElideMode.ElideRight, first.width()
            )
            painter.drawText(
                first, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name
            )
        line = quoted.first_line
        quiet = quoted.deleted or not quoted.author
        if quoted.deleted:
            line = deleted_text()
        elif not quoted.author:
            line = quote_missing_text()
        line_font = italic_font(small) if quiet else small
        painter.setFont(line_font)
        painter.setPen(muted if quiet else palette.color(QPalette.ColorRole.Text))
        target = first if not quoted.author else second
        painter.drawText(
            target,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            QFontMetrics(line_font).elidedText(line, Qt.TextElideMode.ElideRight, target.width()),
        )

    def _paint_chips(
        self, painter: QPainter, chips: tuple[Chip, ...], palette: QPalette, font: QFont
    ) -> None:
        chip_text = chip_font(font)
        metrics = QFontMetrics(chip_text)
        painter.setFont(chip_text)
        highlight = palette.color(QPalette.ColorRole.Highlight)
        for chip in chips:
            area = QRectF(chip.rect).adjusted(0.5, 0.5, -0.5, -0.5)
            if chip.mine:
                fill = QColor(highlight)
                fill.setAlpha(60 if is_dark(palette) else 38)
                painter.setPen(highlight)
            else:
                fill = QColor(palette.color(QPalette.ColorRole.Text))
                fill.setAlpha(16)
                painter.setPen(QColor(palette.color(QPalette.ColorRole.Mid)))
            painter.setBrush(fill)
            radius = area.height() / 2
            painter.drawRoundedRect(area, radius, radius)
            painter.setPen(palette.color(QPalette.ColorRole.Text))
            label = metrics.elidedText(
                chip.label, Qt.TextElideMode.ElideMiddle, chip.rect.width() - 8
            )
            painter.drawText(chip.rect, Qt.AlignmentFlag.AlignCenter, label)

    def header_parts(
        self, index: _Index, header: QRect, font: QFont
    ) -> tuple[str, QRect, str, QRect]:
        """The author's name (elided when the row is narrow) and the time stamp, with
        their rectangles in ``header``: the time always shows whole, the name gives way."""
        entry: MessageEntry = index.data(MessageRole.ENTRY)
        stamp = str(index.data(MessageRole.TIME) or "")
        if entry.state is DeliveryState.DELIVERED and index.data(MessageRole.MINE):
            stamp += "  ✓"
        name_metrics = QFontMetrics(bold_font(font))
        time_width = QFontMetrics(small_font(font)).horizontalAdvance(stamp) + 2
        room_for_name = max(0, header.width() - TEXT_X - RIGHT_MARGIN - 8 - time_width)
        name = name_metrics.elidedText(entry.author, Qt.TextElideMode.ElideRight, room_for_name)
        name_rect = QRect(
            TEXT_X, header.top(), name_metrics.horizontalAdvance(name) + 2, header.height()
        )
        time_rect = QRect(name_rect.right() + 8, header.top(), time_width, header.height())
        return name, name_rect, stamp, time_rect

    # ---------------------------------------------------------------- clicks

    def editorEvent(
        self,
        event: QEvent,
        model: QAbstractItemModel,
        option: QStyleOptionViewItem,
        index: _Index,
    ) -> bool:
        if (
            event.type() == QEvent.Type.MouseButtonRelease
            and isinstance(event, QMouseEvent)
            and event.button() == Qt.MouseButton.LeftButton
        ):
            layout = self.layout_for(index, option.rect.width())
            point = event.position() - QPointF(option.rect.topLeft())
            entry: MessageEntry = index.data(MessageRole.ENTRY)
            if layout.retry_at(point):
                self.retryRequested.emit(entry.client_id)
                return True
            chip = layout.chip_at(point)
            if chip is not None:
                self.reactionToggled.emit(entry, chip.emoji, not chip.mine)
                return True
            if layout.quote_at(point) and layout.quoted is not None:
                self.quoteClicked.emit(layout.quoted.seq)
                return True
            hit = layout.file_at(point)
            if hit is not None and hit[1] is not None:
                self.fileClicked.emit(hit[0].ref, hit[1])
                return True
            url = layout.link_at(point)
            if url is not None:
                open_link(url)
                self.linkActivated.emit(url)
                return True
        return super().editorEvent(event, model, option, index)

    def file_part_at(self, index: _Index, option_rect: QRect, position: QPointF) -> str | None:
        """The part of a file under a viewport position in row ``index`` ("open", "save",
        "picture"), None when there is none (the view relights buttons when it changes)."""
        layout = self.layout_for(index, option_rect.width())
        hit = layout.file_at(position - QPointF(option_rect.topLeft()))
        return None if hit is None else hit[1]

    def link_at(self, index: _Index, option_rect: QRect, position: QPointF) -> str | None:
        """The URL under a viewport position inside the row ``index`` (for the cursor)."""
        layout = self.layout_for(index, option_rect.width())
        return layout.link_at(position - QPointF(option_rect.topLeft()))

    def clickable_at(self, index: _Index, option_rect: QRect, position: QPointF) -> bool:
        """Whether a click at ``position`` does something: a link, a chip, a quote, Retry,
        a file's button or picture."""
        layout = self.layout_for(index, option_rect.width())
        point = position - QPointF(option_rect.topLeft())
        hit = layout.file_at(point)
        return (
            (hit is not None and hit[1] is not None)
            or layout.link_at(point) is not None
            or layout.chip_at(point) is not None
            or layout.quote_at(point)
            or layout.retry_at(point)
        )

    def helpEvent(
        self,
        event: QHelpEvent,
        view: QAbstractItemView,
        option: QStyleOptionViewItem,
        index: _Index,
    ) -> bool:
        # Over a chip, the tool tip says who reacted (as plain text: names are
        # user input); elsewhere the row's own tool tip.
        if event.type() == QEvent.Type.ToolTip:
            layout = self.layout_for(index, option.rect.width())
            chip = layout.chip_at(QPointF(event.pos() - option.rect.topLeft()))
            if chip is not None:
                me = getattr(index.model(), "me", "")
                QToolTip.showText(
                    event.globalPos(),
                    plain_tooltip(who_reacted(chip.emoji, chip.users, me)),
                    view,
                    chip.rect.translated(option.rect.topLeft()),
                )
                return True
            hit = layout.file_at(QPointF(event.pos() - option.rect.topLeft()))
            if hit is not None:
                box = hit[0]
                lines = [box.ref.name, file_size(box.ref.size)]
                failed = self._file_look(box.ref).failed
                if failed:
                    lines.append(failed)
                QToolTip.showText(
                    event.globalPos(),
                    plain_tooltip("\n".join(lines)),
                    view,
                    box.rect.translated(option.rect.topLeft()),
                )
                return True
        return super().helpEvent(event, view, option, index)

    # ------------------------------------------------- selecting with the mouse

    # A painted row has no text to select. Double-clicking a row opens a
    # read-only text field exactly over its text (Qt's item editor, so the
    # view places, scrolls and closes it: Esc or a click elsewhere), in which
    # the mouse selects as anywhere else and Ctrl+C copies. Laying a real
    # text widget over every row instead would cost a widget per row and
    # fight the list's scrolling; re-implementing selection in the painter
    # would duplicate what QPlainTextEdit already does well.

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: _Index) -> QWidget:
        field = QPlainTextEdit(parent)
        field.setObjectName("messageTextSelection")
        field.setReadOnly(True)
        field.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        field.setFrameShape(QFrame.Shape.NoFrame)
        field.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        field.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        field.setFont(self._view.font())
        field.document().setDocumentMargin(0)
        field.setAccessibleName(QCoreApplication.translate("MessageDelegate", "Message text"))
        return field

    def setEditorData(self, editor: QWidget, index: _Index) -> None:
        if isinstance(editor, QPlainTextEdit):
            entry: MessageEntry = index.data(MessageRole.ENTRY)
            editor.setPlainText(entry.text)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: _Index) -> None:
        # Read-only: nothing goes back into the model.
        return

    def updateEditorGeometry(
        self, editor: QWidget, option: QStyleOptionViewItem, index: _Index
    ) -> None:
        layout = self.layout_for(index, option.rect.width())
        text = layout.text_rect().translated(option.rect.topLeft())
        # As wide as the text column, as high as the painted text (plus a
        # line of slack: QPlainTextEdit wraps a shade differently).
        text.setWidth(max(40, option.rect.width() - TEXT_X - RIGHT_MARGIN))
        text.setHeight(text.height() + QFontMetrics(self._view.font()).lineSpacing() // 2)
        editor.setGeometry(text)


def open_link(url: str) -> bool:
    """Open an http, https or mailto URL with the desktop's handler; refuse anything else."""
    target = QUrl(url, QUrl.ParsingMode.StrictMode)
    if not target.isValid() or target.scheme().lower() not in ALLOWED_SCHEMES:
        return False
    return QDesktopServices.openUrl(target)
