"""SignInDialog: the first thing a new user sees.

Three ways in: sign in to a server, create an account on it, or host the chat
on this computer (the app runs the bundled server itself and signs in to it).
The dialog only collects what the user typed and shows what happened; the
:class:`~chat_desktop.controller.account.SignInController` does the work and
reports back through its signals. Errors are shown as plain text.

Nothing moves while the user types: the list of servers found on the LAN is
a fixed-size area that is there from the start (saying it is still looking),
so a server appearing does not push the fields down, and errors go to a line
reserved below the fields, so an error does not squeeze them either.

Once an address is typed (after a short pause) or chosen, the dialog asks how
that server takes new accounts: in invite mode an "Invite code" field appears
below the password, in closed mode "Create account" is off with a one-line
reason in the same place. That row's space is reserved from the start, so
neither moves the fields.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QStackedLayout,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from chat_desktop.controller.account import SignInController
from chat_desktop.controller.entries import FoundServer
from chat_desktop.controller.settings import Session

from .resources import icon
from .text_spans import plain_tooltip

# Rows the list of servers found shows before it scrolls.
FOUND_ROWS = 3
# Lines of text the error line has room for.
ERROR_LINES = 3
# Milliseconds of quiet after typing an address before the server is asked
# how it takes new accounts.
ADDRESS_PAUSE_MS = 400


class SignInDialog(QDialog):
    """Server address, user name, password and the three buttons.

    Signals: none of its own; it is accepted once the controller emits
    ``signedIn`` (read :attr:`session` then) and rejected when closed.
    """

    def __init__(
        self,
        controller: SignInController,
        *,
        address: str = "",
        username: str = "",
        fixed_address: bool = False,
        message: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("signInDialog")
        self.setWindowTitle(self.tr("Sign in to Chat Desktop"))
        self.setWindowIcon(icon("app"))
        self.session: Session | None = None
        self._controller = controller

        logo = QLabel(self)
        logo.setPixmap(icon("app").pixmap(QSize(48, 48)))
        title = QLabel(self.tr("Chat Desktop"), self)
        title.setObjectName("title")
        subtitle = QLabel(
            self.tr("Sign in to your team's chat, or host one on this computer."), self
        )
        subtitle.setObjectName("subtitle")
        subtitle.setWordWrap(True)
        heading = QVBoxLayout()
        heading.setSpacing(2)
        heading.addWidget(title)
        heading.addWidget(subtitle)
        top = QHBoxLayout()
        top.setSpacing(14)
        top.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(heading, 1)

        self.address = QLineEdit(address, self)
        self.address.setPlaceholderText("chat.example.lan:8765")
        self.address.setAccessibleName(self.tr("Server address"))
        self.address.setAccessibleDescription(
            self.tr("The address of the chat server, e.g. chat.example.lan:8765")
        )
        self.address.setReadOnly(fixed_address)
        self.username = QLineEdit(username, self)
        self.username.setPlaceholderText(self.tr("your name, e.g. alice"))
        self.username.setAccessibleName(self.tr("Username"))
        self.username.setMaxLength(32)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(self.tr("at least 8 characters"))
        self.password.setAccessibleName(self.tr("Password"))
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        form.addRow(self.tr("Server address"), self.address)
        form.addRow(self.tr("Username"), self.username)
        form.addRow(self.tr("Password"), self.password)
        # The registration row: nothing (open, or not known yet), the invite
        # code field (invite mode) or why sign-up is off (closed). Its height
        # is kept whichever it shows, so the fields never move.
        self.invite = QLineEdit(self)
        self.invite.setPlaceholderText(self.tr("the code from whoever runs the server"))
        self.invite.setAccessibleName(self.tr("Invite code"))
        self.closed_note = QLabel(self.tr("This server does not take new accounts."), self)
        self.closed_note.setObjectName("subtitle")
        self.closed_note.setTextFormat(Qt.TextFormat.PlainText)
        self._registration_row = QStackedWidget(self)
        self._registration_row.addWidget(QWidget(self))
        self._registration_row.addWidget(self.invite)
        self._registration_row.addWidget(self.closed_note)
        self._registration_row.setFixedHeight(self.invite.sizeHint().height())
        self.invite_label = QLabel(self.tr("Invite code"), self)
        self.invite_label.setBuddy(self.invite)
        keep = self.invite_label.sizePolicy()
        keep.setRetainSizeWhenHidden(True)
        self.invite_label.setSizePolicy(keep)
        self.invite_label.hide()
        form.addRow(self.invite_label, self._registration_row)
        self.registration = ""
        # The last attempt was "Create account" (its refusals point at the code).
        self._creating = False

        # Servers that announce themselves on the LAN; a click fills the address.
        # A fixed area from the start: "still looking" until one is found.
        self.found_title = QLabel(self.tr("Chats on your network (click one to use it):"), self)
        self.found_title.setObjectName("subtitle")
        self.found = QListWidget(self)
        self.found.setObjectName("foundServers")
        self.found.setAccessibleName(self.tr("Chats on your network"))
        self.found.itemClicked.connect(self._found_clicked)
        self.found_none = QLabel(self.tr("Looking for chats on your network…"), self)
        self.found_none.setObjectName("foundNone")
        self.found_none.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.found_none.setWordWrap(True)
        found_area = QFrame(self)
        found_area.setObjectName("foundArea")
        self._found_pages = QStackedLayout(found_area)
        self._found_pages.addWidget(self.found_none)
        self._found_pages.addWidget(self.found)
        rows = FOUND_ROWS * (max(self.fontMetrics().height(), 16) + 8)
        found_area.setFixedHeight(rows + 2 * self.found.frameWidth() + 4)
        # --server fixed the address: nothing to choose, no area (for the dialog's whole life).
        found_area.setVisible(not fixed_address)
        self.found_title.setVisible(not fixed_address)

        # A line reserved for errors below the fields, as high as ERROR_LINES
        # lines of text whether or not there is an error, so that showing one
        # moves nothing. The tooltip has a longer error whole.
        self.error = QLabel(self)
        self.error.setObjectName("errorLabel")
        self.error.setAccessibleName(self.tr("Error"))
        # Errors quote what the server or the user said: never rich text.
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # The style sheet pads the label by 6 px above and below.
        self.error.setFixedHeight(ERROR_LINES * self.fontMetrics().lineSpacing() + 14)

        self.sign_in_button = QPushButton(self.tr("Sign in"), self)
        self.sign_in_button.setDefault(True)
        self.create_button = QPushButton(self.tr("Create account"), self)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.create_button)
        buttons.addWidget(self.sign_in_button)

        rule = QFrame(self)
        rule.setFrameShape(QFrame.Shape.HLine)
        rule.setFrameShadow(QFrame.Shadow.Sunken)
        self.host_button = QPushButton(self.tr("Host a chat on this computer"), self)
        self.host_button.setIcon(icon("host"))
        host_note = QLabel(
            self.tr(
                "Runs the chat server inside this app, for you and everyone on your network. "
                "Uses the username and password above for your account on it."
            ),
            self,
        )
        host_note.setObjectName("subtitle")
        host_note.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 22, 24, 20)
        layout.setSpacing(12)
        layout.addLayout(top)
        layout.addSpacing(6)
        layout.addWidget(self.found_title)
        layout.addWidget(found_area)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        layout.addSpacing(4)
        layout.addWidget(rule)
        layout.addWidget(self.host_button)
        layout.addWidget(host_note)
        self.setMinimumWidth(460)

        self.sign_in_button.clicked.connect(self._sign_in)
        self.create_button.clicked.connect(self._create)
        self.host_button.clicked.connect(self._host)
        controller.busyChanged.connect(self._set_busy)
        controller.failed.connect(self.show_error)
        controller.signedIn.connect(self._signed_in)
        controller.trustNeeded.connect(self._ask_trust)
        controller.serversFound.connect(self._show_found)
        controller.registrationChanged.connect(self._show_registration)
        # Ask about registration once the user pauses typing an address.
        self._address_pause = QTimer(self)
        self._address_pause.setSingleShot(True)
        self._address_pause.setInterval(ADDRESS_PAUSE_MS)
        self._address_pause.timeout.connect(self._check_registration)
        self.address.textEdited.connect(lambda _text: self._address_pause.start())
        if address:
            self._address_pause.start()
        # The open certificate question, if any (tests answer it).
        self.trust_box: QMessageBox | None = None
        self.show_error(message)

        if not address:
            self.address.setFocus()
        elif not username:
            self.username.setFocus()
        else:
            self.password.setFocus()

    def show_error(self, text: str) -> None:
        """Show ``text`` (plain) on the reserved error line; "" clears it."""
        self.error.setText(text)
        self.error.setToolTip(plain_tooltip(text) if text else "")
        if text and self._creating and self.registration == "invite":
            # A refused sign-up here is most likely about the code: fix it there.
            self.invite.setFocus()

    def _sign_in(self) -> None:
        self._creating = False
        self.show_error("")
        self._controller.sign_in(
            self.address.text(), self.username.text().strip(), self.password.text()
        )

    def _create(self) -> None:
        self._creating = True
        self.show_error("")
        self._controller.create_account(
            self.address.text(),
            self.username.text().strip(),
            self.password.text(),
            self.invite.text() if self.registration == "invite" else "",
        )

    def _host(self) -> None:
        self.show_error("")
        self._controller.host(self.username.text().strip(), self.password.text())

    def _show_found(self, servers: list[FoundServer]) -> None:
        self.found.clear()
        if self.address.isReadOnly():
            return
        for server in servers:
            # QListWidgetItem text is plain text: a server's name comes from the network.
            where = server.url.split("://", 1)[1]
            label = f"{server.name}  ·  {where}" + ("  ·  TLS" if server.tls else "")
            item = QListWidgetItem(icon("host"), label)
            item.setData(Qt.ItemDataRole.UserRole, server.url)
            item.setToolTip(
                plain_tooltip(
                    self.tr(
                        "Certificate fingerprint (to compare, not a proof): {fingerprint}"
                    ).format(fingerprint=server.fingerprint)
                    if server.tls
                    else server.url
                )
            )
            self.found.addItem(item)
        self._found_pages.setCurrentWidget(self.found if servers else self.found_none)

    def _found_clicked(self, item: QListWidgetItem) -> None:
        self.address.setText(str(item.data(Qt.ItemDataRole.UserRole)))
        self.username.setFocus()
        self._check_registration()

    def _check_registration(self) -> None:
        self._address_pause.stop()
        self._controller.check_registration(self.address.text())

    def _show_registration(self, mode: str) -> None:
        """The server's registration mode: show the invite field, or why sign-up is off."""
        self.registration = mode
        page = {"invite": self.invite, "closed": self.closed_note}.get(mode)
        self._registration_row.setCurrentIndex(
            self._registration_row.indexOf(page) if page is not None else 0
        )
        self.invite_label.setVisible(mode == "invite")
        self.create_button.setEnabled(mode != "closed" and not self._controller.busy)
        self.create_button.setToolTip(self.closed_note.text() if mode == "closed" else "")

    def _ask_trust(self, question: str) -> None:
        # open() and a signal, not exec(): no nested event loop under qasync.
        box = QMessageBox(
            QMessageBox.Icon.Warning, self.tr("Trust this server?"), question, parent=self
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addButton(self.tr("Trust this server"), QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(
            lambda button: self._controller.trust(
                box.buttonRole(button) == QMessageBox.ButtonRole.AcceptRole
            )
        )
        box.finished.connect(box.deleteLater)
        self.trust_box = box
        box.open()

    def _set_busy(self, busy: bool) -> None:
        for widget in (
            self.sign_in_button,
            self.create_button,
            self.host_button,
            self.address,
            self.username,
            self.password,
            self.invite,
        ):
            widget.setEnabled(not busy)
        if self.registration == "closed":
            self.create_button.setEnabled(False)
        self.setCursor(Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor)

    def _signed_in(self, session: Session) -> None:
        self.session = session
        # The password is not kept anywhere, not even in this widget.
        self.password.clear()
        self.accept()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # The size hint ignores how many lines the wrapped labels take at this
        # width; short of that height the layout would squeeze the fields.
        layout = self.layout()
        needed = layout.totalHeightForWidth(self.width()) if layout is not None else 0
        if needed > self.minimumHeight():
            self.setMinimumHeight(needed)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.password.clear()
        super().closeEvent(event)
