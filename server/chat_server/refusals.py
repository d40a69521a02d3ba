"""One answer for every refusal, whichever transport carried the request.

The service and the store refuse by raising: the contract's refusals as
:class:`~chat_protocol.ProtocolError` (``RateLimited`` with its wait), the
store's as the typed :class:`~chat_server.storage.base.StorageError`
subclasses (``UnknownRoom``, ``UsernameTaken``...) or a plain StorageError
when the database failed. Nobody catches them on the way up: the socket
session (:mod:`chat_server.session`) and the HTTP API
(:mod:`chat_server.http_api`) both hand what reached them to
:func:`refusal_for`, and send the :class:`Refusal` it returns as an ``error``
event or as a status with a ``{"code", "message"}`` body. So a refusal reads
the same over both, with the codes and statuses of
:mod:`chat_protocol.errors`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chat_protocol import Error, ErrorCode, ProtocolError
from chat_protocol.errors import status_of

from .service import RateLimited
from .storage.base import (
    BadTarget,
    NameTaken,
    NotYours,
    StorageError,
    UnknownMessage,
    UnknownRoom,
    UnknownUser,
    UsernameTaken,
)
from .storage.file_records import UnknownFile

log = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "the server's database is unavailable; try again"
# JSON can spell a lone surrogate ("\ud800"), which no UTF-8 database or frame
# can carry; the protocol's validators let some through (tokens, passwords).
NOT_UNICODE_MESSAGE = (
    "the request contains a lone surrogate (\\ud800-\\udfff), which is not Unicode"
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """What the client hears: the contract's code, a sentence, and where it applies."""

    code: str
    message: str
    # The client_id of the message refused, for the socket's ``error`` event.
    ref: str | None = None
    # Whole seconds after which trying again makes sense (HTTP's Retry-After).
    retry_after: int | None = None

    @property
    def status(self) -> int:
        """The HTTP status this refusal is sent with."""
        return status_of(self.code)

    def event(self) -> Error:
        """The socket's ``error`` event."""
        return Error(self.code, self.message, self.ref)


# The store's refusals of the request itself, and the code each is sent with.
_STORE_REFUSALS: tuple[tuple[type[StorageError], ErrorCode], ...] = (
    (UnknownRoom, ErrorCode.UNKNOWN_ROOM),
    (UsernameTaken, ErrorCode.USERNAME_TAKEN),
    (UnknownUser, ErrorCode.UNAUTHORIZED),
    (UnknownMessage, ErrorCode.UNKNOWN_MESSAGE),
    (NotYours, ErrorCode.FORBIDDEN),
    (BadTarget, ErrorCode.BAD_REQUEST),
    (NameTaken, ErrorCode.NAME_TAKEN),
    (UnknownFile, ErrorCode.UNKNOWN_FILE),
)


def refusal_for(exc: BaseException, ref: str | None = None) -> Refusal | None:
    """The refusal that answers a request whose handling raised ``exc``.

    ``ref``: the client_id of the message being handled, if any. None when
    ``exc`` is no refusal but a bug of ours, which each transport reports in
    its own way (the socket answers and stays open, HTTP answers 500).
    """
    if isinstance(exc, RateLimited):
        return Refusal(exc.code, exc.message, exc.ref, exc.retry_after)
    if isinstance(exc, ProtocolError):
        return Refusal(exc.code, exc.message, exc.ref)
    if isinstance(exc, StorageError):
        for kind, code in _STORE_REFUSALS:
            if isinstance(exc, kind):
                return Refusal(code, str(exc), ref)
        # Nothing was stored; the operator's log says why, the client retries.
        log.warning("answered unavailable: %s", exc)
        return Refusal(ErrorCode.UNAVAILABLE, UNAVAILABLE_MESSAGE, ref)
    if isinstance(exc, UnicodeEncodeError):
        return Refusal(ErrorCode.BAD_REQUEST, NOT_UNICODE_MESSAGE, ref)
    return None
