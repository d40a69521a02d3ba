"""The side bar as a user sees it: room names whole at the window's default size, its
width back after the window was narrow, and a direct message's presence dot visible
on the selection, in the light and the dark palette."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QListView, QStyle, QStyleOptionViewItem

from chat_desktop.app import close_chat
from chat_desktop.controller.chat import ChatController
from chat_desktop.controller.entries import MemberEntry, RoomEntry
from chat_desktop.storage import ChatCache
from chat_desktop.ui.main_window import MainWindow
from chat_desktop.ui.palettes import dark_palette, light_palette
from chat_desktop.ui.resources import style_sheet
from chat_protocol.rules import dm_name

from .small_window import settle

DM = dm_name(["alice", "bob"])
# Ordinary names, unread (bold, with a count and a mention count) or not.
ROOMS = [
    RoomEntry("design-review", unread=12, mentions=1),
    RoomEntry("dev-ops", unread=2),
    RoomEntry("general"),
    RoomEntry("random", unread=3),
    RoomEntry("customer-support"),
    RoomEntry("launch", kind="private", members=("alice", "bob")),
    RoomEntry(DM, kind="direct", members=("alice", "bob"), title="bob"),
]


@pytest.fixture(params=["light", "dark"])
def palette(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    """The app in the light or the dark palette (the style sheet resolved anew)."""
    before = QGuiApplication.palette()
    qapp.setPalette(light_palette() if request.param == "light" else dark_palette())
    qapp.setStyleSheet(style_sheet())
    yield request.param
    qapp.setPalette(before)
    qapp.setStyleSheet(style_sheet())


@asynccontextmanager
async def window_with_rooms(folder: Path) -> AsyncIterator[MainWindow]:
    """A main window at its default size, its side bar filled as the controller reports."""
    cache = ChatCache.open(folder / "cache.sqlite3")
    controller = ChatController(
        cache, server_url="http://127.0.0.1:9", username="alice", token="unused"
    )
    window = MainWindow(controller)
    try:
        window.show()
        controller.roomsChanged.emit(ROOMS)
        controller.membersChanged.emit([MemberEntry("alice", True), MemberEntry("bob", True)])
        await settle()
        yield window
    finally:
        await close_chat(window, controller, cache)


def elided(view: QListView) -> list[str]:
    """The rows of ``view`` whose whole width (as the delegate asks for it) is not there."""
    found = []
    model = view.model()
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        option = QStyleOptionViewItem()
        option.initFrom(view)
        option.font = view.font()
        option.rect = view.visualRect(index)
        needed = view.itemDelegate().sizeHint(option, index).width()
        if needed > view.viewport().width():
            found.append(f"{index.data()}: {needed} > {view.viewport().width()}")
    return found


def test_ordinary_room_names_show_whole_at_the_default_size(
    tmp_path: Path, run: Callable[..., Any], palette: str
) -> None:
    async def check() -> list[str]:
        async with window_with_rooms(tmp_path) as window:
            return elided(window.room_list) + elided(window.dm_list)

    assert run(check()) == []


def test_the_side_bar_gets_its_width_back_when_a_narrow_window_widens_again(
    tmp_path: Path, run: Callable[..., Any]
) -> None:
    async def widths() -> tuple[int, int, int, list[str]]:
        async with window_with_rooms(tmp_path) as window:
            first = window.side_bar.width()
            size = window.size()
            window.resize(400, 300)
            await settle()
            narrow = window.side_bar.width()
            window.resize(size)
            await settle()
            return first, narrow, window.side_bar.width(), elided(window.room_list)

    first, narrow, again, cut = run(widths())
    assert narrow < first
    assert again == first and cut == []


def test_a_width_the_user_dragged_to_is_kept_through_a_narrow_moment(
    tmp_path: Path, run: Callable[..., Any]
) -> None:
    async def widths() -> tuple[int, int, int]:
        async with window_with_rooms(tmp_path) as window:
            first = window.side_bar.width()
            handle = window.splitter.handle(1)
            left = Qt.MouseButton.LeftButton
            QTest.mousePress(handle, left, Qt.KeyboardModifier.NoModifier, QPoint(0, 100))
            QTest.mouseMove(handle, QPoint(60, 100))
            QTest.mouseRelease(handle, left, Qt.KeyboardModifier.NoModifier, QPoint(60, 100))
            await settle()
            dragged = window.side_bar.width()
            size = window.size()
            window.resize(400, 300)
            await settle()
            window.resize(size)
            await settle()
            return first, dragged, window.side_bar.width()

    first, dragged, again = run(widths())
    assert dragged > first
    assert again == dragged


def contrast(one: QColor, other: QColor) -> float:
    """WCAG's contrast ratio of two colours (1 to 21)."""

    def luminance(color: QColor) -> float:
        def channel(value: float) -> float:
            return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

        red, green, blue = (channel(c) for c in (color.redF(), color.greenF(), color.blueF()))
        return 0.2126 * red + 0.7152 * green + 0.0722 * blue

    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_a_selected_direct_messages_presence_dot_stands_out_from_the_selection(
    tmp_path: Path, run: Callable[..., Any], palette: str
) -> None:
    """The dot keeps its green, and an outline around it contrasts with the selection
    (3:1, what WCAG asks of a graphic that carries meaning)."""

    async def dot() -> tuple[list[QColor], QColor]:
        async with window_with_rooms(tmp_path) as window:
            window.show_room(DM)
            # Opening it reports the cache's rooms (none here): report ours again.
            window.controller.roomsChanged.emit(ROOMS)
            await settle()
            view = window.dm_list
            index: QModelIndex = view.model().index(0, 0)
            assert view.selectionModel().isSelected(index)
            image = view.viewport().grab().toImage()
            # Where the style puts the decoration in the row (not the name).
            option = QStyleOptionViewItem()
            option.initFrom(view)
            option.rect = view.visualRect(index)
            option.decorationSize = view.iconSize()
            view.itemDelegate().initStyleOption(option, index)  # type: ignore[attr-defined]
            where = view.style().subElementRect(
                QStyle.SubElement.SE_ItemViewItemDecoration, option, view
            )
            assert where.width() >= view.iconSize().width() // 2, where
            colours = [
                image.pixelColor(x, y)
                for x in range(where.left() - 2, where.right() + 3)
                for y in range(where.top() - 2, where.bottom() + 3)
            ]
            return colours, window.palette().color(QPalette.ColorRole.Highlight)

    colours, selection = run(dot())
    green = [c for c in colours if 100 <= c.hueF() * 360 <= 170 and c.saturationF() > 0.4]
    assert green, "the dot is not green any more"
    assert max(contrast(c, selection) for c in colours) >= 3, "nothing around the dot stands out"
