"""Password hashes and session tokens: what the server stores instead of secrets."""

from __future__ import annotations

import hashlib

import argon2
import pytest

from chat_server.security import (
    hash_password,
    hash_token,
    needs_rehash,
    new_token,
    verify_password,
    verify_password_sync,
)
from tests.server.wire import scrypt_hash


async def test_a_password_verifies_against_its_hash() -> None:
    stored = await hash_password("correct horse battery")
    assert await verify_password("correct horse battery", stored)


async def test_a_wrong_password_does_not_verify() -> None:
    stored = await hash_password("correct horse battery")
    assert not await verify_password("correct horse batterY", stored)


async def test_the_hash_does_not_contain_the_password() -> None:
    stored = await hash_password("correct horse battery")
    assert "correct horse battery" not in stored
    # argon2id with OWASP's parameters: 19 MiB, two passes, one lane.
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_the_same_password_hashes_differently_each_time() -> None:
    assert await hash_password("same password") != await hash_password("same password")


async def test_a_hash_of_the_first_release_still_verifies_and_asks_for_a_rehash() -> None:
    old = scrypt_hash("correct horse battery")
    assert await verify_password("correct horse battery", old)
    assert not await verify_password("correct horse batterY", old)
    assert needs_rehash(old)
    assert not needs_rehash(await hash_password("correct horse battery"))


def test_an_argon2_hash_with_other_parameters_asks_for_a_rehash() -> None:
    weaker = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
    assert verify_password_sync("pw", weaker)
    assert needs_rehash(weaker)
    assert needs_rehash("$argon2i$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA")


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain text password",
        "bcrypt$10$8$1$AAAA$AAAA",
        "scrypt$notanumber$8$1$AAAA$AAAA",
        "scrypt$1000$8$1$AAAA$AAAA",  # n must be a power of two
        "scrypt$1073741824$8$1$AAAA$AAAA",  # would need 128 GiB
        "scrypt$16384$8$1$!!!!$AAAA",
        "scrypt$16384$8$1$AAAA$",
        "$argon2id$v=19$m=19456,t=2,p=1$",
        "$argon2id$v=19$m=notanumber,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
        # would need 4 GiB
        "$argon2id$v=19$m=4194304,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
    ],
)
async def test_a_malformed_stored_hash_never_verifies(stored: str) -> None:
    assert not await verify_password("anything at all", stored)


def test_new_token_has_at_least_128_random_bits_and_its_sha256() -> None:
    token, token_hash = new_token()
    assert len(token) >= 43  # 32 bytes in URL-safe base64
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert hash_token(token) == token_hash


def test_new_tokens_differ() -> None:
    assert len({new_token()[0] for _ in range(100)}) == 100
