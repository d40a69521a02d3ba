"""The waiting helper's failure says what the test was waiting for.

A timed-out wait is the commonest way a flaky test shows itself; the message
must let a reader tell which wait it was without rerunning anything.
"""

from __future__ import annotations

import pytest

from tests.waiting import eventually


async def test_a_wait_that_times_out_names_what_it_awaited() -> None:
    with pytest.raises(AssertionError, match=r"after 0\.05 s waiting until the sky falls"):
        await eventually(lambda: False, "the sky falls", within=0.05)


async def test_without_a_description_the_failure_quotes_the_condition() -> None:
    never: list[int] = []
    quoted = r"eventually\(lambda: len\(never\) == 3, within=0\.05\) \(test_waiting\.py:\d+\)"
    with pytest.raises(AssertionError, match=quoted):
        await eventually(lambda: len(never) == 3, within=0.05)


async def test_a_condition_that_comes_true_ends_the_wait() -> None:
    checks: list[int] = []

    def third_time() -> bool:
        checks.append(1)
        return len(checks) == 3

    await eventually(third_time, "the third check")
    assert len(checks) == 3
