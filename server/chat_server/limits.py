"""Rate limits of the contract: token buckets per user and the login throttle.

Pure bookkeeping over a monotonic clock (injectable, so tests and reasoning
need no sleeping): nothing here awaits or touches the network. The handlers
ask before they act and turn a refusal into ``rate_limited`` / HTTP 429, or
for typing into silence.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]

# Above this many tracked keys, idle entries are swept out, so that a stream of
# made-up user names cannot grow the tables without bound.
_SWEEP_ABOVE = 1024


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst``; one action costs one token."""

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self) -> float:
        """Spend a token: 0.0 when allowed, else the seconds until one is available."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate

    @property
    def full(self) -> bool:
        """True when the bucket forgot everything (a fresh one would behave the same)."""
        self._refill()
        return self._tokens >= self.burst


class RateLimiter:
    """One :class:`TokenBucket` per key (a user name), shared by all of its connections."""

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str) -> float:
        """Spend one of ``key``'s tokens: 0.0 when allowed, else seconds to wait."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > _SWEEP_ABOVE:
                self._buckets = {k: b for k, b in self._buckets.items() if not b.full}
            bucket = self._buckets[key] = TokenBucket(self._rate, self._burst, self._clock)
        return bucket.take()


class LoginThrottle:
    """At most ``max_failures`` failed logins per user name inside a sliding window.

    Keyed by the lower-cased name because names are unique case-insensitively:
    ``Alice`` and ``alice`` are one account to guess at. A correct password
    does not lift the throttle early; otherwise a guesser who shares the
    account's name with its owner could keep resetting it.
    """

    def __init__(self, max_failures: int, window: float, clock: Clock = time.monotonic) -> None:
        self._max = max_failures
        self._window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        stamps = self._failures.get(key, deque())
        while stamps and stamps[0] <= now - self._window:
            stamps.popleft()
        return stamps

    def retry_after(self, username: str) -> float:
        """0.0 when a login may be tried, else the seconds until the window lets one through."""
        stamps = self._recent(username.lower())
        if len(stamps) < self._max:
            return 0.0
        return max(stamps[0] + self._window - self._clock(), 0.001)

    def record_failure(self, username: str) -> None:
        """Count one failed login for ``username``.

        The login handler counts every attempt as failed *before* it checks
        the password and :meth:`forgive` s it on success, so that guesses sent
        in parallel cannot all slip past the check while none has failed yet.
        """
        key = username.lower()
        if key not in self._failures and len(self._failures) > _SWEEP_ABOVE:
            self._failures = {k: s for k, s in self._failures.items() if self._recent(k)}
        stamps = self._recent(key)
        stamps.append(self._clock())
        self._failures[key] = stamps

    def forgive(self, username: str) -> None:
        """Take back the newest failure of ``username``: that attempt succeeded."""
        stamps = self._failures.get(username.lower())
        if stamps:
            stamps.pop()
