"""ChatController: the Qt face of one account's chat, wiring plain asyncio parts to signals.

The window talks to it in plain method calls (``send``, ``open_room``,
``composer_edited``, ...) and listens to its signals; it never sees a socket
or a database row. The work is done by parts that know nothing of Qt, each
in its own module and unit-tested with a stand-in for the link:

- :class:`~.connection.Connection` owns the
  :class:`~chat_desktop.transport.link.ServerLink` (WebSocket, reconnect,
  polling fallback), knows whether anything can be sent now, and hands the
  link's events over in batches;
- :class:`~.outbox.Outbox` keeps my messages until the server stored them,
  in order and exactly once;
- :class:`~.history.History` answers from the cache first and asks the
  server for pages only for what the cache lacks (older pages, gaps);
- :class:`~.certificates.CertificateChecks` handles a refused certificate;
- :class:`~.typing.TypingIndicators` says when I am typing and who else is;
- :class:`~.roster.Roster` keeps the rooms and who is online;
- :class:`~.room_requests.RoomRequests` asks for new rooms and tells how
  each request ended;
- :class:`~.conversation.Conversation` applies each batch of events (the room
  log of Version 2 with its edits, deletes and reactions, acks, reads, rooms
  joined and removed) and lays my queued writes over the messages shown;
- :class:`~.reads.Reads` keeps read positions (mine, synced with the server,
  and the other members' for "seen by"); :class:`~.people.People` everyone.

One message's way, from the composer to the other window:

1. The composer calls :meth:`ChatController.send`. The text is checked with
   the protocol's own rule (``rules.normalize_text``), then
   :meth:`Outbox.add <.outbox.Outbox.add>` writes it to the cache's outbox
   on disk with a fresh ``client_id`` and reports the QUEUED entry, which
   this controller emits as ``messagesChanged``: the row appears at once.
2. Sending has to wait for the network, but ``send`` runs inside a Qt slot,
   which must return at once and cannot ``await``. So the outbox spawns an
   asyncio task (:class:`~.tasks.TaskGroup`) on the running loop, which
   under qasync is Qt's own event loop: the task starts as soon as the slot
   has returned. It takes the outbox's turn (an ``asyncio.Lock``, so that
   messages leave in the order written) and hands the message to
   :meth:`Connection.send <.connection.Connection.send>`, which calls
   ``ServerLink.send``: a ``message`` frame on the socket (or a POST
   while polling). The row turns SENT.
3. The server stores it, acks it to me and broadcasts it to everyone. The
   link hands both events to the connection, which gathers them for
   :data:`~.connection.BATCH_SECONDS` and calls :meth:`_on_batch` once: one
   cache transaction saves every message of the batch, the outbox turns the
   ack into a DELIVERED entry (and forgets the message), and one
   ``messagesChanged`` per room updates the window. In the other window the
   same broadcast goes the same way, and ``notify`` may show a toast.
4. Had the connection dropped in between, the link reconnects by itself;
   when it is up again (:meth:`_on_state`) the outbox sends what is not
   acknowledged again with the same ``client_id``, and the server stores it
   once.

All of it runs on the one thread: qasync makes Qt's event loop the asyncio
loop, so the link's tasks, these callbacks and the widgets take turns and
never need a thread lock (the outbox's asyncio lock only orders its own
tasks, which may each wait for the network in between).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from chat_desktop.storage import ChatCache
from chat_desktop.transport.http_api import ApiError
from chat_desktop.transport.link import ServerLink
from chat_desktop.transport.pinning import PinStore
from chat_desktop.transport.state import LinkKind, LinkState
from chat_protocol import DEFAULT_ROOM, ServerEvent, rules

from .actions import ConversationActions
from .certificates import CERTIFICATE_RECHECK, CertificateChecks
from .connection import Connection, Link
from .conversation import Conversation
from .entries import CertificateProblem, ConnectionStatus, MemberEntry, MessageEntry, RoomEntry
from .history import History, OlderPage
from .outbox import ACK_TIMEOUT, Outbox
from .people import People
from .reads import Reads
from .room_requests import RoomRequests, sentence
from .roster import Roster
from .tasks import TaskGroup
from .typing import TypingIndicators
from .wording import error_text, request_failed, say

__all__ = ["ChatController", "OlderPage"]


class ChatController(ConversationActions, QObject):
    """The chat of one signed-in account on one server.

    Signals:
        roomsChanged(list): every room as a RoomEntry (name, unread count, kind,
            topic, members).
        membersChanged(list): everyone on the server as MemberEntry (name,
            online, admin), online first: the same list as people().
        messagesChanged(str, list): new or updated MessageEntry values of one room,
            in seq order (my pending ones last); one emission per room and batch.
            A changed message (edited, deleted, reacted) comes again with the
            same author and client_id.
        olderLoaded(str, list, bool): an older page of a room (ascending) and
            whether there is more before it.
        jumpReady(str, int, list): the messages around a seq (open_at), ascending.
        typingChanged(str, list): the users typing in a room now.
        connectionChanged(object): the ConnectionStatus, on every change.
        notify(str, str, str): a new message from someone else while connected:
            room, author, text (plain text, the UI decides whether to show it).
        roomCreated(str): a room I asked for (create_room, open_dm) exists now.
        roomRefused(str, str): a room I asked for was not created: its name and
            why, as a sentence for the user (a bad name, offline, rate limited,
            the connection dropped before the answer).
        roomRemoved(str): I left a room, was removed from it, or it was deleted
            (the cache has forgotten it).
        readsChanged(str): other members' read positions in a room moved (seen_by).
        problem(str): something else the user should read (a refused message text, ...).
        unauthorized(): the server no longer accepts the token: sign in again.
        certificateProblem(object): the server's certificate is not the trusted
            one and the link stopped: a CertificateProblem (answer with
            accept_certificate() or sign out), or None once it is resolved.

    ``typing_expiry`` is how long another user's typing indicator lasts after
    their last notice (the protocol's 6 s; tests shorten it); ``ack_timeout``
    how long one of my messages may wait for its ack before it shows Queued
    again (it is sent again on the next connection).
    """

    roomsChanged = Signal(list)
    membersChanged = Signal(list)
    messagesChanged = Signal(str, list)
    olderLoaded = Signal(str, list, bool)
    jumpReady = Signal(str, int, list)
    typingChanged = Signal(str, list)
    connectionChanged = Signal(object)
    notify = Signal(str, str, str)
    roomCreated = Signal(str)
    roomRefused = Signal(str, str)
    roomRemoved = Signal(str)
    readsChanged = Signal(str)
    problem = Signal(str)
    unauthorized = Signal()
    certificateProblem = Signal(object)

    def __init__(
        self,
        cache: ChatCache,
        *,
        server_url: str,
        username: str,
        token: str,
        link_factory: Callable[..., Link] = ServerLink,
        ssl_context: ssl.SSLContext | None = None,
        pins: PinStore | None = None,
        typing_expiry: float = rules.TYPING_EXPIRY,
        certificate_recheck: float = CERTIFICATE_RECHECK,
        ack_timeout: float = ACK_TIMEOUT,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._cache = cache
        self._tasks = TaskGroup()
        self._connection = connection = Connection(
            server_url=server_url,
            username=username,
            token=token,
            positions=cache.positions,
            on_state=self._on_state,
            on_batch=self._on_batch,
            link_factory=link_factory,
            ssl_context=ssl_context,
        )
        self._outbox = Outbox(
            cache,
            connection,
            self._tasks,
            me=username,
            on_change=lambda entry: self.messagesChanged.emit(entry.room, [self._shown(entry)]),
            ack_timeout=ack_timeout,
        )
        self._reads = Reads(cache, self._outbox)
        self._history = History(
            cache,
            connection,
            self._tasks,
            on_read=self._rooms_changed,
            first_visit=self._reads.viewed,
        )
        self._certificates = CertificateChecks(
            connection, pins, on_problem=self.certificateProblem.emit, recheck=certificate_recheck
        )
        self._typing = TypingIndicators(
            connection, self._tasks, on_change=self.typingChanged.emit, expiry=typing_expiry
        )
        self._roster = Roster(cache, username)
        self._room_requests = RoomRequests(
            connection,
            self._roster,
            self._tasks,
            on_created=self.roomCreated.emit,
            on_refused=lambda name, reason: self.roomRefused.emit(name, say(reason)),
            invite=self.invite,
        )
        self._people = People(
            connection, self._tasks, on_change=lambda: self.membersChanged.emit(self.people())
        )
        self._conversation = Conversation(
            cache,
            me=username,
            roster=self._roster,
            outbox=self._outbox,
            history=self._history,
            typing=self._typing,
            room_requests=self._room_requests,
            reads=self._reads,
        )
        # The room on screen, and whether the window is the active one (then
        # what arrives in that room counts as read).
        self._room = self._conversation.room = cache.get_setting("last_room") or DEFAULT_ROOM
        self._active = False

    # ------------------------------------------------------------ lifecycle

    @property
    def server_url(self) -> str:
        return self._connection.server_url

    @property
    def username(self) -> str:
        return self.me

    @property
    def server_version(self) -> str:
        """As the welcome said (Help > About shows it)."""
        return self._conversation.server_version

    def start(self, base_url: str | None = None) -> None:
        """Connect (on the running loop); ``base_url`` overrides the saved address."""
        self._connection.start(base_url)

    async def close(self) -> None:
        """Close the link and stop every task; the cache stays open (its owner closes it)."""
        if self._connection.closed:
            return
        self._typing.close()
        await self._connection.close()
        await self._tasks.close()
        self._history.close()

    async def sign_out(self) -> None:
        """End the session on the server (best effort) and close."""
        link_was_open = self._connection.link is not None
        await self.close()
        if link_was_open:
            await self._connection.log_out()

    # ------------------------------------------------------ what is on screen

    @property
    def status(self) -> ConnectionStatus:
        return self._connection.status

    @property
    def current_room(self) -> str:
        return self._room

    def rooms(self) -> list[RoomEntry]:
        return self._roster.rooms(self.me)

    def members(self) -> list[MemberEntry]:
        return self.people()

    def people(self) -> list[MemberEntry]:
        """Everyone on the server (and every author seen), online first."""
        return self._people.merged(self._roster.members())

    def open_room(self, room: str) -> list[MessageEntry]:
        """Show ``room``: its newest cached page now, the rest by messagesChanged."""
        self._room = self._conversation.room = room
        self._cache.set_setting("last_room", room)
        entries = self._history.cached_page(room, last_seq=self._roster.last_seq.get(room, 0))
        self._roster.authors(entry.author for entry in entries)
        entries = [self._shown(entry) for entry in entries + self._outbox.entries(room)]
        self._mark_read(room)
        self.typingChanged.emit(room, self._typing.users(room))
        return entries

    def set_active(self, active: bool) -> None:
        """The window became active (or not): the room on screen is being read."""
        self._active = active
        if active:
            self._mark_read(self._room)

    # ------------------------------------------------------------- actions

    def send(self, room: str, text: str, reply_to: int | None = None) -> MessageEntry | None:
        """Queue my message (it survives a restart) and send it when connected."""
        valid = self._valid(rules.normalize_text, text)
        if valid is None:
            return None
        self._typing.sent()
        return self._outbox.add(room, valid, reply_to)

    def create_room(
        self, name: str, private: bool = False, members: list[str] | tuple[str, ...] = ()
    ) -> None:
        """Ask the server for room ``name`` (trimmed, lower-cased): roomCreated(name)
        follows once it exists, or roomRefused(name, reason) (see :mod:`.room_requests`).
        A private room gets ``members`` invited once it exists."""
        self._room_requests.ask(name, private, tuple(members))

    def retry(self, client_id: str) -> None:
        """Send a refused message again (the user pressed Retry)."""
        self._outbox.retry(client_id)

    def composer_edited(self, room: str, text: str) -> None:
        """The composer's text changed: maybe tell the others that I am typing."""
        self._typing.composer_edited(room, text)

    def request_older(self, room: str, before: int | None) -> None:
        """Load the page before seq ``before``; olderLoaded answers (maybe empty)."""
        self._tasks.spawn(self._load_older(room, before))

    def reconnect_now(self) -> None:
        """Skip the backoff wait; after a refused certificate, check the server again."""
        if self.status.kind is LinkKind.CERTIFICATE_REFUSED:
            self._tasks.spawn(self._certificates.check())
        else:
            self._connection.reconnect_now()

    @property
    def certificate_problem(self) -> CertificateProblem | None:
        """The open certificate question (also sent with certificateProblem), if any."""
        return self._certificates.problem

    def accept_certificate(self) -> None:
        """The user reviewed the certificate of ``certificateProblem``: pin it and reconnect."""
        self._certificates.accept()

    # ------------------------------------------------------- link callbacks

    def _on_state(self, state: LinkState) -> None:
        if state.kind not in (LinkKind.CONNECTED, LinkKind.POLLING):
            # Whatever was in flight may be lost with the connection: every
            # outbox entry goes out again (same client_id) on the next connect.
            self._outbox.connection_lost()
            self._room_requests.connection_lost()
            self._roster.offline()
            self._typing.clear(self._roster.last_seq)
            self.membersChanged.emit(self.members())
        self.connectionChanged.emit(state)
        if state.kind is LinkKind.UNAUTHORIZED:
            self.unauthorized.emit()
        elif state.kind is LinkKind.CERTIFICATE_REFUSED:
            self._tasks.spawn(self._certificates.check())
        elif state.kind in (LinkKind.CONNECTED, LinkKind.POLLING):
            self._outbox.flush()

    def _on_batch(self, events: list[ServerEvent]) -> None:
        """Handle every event that arrived since the last batch: one signal per room."""
        out = self._conversation.handle(events)
        self._people.meet({m.name for m in self._roster.members() if m.online}, out.welcomed)
        for room in out.removed:
            self.roomRemoved.emit(room)
        for room, entries in out.changed.items():
            self.messagesChanged.emit(room, entries)
        if out.changed and self._active and self._room in out.changed:
            self._reads.viewed(self._room)
        if out.rooms_changed:
            self._rooms_changed()
        if out.members_changed:
            self.membersChanged.emit(self.members())
        for room in out.reads:
            self.readsChanged.emit(room)
        for room in out.opened:
            self.roomCreated.emit(room)
        for code, message in out.problems:
            self.problem.emit(error_text(code, message))
        if out.notify is not None:
            # One notification per batch: a replay of fifty messages is one toast.
            self.notify.emit(out.notify.room, out.notify.author, out.notify.text)

    async def _load_older(self, room: str, before: int | None) -> None:
        page = await self._history.older_page(room, before)
        self.olderLoaded.emit(room, [self._shown(e) for e in page.entries], page.has_more)

    def _changed(self, room: str, entries: list[MessageEntry]) -> None:
        self.messagesChanged.emit(room, entries)

    def _created(self, room: str) -> None:
        self.roomCreated.emit(room)

    def _jumped(self, room: str, seq: int, entries: list[MessageEntry]) -> None:
        self.jumpReady.emit(room, seq, entries)

    def _failed(self, exc: ApiError) -> None:
        self.problem.emit(error_text(exc.code, request_failed(exc)))

    def _valid(self, rule: Callable[[str], str], value: str) -> str | None:
        """``rule(value)``, or None after telling the user what the rule says."""
        try:
            return rule(value)
        except rules.ValidationError as exc:
            self.problem.emit(say(sentence(str(exc))))
            return None

    # --------------------------------------------------------------- reading

    def _rooms_changed(self) -> None:
        self.roomsChanged.emit(self.rooms())

    def _mark_read(self, room: str) -> None:
        self._reads.viewed(room)
        self._rooms_changed()
