"""The values the controller hands to the UI: messages, rooms, members, the connection.

The protocol's :class:`~chat_protocol.Message` only exists once the
server has stored a message. The window also shows my own messages before
that (queued in the outbox, on the wire, refused), so the controller speaks in
:class:`MessageEntry` values that carry a :class:`DeliveryState` and an
optional seq. They are frozen: a state change is a new entry with the same
``client_id``, which is how the list model finds the row to update.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from chat_desktop.transport.state import LinkKind, LinkState, Reason, Why
from chat_protocol import Message


class DeliveryState(enum.Enum):
    """Where one of my messages is on its way to everybody else."""

    # In the outbox, not handed to a connection yet (offline, or before connecting),
    # or handed to one that left it without an ack for too long: it goes out
    # again on the next connection.
    QUEUED = "queued"
    # Written to the socket (or POSTed); the server's ack has not come back yet.
    SENT = "sent"
    # Stored by the server as ``seq``: everybody has it or will get it.
    DELIVERED = "delivered"
    # The server refused it (too long, rate limited, ...): the user may retry.
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file a message carries, as the server describes it (Version 2, Files)."""

    id: str
    # The uploader's name for it: network input, shown as plain text and never
    # used as a path.
    name: str
    size: int
    type: str


@dataclass(frozen=True, slots=True)
class MessageEntry:
    """One row of a conversation: a stored message, or one of mine on its way."""

    room: str
    author: str
    text: str
    # Protocol time stamp (UTC ISO 8601); for a pending message the local send time.
    ts: str
    client_id: str
    # None until the server has stored it.
    seq: int | None = None
    state: DeliveryState = DeliveryState.DELIVERED
    # Why the server refused a FAILED message, fit for the user.
    error: str = ""
    # Version 2 (the room log): the seq of the message this one answers; when
    # it was last edited (protocol time stamp); whether it was deleted (the
    # text is then ""); who reacted with what, as (emoji, users) pairs in the
    # order the emoji first appeared, so chips do not jump around; the files
    # it carries.
    reply_to: int | None = None
    edited: str | None = None
    deleted: bool = False
    reactions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    files: tuple[FileRef, ...] = ()

    @classmethod
    def from_message(cls, message: Message) -> MessageEntry:
        return cls(
            room=message.room,
            author=message.author,
            text=message.text,
            ts=message.ts,
            client_id=message.client_id,
            seq=message.seq,
            reply_to=message.reply_to,
            edited=message.edited,
            deleted=message.deleted,
            reactions=tuple(
                (emoji, tuple(users)) for emoji, users in (message.reactions or {}).items() if users
            ),
            files=tuple(FileRef(f.id, f.name, f.size, f.type) for f in message.files),
        )

    def reacted(self, emoji: str, user: str) -> bool:
        """Whether ``user`` has reacted with ``emoji`` (a chip drawn as "mine")."""
        return any(e == emoji and user in users for e, users in self.reactions)

    def with_state(
        self,
        state: DeliveryState,
        *,
        seq: int | None = None,
        ts: str | None = None,
        error: str = "",
    ) -> MessageEntry:
        return replace(
            self,
            state=state,
            seq=self.seq if seq is None else seq,
            ts=self.ts if ts is None else ts,
            error=error,
        )


@dataclass(frozen=True, slots=True)
class RoomEntry:
    """A room in the side bar, how many messages in it I have not read, and how
    many of those mention me."""

    name: str
    unread: int = 0
    mentions: int = 0
    # Version 2: "public", "private" or "direct"; the topic ("" when unset);
    # the members of a private or direct room (empty for a public one); what
    # the side bar shows: the name, or for a direct room the other members'
    # names ("alice, bob").
    kind: str = "public"
    topic: str = ""
    members: tuple[str, ...] = ()
    title: str = ""
    # Who created the room (they may remove members); None when not known.
    creator: str | None = None

    @property
    def label(self) -> str:
        """The room as the user sees it: its title when it has one, else its name."""
        return self.title or self.name


@dataclass(frozen=True, slots=True)
class MemberEntry:
    """A user of the server and whether any of their connections is open."""

    name: str
    online: bool
    # Version 2: whether the server says this user is an admin.
    admin: bool = False


@dataclass(frozen=True, slots=True)
class FoundServer:
    """A chat server that announced itself on the LAN (for the sign-in dialog)."""

    # The server's name as announced: network input, show it as plain text.
    name: str
    url: str
    tls: bool
    # The advertised certificate fingerprint: a hint to compare, never trust.
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class CertificateProblem:
    """An https server shows a certificate this computer does not trust: the chat stopped.

    The link refused it during the TLS handshake, before sending anything (no
    token, no message). The user compares the fingerprints with the ones the
    administrator gives, then accepts the presented certificate (it is pinned
    in place of the old one) or signs out.
    """

    # The server as the pin store names it: host:port.
    where: str
    # SHA-256 fingerprint of the certificate the server shows now.
    presented: str
    # The fingerprint trusted until now; "" when none was pinned (an authority
    # vouched for the server's certificate before, and none does now).
    pinned: str = ""


# The connection's state is the transport's LinkState, handed through as it
# is; the names below are what widgets import (they never import the
# transport), and what the status bar shows (see ui/connection_status.py).
ConnectionKind = LinkKind
ConnectionStatus = LinkState
ConnectionReason = Reason
ConnectionWhy = Why
