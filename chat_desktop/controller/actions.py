"""ConversationActions: what the window may do to a conversation (Version 2), Qt-free.

:class:`~.chat.ChatController` is the window's one object to call, but its
class stays small (tests/test_architecture.py): the Version 2 actions (edit,
delete, react, reply quotes, jumping to a message, direct rooms, membership,
topics, drafts, "seen by") live here, in a base class without Qt that works
on the controller's parts and reports through four hooks the controller
implements with its signals (:meth:`_changed`, :meth:`_created`,
:meth:`_jumped`, :meth:`_failed`) and its rule check (:meth:`_valid`).

Every write goes through the :class:`~.outbox.Outbox`, so it returns at
once, survives a restart, and leaves in the order made, exactly once; an
edit, delete or reaction is shown at once (its effect laid over the message
by :meth:`Conversation.shown <.conversation.Conversation.shown>`).
"""

from __future__ import annotations

from collections.abc import Callable

from chat_desktop.storage import ChatCache
from chat_desktop.transport.http_api import ApiError
from chat_protocol import rules

from .connection import Connection
from .conversation import Conversation
from .entries import MessageEntry
from .history import History
from .outbox import Outbox
from .reads import Reads
from .roster import Roster
from .tasks import TaskGroup

# Messages on each side of the one open_at jumps to.
AROUND = 25


class ConversationActions:
    """The Version 2 actions of :class:`~.chat.ChatController` (see the module docstring)."""

    _cache: ChatCache
    _connection: Connection
    _conversation: Conversation
    _history: History
    _outbox: Outbox
    _reads: Reads
    _roster: Roster
    _tasks: TaskGroup

    # ------------------------------------------------------------ the hooks

    @property
    def me(self) -> str:
        """My user name as the server spells it."""
        return self._conversation.me

    @property
    def is_admin(self) -> bool:
        """Whether the server's welcome said I am an admin."""
        return self._conversation.admin

    def _changed(self, room: str, entries: list[MessageEntry]) -> None:
        raise NotImplementedError

    def _created(self, room: str) -> None:
        raise NotImplementedError

    def _jumped(self, room: str, seq: int, entries: list[MessageEntry]) -> None:
        raise NotImplementedError

    def _failed(self, exc: ApiError) -> None:
        raise NotImplementedError

    def _valid(self, rule: Callable[[str], str], value: str) -> str | None:
        raise NotImplementedError

    # ------------------------------------------------------------- reading

    def message(self, room: str, seq: int) -> MessageEntry | None:
        """Message ``seq`` of ``room`` from the cache, as shown (for reply quotes)."""
        cached = self._cache.message(room, seq)
        return None if cached is None else self._shown(MessageEntry.from_message(cached))

    def last_own_message(self, room: str) -> MessageEntry | None:
        """My newest message in ``room`` that is not deleted (Up in an empty composer)."""
        mine = [e for e in map(self._shown, self._outbox.entries(room)) if not e.deleted]
        if mine:
            return mine[-1]
        cached = self._cache.last_own_message(room, self.me)
        entry = None if cached is None else self._shown(MessageEntry.from_message(cached))
        return None if entry is None or entry.deleted else entry

    def open_at(self, room: str, seq: int) -> None:
        """Load the messages around ``seq`` (cache, else server); jumpReady answers."""
        self._tasks.spawn(self._open_at(room, seq))

    def seen_by(self, room: str) -> dict[int, list[str]]:
        """Private and direct rooms: seq -> the other members who have read up to it."""
        return self._reads.seen_by(room, self.me)

    def draft(self, room: str) -> str:
        """What was typed and not sent in ``room`` ("" when nothing)."""
        return self._cache.draft(room)

    def set_draft(self, room: str, text: str) -> None:
        """Keep what is typed in ``room``'s composer, across restarts."""
        self._cache.set_draft(room, text)

    # ------------------------------------------------------------- writing

    def edit(self, entry: MessageEntry, text: str) -> None:
        """Replace the text of my message ``entry`` (through the outbox)."""
        valid = self._valid(rules.normalize_text, text)
        if valid is not None and entry.author == self.me:
            self._write("edit", entry, text=valid)

    def delete(self, entry: MessageEntry) -> None:
        """Delete ``entry`` (mine, or anyone's for an admin)."""
        if entry.author == self.me or self.is_admin:
            self._write("delete", entry)

    def react(self, entry: MessageEntry, emoji: str, on: bool) -> None:
        """Set (``on``) or clear my reaction ``emoji`` on ``entry``."""
        if self._valid(rules.validate_emoji, emoji) is not None:
            self._write("react", entry, detail={"emoji": emoji, "on": on})

    def open_dm(self, users: list[str]) -> None:
        """Open the direct room with ``users``: roomCreated(name) once it exists."""
        name = rules.dm_name([self.me, *users])
        if name in self._roster.last_seq:
            self._created(name)
            return
        self._conversation.opening.add(name)
        self._outbox.add_write("open-dm", name, detail={"users": list(users)})

    def invite(self, room: str, user: str) -> None:
        """Add ``user`` to the private room ``room``."""
        self._outbox.add_write("invite", room, detail={"user": user})

    def remove(self, room: str, user: str) -> None:
        """Take ``user`` out of the private room ``room`` (its creator or an admin)."""
        self._outbox.add_write("remove", room, detail={"user": user})

    def leave(self, room: str) -> None:
        """Leave the private room ``room``: roomRemoved follows."""
        self._outbox.add_write("leave", room)

    def set_topic(self, room: str, topic: str) -> None:
        """Set the topic of ``room`` ("" unsets it)."""
        valid = self._valid(rules.validate_topic, topic)
        if valid is not None:
            self._outbox.add_write("topic", room, detail={"topic": valid})

    def delete_room(self, room: str) -> None:
        """Delete ``room`` for everyone (admins; the window asks first)."""
        self._tasks.spawn(self._delete_room(room))

    # ------------------------------------------------------------- helpers

    def _shown(self, entry: MessageEntry) -> MessageEntry:
        return self._conversation.shown(entry)

    async def _open_at(self, room: str, seq: int) -> None:
        if self._cache.message(room, seq) is None:
            await self._history.request(room, seq + AROUND + 1, 2 * AROUND + 1)
        entries = [MessageEntry.from_message(m) for m in self._cache.around(room, seq, AROUND)]
        self._jumped(room, seq, [self._shown(entry) for entry in entries])

    async def _delete_room(self, room: str) -> None:
        try:
            await self._connection.delete_room(room)
        except ApiError as exc:
            self._failed(exc)

    def _write(
        self,
        kind: str,
        entry: MessageEntry,
        text: str = "",
        detail: dict[str, object] | None = None,
    ) -> None:
        """Queue an edit, delete or react aimed at ``entry``; show its effect at once."""
        if self._outbox.add_write(kind, entry.room, target=entry, text=text, detail=detail):
            self._changed(entry.room, [self._conversation.find(entry)])
