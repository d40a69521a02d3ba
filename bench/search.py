"""Search (issue 14): how fast the server and the client find messages, and what the index costs.

Four measurements, each against the real code:

- **Server search** over ``--messages`` stored messages (1,000,000 by
  default) in ``--rooms`` rooms, on SQLite (FTS5) and, when a PostgreSQL
  answers on 127.0.0.1:5432, on PostgreSQL (``tsvector`` + GIN): p50/p99 of
  :meth:`PeeweeChatStore.search` (the reader thread's query plus the hop to
  it, not HTTP; also in this process's CPU time) for queries of 1, 2 and 3
  words, across every room and in one room, 20 results. The messages are
  made up: words of a 20,000-word vocabulary drawn by Zipf's law (a few
  words very common, most rare), 3 to 16 per message; the query words are
  taken from stored messages, so every query finds something. The database
  is made by the store itself (its migrations), then filled in bulk through
  that schema in one transaction (rows and index rows as the append path
  writes them), which is what makes a million messages take a minute rather
  than an hour of single appends.
- **Write cost**: fan-out throughput of our server (:mod:`bench.fanout`'s
  closed loop, ``--fanout-clients`` clients, 100 by default as in issue 5)
  with the index and without its rows (``bench.ours_server
  --without-search-index``), alternating, medians of ``--fanout-repeat``
  runs. Target: less than 15 % lower with the index.
- **Client search** over ``--cached`` messages in a real cache file
  (:meth:`ChatCache.search`, tokenizing the query included), same queries,
  in wall time and in the CPU time of the thread that asks (what the query
  costs, whatever else the machine runs). Target: under 50 ms. Also the
  cache's write rate with the index's triggers, and its CPU per message.

- **Append cost**: the same question asked of the store alone: CPU time (the
  whole process) per message of ``--append-messages`` appends through the
  group-commit writer, 32 at a time, fan-out's texts, with and without the
  index rows, alternating, ``--append-repeat`` times; the difference is
  also given as a share of what fan-out's server spends on a message (its
  CPU per delivery times the clients), when the write cost ran too. CPU
  time is much less at the mercy of a shared machine than throughput.

``--parts`` runs some of them (``server,client,write-cost,append-cost``, all
by default): the write cost alone with more repeats is
``python -m bench.search --parts write-cost,append-cost --fanout-repeat 5``.

Run: ``python -m bench.search`` or, quickly,
``python -m bench.search --messages 20000 --cached 5000 --queries 50 --fanout-duration 1``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import io
import itertools
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

from bench import fanout, harness
from bench.ours_server import _NoSearchIndex
from bench.wire import message_text
from chat_desktop.storage import ChatCache
from chat_protocol import Message
from chat_protocol.search import index_text, index_tokens, query_terms
from chat_server.storage import PeeweeChatStore
from chat_server.storage.base import SearchRequest
from chat_server.storage.database import SQLITE_FILE_NAME, database_for, sqlite_driver

VOCABULARY = 20_000
WORDS_PER_QUERY = (1, 2, 3)
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
PARTS = ("server", "client", "write-cost", "append-cost")
# Appends per wave in append-cost: fan-out's senders keep 32 messages in flight.
APPEND_WAVE = 32


class Corpus:
    """Made-up chat messages: Zipf-distributed words, deterministic for a seed."""

    def __init__(self, seed: int = 14) -> None:
        self._rng = random.Random(seed)
        syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai")]
        words: dict[str, None] = {}
        while len(words) < VOCABULARY:
            words["".join(self._rng.choices(syllables, k=self._rng.randint(1, 4)))] = None
        self.words = list(words)
        self._cumulative = list(itertools.accumulate(1 / rank for rank in range(1, VOCABULARY + 1)))
        # Every 97th text, kept to draw queries from (so each query finds something).
        self.samples: list[str] = []

    def texts(self, count: int) -> Iterator[str]:
        rng = self._rng
        for n in range(count):
            text = " ".join(
                rng.choices(self.words, cum_weights=self._cumulative, k=rng.randint(3, 16))
            )
            if n % 97 == 0:
                self.samples.append(text)
            yield text

    def queries(self, words: int, count: int) -> list[str]:
        """``count`` queries of ``words`` words, each taken from one stored message."""
        rng = random.Random(words)
        out = []
        while len(out) < count:
            distinct = list(dict.fromkeys(rng.choice(self.samples).split()))
            if len(distinct) >= words:
                out.append(" ".join(rng.sample(distinct, words)))
        return out


def _rows(
    corpus: Corpus, count: int, room_ids: list[int]
) -> Iterator[tuple[int, int, int, str, str, str]]:
    """(id, room_id, seq, client_id, text, ts) of ``count`` messages spread over the rooms."""
    seqs = dict.fromkeys(room_ids, 0)
    for n, text in enumerate(corpus.texts(count)):
        room = room_ids[n % len(room_ids)]
        seqs[room] += 1
        ts = (START + datetime.timedelta(milliseconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        yield n + 1, room, seqs[room], f"c{n}", text, ts[:-3] + "Z"


def _room_names(rooms: int) -> list[tuple[str]]:
    return [(f"room{room}",) for room in range(rooms)]


async def _make_schema(db_url: str | None, folder: Path) -> None:
    """Let the store create its own schema (every migration, the room general)."""
    store = PeeweeChatStore(database_for(db_url, folder, 5.0))
    await store.open()
    await store.close()


def fill_sqlite(folder: Path, corpus: Corpus, count: int, rooms: int) -> None:
    """``count`` messages and their index rows into the store's SQLite file, one transaction."""
    with closing(sqlite_driver.connect(folder / SQLITE_FILE_NAME)) as db:
        db.execute("PRAGMA synchronous = OFF")  # a bulk load: durability is not measured here
        with db:
            db.executemany(
                "INSERT INTO rooms (name, last_seq, created) VALUES (?, 0, '')", _room_names(rooms)
            )
            ids = db.execute("SELECT id FROM rooms WHERE name LIKE 'room%' ORDER BY id").fetchall()
            rows = _rows(corpus, count, [room_id for (room_id,) in ids])
            terms: set[str] = set()
            while chunk := list(itertools.islice(rows, 20_000)):
                db.executemany(
                    "INSERT INTO messages (id, room_id, seq, author, client_id, text, ts)"
                    " VALUES (?, ?, ?, 'bench', ?, ?, ?)",
                    chunk,
                )
                words = [index_text(row[4]) for row in chunk]
                db.executemany(
                    "INSERT INTO message_search (rowid, words) VALUES (?, ?)",
                    [(row[0], text) for row, text in zip(chunk, words, strict=True)],
                )
                terms.update(word for text in words for word in text.split())
            db.executemany(
                "INSERT INTO message_search_terms (term) VALUES (?)", [(t,) for t in terms]
            )
            db.execute(
                "UPDATE rooms SET last_seq = (SELECT COALESCE(MAX(seq), 0) FROM messages"
                " WHERE messages.room_id = rooms.id)"
            )


def fill_postgres(url: str, corpus: Corpus, count: int, rooms: int) -> None:
    """The same rows into the store's PostgreSQL tables with COPY, one transaction."""
    import psycopg2

    with closing(psycopg2.connect(url)) as db, db, db.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO rooms (name, last_seq, created) VALUES (%s, 0, '')", _room_names(rooms)
        )
        cursor.execute("SELECT id FROM rooms WHERE name LIKE 'room%' ORDER BY id")
        rows = _rows(corpus, count, [room_id for (room_id,) in cursor.fetchall()])
        while chunk := list(itertools.islice(rows, 20_000)):
            # Made-up texts hold only letters and spaces: nothing to escape for COPY.
            messages = io.StringIO(
                "".join(f"{i}\t{r}\t{s}\tbench\t{c}\t{t}\t{ts}\n" for i, r, s, c, t, ts in chunk)
            )
            cursor.copy_expert(
                "COPY messages (id, room_id, seq, author, client_id, text, ts) FROM STDIN", messages
            )
            words = io.StringIO(
                "".join(
                    f"{row[0]}\t{' '.join(repr(t) for t in dict.fromkeys(index_tokens(row[4])))}\n"
                    for row in chunk
                )
            )
            cursor.copy_expert("COPY message_search (message_id, words) FROM STDIN", words)
        cursor.execute("SELECT setval('messages_id_seq', (SELECT MAX(id) FROM messages))")
        cursor.execute(
            "UPDATE rooms SET last_seq = (SELECT COALESCE(MAX(seq), 0) FROM messages"
            " WHERE messages.room_id = rooms.id)"
        )
    with closing(psycopg2.connect(url)) as db:
        db.autocommit = True
        with db.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A throwaway PostgreSQL database's URL, dropped afterwards; None when none answers."""
    try:
        import psycopg2

        admin = psycopg2.connect(dbname="postgres", **PG)
    except Exception as exc:  # no driver, no server: PostgreSQL is left out, said so
        print(f"note: no PostgreSQL on {PG['host']}:{PG['port']} ({exc}); measured SQLite only")
        yield None
        return
    admin.autocommit = True
    name = f"bench_search_{uuid.uuid4().hex[:10]}"
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    finally:
        with suppress(Exception), admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


async def time_server(
    engine: str, db_url: str | None, folder: Path, corpus: Corpus, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Open the filled store and time its searches; one row per (scope, words)."""
    store = PeeweeChatStore(database_for(db_url, folder, 5.0))
    await store.open()
    rows = []
    try:
        for scope, room in (("every room", None), ("one room", "room0")):
            for words in WORDS_PER_QUERY:
                queries = [query_terms(q) for q in corpus.queries(words, args.queries)]
                for terms in queries[:10]:  # warm the caches first
                    await store.search(SearchRequest(terms, None, 20, room))
                times, cpu_times, hits = [], [], 0
                for terms in queries:
                    started, cpu = time.perf_counter_ns(), time.process_time_ns()
                    found = await store.search(SearchRequest(terms, None, 20, room))
                    times.append(time.perf_counter_ns() - started)
                    # This process's CPU (the reader's query and the hop to it;
                    # PostgreSQL's own work is in its server's process).
                    cpu_times.append(time.process_time_ns() - cpu)
                    hits += len(found)
                cpu_summary = harness.summary(cpu_times)
                rows.append(
                    {
                        "engine": engine,
                        "scope": scope,
                        "words": words,
                        "messages": args.messages,
                        "mean_results": hits / len(queries),
                        **harness.summary(times),
                        "cpu_p50_ms": cpu_summary["p50_ms"],
                        "cpu_p99_ms": cpu_summary["p99_ms"],
                    }
                )
    finally:
        await store.close()
    return rows


async def measure_server(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    figures: dict[str, Any] = {}
    with harness.temp_dir() as folder:
        corpus = Corpus()
        await _make_schema(None, folder)
        started = time.perf_counter()
        await asyncio.to_thread(fill_sqlite, folder, corpus, args.messages, args.rooms)
        figures["sqlite_build_s"] = time.perf_counter() - started
        figures["sqlite_mib"] = (folder / SQLITE_FILE_NAME).stat().st_size / 2**20
        print(f"SQLite: {args.messages:,} messages stored in {figures['sqlite_build_s']:.1f} s")
        rows += await time_server("SQLite", None, folder, corpus, args)
    if args.postgres:
        with postgres_database() as url, harness.temp_dir() as folder:
            if url is not None:
                corpus = Corpus()
                await _make_schema(url, folder)
                started = time.perf_counter()
                await asyncio.to_thread(fill_postgres, url, corpus, args.messages, args.rooms)
                figures["postgres_build_s"] = time.perf_counter() - started
                print(
                    f"PostgreSQL: {args.messages:,} messages stored in"
                    f" {figures['postgres_build_s']:.1f} s"
                )
                rows += await time_server("PostgreSQL", url, folder, corpus, args)
    return rows, figures


def measure_client(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Fill a real cache through save_messages (triggers and all), then time its search."""
    corpus = Corpus(seed=15)
    rows: list[dict[str, Any]] = []
    with harness.temp_dir() as folder:
        cache = ChatCache.open(folder / "cache.sqlite3")
        try:
            messages = [
                Message(room=f"room{room - 1}", seq=seq, client_id=c, author="bob", text=t, ts=ts)
                for _, room, seq, c, t, ts in _rows(
                    corpus, args.cached, list(range(1, args.rooms + 1))
                )
            ]
            started, cpu_started = time.perf_counter(), time.thread_time()
            for start in range(0, len(messages), 500):
                cache.save_messages(messages[start : start + 500])
            writes_per_s = len(messages) / (time.perf_counter() - started)
            write_cpu_us = (time.thread_time() - cpu_started) / len(messages) * 1e6
            for scope, room in (("every room", None), ("one room", "room0")):
                for words in WORDS_PER_QUERY:
                    queries = corpus.queries(words, args.queries)
                    for query in queries[:10]:
                        cache.search(query, room=room)
                    times, cpu_times, hits = [], [], 0
                    for query in queries:
                        started_ns, cpu_ns = time.perf_counter_ns(), time.thread_time_ns()
                        hits += len(cache.search(query, room=room))
                        times.append(time.perf_counter_ns() - started_ns)
                        cpu_times.append(time.thread_time_ns() - cpu_ns)
                    # The CPU this thread spent on each query too: on a shared
                    # machine the wall time adds whatever the other processes take.
                    cpu = harness.summary(cpu_times)
                    rows.append(
                        {
                            "scope": scope,
                            "words": words,
                            "cached": args.cached,
                            "mean_results": hits / len(queries),
                            **harness.summary(times),
                            "cpu_p50_ms": cpu["p50_ms"],
                            "cpu_p99_ms": cpu["p99_ms"],
                        }
                    )
        finally:
            cache.close()
    return rows, {"cache_writes_per_s": writes_per_s, "cache_write_cpu_us": write_cpu_us}


async def measure_write_cost(
    args: argparse.Namespace,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fan-out throughput with and without the index rows, alternating; medians, and each run."""
    runs: list[dict[str, Any]] = []
    variants = {"with index": [], "without index": ["--without-search-index"]}
    senders = min(4, args.fanout_clients - 1)
    for _ in range(args.fanout_repeat):
        for label, extra in variants.items():
            async with harness.open_targets(
                ["ours"], senders=senders, messages_per_second=1e6, ours_args=extra
            ) as targets:
                row = await fanout.measure(
                    targets[0], args.fanout_clients, senders, 32, args.fanout_warmup,
                    args.fanout_duration, 1,
                )  # fmt: skip
            runs.append({**row, "index": label})
    return harness.medians(runs, ("index",)), runs


async def _append_cost_once(index: bool, count: int) -> dict[str, Any]:
    """CPU (the whole process: every thread) and wall time per message of ``count`` appends."""
    with harness.temp_dir() as folder:
        store = PeeweeChatStore(database_for(None, folder, 5.0))
        await store.open()
        if not index:
            store.search_index = _NoSearchIndex(store.database)

        async def wave(first: int, size: int) -> None:
            futures = [
                store.append_nowait(
                    "general", "bench", f"c{n}", message_text(time.monotonic_ns(), n % 4, 32)
                )
                for n in range(first, first + size)
            ]
            await asyncio.gather(*(asyncio.wrap_future(future) for future in futures))

        try:
            for first in range(0, 512, APPEND_WAVE):  # warm up: statements, pages
                await wave(first, APPEND_WAVE)
            cpu, wall = time.process_time(), time.perf_counter()
            for first in range(512, 512 + count, APPEND_WAVE):
                await wave(first, APPEND_WAVE)
            return {
                "index": "with index" if index else "without index",
                "cpu_us_per_message": (time.process_time() - cpu) / count * 1e6,
                "wall_us_per_message": (time.perf_counter() - wall) / count * 1e6,
            }
        finally:
            await store.close()


async def measure_append_cost(
    args: argparse.Namespace,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The store's append path with and without the index rows, alternating; medians, each run.

    Fan-out's own texts (:func:`bench.wire.message_text`: a new time-stamp
    word in every message), through the group-commit writer, 32 at a time,
    on an SQLite file. The process's CPU time is far less sensitive to the
    other processes of a shared machine than fan-out's throughput.
    """
    runs = []
    for _ in range(args.append_repeat):
        for index in (True, False):
            runs.append(await _append_cost_once(index, args.append_messages))
    return harness.medians(runs, ("index",)), runs


def print_append_cost(
    args: argparse.Namespace, rows: list[dict[str, Any]], fanout_rows: list[dict[str, Any]]
) -> dict[str, Any]:
    by_index = {r["index"]: r for r in rows}
    added = (
        by_index["with index"]["cpu_us_per_message"]
        - by_index["without index"]["cpu_us_per_message"]
    )
    harness.print_table(
        f"The store's appends ({args.append_messages:,}, {APPEND_WAVE} at a time),"
        " with and without the index rows",
        ["store", "CPU us/message", "wall us/message", "repeats"],
        [
            (r["index"], r["cpu_us_per_message"], r["wall_us_per_message"], r["repeats"])
            for r in rows
        ],
    )
    figures: dict[str, Any] = {"append_index_cpu_us": added}
    line = f"the index adds {added:.1f} us of CPU to each message's append"
    fanout_without = {r["index"]: r for r in fanout_rows}.get("without index")
    if fanout_without is not None:
        # What fan-out's server spends on one message: its CPU per delivery
        # times the deliveries of a message (one per client).
        per_message = fanout_without["cpu_us_per_delivery"] * args.fanout_clients
        figures["append_index_pct_of_fanout_cpu"] = 100 * added / per_message
        line += (
            f": {figures['append_index_pct_of_fanout_cpu']:.1f} % of the {per_message:.0f} us"
            f" fan-out's server spends on a message at {args.fanout_clients} clients"
        )
    print(line)
    return figures


async def run(args: argparse.Namespace) -> dict[str, Any]:
    harness.raise_file_limit()
    result: dict[str, Any] = {"benchmark": "search", "args": vars(args), "rows": []}
    figures: dict[str, Any] = {}
    if "server" in args.parts:
        result["rows"], figures = await measure_server(args)
        print_server(args, result["rows"])
    if "client" in args.parts:
        result["client_rows"], client_figures = await asyncio.to_thread(measure_client, args)
        figures.update(client_figures)
        print_client(args, result["client_rows"], figures)
    if "write-cost" in args.parts:
        result["write_rows"], result["write_runs"] = await measure_write_cost(args)
        figures.update(print_write_cost(args, result["write_rows"]))
    if "append-cost" in args.parts:
        result["append_rows"], result["append_runs"] = await measure_append_cost(args)
        figures.update(print_append_cost(args, result["append_rows"], result.get("write_rows", [])))
    result["figures"] = figures
    return result


def print_server(args: argparse.Namespace, server_rows: list[dict[str, Any]]) -> None:
    harness.print_table(
        f"Server search over {args.messages:,} messages in {args.rooms} rooms (20 results)",
        ["engine", "scope", "words", "mean results", "p50 ms", "p99 ms", "max ms",
         "CPU p50 ms", "CPU p99 ms", "queries"],
        [
            (r["engine"], r["scope"], r["words"], r["mean_results"], r["p50_ms"], r["p99_ms"],
             r["max_ms"], r["cpu_p50_ms"], r["cpu_p99_ms"], r["count"])
            for r in server_rows
        ],
    )  # fmt: skip


def print_client(
    args: argparse.Namespace, client_rows: list[dict[str, Any]], figures: dict[str, Any]
) -> None:
    harness.print_table(
        f"Client search over {args.cached:,} cached messages (ChatCache.search, 20 results)",
        ["scope", "words", "mean results", "p50 ms", "p99 ms", "max ms", "CPU p50 ms",
         "CPU p99 ms", "queries"],
        [
            (r["scope"], r["words"], r["mean_results"], r["p50_ms"], r["p99_ms"], r["max_ms"],
             r["cpu_p50_ms"], r["cpu_p99_ms"], r["count"])
            for r in client_rows
        ],
    )  # fmt: skip
    print(
        f"cache writes with the index: {figures['cache_writes_per_s']:,.0f} messages/s,"
        f" {figures['cache_write_cpu_us']:.1f} us CPU per message"
    )


def print_write_cost(args: argparse.Namespace, write_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The table and the two readings of the cost: throughput lost, server CPU added."""
    by_index = {r["index"]: r for r in write_rows}
    with_index, without = by_index["with index"], by_index["without index"]
    figures = {
        "write_cost_pct": 100
        * (1 - harness.ratio(with_index["deliveries_per_s"], without["deliveries_per_s"])),
        # When the server is not the bottleneck (a shared machine: it may get
        # less than a core), throughput hides the cost; its CPU per delivery
        # does not. The share of the server's CPU that the index takes is the
        # throughput it would lose if the server were CPU-bound.
        "write_cpu_share_pct": 100
        * (1 - harness.ratio(without["cpu_us_per_delivery"], with_index["cpu_us_per_delivery"])),
    }
    harness.print_table(
        f"Fan-out throughput at {args.fanout_clients} clients, with and without the index rows",
        ["server", "deliveries/s", "server CPU us/delivery", "server CPU %", "repeats"],
        [
            (r["index"], r["deliveries_per_s"], r["cpu_us_per_delivery"], r["server_cpu_pct"],
             r["repeats"])
            for r in write_rows
        ],
    )  # fmt: skip
    print(
        f"the index costs {figures['write_cost_pct']:.1f} % of fan-out throughput"
        f" and {figures['write_cpu_share_pct']:.1f} % of the server's CPU per delivery"
    )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="stored on the server")
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--queries", type=int, default=300, help="per number of words and scope")
    parser.add_argument("--cached", type=int, default=100_000, help="messages in the client cache")
    parser.add_argument(
        "--no-postgres", dest="postgres", action="store_false", help="measure SQLite only"
    )
    parser.add_argument("--fanout-clients", type=int, default=100)
    parser.add_argument("--fanout-duration", type=float, default=4.0)
    parser.add_argument("--fanout-warmup", type=float, default=1.0)
    parser.add_argument("--fanout-repeat", type=int, default=3)
    parser.add_argument("--append-messages", type=int, default=6000, help="per append-cost run")
    parser.add_argument("--append-repeat", type=int, default=5)
    parser.add_argument(
        "--parts",
        type=lambda text: text.split(","),
        default=list(PARTS),
        help=f"which measurements, comma-separated (default: {','.join(PARTS)})",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    harness.execute(run, parser.parse_args(argv))


if __name__ == "__main__":
    main()
