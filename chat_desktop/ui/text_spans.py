"""Find the links and the mentions in a message text, as character spans; quote text safely.

Pure functions over plain strings: the delegate underlines and colours the
spans, and turns a click inside a link span into ``QDesktopServices.openUrl``.
The span finders live in :mod:`chat_desktop.controller.mentions` (the
controller counts and notifies mentions too) and are re-exported here.
"""

from __future__ import annotations

import html

from chat_desktop.controller.mentions import (
    ALLOWED_SCHEMES,
    SpanKind,
    TextSpan,
    find_links,
    find_mentions,
    find_spans,
    mentions,
)

__all__ = [
    "ALLOWED_SCHEMES",
    "SpanKind",
    "TextSpan",
    "find_links",
    "find_mentions",
    "find_spans",
    "mentions",
    "plain_tooltip",
]


def plain_tooltip(text: str) -> str:
    """``text`` as a tool tip that shows every character literally.

    Qt guesses whether a tool tip is rich text (Qt.mightBeRichText), and there
    is no flag to say "plain": so the text is escaped and wrapped as rich text
    on purpose, with its line breaks kept. Use it for anything that quotes a
    server or a user.
    """
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>" if text else ""
