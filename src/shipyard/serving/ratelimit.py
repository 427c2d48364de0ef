"""Token-bucket rate limits: the pure bucket, and limiters keeping one bucket per key in memory or in Redis.

A bucket holds at most `burst` tokens and gains `rate` tokens per second; each request takes one.
`acquire(key, rate, burst)` answers 0.0 when the request may go ahead, else the seconds until a
token will be there (nothing is taken then). `MemoryRateLimiter` counts per process, so with
`--workers N` each worker allows the rate on its own; `RedisRateLimiter` shares one bucket per key
across every worker and replica, and runs the same arithmetic atomically in a Lua script.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ..config import ServerSettings
from ..errors import RateLimited
from ..security.authenticator import ANONYMOUS_ADMIN
from ..security.permissions import Principal

if TYPE_CHECKING:
    import redis.asyncio

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
"""Seconds from any fixed origin, never going back (`time.monotonic` in production, a fake in tests)."""


def refill(tokens: float, elapsed: float, rate: float, burst: int) -> float:
    """Tokens after `elapsed` seconds at `rate` per second, capped at `burst` (a clock that went back adds none)."""
    return min(float(burst), tokens + max(0.0, elapsed) * rate)


class TokenBucket:
    """One bucket: `burst` tokens at most, refilled at `rate` per second; starts full."""

    __slots__ = ("burst", "clock", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: int, *, clock: Clock = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1, got rate={rate}, burst={burst}")
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.updated = clock()

    def acquire(self) -> float:
        """Take a token: 0.0 if there was one, else the seconds until there will be one (nothing is taken)."""
        now = self.clock()
        self.tokens = refill(self.tokens, now - self.updated, self.rate, self.burst)
        self.updated = max(self.updated, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate}, burst={self.burst}, tokens={self.tokens:.3f})"


class RateLimiter(Protocol):
    """Buckets by key; what the rate-limit middleware charges."""

    async def acquire(self, key: str, rate: float, burst: int) -> float:
        """Take a token from `key`'s bucket: 0.0 when allowed, else the seconds to wait."""
        ...

    async def aclose(self) -> None: ...


class MemoryRateLimiter:
    """Buckets in this process, at most `max_buckets` of them (least recently used ones are dropped).

    A dropped bucket comes back full, which only favours a caller unseen for the longest time; the
    bound is what keeps a flood of distinct client addresses from growing memory without end.
    """

    def __init__(self, *, max_buckets: int = 100_000, clock: Clock = time.monotonic) -> None:
        self.max_buckets = max_buckets
        self._clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    async def acquire(self, key: str, rate: float, burst: int) -> float:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate != rate or bucket.burst != burst:
            bucket = self._buckets[key] = TokenBucket(rate, burst, clock=self._clock)
            if len(self._buckets) > self.max_buckets:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(key)
        return bucket.acquire()

    async def aclose(self) -> None:
        self._buckets.clear()

    def __len__(self) -> int:
        return len(self._buckets)

    def __repr__(self) -> str:
        return f"MemoryRateLimiter(buckets={len(self._buckets)}, max_buckets={self.max_buckets})"


# The same arithmetic as TokenBucket.acquire, done inside Redis so that concurrent replicas cannot both
# take the last token. `now` is the caller's clock when given (tests), else Redis's own: one clock
# for every replica, whatever their system clocks say. The key expires once it would be full again,
# when forgetting it changes nothing. Floats go back as a string: Redis truncates Lua numbers to integers.
_TOKEN_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
if tokens == nil or updated == nil then
  tokens = burst
  updated = now
end
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
updated = math.max(updated, now)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'updated', updated)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return string.format('%.17g', wait)
"""


class RedisRateLimiter:
    """Buckets in Redis under `prefix`, shared by every worker and replica using the same Redis.

    When Redis cannot be reached the request is allowed (fail open), a warning is logged at most once
    a minute, and Redis is not asked again for `retry_seconds`. A rate limit protects capacity, not
    access (authentication does that): refusing every prediction because a shared counter is down
    would turn a Redis outage into an outage of the whole service.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "shipyard:ratelimit:",
        clock: Clock | None = None,
        retry_seconds: float = 5.0,
        timeout_seconds: float = 0.5,
    ) -> None:
        import redis.asyncio

        self._redis: redis.asyncio.Redis = redis.asyncio.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )
        self._script = self._redis.register_script(_TOKEN_BUCKET_LUA)
        self.prefix = prefix
        self._clock = clock
        self.retry_seconds = retry_seconds
        self._skip_until = 0.0
        self._warned_at = -math.inf

    async def acquire(self, key: str, rate: float, burst: int) -> float:
        import redis

        if time.monotonic() < self._skip_until:
            return 0.0
        now = "" if self._clock is None else repr(self._clock())
        try:
            wait = await self._script(keys=[self.prefix + key], args=[repr(float(rate)), burst, now])
        except (redis.RedisError, OSError) as exc:
            self._failed(exc)
            return 0.0
        return float(wait)

    def _failed(self, exc: Exception) -> None:
        now = time.monotonic()
        self._skip_until = now + self.retry_seconds
        if now - self._warned_at >= 60.0:
            self._warned_at = now
            logger.warning("rate limits off: Redis unreachable (%s); allowing requests until it answers again", exc)

    async def aclose(self) -> None:
        await self._redis.aclose()

    def __repr__(self) -> str:
        return f"RedisRateLimiter(prefix={self.prefix!r})"


Limit = tuple[float, int]
"""(requests per second, burst) of one token bucket."""


def bucket_limit(rate: float | None, burst: int | None) -> Limit | None:
    """The bucket of a rate setting; without an explicit burst it holds one second's worth (at least one)."""
    return None if rate is None else (rate, burst or max(1, math.ceil(rate)))


def caller_key(principal: Principal | None, address: str | None) -> tuple[str, str]:
    """(bucket key, words for messages) of a caller: its API key, else its token subject, else its address.

    With auth off everyone is the same anonymous admin, so the client address is what tells callers apart.
    """
    if principal is not None and principal != ANONYMOUS_ADMIN:
        if principal.key_id:
            return f"key:{principal.key_id}", f"API key {principal.key_id!r}"
        return f"subject:{principal.subject}", repr(principal.subject)
    where = address or "unknown"
    return f"client:{where}", f"client {where}"


class RateLimits:
    """The limits one inference is charged against, whatever protocol it came by (HTTP and gRPC share them).

    The caller is charged first: a request refused for its caller costs the model nothing, so one
    noisy key cannot drain a model's budget for everyone else.
    """

    def __init__(self, limiter: RateLimiter, *, per_key: Limit | None = None, per_model: Limit | None = None) -> None:
        self.limiter = limiter
        self.per_key = per_key
        self.per_model = per_model

    async def charge(self, caller: tuple[str, str], model: str) -> None:
        """Take a token for `caller` (from `caller_key`) and one for `model`; RateLimited naming the empty bucket."""
        if self.per_key is not None:
            key, who = caller
            wait = await self.limiter.acquire(key, *self.per_key)
            if wait > 0:
                raise RateLimited(who, wait)
        if self.per_model is not None:
            wait = await self.limiter.acquire(f"model:{model}", *self.per_model)
            if wait > 0:
                raise RateLimited(f"model {model!r}", wait)

    def __repr__(self) -> str:
        return f"RateLimits(limiter={self.limiter!r}, per_key={self.per_key}, per_model={self.per_model})"


def rate_limiter(redis_url: str | None) -> RateLimiter:
    """Buckets shared through Redis when there is one, else in this process."""
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()


def rate_limits(server: ServerSettings, *, redis_url: str | None) -> RateLimits | None:
    """The limits the settings ask for; None when neither a per-key nor a per-model rate is set."""
    per_key = bucket_limit(server.rate_limit_per_key, server.rate_limit_burst)
    per_model = bucket_limit(server.rate_limit_per_model, server.rate_limit_burst)
    if per_key is None and per_model is None:
        return None
    return RateLimits(rate_limiter(redis_url), per_key=per_key, per_model=per_model)


__all__ = [
    "Clock",
    "Limit",
    "MemoryRateLimiter",
    "RateLimiter",
    "RateLimits",
    "RedisRateLimiter",
    "TokenBucket",
    "bucket_limit",
    "caller_key",
    "rate_limiter",
    "rate_limits",
    "refill",
]
