"""SettingsDialog: how loud the app is, how it looks, and how it starts and closes.

Every choice takes effect (and is saved) at once, so the dialog has only a
Close button: notifications (all / mentions and direct messages only / none),
muted rooms, do not disturb for an hour or until tomorrow, sound, light /
dark / system, start at login, close to tray. The choices live in
:class:`~chat_desktop.controller.notifications.Preferences` (plain-text keys of
the settings file) and the decisions they feed in
:class:`~chat_desktop.controller.notifications.NotificationPolicy`; the dialog
only shows and edits them, and emits ``changed`` so the window can follow.

:func:`apply_appearance` applies a colour scheme: through
``QStyleHints.setColorScheme`` where the platform honours it, else (the
offscreen platform, older desktops) with a palette of our own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QDateTime, QLocale, Qt, Signal
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chat_desktop.controller.autostart import Autostart
from chat_desktop.controller.notifications import (
    Appearance,
    NotificationPolicy,
    NotifyLevel,
)

from .palettes import dark_palette, light_palette


def apply_appearance(appearance: Appearance) -> None:
    """Light, dark, or the desktop's scheme for the whole app."""
    app = QGuiApplication.instance()
    if not isinstance(app, QGuiApplication):
        return
    wanted = {
        Appearance.SYSTEM: Qt.ColorScheme.Unknown,
        Appearance.LIGHT: Qt.ColorScheme.Light,
        Appearance.DARK: Qt.ColorScheme.Dark,
    }[appearance]
    hints = app.styleHints()
    hints.setColorScheme(wanted)
    if appearance is Appearance.SYSTEM or hints.colorScheme() == wanted:
        # An empty palette puts the platform's own back (undoing ours, if any).
        app.setPalette(QPalette())
        return
    # The platform ignored the request: paint the scheme ourselves.
    app.setPalette(dark_palette() if appearance is Appearance.DARK else light_palette())


class SettingsDialog(QDialog):
    """The preferences of the app, applied as they are changed.

    Signals:
        changed(): a choice changed (the window re-reads muted rooms, the
            do-not-disturb state and the appearance).
    """

    changed = Signal()

    def __init__(
        self,
        policy: NotificationPolicy,
        autostart: Autostart,
        rooms: list[str],
        *,
        tray_available: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle(self.tr("Settings"))
        self._policy = policy
        self._preferences = preferences = policy.preferences
        self._autostart = autostart

        # ---- notifications
        self.level = QComboBox(self)
        for level, text in (
            (NotifyLevel.ALL, self.tr("All messages")),
            (NotifyLevel.MENTIONS, self.tr("Mentions and direct messages only")),
            (NotifyLevel.NONE, self.tr("None")),
        ):
            self.level.addItem(text, level.value)
        self.level.setCurrentIndex(self.level.findData(preferences.level.value))
        self.level.currentIndexChanged.connect(self._level_chosen)

        self.sound = QCheckBox(self.tr("Play a sound with each notification"), self)
        self.sound.setChecked(preferences.sound)
        self.sound.toggled.connect(self._sound_toggled)

        self.quiet_state = QLabel(self)
        self.quiet_state.setTextFormat(Qt.TextFormat.PlainText)
        self.quiet_hour = QPushButton(self.tr("For an hour"), self)
        self.quiet_tomorrow = QPushButton(self.tr("Until tomorrow"), self)
        self.quiet_end = QPushButton(self.tr("End"), self)
        self.quiet_hour.clicked.connect(lambda: self._quiet(policy.quiet_for_an_hour))
        self.quiet_tomorrow.clicked.connect(lambda: self._quiet(policy.quiet_until_tomorrow))
        self.quiet_end.clicked.connect(lambda: self._quiet(policy.end_quiet))
        quiet_buttons = QHBoxLayout()
        quiet_buttons.setContentsMargins(0, 0, 0, 0)
        quiet_buttons.addWidget(self.quiet_hour)
        quiet_buttons.addWidget(self.quiet_tomorrow)
        quiet_buttons.addWidget(self.quiet_end)
        quiet_buttons.addStretch(1)
        quiet = QVBoxLayout()
        quiet.setSpacing(4)
        quiet.addWidget(self.quiet_state)
        quiet.addLayout(quiet_buttons)

        # Rooms by name, a tick for each muted one; mentions of me still notify.
        self.muted = QListWidget(self)
        self.muted.setObjectName("mutedRooms")
        muted = preferences.muted
        for room in sorted(set(rooms) | muted):
            item = QListWidgetItem(f"# {room}")
            item.setData(Qt.ItemDataRole.UserRole, room)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if room in muted else Qt.CheckState.Unchecked)
            self.muted.addItem(item)
        rows = min(max(self.muted.count(), 2), 5)
        self.muted.setFixedHeight(rows * (self.fontMetrics().height() + 8) + 6)
        self.muted.itemChanged.connect(self._mute_changed)
        muted_note = QLabel(
            self.tr("Ticked rooms stay quiet; a mention of you still notifies."), self
        )
        muted_note.setObjectName("subtitle")
        muted_note.setWordWrap(True)
        muted_box = QVBoxLayout()
        muted_box.setSpacing(4)
        muted_box.addWidget(self.muted)
        muted_box.addWidget(muted_note)

        # ---- appearance, start and close
        self.appearance = QComboBox(self)
        for appearance, text in (
            (Appearance.SYSTEM, self.tr("Same as the system")),
            (Appearance.LIGHT, self.tr("Light")),
            (Appearance.DARK, self.tr("Dark")),
        ):
            self.appearance.addItem(text, appearance.value)
        self.appearance.setCurrentIndex(self.appearance.findData(preferences.appearance.value))
        self.appearance.currentIndexChanged.connect(self._appearance_chosen)

        self.start_at_login = QCheckBox(self.tr("Start Chat Desktop when I log in"), self)
        self.start_at_login.setChecked(autostart.enabled())
        self.start_at_login.setEnabled(autostart.supported)
        if not autostart.supported:
            self.start_at_login.setToolTip(self.tr("Not supported on this system yet."))
        self.start_at_login.toggled.connect(self._start_at_login_toggled)
        self.start_error = QLabel(self)
        self.start_error.setObjectName("errorLabel")
        self.start_error.setTextFormat(Qt.TextFormat.PlainText)
        self.start_error.setWordWrap(True)
        self.start_error.setVisible(not autostart.supported)
        if not autostart.supported:
            self.start_error.setObjectName("subtitle")
            self.start_error.setText(self.tr("Starting at login is not supported on this system."))

        self.close_to_tray = QCheckBox(
            self.tr("Closing the window keeps the app in the tray"), self
        )
        self.close_to_tray.setChecked(preferences.close_to_tray and tray_available)
        self.close_to_tray.setEnabled(tray_available)
        if not tray_available:
            self.close_to_tray.setToolTip(self.tr("This desktop shows no tray icons."))
        self.close_to_tray.toggled.connect(self._close_to_tray_toggled)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(10)
        form.addRow(self.tr("Notify me of"), self.level)
        form.addRow("", self.sound)
        form.addRow(self.tr("Do not disturb"), quiet)
        form.addRow(self.tr("Muted rooms"), muted_box)
        form.addRow(self.tr("Appearance"), self.appearance)
        start = QVBoxLayout()
        start.setSpacing(2)
        start.addWidget(self.start_at_login)
        start.addWidget(self.start_error)
        form.addRow(self.tr("Start and close"), start)
        form.addRow("", self.close_to_tray)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 14)
        layout.setSpacing(14)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)
        self.show_quiet()

    def show_quiet(self) -> None:
        """Say whether "do not disturb" is on, and until when."""
        until = self._policy.quiet_until()
        if until is None:
            self.quiet_state.setText(self.tr("Off"))
        else:
            self.quiet_state.setText(self.tr("On until {time}").format(time=quiet_end_text(until)))
        self.quiet_end.setEnabled(until is not None)

    def _quiet(self, change: Callable[[], object]) -> None:
        change()
        self.show_quiet()
        self.changed.emit()

    def _level_chosen(self) -> None:
        self._preferences.level = NotifyLevel(self.level.currentData())
        self.changed.emit()

    def _sound_toggled(self, on: bool) -> None:
        self._preferences.sound = on
        self.changed.emit()

    def _mute_changed(self, item: QListWidgetItem) -> None:
        room = str(item.data(Qt.ItemDataRole.UserRole))
        self._preferences.set_muted(room, item.checkState() == Qt.CheckState.Checked)
        self.changed.emit()

    def _appearance_chosen(self) -> None:
        appearance = Appearance(self.appearance.currentData())
        self._preferences.appearance = appearance
        apply_appearance(appearance)
        self.changed.emit()

    def _start_at_login_toggled(self, on: bool) -> None:
        try:
            self._autostart.set_enabled(on)
        except OSError as exc:
            self.start_error.setText(
                self.tr("Could not change the login items: {error}").format(error=exc)
            )
            self.start_error.show()
            self.start_at_login.blockSignals(True)
            self.start_at_login.setChecked(not on)
            self.start_at_login.blockSignals(False)
            return
        self.start_error.clear()
        self.start_error.setVisible(not self._autostart.supported)

    def _close_to_tray_toggled(self, on: bool) -> None:
        self._preferences.close_to_tray = on
        self.changed.emit()


def quiet_end_text(until: datetime) -> str:
    """When do-not-disturb ends, in the user's locale: a time today, else day and time."""
    moment = QDateTime.fromSecsSinceEpoch(int(until.timestamp()))
    locale = QLocale()
    if until.date() == datetime.now().date():
        return locale.toString(moment.time(), QLocale.FormatType.ShortFormat)
    return locale.toString(moment, QLocale.FormatType.ShortFormat)
