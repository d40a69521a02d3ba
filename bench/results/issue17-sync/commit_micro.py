"""One-row SQLite commits three ways, taking turns (issue 17; see NOTE.md).

- the floors' library: the standard ``sqlite3`` (Debian's SQLite 3.40 here,
  which syncs with fdatasync), ``synchronous = FULL``;
- ours before: ``pysqlite3`` (SQLite 3.51, syncs with fsync), FULL;
- ours after: ``pysqlite3``, NORMAL, then ``os.fdatasync`` of the WAL.

Run with the venv's python: ``commit_micro.py MODE`` where MODE is
``back-to-back`` (no pause between commits), ``spaced`` (20 ms apart, as at
50 msg/s, on a growing WAL), ``growing`` (7 ms between any two commits, the
three databases interleaved, WAL growing) or ``reused`` (the same after 400
commits and a checkpoint, so that new frames overwrite the WAL in place).
"""

import os
import sqlite3
import sys
import tempfile
import time
from typing import Any

from pysqlite3 import dbapi2 as pysqlite3

MODE = sys.argv[1]
GAP = {"back-to-back": 0.0, "spaced": 0.02}.get(MODE, 0.007)


def setup(module: Any, level: str) -> tuple[Any, int]:
    folder = tempfile.mkdtemp(dir="/tmp")
    db = module.connect(os.path.join(folder, "x.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=wal")
    db.execute("CREATE TABLE t (x)")
    if MODE == "reused":
        db.execute("PRAGMA synchronous=off")
        for i in range(400):
            db.execute("INSERT INTO t VALUES (?)", (i,))
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    db.execute(f"PRAGMA synchronous={level}")
    return db, os.open(os.path.join(folder, "x.db-wal"), os.O_RDONLY)


variants = {
    f"stdlib sqlite3 {sqlite3.sqlite_version} FULL (fdatasync)": (*setup(sqlite3, "full"), False),
    f"pysqlite3 {pysqlite3.sqlite_version} FULL (fsync)": (*setup(pysqlite3, "full"), False),
    "pysqlite3 NORMAL + fdatasync(WAL)": (*setup(pysqlite3, "normal"), True),
}
times: dict[str, list[float]] = {name: [] for name in variants}
for i in range(150):
    for name, (db, fd, own_sync) in variants.items():
        time.sleep(GAP)
        started = time.perf_counter_ns()
        db.execute("BEGIN")
        db.execute("INSERT INTO t VALUES (?)", (i,))
        db.execute("COMMIT")
        if own_sync:
            os.fdatasync(fd)
        times[name].append((time.perf_counter_ns() - started) / 1e6)
for name, samples in times.items():
    samples.sort()
    n = len(samples)
    print(f"{MODE:12s} {name:38s} p50 {samples[n // 2]:.3f} ms  p90 {samples[int(n * 0.9)]:.3f} ms")
