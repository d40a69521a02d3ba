"""Pure unit tests of ReconnectPolicy with an injected clock: the immediate first retry,
exponential growth while attempts fail, cap, jitter, and the reset after a lived connection."""

from __future__ import annotations

import random

import pytest

from chat_desktop.transport.reconnect import Jitter, ReconnectPolicy


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_first_retry_comes_at_once_then_delays_double_without_jitter() -> None:
    policy = ReconnectPolicy(first_retry=1.0, initial=0.5, cap=30.0, jitter=Jitter.NONE)
    assert [policy.next_delay() for _ in range(6)] == [1.0, 0.5, 1.0, 2.0, 4.0, 8.0]


@pytest.mark.parametrize("jitter", [Jitter.FULL, Jitter.EQUAL])
def test_the_first_retry_is_spread_over_the_first_second(jitter: Jitter) -> None:
    firsts = [
        ReconnectPolicy(jitter=jitter, rng=random.Random(seed)).next_delay() for seed in range(50)
    ]
    assert all(0.0 <= delay <= 1.0 for delay in firsts)
    # Spread, not a fixed pause: some retry in the first tenth, some near the end.
    assert min(firsts) < 0.1 and max(firsts) > 0.9


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


def test_equal_jitter_never_goes_below_half_the_ceiling_after_the_first_retry() -> None:
    policy = ReconnectPolicy(initial=1.0, cap=30.0, jitter=Jitter.EQUAL, rng=random.Random(7))
    policy.next_delay()
    for attempt in range(1, 10):
        assert policy.next_delay() >= policy.ceiling(attempt) / 2


def test_equal_jittered_delays_keep_growing_until_the_cap() -> None:
    policy = ReconnectPolicy(initial=0.5, cap=30.0, jitter=Jitter.EQUAL, rng=random.Random(3))
    policy.next_delay()
    delays = [policy.next_delay() for _ in range(7)]
    # Two steps on, the lowest possible delay (half of a ceiling four times as
    # high) is above the highest possible one, whatever the jitter drew.
    assert all(delays[i + 2] > delays[i] for i in range(len(delays) - 2))


def test_reset_starts_again_from_the_immediate_retry() -> None:
    policy = ReconnectPolicy(first_retry=1.0, initial=0.5, jitter=Jitter.NONE)
    for _ in range(6):
        policy.next_delay()
    policy.reset()
    assert policy.next_delay() == 1.0


def test_a_connection_that_lived_ten_seconds_resets_the_backoff() -> None:
    clock = Clock()
    policy = ReconnectPolicy(first_retry=1.0, initial=0.5, jitter=Jitter.NONE, clock=clock)
    for _ in range(6):
        policy.next_delay()
    policy.connected()
    clock.now += 10.0
    policy.disconnected()
    assert policy.next_delay() == 1.0


def test_a_server_that_crashes_right_after_welcome_still_backs_clients_off() -> None:
    clock = Clock()
    policy = ReconnectPolicy(first_retry=1.0, initial=0.5, jitter=Jitter.NONE, clock=clock)
    delays = []
    for _ in range(6):
        policy.connected()
        clock.now += 0.2
        policy.disconnected()
        delay = policy.next_delay()
        delays.append(delay)
        clock.now += delay
    assert delays == [1.0, 0.5, 1.0, 2.0, 4.0, 8.0]


def test_a_connection_of_nine_seconds_keeps_the_backoff_growing() -> None:
    clock = Clock()
    policy = ReconnectPolicy(first_retry=0.1, initial=0.5, jitter=Jitter.NONE, clock=clock)
    policy.next_delay()
    policy.next_delay()
    policy.connected()
    clock.now += 9.0
    policy.disconnected()
    assert policy.next_delay() == 1.0


def test_the_restart_after_an_outage_heals_at_once() -> None:
    """An 8 s outage backs off; the connection after it lives 20 s, and the next
    drop (a 1 s restart) is retried within a second again."""
    clock = Clock()
    policy = ReconnectPolicy(jitter=Jitter.EQUAL, rng=random.Random(5), clock=clock)
    waited = 0.0
    while waited < 8.0:
        delay = policy.next_delay()
        waited += delay
        clock.now += delay
    policy.connected()
    clock.now += 20.0
    policy.disconnected()
    assert policy.next_delay() <= 1.0


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(initial=0.0)
    with pytest.raises(ValueError):
        ReconnectPolicy(initial=5.0, cap=1.0)
    with pytest.raises(ValueError):
        ReconnectPolicy(first_retry=-1.0)
