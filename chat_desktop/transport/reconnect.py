"""When to try again after the connection dropped: at once, then exponential backoff with jitter.

A pure object with an injectable clock and no I/O, so tests can drive it
directly. The link tells it when a connection is up (:meth:`ReconnectPolicy.connected`,
at the server's ``welcome``) and when it ended (:meth:`ReconnectPolicy.disconnected`),
and asks :meth:`ReconnectPolicy.next_delay` before each new attempt:

- the first retry after a drop comes at once, spread over ``first_retry``
  seconds (0-1 s): a server restart or a network blip heals in a moment;
- every further failed attempt waits longer, ``initial * factor^n`` up to
  ``cap``, with jitter;
- only a connection that *lived* ``healthy_after`` seconds (10) resets the
  backoff. A server that accepts, says ``welcome`` and crashes at once keeps
  its clients backing off instead of being hammered by all of them.

Jitter spreads the reconnects of a whole office after a server restart, so
they do not all arrive in the same instant (see the AWS Architecture Blog,
"Exponential Backoff And Jitter").
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable


class Jitter(enum.Enum):
    """How a delay is randomised below its exponential ceiling."""

    #: Anywhere between 0 and the ceiling: spreads clients best.
    FULL = "full"
    #: Between half the ceiling and the ceiling: never retries almost at once.
    EQUAL = "equal"
    #: Exactly the ceiling (for tests and debugging).
    NONE = "none"


class ReconnectPolicy:
    """Retry at once, then exponential backoff with a cap and jitter; reset after a lived
    connection. See the module docstring."""

    def __init__(
        self,
        *,
        first_retry: float = 1.0,
        initial: float = 0.5,
        factor: float = 2.0,
        cap: float = 30.0,
        jitter: Jitter = Jitter.EQUAL,
        healthy_after: float = 10.0,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if first_retry < 0 or initial <= 0 or factor < 1 or cap < initial:
            raise ValueError("need first_retry >= 0, initial > 0, factor >= 1 and cap >= initial")
        # The first retry after a drop comes within this many seconds (always fully
        # jittered, NONE aside): "at once", yet not the whole office in the same instant.
        self.first_retry = first_retry
        self.initial = initial
        self.factor = factor
        self.cap = cap
        self.jitter = jitter
        # Seconds a connection must live before it counts as healthy and resets the backoff.
        self.healthy_after = healthy_after
        # Injectable so tests can make the jitter reproducible and time explicit.
        self._rng = rng or random.Random()
        self._clock = clock
        # Attempts since the last reset; the exponent of the next delay.
        self._attempts = 0
        # When the current connection came up (clock()), None while down.
        self._up_since: float | None = None

    @property
    def attempts(self) -> int:
        """How many delays were handed out since the last reset."""
        return self._attempts

    def ceiling(self, attempt: int) -> float:
        """The largest delay of the ``attempt``-th retry (0-based) after a drop.

        Attempt 0 is the immediate retry (``first_retry``); then initial * factor^n, capped.
        """
        if attempt == 0:
            return self.first_retry
        # Compare exponents rather than computing a huge power after many failures.
        if attempt > 64:
            return self.cap
        return min(self.cap, self.initial * self.factor ** (attempt - 1))

    def next_delay(self) -> float:
        """The seconds to wait before the next attempt; each call counts one attempt."""
        attempt = self._attempts
        ceiling = self.ceiling(attempt)
        self._attempts += 1
        if self.jitter is Jitter.NONE:
            return ceiling
        if attempt == 0 or self.jitter is Jitter.FULL:
            return self._rng.uniform(0.0, ceiling)
        return ceiling / 2 + self._rng.uniform(0.0, ceiling / 2)

    def reset(self) -> None:
        """Start again: the next retry is the immediate one."""
        self._attempts = 0

    def connected(self) -> None:
        """A connection is up (the server said ``welcome``); its life starts now."""
        self._up_since = self._clock()

    def disconnected(self) -> None:
        """The connection ended; if it lived ``healthy_after`` seconds, reset the backoff."""
        up_since, self._up_since = self._up_since, None
        if up_since is not None and self._clock() - up_since >= self.healthy_after:
            self.reset()
