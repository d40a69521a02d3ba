"""Links and mentions in a message text, as character spans (pure functions).

The controller asks :func:`mentions` whether a message mentions me (to notify
in a muted room, and to count mentions on the room); the message delegate
underlines and colours the spans (through :mod:`chat_desktop.ui.text_spans`).
Only ``http``, ``https`` and ``mailto`` are ever links: a message must not be
able to make a click open a local file or run a custom URL handler.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

# A link starts with one of the allowed schemes and runs to white space or a
# character that cannot sit in a bare URL. Trailing punctuation is trimmed
# afterwards, because "see https://example.org." means the URL without the dot.
_URL_RE = re.compile(r"\b(?:https?://|mailto:)[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
# A mention is @ and a user name (the protocol's user name characters).
_MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9_.-]{1,32})")

ALLOWED_SCHEMES = ("http", "https", "mailto")


class SpanKind(enum.Enum):
    LINK = "link"
    MENTION = "mention"


@dataclass(frozen=True, slots=True)
class TextSpan:
    """``text[start:end]`` is a link (``target`` is the URL) or a mention of me."""

    start: int
    end: int
    kind: SpanKind
    target: str = ""


def find_links(text: str) -> list[TextSpan]:
    """Every http/https/mailto URL in ``text``, in order."""
    spans = []
    for match in _URL_RE.finditer(text):
        url = match.group(0)
        # Keep a closing parenthesis that closes one opened inside the URL
        # (Wikipedia style links), trim every other trailing punctuation mark.
        while url and url[-1] in _TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break
            url = url[:-1]
        if url.lower().rstrip(":/") in ("http", "https", "mailto"):
            continue
        spans.append(TextSpan(match.start(), match.start() + len(url), SpanKind.LINK, url))
    return spans


def find_mentions(text: str, me: str) -> list[TextSpan]:
    """Every ``@me`` in ``text`` (user names compare case-insensitively)."""
    if not me:
        return []
    wanted = me.casefold()
    return [
        TextSpan(match.start(), match.end(), SpanKind.MENTION, me)
        for match in _MENTION_RE.finditer(text)
        if match.group(1).rstrip(".").casefold() == wanted
    ]


def find_spans(text: str, me: str) -> list[TextSpan]:
    """Links and mentions of ``me``; a mention inside a link is not a mention."""
    links = find_links(text)
    mentions = [
        mention
        for mention in find_mentions(text, me)
        if not any(link.start <= mention.start < link.end for link in links)
    ]
    return sorted(links + mentions, key=lambda span: span.start)


def mentions(text: str, me: str) -> bool:
    """Whether ``text`` mentions ``me`` (outside links)."""
    return any(span.kind is SpanKind.MENTION for span in find_spans(text, me))
