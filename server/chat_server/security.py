"""Password hashing and session tokens for the server's accounts.

Passwords are stored as salted scrypt hashes in a self-describing string,
``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (salt and hash in URL-safe base64), so
the cost parameters can be raised later: old hashes still verify with the
parameters they carry, and :func:`needs_rehash` tells the server to store a
new hash at the user's next successful login. scrypt is slow on purpose
(tens of milliseconds), so the two coroutines run it on a thread and the event
loop keeps serving everyone else meanwhile.

Session tokens are random (256 bits), handed to the client once and stored
only as their SHA-256: a copy of the database does not let anyone log in.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets

# scrypt cost: 2**14 * 8 * 128 bytes = 16 MiB of memory and some 50 ms per hash,
# the parameters Python's documentation and OWASP suggest for interactive logins.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_HASH_BYTES = 32
_SCHEME = "scrypt"
# A stored hash asking for more than this is refused rather than computed: a
# corrupted or forged row must not make a login eat gigabytes.
_MAX_SCRYPT_MEMORY = 256 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # maxmem must cover scrypt's 128 * r * (n + p + 2) bytes, plus some slack;
    # OpenSSL's default (32 MiB) would refuse parameters raised later.
    need = 128 * r * (n + p + 2)
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=need + 1024 * 1024,
        dklen=length,
    )


def hash_password_sync(password: str) -> str:
    """The stored form of ``password``: blocking, for scripts and admin tools."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, _HASH_BYTES)
    return f"{_SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password_sync(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; False for a malformed ``stored``."""
    try:
        scheme, n_text, r_text, p_text, salt_text, digest_text = stored.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, expected = _unb64(salt_text), _unb64(digest_text)
    except ValueError:
        return False
    if scheme != _SCHEME or not expected or 128 * r * (n + p + 2) > _MAX_SCRYPT_MEMORY:
        return False
    try:
        actual = _scrypt(password, salt, n, r, p, len(expected))
    except ValueError:  # parameters scrypt rejects (n not a power of two, ...)
        return False
    # Constant time: how much of the hash matched must not leak through timing.
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with weaker parameters than the current ones."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != _SCHEME:
        return True
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
    except ValueError:
        return True
    return (n, r, p) != (SCRYPT_N, SCRYPT_R, SCRYPT_P)


async def hash_password(password: str) -> str:
    """The stored form of ``password`` (salted scrypt), computed off the event loop."""
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
