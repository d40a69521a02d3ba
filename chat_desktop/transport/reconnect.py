"""When to try again after the connection dropped: exponential backoff with jitter.

A pure object, no clock and no I/O, so tests can drive it directly. The link
asks :meth:`ReconnectPolicy.next_delay` before each new attempt and tells it
how long a connection lasted (:meth:`ReconnectPolicy.connection_lasted`);
a connection that stayed healthy for a minute resets the backoff, so a drop
after hours of chat retries quickly again, while a server that accepts and
drops at once is not hammered.

Jitter spreads the reconnects of a whole office after a server restart, so
they do not all arrive in the same instant (see the AWS Architecture Blog,
"Exponential Backoff And Jitter").
"""

from __future__ import annotations

import enum
import random


class Jitter(enum.Enum):
    """How a delay is randomised below its exponential ceiling."""

    #: Anywhere between 0 and the ceiling: spreads clients best.
    FULL = "full"
    #: Between half the ceiling and the ceiling: never retries almost at once.
    EQUAL = "equal"
    #: Exactly the ceiling (for tests and debugging).
    NONE = "none"


class ReconnectPolicy:
    """Exponential backoff with a cap, jitter and a reset after a healthy connection."""

    def __init__(
        self,
        *,
        initial: float = 0.5,
        factor: float = 2.0,
        cap: float = 30.0,
        jitter: Jitter = Jitter.EQUAL,
        healthy_after: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        if initial <= 0 or factor < 1 or cap < initial:
            raise ValueError("need initial > 0, factor >= 1 and cap >= initial")
        self.initial = initial
        self.factor = factor
        self.cap = cap
        self.jitter = jitter
        # Seconds a connection must last before it counts as healthy and resets the backoff.
        self.healthy_after = healthy_after
        # Injectable so tests can make the jitter reproducible.
        self._rng = rng or random.Random()
        # Failed attempts since the last reset; the exponent of the next delay.
        self._attempts = 0

    @property
    def attempts(self) -> int:
        """How many delays were handed out since the last reset."""
        return self._attempts

    def ceiling(self, attempt: int) -> float:
        """The largest delay of the ``attempt``-th retry (0-based): initial * factor^n, capped."""
        # Compare exponents rather than computing a huge power after many failures.
        if attempt > 64:
            return self.cap
        return min(self.cap, self.initial * self.factor**attempt)

    def next_delay(self) -> float:
        """The seconds to wait before the next attempt; each call counts one failure."""
        ceiling = self.ceiling(self._attempts)
        self._attempts += 1
        if self.jitter is Jitter.FULL:
            return self._rng.uniform(0.0, ceiling)
        if self.jitter is Jitter.EQUAL:
            return ceiling / 2 + self._rng.uniform(0.0, ceiling / 2)
        return ceiling

    def reset(self) -> None:
        """Start again from the initial delay."""
        self._attempts = 0

    def connection_lasted(self, seconds: float) -> None:
        """Report how long a connection stayed up; a healthy one resets the backoff."""
        if seconds >= self.healthy_after:
            self.reset()
