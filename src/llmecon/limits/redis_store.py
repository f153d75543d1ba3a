"""`RedisLimiter`: limits shared exactly by every gateway replica, kept in Redis.

Each call is one Lua script, so it runs atomically in Redis and reads Redis's own clock
(`TIME`): replicas with skewed clocks still share one window and one budget. Keys of one API
key share the hash tag `{KEY_ID}`, so they live in one slot of a Redis Cluster:

    PREFIX:{K}:log    ZSET  admission id -> admitted at (µs): the requests in the rate window
    PREFIX:{K}:tok    HASH  admission id -> tokens counted; "sum" -> their total
    PREFIX:{K}:held   ZSET  admission id -> expires at (µs): unsettled budget reservations
    PREFIX:{K}:hold   HASH  admission id -> "NUSD DAY MONTH"; "d:DAY" / "m:MONTH" -> nusd held
    PREFIX:{K}:spent  HASH  "d:2026-01-31" / "m:2026-01" -> nusd settled in the current windows
    PREFIX:{K}:done   ZSET  admission id -> forget at (µs): settled or released admissions

Every admit first drops what has left its window: log entries older than the window (their
tokens leave the sum) and expired reservations (their nusd leaves the held totals). Settle and
release mark the admission done for one reservation lifetime, which makes them idempotent. Keys
expire on their own once a key goes idle. Sums stay exact while below 2**53 (Lua numbers are
doubles; `KeyPolicy` and the amounts are checked against that). The client never retries a
command: after a timeout an admission may have been counted without being returned; its
reservation then expires. Any Redis failure raises `LimitsUnavailableError`.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import get_args

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from llmecon.limits.model import (
    Admission,
    KeyPolicy,
    KeyUsage,
    Rejection,
    RejectionKind,
    check_amount,
)
from llmecon.limits.protocol import LimiterBase, LimitsUnavailableError

DEFAULT_URL = "redis://127.0.0.1:6379/0"
SPENT_KEEP_MS = 35 * 86_400_000  # longer than any calendar month
KEY_NAMES = ("log", "tok", "held", "hold", "spent", "done")

# Days since 1970-01-01 <-> proleptic Gregorian dates (H. Hinnant's algorithms), and the UTC
# budget windows at a Redis TIME: day and month names, µs until each ends.
CALENDAR = """
local function civil(days)
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end
local function windows(sec, now_us)
  local days = math.floor(sec / 86400)
  local y, m, d = civil(days)
  local ny, nm = y, m + 1
  if nm == 13 then ny, nm = y + 1, 1 end
  return string.format('%04d-%02d-%02d', y, m, d), string.format('%04d-%02d', y, m),
    (days + 1) * 86400000000 - now_us, days_from_civil(ny, nm, 1) * 86400000000 - now_us
end
"""

# Shared by both scripts. Numbers go back to Redis through int(): Lua's own number-to-string
# conversion would write large integers as 1.2e+15.
COMMON = """
local log, tok, held, hold, spent, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local function int(x) return string.format('%d', x) end
local t = redis.call('TIME')
local sec, now_us = tonumber(t[1]), tonumber(t[1]) * 1000000 + tonumber(t[2])
local function parse(rec)
  local nusd, day, month = string.match(rec, '^(%d+) (%S+) (%S+)$')
  return tonumber(nusd), day, month
end
local function unhold(nusd, day, month)
  for _, name in ipairs({'d:' .. day, 'm:' .. month}) do
    if redis.call('HINCRBY', hold, name, int(-nusd)) == 0 then redis.call('HDEL', hold, name) end
  end
end
"""

ADMIT = (
    CALENDAR
    + COMMON
    + """
local rid, tokens, nusd = ARGV[1], tonumber(ARGV[6]), tonumber(ARGV[7])
local window_us, ttl_us = tonumber(ARGV[8]), tonumber(ARGV[9])
local day, month, day_left, month_left = windows(sec, now_us)

local function prune_log()
  while true do
    local old = redis.call('ZRANGEBYSCORE', log, '-inf', int(now_us - window_us), 'LIMIT', 0, 256)
    if #old == 0 then return end
    local amounts = redis.call('HMGET', tok, unpack(old))
    local freed = 0
    for i = 1, #old do freed = freed + (tonumber(amounts[i]) or 0) end
    redis.call('HINCRBY', tok, 'sum', int(-freed))
    redis.call('HDEL', tok, unpack(old))
    redis.call('ZREM', log, unpack(old))
  end
end

local function prune_holds()
  while true do
    local old = redis.call('ZRANGEBYSCORE', held, '-inf', int(now_us), 'LIMIT', 0, 256)
    if #old == 0 then return end
    local recs = redis.call('HMGET', hold, unpack(old))
    for i = 1, #old do
      if recs[i] then unhold(parse(recs[i])) end
    end
    redis.call('HDEL', hold, unpack(old))
    redis.call('ZREM', held, unpack(old))
  end
end

-- when the oldest request that must leave the window for one more to fit does leave it
local function request_retry(used, limit)
  if limit < 1 then return window_us end
  local entry = redis.call('ZRANGE', log, used - limit, used - limit, 'WITHSCORES')
  return tonumber(entry[2]) + window_us - now_us
end

-- the same for tokens: walk the window oldest first until enough tokens have left it
local function token_retry(used, limit)
  if tokens > limit then return window_us end
  local start, freed = 0, 0
  while true do
    local page = redis.call('ZRANGE', log, start, start + 255, 'WITHSCORES')
    if #page == 0 then return window_us end
    local ids = {}
    for i = 1, #page, 2 do ids[#ids + 1] = page[i] end
    local amounts = redis.call('HMGET', tok, unpack(ids))
    for i = 1, #ids do
      freed = freed + (tonumber(amounts[i]) or 0)
      if used - freed + tokens <= limit then
        return tonumber(page[2 * i]) + window_us - now_us
      end
    end
    start = start + 256
  end
end

local function budget_used(name)
  return (tonumber(redis.call('HGET', spent, name)) or 0)
    + (tonumber(redis.call('HGET', hold, name)) or 0)
end

local function rejections()
  local found = {}
  local rpm, tpm = tonumber(ARGV[2]), tonumber(ARGV[3])
  local bday, bmonth = tonumber(ARGV[4]), tonumber(ARGV[5])
  local count = redis.call('ZCARD', log)
  if rpm and count + 1 > rpm then
    found[#found + 1] = {'requests_per_minute', rpm, count, 1, request_retry(count, rpm)}
  end
  local tsum = tonumber(redis.call('HGET', tok, 'sum')) or 0
  if tpm and tsum + tokens > tpm then
    found[#found + 1] = {'tokens_per_minute', tpm, tsum, tokens, token_retry(tsum, tpm)}
  end
  local dused, mused = budget_used('d:' .. day), budget_used('m:' .. month)
  if bday and dused + nusd > bday then
    found[#found + 1] = {'budget_day', bday, dused, nusd, day_left}
  end
  if bmonth and mused + nusd > bmonth then
    found[#found + 1] = {'budget_month', bmonth, mused, nusd, month_left}
  end
  return found
end

local function take()
  redis.call('ZADD', log, int(now_us), rid)
  redis.call('HSET', tok, rid, ARGV[6])
  redis.call('HINCRBY', tok, 'sum', ARGV[6])
  redis.call('ZADD', held, int(now_us + ttl_us), rid)
  redis.call('HSET', hold, rid, ARGV[7] .. ' ' .. day .. ' ' .. month)
  redis.call('HINCRBY', hold, 'd:' .. day, ARGV[7])
  redis.call('HINCRBY', hold, 'm:' .. month, ARGV[7])
  if redis.call('HLEN', spent) > 2 then
    for _, name in ipairs(redis.call('HKEYS', spent)) do
      if name ~= 'd:' .. day and name ~= 'm:' .. month then redis.call('HDEL', spent, name) end
    end
  end
  for _, key in ipairs({log, tok}) do redis.call('PEXPIRE', key, ARGV[10]) end
  for _, key in ipairs({held, hold}) do redis.call('PEXPIRE', key, ARGV[11]) end
end

prune_log()
prune_holds()
local found = rejections()
if #found > 0 then
  local worst = found[1]
  for i = 2, #found do
    if found[i][5] > worst[5] then worst = found[i] end
  end
  return {0, worst[1], int(worst[2]), int(worst[3]), int(worst[4]), int(worst[5])}
end
take()
return {1, int(now_us), day, month}
"""
)

FINISH = (
    COMMON
    + """
local rid, tokens, nusd = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local day, month = ARGV[5], ARGV[6]
redis.call('ZREMRANGEBYSCORE', done, '-inf', int(now_us))
if redis.call('ZSCORE', done, rid) then return 0 end
redis.call('ZADD', done, int(now_us + tonumber(ARGV[4])), rid)
redis.call('PEXPIRE', done, ARGV[7])
if redis.call('ZSCORE', log, rid) then
  local old = tonumber(redis.call('HGET', tok, rid)) or 0
  redis.call('HSET', tok, rid, ARGV[2])
  redis.call('HINCRBY', tok, 'sum', int(tokens - old))
end
local rec = redis.call('HGET', hold, rid)
if rec then
  local held_nusd
  held_nusd, day, month = parse(rec)
  unhold(held_nusd, day, month)
  redis.call('HDEL', hold, rid)
  redis.call('ZREM', held, rid)
end
if nusd > 0 then
  redis.call('HINCRBY', spent, 'd:' .. day, ARGV[3])
  redis.call('HINCRBY', spent, 'm:' .. month, ARGV[3])
  redis.call('PEXPIRE', spent, ARGV[8])
end
return 1
"""
)

# What a key has taken now, read without writing: what admit's pruning would drop (log entries
# out of the window, expired reservations) is left out of the sums instead of removed.
USAGE = (
    CALENDAR
    + COMMON
    + """
local cutoff = now_us - tonumber(ARGV[1])
local day, month = windows(sec, now_us)
local requests = redis.call('ZCOUNT', log, '(' .. int(cutoff), '+inf')
local tokens = tonumber(redis.call('HGET', tok, 'sum')) or 0
local start = 0
while true do
  local old = redis.call('ZRANGEBYSCORE', log, '-inf', int(cutoff), 'LIMIT', start, 256)
  if #old == 0 then break end
  local amounts = redis.call('HMGET', tok, unpack(old))
  for i = 1, #old do tokens = tokens - (tonumber(amounts[i]) or 0) end
  start = start + 256
end
local dheld = tonumber(redis.call('HGET', hold, 'd:' .. day)) or 0
local mheld = tonumber(redis.call('HGET', hold, 'm:' .. month)) or 0
start = 0
while true do
  local old = redis.call('ZRANGEBYSCORE', held, '-inf', int(now_us), 'LIMIT', start, 256)
  if #old == 0 then break end
  local recs = redis.call('HMGET', hold, unpack(old))
  for i = 1, #old do
    if recs[i] then
      local nusd, d, m = parse(recs[i])
      if d == day then dheld = dheld - nusd end
      if m == month then mheld = mheld - nusd end
    end
  end
  start = start + 256
end
return {int(requests), int(tokens), int(tonumber(redis.call('HGET', spent, 'd:' .. day)) or 0),
  int(dheld), int(tonumber(redis.call('HGET', spent, 'm:' .. month)) or 0), int(mheld), day, month}
"""
)


def _limit(value: int | None) -> str:
    return "" if value is None else str(value)


def _ms(seconds: float) -> str:
    return str(int(seconds * 1000) + 1000)  # a second of slack past the last use


class RedisLimiter(LimiterBase):
    """The `Limiter` over Redis at `url` (`redis://`, `rediss://` or `unix://`). `window_s` is
    the rate window (60 s; tests shorten it), `reservation_ttl_s` how long an unsettled
    reservation holds budget, `timeout_s` how long to wait for Redis to connect or answer,
    `max_connections` the size of the connection pool and `pool_timeout_s` how long a call may
    queue for one of its connections under load."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        prefix: str = "llmecon:limits",
        reservation_ttl_s: float = 600.0,
        window_s: float = 60.0,
        timeout_s: float = 1.0,
        max_connections: int = 64,
        pool_timeout_s: float = 10.0,
    ) -> None:
        # a bounded pool: calls beyond `max_connections` queue for a connection
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=pool_timeout_s,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),  # never repeat a script: admit is not idempotent
            decode_responses=True,
        )
        self._redis: Redis = Redis.from_pool(pool)
        self._prefix, self._ttl, self._window = prefix, reservation_ttl_s, window_s
        self._instance, self._seq = uuid.uuid4().hex[:12] + ".", itertools.count(1)
        self._admit = self._redis.register_script(ADMIT)
        self._finish = self._redis.register_script(FINISH)
        self._usage = self._redis.register_script(USAGE)
        kwargs = self._redis.connection_pool.connection_kwargs
        self._where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"

    def keys(self, key_id: str) -> list[str]:
        """The Redis keys holding `key_id`'s state, in the scripts' KEYS order."""
        return [f"{self._prefix}:{{{key_id}}}:{name}" for name in KEY_NAMES]

    async def _run(self, script: AsyncScript, key_id: str, args: Sequence[str]) -> list[str]:
        try:
            reply: list[str] = await script(keys=self.keys(key_id), args=args)
        except (RedisError, OSError) as error:
            raise LimitsUnavailableError(
                f"the limits store (Redis at {self._where}) is unavailable: {error}; "
                "check that Redis is running and reachable, then retry"
            ) from error
        return reply

    async def admit(
        self, key_id: str, policy: KeyPolicy, reserve_tokens: int, reserve_nusd: int
    ) -> Admission | Rejection:
        check_amount("reserve_tokens", reserve_tokens)
        check_amount("reserve_nusd", reserve_nusd)
        # unique across replicas and forked workers (a limiter made before a fork would
        # otherwise hand both workers the same ids), no uuid per request
        rid = f"{self._instance}{os.getpid():x}.{next(self._seq):x}"
        args = (
            rid,
            _limit(policy.requests_per_minute),
            _limit(policy.tokens_per_minute),
            _limit(policy.budget_per_day_nusd),
            _limit(policy.budget_per_month_nusd),
            str(reserve_tokens),
            str(reserve_nusd),
            str(round(self._window * 1e6)),
            str(round(self._ttl * 1e6)),
            _ms(self._window),
            _ms(self._ttl),
        )
        reply = await self._run(self._admit, key_id, args)
        if int(reply[0]):
            now_us, day, month = int(reply[1]), str(reply[2]), str(reply[3])
            return Admission(rid, key_id, reserve_tokens, reserve_nusd, now_us / 1e6, day, month)
        kind: RejectionKind = _KINDS[str(reply[1])]
        limit, used, requested, retry_us = (int(x) for x in reply[2:6])
        return Rejection(kind, limit, used, requested, retry_us / 1e6)

    async def settle(self, admission: Admission, actual_tokens: int, actual_nusd: int) -> None:
        check_amount("actual_tokens", actual_tokens)
        check_amount("actual_nusd", actual_nusd)
        args = (
            admission.id,
            str(actual_tokens),
            str(actual_nusd),
            str(round(self._ttl * 1e6)),
            admission.day,
            admission.month,
            _ms(self._ttl),
            str(SPENT_KEEP_MS),
        )
        await self._run(self._finish, admission.key_id, args)

    async def usage(self, key_id: str) -> KeyUsage:
        reply = await self._run(self._usage, key_id, (str(round(self._window * 1e6)),))
        requests, tokens, day_spent, day_held, month_spent, month_held = map(int, reply[:6])
        return KeyUsage(requests, tokens, day_spent, day_held, month_spent, month_held,
                        str(reply[6]), str(reply[7]))  # fmt: skip

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def aclose(self) -> None:
        await self._redis.aclose()


_KINDS: Mapping[str, RejectionKind] = MappingProxyType(
    {kind: kind for kind in get_args(RejectionKind)}
)
