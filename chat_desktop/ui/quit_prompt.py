"""The question the app that hosts a chat asks before quitting while others are connected.

Quitting the app that runs the server ("Host a chat on this computer") stops
the chat for everyone in it. So when colleagues are connected, Quit asks
first, names who would be cut off, and offers the gentle way out: keep the
chat running with the window closed, from the tray.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget


class HostingQuitPrompt(QMessageBox):
    """ "Quit and stop the chat for N colleagues?" with Keep serving / Quit / Cancel.

    Window-modal and opened with ``open()``, so the asyncio loop (and the
    hosted server on it) keeps running while the question is on screen.

    Signals:
        keepServing(): close the window, keep the chat running from the tray.
        quitAnyway(): quit, stopping the chat for everyone.
    """

    keepServing = Signal()
    quitAnyway = Signal()

    def __init__(self, others: list[str], *, tray_available: bool, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setObjectName("hostingQuitPrompt")
        self.setIcon(QMessageBox.Icon.Question)
        self.setWindowTitle(self.tr("Quit Chat Desktop?"))
        self.setTextFormat(self.textFormat().PlainText)
        count = len(others)
        shown = ", ".join(others[:5])
        if count > 5:
            shown = self.tr("{names} and %n more", "", count - 5).format(names=shown)
        self.setText(
            self.tr(
                "This computer hosts the chat, and %n colleagues are connected: {names}.", "", count
            ).format(names=shown)
        )
        self.setInformativeText(
            self.tr("Quitting stops the chat for everyone until you start the app again.")
            + (
                " " + self.tr("You can keep it running in the tray instead.")
                if tray_available
                else ""
            )
        )
        self.keep_button = (
            self.addButton(self.tr("Keep serving in the tray"), QMessageBox.ButtonRole.AcceptRole)
            if tray_available
            else None
        )
        self.quit_button = self.addButton(
            self.tr("Quit anyway"), QMessageBox.ButtonRole.DestructiveRole
        )
        self.cancel_button = self.addButton(QMessageBox.StandardButton.Cancel)
        self.setDefaultButton(self.keep_button or self.cancel_button)
        self.setEscapeButton(self.cancel_button)
        self.buttonClicked.connect(self._answered)

    def _answered(self, button: QAbstractButton) -> None:
        if button is self.keep_button:
            self.keepServing.emit()
        elif button is self.quit_button:
            self.quitAnyway.emit()
