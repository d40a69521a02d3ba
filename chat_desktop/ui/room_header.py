"""RoomHeader: the room's name over its topic, the topic edited in place, and the room's buttons.

Above the conversation: "# general" (a lock for a private room, the other
person's name for a direct message) in bold, the topic under it in the
placeholder colour. A click on the topic, or Enter / F2 while it has the
keyboard focus, turns it into a line edit: Enter saves (``topicEdited``, the
window hands it to ``ChatController.set_topic``), Escape or leaving the field
cancels. With no topic the line offers "Add a topic".

On the right, for private and direct rooms, a button with the member count
toggles the members panel (:mod:`.members_panel`), and "⋯" opens the room's
menu (the window builds it: mute, leave, delete).

Names and topics come from the network: every label is plain text.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chat_desktop.controller.entries import RoomEntry

from .resources import icon
from .text_spans import plain_tooltip

# The protocol's limit on a topic (Version 2: at most 250 characters).
TOPIC_LENGTH = 250


class ElidedLabel(QLabel):
    """One line of plain text, cut with "…" where the width ends (the whole in the tooltip).

    A long room name or topic must neither widen the window nor be clipped
    mid-letter; the label asks only for the width of a few characters.

    Signals: none beyond QLabel's.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(min(hint.width(), self._least_width()), hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self._least_width()), hint.height())

    def _least_width(self) -> int:
        margins = self.contentsMargins()
        return self.fontMetrics().horizontalAdvance("MMM…") + margins.left() + margins.right()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, rect.width()
        )
        self.style().drawItemText(
            painter,
            rect,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            self.palette(),
            self.isEnabled(),
            shown,
            self.foregroundRole(),
        )
        painter.end()


class _TopicLabel(ElidedLabel):
    """The topic line: takes the focus and says when it is to be edited.

    Signals:
        editRequested(): clicked, or Enter / F2 / Space pressed on it.
    """

    editRequested = Signal()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.editRequested.emit()
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F2, Qt.Key.Key_Space):
            self.editRequested.emit()
            return
        super().keyPressEvent(event)


class RoomHeader(QWidget):
    """The header above the conversation; see the module docstring.

    Signals:
        topicEdited(str, str): the user saved a new topic: room, topic (trimmed).
        membersToggled(bool): the members button was toggled (show the panel or not).
        menuRequested(QPoint): the "⋯" button was pressed; the point is where
            the menu goes (global).
    """

    topicEdited = Signal(str, str)
    membersToggled = Signal(bool)
    menuRequested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("roomHeader")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        # The room shown, as last reported.
        self.room: RoomEntry | None = None

        self.kind_icon = QLabel(self)
        self.kind_icon.setObjectName("roomKindIcon")
        self.title = ElidedLabel(self)
        self.title.setObjectName("roomTitle")
        self.title.setAccessibleName(self.tr("Room"))
        self.topic = _TopicLabel(self)
        self.topic.setObjectName("roomTopic")
        self.topic.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.topic.setCursor(Qt.CursorShape.IBeamCursor)
        self.topic.setAccessibleName(self.tr("Topic"))
        self.topic.setAccessibleDescription(self.tr("Click or press Enter to edit the topic"))
        self.topic.setToolTip(self.tr("Click to edit the topic"))
        self.topic_field = QLineEdit(self)
        self.topic_field.setObjectName("roomTopicField")
        self.topic_field.setMaxLength(TOPIC_LENGTH)
        self.topic_field.setAccessibleName(self.tr("Topic"))
        self.topic_field.setPlaceholderText(self.tr("What is this room about?"))
        self.topic_field.setToolTip(self.tr("Enter saves, Esc cancels"))
        self.topic_field.hide()

        self.members_button = QToolButton(self)
        self.members_button.setObjectName("membersButton")
        self.members_button.setCheckable(True)
        self.members_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.members_button.setIconSize(QSize(16, 16))
        self.members_button.setToolTip(self.tr("Show or hide the members"))
        self.menu_button = QToolButton(self)
        self.menu_button.setObjectName("roomMenuButton")
        self.menu_button.setIconSize(QSize(16, 16))
        self.menu_button.setToolTip(self.tr("Room actions"))
        self.menu_button.setAccessibleName(self.tr("Room actions"))

        name_row = QHBoxLayout()
        name_row.setContentsMargins(0, 0, 0, 0)
        name_row.setSpacing(6)
        name_row.addWidget(self.kind_icon)
        name_row.addWidget(self.title, 1)
        text = QVBoxLayout()
        text.setContentsMargins(0, 0, 0, 0)
        text.setSpacing(1)
        text.addLayout(name_row)
        text.addWidget(self.topic)
        text.addWidget(self.topic_field)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 6, 8, 6)
        layout.setSpacing(4)
        layout.addLayout(text, 1)
        layout.addWidget(self.members_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.menu_button, 0, Qt.AlignmentFlag.AlignVCenter)

        self.topic.editRequested.connect(self.edit_topic)
        self.topic_field.returnPressed.connect(self._save_topic)
        self.topic_field.installEventFilter(self)
        self.members_button.toggled.connect(self.membersToggled)
        self.menu_button.clicked.connect(
            lambda: self.menuRequested.emit(
                self.menu_button.mapToGlobal(self.menu_button.rect().bottomLeft())
            )
        )
        self.refresh_icons()

    def text(self) -> str:
        """The title as shown ("# general", "plans", "bob")."""
        return self.title.text()

    @property
    def editing(self) -> bool:
        return self.topic_field.isVisible()

    def show_room(self, room: RoomEntry) -> None:
        """Show ``room`` (another room, or the same one with a new topic or members)."""
        switched = self.room is None or self.room.name != room.name
        self.room = room
        if switched and self.editing:
            self._stop_editing()
        if room.kind == "public":
            self.title.setText(f"# {room.label}")
        else:
            self.title.setText(room.label)
        self.kind_icon.setVisible(room.kind == "private")
        self.title.setToolTip(plain_tooltip(room.label))
        self._show_topic()
        grouped = room.kind != "public"
        self.members_button.setVisible(grouped)
        self.members_button.setText(str(len(room.members)))
        self.members_button.setAccessibleName(
            self.tr("Members: %n", "", len(room.members)) if grouped else ""
        )

    def set_members_shown(self, shown: bool) -> None:
        """Check the members button without emitting membersToggled."""
        blocked = self.members_button.blockSignals(True)
        self.members_button.setChecked(shown)
        self.members_button.blockSignals(blocked)

    def edit_topic(self) -> None:
        """Turn the topic into a line edit holding it, focused, all selected."""
        if self.room is None:
            return
        self.topic_field.setText(self.room.topic)
        self.topic.hide()
        self.topic_field.show()
        self.topic_field.setFocus()
        self.topic_field.selectAll()

    def refresh_icons(self) -> None:
        self.kind_icon.setPixmap(icon("lock").pixmap(QSize(16, 16)))
        self.members_button.setIcon(icon("people"))
        self.menu_button.setIcon(icon("more"))

    def _show_topic(self) -> None:
        room = self.room
        topic = room.topic if room is not None else ""
        # A topic is one line here; the whole of it is in the tooltip.
        self.topic.setText(topic.replace("\n", " ") if topic else self.tr("Add a topic"))
        self.topic.setProperty("empty", not topic)
        self.topic.style().unpolish(self.topic)
        self.topic.style().polish(self.topic)
        # Topics are anybody's text: never markup, also in the tooltip.
        self.topic.setToolTip(
            plain_tooltip(self.tr("{topic}\n(click to edit)").format(topic=topic))
            if topic
            else self.tr("Click to edit the topic")
        )

    def _save_topic(self) -> None:
        room = self.room
        topic = self.topic_field.text().strip()
        self._stop_editing()
        if room is not None and topic != room.topic:
            self.topicEdited.emit(room.name, topic)

    def _stop_editing(self) -> None:
        had_focus = self.topic_field.hasFocus()
        self.topic_field.hide()
        self.topic.show()
        if had_focus:
            self.topic.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.topic_field:
            if event.type() == QEvent.Type.KeyPress:
                assert isinstance(event, QKeyEvent)
                if event.key() == Qt.Key.Key_Escape:
                    self._stop_editing()
                    return True
            elif event.type() == QEvent.Type.FocusOut and self.editing:
                # Clicking elsewhere cancels, as Esc does: only Enter saves.
                self._stop_editing()
        return super().eventFilter(watched, event)
