"""Password hashing and session tokens for the server's accounts.

Passwords are stored as argon2id hashes in the PHC string format that
``argon2-cffi`` writes (``$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>``): the
string carries its own parameters, so they can be raised later, old hashes
still verify, and :func:`needs_rehash` tells the server to store a new hash at
the user's next successful login. Hashes of the first release
(``scrypt$<n>$<r>$<p>$<salt>$<hash>``) still verify and always ask for a
rehash, so every account moves to argon2id the next time its user signs in.
Both are slow on purpose (tens of milliseconds), so the coroutines run them
on a thread and the event loop keeps serving everyone else meanwhile.

Session tokens are random (256 bits), handed to the client once and stored
only as their SHA-256: a copy of the database does not let anyone log in.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's Password Storage Cheat Sheet, first argon2id line: m=19 MiB
# (19456 KiB), t=2, p=1. Not argon2-cffi's RFC 9106 low-memory profile
# (64 MiB, t=3, p=4): a LAN server on a small box may verify several logins
# at once, and OWASP rates the two as equally strong.
ARGON2_MEMORY_KIB = 19456
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
_HASHER = argon2.PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_KIB,
    parallelism=ARGON2_PARALLELISM,
    hash_len=32,
    salt_len=16,
    type=argon2.Type.ID,
)
# A stored hash asking for more than this is refused rather than computed: a
# corrupted or forged row must not make a login eat gigabytes.
_MAX_MEMORY_BYTES = 256 * 1024 * 1024

# The first release's scheme, kept only to verify (and then replace) its hashes.
_SCRYPT = "scrypt"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        scheme, n_text, r_text, p_text, salt_text, digest_text = stored.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, expected = _unb64(salt_text), _unb64(digest_text)
    except ValueError:
        return False
    # maxmem must cover scrypt's 128 * r * (n + p + 2) bytes, plus some slack.
    need = 128 * r * (n + p + 2)
    if scheme != _SCRYPT or not expected or need > _MAX_MEMORY_BYTES:
        return False
    try:
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=salt,
            n=n,
            r=r,
            p=p,
            maxmem=need + 1024 * 1024,
            dklen=len(expected),
        )
    except ValueError:  # parameters scrypt rejects (n not a power of two, ...)
        return False
    # Constant time: how much of the hash matched must not leak through timing.
    return hmac.compare_digest(actual, expected)


def _verify_argon2(password: str, stored: str) -> bool:
    try:
        params = argon2.extract_parameters(stored)
    except InvalidHashError:
        return False
    if params.memory_cost * 1024 > _MAX_MEMORY_BYTES:
        return False
    try:
        # surrogatepass: a password that is not Unicode (a lone surrogate sent
        # as JSON "\ud800") matches no hash, but costs as much time as one that does.
        return _HASHER.verify(stored, password.encode("utf-8", "surrogatepass"))
    except (VerificationError, InvalidHashError):
        # VerifyMismatchError (a wrong password) is a VerificationError.
        return False


def hash_password_sync(password: str) -> str:
    """The stored form of ``password``: blocking, for scripts and admin tools."""
    return _HASHER.hash(password)


def verify_password_sync(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; False for a malformed ``stored``."""
    if stored.startswith("$argon2"):
        return _verify_argon2(password, stored)
    return _verify_scrypt(password, stored)


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` is not an argon2id hash with the current parameters."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


async def hash_password(password: str) -> str:
    """The stored form of ``password`` (argon2id), computed off the event loop."""
    return await asyncio.to_thread(hash_password_sync, password)


async def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the stored hash, checked off the event loop."""
    return await asyncio.to_thread(verify_password_sync, password, stored)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a session token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh session token (256 random bits, URL-safe) and its hash to store."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)
