"""Desktop notifications show message text literally, whichever way the desktop renders them."""

from __future__ import annotations

from PySide6.QtGui import QTextDocument

from chat_desktop.ui.tray import notification_body

HOSTILE = '<img src="file:///etc/passwd"> & <a href="javascript:alert(1)">click</a> <b>big</b>'


def test_a_notification_server_that_reads_markup_renders_the_raw_text(qapp: object) -> None:
    # A markup-reading renderer (QTextDocument stands in for the notification
    # server) must end up showing exactly what was typed.
    document = QTextDocument()
    document.setHtml(notification_body(HOSTILE, reads_markup=True))
    assert document.toPlainText() == HOSTILE


def test_a_plain_text_notification_gets_the_text_unchanged() -> None:
    assert notification_body(HOSTILE, reads_markup=False) == HOSTILE
