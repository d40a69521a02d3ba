"""Numbered schema migrations: the only code that creates or changes tables.

:data:`MIGRATIONS` lists the steps from the very first schema on, numbered
1, 2, 3, ... Table ``schema_version`` records which steps a database has had,
so :func:`migrate` on a fresh database runs 1..N and on an existing one only
the steps it lacks. A later schema change is a new step appended to the list
(never an edit of an old one), for example with ``playhouse.migrate``'s
``SchemaMigrator``, and the models in :mod:`.models` follow it.

Each step declares the tables it creates as frozen copies instead of importing
:mod:`.models`: the models describe the newest schema, step 1 must always
create the first one, or step 2 would meet a column it is about to add.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run_migrations

from chat_protocol.rules import now_ts

from .search_index import create_search_index

# Any fixed number: the key of the PostgreSQL advisory lock that keeps two
# servers starting at once on one database from migrating it twice.
_PG_MIGRATION_LOCK = 0x63686174  # "chat"


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema step."""

    version: int
    description: str
    apply: Callable[[peewee.Database], None]


class _SchemaVersion(peewee.Model):
    """One row per applied step."""

    version = peewee.IntegerField(primary_key=True)
    description = peewee.TextField()
    applied = peewee.TextField()

    class Meta:
        table_name = "schema_version"


def _first_schema(db: peewee.Database) -> None:
    """Users, tokens, rooms and messages as the first release had them."""

    class User(peewee.Model):
        name = peewee.TextField()
        name_key = peewee.TextField(unique=True)
        password_hash = peewee.TextField()
        created = peewee.TextField()

        class Meta:
            table_name = "users"

    class Token(peewee.Model):
        hash = peewee.TextField(primary_key=True)
        user = peewee.ForeignKeyField(User, on_delete="CASCADE")
        created = peewee.TextField()

        class Meta:
            table_name = "tokens"

    class Room(peewee.Model):
        name = peewee.TextField(unique=True)
        last_seq = peewee.BigIntegerField(default=0)
        created = peewee.TextField()

        class Meta:
            table_name = "rooms"

    class StoredMessage(peewee.Model):
        id = peewee.BigAutoField()
        room = peewee.ForeignKeyField(Room)
        seq = peewee.BigIntegerField()
        author = peewee.TextField()
        client_id = peewee.TextField()
        text = peewee.TextField()
        ts = peewee.TextField()

        class Meta:
            table_name = "messages"
            indexes = (
                (("room", "seq"), True),
                (("author", "client_id"), True),
            )

    tables = [User, Token, Room, StoredMessage]
    with db.bind_ctx(tables):
        db.create_tables(tables, safe=False)


def _accounts_and_sessions(db: peewee.Database) -> None:
    """Disabled and removed accounts, sessions that can be listed and expire, revocations.

    - ``users.disabled`` / ``users.removed``: the time the operator disabled
      or removed the account (NULL: not). A removed account keeps its row, so
      its name stays taken and nobody inherits its history.
    - ``tokens.session_id`` (an opaque id a client may see, unlike the hash),
      ``tokens.last_used`` (NULL: never touched since ``created``) and
      ``tokens.agent`` (the User-Agent at login; NULL: unknown). Existing
      tokens get an id each.
    - ``revocations``: a log of ended sessions, read by every server process
      on the database to close the sockets and polls that use them.
    """
    migrator = SchemaMigrator.from_database(db)
    run_migrations(
        migrator.add_column("users", "disabled", peewee.TextField(null=True)),
        migrator.add_column("users", "removed", peewee.TextField(null=True)),
        migrator.add_column("tokens", "session_id", peewee.TextField(null=True)),
        migrator.add_column("tokens", "last_used", peewee.TextField(null=True)),
        migrator.add_column("tokens", "agent", peewee.TextField(null=True)),
    )
    cursor = db.execute_sql("SELECT hash FROM tokens")  # type: ignore[no-untyped-call]
    for (token_hash,) in cursor.fetchall():
        db.execute_sql(  # type: ignore[no-untyped-call]
            f"UPDATE tokens SET session_id = {db.param} WHERE hash = {db.param}",
            (secrets.token_urlsafe(12), token_hash),
        )
    run_migrations(migrator.add_index("tokens", ("session_id",), unique=True))

    class Revocation(peewee.Model):
        id = peewee.BigAutoField()
        username = peewee.TextField()
        token_hash = peewee.TextField()
        created = peewee.TextField(index=True)

        class Meta:
            table_name = "revocations"

    with db.bind_ctx([Revocation]):
        db.create_tables([Revocation], safe=False)


def _invites(db: peewee.Database) -> None:
    """Invite codes for ``--registration invite`` (stored as their SHA-256)."""

    class Invite(peewee.Model):
        code_hash = peewee.TextField(primary_key=True)
        uses_left = peewee.IntegerField()
        expires = peewee.TextField()
        created = peewee.TextField()

        class Meta:
            table_name = "invites"

    with db.bind_ctx([Invite]):
        db.create_tables([Invite], safe=False)


def _files(db: peewee.Database) -> None:
    """Uploaded files: the bytes' blobs (one per content) and the uploads that hold them."""

    class FileBlob(peewee.Model):
        sha256 = peewee.TextField(primary_key=True)
        size = peewee.BigIntegerField()
        holders = peewee.IntegerField(default=0)
        created = peewee.TextField()

        class Meta:
            table_name = "file_blobs"

    class Upload(peewee.Model):
        id = peewee.TextField(primary_key=True)
        blob = peewee.ForeignKeyField(FileBlob, column_name="sha256")
        name = peewee.TextField()
        type = peewee.TextField()
        size = peewee.BigIntegerField()
        uploader = peewee.TextField(index=True)
        created = peewee.TextField(index=True)
        messages = peewee.IntegerField(default=0)

        class Meta:
            table_name = "uploads"

    with db.bind_ctx([FileBlob, Upload]):
        db.create_tables([FileBlob, Upload], safe=False)


def _conversations(db: peewee.Database) -> None:
    """Version 2: the room log, room kinds and members, reactions, read positions, admins.

    Plain ``ALTER TABLE ... ADD COLUMN ... DEFAULT``, which SQLite and
    PostgreSQL both run in place without copying a table. Every existing
    row keeps its meaning: rooms are public, entries are messages, nobody is
    an admin. A public room named ``dm-...`` (a name Version 2 reserves for
    direct rooms) is renamed ``old-dm-...``.
    """
    for table, column, spec in (
        ("users", "admin", "INTEGER NOT NULL DEFAULT 0"),
        ("rooms", "kind", "TEXT NOT NULL DEFAULT 'public'"),
        ("rooms", "topic", "TEXT NOT NULL DEFAULT ''"),
        ("rooms", "creator", "TEXT NOT NULL DEFAULT ''"),
        ("rooms", "deleted", "INTEGER NOT NULL DEFAULT 0"),
        ("messages", "kind", "TEXT NOT NULL DEFAULT 'message'"),
        ("messages", "target", "BIGINT"),
        ("messages", "reply_to", "BIGINT"),
        ("messages", "edited", "TEXT"),
        ("messages", "deleted", "INTEGER NOT NULL DEFAULT 0"),
        ("messages", "detail", "TEXT NOT NULL DEFAULT ''"),
        ("messages", "flag", "INTEGER"),
    ):
        db.execute_sql(  # type: ignore[no-untyped-call]
            f"ALTER TABLE {table} ADD COLUMN {column} {spec}"
        )

    class Room(peewee.Model):
        name = peewee.TextField(unique=True)

        class Meta:
            table_name = "rooms"

    class StoredReaction(peewee.Model):
        id = peewee.BigAutoField()
        room = peewee.ForeignKeyField(Room, on_delete="CASCADE")
        seq = peewee.BigIntegerField()
        user = peewee.TextField()
        emoji = peewee.TextField()

        class Meta:
            table_name = "reactions"
            indexes = ((("room", "seq", "user", "emoji"), True),)

    class Membership(peewee.Model):
        room = peewee.ForeignKeyField(Room, on_delete="CASCADE")
        user = peewee.TextField()
        user_key = peewee.TextField()

        class Meta:
            table_name = "members"
            indexes = ((("room", "user_key"), True),)

    class ReadPosition(peewee.Model):
        room = peewee.ForeignKeyField(Room, on_delete="CASCADE")
        user_key = peewee.TextField()
        seq = peewee.BigIntegerField()

        class Meta:
            table_name = "reads"
            indexes = ((("user_key", "room"), True),)

    tables = [Room, StoredReaction, Membership, ReadPosition]
    with db.bind_ctx(tables):
        db.create_tables([StoredReaction, Membership, ReadPosition], safe=False)
        taken = {
            str(row[0]) for row in cast(Iterable[tuple[Any, ...]], Room.select(Room.name).tuples())
        }
        for name in sorted(name for name in taken if name.startswith("dm-")):
            new = base = ("old-" + name)[:64]
            counter = 1
            while new in taken:
                counter += 1
                new = f"{base[: 64 - len(str(counter)) - 1]}-{counter}"
            taken.add(new)
            Room.update(name=new).where(Room.name == name).execute()


def _message_files(db: peewee.Database) -> None:
    """Version 2, Files: which uploads each message carries, in order."""

    class Room(peewee.Model):
        name = peewee.TextField(unique=True)

        class Meta:
            table_name = "rooms"

    class MessageFile(peewee.Model):
        id = peewee.BigAutoField()
        room = peewee.ForeignKeyField(Room, on_delete="CASCADE")
        seq = peewee.BigIntegerField()
        position = peewee.IntegerField()
        upload = peewee.TextField(index=True)

        class Meta:
            table_name = "message_files"
            indexes = ((("room", "seq", "position"), True),)

    with db.bind_ctx([Room, MessageFile]):
        db.create_tables([MessageFile], safe=False)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "users, tokens, rooms and messages", _first_schema),
    Migration(
        2, "disabled and removed accounts, session details, revocations", _accounts_and_sessions
    ),
    Migration(3, "invite codes", _invites),
    Migration(4, "uploaded files", _files),
    Migration(
        5, "conversations: room log, kinds, members, reactions, reads, admins", _conversations
    ),
    Migration(6, "the full-text search index of messages", create_search_index),
    Migration(7, "the files messages carry", _message_files),
)


def migrate(db: peewee.Database, steps: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Bring ``db`` up to the newest step; return the versions applied now.

    Everything runs in one transaction, so a failing step leaves the database
    as it was. Steps must be numbered 1..N without holes.
    """
    if [step.version for step in steps] != list(range(1, len(steps) + 1)):
        raise ValueError("migrations must be numbered 1, 2, 3, ... without holes")
    applied_now: list[int] = []
    with db.bind_ctx([_SchemaVersion]), db.atomic():
        if isinstance(db, peewee.PostgresqlDatabase):
            # Held until the transaction ends; a second server waits here and
            # then finds the steps already recorded.
            db.execute_sql(  # type: ignore[no-untyped-call]
                "SELECT pg_advisory_xact_lock(%s)", (_PG_MIGRATION_LOCK,)
            )
        db.create_tables([_SchemaVersion], safe=True)
        done = {row.version for row in _SchemaVersion.select(_SchemaVersion.version)}
        for step in steps:
            if step.version in done:
                continue
            step.apply(db)
            _SchemaVersion.create(
                version=step.version, description=step.description, applied=now_ts()
            )
            applied_now.append(step.version)
    return applied_now


def schema_version(db: peewee.Database) -> int:
    """The newest step recorded in ``db`` (0 for a database never migrated)."""
    if not db.table_exists(_SchemaVersion._meta.table_name):
        return 0
    with db.bind_ctx([_SchemaVersion]):
        newest = _SchemaVersion.select(peewee.fn.MAX(_SchemaVersion.version)).scalar()
    return int(newest or 0)
