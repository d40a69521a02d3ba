"""Invite codes for ``--registration invite``: made by the operator, typed by a newcomer.

``chat-server invite create [--uses N] [--days D]`` (:mod:`chat_server.admin`)
prints a code such as ``K7QM-3XWP-HT9C-RVBD``; the sign-in dialog sends it as
``"invite"`` with ``POST /api/v1/register``. A code is 16 characters from an
alphabet without look-alikes (no 0/O, 1/I/L), about 78 random bits: far
beyond guessing at the registration rate a client address gets. Like
session tokens, only its SHA-256 is stored, so a copy of the database hands
out no invitations. Spelling is forgiving: case, spaces and dashes do not
matter.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 16
GROUP = 4


def new_code() -> str:
    """A fresh invite code, in groups of four for reading aloud."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def hash_code(code: str) -> str:
    """The SHA-256 hex digest a code is stored and looked up under."""
    canonical = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
