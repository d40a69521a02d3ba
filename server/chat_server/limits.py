"""Rate limits: token buckets per user or per address, and the login throttle.

Pure bookkeeping over a monotonic clock (injectable, so tests and reasoning
need no sleeping): nothing here awaits or touches the network. The handlers
ask before they act and turn a refusal into ``rate_limited`` / HTTP 429, or
for typing into silence.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable

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

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> float:
        return self._burst

    def take(self, key: str) -> float:
        """Spend one of ``key``'s tokens: 0.0 when allowed, else seconds to wait."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > _SWEEP_ABOVE:
                self._buckets = {k: b for k, b in self._buckets.items() if not b.full}
            bucket = self._buckets[key] = TokenBucket(self._rate, self._burst, self._clock)
        return bucket.take()


class FailureWindow:
    """At most ``limit`` failures per key inside a sliding window of ``window`` seconds."""

    def __init__(self, limit: int, window: float, clock: Clock = time.monotonic) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._failures: dict[Hashable, deque[float]] = {}

    def _recent(self, key: Hashable) -> deque[float]:
        now = self._clock()
        stamps = self._failures.get(key, deque())
        while stamps and stamps[0] <= now - self._window:
            stamps.popleft()
        return stamps

    def retry_after(self, key: Hashable) -> float:
        """0.0 while ``key`` is below its limit, else the seconds until the window frees one."""
        stamps = self._recent(key)
        if len(stamps) < self._limit:
            return 0.0
        return max(stamps[0] + self._window - self._clock(), 0.001)

    def record(self, key: Hashable) -> None:
        if key not in self._failures and len(self._failures) > _SWEEP_ABOVE:
            self._failures = {k: s for k, s in self._failures.items() if self._recent(k)}
        stamps = self._recent(key)
        stamps.append(self._clock())
        self._failures[key] = stamps

    def forgive(self, key: Hashable) -> None:
        """Take back the newest failure of ``key``."""
        stamps = self._failures.get(key)
        if stamps:
            stamps.pop()


class LoginThrottle:
    """Failed logins counted per (user name, client address), with a ceiling per user name.

    Per pair, so that a stranger guessing at ``alice`` from one desk does not
    lock alice out at hers: ``max_failures`` (the contract's 10) blocks that
    name from that address only. The ceiling, ``max_failures_per_user``
    failures for the name from all addresses together, still stops a guesser
    who spreads the attempts over many addresses (or spoofs them through a
    trusted proxy), at the price of locking the owner out only then.

    Keyed by the lower-cased name because names are unique case-insensitively:
    ``Alice`` and ``alice`` are one account to guess at. A correct password
    does not lift the throttle early; otherwise a guesser who shares the
    account's name with its owner could keep resetting it.
    """

    def __init__(
        self,
        max_failures: int,
        window: float,
        max_failures_per_user: int | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._pairs = FailureWindow(max_failures, window, clock)
        ceiling = max_failures if max_failures_per_user is None else max_failures_per_user
        self._names = FailureWindow(ceiling, window, clock)
        # The rules, for the same throttle counted in Redis (chat_server.cluster.limits).
        self.max_failures, self.ceiling, self.window = max_failures, ceiling, window

    def retry_after(self, username: str, address: str) -> float:
        """0.0 when a login may be tried, else the seconds until the window lets one through."""
        name = username.lower()
        return max(self._pairs.retry_after((name, address)), self._names.retry_after(name))

    def record_failure(self, username: str, address: str) -> None:
        """Count one failed login for ``username`` from ``address``.

        The login handler counts every attempt as failed *before* it checks
        the password and :meth:`forgive` s it on success, so that guesses sent
        in parallel cannot all slip past the check while none has failed yet.
        """
        name = username.lower()
        self._pairs.record((name, address))
        self._names.record(name)

    def forgive(self, username: str, address: str) -> None:
        """Take back the newest failure of ``username`` from ``address``: that attempt succeeded."""
        name = username.lower()
        self._pairs.forgive((name, address))
        self._names.forgive(name)
