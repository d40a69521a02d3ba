"""Durable storage for the server, behind the small :class:`ChatStore` interface.

The handlers only ever see :class:`ChatStore` and protocol objects; Peewee,
threads and SQL stay in here, so SQLite and PostgreSQL (and later several
server instances over one PostgreSQL) plug in without touching the handlers.
"""
