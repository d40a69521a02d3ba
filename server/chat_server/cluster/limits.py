"""Rate limits and the login throttle counted once in Redis for every server of the chat.

The same rules as :mod:`chat_server.limits` (token buckets; failed logins in
a sliding window per name and address, with a ceiling per name), kept in
Redis and changed by small Lua scripts, so that one check is one atomic
round trip and N servers do not allow N times the limit. Time is Redis's
own clock (``TIME``), so servers whose clocks differ a little still agree.

While Redis is away each server falls back on its own in-process limiter
(the one a single server uses), which is said once in the log; it counts
from scratch, so for that while the limit holds per server.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from ..limits import LoginThrottle, RateLimiter
from .bus import REDIS_FAILURES, RedisLink

log = logging.getLogger(__name__)

# While Redis is away, a limit is asked of it at most this often (seconds);
# in between the local limiter answers at once, so that a Redis that does
# not answer (rather than refusing) does not slow every message down.
RETRY_SECONDS = 5.0
# The longest a limit may wait for Redis before the local limiter answers:
# a Redis that hangs (rather than refusing) must not hold every message up,
# but a busy server's loop must not be taken for Redis failing either.
ANSWER_SECONDS = 2.0

# KEYS[1]: the bucket. ARGV: rate per second, burst. Returns the seconds to
# wait (0 when a token was taken), as a string (Lua numbers become integers).
_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or burst
local stamp = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""

# KEYS: the windows (a sorted set of failure times each). ARGV: op (try,
# forgive), window seconds, a unique member, then each key's limit. try
# returns the seconds until every window lets one more through, or, when
# they all do, counts the attempt as failed and returns 0: in one step, so
# that guesses sent in parallel cannot all pass the check before any counts.
_WINDOWS = """
local op = ARGV[1]
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if op == 'forgive' then
    redis.call('ZPOPMAX', key)
  elseif redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now, 0.001)
  end
end
if op == 'try' and wait == 0 then
  for _, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, ARGV[3])
    redis.call('EXPIRE', key, math.ceil(window) + 1)
  end
end
return tostring(wait)
"""


class SharedLimits:
    """Token buckets and failure windows in Redis, each with its in-process fallback."""

    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self._bucket = link.redis.register_script(_BUCKET)
        self._windows = link.redis.register_script(_WINDOWS)
        self._alone = False
        self._failed_at = 0.0

    def skip(self) -> bool:
        """True while Redis failed within RETRY_SECONDS: use the local limiter."""
        return self._alone and time.monotonic() - self._failed_at < RETRY_SECONDS

    def _fell_back(self, exc: BaseException) -> None:
        self._failed_at = time.monotonic()
        self._link.failed(exc)
        if not self._alone:
            self._alone = True
            log.warning("rate limits are counted by each server alone until Redis is back")

    def _counted(self) -> None:
        if self._alone:
            self._alone = False
            log.info("rate limits are counted for the whole chat again")

    async def take(self, name: str, key: str, local: RateLimiter) -> float:
        """Spend one token of ``key`` in bucket family ``name``: 0.0, or seconds to wait."""
        if self.skip():
            return local.take(key)
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                wait = await self._bucket(
                    keys=[f"chat:rate:{name}:{key}"], args=[local.rate, local.burst]
                )
        except REDIS_FAILURES as exc:
            self._fell_back(exc)
            return local.take(key)
        self._counted()
        return float(wait)

    async def windows(self, op: str, keys: list[str], args: list[Any]) -> float | None:
        """Run the failure-window script; None when Redis is away (use the local throttle)."""
        if self.skip():
            return None
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                wait = float(await self._windows(keys=keys, args=[op, *args]))
        except REDIS_FAILURES as exc:
            self._fell_back(exc)
            return None
        self._counted()
        return wait


class SharedLoginThrottle:
    """:class:`~chat_server.limits.LoginThrottle`'s rules, counted in Redis."""

    def __init__(self, limits: SharedLimits, local: LoginThrottle) -> None:
        self._limits = limits
        self._local = local

    def _keys(self, username: str, address: str) -> list[str]:
        name = username.lower()
        return [f"chat:logins:{name}:{address}", f"chat:logins:{name}"]

    async def _call(self, op: str, username: str, address: str) -> float:
        local = self._local
        args: list[Any] = [local.window, uuid.uuid4().hex, local.max_failures, local.ceiling]
        wait = await self._limits.windows(op, self._keys(username, address), args)
        if wait is not None:
            return wait
        # Redis is away: the same steps on this server's own throttle.
        if op == "forgive":
            local.forgive(username, address)
            return 0.0
        wait = local.retry_after(username, address)
        if not wait:
            local.record_failure(username, address)
        return wait

    async def attempt(self, username: str, address: str) -> float:
        """A login is about to be tried: 0.0 (and it counts as failed until
        forgiven), or the seconds until one may be tried."""
        return await self._call("try", username, address)

    async def forgive(self, username: str, address: str) -> None:
        await self._call("forgive", username, address)
