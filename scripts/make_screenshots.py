"""Render the README's screenshots: the main window (light and dark), search, a direct message
and a private room with its members (light and dark), the settings and sign-in dialogs.

Also the message-level features of Version 2 (messages-light.png,
messages-dark.png): a reply quoting an earlier message, reactions (mine
highlighted), an edited and a deleted message, and the hover actions; and
files (files-light.png, files-dark.png): a picture as its thumbnail, files
as cards (one downloading), and a message of mine whose file is going up.

    python scripts/make_screenshots.py [--out docs/screenshots] [--scale 1.5]

Runs Qt offscreen (no display needed) with the Fusion style, so that the
pictures look the same on every machine. It needs an emoji font (Debian:
fonts-noto-color-emoji) and stops without one: the reactions would be boxes.
The window is the real MainWindow over a real ChatController and a real
cache in a temporary folder, filled with a sample conversation; only the
connection is not started: its status, the members' presence and a typing
notice are set on the widgets directly.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Before Qt is imported: offscreen unless the caller chose a platform.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import (
    QBuffer,
    QElapsedTimer,
    QIODevice,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QImage,
    QPainter,
    QPalette,
)
from PySide6.QtWidgets import QApplication, QWidget

from chat_desktop.controller.account import SignInController
from chat_desktop.controller.chat import ChatController
from chat_desktop.controller.entries import (
    ConnectionKind,
    ConnectionStatus,
    DeliveryState,
    FileRef,
    FoundServer,
    MemberEntry,
    MessageEntry,
)
from chat_desktop.controller.hosting import LocalServer
from chat_desktop.controller.search import SearchStage, merge
from chat_desktop.controller.settings import AppSettings
from chat_desktop.i18n import install_translations
from chat_desktop.storage import ChatCache
from chat_desktop.transport.pinning import PinStore
from chat_desktop.ui.main_window import MainWindow
from chat_desktop.ui.palettes import dark_palette, light_palette
from chat_desktop.ui.resources import forget_rendered_icons, style_sheet
from chat_desktop.ui.search_panel import SearchPanel
from chat_desktop.ui.settings_dialog import SettingsDialog
from chat_desktop.ui.sign_in import SignInDialog
from chat_protocol import Message, RoomInfo
from chat_protocol.events import FileInfo
from chat_protocol.rules import dm_name, format_ts

ME = "alice"
ROOT = Path(__file__).resolve().parent.parent

# (minutes before now, author, text) for #general; the first ones are yesterday.
CONVERSATION = [
    (
        26 * 60 + 12,
        "bob",
        "Build 1.4.2 is on the test machines. Release notes: https://wiki.example.lan/releases/1.4.2",
    ),
    (26 * 60 + 10, "carol", "Thanks! I'll run the printer tests tomorrow morning."),
    (26 * 60 + 9, "carol", "Has anyone seen the label printer driver for the new Zebras?"),
    (25 * 60 + 55, "dave", "It's on the share: \\\\files\\drivers\\zebra"),
    (48, "bob", "Morning all!"),
    (47, "bob", "Stand-up moves to 10:30 today, the big room is taken."),
    (
        41,
        "carol",
        "@alice can you look at the checkout crash before stand-up? Trace is in the ticket.",
    ),
    (38, ME, "On it. Looks like the cache migration again: the old schema has no outbox table."),
    (37, ME, "Fix is small, I'll push it before 10:30."),
    (12, "dave", "Reminder: lunch order closes at 11:30.\nPizza or the Thai place?"),
    (11, "bob", "Thai, green curry for me"),
    (3, "carol", "Thai as well. And <b>please</b> don't forget the vegetarian option this time"),
    (1, ME, "Vegetarian noted. I'll order at 11:15: https://thai-garden.example.com/menu"),
]
OTHER_ROOMS = {
    "random": [
        (90, "dave", "Who left the coffee machine in descaling mode?"),
        (80, "bob", "guilty"),
    ],
    "dev-ops": [(30, "bob", "Backups ran fine tonight."), (5, "dave", "Disk on build-02 at 91%.")],
    "design": [(300, "carol", "New icons are in the drive.")],
}
# A private room (with its members and topic) and a direct message with bob.
PRIVATE_ROOM = "launch"
PRIVATE_MEMBERS = (ME, "bob", "carol")
# The members panel marks who created the room (they and admins remove members).
PRIVATE_CREATOR = "carol"
PRIVATE_TOPIC = "Release 1.5: dates, owners and the go/no-go list"
PRIVATE_LINES = [
    (95, "carol", "Draft of the launch checklist is in the wiki, please add what is missing."),
    (70, "bob", "Added the database backup step and the rollback plan."),
    (64, ME, "Thanks both. Go/no-go on Thursday at 14:00?"),
    (60, "carol", "Works for me."),
]
DIRECT_WITH = "bob"
DIRECT_ROOM = dm_name([ME, DIRECT_WITH])
DIRECT_LINES = [
    (20, "bob", "Do you have a minute after stand-up? Quick question about the cache migration."),
    (18, ME, "Sure, I'll come over at 10:45."),
    (17, "bob", "👍"),
]


def _messages(room: str, lines: list[tuple[int, str, str]]) -> list[Message]:
    now = datetime.now(UTC)
    return [
        Message(room, seq, f"{room}-{seq}", author, text, format_ts(now - timedelta(minutes=ago)))
        for seq, (ago, author, text) in enumerate(lines, start=1)
    ]


def sample_cache(folder: Path) -> ChatCache:
    """A cache as the app would have it after a morning of chat."""
    cache = ChatCache.open(folder / "cache.sqlite3")
    general = _messages("general", CONVERSATION)
    cache.save_rooms([RoomInfo("general", len(general))])
    cache.save_messages(general)
    cache.mark_read("general", len(general))
    for room, lines in OTHER_ROOMS.items():
        messages = _messages(room, lines)
        if room == "design":
            messages += design_messages(len(messages))
        cache.save_rooms([RoomInfo(room, len(messages))])
        cache.save_messages(messages)
    team = team_messages()
    cache.save_rooms([RoomInfo("team", len(team))])
    cache.save_messages(team)
    cache.mark_read("team", len(team))
    cache.mark_read("design", 1 + len(DESIGN))
    private = _messages(PRIVATE_ROOM, PRIVATE_LINES)
    cache.save_rooms(
        [
            RoomInfo(
                PRIVATE_ROOM,
                len(private),
                kind="private",
                topic=PRIVATE_TOPIC,
                members=PRIVATE_MEMBERS,
                creator=PRIVATE_CREATOR,
            )
        ]
    )
    cache.save_messages(private)
    cache.mark_read(PRIVATE_ROOM, len(private))
    direct = _messages(DIRECT_ROOM, DIRECT_LINES)
    cache.save_rooms([RoomInfo(DIRECT_ROOM, len(direct), kind="direct", members=(ME, DIRECT_WITH))])
    cache.save_messages(direct)
    cache.mark_read(DIRECT_ROOM, len(direct))
    cache.set_setting("last_room", "general")
    return cache


# #team (Version 2): (minutes before now, author, text, extras); extras are
# Message fields: reply_to, edited (minutes before now), deleted, reactions.
TEAM: list[tuple[int, str, str, dict[str, object]]] = [
    (
        35,
        "bob",
        "The 1.5 release branch is cut. Please test the new sync on your machines today.",
        {},
    ),
    (
        33,
        "carol",
        "Sync works here on both laptops, even offline and back.",
        {"reactions": {"🎉": ["bob", ME, "dave"], "👍": ["bob"]}},
    ),
    (30, "dave", "Found a typo in the settings dialog, will fix.", {"deleted": True}),
    (
        22,
        ME,
        "Tested on Windows and Linux: all green. The installer is on the share.",
        {"edited": 20, "reactions": {"✅": ["bob", "carol"]}},
    ),
    (
        9,
        "bob",
        "Great work! Then we ship on Thursday.",
        {"reply_to": 4, "reactions": {"🚀": ["carol", ME], "❤️": ["dave"]}},
    ),
    (4, "carol", "Release notes are in the wiki, reviews welcome.", {}),
]


def design_messages(before: int) -> list[Message]:
    """#design's messages with files, after its ``before`` others."""
    now = datetime.now(UTC)
    return [
        Message(
            "design",
            before + number,
            f"design-files-{number}",
            author,
            text,
            format_ts(now - timedelta(minutes=ago)),
            files=files,
        )
        for number, (ago, author, text, files) in enumerate(DESIGN, start=1)
    ]


def team_messages() -> list[Message]:
    now = datetime.now(UTC)
    messages = []
    for seq, (ago, author, text, extras) in enumerate(TEAM, start=1):
        edited = extras.get("edited")
        deleted = bool(extras.get("deleted"))
        messages.append(
            Message(
                "team",
                seq,
                f"team-{seq}",
                author,
                "" if deleted else text,
                format_ts(now - timedelta(minutes=ago)),
                reply_to=extras.get("reply_to"),  # type: ignore[arg-type]
                edited=format_ts(now - timedelta(minutes=edited)) if edited else None,  # type: ignore[operator]
                deleted=deleted,
                reactions=extras.get("reactions"),  # type: ignore[arg-type]
            )
        )
    return messages


def message_features(window: MainWindow, app: QApplication, out: Path) -> None:
    """#team with a reply, reactions, an edited and a deleted message; the hover
    actions over the reply; light and dark."""
    window.show_room("team")
    window.resize(820, 560)
    settle(app)
    view = window.view
    row = window.messages.row_of_seq(5)
    if row is not None:
        # As if the mouse rested on the reply: its React, Reply, More buttons.
        view._hover_row = QPersistentModelIndex(window.messages.index(row))
        view._place_hover()
    settle(app)
    save(window, out / "messages-light.png")
    use_palette(app, dark_palette())
    settle(app)
    save(window, out / "messages-dark.png")
    use_palette(app, light_palette())
    window.show_room("general")


# #design (files): a chart as a picture, a PDF (downloading) and a zip as cards.
CHART = FileInfo("sample-chart", "sign-ups per week.png", 48_213, "image/png")
SPEC = FileInfo("sample-spec", "Onboarding redesign, spec v3.pdf", 2_481_152, "application/pdf")
ICONS = FileInfo("sample-icons", "icons-2026-11.zip", 734_003, "application/zip")
DESIGN = [
    (14, "carol", "Sign-ups since the new onboarding went live:", (CHART,)),
    (9, "bob", "Nice! Here is the spec for the next round, and the new icons.", (SPEC, ICONS)),
]


def chart() -> QImage:
    """A bar chart, as a colleague would paste one: the sample picture."""
    image = QImage(960, 600, QImage.Format.Format_RGB32)
    image.fill(QColor("#ffffff"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor("#33475b"))
    font = QFont()
    font.setPixelSize(34)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(QRectF(48, 28, 860, 60), "Sign-ups per week")
    painter.setPen(QColor("#d5dde5"))
    for line in range(5):
        y = 540 - line * 100
        painter.drawLine(QPointF(60, y), QPointF(920, y))
    values = [120, 150, 138, 190, 240, 310, 360, 420]
    for number, value in enumerate(values):
        color = QColor("#2f80ed") if number < 4 else QColor("#27ae60")
        painter.fillRect(QRectF(80 + number * 104, 540 - value, 70, value), color)
    painter.end()
    return image


def file_features(
    window: MainWindow, controller: ChatController, app: QApplication, out: Path
) -> None:
    """#design with a picture, two file cards (the PDF downloading) and, above the
    composer, a file of mine going up; light and dark."""
    # The picture is in the downloads cache already, as after a first look.
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    chart().save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs want bytes, PySide6 a str
    with controller.files.downloads.cache.receive(CHART.id, CHART.type) as into:
        into.write(bytes(buffer.data().data()))
    window.show_room("design")
    window.typing_line.show_users([])
    window.resize(860, 740)
    # bob's spec downloading (Open was pressed): 40 % of it has arrived.
    controller.files.downloadProgress.emit(SPEC.id, SPEC.size * 2 // 5, SPEC.size)
    # A message of mine whose file is going up, 65 % sent.
    going = MessageEntry(
        "design",
        ME,
        "And the mock-ups for the settings page.",
        format_ts(datetime.now(UTC)),
        "sample-upload",
        state=DeliveryState.QUEUED,
        files=(FileRef("", "settings mock-ups.fig", 5_242_880, "application/octet-stream"),),
    )
    window.messages.add([going])
    window.attachments.track(going)
    controller.files.uploadProgress.emit(going.client_id, 3_407_872, 5_242_880)
    # The thumbnail is decoded on a pool thread: wait for it (a few seconds at most).
    clock = QElapsedTimer()
    clock.start()
    while window.message_files.thumbnail(CHART.id) is None and clock.elapsed() < 5000:
        app.processEvents()
    settle(app)
    window.view.scroll_to_newest()
    settle(app)
    save(window, out / "files-light.png")
    use_palette(app, dark_palette())
    settle(app)
    save(window, out / "files-dark.png")
    use_palette(app, light_palette())
    window.typing_line.show_users(["bob"])
    window.show_room("general")


def use_palette(app: QApplication, palette: QPalette) -> None:
    app.setPalette(palette)
    # Re-apply the sheet so that its palette(...) colours are resolved anew.
    app.setStyleSheet(style_sheet())


def settle(app: QApplication) -> None:
    for _ in range(5):
        app.processEvents()


def save(widget: QWidget, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not widget.grab().save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def main_window(folder: Path) -> tuple[MainWindow, ChatController, ChatCache]:
    cache = sample_cache(folder)
    controller = ChatController(
        cache, server_url="http://chat.office.lan:8765", username=ME, token="sample"
    )
    window = MainWindow(controller)
    window.resize(1120, 700)
    # As the controller reports them: the window fills the list and its title.
    controller.membersChanged.emit(
        [
            MemberEntry(ME, True),
            MemberEntry("bob", True),
            MemberEntry("carol", True),
            MemberEntry("dave", False),
            MemberEntry("erin", False),
        ]
    )
    window.connection.show_status(ConnectionStatus(ConnectionKind.CONNECTED))
    window.typing_line.show_users(["bob"])
    return window, controller, cache


def search_panel(window: MainWindow, cache: ChatCache) -> SearchPanel:
    """The Ctrl+Shift+F panel with an answer for "thai": the cache's hits and one of the server's.

    The panel is the real widget; the answer is what the controller would
    send (the cache's own search, merged with one older message only the
    server has), handed in directly since no server runs here.
    """
    panel = SearchPanel("general", True, window)
    panel.query.setText("thai")
    panel.search_now()
    stamp = format_ts(datetime.now(UTC) - timedelta(days=3, hours=2))
    text = (
        "Notes from the retro: the build farm was slow again, the printer tests passed, "
        "and for the team lunch we try the new Thai place on Friday. It is closed on Mondays."
    )
    older = Message("random", 7, "random-7", "dave", text, stamp)
    local = cache.search("thai")
    hits = merge(local, [*local, older], room=None, limit=20)
    panel.show_answer("thai", hits, SearchStage.SERVER)
    return panel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="device pixel ratio (2 for HiDPI pictures)"
    )
    parser.add_argument(
        "--lang", help="the app's language, as chat-desktop --lang (default: English sources)"
    )
    args = parser.parse_args(argv)
    if args.scale != 1.0:
        os.environ["QT_SCALE_FACTOR"] = str(args.scale)
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    if not any("emoji" in family.lower() for family in QFontDatabase.families()):
        # Reactions and a message would show empty boxes instead.
        raise SystemExit(
            "no emoji font found: install one first"
            " (Debian: apt-get install fonts-noto-color-emoji)"
        )
    app.setApplicationDisplayName("Chat Desktop")
    if args.lang:
        install_translations(args.lang)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        use_palette(app, light_palette())
        window, controller, cache = main_window(folder / "light")
        window.show()
        settle(app)
        save(window, args.out / "main-light.png")

        use_palette(app, dark_palette())
        settle(app)
        save(window, args.out / "main-dark.png")

        # A private room with its members panel, and a direct message, in both palettes.
        window.typing_line.show_users([])
        for room, name in ((PRIVATE_ROOM, "private-room"), (DIRECT_ROOM, "direct-message")):
            window.show_room(room)
            for palette, shade in ((light_palette(), "light"), (dark_palette(), "dark")):
                use_palette(app, palette)
                settle(app)
                save(window, args.out / f"{name}-{shade}.png")
        window.show_room("general")
        window.typing_line.show_users(["bob"])

        # The same window at the small size the layout is tested at.
        use_palette(app, light_palette())
        size = window.size()
        window.resize(400, 300)
        settle(app)
        save(window, args.out / "main-small.png")
        window.resize(size)

        message_features(window, app, args.out)
        file_features(window, controller, app, args.out)

        # The settings dialog, over the window, as Chat > Settings opens it.
        rooms = window.rooms.names()
        dialog = SettingsDialog(
            window.policy, window.autostart, rooms, tray_available=True, parent=window
        )
        dialog.show()
        settle(app)
        save(dialog, args.out / "settings.png")
        dialog.hide()
        dialog.deleteLater()

        # Search (Ctrl+Shift+F), light and dark.
        panel = search_panel(window, cache)
        panel.show()
        settle(app)
        save(panel, args.out / "search-light.png")
        use_palette(app, dark_palette())
        settle(app)
        save(panel, args.out / "search-dark.png")
        use_palette(app, light_palette())
        panel.hide()
        panel.deleteLater()
        window.hide()
        window.deleteLater()
        controller.deleteLater()
        cache.close()

        use_palette(app, light_palette())
        settings = AppSettings(folder / "settings")
        pins = PinStore(folder / "pins.json")
        sign_in = SignInController(settings, LocalServer(folder / "server"), pins)
        dialog = SignInDialog(sign_in, address="chat.office.lan:8765", username="alice")
        # What LAN discovery would list (the browser is not started here).
        sign_in.serversFound.emit(
            [
                FoundServer("chat.office.lan", "https://10.0.0.5:8765", tls=True),
                FoundServer("dave's laptop", "http://10.0.0.23:8765", tls=False),
            ]
        )
        dialog.show()
        settle(app)
        save(dialog, args.out / "sign-in.png")
        dialog.hide()
        dialog.deleteLater()
        settle(app)
    forget_rendered_icons()
    app.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
