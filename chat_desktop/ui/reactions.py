"""Reactions under a message: where the chips go, what they say, who reacted.

A message's reactions (``MessageEntry.reactions``: (emoji, users) pairs in the
order the emoji first appeared) are drawn by the
:class:`~.message_delegate.MessageDelegate` as chips under the text: the
emoji and how many reacted, mine highlighted. This module lays the chips out
(wrapping to the row's width, so a row never grows sideways) and words the
tool tip that lists who reacted; the delegate paints and hit-tests them, and
a click on a chip toggles my reaction (see :mod:`.message_actions`).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QLocale, QRect
from PySide6.QtGui import QFont, QFontMetrics

# What the picker offers (ui/emoji_picker.py): the reactions people use most
# in work chats, four rows of six.
COMMON_EMOJI = (
    "👍",
    "👎",
    "😀",
    "😂",
    "😊",
    "😍",
    "🎉",
    "❤️",
    "🙏",
    "👀",
    "🔥",
    "✅",
    "😮",
    "😢",
    "😡",
    "🤔",
    "👏",
    "🙌",
    "🚀",
    "💯",
    "☕",
    "🍕",
    "👋",
    "💡",
)

# Chip geometry in device independent pixels.
CHIP_PAD_X = 7
CHIP_PAD_Y = 3
CHIP_GAP = 4


@dataclass(frozen=True, slots=True)
class Chip:
    """One reaction under a message: the emoji, who reacted, whether I did, where it is."""

    emoji: str
    users: tuple[str, ...]
    mine: bool
    rect: QRect

    @property
    def label(self) -> str:
        return f"{self.emoji} {QLocale().toString(len(self.users))}"


def chip_font(font: QFont) -> QFont:
    """Chips are written in the text's size: colour emoji any smaller are hard to tell apart."""
    return QFont(font)


def lay_out_chips(
    reactions: tuple[tuple[str, tuple[str, ...]], ...],
    me: str,
    font: QFont,
    left: int,
    top: int,
    width: int,
) -> tuple[tuple[Chip, ...], int]:
    """The chips of ``reactions`` from (left, top), wrapped at ``width``; and their bottom.

    A chip wider than the whole width (a very long "emoji") keeps that
    width: it is elided when painted, never pushed past the row's edge.
    """
    metrics = QFontMetrics(chip_font(font))
    height = metrics.height() + 2 * CHIP_PAD_Y
    chips: list[Chip] = []
    x, y = left, top
    for emoji, users in reactions:
        if not users:
            continue
        label = f"{emoji} {QLocale().toString(len(users))}"
        chip_width = min(width, metrics.horizontalAdvance(label) + 2 * CHIP_PAD_X)
        if x > left and x + chip_width > left + width:
            x = left
            y += height + CHIP_GAP
        chips.append(Chip(emoji, users, me in users, QRect(x, y, chip_width, height)))
        x += chip_width + CHIP_GAP
    if not chips:
        return (), top
    return tuple(chips), y + height


def who_reacted(emoji: str, users: tuple[str, ...], me: str) -> str:
    """The chip's tool tip: "alice, bob and you reacted with 👍" (plain text)."""
    others = [user for user in users if user != me]
    translate = QCoreApplication.translate
    if me in users:
        if not others:
            return translate("reactions", "You reacted with {emoji}").format(emoji=emoji)
        return translate("reactions", "{names} and you reacted with {emoji}").format(
            names=", ".join(others), emoji=emoji
        )
    return translate("reactions", "{names} reacted with {emoji}").format(
        names=", ".join(others), emoji=emoji
    )
