"""A queue on a Redis server (`--queue redis://HOST:PORT[/DB]`): several servers share it.

The reliable-queue pattern, each step one Lua script (Redis runs a script atomically,
so no two consumers ever hold the same item and a crash never half-moves one):

- `<q>:ready`       a list of item ids, put on the left, taken from the right (FIFO)
- `<q>:processing`  a list of the ids taken and not yet answered
- `<q>:leases`      a sorted set: id -> the time its lease runs out
- `<q>:items`, `<q>:deliveries`, `<q>:tokens`, `<q>:errors`  hashes by id
- `<q>:dead`        a list of dead-lettered ids (their value stays in `<q>:items`)

`take` first moves every expired lease back to `ready` (or to `dead` past the
delivery limit), so an item whose consumer was killed is taken again.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from engine.server.queues.backend import Item, Outcome, QueueError, check_name, encode_value
from engine.support import json_out

PREFIX = "flowui:queue:"

_TAKE = """
local now, vis, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('LREM', KEYS[2], 0, id)
  redis.call('HDEL', KEYS[6], id)
  if tonumber(redis.call('HGET', KEYS[5], id) or '0') >= limit then
    redis.call('HSETNX', KEYS[8], id, ARGV[5])
    redis.call('LPUSH', KEYS[7], id)
  else
    redis.call('RPUSH', KEYS[1], id)
  end
end
local id = redis.call('RPOP', KEYS[1])
if not id then return false end
redis.call('LPUSH', KEYS[2], id)
redis.call('ZADD', KEYS[3], now + vis, id)
redis.call('HSET', KEYS[6], id, ARGV[4])
local n = redis.call('HINCRBY', KEYS[5], id, 1)
return {id, redis.call('HGET', KEYS[4], id), n}
"""

_EXTEND = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
return 1
"""

_ACK = """
if redis.call('HGET', KEYS[6], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('HDEL', KEYS[6], ARGV[1])
redis.call('HDEL', KEYS[8], ARGV[1])
return 1
"""

_NACK = """
local id = ARGV[1]
if redis.call('HGET', KEYS[6], id) ~= ARGV[2] then return 'lost' end
redis.call('LREM', KEYS[2], 0, id)
redis.call('ZREM', KEYS[3], id)
redis.call('HDEL', KEYS[6], id)
if ARGV[5] ~= '' then redis.call('HSET', KEYS[8], id, ARGV[5]) end
local n = tonumber(redis.call('HGET', KEYS[5], id) or '0')
if ARGV[4] == '0' then
  n = n - 1
  redis.call('HSET', KEYS[5], id, n)
end
if n >= tonumber(ARGV[3]) then
  redis.call('LPUSH', KEYS[7], id)
  return 'dead'
end
redis.call('RPUSH', KEYS[1], id)
return 'redelivered'
"""


def _keys(name: str) -> list[str]:
    base = PREFIX + name
    return [f"{base}:{part}" for part in ("ready", "processing", "leases", "items",
                                          "deliveries", "tokens", "dead", "errors")]


class RedisQueue:
    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError:
            raise QueueError("--queue redis://… needs the redis package: pip install "
                             "'flowui[redis]' (or pip install redis)") from None
        self.url = _without_password(url)
        try:
            self._r = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5,
                                           health_check_interval=30)
            self._r.ping()
        except (redis.RedisError, ValueError) as e:
            raise QueueError(f"cannot reach the Redis server at {self.url}: {e}; start it, "
                             "or check --queue") from None
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError,)
        self._take = self._r.register_script(_TAKE)
        self._extend = self._r.register_script(_EXTEND)
        self._ack = self._r.register_script(_ACK)
        self._nack = self._r.register_script(_NACK)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except self._errors as e:
            raise QueueError(f"the Redis queue at {self.url} failed: {e}") from None

    def put(self, name: str, value: Any) -> str:
        keys = _keys(check_name(name))
        text = encode_value(value)
        item_id = f"{time.time_ns():x}-{uuid.uuid4().hex[:12]}"
        pipe = self._r.pipeline(transaction=True)  # MULTI: value and id land together
        pipe.hset(keys[3], item_id, text)
        pipe.lpush(keys[0], item_id)
        self._call(pipe.execute)
        return item_id

    def take(self, name: str, *, visibility_s: float, max_deliveries: int) -> Item | None:
        keys = _keys(check_name(name))
        token = uuid.uuid4().hex
        expired_error = json_out.dumps({"type": "LeaseExpired", "message": "the last "
                                        "consumer stopped without an answer"})
        got = self._call(self._take, keys=keys, args=[
            repr(time.time()), repr(visibility_s), max_deliveries, token, expired_error])
        if not got:
            return None
        item_id, text, n = got
        return Item(name, item_id.decode(), json.loads(text), int(n), token)

    def extend(self, item: Item, visibility_s: float) -> bool:
        keys = _keys(item.queue)
        return bool(self._call(self._extend, keys=[keys[2], keys[5]], args=[
            item.id, item.token, repr(time.time() + visibility_s)]))

    def ack(self, item: Item) -> bool:
        return bool(self._call(self._ack, keys=_keys(item.queue), args=[item.id, item.token]))

    def nack(self, item: Item, *, max_deliveries: int, error: Any = None,
             count: bool = True) -> Outcome:
        err = json_out.dumps(error) if error is not None else ""
        got = self._call(self._nack, keys=_keys(item.queue), args=[
            item.id, item.token, max_deliveries, "1" if count else "0", err])
        text = got.decode() if isinstance(got, bytes) else str(got)
        return "dead" if text == "dead" else "redelivered" if text == "redelivered" else "lost"

    def counts(self, name: str) -> dict[str, int]:
        keys = _keys(check_name(name))
        ready, leased, dead = self._call(lambda: (
            self._r.llen(keys[0]), self._r.zcard(keys[2]), self._r.llen(keys[6])))
        return {"ready": int(ready), "leased": int(leased), "dead": int(dead)}

    def dead(self, name: str) -> list[dict[str, Any]]:
        keys = _keys(check_name(name))
        ids = [i.decode() for i in reversed(self._call(self._r.lrange, keys[6], 0, -1))]
        out = []
        for item_id in ids:
            text, n, err = self._call(lambda i=item_id: (
                self._r.hget(keys[3], i), self._r.hget(keys[4], i), self._r.hget(keys[7], i)))
            out.append({"id": item_id, "value": json.loads(text) if text else None,
                        "deliveries": int(n or 0), "error": json.loads(err) if err else None})
        return out

    def close(self) -> None:
        self._r.close()


def _without_password(url: str) -> str:
    """The URL for messages: a password in it never reaches a log or an error."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
