"""The composer as a user meets it: a counter near the limit, refusals under the field, @ people.

Real widgets offscreen, keys typed with QTest; no server is needed, because
the composer knows nothing of rooms or the network.
"""

from __future__ import annotations

from PySide6.QtCore import QLocale, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from chat_desktop.ui.composer import ComposerBox
from chat_protocol.rules import TEXT_MAX


def _box(qtbot: QtBot) -> ComposerBox:
    box = ComposerBox()
    qtbot.addWidget(box)
    box.resize(600, 120)
    box.show()
    qtbot.waitExposed(box)
    return box


def test_the_counter_appears_near_the_limit_and_a_long_message_is_refused_in_place(
    qtbot: QtBot,
) -> None:
    box = _box(qtbot)
    sent: list[str] = []
    box.composer.submitted.connect(sent.append)

    box.composer.setPlainText("x" * 100)
    assert box.counter.text() == ""
    box.composer.setPlainText("x" * (TEXT_MAX - 10))
    # Numbers as the user's locale writes them ("3,990" in English, "3.990" in German).
    number = QLocale().toString
    assert box.counter.text() == f"{number(TEXT_MAX - 10)} / {number(TEXT_MAX)}"

    field_before = box.composer.geometry()
    box.composer.setPlainText("x" * (TEXT_MAX + 5))
    box.composer.submit()
    assert sent == []
    # The reason is under the field, and the text is still there to shorten.
    assert f"at most {TEXT_MAX}" in box.notice.text()
    assert box.composer.toPlainText() == "x" * (TEXT_MAX + 5)
    assert box.counter.property("over") is True
    assert box.composer.geometry() == field_before

    QTest.keyClick(box.composer, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    for _ in range(5):
        QTest.keyClick(box.composer, Qt.Key.Key_Backspace)
    assert box.notice.text() == ""
    box.composer.submit()
    assert sent == ["x" * TEXT_MAX]


def test_at_offers_people_and_tab_writes_the_name(qtbot: QtBot) -> None:
    box = _box(qtbot)
    composer = box.composer
    composer.set_people(["bob", "alice", "bea"])
    sent: list[str] = []
    composer.submitted.connect(sent.append)
    composer.setFocus()

    QTest.keyClicks(composer, "hi @b")
    popup = composer.completer.popup()
    qtbot.waitUntil(popup.isVisible)
    offered = [
        composer.completer.completionModel().index(row, 0).data()
        for row in range(composer.completer.completionCount())
    ]
    assert offered == ["bob", "bea"]

    QTest.keyClick(composer, Qt.Key.Key_Tab)
    assert composer.toPlainText() == "hi @bob "
    assert not popup.isVisible()
    assert sent == []


def test_an_at_inside_a_word_is_not_a_mention(qtbot: QtBot) -> None:
    box = _box(qtbot)
    box.composer.set_people(["example"])
    box.composer.setFocus()
    QTest.keyClicks(box.composer, "mail me@ex")
    assert not box.composer.completer.popup().isVisible()
