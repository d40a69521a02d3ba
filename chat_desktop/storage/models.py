"""Peewee models of the client cache: one class per table of :mod:`.migrations`.

The models are declared once, without a database: :class:`~.cache.ChatCache`
binds them to its own file for the duration of each call (``bind_ctx``), so two
caches (two accounts, or a test's two clients) can be open in one process.
They never leave the storage package: the cache hands out protocol objects and
small frozen dataclasses, never rows.
"""

from __future__ import annotations

from peewee import AutoField, CompositeKey, IntegerField, Model, TextField


class BaseModel(Model):
    """Common base: no database of its own (bound per call by the cache)."""


class RoomRow(BaseModel):
    """A room the user knows, how far the server has got and how far the user read."""

    name = TextField(primary_key=True)
    last_seq = IntegerField(default=0)
    read_seq = IntegerField(default=0)
    # Version 2 (migration 3): see there.
    kind = TextField(default="public")
    topic = TextField(default="")
    members = TextField(null=True)
    unread_base = IntegerField(default=0)
    unread_at = IntegerField(default=0)
    unread_read = IntegerField(default=-1)
    # Migration 4: see there.
    creator = TextField(null=True)

    class Meta:
        table_name = "rooms"


class MessageRow(BaseModel):
    """An entry of a room's log (a message in its current state, or an edit,
    reaction...); (room, seq) is unique."""

    id = AutoField()
    room = TextField()
    seq = IntegerField()
    client_id = TextField()
    author = TextField()
    text = TextField()
    ts = TextField()
    # Version 2 (migration 3): see there.
    kind = TextField(default="message")
    reply_to = IntegerField(null=True)
    edited = TextField(null=True)
    deleted = IntegerField(default=0)
    reactions = TextField(null=True)
    state_seq = IntegerField(default=0)
    detail = TextField(null=True)
    files = TextField(null=True)

    class Meta:
        table_name = "messages"
        indexes = ((("room", "seq"), True),)


class OutboxRow(BaseModel):
    """A write by the user (a message, an edit, a reaction, a read...) the server
    has not acknowledged yet."""

    id = AutoField()
    client_id = TextField(unique=True)
    room = TextField()
    text = TextField()
    created = TextField()
    failed = TextField(null=True)
    kind = TextField(default="message")
    target = IntegerField(null=True)
    target_client_id = TextField(null=True)
    detail = TextField(null=True)

    class Meta:
        table_name = "outbox"


class SettingRow(BaseModel):
    """A small per-account preference (last open room, window layout, ...)."""

    key = TextField(primary_key=True)
    value = TextField()

    class Meta:
        table_name = "settings"


class DraftRow(BaseModel):
    """What the user had typed in a room's composer and not sent."""

    room = TextField(primary_key=True)
    text = TextField()

    class Meta:
        table_name = "drafts"


class ReadPositionRow(BaseModel):
    """Another member's read position in a private or direct room."""

    room = TextField()
    user = TextField()
    seq = IntegerField()

    class Meta:
        table_name = "read_positions"
        primary_key = CompositeKey("room", "user")


MODELS: tuple[type[BaseModel], ...] = (
    RoomRow,
    MessageRow,
    OutboxRow,
    SettingRow,
    DraftRow,
    ReadPositionRow,
)
