"""Throwaway PostgreSQL databases for the tests that run the server on PostgreSQL.

The machines this project runs on have a PostgreSQL on 127.0.0.1:5432 with
trust authentication (``.ci/run`` starts it when it is down). Each test or
session gets a database of its own, dropped afterwards; where no server
answers, the test is skipped with the reason rather than failed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """Create a uniquely named database, yield its URL, drop it (even when connected)."""
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg2.connect(dbname="test", **PG)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"no PostgreSQL on {PG['host']}:{PG['port']}: {exc}")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()
