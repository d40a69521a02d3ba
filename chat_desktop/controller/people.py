"""People: everyone on the server (Version 2), merged with who is online now.

The People list shows every account, not only who is online or has written
(``GET /api/v1/users``), so that a user can open a direct message with
someone who is offline. :class:`People` asks the server for the list when
the session starts (and when someone unknown appears), keeps who is an
admin, and merges it with the :class:`~.roster.Roster`'s presence: online
first, then by name. Plain asyncio, asking through the
:class:`~.connection.Connection`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from chat_desktop.transport.http_api import ApiError

from .connection import Connection
from .entries import MemberEntry
from .tasks import TaskGroup

log = logging.getLogger(__name__)


class People:
    """Every account of the server and whether it is an admin; ``on_change`` when
    the list changed."""

    def __init__(
        self, connection: Connection, tasks: TaskGroup, *, on_change: Callable[[], None]
    ) -> None:
        self._connection = connection
        self._tasks = tasks
        self._on_change = on_change
        # user name -> admin, for every account the server listed.
        self._everyone: dict[str, bool] = {}
        # Everyone online that a refresh was asked for already: an account
        # the list lacks (new, or a server without the list) is asked about once.
        self._asked: set[str] = set()

    def meet(self, online: set[str], welcomed: bool) -> None:
        """After a batch: ask for everyone after a welcome, or when someone online is
        missing from the list (a new account)."""
        strangers = online - set(self._everyone) - self._asked
        if welcomed or strangers:
            self._asked |= strangers
            self._tasks.spawn(self._refresh())

    def merged(self, seen: list[MemberEntry]) -> list[MemberEntry]:
        """Everyone, with the presence of ``seen`` (the roster's members): online
        first, then by name."""
        online = {member.name for member in seen if member.online}
        names = set(self._everyone) | {member.name for member in seen}
        people = [
            MemberEntry(name, name in online, self._everyone.get(name, False)) for name in names
        ]
        return sorted(people, key=lambda person: (not person.online, person.name.lower()))

    async def _refresh(self) -> None:
        try:
            found = await self._connection.users()
        except ApiError as exc:
            # The list stays as it was (online users and authors still show).
            log.info("could not list the server's users: %s", exc)
            return
        everyone = {person.username: person.admin for person in found}
        if everyone != self._everyone:
            self._everyone = everyone
            self._on_change()
