"""The files under a message's text: where each goes in the row, and how it is drawn.

:class:`~.message_delegate.MessageDelegate` lays a row out once per width
(:class:`~.message_delegate.MessageLayout`); the files of a message are part
of that layout, one :class:`FileBox` each, stacked under the text (and above
the reaction chips), as :func:`lay_out_files` places them:

- a picture (a type the protocol serves ``inline``: PNG, JPEG, GIF, WebP) gets
  a slot of :data:`~.thumbnails.THUMBNAIL_SIZE` (smaller in a narrow row,
  same shape), whatever its state: the row is as high while the picture
  loads as after, so nothing jumps under the reader;
- any other file gets a card: its type's icon, its name (elided in the
  middle, so the extension stays visible), its size, and Open and Save
  buttons, beside the name or, in a narrow row, under it.

The geometry depends on the width and the font only. What a box shows now
(a thumbnail, how far its download is, why it failed) is a :class:`FileLook`
that the :class:`~.message_files.MessageFiles` of the window hands the
delegate at paint time; :func:`paint_file` draws a box in a look. Names are
network input: drawn with ``drawText`` as plain strings, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QFileInfo, QLocale, QMimeDatabase, QPoint, QRect, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QIcon,
    QPainter,
    QPainterPath,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import QApplication, QFileIconProvider, QStyle

from chat_desktop.controller.entries import FileRef
from chat_protocol.rules import INLINE_FILE_TYPES

from .fonts import bold_font, small_font
from .thumbnails import THUMBNAIL_SIZE

# Geometry in device independent pixels.
FILE_GAP = 6
CARD_MAX_WIDTH = 380
CARD_PAD = 8
ICON_SIZE = 32
BUTTON_PAD_X = 10
BUTTON_GAP = 6
# Narrower than this left for the name, the buttons go under it.
NAME_MIN = 90
# Narrower cards than this leave the icon out.
ICON_MIN_CARD = 200
RADIUS = 6


def is_picture(ref: FileRef) -> bool:
    """Whether ``ref`` is shown as a thumbnail (the protocol's inline types)."""
    return ref.type.lower() in INLINE_FILE_TYPES


def file_size(count: int) -> str:
    """A size as the locale writes it: "3.0 MiB"."""
    return QLocale().formattedDataSize(count, 1)


def open_text() -> str:
    return QCoreApplication.translate("MessageFiles", "Open")


def save_text() -> str:
    return QCoreApplication.translate("MessageFiles", "Save")


@dataclass(frozen=True, slots=True)
class FileLook:
    """What a file's box shows now.

    ``progress``: the share downloaded (0..1) while a download runs, else
    None; ``image``: the decoded thumbnail of a picture; ``failed``: why it
    could not be fetched or shown, for the user ("" when it could); ``icon``:
    a card's type icon (:func:`file_icon`).
    """

    progress: float | None = None
    image: QPixmap | None = None
    failed: str = ""
    icon: QIcon | None = None


@dataclass(frozen=True, slots=True)
class FileBox:
    """One file of a message, placed in the row (row coordinates).

    ``rect`` is the picture's slot or the card; a card's ``label`` holds its
    name and size lines and ``open``/``save`` its buttons (None for a file of
    mine still going up: there is nothing to fetch yet).
    """

    ref: FileRef
    rect: QRect
    picture: bool
    label: QRect | None = None
    open: QRect | None = None
    save: QRect | None = None

    def part_at(self, spot: QPoint) -> str | None:
        """What a click at ``spot`` hits: "open", "save", "picture", or None."""
        if self.open is not None and self.open.contains(spot):
            return "open"
        if self.save is not None and self.save.contains(spot):
            return "save"
        if self.picture and self.ref.id and self.rect.contains(spot):
            return "picture"
        return None


def lay_out_files(
    files: tuple[FileRef, ...], font: QFont, left: int, top: int, width: int
) -> tuple[tuple[FileBox, ...], int]:
    """The boxes of ``files`` from (left, top), one under the other, within ``width``;
    and the bottom of the last (``top`` when there are none)."""
    boxes: list[FileBox] = []
    y = top
    for ref in files:
        box = (
            _picture_box(ref, left, y, width)
            if is_picture(ref)
            else _card(ref, font, left, y, width)
        )
        boxes.append(box)
        y = box.rect.bottom() + 1 + FILE_GAP
    if not boxes:
        return (), top
    return tuple(boxes), boxes[-1].rect.bottom()


def _picture_box(ref: FileRef, left: int, top: int, width: int) -> FileBox:
    slot_width = min(THUMBNAIL_SIZE.width(), width)
    slot_height = THUMBNAIL_SIZE.height() * slot_width // THUMBNAIL_SIZE.width()
    return FileBox(ref, QRect(left, top, slot_width, slot_height), True)


def _card(ref: FileRef, font: QFont, left: int, top: int, width: int) -> FileBox:
    card_width = min(CARD_MAX_WIDTH, width)
    name = QFontMetrics(font)
    small = QFontMetrics(small_font(font))
    lines = name.height() + small.height()
    # In a very narrow row the name needs the icon's room more than the icon.
    icon = card_width >= ICON_MIN_CARD
    body = max(ICON_SIZE, lines) if icon else lines
    text_left = left + CARD_PAD + (ICON_SIZE + CARD_PAD if icon else 0)
    right = left + card_width - CARD_PAD
    if not ref.id:
        rect = QRect(left, top, card_width, body + 2 * CARD_PAD)
        label = QRect(text_left, top + CARD_PAD + (body - lines) // 2, right - text_left, lines)
        return FileBox(ref, rect, False, label)
    button_height = small.height() + 8
    widths = [
        small.horizontalAdvance(text) + 2 * BUTTON_PAD_X for text in (open_text(), save_text())
    ]
    buttons = widths[0] + BUTTON_GAP + widths[1]
    beside = right - buttons - CARD_PAD - text_left >= NAME_MIN
    if beside:
        rect = QRect(left, top, card_width, body + 2 * CARD_PAD)
        label = QRect(
            text_left,
            top + CARD_PAD + (body - lines) // 2,
            right - buttons - CARD_PAD - text_left,
            lines,
        )
        button_top = top + (rect.height() - button_height) // 2
        start = right - buttons
    else:
        rect = QRect(left, top, card_width, body + 3 * CARD_PAD + button_height)
        label = QRect(text_left, top + CARD_PAD + (body - lines) // 2, right - text_left, lines)
        button_top = top + CARD_PAD + body + CARD_PAD
        # Under the name; from the card's left edge when even that is too narrow.
        start = text_left if text_left + buttons <= right else left + CARD_PAD
    open_rect = QRect(start, button_top, widths[0], button_height)
    save_rect = QRect(open_rect.right() + 1 + BUTTON_GAP, button_top, widths[1], button_height)
    return FileBox(ref, rect, False, label, open_rect, save_rect)


# ---------------------------------------------------------------- painting


def paint_file(
    painter: QPainter,
    box: FileBox,
    look: FileLook,
    palette: QPalette,
    font: QFont,
    hot: str | None = None,
) -> None:
    """Draw ``box`` as ``look`` says (the painter is in row coordinates); ``hot`` is the
    part under the mouse ("open", "save"), drawn lit."""
    if box.picture:
        _paint_picture(painter, box, look, palette, font)
    else:
        _paint_card(painter, box, look, palette, font, hot)


def picture_rect(slot: QRect, image: QPixmap) -> QRect:
    """Where a thumbnail goes in its slot: its own size, or fitted when the slot is smaller."""
    size = image.deviceIndependentSize().toSize()
    if size.width() > slot.width() or size.height() > slot.height():
        size = size.scaled(slot.size(), Qt.AspectRatioMode.KeepAspectRatio)
    return QRect(slot.topLeft(), size)


def _shade(palette: QPalette, alpha: int) -> QColor:
    color = QColor(palette.color(QPalette.ColorRole.Text))
    color.setAlpha(alpha)
    return color


def _paint_picture(
    painter: QPainter, box: FileBox, look: FileLook, palette: QPalette, font: QFont
) -> None:
    slot = box.rect
    if look.image is not None and not look.failed:
        target = picture_rect(slot, look.image)
        path = QPainterPath()
        path.addRoundedRect(target.toRectF(), RADIUS, RADIUS)
        painter.save()
        painter.setClipPath(path)
        painter.drawPixmap(target, look.image)
        painter.restore()
        painter.setPen(_shade(palette, 40))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(target.toRectF().adjusted(0.5, 0.5, -0.5, -0.5), RADIUS, RADIUS)
        return
    # A box of the slot's size while it loads, or saying it could not be shown.
    painter.setPen(_shade(palette, 45))
    painter.setBrush(_shade(palette, 12))
    painter.drawRoundedRect(slot.toRectF().adjusted(0.5, 0.5, -0.5, -0.5), RADIUS, RADIUS)
    small = small_font(font)
    inner = slot.adjusted(12, 0, -12, 0)
    muted = palette.color(QPalette.ColorRole.PlaceholderText)
    lines: list[tuple[str, QFont, QColor]] = []
    if look.failed:
        lines.append(
            (
                QCoreApplication.translate("MessageFiles", "Could not load the picture"),
                bold_font(small),
                _failure(palette),
            )
        )
        lines.append((box.ref.name, small, palette.color(QPalette.ColorRole.Text)))
        lines.append((look.failed, small, muted))
        lines.append(
            (QCoreApplication.translate("MessageFiles", "Click to try again"), small, muted)
        )
    else:
        lines.append((box.ref.name, font, palette.color(QPalette.ColorRole.Text)))
        lines.append((file_size(box.ref.size), small, muted))
    heights = [QFontMetrics(line_font).height() for _, line_font, _ in lines]
    loading = look.progress is not None and not look.failed
    bar = 4 if loading else 0
    y = slot.top() + (slot.height() - sum(heights) - (bar + 6 if bar else 0)) // 2
    # A narrow row's slot is short: what does not fit is cut at its edge.
    painter.save()
    painter.setClipRect(slot)
    for (text, line_font, color), height in zip(lines, heights, strict=True):
        painter.setFont(line_font)
        painter.setPen(color)
        elided = QFontMetrics(line_font).elidedText(
            text, Qt.TextElideMode.ElideMiddle, inner.width()
        )
        painter.drawText(
            QRect(inner.left(), y, inner.width(), height), Qt.AlignmentFlag.AlignCenter, elided
        )
        y += height
    if loading:
        assert look.progress is not None
        track = QRect(inner.left() + inner.width() // 6, y + 6, inner.width() * 2 // 3, bar)
        _paint_bar(painter, track, look.progress, palette)
    painter.restore()


def _paint_card(
    painter: QPainter, box: FileBox, look: FileLook, palette: QPalette, font: QFont, hot: str | None
) -> None:
    card = box.rect
    painter.setPen(_shade(palette, 45))
    painter.setBrush(_shade(palette, 8))
    painter.drawRoundedRect(card.toRectF().adjusted(0.5, 0.5, -0.5, -0.5), RADIUS, RADIUS)
    assert box.label is not None
    label = box.label
    icon_top = label.top() + (label.height() - ICON_SIZE) // 2
    if look.icon is not None and label.left() > card.left() + CARD_PAD:
        look.icon.paint(painter, QRect(card.left() + CARD_PAD, icon_top, ICON_SIZE, ICON_SIZE))
    name_font = bold_font(font)
    small = small_font(font)
    name_height = QFontMetrics(font).height()
    painter.setFont(name_font)
    painter.setPen(palette.color(QPalette.ColorRole.Text))
    name = QFontMetrics(name_font).elidedText(
        box.ref.name, Qt.TextElideMode.ElideMiddle, label.width()
    )
    flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    painter.drawText(QRect(label.left(), label.top(), label.width(), name_height), flags, name)
    detail = QRect(
        label.left(), label.top() + name_height, label.width(), label.height() - name_height
    )
    painter.setFont(small)
    if look.failed:
        painter.setPen(_failure(palette))
        line = look.failed
    else:
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        line = file_size(box.ref.size)
        if look.progress is not None:
            line = QCoreApplication.translate("MessageFiles", "{done} of {total}").format(
                done=file_size(int(box.ref.size * look.progress)), total=line
            )
    painter.drawText(
        detail,
        flags,
        QFontMetrics(small).elidedText(line, Qt.TextElideMode.ElideRight, detail.width()),
    )
    for part, rect, text in (("open", box.open, open_text()), ("save", box.save, save_text())):
        if rect is not None:
            _paint_button(painter, rect, text, palette, small, lit=hot == part)
    if look.progress is not None:
        track = QRect(card.left() + CARD_PAD, card.bottom() - 5, card.width() - 2 * CARD_PAD, 3)
        _paint_bar(painter, track, look.progress, palette)


def _paint_button(
    painter: QPainter, rect: QRect, text: str, palette: QPalette, font: QFont, lit: bool
) -> None:
    fill = QColor(palette.color(QPalette.ColorRole.Button))
    if lit:
        # Under the mouse: tinted with the highlight, as Fusion lights a hovered button.
        highlight = palette.color(QPalette.ColorRole.Highlight)
        fill = QColor.fromRgbF(
            (fill.redF() * 4 + highlight.redF()) / 5,
            (fill.greenF() * 4 + highlight.greenF()) / 5,
            (fill.blueF() * 4 + highlight.blueF()) / 5,
        )
    painter.setPen(palette.color(QPalette.ColorRole.Highlight) if lit else _shade(palette, 70))
    painter.setBrush(fill)
    painter.drawRoundedRect(rect.toRectF().adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
    painter.setFont(font)
    painter.setPen(palette.color(QPalette.ColorRole.ButtonText))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def _paint_bar(painter: QPainter, track: QRect, share: float, palette: QPalette) -> None:
    radius = track.height() / 2
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(_shade(palette, 30))
    painter.drawRoundedRect(track.toRectF(), radius, radius)
    done = QRect(
        track.left(), track.top(), round(track.width() * max(0.0, min(1.0, share))), track.height()
    )
    if done.width() > 0:
        painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
        painter.drawRoundedRect(done.toRectF(), radius, radius)


def _failure(palette: QPalette) -> QColor:
    dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
    return QColor("#f07a72") if dark else QColor("#c0392b")


def file_icon(name: str, type_: str) -> QIcon:
    """The desktop's icon for a file of this name and type; the style's plain file icon
    where the desktop has none (no icon theme)."""
    suffix = QFileInfo(name).suffix()
    # Only the suffix counts: nothing a sender named is looked up on disk.
    found = QFileIconProvider().icon(QFileInfo(f"file.{suffix}" if suffix else "file"))
    if found.isNull():
        mime = QMimeDatabase().mimeTypeForName(type_)
        found = QIcon.fromTheme(mime.iconName(), QIcon.fromTheme(mime.genericIconName()))
    if found.isNull():
        style = QApplication.style()
        found = style.standardIcon(QStyle.StandardPixmap.SP_FileIcon)
    return found
