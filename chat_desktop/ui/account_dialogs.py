"""The account's own dialogs: "Signed-in devices" and "Change password…".

Both are opened from the Chat menu and talk only to an
:class:`~chat_desktop.controller.devices.AccountController`: they show what it
reports and pass on what the user chose. Everything shown is plain text (a
device's name is whatever User-Agent it signed in with). A refused password
change is explained inside the dialog, next to the field to fix, and nothing
typed is cleared.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chat_desktop.controller.devices import AccountController, Device

from .dates import when
from .resources import icon

ACCOUNT_DIALOG = "accountDialog"


def _error_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setObjectName("errorLabel")
    label.setAccessibleName(QCoreApplication.translate("AccountDialog", "Error"))
    # Sentences may quote the server: never rich text.
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.hide()
    return label


def _show(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))


def _heading(parent: QWidget, title: str, text: str) -> QVBoxLayout:
    heading = QLabel(title, parent)
    heading.setObjectName("title")
    heading.setTextFormat(Qt.TextFormat.PlainText)
    note = QLabel(text, parent)
    note.setObjectName("subtitle")
    note.setTextFormat(Qt.TextFormat.PlainText)
    note.setWordWrap(True)
    column = QVBoxLayout()
    column.setSpacing(4)
    column.addWidget(heading)
    column.addWidget(note)
    return column


class _AccountDialog(QDialog):
    """What both dialogs share: title, explanation, the inline error, the controller."""

    def __init__(
        self, controller: AccountController, title: str, note: str, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setObjectName(ACCOUNT_DIALOG)
        self.setWindowTitle(title)
        self.setWindowIcon(icon("app"))
        self._controller = controller
        self.error = _error_label(self)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(24, 22, 24, 20)
        self._layout.setSpacing(12)
        self._layout.addLayout(_heading(self, title, note))
        controller.busyChanged.connect(self._set_busy)

    def _set_busy(self, busy: bool) -> None:
        self.setCursor(Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor)


class DevicesDialog(_AccountDialog):
    """Every device signed in to the account, each with "Sign out", and "Sign out all others"."""

    def __init__(self, controller: AccountController, parent: QWidget | None = None) -> None:
        super().__init__(
            controller,
            QCoreApplication.translate("DevicesDialog", "Signed-in devices"),
            QCoreApplication.translate(
                "DevicesDialog",
                "These devices are signed in to your account. Sign out any you do not "
                "recognise, then change your password.",
            ),
            parent,
        )

        self.table = QTreeWidget(self)
        self.table.setColumnCount(4)
        self.table.setHeaderLabels(
            [self.tr("Device"), self.tr("Signed in"), self.tr("Last active"), ""]
        )
        self.table.setAccessibleName(self.tr("Signed-in devices"))
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        # One "Sign out" button per row that is not this device (tests click them).
        self.sign_out_buttons: dict[str, QPushButton] = {}
        probe = QPushButton(self.tr("Sign out"), self)
        probe.setObjectName("rowButton")
        probe.ensurePolished()
        self._row_height = probe.sizeHint().height() + 8
        probe.deleteLater()

        self.others_button = QPushButton(self.tr("Sign out all other devices"), self)
        self.others_button.setIcon(icon("sign-out"))
        self.close_button = QPushButton(self.tr("Close"), self)
        self.close_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.others_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        self._layout.addWidget(self.table, 1)
        self._layout.addWidget(self.error)
        self._layout.addLayout(buttons)
        self.resize(680, 380)

        self.others_button.clicked.connect(self._sign_out_others)
        self.close_button.clicked.connect(self.accept)
        controller.devicesChanged.connect(self._show_devices)
        controller.failed.connect(lambda text: _show(self.error, text))
        self._show_devices(controller.devices)

    def _show_devices(self, devices: list[Device]) -> None:
        _show(self.error, "")
        self.table.clear()
        self.sign_out_buttons.clear()
        for device in devices:
            # Item text is plain text: the name is whatever agent the device sent.
            item = QTreeWidgetItem(
                [
                    device.name,
                    when(device.signed_in),
                    when(device.last_active),
                    self.tr("This device") if device.current else "",
                ]
            )
            item.setToolTip(0, device.name)
            self.table.addTopLevelItem(item)
            if device.current:
                font = item.font(0)
                font.setBold(True)
                for column in (0, 3):
                    item.setFont(column, font)
                item.setTextAlignment(3, Qt.AlignmentFlag.AlignCenter)
            else:
                button = QPushButton(self.tr("Sign out"), self.table)
                button.setAccessibleName(self.tr("Sign out {device}").format(device=device.name))
                button.setObjectName("rowButton")
                button.clicked.connect(
                    lambda _checked=False, device_id=device.id: self._sign_out(device_id)
                )
                self.table.setItemWidget(item, 3, button)
                self.sign_out_buttons[device.id] = button
            # Rows as tall as their button, so the button is not squeezed.
            item.setSizeHint(0, QSize(0, self._row_height))
        self.others_button.setEnabled(
            not self._controller.busy and any(not device.current for device in devices)
        )

    def _sign_out(self, device_id: str) -> None:
        _show(self.error, "")
        self._controller.sign_out_device(device_id)

    def _sign_out_others(self) -> None:
        _show(self.error, "")
        self._controller.sign_out_others()

    def _set_busy(self, busy: bool) -> None:
        others = any(not device.current for device in self._controller.devices)
        self.others_button.setEnabled(not busy and others)
        for button in self.sign_out_buttons.values():
            button.setEnabled(not busy)
        super()._set_busy(busy)


class ChangePasswordDialog(_AccountDialog):
    """Current password, new password twice; a refusal is shown here and nothing typed is lost."""

    def __init__(self, controller: AccountController, parent: QWidget | None = None) -> None:
        super().__init__(
            controller,
            QCoreApplication.translate("ChangePasswordDialog", "Change password"),
            QCoreApplication.translate(
                "ChangePasswordDialog",
                "Your other devices will be signed out; this one stays signed in.",
            ),
            parent,
        )

        self.old = QLineEdit(self)
        self.new = QLineEdit(self)
        self.new.setPlaceholderText(self.tr("at least 8 characters"))
        self.repeated = QLineEdit(self)
        for field in (self.old, self.new, self.repeated):
            field.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        for field, name in (
            (self.old, self.tr("Current password")),
            (self.new, self.tr("New password")),
            (self.repeated, self.tr("Repeat new password")),
        ):
            field.setAccessibleName(name)
            form.addRow(name, field)

        self.change_button = QPushButton(self.tr("Change password"), self)
        self.change_button.setDefault(True)
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.change_button)

        self._layout.addLayout(form)
        self._layout.addWidget(self.error)
        self._layout.addLayout(buttons)
        self.setMinimumWidth(440)

        self.change_button.clicked.connect(self._change)
        self.cancel_button.clicked.connect(self.reject)
        controller.passwordRefused.connect(self._refused)
        controller.passwordChanged.connect(self.accept)
        self.old.setFocus()

    def _change(self) -> None:
        _show(self.error, "")
        self._controller.change_password(self.old.text(), self.new.text(), self.repeated.text())

    def _refused(self, field: str, text: str) -> None:
        _show(self.error, text)
        target = {"old": self.old, "new": self.new}.get(field)
        if target is not None:
            target.setFocus()
            target.selectAll()

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.old, self.new, self.repeated, self.change_button):
            widget.setEnabled(not busy)
        super()._set_busy(busy)

    def done(self, result: int) -> None:
        # Passwords are not kept in a closed dialog (closing the window ends here too).
        for field in (self.old, self.new, self.repeated):
            field.clear()
        super().done(result)
