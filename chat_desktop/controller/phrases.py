"""Sentences of the controller's plain-asyncio parts, marked for translation without Qt.

The parts under controller/ that stay Qt-free (tests/test_architecture.py:
the outbox, the room requests, ...) cannot call ``QCoreApplication.translate``.
They hand the Qt faces either a protocol error code (``"too_large"``) or one
of the English sentences marked here with :func:`QT_TRANSLATE_NOOP`, which
``pyside6-lupdate`` collects under the context :data:`CONTEXT` like Qt's own
macro; the Qt face (:func:`chat_desktop.controller.wording.say`) translates
either kind when it emits the signal. The function returns its text as is:
marking is all it does.
"""

from __future__ import annotations

from chat_protocol import ErrorCode

#: The translation context of every sentence marked with QT_TRANSLATE_NOOP here.
CONTEXT = "phrases"


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Mark ``text`` for translation in ``context``; return it untranslated."""
    return text


OFFLINE_ROOM = QT_TRANSLATE_NOOP(
    "phrases", "You are offline: a room can be created once the connection is back."
)
DROPPED = QT_TRANSLATE_NOOP(
    "phrases", "The connection dropped before the server answered: try again."
)
UNREACHABLE = QT_TRANSLATE_NOOP("phrases", "The server could not be reached: try again.")

# The protocol's rules (chat_protocol.rules) as the app shows them, after
# controller sentence(): the checks the app makes before asking the server.
RULES = (
    QT_TRANSLATE_NOOP("phrases", "Room name must be 1-64 characters of a-z, 0-9, '_' or '-'."),
    QT_TRANSLATE_NOOP(
        "phrases", "Username must be 1-32 characters of letters, digits, '_', '.' or '-'."
    ),
    QT_TRANSLATE_NOOP("phrases", "Password must be 8-1024 characters long."),
    QT_TRANSLATE_NOOP("phrases", "Text must not be empty."),
    QT_TRANSLATE_NOOP("phrases", "Text must be at most 4000 characters."),
)


def refusal_reason(code: str, message: str) -> str:
    """What a Qt-free part keeps of a refusal: the protocol ``code`` when it is
    one (the Qt face shows its translated sentence), else the server's words."""
    return code if code in _PROTOCOL_CODES else (message or code)


_PROTOCOL_CODES = frozenset(code.value for code in ErrorCode)
