"""The value rules of the wire protocol: names, passwords, texts, limits, time stamps.

Everything here is pure: plain functions over plain values, no I/O. The server
validates what arrives with these functions and the client validates what the
user types with the very same ones, so the two can never disagree on what a
valid room name or message is. See ``docs/protocol.md`` for the contract.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

PROTOCOL_VERSION = 1
# Version 2 (the room log, conversations): asked for with "protocol":2 in hello
# and v=2 on HTTP; without it a client gets the v1 view.
PROTOCOL_V2 = 2
# What this server's v2 welcome lists under "features".
FEATURES = ("dm", "private", "edit", "delete", "react", "reply", "read", "files")
DEFAULT_PORT = 8765

# Regular expressions straight from the contract. ``fullmatch`` is used so that a
# trailing newline cannot sneak past ``$``.
USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,32}")
ROOM_NAME_RE = re.compile(r"[a-z0-9_-]{1,64}")
# client_id is "a UUID" drawn by the client. We accept any short token of
# URL-safe characters so that hand-typed ids from `wscat` users work too; what
# matters for idempotency is only that the same sender reuses the same id.
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

PASSWORD_MIN = 8
PASSWORD_MAX = 1024
TEXT_MAX = 4000
HISTORY_LIMIT_MAX = 200
REPLAY_LIMIT = 1000
DEFAULT_ROOM = "general"
TOPIC_MAX = 250
EMOJI_MAX = 32
# A direct room has 1 to this many members besides its opener.
DM_OTHERS_MAX = 8
# A message carries at most this many files (Version 2, Files).
FILES_PER_MESSAGE_MAX = 10
# An upload's id as the server draws it (URL-safe base64); anything else is no id.
FILE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The only file types shown in place (served ``inline``; the app draws them as
# thumbnails): images that cannot run anything. Everything else is opaque bytes.
INLINE_FILE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Direct rooms' names: this prefix, reserved (nobody creates a room with it).
DM_PREFIX = "dm-"

# The contract's timings for typing: a typist repeats ``active:true`` at most
# this often, and a receiver (or the server, for long pollers) drops an
# indicator this long after its last ``active:true``.
TYPING_NOTIFY_INTERVAL = 3.0
TYPING_EXPIRY = 6.0


class ValidationError(ValueError):
    """A value broke a rule of the protocol; ``str()`` is a sentence fit for a user."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The configurable limits of PROTOCOL.md, with the contract's defaults.

    The server reads them from its command line; tests shrink them to provoke
    the limit quickly.
    """

    # Largest frame or request body in bytes (close 1009 / HTTP 413 beyond).
    max_frame_bytes: int = 64 * 1024
    # Sustained messages per second per user, and the burst on top of it.
    messages_per_second: float = 10.0
    message_burst: int = 20
    # Typing events per second per user beyond which they are dropped silently.
    typing_per_second: float = 2.0
    # A reader that lets this many events or bytes pile up is closed (1008).
    max_queued_events: int = 1000
    max_queued_bytes: int = 1024 * 1024
    # Failed logins per (username, client address) inside the window before
    # 429, and per username from all addresses together (docs/security.md).
    login_failures: int = 10
    login_failures_per_user: int = 100
    login_window_seconds: float = 300.0
    # Seconds a new socket has to say hello.
    hello_timeout: float = 10.0
    # WebSocket ping interval; a peer silent for twice that is dropped.
    ping_interval: float = 20.0
    # A polling user stays online this long after its last poll.
    poll_presence_seconds: float = 35.0
    # Longest long poll a client may ask for.
    max_poll_wait: float = 30.0


def validate_username(value: object) -> str:
    """Return ``value`` if it is a valid user name, else raise ValidationError."""
    if not isinstance(value, str) or not USERNAME_RE.fullmatch(value):
        raise ValidationError(
            "username must be 1-32 characters of letters, digits, '_', '.' or '-'"
        )
    return value


def validate_password(value: object) -> str:
    """Return ``value`` if it is an acceptable password, else raise ValidationError."""
    if not isinstance(value, str) or not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        raise ValidationError(f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters long")
    return value


def validate_room_name(value: object) -> str:
    """Return ``value`` if it is a valid room name, else raise ValidationError."""
    if not isinstance(value, str) or not ROOM_NAME_RE.fullmatch(value):
        raise ValidationError("room name must be 1-64 characters of a-z, 0-9, '_' or '-'")
    return value


def validate_client_id(value: object) -> str:
    """Return ``value`` if it can serve as a message's idempotency key."""
    if not isinstance(value, str) or not CLIENT_ID_RE.fullmatch(value):
        raise ValidationError("client_id must be a UUID (1-64 characters of [A-Za-z0-9_.:-])")
    return value


def normalize_text(value: object, *, may_be_empty: bool = False) -> str:
    """Trim a message text and check its length; return what gets stored.

    The contract counts the 1-4000 characters *after* trimming white space, so
    the trimmed text is what the server stores and broadcasts. ``may_be_empty``:
    a message that carries files needs no text.
    """
    if not isinstance(value, str):
        raise ValidationError("text must be a string")
    text = value.strip()
    if not _is_utf8_encodable(text):
        # JSON may spell a lone surrogate ("\ud800"); Python decodes it into a
        # str that no UTF-8 frame or database can carry, so refuse it here.
        raise ValidationError("text must be valid Unicode (no lone surrogates)")
    if not text and not may_be_empty:
        raise ValidationError("text must not be empty")
    if len(text) > TEXT_MAX:
        raise ValidationError(f"text must be at most {TEXT_MAX} characters")
    return text


def validate_file_ids(value: object) -> tuple[str, ...]:
    """The ``files`` of a message being sent: 1-10 upload ids, duplicates dropped, in order."""
    if not isinstance(value, list) or not value:
        raise ValidationError("files must be a non-empty list of upload ids")
    ids = tuple(dict.fromkeys(value))
    if len(ids) > FILES_PER_MESSAGE_MAX:
        raise ValidationError(f"a message carries at most {FILES_PER_MESSAGE_MAX} files")
    if not all(isinstance(item, str) and FILE_ID_RE.fullmatch(item) for item in ids):
        raise ValidationError("each of files must be the id of an upload")
    return ids


def _is_utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_topic(value: object) -> str:
    """Return a room topic (trimmed, at most TOPIC_MAX characters; "" unsets it)."""
    if not isinstance(value, str) or not _is_utf8_encodable(value):
        raise ValidationError("topic must be a string of valid Unicode")
    topic = value.strip()
    if len(topic) > TOPIC_MAX:
        raise ValidationError(f"topic must be at most {TOPIC_MAX} characters")
    return topic


def validate_emoji(value: object) -> str:
    """Return a reaction's emoji: 1-32 characters, no white space."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= EMOJI_MAX
        or any(char.isspace() for char in value)
        or not _is_utf8_encodable(value)
    ):
        raise ValidationError(f"emoji must be 1-{EMOJI_MAX} characters without white space")
    return value


def dm_name(members: list[str]) -> str:
    """The one name of the direct room of ``members`` (every member, the opener too).

    ``dm-`` and the first 16 hex digits of the SHA-256 of the lower-cased
    names, sorted and joined by ``,``: every client computes the same name.
    """
    keys = sorted({name.lower() for name in members})
    return DM_PREFIX + hashlib.sha256(",".join(keys).encode("utf-8")).hexdigest()[:16]


def validate_seq(value: object, *, name: str = "seq") -> int:
    """Return ``value`` if it is a sequence position (an int >= 0)."""
    # bool is a subclass of int in Python; JSON true must not pass as 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{name} must be a whole number >= 0")
    if value > 2**63 - 1:
        raise ValidationError(f"{name} is too large")
    return value


def format_ts(moment: datetime) -> str:
    """Format a moment as the contract's time stamp: UTC, ISO 8601, milliseconds, 'Z'."""
    # isoformat, not strftime: the same text at half the cost, and the server's
    # writer stamps every message with it (issue 12).
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def parse_ts(value: str) -> datetime:
    """Parse a time stamp made by :func:`format_ts` back into an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def now_ts() -> str:
    """The current server time as a protocol time stamp."""
    return format_ts(datetime.now(UTC))


def format_since(positions: dict[str, int]) -> str:
    """Encode ``{"general": 41}`` as the long poll's ``since`` parameter ``general:41``."""
    return ",".join(f"{room}:{seq}" for room, seq in positions.items())


def parse_since(value: str) -> dict[str, int]:
    """Decode the long poll's ``since`` parameter; raise ValidationError when malformed."""
    positions: dict[str, int] = {}
    if not value:
        return positions
    for part in value.split(","):
        room, sep, seq = part.partition(":")
        if not sep or not seq.isdigit():
            raise ValidationError("since must look like general:41,random:0")
        positions[validate_room_name(room)] = validate_seq(int(seq), name="since")
    return positions
