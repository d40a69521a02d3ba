"""The refusals of the wire protocol: error codes, close codes and their HTTP statuses.

Every ``{"type":"error","code":...}`` event, every HTTP error body
``{"code","message"}`` and every WebSocket close that means something to a
client is spelled here once, for the server that sends them and the client
that reads them (``docs/protocol.md``, "Errors" and "Socket sessions").
:class:`ErrorCode` is a ``StrEnum``, so a code compares equal to the string
on the wire and encodes as it with no special case in the codec.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ErrorCode(StrEnum):
    """The ``code`` of an error event or an HTTP error body."""

    # The contract's codes.
    BAD_REQUEST = "bad_request"
    UNKNOWN_TYPE = "unknown_type"
    UNKNOWN_ROOM = "unknown_room"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    UNAUTHORIZED = "unauthorized"
    # Version 2: not the user's to change; the target message is missing or
    # deleted; a private room holds the name.
    FORBIDDEN = "forbidden"
    UNKNOWN_MESSAGE = "unknown_message"
    NAME_TAKEN = "name_taken"
    # Version 2, Files: a message named an upload that is unknown, expired or
    # not the sender's; the client uploads the file again.
    UNKNOWN_FILE = "unknown_file"
    # Ours (docs/protocol.md, "Extensions"): the database failed, nothing was
    # stored, the same client_id may be retried.
    UNAVAILABLE = "unavailable"
    # HTTP only: sign-up refused, name in use, no such path or method.
    REGISTRATION_CLOSED = "registration_closed"
    USERNAME_TAKEN = "username_taken"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    # HTTP only (docs/security.md): registration in invite mode without a code,
    # or with one that is unknown, used up or expired; a body that is not
    # declared as application/json; a body that did not arrive in time.
    INVITE_REQUIRED = "invite_required"
    INVITE_INVALID = "invite_invalid"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    REQUEST_TIMEOUT = "request_timeout"
    # HTTP only: a password change whose "old" password is wrong.
    WRONG_PASSWORD = "wrong_password"


class CloseCode(IntEnum):
    """WebSocket close codes a client acts on."""

    # The server is stopping; reconnect (to it or another) and resume with since.
    GOING_AWAY = 1001
    # No hello in time, or the reader fell too far behind ("too slow").
    POLICY = 1008
    # A frame above the size limit.
    TOO_LARGE = 1009
    # Silent for too long (no pong to the server's pings).
    INTERNAL = 1011
    # The database is down during hello or replay: try again later.
    TRY_AGAIN_LATER = 1013
    # The token was refused or has been revoked: sign in again, do not retry.
    UNAUTHORIZED = 4401


# The HTTP status each error code is sent with; every other code is a 400.
STATUS_OF_CODE: dict[str, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNKNOWN_TYPE: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.REGISTRATION_CLOSED: 403,
    ErrorCode.INVITE_REQUIRED: 403,
    ErrorCode.INVITE_INVALID: 403,
    ErrorCode.WRONG_PASSWORD: 403,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.UNKNOWN_ROOM: 404,
    ErrorCode.UNKNOWN_MESSAGE: 404,
    ErrorCode.UNKNOWN_FILE: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.USERNAME_TAKEN: 409,
    ErrorCode.NAME_TAKEN: 409,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNAVAILABLE: 503,
}

# The code a bare HTTP status stands for, when a body carries none (an error
# page of a proxy, or aiohttp's own 404/405/413 before our handlers ran).
CODE_OF_STATUS: dict[int, ErrorCode] = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.REGISTRATION_CLOSED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    408: ErrorCode.REQUEST_TIMEOUT,
    409: ErrorCode.USERNAME_TAKEN,
    413: ErrorCode.TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.UNAVAILABLE,
}


def status_of(code: str) -> int:
    """The HTTP status for an error code (400 for a code this table does not know)."""
    return STATUS_OF_CODE.get(code, 400)
