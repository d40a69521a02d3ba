"""RoomRequests: the rooms I asked the server to create, and how each request ended.

A room request ends in one of two ways, and the new-room dialog waits for
whichever comes: the server's ``room`` event (created, or it existed) or a
refusal. The protocol's ``create-room`` names no request in its errors (they
carry no ``ref``), but the server answers one connection's frames in order,
so an error of a kind a ``create-room`` can get (:data:`ROOM_REFUSALS`) while
requests are open answers the oldest one. A request is also refused, with a
sentence the user can act on, when its name breaks the protocol's rule (the
very rule the server applies, :func:`room_name_of`), when the app is
offline, or when the connection drops before the answer.

Plain asyncio, no Qt: :class:`~.chat.ChatController` turns the two callbacks
into its ``roomCreated`` / ``roomRefused`` signals. A reason is a protocol
error code or a sentence marked in :mod:`.phrases`; the Qt face translates it
(:func:`~.wording.say`).
"""

from __future__ import annotations

from collections.abc import Callable

from chat_protocol import CreateRoom, Error, ErrorCode, rules

from .connection import Connection
from .phrases import DROPPED, OFFLINE_ROOM, UNREACHABLE, refusal_reason
from .roster import Roster
from .tasks import TaskGroup

__all__ = ["ROOM_REFUSALS", "RoomRequests", "room_name_of", "sentence"]

# The errors a create-room can get (a name the server refuses, too many new
# rooms, the store failing): with a room request open, one of these answers it.
ROOM_REFUSALS = frozenset(
    {
        ErrorCode.BAD_REQUEST,
        ErrorCode.RATE_LIMITED,
        ErrorCode.UNAVAILABLE,
        ErrorCode.NAME_TAKEN,
    }
)


class RoomRequests:
    """Ask for rooms; report each as created (``on_created``) or refused (``on_refused``).

    The open requests themselves live in the :class:`~.roster.Roster`, in the
    order they were sent, beside the rooms they will become.
    """

    def __init__(
        self,
        connection: Connection,
        roster: Roster,
        tasks: TaskGroup,
        *,
        on_created: Callable[[str], None],
        on_refused: Callable[[str, str], None],
        invite: Callable[[str, str], None] = lambda room, user: None,
    ) -> None:
        self._connection = connection
        self._roster = roster
        self._tasks = tasks
        self._on_created = on_created
        self._on_refused = on_refused
        self._invite = invite
        # room -> whether private and whom to invite once it exists (Version 2).
        self._private: dict[str, tuple[bool, tuple[str, ...]]] = {}

    def ask(self, text: str, private: bool = False, members: tuple[str, ...] = ()) -> None:
        """Ask for the room ``text`` names (trimmed, lower-cased); a private one gets
        ``members`` invited once it exists."""
        self._private[room_name_of(text)[0]] = (private, members)
        name, problem = room_name_of(text)
        if problem:
            self._on_refused(name, problem)
        elif name in self._roster.last_seq:
            self._on_created(name)
        elif not self._connection.can_send():
            self._on_refused(name, OFFLINE_ROOM)
        else:
            self._roster.want(name)
            self._tasks.spawn(self._send(name))

    def answered(self, name: str) -> None:
        """The server's ``room`` event for a room I had asked for."""
        _, members = self._private.pop(name, (False, ()))
        for user in members:
            self._invite(name, user)
        self._on_created(name)

    def refusal(self, error: Error) -> bool:
        """Whether ``error`` answers an open request (then it was reported as refused)."""
        if error.ref is not None or error.code not in ROOM_REFUSALS:
            return False
        name = self._roster.refused()
        if name is None:
            return False
        self._on_refused(name, refusal_reason(error.code, sentence(error.message or error.code)))
        return True

    def connection_lost(self) -> None:
        """Every open request is lost with the connection: the user may try again."""
        for name in self._roster.unanswered():
            self._on_refused(name, DROPPED)

    async def _send(self, name: str) -> None:
        private = self._private.get(name, (False, ()))[0]
        if not await self._connection.send(CreateRoom(name, private)) and self._roster.refused(
            name
        ):
            # Nothing reached the server (a POST that failed while polling).
            self._on_refused(name, UNREACHABLE)


def room_name_of(text: str) -> tuple[str, str]:
    """The room name typed ``text`` stands for (trimmed, lower-cased), and why the
    server would refuse it as a sentence ("" when it would not): the protocol's rule."""
    name = text.strip().lower()
    try:
        rules.validate_room_name(name)
    except rules.ValidationError as exc:
        return name, sentence(str(exc))
    return name, ""


def sentence(text: str) -> str:
    """A rule's or the server's phrase ("room name must be ...") as a sentence."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
