"""MainWindow: rooms, direct messages and people on the left, the conversation in the middle.

The window is built from small widgets (MessageView over MessageListModel,
ComposerBox, TypingLine, ConnectionStatusWidget, the side bar's lists) and
wires them to the :class:`~chat_desktop.controller.chat.ChatController` in one
place, :meth:`MainWindow._connect`: controller signals go into the models and
widgets, widget signals become controller calls. No widget touches the
network or the database.

The window also owns the tray icon (unread count, notifications for new
messages while the window is not active; clicking one opens that room), the
certificate bar that says when the server's certificate changed
(:mod:`.certificate`), and a :class:`~chat_desktop.controller.network_watch.NetworkWatch`
whose "the network is back, or the computer woke up" reconnects at once.

Conversations (issue 12): the side bar lists rooms (a lock on a private
one), then "Direct messages" (the other person's name and presence dot),
then People; a click or Enter on a person opens a direct message with them
(``ChatController.open_dm``), the speech-bubble button a direct message
with several (:class:`~.people.PeopleDialog`). Above the conversation the
:class:`~.room_header.RoomHeader` shows the room's name and its topic, edited
in place; for private rooms and direct messages the
:class:`~.members_panel.MembersPanel` on the right lists the members (invite,
remove, leave). The Room menu, the header's "⋯" and the room list's context
menu hold the room's actions (leave, delete for admins after a question).
When a room goes away (I left, was removed, an admin deleted it) the
window moves to ``general``.

Everything is reachable from the keyboard: each action sits in a menu with
its shortcut shown (Alt+Up/Down or Ctrl+Tab/Ctrl+Shift+Tab through rooms,
Ctrl+Shift+A to the next unread room, Ctrl+K to switch by name, Ctrl+F and
Ctrl+Shift+F to search this room or every room (:mod:`.search_panel`; a hit
opens its room at that message, :meth:`MainWindow.open_message`),
Ctrl+Shift+S to hide the side bar), and the style sheet draws a focus ring. The window
works down to :data:`MINIMUM_SIZE`; its title counts unread messages (and
so do the tray icon and, where the desktop has one, the dock's icon badge).

Whether a new message notifies or sounds is the
:class:`~chat_desktop.controller.notifications.NotificationPolicy`'s call
(notification level, muted rooms, do not disturb, mentions of me); Chat >
Settings (Ctrl+,) edits its preferences, the room list's context menu mutes
a room, the status bar shows "Do not disturb until …" while it is on. With
"close to tray" set and a tray present, closing the window hides it. Help
has the keyboard shortcuts (F1) and About.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chat_desktop.controller.autostart import Autostart
from chat_desktop.controller.chat import ChatController
from chat_desktop.controller.entries import (
    CertificateProblem,
    ConnectionKind,
    ConnectionStatus,
    MemberEntry,
    MessageEntry,
    RoomEntry,
)
from chat_desktop.controller.network_watch import NetworkWatch
from chat_desktop.controller.notifications import (
    Alert,
    MemorySettings,
    NotificationPolicy,
    Preferences,
)
from chat_protocol import DEFAULT_ROOM

from .about import ShortcutsDialog, about_box
from .attachments import AttachmentArea, FileDrops
from .certificate import CertificateBar, CertificateReviewDialog
from .composer import ComposerBox
from .connection_status import ConnectionStatusWidget
from .launcher_badge import LauncherBadge
from .members_panel import MembersPanel
from .message_actions import MessageActions
from .message_files import MessageFiles
from .message_model import MessageListModel
from .message_view import MessageView
from .new_room import NewRoomDialog
from .people import PeopleDialog
from .quick_switch import QuickSwitchDialog
from .quiet_indicator import QuietIndicator
from .resources import icon
from .room_header import RoomHeader
from .search_panel import SearchPanel
from .settings_dialog import SettingsDialog, quiet_end_text
from .side_bar import (
    NAME_ROLE,
    FittedListView,
    MemberListModel,
    RoomDelegate,
    RoomKindFilter,
    RoomListModel,
    side_bar_width,
)
from .tray import ChatTray
from .typing_line import TypingLine

#: The smallest window the layout is made for (and tested at): below it rows
#: and headings would have no room.
MINIMUM_SIZE = QSize(360, 260)
# The side bar takes at most this share of a narrow window's width.
SIDE_BAR_SHARE = 0.35
# Below this width of the conversation the members panel stays hidden (the
# messages need the room more); the header's button shows it again when wider.
MEMBERS_PANEL_ROOM = 560


class MainWindow(QMainWindow):
    """The chat window of one signed-in account.

    Signals:
        signOutRequested(): the user chose Sign out in the menu and confirmed.
        quitRequested(): the user chose Quit or closed the window.
        accountDialogRequested(str): "devices" or "password" from the menu; the
            app, which holds the session, opens that dialog.
    """

    signOutRequested = Signal()
    quitRequested = Signal()
    accountDialogRequested = Signal(str)

    def __init__(
        self,
        controller: ChatController,
        parent: QWidget | None = None,
        *,
        policy: NotificationPolicy | None = None,
        autostart: Autostart | None = None,
        quiet_check: float = 60.0,
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        # What notifies and sounds (the app passes one over its settings file).
        self.policy = policy or NotificationPolicy(Preferences(MemorySettings()))
        self.autostart = autostart or Autostart()
        # Longest wait (s) between checks of whether do-not-disturb is over:
        # the clock may jump (suspend, a changed time zone).
        self._quiet_check = quiet_check
        # The last decision about a new message (tests read it: no audio offscreen).
        self.last_alert: Alert | None = None
        self.setWindowIcon(icon("app"))
        self.setMinimumSize(MINIMUM_SIZE)
        self.resize(1100, 720)

        self.messages = MessageListModel(controller.username, self)
        self.rooms = RoomListModel(self)
        self.rooms.set_me(controller.username)
        self.members = MemberListModel(self)
        self.members.set_me(controller.username)
        # The two sections of the side bar over the one room list.
        self.public_rooms = RoomKindFilter(self.rooms, direct=False, parent=self)
        self.direct_rooms = RoomKindFilter(self.rooms, direct=True, parent=self)

        # ---- side bar: rooms, direct messages, then people
        side = self.side_bar = QWidget(self)
        side.setObjectName("sideBar")
        side.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.room_list = _room_view(self.public_rooms, self.tr("Rooms"), side)
        self.dm_list = _room_view(self.direct_rooms, self.tr("Direct messages"), side)
        self.add_room_button = QToolButton(side)
        self.add_room_button.setToolTip(self.tr("Create a room (Ctrl+N)"))
        self.add_room_button.setAccessibleName(self.tr("New room"))
        self.add_room_button.setIconSize(QSize(16, 16))
        self.new_message_button = QToolButton(side)
        self.new_message_button.setToolTip(self.tr("Message one or more people (Ctrl+Shift+N)"))
        self.new_message_button.setAccessibleName(self.tr("New message"))
        self.new_message_button.setIconSize(QSize(16, 16))
        self.member_list = QListView(side)
        self.member_list.setModel(self.members)
        self.member_list.setAccessibleName(self.tr("People"))
        self.member_list.setAccessibleDescription(
            self.tr("Enter or a click opens a direct message")
        )
        self.member_list.setToolTip(self.tr("Click a name to send a direct message"))
        self.member_list.setIconSize(QSize(12, 12))
        self.member_list.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.member_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.member_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.dms_title = _section_title(self.tr("DIRECT MESSAGES"), side)
        self.members_title = _section_title(self.tr("PEOPLE"), side)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 4, 0, 6)
        side_layout.setSpacing(2)
        side_layout.addLayout(_titled(_section_title(self.tr("ROOMS"), side), self.add_room_button))
        # Rooms and direct messages as tall as their rows; People takes the rest.
        side_layout.addWidget(self.room_list)
        side_layout.addLayout(_titled(self.dms_title, self.new_message_button))
        side_layout.addWidget(self.dm_list)
        side_layout.addWidget(self.members_title)
        side_layout.addWidget(self.member_list, 1)

        # ---- conversation: header, then messages, typing line, composer
        # beside the members panel
        middle = QWidget(self)
        # Hidden unless the server's certificate changed and the chat stopped.
        self.certificate_bar = CertificateBar(middle)
        self.header = RoomHeader(middle)
        self.view = MessageView(self.messages, middle)
        self.typing_line = TypingLine(middle)
        self.composer_box = ComposerBox(middle)
        self.composer = self.composer_box.composer
        self.composer_box.keep_drafts(controller.draft, controller.set_draft)
        # Files for the next message and the uploads under way (see .attachments).
        self.attachments = AttachmentArea(controller.files, middle)
        composer_grid = self.composer_box.layout()
        assert isinstance(composer_grid, QGridLayout)
        composer_grid.addWidget(self.attachments.attach_button, 1, 3, Qt.AlignmentFlag.AlignBottom)
        self.composer.has_attachments = lambda: bool(self.attachments.chosen())
        self.file_drops = FileDrops(self.attachments, self)
        self.setAcceptDrops(True)
        self.installEventFilter(self.file_drops)
        self.composer.installEventFilter(self.file_drops)
        # The files shown in messages: thumbnails, progress, Open/Save/View (see .message_files).
        self.message_files = MessageFiles(controller.files, self)
        self.view.message_delegate.show_files(self.message_files.look)
        self.members_panel = MembersPanel(controller.username, middle)
        self.members_panel.hide()
        self.members_panel.setMaximumWidth(230)
        # Whether the user wants the members panel (the header's button), by
        # kind of room: open for private rooms, whose members matter; closed
        # for direct messages, whose members are in the header already.
        self._members_wanted = {"private": True, "direct": False}
        conversation = QVBoxLayout()
        conversation.setContentsMargins(0, 0, 0, 0)
        conversation.setSpacing(0)
        conversation.addWidget(self.view, 1)
        conversation.addWidget(self.typing_line)
        conversation.addWidget(self.attachments)
        conversation.addWidget(self.composer_box)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addLayout(conversation, 1)
        body.addWidget(self.members_panel)
        middle_layout = self._conversation_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.setSpacing(0)
        middle_layout.addWidget(self.certificate_bar)
        middle_layout.addWidget(self.header)
        middle_layout.addLayout(body, 1)

        splitter = self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(side)
        splitter.addWidget(middle)
        splitter.setStretchFactor(1, 1)
        # The side bar's width: wide enough for typical room names at first,
        # then as the user drags it. A narrow window takes some of it away
        # (resizeEvent) and gives it back when it is wide again.
        self._side_width = side_bar_width(self.room_list.font())
        splitter.setSizes([self._side_width, self.width() - self._side_width])
        splitter.splitterMoved.connect(self._side_bar_dragged)
        splitter.setChildrenCollapsible(False)
        # Narrow windows: the side bar gives way first (and can be hidden, View menu).
        side.setMinimumWidth(120)
        splitter.setHandleWidth(1)
        self.setCentralWidget(splitter)

        # ---- status bar: the connection on the left, who I am on the right
        self.connection = ConnectionStatusWidget(self)
        self.statusBar().addWidget(self.connection)
        self.identity = QLabel(self)
        self.identity.setTextFormat(Qt.TextFormat.PlainText)
        self.statusBar().addPermanentWidget(self.identity)
        self.identity.setText(
            self.tr("{user} on {server}").format(
                user=controller.username, server=controller.server_url
            )
        )
        # "Do not disturb until 09:00 · End", while it is on.
        self.quiet_indicator = QuietIndicator(self)
        self.statusBar().addPermanentWidget(self.quiet_indicator)
        self._quiet_timer = QTimer(self)
        self._quiet_timer.setSingleShot(True)

        # The open "Sign out?" question, if any (tests answer it).
        self.sign_out_box: QMessageBox | None = None
        # The open certificate review, if any.
        self.certificate_dialog: CertificateReviewDialog | None = None
        # The open "New room" dialog, if any.
        self.new_room_dialog: NewRoomDialog | None = None
        # The open "New message" people picker, if any.
        self.new_message_dialog: PeopleDialog | None = None
        # The open "Delete room?" question, if any.
        self.delete_box: QMessageBox | None = None
        # The open Ctrl+K room switcher, if any.
        self.quick_switch: QuickSwitchDialog | None = None
        # The open Ctrl+F / Ctrl+Shift+F search panel, if any.
        self.search_panel: SearchPanel | None = None
        # The open Settings dialog, About box, shortcuts list, if any.
        self.settings_dialog: SettingsDialog | None = None
        self.about_box: QMessageBox | None = None
        self.shortcuts_box: ShortcutsDialog | None = None
        self.launcher_badge = LauncherBadge()
        self.network_watch = NetworkWatch(self)
        self._build_menu()
        self.tray = ChatTray(self)
        self._connect()
        self._refresh_icons()
        self._preferences_changed()

        # What the cache knows, before the network answers.
        self.rooms.set_rooms(controller.rooms())
        self._members_changed(controller.members())
        self.connection.show_status(controller.status)
        self.show_room(controller.current_room)

    # ------------------------------------------------------------ wiring

    def _build_menu(self) -> None:
        # The first shortcut of each action is the one the menu shows.
        chat = self.menuBar().addMenu(self.tr("&Chat"))
        self.new_room_action = self._action(chat, self.tr("&New room…"), "Ctrl+N")
        self.new_message_action = self._action(chat, self.tr("New &message…"), "Ctrl+Shift+N")
        self.reconnect_action = self._action(chat, self.tr("&Reconnect now"), "Ctrl+R")
        chat.addSeparator()
        self.settings_action = self._action(chat, self.tr("S&ettings…"), "Ctrl+,")
        self.devices_action = self._action(chat, self.tr("Signed-in &devices…"))
        self.devices_action.triggered.connect(lambda: self.accountDialogRequested.emit("devices"))
        self.password_action = self._action(chat, self.tr("Change &password…"))
        self.password_action.triggered.connect(lambda: self.accountDialogRequested.emit("password"))
        chat.addSeparator()
        # No shortcut: signing out by a slip of the fingers would cost a password.
        self.sign_out_action = self._action(chat, self.tr("&Sign out"))
        self.quit_action = self._action(chat, self.tr("&Quit"), "Ctrl+Q")

        go = self.menuBar().addMenu(self.tr("&Go"))
        self.quick_switch_action = self._action(go, self.tr("&Switch to room…"), "Ctrl+K")
        self.find_action = self._action(go, self.tr("&Find in room…"), "Ctrl+F")
        self.find_everywhere_action = self._action(
            go, self.tr("Find in &every room…"), "Ctrl+Shift+F"
        )
        self.next_room_action = self._action(go, self.tr("&Next room"), "Alt+Down", "Ctrl+Tab")
        self.previous_room_action = self._action(
            go, self.tr("&Previous room"), "Alt+Up", "Ctrl+Shift+Tab"
        )
        self.next_unread_action = self._action(go, self.tr("Next &unread room"), "Ctrl+Shift+A")

        room = self.room_menu_bar = self.menuBar().addMenu(self.tr("&Room"))
        self.topic_action = self._action(room, self.tr("Edit &topic"), "Ctrl+Shift+T")
        self.members_action = self._action(room, self.tr("Show &members"), "Ctrl+Shift+M")
        self.members_action.setCheckable(True)
        self.members_action.setChecked(True)
        self.invite_action = self._action(room, self.tr("&Invite people…"), "Ctrl+Shift+I")
        room.addSeparator()
        self.leave_action = self._action(room, self.tr("&Leave room…"))
        self.delete_action = self._action(room, self.tr("&Delete room…"))

        view = self.menuBar().addMenu(self.tr("&View"))
        self.side_bar_action = self._action(view, self.tr("Show &side bar"), "Ctrl+Shift+S")
        self.side_bar_action.setCheckable(True)
        self.side_bar_action.setChecked(True)

        help_menu = self.menuBar().addMenu(self.tr("&Help"))
        self.shortcuts_action = self._action(help_menu, self.tr("&Keyboard shortcuts"), "F1")
        self.about_action = self._action(help_menu, self.tr("&About Chat Desktop"))

    def _action(self, menu: QMenu, text: str, *keys: str) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(key) for key in keys])
        menu.addAction(action)
        return action

    def _connect(self) -> None:
        """Every connection between the widgets and the controller, in one place."""
        c = self.controller
        c.roomsChanged.connect(self._rooms_changed)
        c.membersChanged.connect(self._members_changed)
        c.messagesChanged.connect(self._messages_changed)
        c.olderLoaded.connect(self._older_loaded)
        c.typingChanged.connect(self._typing_changed)
        c.connectionChanged.connect(self._connection_changed)
        c.notify.connect(self._notify)
        c.roomCreated.connect(self.show_room)
        c.roomRemoved.connect(self._room_removed)
        c.problem.connect(self._problem)
        c.certificateProblem.connect(self._certificate_problem)

        self.composer.edited.connect(lambda text: c.composer_edited(self.messages.room, text))
        self.view.olderWanted.connect(
            lambda: c.request_older(self.messages.room, self.messages.oldest_seq())
        )
        self.view.newestWanted.connect(self._reload_newest)
        self.view.message_delegate.retryRequested.connect(c.retry)
        self.view.message_delegate.fileClicked.connect(self.message_files.activate)
        self.message_files.changed.connect(self.view.viewport().update)
        self.message_files.notice.connect(self._problem)
        self.connection.reconnectRequested.connect(c.reconnect_now)
        self.reconnect_action.triggered.connect(c.reconnect_now)
        for rooms in (self.room_list, self.dm_list):
            rooms.clicked.connect(lambda index: self.show_room(index.data(NAME_ROLE)))
            rooms.activated.connect(lambda index: self.show_room(index.data(NAME_ROLE)))
        self.member_list.clicked.connect(lambda index: self.open_dm([index.data(NAME_ROLE)]))
        self.member_list.activated.connect(lambda index: self.open_dm([index.data(NAME_ROLE)]))
        self.add_room_button.clicked.connect(self.ask_new_room)
        self.new_room_action.triggered.connect(self.ask_new_room)
        self.new_message_button.clicked.connect(self.ask_new_message)
        self.new_message_action.triggered.connect(self.ask_new_message)
        self.header.topicEdited.connect(c.set_topic)
        self.header.membersToggled.connect(self._members_toggled)
        self.header.menuRequested.connect(
            lambda where: self._popup(self.room_menu(self.messages.room), where)
        )
        self.members_panel.inviteRequested.connect(self._invite)
        self.members_panel.removeRequested.connect(c.remove)
        self.members_panel.leaveRequested.connect(c.leave)
        self.members_panel.directMessageRequested.connect(self.open_dm)
        self.topic_action.triggered.connect(self.header.edit_topic)
        self.members_action.toggled.connect(self._members_toggled)
        self.invite_action.triggered.connect(self.members_panel.ask_invite)
        self.leave_action.triggered.connect(self.members_panel.ask_leave)
        self.delete_action.triggered.connect(lambda: self.ask_delete_room(self.messages.room))
        self.sign_out_action.triggered.connect(self.ask_sign_out)
        self.quit_action.triggered.connect(self.quitRequested)
        self.certificate_bar.reviewRequested.connect(self.review_certificate)
        self.certificate_bar.signOutRequested.connect(self.signOutRequested)
        self.tray.roomClicked.connect(self._open_from_tray)
        self.tray.quitRequested.connect(self.quitRequested)
        self.tray.openRequested.connect(self._show_from_tray)
        self.network_watch.changed.connect(c.reconnect_now)
        self.next_room_action.triggered.connect(lambda: self.step_room(1))
        self.previous_room_action.triggered.connect(lambda: self.step_room(-1))
        self.next_unread_action.triggered.connect(self.next_unread_room)
        self.quick_switch_action.triggered.connect(self.ask_room)
        self.find_action.triggered.connect(lambda: self.ask_search(every_room=False))
        self.find_everywhere_action.triggered.connect(lambda: self.ask_search(every_room=True))
        c.jumpReady.connect(self._jump_ready)
        self.side_bar_action.toggled.connect(self.side_bar.setVisible)
        self.settings_action.triggered.connect(self.show_settings)
        self.about_action.triggered.connect(self.show_about)
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.quiet_indicator.endRequested.connect(self._end_quiet)
        self._quiet_timer.timeout.connect(self._show_quiet)
        for rooms in (self.room_list, self.dm_list):
            rooms.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            rooms.customContextMenuRequested.connect(
                lambda where, view=rooms: self._room_context_menu(view, where)
            )
        self._connect_message_actions()

    def _connect_message_actions(self) -> None:
        """Reply, react, edit, delete, copy, quotes and "seen by": see message_actions.py.

        Sending goes through them too: the composer may be replying or editing.
        """
        self.message_actions = MessageActions(
            self.controller, self.view, self.messages, self.composer_box, self
        )
        self.message_actions.openMessageRequested.connect(self.open_message)
        self.message_actions.file_items = self.message_files.add_to_menu
        # Sending is the window's: the text, the reply the box was making and
        # the files chosen in the attachments area go out as one message.
        self.composer_box.sendRequested.connect(self._send)

    # --------------------------------------------------- controller -> UI

    def show_room(self, room: str) -> None:
        """Switch the conversation to ``room`` (from the cache at once)."""
        self.messages.reset(room, self.controller.open_room(room))
        self.composer_box.show_room(room)
        self._show_room_entry()
        self._show_title()
        # Short enough for a small window; how to send is in the tooltip.
        self.composer.setPlaceholderText(self._composer_placeholder())
        self.composer.setToolTip(self.tr("Enter sends, Shift+Enter adds a line"))
        self.composer.setAccessibleDescription(self.composer.toolTip())
        self._select_current()
        self.composer.setFocus()

    def current_entry(self) -> RoomEntry:
        """The room on screen as last reported (a public room of that name until it is)."""
        return self.rooms.entry(self.messages.room) or RoomEntry(self.messages.room)

    def _show_room_entry(self) -> None:
        """The header, the members panel and the Room menu for the room on screen."""
        entry = self.current_entry()
        self.header.show_room(entry)
        grouped = entry.kind != "public"
        self.members_panel.show_room(entry if grouped else None)
        self.members_panel.set_admin(self._is_admin())
        self._place_members_panel()
        private = entry.kind == "private"
        self.members_action.setEnabled(grouped)
        self.invite_action.setEnabled(private)
        self.leave_action.setEnabled(private)
        self.delete_action.setEnabled(self._may_delete(entry.name))

    def _composer_placeholder(self) -> str:
        entry = self.current_entry()
        if entry.kind == "public":
            return self.tr("Message #{room}").format(room=entry.label)
        return self.tr("Message {room}").format(room=entry.label)

    def _select_current(self) -> None:
        """Mark the room on screen in whichever section holds it, and nothing in the other."""
        room = self.messages.room
        sections = ((self.room_list, self.public_rooms), (self.dm_list, self.direct_rooms))
        for view, section in sections:
            row = section.row_of(room)
            if row is None:
                view.selectionModel().clearSelection()
            else:
                view.selectionModel().setCurrentIndex(
                    section.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                )

    def _rooms_changed(self, rooms: list[RoomEntry]) -> None:
        self.rooms.set_rooms(rooms)
        self._select_current()
        self.tray.set_unread(self.rooms.unread_total())
        self.launcher_badge.set_count(self.rooms.unread_total())
        self._show_room_entry()
        self.composer.setPlaceholderText(self._composer_placeholder())
        self._show_title()

    def _show_title(self) -> None:
        """ "(3) Chat Desktop — general": the unread count first, where a taskbar shows it."""
        unread = self.rooms.unread_total()
        title = self.tr("Chat Desktop — {room}").format(room=self.current_entry().label)
        self.setWindowTitle(f"({unread}) {title}" if unread else title)

    def _room_removed(self, room: str) -> None:
        """I left or was removed from ``room``, or it was deleted: on to general if it was shown."""
        if room == self.messages.room:
            self.show_room(DEFAULT_ROOM)
            self.statusBar().showMessage(
                self.tr("{room} is no longer open to you.").format(room=room), 8000
            )

    def _members_changed(self, members: list[MemberEntry]) -> None:
        self.members.set_members(members)
        self.rooms.set_online(frozenset(member.name for member in members if member.online))
        self.members_panel.set_people(members)
        # @ offers the people online first, then the rest, each by name.
        ordered = sorted(members, key=lambda member: (not member.online, member.name.lower()))
        self.composer.set_people([member.name for member in ordered])
        online = sum(member.online for member in members)
        self.members_title.setText(self.tr("PEOPLE · %n ONLINE", "", online))

    def _send(self, text: str, replying: MessageEntry | None) -> None:
        """The composer submitted: the text, as a reply to ``replying`` when the
        box was making one, with the files chosen for it."""
        files = self.attachments.take()
        reply_to = replying.seq if replying is not None else None
        sent = self.controller.send(self.messages.room, text, reply_to=reply_to, files=files)
        if sent is None and files:
            # Refused at once (a file too large, say: the status bar says
            # why): all stays as it was, for the user to take the culprit out.
            self.composer.setPlainText(text)
            self.attachments.add(files)
        self.attachments.track(sent)

    def _messages_changed(self, room: str, entries: list[MessageEntry]) -> None:
        for entry in entries:
            self.attachments.message_changed(entry)
        if room != self.messages.room:
            return
        if self.view.holds_back(len(entries)):
            # Far up in a long history: the rows wait in the cache. One of
            # mine is shown at once, as always: reload the newest page.
            if any(entry.author == self.controller.username for entry in entries):
                self._reload_newest()
            return
        self.messages.add(entries)

    def _reload_newest(self) -> None:
        """The newest page of the room on screen, from the cache (messages were held back)."""
        room = self.messages.room
        self.messages.reset(room, self.controller.open_room(room))

    def _older_loaded(self, room: str, entries: list[MessageEntry], has_more: bool) -> None:
        added = self.messages.prepend(entries) if room == self.messages.room else 0
        self.view.older_loaded(added)

    def _typing_changed(self, room: str, users: list[str]) -> None:
        if room == self.messages.room:
            self.typing_line.show_users(users)

    def _connection_changed(self, status: ConnectionStatus) -> None:
        self.connection.show_status(status)
        self.message_files.link_changed(
            status.kind in (ConnectionKind.CONNECTED, ConnectionKind.POLLING)
        )

    def _notify(self, room: str, author: str, text: str) -> None:
        if self.isActiveWindow() and room == self.messages.room:
            return
        # The policy decides (level, muted rooms, do not disturb, mentions of me).
        alert = self.last_alert = self.policy.alert(room, author, text, self.controller.username)
        if alert.show:
            self.tray.notify(room, author, text)
        if alert.sound:
            QApplication.beep()

    def show_hosting(self, address: str) -> None:
        """This computer hosts the chat: tell the user where colleagues connect."""
        self.identity.setText(
            self.tr("{user} · hosting the chat: colleagues connect to {address}").format(
                user=self.controller.username, address=address
            )
        )

    def _problem(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _certificate_problem(self, problem: CertificateProblem | None) -> None:
        dialog, self.certificate_dialog = self.certificate_dialog, None
        if dialog is not None:
            # What it showed is settled, or outdated by the problem shown now.
            dialog.reject()
        if problem is None:
            self.certificate_bar.hide()
        else:
            self.certificate_bar.show_problem(problem)

    def review_certificate(self) -> None:
        """Show both fingerprints; the user may trust the new certificate or sign out."""
        problem = self.controller.certificate_problem
        if problem is None:
            return
        if self.certificate_dialog is not None:
            self.certificate_dialog.raise_()
            return
        dialog = CertificateReviewDialog(problem, self)
        dialog.acceptChosen.connect(self.controller.accept_certificate)
        dialog.signOutChosen.connect(self.signOutRequested)
        self._open_kept(dialog, "certificate_dialog")

    def _open_kept(self, dialog: QDialog, attribute: str) -> None:
        """Open ``dialog`` (modeless) and keep it in ``self.<attribute>`` until it closes."""
        setattr(self, attribute, dialog)

        def closed(_result: int) -> None:
            if getattr(self, attribute) is dialog:
                setattr(self, attribute, None)

        dialog.finished.connect(closed)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    # ------------------------------------------------------------ actions

    # The two questions below use open() and a signal rather than exec() or the
    # static getText()/question(): those run a nested event loop, inside which
    # qasync would have to step asyncio tasks re-entrantly.

    def ask_new_room(self) -> None:
        """Ask for a room name; the dialog stays open until the room exists or the user cancels."""
        if self.new_room_dialog is not None:
            self.new_room_dialog.raise_()
            return
        c = self.controller
        dialog = NewRoomDialog(self, people=self.members.members(), me=c.username)
        dialog.createRequested.connect(self._create_room)
        # The answer about the name asked for (roomCreated also shows the room).
        c.roomCreated.connect(dialog.room_created)
        c.roomRefused.connect(dialog.room_refused)
        dialog.finished.connect(lambda _result: self._new_room_closed(dialog))
        self._open_kept(dialog, "new_room_dialog")

    def _create_room(self, name: str, private: bool, members: list[str]) -> None:
        if private:
            self.controller.create_room(name, private=True, members=members)
        else:
            self.controller.create_room(name)

    def ask_new_message(self) -> None:
        """Pick one or more people; the direct message with them opens."""
        if self.new_message_dialog is not None:
            self.new_message_dialog.raise_()
            return
        dialog = PeopleDialog(
            self.tr("New message"),
            self.tr("Open conversation"),
            self.members.members(),
            leave_out=frozenset({self.controller.username}),
            note=self.tr("Pick one person, or several for a group conversation."),
            parent=self,
        )
        dialog.peopleChosen.connect(self.open_dm)
        self._open_kept(dialog, "new_message_dialog")

    def open_dm(self, users: list[str]) -> None:
        """Open (or create) the direct message with ``users``; it shows once it exists."""
        others = [user for user in users if user and user != self.controller.username]
        if others:
            self.controller.open_dm(others)

    def _invite(self, room: str, users: list[str]) -> None:
        for user in users:
            self.controller.invite(room, user)

    def _is_admin(self) -> bool:
        return bool(self.controller.is_admin)

    def _may_delete(self, room: str) -> bool:
        """Admins delete any room but general (the protocol's rule)."""
        return self._is_admin() and room != DEFAULT_ROOM

    def ask_delete_room(self, room: str) -> None:
        """Ask an admin whether to delete ``room`` for everyone; Yes deletes it."""
        if not self._may_delete(room):
            return
        if self.delete_box is not None:
            self.delete_box.close()
        label = (self.rooms.entry(room) or RoomEntry(room)).label
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            self.tr("Delete room"),
            self.tr(
                "Delete {room} for everyone? All its messages are erased, and its name "
                "cannot be used again."
            ).format(room=label),
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        delete = box.addButton(self.tr("Delete room"), QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        delete.clicked.connect(lambda: self.controller.delete_room(room))
        box.finished.connect(box.deleteLater)
        self.delete_box = box
        box.finished.connect(lambda _result: self._forget_delete_box(box))
        box.open()

    def _forget_delete_box(self, box: QMessageBox) -> None:
        if self.delete_box is box:
            self.delete_box = None

    def _members_toggled(self, shown: bool) -> None:
        kind = self.current_entry().kind
        if kind in self._members_wanted:
            self._members_wanted[kind] = shown
        self._place_members_panel()

    def _place_members_panel(self) -> bool:
        """Show the members panel (private rooms, direct messages) if wanted and there is room;
        whether that changed."""
        wanted = self._members_wanted.get(self.current_entry().kind, False)
        wide = self.width() - (self.side_bar.width() if self.side_bar.isVisible() else 0)
        shown = wanted and wide >= MEMBERS_PANEL_ROOM
        changed = shown != self.members_panel.isVisibleTo(self)
        self.members_panel.setVisible(shown)
        self.header.set_members_shown(shown)
        blocked = self.members_action.blockSignals(True)
        self.members_action.setChecked(wanted)
        self.members_action.blockSignals(blocked)
        return changed

    def _new_room_closed(self, dialog: NewRoomDialog) -> None:
        self.controller.roomCreated.disconnect(dialog.room_created)
        self.controller.roomRefused.disconnect(dialog.room_refused)

    def ask_sign_out(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Sign out"),
            self.tr(
                "Sign out of this server? Messages not yet sent stay queued for your next sign-in."
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.buttonClicked.connect(self._sign_out_answered)
        box.finished.connect(box.deleteLater)
        box.open()
        self.sign_out_box = box

    def _sign_out_answered(self, button: QAbstractButton) -> None:
        box = self.sign_out_box
        if box is not None and box.standardButton(button) == QMessageBox.StandardButton.Yes:
            self.signOutRequested.emit()

    def step_room(self, step: int) -> None:
        """Open the room ``step`` places below (or above) the one on screen, wrapping."""
        names = self.rooms.names()
        if not names:
            return
        here = names.index(self.messages.room) if self.messages.room in names else -1
        self.show_room(names[(here + step) % len(names)])

    def next_unread_room(self) -> None:
        """Open the next room with unread messages after the one on screen, wrapping."""
        names = self.rooms.names()
        here = names.index(self.messages.room) if self.messages.room in names else -1
        # Rooms after this one first, then from the top.
        for name in names[here + 1 :] + names[: here + 1]:
            if self.rooms.unread_of(name) and name != self.messages.room:
                self.show_room(name)
                return

    def ask_room(self) -> None:
        """Ctrl+K: a small list of rooms, filtered as the user types; Enter opens one."""
        if self.quick_switch is not None:
            self.quick_switch.raise_()
            return
        dialog = QuickSwitchDialog(self.rooms, self)
        dialog.roomChosen.connect(self.show_room)
        self._open_kept(dialog, "quick_switch")

    # -------------------------------------------------------------- search

    def ask_search(self, every_room: bool = False) -> None:
        """Ctrl+F (this room) or Ctrl+Shift+F (every room): the search panel."""
        if self.search_panel is not None:
            self.search_panel.set_room(self.messages.room, every_room)
            self.search_panel.raise_()
            return
        labels = {
            room.name: room.label if room.kind == "direct" else f"#{room.label}"
            for room in self.controller.rooms()
        }
        panel = SearchPanel(self.messages.room, every_room, self, labels=labels)
        c = self.controller
        panel.searchRequested.connect(c.search)
        c.searchResults.connect(panel.show_answer)
        panel.resultChosen.connect(self.open_message)
        panel.moreRequested.connect(c.search_more)
        panel.finished.connect(lambda _result: self._search_closed(panel))
        self._open_kept(panel, "search_panel")

    def _search_closed(self, panel: SearchPanel) -> None:
        self.controller.searchResults.disconnect(panel.show_answer)
        self.controller.cancel_search()

    def open_message(self, room: str, seq: int) -> None:
        """Show message ``seq`` of ``room`` among the messages around it, flashed."""
        if room != self.messages.room:
            self.show_room(room)
        self.controller.open_at(room, seq)

    def _jump_ready(self, room: str, seq: int, entries: list[MessageEntry]) -> None:
        if room != self.messages.room:
            return
        if not any(entry.seq == seq for entry in entries):
            self._problem(
                self.tr(
                    "That message could not be loaded: it was deleted, or it is not on "
                    "this computer and the server cannot be reached"
                )
            )
            return
        self.messages.reset(room, entries)
        self.view.show_message(seq)

    # --------------------------------------------------------- preferences

    def show_settings(self) -> None:
        """Settings (Ctrl+,): every choice applies at once."""
        if self.settings_dialog is not None:
            self.settings_dialog.raise_()
            return
        dialog = SettingsDialog(
            self.policy,
            self.autostart,
            self.rooms.names(),
            tray_available=self.tray.available(),
            parent=self,
        )
        dialog.changed.connect(self._preferences_changed)
        self._open_kept(dialog, "settings_dialog")

    def show_about(self) -> None:
        c = self.controller
        self._show_box(about_box(c.server_version, c.server_url, self), "about_box")

    def show_shortcuts(self) -> None:
        self._show_box(ShortcutsDialog(self.menuBar(), self), "shortcuts_box")

    def _show_box(self, box: QDialog, attribute: str) -> None:
        old = getattr(self, attribute)
        if old is not None:
            old.close()
        self._open_kept(box, attribute)

    def set_room_muted(self, room: str, muted: bool) -> None:
        self.policy.preferences.set_muted(room, muted)
        self._preferences_changed()

    def room_menu(self, room: str) -> QMenu:
        """The context menu for ``room`` (room list, header's "⋯"): mute or unmute it,
        leave a private room, delete it (admins)."""
        menu = QMenu(self)
        muted = room in self.policy.preferences.muted
        action = menu.addAction(self.tr("Unmute room") if muted else self.tr("Mute room"))
        action.triggered.connect(lambda: self.set_room_muted(room, not muted))
        entry = self.rooms.entry(room) or RoomEntry(room)
        if entry.kind == "private":
            leave = menu.addAction(self.tr("Leave room…"))
            leave.triggered.connect(lambda: self._leave_from_menu(room))
        if self._may_delete(room):
            menu.addSeparator()
            delete = menu.addAction(self.tr("Delete room…"))
            delete.triggered.connect(lambda: self.ask_delete_room(room))
        return menu

    def _leave_from_menu(self, room: str) -> None:
        # The question is the members panel's, about the room on screen.
        self.show_room(room)
        self.members_panel.ask_leave()

    def _room_context_menu(self, view: QListView, where: QPoint) -> None:
        index = view.indexAt(where)
        if not index.isValid():
            return
        self._popup(self.room_menu(str(index.data(NAME_ROLE))), view.viewport().mapToGlobal(where))

    def _popup(self, menu: QMenu, where: QPoint) -> None:
        menu.aboutToHide.connect(menu.deleteLater)
        menu.popup(where)

    def _preferences_changed(self) -> None:
        self.rooms.set_muted(self.policy.preferences.muted)
        self._show_quiet()

    def _show_quiet(self) -> None:
        """Show (or hide) "Do not disturb until …" and re-check when it ends."""
        until = self.policy.quiet_until()
        self._quiet_timer.stop()
        if until is None:
            self.quiet_indicator.hide()
        else:
            self.quiet_indicator.show_until(quiet_end_text(until))
            left = self.policy.quiet_left()
            self._quiet_timer.start(int(min(left, self._quiet_check) * 1000))
        if self.settings_dialog is not None:
            self.settings_dialog.show_quiet()

    def _end_quiet(self) -> None:
        self.policy.end_quiet()
        self._show_quiet()

    def _open_from_tray(self, room: str) -> None:
        self.show_room(room)
        self._show_from_tray()

    def _show_from_tray(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # ------------------------------------------------------------- events

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange:
            self.controller.set_active(self.isActiveWindow())
        elif event.type() == QEvent.Type.PaletteChange:
            # Light <-> dark: recolour the icons and re-lay out the messages.
            self._refresh_icons()
            self.view.message_delegate.clear_cache()
            self.view.viewport().update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # First the members panel (hidden when narrow), whose width would
        # otherwise hold the conversation's minimum up; the splitter takes the
        # change now (it would later hand the side bar its old width back).
        if self._place_members_panel():
            self._conversation_layout.activate()
            self.splitter.refresh()
        # A narrow window gives the conversation the room: the splitter alone
        # would keep the side bar's width and squeeze the messages instead.
        side, middle = self.splitter.sizes()
        if not self.side_bar.isVisible() or not side + middle:
            return
        most = max(self.side_bar.minimumWidth(), int(SIDE_BAR_SHARE * (side + middle)))
        wanted = min(self._side_width, most)
        if side != wanted:
            self.splitter.setSizes([wanted, middle + side - wanted])

    def _side_bar_dragged(self) -> None:
        # The user's choice, kept through narrow moments of the window.
        self._side_width = self.splitter.sizes()[0]

    def _refresh_icons(self) -> None:
        self.add_room_button.setIcon(icon("add"))
        self.new_message_button.setIcon(icon("message"))
        self.new_message_action.setIcon(icon("message"))
        self.header.refresh_icons()
        self.composer_box.refresh_icons()
        self.attachments.refresh_icons()
        self.sign_out_action.setIcon(icon("sign-out"))
        self.reconnect_action.setIcon(icon("reconnect"))
        self.new_room_action.setIcon(icon("add"))

    def closes_to_tray(self) -> bool:
        """Whether closing the window only hides it (the setting is on and a tray exists)."""
        return self.policy.preferences.close_to_tray and self.tray.available()

    def closeEvent(self, event: QCloseEvent) -> None:
        # Closing the window quits the app (in order, see app.py); the app
        # hides the window itself once it is done. With "close to tray" the
        # app stays, in the tray icon.
        event.ignore()
        if self.closes_to_tray():
            self.hide()
            return
        self.quitRequested.emit()

    def shut_down(self) -> None:
        """Hide the window and the tray icon (the app is quitting or signing out).

        No processEvents() here: this runs inside an asyncio task, and a nested
        Qt event loop would make qasync step other tasks inside this one.
        """
        self.composer_box.save_draft()
        self.message_files.close()
        self.tray.hide()
        self.launcher_badge.set_count(0)
        self.hide()


def _room_view(model: RoomKindFilter, name: str, parent: QWidget) -> FittedListView:
    """A section of the room list: icons, unread badges, names elided, never scrolled sideways."""
    view = FittedListView(parent)
    view.setModel(model)
    view.setAccessibleName(name)
    view.setItemDelegate(RoomDelegate(view))
    view.setIconSize(QSize(16, 16))
    view.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    return view


def _titled(title: QLabel, button: QToolButton) -> QHBoxLayout:
    """A section title with its button on the right ("ROOMS  +")."""
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(title, 1)
    row.addWidget(button)
    return row


def _section_title(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("sectionTitle")
    # A narrow side bar wraps "PEOPLE · 3 ONLINE" rather than cutting it.
    label.setWordWrap(True)
    return label
