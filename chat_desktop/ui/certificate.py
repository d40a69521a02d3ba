"""What the window shows when the server's certificate changed: a bar, and a review dialog.

The link refuses an https server that shows another certificate than the one
the user trusted (pinned), before it sends anything. The controller then
reports a :class:`~chat_desktop.controller.entries.CertificateProblem`; the
main window shows :class:`CertificateBar` above the conversation, saying so
in plain words with two ways on: review the certificate, or sign out.
:class:`CertificateReviewDialog` puts the trusted and the presented
fingerprints side by side, in a fixed-width font, so the user can compare them
with what the administrator gives, and accept the new certificate or not.

Everything here is plain text: the host name comes from what the user typed
or from the network.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chat_desktop.controller.entries import CertificateProblem

from .resources import icon

# A soft amber: readable with the palette's text colour in light and dark themes.
_BAR_STYLE = """
QFrame#certificateBar {
    background: rgba(224, 160, 48, 0.16);
    border: 1px solid rgba(224, 160, 48, 0.75);
    border-radius: 6px;
}
QFrame#certificateBar QLabel#certificateTitle {
    font-weight: 600;
}
"""


def problem_summary(problem: CertificateProblem) -> tuple[str, str]:
    """The bar's two sentences: what happened, and what it may mean."""
    if problem.pinned:
        title = QCoreApplication.translate(
            "certificate",
            "Not connected: the server at {where} shows a different certificate "
            "than the one you trusted.",
        )
    else:
        title = QCoreApplication.translate(
            "certificate",
            "Not connected: the server at {where} now shows a certificate "
            "that no authority vouches for.",
        )
    body = QCoreApplication.translate(
        "certificate",
        "Nothing was sent to it. This happens when the server is reinstalled or its "
        "certificate renewed, and also when someone intercepts the connection.",
    )
    return title.format(where=problem.where), body


def fingerprint_lines(fingerprint: str) -> str:
    """A SHA-256 fingerprint (32 pairs) on two lines of 16, for comparing by eye."""
    pairs = fingerprint.split(":")
    if len(pairs) < 2:
        return fingerprint
    half = (len(pairs) + 1) // 2
    return ":".join(pairs[:half]) + ":\n" + ":".join(pairs[half:])


class CertificateBar(QWidget):
    """The refusal above the conversation, with "Review certificate…" and "Sign out".

    A framed box inside a margin; hidden (taking no room) while there is no problem.

    Signals:
        reviewRequested(): the user wants to see the fingerprints.
        signOutRequested(): the user would rather sign out.
    """

    reviewRequested = Signal()
    signOutRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QFrame(self)
        box.setObjectName("certificateBar")
        box.setStyleSheet(_BAR_STYLE)
        self.warning_icon = QLabel(box)
        self.title = QLabel(box)
        self.title.setObjectName("certificateTitle")
        self.body = QLabel(box)
        for label in (self.title, self.body):
            # The host comes from the user or the network: never markup.
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
        self.review_button = QPushButton(self.tr("Review certificate…"), box)
        self.review_button.setDefault(True)
        self.sign_out_button = QPushButton(self.tr("Sign out"), box)
        self.review_button.clicked.connect(self.reviewRequested)
        self.sign_out_button.clicked.connect(self.signOutRequested)

        words = QVBoxLayout()
        words.setSpacing(2)
        words.addWidget(self.title)
        words.addWidget(self.body)
        words.addSpacing(6)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.sign_out_button)
        buttons.addWidget(self.review_button)
        words.addLayout(buttons)
        inside = QHBoxLayout(box)
        inside.setContentsMargins(12, 10, 12, 10)
        inside.setSpacing(10)
        inside.addWidget(self.warning_icon, 0, Qt.AlignmentFlag.AlignTop)
        inside.addLayout(words, 1)
        outside = QHBoxLayout(self)
        outside.setContentsMargins(10, 10, 10, 4)
        outside.addWidget(box)
        self.hide()

    def show_problem(self, problem: CertificateProblem) -> None:
        title, body = problem_summary(problem)
        self.title.setText(title)
        self.body.setText(body)
        self.warning_icon.setPixmap(
            self.style()
            .standardIcon(self.style().StandardPixmap.SP_MessageBoxWarning)
            .pixmap(32, 32)
        )
        self.show()


class CertificateReviewDialog(QDialog):
    """Both fingerprints side by side; "Trust the new certificate", "Sign out" or "Not now".

    "Not now" is the default: pressing Enter must not trust anything.

    Signals:
        acceptChosen(): the user trusts the presented certificate.
        signOutChosen(): the user chose to sign out instead.
    """

    acceptChosen = Signal()
    signOutChosen = Signal()

    def __init__(self, problem: CertificateProblem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("certificateReview")
        self.setWindowTitle(self.tr("Review the server's certificate"))
        self.setWindowIcon(icon("app"))
        self.problem = problem

        heading = QLabel(
            (
                self.tr("The certificate of {where} changed")
                if problem.pinned
                else self.tr("No authority vouches for the certificate of {where}")
            ).format(where=problem.where),
            self,
        )
        heading.setStyleSheet("font-size: 15px; font-weight: 600;")
        advice = QLabel(
            self.tr(
                "Trust the certificate shown now only if your administrator confirms its "
                "SHA-256 fingerprint (chat-server prints it when it starts). Until you decide, "
                "nothing is sent to this server; messages you write wait on this computer."
            ),
            self,
        )
        for label in (heading, advice):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)

        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(10)
        rows: list[tuple[str, str]] = []
        if problem.pinned:
            rows.append((self.tr("Trusted until now"), problem.pinned))
        rows.append((self.tr("Shown now"), problem.presented))
        self.fingerprints: list[QLabel] = []
        for row, (name, fingerprint) in enumerate(rows):
            caption = QLabel(name, self)
            caption.setTextFormat(Qt.TextFormat.PlainText)
            value = QLabel(fingerprint_lines(fingerprint), self)
            value.setObjectName("fingerprint")
            value.setAccessibleName(name)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setFont(fixed)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(caption, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, 1)
            self.fingerprints.append(value)
        grid.setColumnStretch(1, 1)

        self.buttons = QDialogButtonBox(self)
        self.trust_button = self.buttons.addButton(
            self.tr("Trust the new certificate"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.sign_out_button = self.buttons.addButton(
            self.tr("Sign out"), QDialogButtonBox.ButtonRole.DestructiveRole
        )
        self.not_now_button = self.buttons.addButton(
            self.tr("Not now"), QDialogButtonBox.ButtonRole.RejectRole
        )
        for button in (self.trust_button, self.sign_out_button):
            button.setAutoDefault(False)
        self.not_now_button.setDefault(True)
        self.trust_button.clicked.connect(self._trust)
        self.sign_out_button.clicked.connect(self._sign_out)
        self.not_now_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 20, 22, 16)
        layout.setSpacing(12)
        layout.addWidget(heading)
        layout.addWidget(advice)
        layout.addLayout(grid)
        layout.addSpacing(8)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)

    def _trust(self) -> None:
        self.accept()
        self.acceptChosen.emit()

    def _sign_out(self) -> None:
        self.reject()
        self.signOutChosen.emit()
