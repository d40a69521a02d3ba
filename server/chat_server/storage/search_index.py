"""The server's full-text index of messages: SQLite FTS5 or PostgreSQL ``tsvector``.

Both engines are fed the same tokens, cut once in Python by the contract's
rule (:mod:`chat_protocol.search`), and told to take them verbatim, so both
find exactly the same messages (one test suite runs against both):

- SQLite: the FTS5 table ``message_search(words)``, rowid = ``messages.id``,
  with the ``ascii`` tokenizer (our tokens hold no ASCII punctuation and no
  upper case, so it only splits at the spaces between them), ``detail=none``
  (no positions: the rule needs none, and they would make the index larger)
  and prefix queries ``"tok"*``. It is an ordinary FTS5 table, not a
  contentless one, because deleting from a contentless table needs SQLite
  3.43 (``contentless_delete``) and the Python of Debian 12 has 3.40; it
  stores the tokens, not the text. Beside it, ``message_search_terms`` lists
  every word the index holds: a query term that is the prefix of a few words
  is searched as those whole words (``("meet" OR "meeting")``), which FTS5
  reads lazily, newest first, stopping at the limit; as a prefix term
  (``"meet"*``) FTS5 would first merge the whole match list of every such
  word, a tenth of a second for a common word in a million messages. A word
  leaves the list when the last message holding it is deleted or edited.
- PostgreSQL: the table ``message_search(message_id, words tsvector)`` with a
  GIN index; ``array_to_tsvector`` and ``::tsquery`` take our tokens as
  lexemes as they are, which is what the ``simple`` configuration (no
  stemming, no stop words) does, without PostgreSQL's parser cutting the
  tokens again by its own idea of a word; prefix terms ``'tok':*``.

Rows are written in the transaction that writes the message:
:meth:`SearchIndex.add` is the one call in the append path (the group-commit
writer), :meth:`SearchIndex.index_edit` and :meth:`SearchIndex.unindex` are
for the edit and delete entries of the room log, inside their own write. A
message with no word (empty text, only punctuation) has no row.

On SQLite the append path buffers its rows (``add(..., later=True)``) and
:meth:`SearchIndex.write_pending` writes a whole batch's at once, with two
statements just before COMMIT (the writer calls it: see
:class:`.workers.Deferred`). A message committed on the event loop
(``InlineCommitter``, issue 17) leaves its row to a transaction of the
writer a moment later instead (:meth:`SearchIndex.carry_over`); a search
first waits for that, and a crash in between is made good at the next
start (:meth:`SearchIndex.catch_up`). Issue 12 found why batching matters
beyond the statements saved: FTS5 keeps the rows of a transaction in memory and writes
them out as one new segment at COMMIT, but also whenever a statement opens a
statement savepoint, which the next message's ``UPDATE ... RETURNING`` does.
With each message's row written at once, every message made a segment of its
own, which FTS5 then merged again and again: the index cost the writer about
three times what the message itself did, and fan-out lost a third.

Deleted words leave no trace where the engine allows it: FTS5's
``secure-delete`` option (SQLite 3.42 and later) is switched on at every
open, so a deleted row's tokens are removed from the index b-tree at once.
The server gets such an SQLite from the ``pysqlite3-binary`` dependency
(Linux x86_64), which Peewee prefers to the one Python was built with
(:data:`.database.sqlite_driver`). On an older SQLite the tokens row itself
is deleted, but the index segments keep the deleted message's words (its id
and the words, not the text) until FTS5 merges them; this is what made the
deleted-text-on-disk test fail once the index arrived on Debian 12's 3.40.
:meth:`SearchIndex.prepare` says so in the log. On
PostgreSQL a deleted row is gone from queries at once and from the disk
after the next VACUUM (autovacuum), as for every row there.

Order: newest first by ``messages.id``, the order in which the writer
inserted them, which within a room is the seq order (a room's seqs are drawn
under its row lock, in insert order) and across rooms the order of ``ts``
(each process stamps ``ts`` as it inserts; between several server processes
their clocks may differ by milliseconds). FTS5 reads its match lists in that
order and stops at the limit, which is what keeps a search over a million
messages fast; PostgreSQL's GIN index hands over every match, which the
query then sorts for the newest. The page is then sorted by seq (in one room)
or ``ts`` (across rooms) to keep the contract's word exactly.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any, cast

import peewee

from chat_protocol import Message
from chat_protocol.search import (
    MAX_PREFIX_EXPANSIONS,
    fts5_match,
    has_fts5_secure_delete,
    index_tokens,
    prefix_range,
    tsquery,
)

from .base import SearchRequest

log = logging.getLogger(__name__)

_SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE message_search USING fts5("
    "words, tokenize = 'ascii', detail = 'none', columnsize = 0)",
    # Every word the index holds, so that a query term can be expanded to the
    # words it is a prefix of (see SearchIndex.search).
    "CREATE TABLE message_search_terms (term TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID",
)

_PG_CREATE = (
    "CREATE TABLE message_search ("
    " message_id BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,"
    " words TSVECTOR NOT NULL)",
    "CREATE INDEX message_search_words ON message_search USING GIN (words)",
)


# The rows of ``messages`` that the index holds: messages, not deleted. The
# room log's other entries (an edit, a topic) have text too, but a search
# finds messages, by their current text.
_INDEXED = "kind = 'message' AND deleted = 0"


def _is_sqlite(db: peewee.Database) -> bool:
    return isinstance(db, peewee.SqliteDatabase)


def _unique(tokens: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(tokens))


class SearchIndex:
    """The search index of one store's database; its methods run on the store's threads.

    :meth:`add`, :meth:`index_edit` and :meth:`unindex` run inside a write
    transaction of the :class:`~.workers.GroupCommitWriter`; :meth:`search`
    on a reader.
    """

    def __init__(self, db: peewee.Database) -> None:
        self._db = db
        self._sqlite = _is_sqlite(db)
        # SQLite: (message id, tokens) of rows buffered by add(later=True), for
        # write_pending(); only the thread holding the write transaction
        # touches it (the writer's transaction_lock).
        # The text too, for carry_over (see write_carried).
        self._pending: list[tuple[int, list[str], str]] = []
        # The prefix lengths (in characters) FTS5 keeps a match list for;
        # read from the table by prepare().
        self._prefix_lengths: frozenset[int] = frozenset()
        p = db.param
        if self._sqlite:
            # VALUES with the message's id, not INSERT ... SELECT: SQLite runs
            # an INSERT from a SELECT into a virtual table through a temporary
            # table, which made it cost twice as much (issue 14's write cost).
            self._add = "INSERT INTO message_search (rowid, words) VALUES (?, ?)"
            # Many rows in one statement, from a JSON array of [id, words] pairs.
            self._add_many = (
                "INSERT INTO message_search (rowid, words)"
                " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')"
                " FROM json_each(?)"
            )
            self._id_of = f"SELECT id FROM messages WHERE room_id = {p} AND seq = {p}"
            self._remove = f"DELETE FROM message_search WHERE rowid = {p}"
            # One statement for all of a message's words (a JSON array): cheaper
            # on the hot path than one INSERT per word.
            self._add_terms = (
                "INSERT OR IGNORE INTO message_search_terms (term)"
                f" SELECT value FROM json_each({p})"
            )
            self._key = "s.rowid"
            # CROSS JOIN is SQLite's way of fixing the join order: the index is
            # read first, newest match first, and the query stops at the limit.
            # Left to itself, SQLite 3.51 reads a room's every message by the
            # room's index and asks FTS5 about each one, then sorts: seconds
            # for one room of a million messages (3.40 happened to choose well).
            self._join = (
                "CROSS JOIN messages m ON m.id = s.rowid CROSS JOIN rooms r ON r.id = m.room_id"
            )
            self._match = f"message_search MATCH {p}"
        else:
            self._add = (
                f"INSERT INTO message_search (message_id, words)"
                f" SELECT id, array_to_tsvector({p}::text[])"
                f" FROM messages WHERE room_id = {p} AND seq = {p}"
            )
            self._remove = f"DELETE FROM message_search WHERE message_id = {p}"
            self._key = "s.message_id"
            self._join = "JOIN messages m ON m.id = s.message_id JOIN rooms r ON r.id = m.room_id"
            self._match = f"s.words @@ {p}::tsquery"
        self._find_id = (
            "SELECT m.id, m.room_id FROM messages m JOIN rooms r ON r.id = m.room_id"
            f" WHERE r.name = {p} AND m.seq = {p}"
        )

    # Schema ---------------------------------------------------------------

    def create(self) -> None:
        """Create the index and fill it from every stored message (a migration step)."""
        for statement in _SQLITE_CREATE if self._sqlite else _PG_CREATE:
            self._execute(statement)
        self.rebuild()

    def rebuild(self) -> int:
        """Index every stored message afresh; return how many got a row.

        Reads the messages in batches by id so that a million of them never sit
        in memory at once.
        """
        self._execute("DELETE FROM message_search")
        if self._sqlite:
            self._execute("DELETE FROM message_search_terms")
        return self._index_after(0)

    def _index_after(self, after: int) -> int:
        """Index the messages with an id above ``after`` (none of which has a row); how many."""
        p = self._db.param
        indexed = 0
        while True:
            rows = self._execute(
                f"SELECT id, room_id, seq, text FROM messages WHERE id > {p}"
                f" AND {_INDEXED} ORDER BY id LIMIT 2000",
                (after,),
            ).fetchall()
            if not rows:
                return indexed
            cursor = self._cursor()
            for message_id, room_id, seq, text in rows:
                indexed += self.add(cursor, room_id, seq, text, message_id)
            after = rows[-1][0]

    def catch_up(self) -> int:
        """At every open (SQLite): index the newest messages the index lacks; how many.

        A message committed on the event loop gets its row in a later
        transaction (:meth:`carry_over`); a crash in between leaves it
        without one. Rows are committed in the order of the messages' ids
        (a write that indexes a newer message at once hands the carried
        rows to the writer before it: ``PeeweeChatStore._index_in_order``),
        so what can lack one is after the newest message that has one (the
        messages after it that have no words, or were deleted, are looked at
        again each time; they are few).
        """
        if not self._sqlite:
            return 0
        newest = self._execute(
            "SELECT rowid FROM message_search ORDER BY rowid DESC LIMIT 1"
        ).fetchone()
        indexed = self._index_after(newest[0] if newest else 0)
        if indexed:
            log.info("indexed %d messages for search that a stop had left out", indexed)
        return indexed

    def prepare(self) -> None:
        """At every open: switch deleted words' erasure on where the engine has it.

        The option is stored in the FTS5 table, so a database made on an older
        SQLite gets it as soon as a newer one opens it.
        """
        if not self._sqlite:
            return
        self._prefix_lengths = self._prefix_index()
        (version,) = self._execute("SELECT sqlite_version()").fetchone()
        if has_fts5_secure_delete(str(version)):
            self._execute(
                "INSERT INTO message_search (message_search, rank) VALUES ('secure-delete', 1)"
            )
        else:
            # INFO: the operator's log (chat-server logs at INFO) says it once
            # per start; the desktop app hosting a chat keeps its stderr quiet.
            log.info(
                "SQLite %s has no FTS5 secure-delete (3.42 and later): the search index keeps "
                "the words of deleted or edited messages (without their text) until FTS5 "
                "merges its segments; install pysqlite3-binary, or a Python with a newer SQLite",
                version,
            )

    def _prefix_index(self) -> frozenset[int]:
        """The ``prefix`` option of the FTS5 table as made (none before migration 8)."""
        row = self._execute(
            "SELECT sql FROM sqlite_master WHERE name = 'message_search'"
        ).fetchone()
        found = re.search(r"prefix\s*=\s*'([\d ]+)'", str(row[0]) if row else "")
        return frozenset(int(n) for n in found.group(1).split()) if found else frozenset()

    # Writes (inside the writer's transaction) -------------------------------

    def add(
        self,
        cursor: Any,
        room_id: int,
        seq: int,
        text: str,
        message_id: int | None = None,
        *,
        later: bool = False,
    ) -> int:
        """Index the message just inserted as (room_id, seq); 1 if it got a row, else 0.

        The append path's hook: ``cursor`` is the writer's, and the statement
        is built once, so the index costs one INSERT per message (and one for
        the word list on SQLite). ``message_id``: the row's id where the caller
        has it (SQLite's ``lastrowid``), which spares looking it up.

        ``later`` (SQLite, with ``message_id``): only buffer the row;
        :meth:`write_pending` writes it, before this transaction commits.
        The caller's transaction must be one whose holder calls that (see
        :class:`.workers.Deferred`), and must not be a savepoint that could be
        rolled back on its own.
        """
        tokens = index_tokens(text)
        if not tokens:
            return 0
        if later and self._sqlite and message_id is not None:
            self._pending.append((message_id, tokens, text))
            return 1
        if self._sqlite:
            if message_id is None:
                cursor.execute(self._id_of, (room_id, seq))
                found = cursor.fetchone()
                if found is None:
                    return 0
                message_id = int(found[0])
            cursor.execute(self._add, (message_id, " ".join(tokens)))
            cursor.execute(self._add_terms, (json.dumps(_unique(tokens)),))
        else:
            cursor.execute(self._add, (_unique(tokens), room_id, seq))
        return 1

    def write_pending(self) -> None:
        """Write the rows :meth:`add` buffered, in the calling thread's transaction.

        Two statements for any number of rows: the index rows, and the words
        for the word list.
        """
        pending = self._pending
        if not pending:
            return
        self._pending = []
        cursor = self._cursor()
        rows = [(message_id, " ".join(tokens)) for message_id, tokens, _ in pending]
        cursor.execute(self._add_many, (json.dumps(rows),))
        words = _unique(token for _, tokens, _ in pending for token in tokens)
        cursor.execute(self._add_terms, (json.dumps(words),))

    def drop_pending(self) -> None:
        """Forget the buffered rows: the transaction that made them was rolled back."""
        self._pending = []

    def carry_over(self) -> list[tuple[int, list[str], str]]:
        """Take the buffered rows of a COMMIT that did not write them (an inline
        commit), for :meth:`write_carried` in a later transaction."""
        carried, self._pending = self._pending, []
        return carried

    def write_carried(self, carried: list[tuple[int, list[str], str]]) -> None:
        """In the writer's transaction: buffer again the rows :meth:`carry_over`
        took, as the messages are now (written before COMMIT).

        One query tells which messages still want them: none for a message
        deleted meanwhile, and none for one that has its row already (an edit
        meanwhile indexes its new words); a message edited meanwhile to text
        without words gets none either (its text is not what was carried).
        """
        if not carried:
            return
        live = dict(
            self._execute(
                "SELECT id, text FROM messages WHERE id IN (SELECT value FROM json_each(?))"
                f" AND {_INDEXED}"
                " AND NOT EXISTS (SELECT 1 FROM message_search s WHERE s.rowid = messages.id)",
                (json.dumps([message_id for message_id, _, _ in carried]),),
            ).fetchall()
        )
        self._pending.extend(row for row in carried if live.get(row[0]) == row[2])

    def index_edit(self, room: str, seq: int, text: str) -> None:
        """Replace the words of the stored message ``room``/``seq`` by those of ``text``
        (its new, current text). Nothing if there is no such message."""
        found = self._execute(self._find_id, (room, seq)).fetchone()
        if found is None:
            return
        message_id, room_id = found
        self._remove_row(message_id)
        self.add(self._cursor(), room_id, seq, text, message_id)

    def unindex(self, room: str, seq: int) -> None:
        """Remove the message ``room``/``seq`` from the index (deleted)."""
        found = self._execute(self._find_id, (room, seq)).fetchone()
        if found is not None:
            self._remove_row(found[0])

    def unindex_room(self, room: str) -> int:
        """Remove every message of ``room`` from the index (the room is deleted); how many.

        Call it before the room's messages go: on SQLite the index rows are not
        tied to them by a foreign key (on PostgreSQL they are, and would go too).
        """
        ids = self._execute(
            "SELECT m.id FROM messages m JOIN rooms r ON r.id = m.room_id"
            f" WHERE r.name = {self._db.param}",
            (room,),
        ).fetchall()
        for (message_id,) in ids:
            self._remove_row(message_id)
        return len(ids)

    def _remove_row(self, message_id: int) -> None:
        """Delete a message's index row, and from the word list the words no message has now."""
        if not self._sqlite:
            self._execute(self._remove, (message_id,))
            return
        row = self._execute(
            "SELECT words FROM message_search WHERE rowid = ?", (message_id,)
        ).fetchone()
        self._execute(self._remove, (message_id,))
        for word in _unique(str(row[0]).split() if row else []):
            still = self._execute(
                "SELECT rowid FROM message_search WHERE message_search MATCH ? LIMIT 1",
                (fts5_match([word], {word: [word]}),),
            ).fetchone()
            if still is None:
                self._execute("DELETE FROM message_search_terms WHERE term = ?", (word,))

    # Reads ----------------------------------------------------------------

    def search(self, request: SearchRequest) -> list[Message]:
        """The newest ``request.limit`` messages matching every term (as a prefix), newest first."""
        terms, rooms, room, before = request.terms, request.rooms, request.room, request.before
        if before is not None and room is None:
            raise ValueError("before needs room")
        if rooms is not None and not rooms:
            return []
        p = self._db.param
        where = [self._match]
        if self._sqlite:
            expansions = self._expansions(terms)
            if expansions is None:
                return []
            match = fts5_match(terms, expansions)
        else:
            match = tsquery(terms)
        params: list[Any] = [match]
        if room is not None:
            where.append(f"r.name = {p}")
            params.append(room)
        if rooms is not None:
            where.append(f"r.name IN ({', '.join([p] * len(rooms))})")
            params.extend(rooms)
        if before is not None:
            where.append(f"m.seq < {p}")
            params.append(before)
            bound = self._id_bound(cast(str, room), before)
            if bound is not None:
                # The ids below the first message at or after ``before``: lets the
                # engine start reading its match list there instead of at the top.
                where.append(f"{self._key} < {p}")
                params.append(bound)
        params.append(request.limit)
        rows = self._execute(
            "SELECT r.name, m.seq, m.client_id, m.author, m.text, m.ts"
            f" FROM message_search s {self._join}"
            f" WHERE {' AND '.join(where)} ORDER BY {self._key} DESC LIMIT {p}",
            tuple(params),
        ).fetchall()
        found = [
            Message(room=name, seq=seq, client_id=client_id, author=author, text=text, ts=ts)
            for name, seq, client_id, author, text, ts in rows
        ]
        if room is not None:
            return sorted(found, key=lambda message: message.seq, reverse=True)
        return sorted(found, key=lambda message: message.ts, reverse=True)

    def _expansions(self, terms: list[str]) -> dict[str, list[str]] | None:
        """For each term, the indexed words it is a prefix of (when few); None if a term has none.

        A prefix term makes FTS5 merge the whole match list of every word it
        covers before it can give the newest 20, which for a common word in a
        million messages takes a tenth of a second; the same words as an OR of
        whole words are read lazily, newest first, in well under a millisecond.
        """
        found: dict[str, list[str]] = {}
        for term in terms:
            if len(term) in self._prefix_lengths:
                # FTS5 keeps this term's own match list (prefix index): read lazily.
                continue
            words = [
                word
                for (word,) in self._execute(
                    "SELECT term FROM message_search_terms WHERE term >= ? AND term < ?"
                    " ORDER BY term LIMIT ?",
                    (*prefix_range(term), MAX_PREFIX_EXPANSIONS + 1),
                ).fetchall()
            ]
            if not words:
                return None
            if len(words) <= MAX_PREFIX_EXPANSIONS:
                found[term] = words
        return found

    def _id_bound(self, room: str, before: int) -> int | None:
        p = self._db.param
        row = self._execute(
            "SELECT m.id FROM messages m JOIN rooms r ON r.id = m.room_id"
            f" WHERE r.name = {p} AND m.seq >= {p} ORDER BY m.seq LIMIT 1",
            (room, before),
        ).fetchone()
        return None if row is None else int(row[0])

    # Plumbing -------------------------------------------------------------

    def _cursor(self) -> Any:
        return cast(Any, self._db).cursor()  # the stubs leave cursor() untyped

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self._db.execute_sql(sql, params)  # type: ignore[no-untyped-call]


def create_search_index(db: peewee.Database) -> None:
    """The migration step: the index table, filled from the messages already stored."""
    SearchIndex(db).create()


# The prefix lengths, in characters, for which FTS5 keeps match lists of their
# own (migration 8). A query term of 2 or 3 characters ("pa", "mee") is the
# prefix of hundreds of words: as an OR of them all FTS5 had to step hundreds
# of match lists at once (a 3-word search in one room of a million messages
# took 48 ms at p99), as a prefix term without this index it merges them all
# first. With it, such a term is one match list read lazily, newest first.
PREFIX_LENGTHS = "2 3"


def add_prefix_index(db: peewee.Database) -> None:
    """The migration step: remake the SQLite index with :data:`PREFIX_LENGTHS`.

    The tokens are copied from the old table (its ``words``), not cut again
    from the messages; the old table's pages are overwritten as it is dropped
    (``secure_delete``). PostgreSQL's GIN index needs no such thing.
    """
    if not _is_sqlite(db):
        return
    create = (
        _SQLITE_CREATE[0]
        .replace("message_search USING fts5(", "message_search_new USING fts5(")
        .replace("columnsize = 0)", f"columnsize = 0, prefix = '{PREFIX_LENGTHS}')")
    )
    for statement in (
        create,
        "INSERT INTO message_search_new (rowid, words) SELECT rowid, words FROM message_search",
        "DROP TABLE message_search",
        "ALTER TABLE message_search_new RENAME TO message_search",
    ):
        db.execute_sql(statement)  # type: ignore[no-untyped-call]
