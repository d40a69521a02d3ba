"""The fonts a message row derives from the view's: small (times, status lines, file
sizes) and semi-bold (names). Shared by the message delegate, the file cards and
the search panel, so that they all scale with the one font the user set."""

from __future__ import annotations

from PySide6.QtGui import QFont


def small_font(font: QFont) -> QFont:
    """The font of times, status lines, day separators and file sizes."""
    small = QFont(font)
    if font.pointSizeF() > 0:
        small.setPointSizeF(font.pointSizeF() * 0.86)
    else:
        small.setPixelSize(max(9, round(font.pixelSize() * 0.86)))
    return small


def bold_font(font: QFont) -> QFont:
    bold = QFont(font)
    bold.setWeight(QFont.Weight.DemiBold)
    return bold
