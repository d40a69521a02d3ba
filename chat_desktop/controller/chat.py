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
- :class:`~.search.MessageSearch` and :class:`~.jump.Jumps` find messages
  and load the page around one (their signals: :class:`~.lookup.MessageLookup`).

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
from chat_desktop.transport.link import ServerLink
from chat_desktop.transport.pinning import PinStore
from chat_desktop.transport.state import LinkKind, LinkState
from chat_protocol import (
    DEFAULT_ROOM,
    Ack,
    Error,
    Gap,
    HistoryPage,
    Message,
    Room,
    ServerEvent,
    Typing,
    UserJoin,
    UserLeave,
    Welcome,
    rules,
)

from .certificates import CERTIFICATE_RECHECK, CertificateChecks
from .connection import Connection, Link
from .entries import (
    CertificateProblem,
    ConnectionStatus,
    MemberEntry,
    MessageEntry,
    RoomEntry,
)
from .history import History, OlderPage
from .lookup import MessageLookup
from .outbox import ACK_TIMEOUT, Outbox
from .room_requests import RoomRequests, sentence
from .roster import Roster
from .tasks import TaskGroup
from .typing import TypingIndicators
from .wording import error_text, say

__all__ = ["ChatController", "OlderPage"]


class ChatController(MessageLookup):
    """The chat of one signed-in account on one server.

    Signals:
        roomsChanged(list): every room as a RoomEntry (name, unread count).
        membersChanged(list): the users I know of as MemberEntry (name, online).
        messagesChanged(str, list): new or updated MessageEntry values of one room,
            in seq order (my pending ones last); one emission per room and batch.
        olderLoaded(str, list, bool): an older page of a room (ascending) and
            whether there is more before it.
        typingChanged(str, list): the users typing in a room now.
        connectionChanged(object): the ConnectionStatus, on every change.
        notify(str, str, str): a new message from someone else while connected:
            room, author, text (plain text, the UI decides whether to show it).
        roomCreated(str): a room I asked for (create_room) exists now.
        roomRefused(str, str): a room I asked for was not created: its name and
            why, as a sentence for the user (a bad name, offline, rate limited,
            the connection dropped before the answer).
        problem(str): something else the user should read (a refused message text, ...).
        unauthorized(): the server no longer accepts the token: sign in again.
        certificateProblem(object): the server's certificate is not the trusted
            one and the link stopped: a CertificateProblem (answer with
            accept_certificate() or sign out), or None once it is resolved.
        searchResults(str, list, object), jumpReady(str, int, list): search
            and jump, see :class:`~.lookup.MessageLookup` (``search``,
            ``open_at``).

    ``typing_expiry`` is how long another user's typing indicator lasts after
    their last notice (the protocol's 6 s; tests shorten it); ``ack_timeout``
    how long one of my messages may wait for its ack before it shows Queued
    again (it is sent again on the next connection).
    """

    roomsChanged = Signal(list)
    membersChanged = Signal(list)
    messagesChanged = Signal(str, list)
    olderLoaded = Signal(str, list, bool)
    typingChanged = Signal(str, list)
    connectionChanged = Signal(object)
    notify = Signal(str, str, str)
    roomCreated = Signal(str)
    roomRefused = Signal(str, str)
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
        self.username = username
        self._tasks = TaskGroup()
        self._connection = Connection(
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
            self._connection,
            self._tasks,
            me=username,
            on_change=lambda entry: self.messagesChanged.emit(entry.room, [entry]),
            ack_timeout=ack_timeout,
        )
        self._history = History(cache, self._connection, self._tasks, on_read=self._rooms_changed)
        self._certificates = CertificateChecks(
            self._connection,
            pins,
            on_problem=self.certificateProblem.emit,
            recheck=certificate_recheck,
        )
        self._typing = TypingIndicators(
            self._connection, self._tasks, on_change=self.typingChanged.emit, expiry=typing_expiry
        )
        self._roster = Roster(cache, username)
        self._room_requests = RoomRequests(
            self._connection,
            self._roster,
            self._tasks,
            on_created=self.roomCreated.emit,
            on_refused=lambda name, reason: self.roomRefused.emit(name, say(reason)),
        )
        # The room on screen, and whether the window is the active one (then
        # what arrives in that room counts as read).
        self._room = cache.get_setting("last_room") or DEFAULT_ROOM
        self._active = False
        self.server_version = ""  # as the welcome said (Help > About shows it)
        self._start_lookup(token)

    # ------------------------------------------------------------ lifecycle

    @property
    def server_url(self) -> str:
        return self._connection.server_url

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
        return self._roster.rooms(self.username)

    def members(self) -> list[MemberEntry]:
        return self._roster.members()

    def open_room(self, room: str) -> list[MessageEntry]:
        """Show ``room``: its newest cached page now, the rest by messagesChanged."""
        self._room = room
        self._cache.set_setting("last_room", room)
        entries = self._history.cached_page(room, last_seq=self._roster.last_seq.get(room, 0))
        self._roster.authors(entry.author for entry in entries)
        entries += self._outbox.entries(room)
        self._mark_read(room)
        self.typingChanged.emit(room, self._typing.users(room))
        return entries

    def set_active(self, active: bool) -> None:
        """The window became active (or not): the room on screen is being read."""
        self._active = active
        if active:
            self._mark_read(self._room)

    # ------------------------------------------------------------- actions

    def send(self, room: str, text: str) -> MessageEntry | None:
        """Queue my message (it survives a restart) and send it when connected."""
        text = self._valid(rules.normalize_text, text)
        if not text:
            return None
        self._typing.sent()
        return self._outbox.add(room, text)

    def retry(self, client_id: str) -> None:
        """Send a refused message again (the user pressed Retry)."""
        self._outbox.retry(client_id)

    def composer_edited(self, room: str, text: str) -> None:
        """The composer's text changed: maybe tell the others that I am typing."""
        self._typing.composer_edited(room, text)

    def create_room(self, name: str) -> None:
        """Ask the server for room ``name`` (trimmed, lower-cased): roomCreated(name)
        follows once it exists, or roomRefused(name, reason) (see :mod:`.room_requests`)."""
        self._room_requests.ask(name)

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
        # One transaction for every message of the batch (live, replay, history).
        messages = _messages_of(events)
        new = self._cache.save_messages(messages)
        new_keys = {(message.room, message.seq) for message in new}

        changed: dict[str, list[MessageEntry]] = {}
        rooms_changed = False
        members_changed = False
        live: list[Message] = []
        for event in events:
            if isinstance(event, Message):
                if (event.room, event.seq) in new_keys:
                    live.append(event)
                self._stored(event, changed)
            elif isinstance(event, Ack):
                _add(changed, self._outbox.acked(event))
            elif isinstance(event, Welcome):
                self._welcome(event)
                rooms_changed = members_changed = True
            elif isinstance(event, Room):
                is_new, wanted = self._roster.room(event)
                if wanted:
                    self._room_requests.answered(event.name)
                rooms_changed |= is_new
            elif isinstance(event, HistoryPage):
                for message in event.messages:
                    self._stored(message, changed)
                self._history.answer(event)
            elif isinstance(event, Typing):
                if event.user != self.username:
                    self._typing.notice(event)
            elif isinstance(event, UserJoin | UserLeave):
                self._roster.presence(event)
                if isinstance(event, UserLeave):
                    self._typing.user_left(event.user, self._roster.last_seq, self._room)
                members_changed = True
            elif isinstance(event, Gap):
                self._history.fill_gap(event)
            elif isinstance(event, Error):
                self._error(event, changed)

        for room, entries in changed.items():
            self.messagesChanged.emit(room, entries)
        if changed and self._active and self._room in changed:
            self._roster.mark_read(self._room)
        if changed or rooms_changed:
            self._rooms_changed()
        if self._roster.authors(message.author for message in messages):
            members_changed = True
        if members_changed:
            self.membersChanged.emit(self.members())
        others = [message for message in live if message.author != self.username]
        if others:
            # One notification per batch: a replay of fifty messages is one toast.
            last = others[-1]
            self.notify.emit(last.room, last.author, last.text)

    def _stored(self, message: Message, changed: dict[str, list[MessageEntry]]) -> None:
        """A message the server stored (live, replayed or from history)."""
        self._roster.seen(message.room, message.seq)
        # My message is stored: the broadcast may overtake the ack.
        self._outbox.stored(message)
        self._typing.message_arrived(message.room, message.author)
        _add(changed, MessageEntry.from_message(message))

    def _welcome(self, welcome: Welcome) -> None:
        self.username = self._outbox.me = welcome.username or self.username
        self.server_version = welcome.server.version
        self._roster.welcome(welcome.rooms, welcome.online)
        self._history.complete_newest_pages(welcome.rooms)
        self._outbox.flush()

    def _error(self, error: Error, changed: dict[str, list[MessageEntry]]) -> None:
        if error.ref in self._outbox:
            _add(changed, self._outbox.refused(error))
            return
        if self._room_requests.refusal(error):
            return
        self.problem.emit(error_text(error.code, error.message))

    async def _load_older(self, room: str, before: int | None) -> None:
        page = await self._history.older_page(room, before)
        self.olderLoaded.emit(room, page.entries, page.has_more)

    def _valid(self, rule: Callable[[str], str], value: str) -> str:
        """``rule(value)``, or "" after telling the user what the rule says."""
        try:
            return rule(value)
        except rules.ValidationError as exc:
            self.problem.emit(say(sentence(str(exc))))
            return ""

    # --------------------------------------------------------------- reading

    def _rooms_changed(self) -> None:
        self.roomsChanged.emit(self.rooms())

    def _mark_read(self, room: str) -> None:
        self._roster.mark_read(room)
        self._rooms_changed()


def _messages_of(events: list[ServerEvent]) -> list[Message]:
    """Every message a batch brings: live, replayed, and in history pages."""
    messages = [event for event in events if isinstance(event, Message)]
    for event in events:
        if isinstance(event, HistoryPage):
            messages.extend(event.messages)
    return messages


def _add(changed: dict[str, list[MessageEntry]], entry: MessageEntry | None) -> None:
    """Collect ``entry`` for its room's messagesChanged of this batch."""
    if entry is not None:
        changed.setdefault(entry.room, []).append(entry)
