"""Pure unit tests of ReconnectPolicy: exponential growth, cap, jitter, reset."""

from __future__ import annotations

import random

import pytest

from chat_desktop.transport.reconnect import Jitter, ReconnectPolicy


def test_delays_double_from_the_initial_delay_without_jitter() -> None:
    policy = ReconnectPolicy(initial=0.5, cap=30.0, jitter=Jitter.NONE)
    assert [policy.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_delays_are_capped() -> None:
    policy = ReconnectPolicy(initial=0.5, cap=30.0, jitter=Jitter.NONE)
    delays = [policy.next_delay() for _ in range(200)]
    assert max(delays) == 30.0
    assert delays[-10:] == [30.0] * 10


@pytest.mark.parametrize("jitter", [Jitter.FULL, Jitter.EQUAL])
def test_jittered_delays_stay_under_the_ceiling_and_vary(jitter: Jitter) -> None:
    policies = [
        ReconnectPolicy(initial=0.5, cap=30.0, jitter=jitter, rng=random.Random(seed))
        for seed in range(20)
    ]
    for attempt in range(12):
        ceiling = policies[0].ceiling(attempt)
        delays = [policy.next_delay() for policy in policies]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 1, "twenty clients must not all retry at the same instant"


def test_equal_jitter_never_goes_below_half_the_ceiling() -> None:
    policy = ReconnectPolicy(initial=1.0, cap=30.0, jitter=Jitter.EQUAL, rng=random.Random(7))
    for attempt in range(10):
        assert policy.next_delay() >= policy.ceiling(attempt) / 2


def test_equal_jittered_delays_keep_growing_until_the_cap() -> None:
    policy = ReconnectPolicy(initial=0.5, cap=30.0, jitter=Jitter.EQUAL, rng=random.Random(3))
    delays = [policy.next_delay() for _ in range(7)]
    # Two steps on, the lowest possible delay (half of a ceiling four times as
    # high) is above the highest possible one, whatever the jitter drew.
    assert all(delays[i + 2] > delays[i] for i in range(len(delays) - 2))


def test_reset_starts_again_from_the_initial_delay() -> None:
    policy = ReconnectPolicy(initial=0.5, jitter=Jitter.NONE)
    for _ in range(6):
        policy.next_delay()
    policy.reset()
    assert policy.next_delay() == 0.5


def test_a_healthy_minute_resets_the_backoff() -> None:
    policy = ReconnectPolicy(initial=0.5, jitter=Jitter.NONE, healthy_after=60.0)
    for _ in range(6):
        policy.next_delay()
    policy.connection_lasted(61.0)
    assert policy.next_delay() == 0.5


def test_a_short_connection_keeps_the_backoff_growing() -> None:
    policy = ReconnectPolicy(initial=0.5, jitter=Jitter.NONE, healthy_after=60.0)
    policy.next_delay()
    policy.next_delay()
    policy.connection_lasted(2.0)
    assert policy.next_delay() == 2.0


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(initial=0.0)
    with pytest.raises(ValueError):
        ReconnectPolicy(initial=5.0, cap=1.0)
