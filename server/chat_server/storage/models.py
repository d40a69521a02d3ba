"""The server's tables as Peewee models, bound to a database only at start-up.

The models are declared against :data:`database_proxy`, an uninitialised
:class:`peewee.DatabaseProxy`; :class:`~.peewee_store.PeeweeChatStore` binds it
once in ``open()`` to the SQLite or PostgreSQL database the configuration
names. Rows never leave the storage package: the store turns them into protocol
objects (:class:`~chat_protocol.Message`, ``RoomInfo``) first.

These classes describe the *current* schema for queries. The tables themselves
are created and changed only by the numbered steps in :mod:`.migrations`.
"""

from __future__ import annotations

import peewee

# Bound in PeeweeChatStore.open(), unbound in close(). One store per process.
database_proxy = peewee.DatabaseProxy()


class BaseModel(peewee.Model):
    """Ties every model to :data:`database_proxy`."""

    class Meta:
        database = database_proxy


class User(BaseModel):
    """An account. ``name`` keeps the spelling chosen at registration;
    ``name_key`` (its lower case) is what makes names unique case-insensitively
    and what look-ups compare."""

    id = peewee.AutoField()
    name = peewee.TextField()
    name_key = peewee.TextField(unique=True)
    password_hash = peewee.TextField()
    created = peewee.TextField()
    # When the operator disabled the account (None: enabled); it cannot sign in.
    disabled = peewee.TextField(null=True)
    # When the account was removed (None: it exists). The row stays, so the
    # name stays taken: nobody can register it and inherit its history.
    removed = peewee.TextField(null=True)
    # 1 for an admin (made only by the operator or the hosting app), else 0.
    admin = peewee.IntegerField(default=0)

    class Meta:
        table_name = "users"


class Token(BaseModel):
    """A session token, stored only as its SHA-256 so that a leaked database
    does not hand out sessions."""

    hash = peewee.TextField(primary_key=True)
    user = peewee.ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    created = peewee.TextField()
    # The session's opaque id, the one a client may see and name (never the hash).
    session_id = peewee.TextField(unique=True, null=True)
    # Last use, written at most once per ServerConfig.session_touch_seconds
    # (None: not since ``created``); a session unused for session_days ends.
    last_used = peewee.TextField(null=True)
    # The User-Agent that signed in, trimmed (None: from before it was kept).
    agent = peewee.TextField(null=True)

    class Meta:
        table_name = "tokens"


class Revocation(BaseModel):
    """A session that ended (logout, reset, disable, removal): every server
    process on the database reads this log to close the sockets and polls that
    still use it (see :mod:`chat_server.revocation`)."""

    id = peewee.BigAutoField()
    username = peewee.TextField()
    token_hash = peewee.TextField()
    created = peewee.TextField(index=True)

    class Meta:
        table_name = "revocations"


class Room(BaseModel):
    """A room and the seq of its newest log entry; ``last_seq`` is the counter the
    next entry's seq is drawn from, inside the transaction that stores it.

    ``kind``: public, private or direct. A deleted room keeps its row (with
    ``deleted`` 1 and its log erased) so that its name is never used again.
    """

    id = peewee.AutoField()
    name = peewee.TextField(unique=True)
    last_seq = peewee.BigIntegerField(default=0)
    created = peewee.TextField()
    kind = peewee.TextField(default="public")
    topic = peewee.TextField(default="")
    creator = peewee.TextField(default="")
    deleted = peewee.IntegerField(default=0)

    class Meta:
        table_name = "rooms"


class StoredMessage(BaseModel):
    """One entry of a room's log (``kind``: message, edit, delete, react, member, topic).

    ``author`` is the acting user's canonical name: a plain string, so
    history survives the deletion of the account. A message row holds its
    CURRENT state (``text`` replaced by edits, ``edited``, ``deleted``);
    ``target`` is the seq an edit, delete or react aims at; ``detail`` and
    ``flag`` are a react's emoji and on, a member entry's target user and
    join (1) or leave (0); a topic entry's topic is its ``text``.
    """

    id = peewee.BigAutoField()
    room = peewee.ForeignKeyField(Room, backref="messages")
    seq = peewee.BigIntegerField()
    author = peewee.TextField()
    client_id = peewee.TextField()
    text = peewee.TextField()
    ts = peewee.TextField()
    kind = peewee.TextField(default="message")
    target = peewee.BigIntegerField(null=True)
    reply_to = peewee.BigIntegerField(null=True)
    edited = peewee.TextField(null=True)
    deleted = peewee.IntegerField(default=0)
    detail = peewee.TextField(default="")
    flag = peewee.IntegerField(null=True)

    class Meta:
        table_name = "messages"
        indexes = (
            (("room", "seq"), True),
            (("author", "client_id"), True),
        )


class Invite(BaseModel):
    """An invite code (``chat-server invite create``), stored only as its SHA-256.

    ``uses_left`` counts down with each account made with it; ``expires`` is a
    protocol time stamp, which compares correctly as text.
    """

    code_hash = peewee.TextField(primary_key=True)
    uses_left = peewee.IntegerField()
    expires = peewee.TextField()
    created = peewee.TextField()

    class Meta:
        table_name = "invites"


class FileBlob(BaseModel):
    """The bytes of one content, stored once (see :mod:`.files`) however often uploaded.

    ``holders`` counts the upload records that point here; at 0 nothing holds
    the bytes any more and the sweep removes them with the row.
    """

    sha256 = peewee.TextField(primary_key=True)
    size = peewee.BigIntegerField()
    holders = peewee.IntegerField(default=0)
    created = peewee.TextField()

    class Meta:
        table_name = "file_blobs"


class Upload(BaseModel):
    """One upload (``POST /api/v1/files``): its id, name and type, and who sent it.

    ``messages`` counts the messages that carry it; an upload no message
    carries expires 24 h after ``created``. The name is only ever metadata:
    it never reaches the file system.
    """

    id = peewee.TextField(primary_key=True)
    # The blob's key (a foreign key in the schema, plain text here: rows are
    # read by address, never joined).
    sha256 = peewee.TextField()
    name = peewee.TextField()
    type = peewee.TextField()
    size = peewee.BigIntegerField()
    uploader = peewee.TextField(index=True)
    created = peewee.TextField(index=True)
    messages = peewee.IntegerField(default=0)

    class Meta:
        table_name = "uploads"


class MessageFile(BaseModel):
    """One file a message carries: the upload's id, in the order the sender gave.

    The rows of a message go when it is deleted (its uploads released with
    them) or its room is; the upload's name, size and type are read from
    :class:`Upload` by a join.
    """

    id = peewee.BigAutoField()
    room = peewee.ForeignKeyField(Room, on_delete="CASCADE")
    seq = peewee.BigIntegerField()
    position = peewee.IntegerField()
    upload = peewee.TextField(index=True)

    class Meta:
        table_name = "message_files"
        indexes = ((("room", "seq", "position"), True),)


class StoredReaction(BaseModel):
    """One user's reaction on one message: the current state the react entries built."""

    id = peewee.BigAutoField()
    room = peewee.ForeignKeyField(Room, on_delete="CASCADE")
    seq = peewee.BigIntegerField()
    user = peewee.TextField()
    emoji = peewee.TextField()

    class Meta:
        table_name = "reactions"
        indexes = ((("room", "seq", "user", "emoji"), True),)


class Membership(BaseModel):
    """A member of a private or direct room (``user``: canonical name, ``user_key``: lower case)."""

    id = peewee.AutoField()
    room = peewee.ForeignKeyField(Room, on_delete="CASCADE")
    user = peewee.TextField()
    user_key = peewee.TextField()

    class Meta:
        table_name = "members"
        indexes = ((("room", "user_key"), True),)


class ReadPosition(BaseModel):
    """How far a user has read a room (forward only); not part of the log."""

    id = peewee.AutoField()
    room = peewee.ForeignKeyField(Room, on_delete="CASCADE")
    user_key = peewee.TextField()
    seq = peewee.BigIntegerField()

    class Meta:
        table_name = "reads"
        indexes = ((("user_key", "room"), True),)
