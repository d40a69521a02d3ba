"""QuietIndicator: "Do not disturb until 09:00" in the status bar, with a button to end it.

Hidden while do-not-disturb is off; the main window shows it with the end
time (from :class:`~chat_desktop.controller.notifications.NotificationPolicy`)
and hides it when the time has come or the user ended it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget


class QuietIndicator(QWidget):
    """A label and an "End" button.

    Signals:
        endRequested(): the user wants notifications back now.
    """

    endRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.end_button = QToolButton(self)
        self.end_button.setText(self.tr("End"))
        self.end_button.setToolTip(self.tr("Turn notifications back on now"))
        self.end_button.setAutoRaise(True)
        self.end_button.clicked.connect(self.endRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.setSpacing(4)
        layout.addWidget(self.label)
        layout.addWidget(self.end_button)
        self.hide()

    def show_until(self, when: str) -> None:
        self.label.setText(self.tr("Do not disturb until {time}").format(time=when))
        self.show()
