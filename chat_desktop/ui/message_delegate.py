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
- the text, wrapped, links underlined, mentions of me in bold;
- for my messages that are not delivered yet, a status line (queued,
  sending, or not delivered with a Retry link).

The text is laid out with QTextLayout from the plain string: it is never
parsed as HTML, so ``<b>`` or ``<img src=file:...>`` is painted as typed.

Clicks arrive in :meth:`MessageDelegate.editorEvent`: a click on a link opens
it with QDesktopServices (http, https and mailto only, see text_spans); a click
on "Retry" emits :attr:`MessageDelegate.retryRequested`.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractItemModel,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
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
    QMouseEvent,
    QPainter,
    QPalette,
    QTextCharFormat,
    QTextLayout,
    QTextLine,
    QTextOption,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from chat_desktop.controller.entries import DeliveryState, MessageEntry
from chat_desktop.controller.wording import say

from .message_model import MessageListModel, MessageRole
from .text_spans import ALLOWED_SCHEMES, SpanKind, TextSpan, find_spans

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
        spans = tuple(find_spans(entry.text, me))
        layout = text_layout(entry.text, font, spans, text_width)
        text_origin = QPointF(TEXT_X, y)
        y += int(layout.boundingRect().height() + 0.999)
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


def small_font(font: QFont) -> QFont:
    """The font of times, status lines and day separators."""
    small = QFont(font)
    if font.pointSizeF() > 0:
        small.setPointSizeF(font.pointSizeF() * 0.86)
    else:
        small.setPixelSize(max(9, round(font.pixelSize() * 0.86)))
    return small


def retry_font(font: QFont) -> QFont:
    """The "Retry" link: small, semi-bold, underlined."""
    link = bold_font(small_font(font))
    link.setUnderline(True)
    return link


def bold_font(font: QFont) -> QFont:
    bold = QFont(font)
    bold.setWeight(QFont.Weight.DemiBold)
    return bold


def text_layout(text: str, font: QFont, spans: tuple[TextSpan, ...], width: int) -> QTextLayout:
    """Lay out ``text`` as plain text, wrapped to ``width``, with links and mentions formatted.

    QTextLayout takes the characters as they are: nothing is interpreted as
    markup. A newline becomes Unicode's LINE SEPARATOR, which QTextLayout
    breaks on (one character for one, so the spans keep their positions).
    """
    layout = QTextLayout(text.replace("\n", "\u2028"), font)
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
    """

    retryRequested = Signal(str)
    linkActivated = Signal(str)

    def __init__(self, view: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # The list view: its viewport width is the width every row is laid out for.
        self._view = view
        self._cache: OrderedDict[tuple[object, ...], MessageLayout] = OrderedDict()
        # Heights kept on the model rows are valid for (this token, width): a
        # new token (clear_cache) forgets them all at once.
        self._token = object()

    # ---------------------------------------------------------------- layout

    def layout_for(self, index: _Index, width: int | None = None) -> MessageLayout:
        entry: MessageEntry = index.data(MessageRole.ENTRY)
        model = index.model()
        me = getattr(model, "me", "")
        show_header = bool(index.data(MessageRole.SHOW_HEADER))
        day_text = str(index.data(MessageRole.DAY_LABEL) or "")
        width = self._width() if width is None else width
        font = self._view.font()
        key = (entry, width, show_header, day_text, me, font.key())
        layout = self._cache.get(key)
        if layout is None:
            layout = MessageLayout.compute(
                entry, width=width, font=font, me=me, show_header=show_header, day_text=day_text
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

        muted = QColor(palette.color(QPalette.ColorRole.PlaceholderText))
        small = small_font(font)
        if layout.day is not None:
            self._paint_day(painter, layout, palette, small, muted)
        if layout.header is not None:
            self._paint_header(painter, layout, entry, index, palette, font, small, muted)

        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.setFont(font)
        layout.text.draw(painter, layout.text_origin)

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
            if layout.retry_at(point):
                entry: MessageEntry = index.data(MessageRole.ENTRY)
                self.retryRequested.emit(entry.client_id)
                return True
            url = layout.link_at(point)
            if url is not None:
                open_link(url)
                self.linkActivated.emit(url)
                return True
        return super().editorEvent(event, model, option, index)

    def link_at(self, index: _Index, option_rect: QRect, position: QPointF) -> str | None:
        """The URL under a viewport position inside the row ``index`` (for the cursor)."""
        layout = self.layout_for(index, option_rect.width())
        return layout.link_at(position - QPointF(option_rect.topLeft()))


def open_link(url: str) -> bool:
    """Open an http, https or mailto URL with the desktop's handler; refuse anything else."""
    target = QUrl(url, QUrl.ParsingMode.StrictMode)
    if not target.isValid() or target.scheme().lower() not in ALLOWED_SCHEMES:
        return False
    return QDesktopServices.openUrl(target)
