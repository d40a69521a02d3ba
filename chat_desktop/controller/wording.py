"""What the user reads when something is refused: error codes and marked phrases, translated.

The server explains every refusal with a protocol code (``chat_protocol.ErrorCode``)
and an English sentence. The app shows the code's own translated sentence
(:func:`error_text`), and the server's words only for a code it does not
know (a newer server). :func:`say` is what the Qt faces of the controller
and the widgets call on anything a Qt-free part handed them: an error code,
a sentence marked in :mod:`.phrases`, or (unknown code) the server's own
sentence, which stays as it is.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from chat_desktop.transport.http_api import ApiError, NoAnswer
from chat_protocol import ErrorCode

# Our marker rather than PySide6's (typed as returning object): lupdate knows the name.
from .phrases import CONTEXT, QT_TRANSLATE_NOOP

# One sentence per code, translated when shown (the language may be chosen
# after import). Written for the person at the keyboard, not the programmer.
_ERRORS: dict[str, str] = {
    ErrorCode.BAD_REQUEST: QT_TRANSLATE_NOOP("errors", "The server did not accept this request."),
    ErrorCode.UNKNOWN_TYPE: QT_TRANSLATE_NOOP(
        "errors", "The server does not know this request: it may be older than the app."
    ),
    ErrorCode.UNKNOWN_ROOM: QT_TRANSLATE_NOOP("errors", "This room does not exist."),
    ErrorCode.TOO_LARGE: QT_TRANSLATE_NOOP("errors", "This is too long for the server."),
    ErrorCode.RATE_LIMITED: QT_TRANSLATE_NOOP(
        "errors", "Too many requests in a short time: wait a moment and try again."
    ),
    ErrorCode.UNAUTHORIZED: QT_TRANSLATE_NOOP(
        "errors", "This device was signed out; sign in again."
    ),
    ErrorCode.FORBIDDEN: QT_TRANSLATE_NOOP("errors", "Only its author (or an admin) may do that."),
    ErrorCode.UNKNOWN_MESSAGE: QT_TRANSLATE_NOOP(
        "errors", "That message is not there any more: it may have been deleted."
    ),
    ErrorCode.UNKNOWN_FILE: QT_TRANSLATE_NOOP(
        "errors", "An attached file is no longer on the server: attach it again."
    ),
    ErrorCode.NAME_TAKEN: QT_TRANSLATE_NOOP(
        "errors", "A room with this name exists: choose another."
    ),
    ErrorCode.UNAVAILABLE: QT_TRANSLATE_NOOP(
        "errors", "The server cannot store anything right now: try again in a moment."
    ),
    ErrorCode.REGISTRATION_CLOSED: QT_TRANSLATE_NOOP(
        "errors", "This server does not take new accounts."
    ),
    ErrorCode.USERNAME_TAKEN: QT_TRANSLATE_NOOP(
        "errors", "This username is taken: choose another, or sign in."
    ),
    ErrorCode.NOT_FOUND: QT_TRANSLATE_NOOP(
        "errors", "The server does not offer this: it may be older than the app."
    ),
    ErrorCode.METHOD_NOT_ALLOWED: QT_TRANSLATE_NOOP(
        "errors", "The server does not offer this: it may be older than the app."
    ),
    ErrorCode.INVITE_REQUIRED: QT_TRANSLATE_NOOP(
        "errors", "This server takes new accounts only with an invitation code."
    ),
    ErrorCode.INVITE_INVALID: QT_TRANSLATE_NOOP(
        "errors", "This invitation code is unknown, used up or expired."
    ),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: QT_TRANSLATE_NOOP(
        "errors", "The server did not understand the request's format."
    ),
    ErrorCode.REQUEST_TIMEOUT: QT_TRANSLATE_NOOP(
        "errors", "The request took too long to arrive: try again."
    ),
    ErrorCode.WRONG_PASSWORD: QT_TRANSLATE_NOOP("errors", "The current password is wrong."),
}


# Why an HTTP request got no answer at all; {where} is the server's address.
_NO_ANSWER: dict[str, str] = {
    NoAnswer.CLOSED: QT_TRANSLATE_NOOP("errors", "The connection to the server was closed."),
    NoAnswer.UNTRUSTED: QT_TRANSLATE_NOOP(
        "errors", "The certificate of the server at {where} is not trusted."
    ),
    NoAnswer.UNREACHABLE: QT_TRANSLATE_NOOP("errors", "Cannot reach the server at {where}."),
    NoAnswer.INVALID_ADDRESS: QT_TRANSLATE_NOOP("errors", "{where} is not a valid server address."),
    NoAnswer.TIMEOUT: QT_TRANSLATE_NOOP("errors", "The server at {where} did not answer in time."),
    NoAnswer.BROKEN: QT_TRANSLATE_NOOP("errors", "The connection to {where} broke."),
}


def request_failed(exc: ApiError) -> str:
    """Why an HTTP request failed, for the user: no answer (unreachable, timed out,
    ...) or the server's refusal by its code; the server's words for an unknown code."""
    if exc.no_answer is not None:
        return QCoreApplication.translate("errors", _NO_ANSWER[exc.no_answer]).format(
            where=exc.where
        )
    text = str(exc).strip()
    if text and not text.endswith((".", "!", "?")):
        text += "."
    return error_text(exc.code, text)


def error_text(code: str | None, fallback: str = "") -> str:
    """The translated sentence for the protocol error ``code``; ``fallback`` (the
    server's sentence) when the code is unknown or missing."""
    sentence = _ERRORS.get(code or "")
    if sentence is None:
        return fallback or QCoreApplication.translate("errors", "Something went wrong.")
    return QCoreApplication.translate("errors", sentence)


def known_code(text: str) -> bool:
    """Whether ``text`` is a protocol error code this app has a sentence for."""
    return text in _ERRORS


def say(text: str) -> str:
    """An error code's sentence, a marked phrase translated, or ``text`` as it is."""
    if known_code(text):
        return error_text(text)
    return QCoreApplication.translate(CONTEXT, text)
