"""ChatController: the one object that knows both the connection and the cache.

The window talks to it in plain method calls (``send``, ``open_room``,
``composer_edited``, ...) and listens to its signals; it never sees a socket
or a database row. Inside, the controller:

- owns a :class:`~chat_desktop.transport.link.ServerLink` (WebSocket, reconnect,
  polling fallback) and the account's :class:`~chat_desktop.storage.ChatCache`;
- answers the window from the cache first (the last messages of a room show
  at once, offline too) and asks the server only for what the cache lacks;
- collects the link's events for :data:`BATCH_SECONDS` and handles them as one
  batch: one cache transaction, one signal per room, so a burst of thousands
  of messages costs the UI one model insert instead of thousands;
- keeps my messages in the cache's outbox until the server acknowledges them,
  and sends every one again, with the same ``client_id``, after each
  (re)connect: the server stores one message per client_id, so each arrives
  exactly once however often the network breaks;
- fills a ``gap`` in the replay with ``history`` requests, and drops any
  message it already has (by room and seq);
- when the link refuses an https server's certificate (CERTIFICATE_REFUSED:
  another than the pinned one), asks the server which certificate it shows
  (:func:`~chat_desktop.transport.pinning.check_server`) and reports both
  fingerprints (``certificateProblem``); only the user's explicit
  :meth:`ChatController.accept_certificate` pins the new one and reconnects.

All of it runs on the one thread: qasync makes Qt's event loop the asyncio
loop, so the link's tasks, these callbacks and the widgets take turns and
never need a lock.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from chat_desktop.storage import ChatCache, OutboxEntry
from chat_desktop.transport.http_api import AccountClient, ApiError
from chat_desktop.transport.link import ServerLink
from chat_desktop.transport.pinning import (
    CertificateCheckError,
    Mismatch,
    NeedsTrust,
    PinnedCertificate,
    PinStore,
    check_server,
    client_context_for,
    pin_key,
    server_address,
)
from chat_desktop.transport.state import LinkKind, LinkState
from chat_protocol import (
    DEFAULT_ROOM,
    Ack,
    ClientEvent,
    CreateRoom,
    Error,
    Gap,
    HistoryPage,
    HistoryRequest,
    Message,
    Room,
    RoomInfo,
    SendMessage,
    ServerEvent,
    SetTyping,
    Typing,
    UserJoin,
    UserLeave,
    Welcome,
    rules,
)

from .entries import (
    CertificateProblem,
    ConnectionKind,
    ConnectionStatus,
    DeliveryState,
    MemberEntry,
    MessageEntry,
    RoomEntry,
)
from .tasks import TaskGroup
from .typing import TypingNotifier, TypingTracker

log = logging.getLogger(__name__)

# Events arriving within this window are handled together (one cache
# transaction, one model insert): short enough to feel instant.
BATCH_SECONDS = 0.03
# Messages per page when opening a room or scrolling up.
PAGE_SIZE = 100
# How long to wait for the server's answer to a history request.
HISTORY_TIMEOUT = 20.0
# A rate-limited message is tried again after this many seconds.
RATE_LIMIT_RETRY = 2.0
# A message the link could not hand over while still connected (a POST that
# failed while polling) is tried again after this many seconds.
SEND_RETRY = 1.0
# After a refused certificate whose check found nothing for the user to decide
# (the server went away meanwhile, or shows a trusted certificate again): a new
# link is tried after this many seconds (not at once, so that a server that
# keeps changing its mind cannot make the two loop).
CERTIFICATE_RECHECK = 3.0


@dataclass(frozen=True, slots=True)
class _PendingCertificate:
    """The certificate shown in a CertificateProblem: what accept_certificate() pins."""

    host: str
    port: int
    certificate: PinnedCertificate


@dataclass(frozen=True, slots=True)
class OlderPage:
    """Messages just before a seq, from the cache or the server."""

    entries: list[MessageEntry]
    has_more: bool


class ChatController(QObject):
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
        roomCreated(str): a room I asked for exists now.
        problem(str): something the user should read (a refused room name, ...).
        unauthorized(): the server no longer accepts the token: sign in again.
        certificateProblem(object): the server's certificate is not the trusted
            one and the link stopped: a CertificateProblem (answer with
            accept_certificate() or sign out), or None once it is resolved.
    """

    roomsChanged = Signal(list)
    membersChanged = Signal(list)
    messagesChanged = Signal(str, list)
    olderLoaded = Signal(str, list, bool)
    typingChanged = Signal(str, list)
    connectionChanged = Signal(object)
    notify = Signal(str, str, str)
    roomCreated = Signal(str)
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
        link_factory: Callable[..., ServerLink] = ServerLink,
        ssl_context: ssl.SSLContext | None = None,
        pins: PinStore | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._cache = cache
        # For an https server: the pinned certificate or the system's authorities.
        self._ssl_context = ssl_context
        # The certificates the user trusted (shared with the sign-in dialog):
        # checked and updated when the server's certificate changes. None: a
        # refused certificate is only reported in the status.
        self._pins = pins
        # The certificate the open CertificateProblem showed; None when none is open.
        self._pending_certificate: _PendingCertificate | None = None
        # True while check_server runs (a second request is dropped: the running one answers).
        self._checking_certificate = False
        self.server_url = server_url
        self.username = username
        self._token = token
        self._link_factory = link_factory
        self._link: ServerLink | None = None
        self._tasks = TaskGroup()
        self._closed = False
        self._status = ConnectionStatus(ConnectionKind.OFFLINE)

        # The room on screen, and whether the window is the active one (then
        # what arrives in that room counts as read).
        self._room = cache.get_setting("last_room") or DEFAULT_ROOM
        self._active = False
        # Room name -> last seq the server announced.
        self._rooms: dict[str, int] = {room.name: room.last_seq for room in cache.rooms()}
        self._rooms.setdefault(DEFAULT_ROOM, 0)
        self._online: set[str] = set()
        # Authors seen since start: the members list shows them offline.
        self._known_users: set[str] = {username}

        # My messages not yet stored by the server: client_id -> entry.
        self._pending: dict[str, MessageEntry] = {}
        for queued in cache.outbox():
            self._pending[queued.client_id] = _outbox_entry(queued, username)
        # client_ids handed to the current connection; cleared on every drop,
        # so that each (re)connect sends the outbox once more.
        self._sent_now: set[str] = set()
        # Held while the outbox is handed to the link: see _deliver_waiting.
        self._delivering = asyncio.Lock()
        # Rooms I asked the server to create: their `room` event means roomCreated.
        self._wanted_rooms: set[str] = set()

        # Events waiting for the next batch, and the handle of its timer.
        self._incoming: list[ServerEvent] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        # Per room, the futures waiting for history pages, answered in order.
        self._history_waiters: dict[str, list[asyncio.Future[HistoryPage]]] = {}

        self._notifier = TypingNotifier()
        self._tracker = TypingTracker()
        self._typing_timer = QTimer(self)
        self._typing_timer.setSingleShot(True)
        self._typing_timer.timeout.connect(self._expire_typing)

    # ------------------------------------------------------------ lifecycle

    def start(self, base_url: str | None = None) -> None:
        """Connect (on the running loop); ``base_url`` overrides the saved address."""
        if self._link is not None or self._closed:
            return
        # A hosted server may have moved to another port since the last start.
        self.server_url = base_url or self.server_url
        self._link = self._link_factory(
            self.server_url,
            self._token,
            positions=self._cache.positions,
            on_event=self._on_event,
            on_state=self._on_state,
            username=self.username,
            ssl_context=self._ssl_context,
        )
        self._link.start()

    async def close(self) -> None:
        """Close the link and stop every task; the cache stays open (its owner closes it)."""
        if self._closed:
            return
        self._closed = True
        self._typing_timer.stop()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._link is not None:
            await self._link.close()
        await self._tasks.close()
        for waiters in self._history_waiters.values():
            for waiter in waiters:
                waiter.cancel()
        self._history_waiters.clear()

    async def sign_out(self) -> None:
        """End the session on the server (best effort) and close."""
        link_was_open = self._link is not None
        await self.close()
        if not link_was_open:
            return
        client = AccountClient(self.server_url, ssl_context=self._ssl_context)
        try:
            await asyncio.wait_for(client.logout(self._token), 5)
        except (ApiError, TimeoutError) as exc:
            # Offline: the token stays valid on the server but is forgotten here.
            log.info("could not log out on the server: %s", exc)
        finally:
            await client.close()

    # ------------------------------------------------------ what is on screen

    @property
    def status(self) -> ConnectionStatus:
        return self._status

    @property
    def current_room(self) -> str:
        return self._room

    def rooms(self) -> list[RoomEntry]:
        unread = self._cache.unread_counts(self.username)
        names = set(self._rooms) | set(unread)
        return [RoomEntry(name, unread.get(name, 0)) for name in sorted(names)]

    def members(self) -> list[MemberEntry]:
        names = self._known_users | self._online
        return [MemberEntry(name, name in self._online) for name in sorted(names)]

    def open_room(self, room: str) -> list[MessageEntry]:
        """Make ``room`` the one on screen and return its newest cached page.

        What the cache lacks arrives later through messagesChanged (the newest
        page from the server)."""
        self._room = room
        self._cache.set_setting("last_room", room)
        cached = self._cache.latest(room, PAGE_SIZE)
        entries = [MessageEntry.from_message(message) for message in cached]
        self._known_users.update(entry.author for entry in entries)
        entries += [entry for entry in self._pending.values() if entry.room == room]
        if not cached and self._rooms.get(room, 0) > 0:
            self._fetch_newest(room)
        self._mark_read(room)
        self.typingChanged.emit(room, self._tracker.users(room))
        return entries

    def set_active(self, active: bool) -> None:
        """The window became active (or not): the room on screen is being read."""
        self._active = active
        if active:
            self._mark_read(self._room)

    # ------------------------------------------------------------- actions

    def send(self, room: str, text: str) -> MessageEntry | None:
        """Queue my message (it survives a restart) and send it when connected."""
        try:
            text = rules.normalize_text(text)
        except rules.ValidationError as exc:
            self.problem.emit(str(exc)[:1].upper() + str(exc)[1:] + ".")
            return None
        self._send_typing(self._notifier.stopped())
        client_id = str(uuid.uuid4())
        created = rules.now_ts()
        self._cache.outbox_add(OutboxEntry(client_id, room, text, created))
        entry = MessageEntry(
            room, self.username, text, created, client_id, state=DeliveryState.QUEUED
        )
        self._pending[client_id] = entry
        self.messagesChanged.emit(room, [entry])
        self._flush_outbox()
        return entry

    def retry(self, client_id: str) -> None:
        """Send a refused message again (the user pressed Retry)."""
        entry = self._pending.get(client_id)
        if entry is None or entry.state is not DeliveryState.FAILED:
            return
        self._cache.outbox_clear_failed(client_id)
        self._update_pending(entry.with_state(DeliveryState.QUEUED))
        self._sent_now.discard(client_id)
        self._flush_outbox()

    def composer_edited(self, room: str, text: str) -> None:
        """The composer's text changed: maybe tell the others that I am typing."""
        self._send_typing(self._notifier.text_changed(room, text))

    def create_room(self, name: str) -> None:
        """Ask the server for a room; roomCreated follows, or problem."""
        name = name.strip().lower()
        try:
            rules.validate_room_name(name)
        except rules.ValidationError as exc:
            self.problem.emit(str(exc)[:1].upper() + str(exc)[1:] + ".")
            return
        if name in self._rooms:
            self.roomCreated.emit(name)
            return
        if not self._can_send():
            self.problem.emit("You are offline: a room can be created once the connection is back.")
            return
        self._wanted_rooms.add(name)
        self._tasks.spawn(self._send(CreateRoom(name)))

    def request_older(self, room: str, before: int | None) -> None:
        """Load the page before seq ``before``; olderLoaded answers (maybe empty)."""
        self._tasks.spawn(self._load_older(room, before))

    def reconnect_now(self) -> None:
        """Skip the backoff wait; after a refused certificate, check the server again."""
        if self._status.kind is LinkKind.CERTIFICATE_REFUSED:
            self._tasks.spawn(self._check_certificate())
        elif self._link is not None:
            self._link.reconnect_now()

    @property
    def certificate_problem(self) -> CertificateProblem | None:
        """The open certificate question (also sent with certificateProblem), if any."""
        pending = self._pending_certificate
        return None if pending is None else self._problem_of(pending)

    def accept_certificate(self) -> None:
        """The user reviewed the certificate of ``certificateProblem``: pin it and reconnect.

        Pins exactly the certificate whose fingerprint was shown; should the
        server show yet another one, the new link is refused again.
        """
        pending, self._pending_certificate = self._pending_certificate, None
        if pending is None or self._pins is None or self._closed:
            return
        self._pins.pin(pending.host, pending.port, pending.certificate)
        self.certificateProblem.emit(None)
        self._restart_link(client_context_for(pending.certificate))

    # ------------------------------------------------------- link callbacks

    def _on_state(self, state: LinkState) -> None:
        if self._closed:
            return
        self._status = state
        if state.kind not in (LinkKind.CONNECTED, LinkKind.POLLING):
            # Whatever was in flight may be lost with the connection: every
            # outbox entry goes out again (same client_id) on the next connect.
            self._sent_now.clear()
            self._online.clear()
            self._clear_typing()
            self.membersChanged.emit(self.members())
        self.connectionChanged.emit(self._status)
        if state.kind is LinkKind.UNAUTHORIZED:
            self.unauthorized.emit()
        elif state.kind is LinkKind.CERTIFICATE_REFUSED:
            self._tasks.spawn(self._check_certificate())
        elif state.kind in (LinkKind.CONNECTED, LinkKind.POLLING):
            self._flush_outbox()

    # ------------------------------------------------------- certificates

    async def _check_certificate(self) -> None:
        """The link refused the server's certificate: find out which one it shows now.

        A new or changed certificate becomes a CertificateProblem for the
        user. With nothing to decide (the server went away meanwhile, or shows
        a trusted certificate again), a new link tries once more shortly.
        """
        if self._checking_certificate or self._pins is None:
            return
        if not self.server_url.startswith("https://"):
            return
        self._checking_certificate = True
        refused = self._link
        try:
            if refused is not None:
                # The link stopped by itself; closing it frees its HTTP session.
                await refused.close()
            host, port = server_address(self.server_url)
            try:
                result = await check_server(host, port, self._pins)
            except CertificateCheckError as exc:
                log.info("could not check the certificate again: %s", exc)
                result = None
        finally:
            self._checking_certificate = False
        if self._closed or self._link is not refused:
            # The user trusted the certificate meanwhile: a new link is on its way.
            return
        if isinstance(result, Mismatch | NeedsTrust):
            self._pending_certificate = _PendingCertificate(host, port, result.certificate)
            self.certificateProblem.emit(self._problem_of(self._pending_certificate))
            return
        self._pending_certificate = None
        self.certificateProblem.emit(None)
        await asyncio.sleep(CERTIFICATE_RECHECK)
        if self._link is refused and not self._closed:
            context = result.context() if result is not None else self._ssl_context
            self._restart_link(context)

    def _problem_of(self, pending: _PendingCertificate) -> CertificateProblem:
        pinned = self._pins.get(pending.host, pending.port) if self._pins is not None else None
        return CertificateProblem(
            where=pin_key(pending.host, pending.port),
            presented=pending.certificate.fingerprint,
            pinned=pinned.fingerprint if pinned is not None else "",
        )

    def _restart_link(self, context: ssl.SSLContext | None) -> None:
        """Replace the stopped (and closed) link by a new one with ``context``."""
        self._ssl_context = context
        self._link = None
        self.start()

    def _on_event(self, event: ServerEvent) -> None:
        if self._closed:
            return
        self._incoming.append(event)
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(BATCH_SECONDS, self._flush)

    # ------------------------------------------------------------ batching

    def _flush(self) -> None:
        """Handle every event that arrived since the last batch."""
        self._flush_handle = None
        events, self._incoming = self._incoming, []
        if self._closed or not events:
            return
        # One transaction for every message of the batch (live, replay, history).
        messages = [event for event in events if isinstance(event, Message)]
        for event in events:
            if isinstance(event, HistoryPage):
                messages.extend(event.messages)
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
                self._acked(event, changed)
            elif isinstance(event, Welcome):
                self._welcome(event)
                rooms_changed = members_changed = True
            elif isinstance(event, Room):
                rooms_changed |= self._room_event(event)
            elif isinstance(event, HistoryPage):
                for message in event.messages:
                    self._stored(message, changed)
                self._answer_history(event)
            elif isinstance(event, Typing):
                self._typing(event)
            elif isinstance(event, UserJoin | UserLeave):
                self._presence(event)
                members_changed = True
            elif isinstance(event, Gap):
                self._tasks.spawn(self._fill_gap(event))
            elif isinstance(event, Error):
                self._error(event, changed)

        for room, entries in changed.items():
            self.messagesChanged.emit(room, entries)
        if changed and self._active and self._room in changed:
            self._mark_read(self._room, emit=False)
        if changed or rooms_changed:
            self.roomsChanged.emit(self.rooms())
        authors = {message.author for message in messages} - self._known_users
        if authors:
            self._known_users |= authors
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
        self._rooms[message.room] = max(self._rooms.get(message.room, 0), message.seq)
        if message.author == self.username and message.client_id in self._pending:
            # My message is stored: the broadcast may overtake the ack.
            self._delivered(message.client_id)
        if self._tracker.message_arrived(message.room, message.author):
            self.typingChanged.emit(message.room, self._tracker.users(message.room))
        changed.setdefault(message.room, []).append(MessageEntry.from_message(message))

    def _acked(self, ack: Ack, changed: dict[str, list[MessageEntry]]) -> None:
        entry = self._pending.get(ack.client_id)
        self._delivered(ack.client_id)
        if entry is not None:
            done = entry.with_state(DeliveryState.DELIVERED, seq=ack.seq, ts=ack.ts)
            changed.setdefault(entry.room, []).append(done)

    def _delivered(self, client_id: str) -> None:
        self._pending.pop(client_id, None)
        self._sent_now.discard(client_id)
        self._cache.outbox_remove(client_id)

    def _welcome(self, welcome: Welcome) -> None:
        self.username = welcome.username or self.username
        self._cache.save_rooms(welcome.rooms)
        for room in welcome.rooms:
            self._rooms[room.name] = max(self._rooms.get(room.name, 0), room.last_seq)
        self._online = set(welcome.online)
        # The page a window shows first must be whole. A room the cache has
        # nothing of has no position for `since` to cover: fetch its newest
        # page. A room whose newest page has a hole (a connection that dropped
        # while that page was on its way, then live messages above it) gets the
        # rest of the page: the replay only brings what is above the newest.
        positions = self._cache.positions()
        for room in welcome.rooms:
            if room.last_seq == 0:
                continue
            if room.name not in positions:
                self._fetch_newest(room.name)
                continue
            run = self._cache.latest(room.name, PAGE_SIZE)
            if run and len(run) < PAGE_SIZE and run[0].seq > 1:
                self._fetch_below(room.name, run[0].seq, PAGE_SIZE - len(run))
        self._flush_outbox()

    def _room_event(self, room: Room) -> bool:
        known = room.name in self._rooms
        self._rooms[room.name] = max(self._rooms.get(room.name, 0), room.last_seq)
        self._cache.save_rooms([RoomInfo(room.name, room.last_seq)])
        if room.name in self._wanted_rooms:
            self._wanted_rooms.discard(room.name)
            self.roomCreated.emit(room.name)
        return not known

    def _typing(self, event: Typing) -> None:
        if event.user == self.username:
            return
        if self._tracker.typing(event.room, event.user, event.active):
            self.typingChanged.emit(event.room, self._tracker.users(event.room))
        self._schedule_typing_expiry()

    def _presence(self, event: UserJoin | UserLeave) -> None:
        if isinstance(event, UserJoin):
            self._online.add(event.user)
        else:
            self._online.discard(event.user)
            if any(self._tracker.typing(room, event.user, False) for room in self._rooms):
                self.typingChanged.emit(self._room, self._tracker.users(self._room))

    def _error(self, error: Error, changed: dict[str, list[MessageEntry]]) -> None:
        entry = self._pending.get(error.ref or "")
        if entry is None:
            if error.code in ("unknown_room", "bad_request") and self._wanted_rooms:
                self._wanted_rooms.clear()
            self.problem.emit(error.message or f"The server refused a request ({error.code}).")
            return
        self._sent_now.discard(entry.client_id)
        if error.code == "rate_limited":
            # Not the message's fault: it goes out again shortly by itself.
            self._tasks.spawn(self._flush_later(RATE_LIMIT_RETRY))
            return
        reason = error.message or error.code
        self._cache.outbox_mark_failed(entry.client_id, reason)
        failed = entry.with_state(DeliveryState.FAILED, error=reason)
        self._pending[entry.client_id] = failed
        changed.setdefault(entry.room, []).append(failed)

    # ------------------------------------------------------------- sending

    def _can_send(self) -> bool:
        return self._link is not None and self._status.kind in (
            ConnectionKind.CONNECTED,
            ConnectionKind.POLLING,
        )

    def _flush_outbox(self) -> None:
        """Send every queued message not yet handed to this connection, oldest first."""
        if self._can_send():
            self._tasks.spawn(self._deliver_waiting())

    async def _deliver_waiting(self) -> None:
        """Hand the waiting outbox to the link in the order written.

        Under a lock, with the list taken inside it, and stopping at the first
        message that does not go out: a younger message must never overtake an
        older one, neither one written while the outbox is being resent after
        a reconnect nor one written after a POST failed while polling (the
        link stays POLLING then, so no reconnect would resend it: try again
        shortly instead).
        """
        async with self._delivering:
            waiting = [
                entry.client_id
                for entry in self._pending.values()
                if entry.state is not DeliveryState.FAILED and entry.client_id not in self._sent_now
            ]
            for client_id in waiting:
                if not await self._deliver(client_id):
                    if self._can_send():
                        self._tasks.spawn(self._flush_later(SEND_RETRY))
                    return

    async def _deliver(self, client_id: str) -> bool:
        """Hand one message to the link; False when it did not go out."""
        entry = self._pending.get(client_id)
        if entry is None or client_id in self._sent_now or entry.state is DeliveryState.FAILED:
            return True
        self._sent_now.add(client_id)
        if not await self._send(SendMessage(entry.room, client_id, entry.text)):
            self._sent_now.discard(client_id)
            return False
        current = self._pending.get(client_id)
        if current is not None and current.state is DeliveryState.QUEUED:
            self._update_pending(current.with_state(DeliveryState.SENT))
        return True

    async def _flush_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._flush_outbox()

    async def _send(self, event: ClientEvent) -> bool:
        if self._link is None:
            return False
        try:
            return await self._link.send(event)
        except (OSError, ApiError) as exc:
            log.info("could not send %s: %s", event.type, exc)
            return False

    def _update_pending(self, entry: MessageEntry) -> None:
        self._pending[entry.client_id] = entry
        self.messagesChanged.emit(entry.room, [entry])

    def _send_typing(self, notices: Iterable[tuple[str, bool]]) -> None:
        if not self._can_send():
            return
        for room, active in notices:
            self._tasks.spawn(self._send(SetTyping(room, active)))

    # ------------------------------------------------------------- history

    def _fetch_newest(self, room: str) -> None:
        if self._can_send():
            self._tasks.spawn(self._newest(room))

    def _fetch_below(self, room: str, before: int, limit: int) -> None:
        if self._can_send():
            # Like the newest page, the answer reaches the window through the batch.
            self._tasks.spawn(self._history(room, before, limit))

    async def _newest(self, room: str) -> None:
        # The page's messages reach the window through the batch like any other.
        page = await self._history(room, None, PAGE_SIZE)
        if page is not None and page.messages:
            # This is only asked for a room the cache held nothing of: what was
            # said there before I first looked is history, not unread news.
            self._cache.mark_read(room, page.messages[-1].seq)
            self.roomsChanged.emit(self.rooms())

    async def _load_older(self, room: str, before: int | None) -> None:
        page = await self._older_page(room, before)
        self.olderLoaded.emit(room, page.entries, page.has_more)

    async def _older_page(self, room: str, before: int | None) -> OlderPage:
        if before is None or before <= 1:
            return OlderPage([], False)
        cached = self._cache.before(room, before, PAGE_SIZE)
        if cached:
            entries = [MessageEntry.from_message(message) for message in cached]
            return OlderPage(entries, cached[0].seq > 1)
        page = await self._history(room, before, PAGE_SIZE)
        if page is None:
            # Offline or no answer: there may well be more; the view asks again later.
            return OlderPage([], True)
        entries = [MessageEntry.from_message(message) for message in page.messages]
        return OlderPage(entries, page.has_more)

    async def _fill_gap(self, gap: Gap) -> None:
        """Page backwards from ``gap.before`` until every seq after ``gap.after`` is here."""
        before = gap.before
        while before - 1 > gap.after:
            limit = min(rules.HISTORY_LIMIT_MAX, before - 1 - gap.after)
            page = await self._history(gap.room, before, limit)
            if page is None or not page.messages:
                return
            before = page.messages[0].seq

    async def _history(self, room: str, before: int | None, limit: int) -> HistoryPage | None:
        """Ask the server for a page and wait for it (it also goes through the batch)."""
        if not self._can_send():
            return None
        waiter: asyncio.Future[HistoryPage] = asyncio.get_running_loop().create_future()
        self._history_waiters.setdefault(room, []).append(waiter)
        try:
            if not await self._send(HistoryRequest(room, before, limit)):
                return None
            return await asyncio.wait_for(asyncio.shield(waiter), HISTORY_TIMEOUT)
        except TimeoutError:
            return None
        finally:
            waiters = self._history_waiters.get(room, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiter.done():
                waiter.cancel()

    def _answer_history(self, page: HistoryPage) -> None:
        waiters = self._history_waiters.get(page.room)
        while waiters:
            waiter = waiters.pop(0)
            if not waiter.done():
                waiter.set_result(page)
                return

    # -------------------------------------------------------------- typing

    def _schedule_typing_expiry(self) -> None:
        delay = self._tracker.next_expiry()
        if delay is None:
            self._typing_timer.stop()
        else:
            self._typing_timer.start(int(delay * 1000) + 20)

    def _expire_typing(self) -> None:
        for room in self._tracker.expire():
            self.typingChanged.emit(room, self._tracker.users(room))
        self._schedule_typing_expiry()

    def _clear_typing(self) -> None:
        rooms = [room for room in self._rooms if self._tracker.users(room)]
        self._tracker.clear()
        for room in rooms:
            self.typingChanged.emit(room, [])

    # --------------------------------------------------------------- reading

    def _mark_read(self, room: str, *, emit: bool = True) -> None:
        newest = self._cache.positions().get(room)
        if newest is not None:
            self._cache.mark_read(room, newest)
        if emit:
            self.roomsChanged.emit(self.rooms())


def _outbox_entry(queued: OutboxEntry, me: str) -> MessageEntry:
    state = DeliveryState.FAILED if queued.failed else DeliveryState.QUEUED
    return MessageEntry(
        queued.room,
        me,
        queued.text,
        queued.created,
        queued.client_id,
        state=state,
        error=queued.failed or "",
    )
