"""A Version 1 database upgrades in place to the conversations schema, and serves on.

The database is made the way the code before Version 2 made it (commit
1bb2cfd ran only the first migration step; steps are frozen once released,
so ``MIGRATIONS[:1]`` builds exactly that schema), filled with raw SQL as that
code wrote rows, and then a real server starts on it: the upgrade runs at
start, the old history reads in the current-state shape, a public room named
``dm-...`` (a name Version 2 reserves) is renamed, nobody becomes an admin,
and the seqs go on from where they were.
"""

from __future__ import annotations

from pathlib import Path

from chat_protocol import Message
from chat_server.config import ServerConfig
from chat_server.security import hash_password
from chat_server.storage.database import SQLITE_FILE_NAME, sqlite_database
from chat_server.storage.migrations import MIGRATIONS, migrate, schema_version

from .wire import PASSWORD, Writer, api, http, joined, recv, running

TS = "2026-11-01T09:00:00.000Z"


async def make_v1_database(data_dir: Path) -> None:
    db = sqlite_database(data_dir / SQLITE_FILE_NAME, lock_timeout=5.0)
    try:
        migrate(db, MIGRATIONS[:1])
        password_hash = await hash_password(PASSWORD)
        for name in ("alice", "Bob"):
            db.execute_sql(
                "INSERT INTO users (name, name_key, password_hash, created) VALUES (?, ?, ?, ?)",
                (name, name.lower(), password_hash, TS),
            )
        for name, last_seq in (("general", 2), ("dm-ops", 1), ("old-dm-ops", 0)):
            db.execute_sql(
                "INSERT INTO rooms (name, last_seq, created) VALUES (?, ?, ?)",
                (name, last_seq, TS),
            )
        for room_id, seq, author, text in (
            (1, 1, "alice", "hello from v1"),
            (1, 2, "Bob", "hi alice"),
            (2, 1, "alice", "ops talk"),
        ):
            db.execute_sql(
                "INSERT INTO messages (room_id, seq, author, client_id, text, ts)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (room_id, seq, author, f"c{room_id}-{seq}", text, TS),
            )
        assert schema_version(db) == 1
    finally:
        db.close()


async def test_a_v1_database_upgrades_in_place_and_serves_version_2(
    server_config: ServerConfig,
) -> None:
    await make_v1_database(server_config.data_dir)
    async with running(server_config) as server, http(server) as session:
        status, body = await api(
            session, "POST", "/api/v1/login", "", {"username": "bob", "password": PASSWORD}
        )
        assert status == 200
        token = body["token"]
        status, rooms = await api(session, "GET", "/api/v1/rooms?v=2", token)
        names = {room["name"]: room for room in rooms["rooms"]}
        # The reserved name moved out of the way, next to a room already called like that.
        assert set(names) == {"general", "old-dm-ops", "old-dm-ops-2"}
        assert names["old-dm-ops-2"]["last_seq"] == 1 and names["old-dm-ops-2"]["kind"] == "public"
        assert names["general"]["unread"] == 1  # alice's message; Bob's own does not count
        # Who created a room was not kept before Version 2.
        assert [room["creator"] for room in names.values()] == [None, None, None]
        status, users = await api(session, "GET", "/api/v1/users", token)
        assert [user["admin"] for user in users["users"]] == [False, False]

        async with joined(server, token, since={"general": 0}, protocol=2) as ws:
            old = [await recv(ws), await recv(ws)]
            assert [m.text for m in old if isinstance(m, Message)] == ["hello from v1", "hi alice"]
            bob = Writer(server, token, ws)
            # Old messages take v2 writes; the log goes on after the old seqs.
            assert await bob.write("edit", "general", target=2, text="hi alice!") == ("ack", 3)
            assert await bob.write("message", "general", text="new", reply_to=1) == ("ack", 4)
        status, page = await api(session, "GET", "/api/v1/rooms/general/messages", token)
        assert [(m["seq"], m["text"]) for m in page["messages"]] == [
            (1, "hello from v1"),
            (2, "hi alice!"),
            (4, "new"),
        ]
        assert "edited" in page["messages"][1] and page["messages"][2]["reply_to"] == 1
