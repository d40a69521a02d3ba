"""Peewee models of the client cache: one class per table of :mod:`.migrations`.

The models are declared once, without a database: :class:`~.cache.ChatCache`
binds them to its own file for the duration of each call (``bind_ctx``), so two
caches (two accounts, or a test's two clients) can be open in one process.
They never leave the storage package: the cache hands out protocol objects and
small frozen dataclasses, never rows.
"""

from __future__ import annotations

from peewee import AutoField, IntegerField, Model, TextField


class BaseModel(Model):
    """Common base: no database of its own (bound per call by the cache)."""


class RoomRow(BaseModel):
    """A room the user knows, how far the server has got and how far the user read."""

    name = TextField(primary_key=True)
    last_seq = IntegerField(default=0)
    read_seq = IntegerField(default=0)

    class Meta:
        table_name = "rooms"


class MessageRow(BaseModel):
    """A message as the server stored it; (room, seq) is unique."""

    id = AutoField()
    room = TextField()
    seq = IntegerField()
    client_id = TextField()
    author = TextField()
    text = TextField()
    ts = TextField()

    class Meta:
        table_name = "messages"
        indexes = ((("room", "seq"), True),)


class OutboxRow(BaseModel):
    """A message typed by the user that the server has not acknowledged yet."""

    id = AutoField()
    client_id = TextField(unique=True)
    room = TextField()
    text = TextField()
    created = TextField()
    failed = TextField(null=True)

    class Meta:
        table_name = "outbox"


class SettingRow(BaseModel):
    """A small per-account preference (last open room, window layout, ...)."""

    key = TextField(primary_key=True)
    value = TextField()

    class Meta:
        table_name = "settings"


MODELS: tuple[type[BaseModel], ...] = (RoomRow, MessageRow, OutboxRow, SettingRow)
