import { type StoreOp, type StoreResult, slidingCount } from '@vigil/core';

/**
 * Extra physical lifetime given to every key with a TTL, on top of its logical one.
 * Logical expiry is computed from the batch's `now` (the engine's clock); physical
 * expiry (PEXPIRE) runs on Redis' clock. The margin keeps an app host whose clock is
 * ahead of Redis' from seeing a key vanish before it has logically expired. Memory
 * stays bounded: one more minute of keys.
 */
export const CLOCK_SKEW_MS = 60_000;

/**
 * Where one logical store key lives in Redis. Every name starts with
 * `<prefix>{<hashTag>}:`, so all the keys of one batch hash to one Cluster slot.
 *
 * | kind | Redis key | type | TTL |
 * |---|---|---|---|
 * | counter | `<prefix>{<tag>}:c:<key>` | hash: window index → count (current and previous windows) | end of the next window + 1 min |
 * | distinct | `<prefix>{<tag>}:d:<key>:<window index>` | HyperLogLog, one per window | end of the next window + 1 min |
 * | value | `<prefix>{<tag>}:v:<key>` | string `<expiresAt ms or empty>:<value>` | the value's TTL + 1 min; none without a TTL |
 *
 * @example
 * const { layout } = new RedisStore({ url, prefix: 'shop:' })
 * layout.counter('v:site:unfamiliar') // 'shop:{vigil}:c:v:site:unfamiliar'
 */
export interface KeyLayout {
  /** The part every key starts with: `<prefix>{<hashTag>}:`. */
  readonly base: string;
  counter(key: string): string;
  distinct(key: string, window: number): string;
  value(key: string): string;
}

export function keyLayout(prefix: string, hashTag: string): KeyLayout {
  const base = `${prefix}{${hashTag}}:`;
  return {
    base,
    counter: (key) => `${base}c:${key}`,
    distinct: (key, window) => `${base}d:${key}:${window}`,
    value: (key) => `${base}v:${key}`,
  };
}

/**
 * The whole batch as one script: one round trip, atomic on the server. KEYS holds every
 * key the batch touches, in op order (declared, so Redis Cluster can route it); ARGV
 * holds one op code per op followed by its arguments. The script returns raw numbers
 * (and raw values); windows are weighed and expiries checked in JavaScript, with the
 * batch's clock, exactly as `MemoryStore` does.
 */
export const BATCH_SCRIPT = `
local out = {}
local k, a = 1, 1
local function pfcount(current, previous)
  if redis.call('EXISTS', previous) == 1 then return redis.call('PFCOUNT', current, previous) end
  return redis.call('PFCOUNT', current)
end
while a <= #ARGV do
  local op = ARGV[a]
  if op == 'h' then
    -- hit: window, previous window, amount, ttl
    local key, previous = KEYS[k], ARGV[a + 2]
    local current = redis.call('HINCRBY', key, ARGV[a + 1], ARGV[a + 3])
    if redis.call('HLEN', key) > 2 then
      local oldest = tonumber(previous)
      for _, field in ipairs(redis.call('HKEYS', key)) do
        local window = tonumber(field)
        if window == nil or window < oldest then redis.call('HDEL', key, field) end
      end
    end
    redis.call('PEXPIRE', key, ARGV[a + 4])
    out[#out + 1] = current
    out[#out + 1] = tonumber(redis.call('HGET', key, previous)) or 0
    k, a = k + 1, a + 5
  elseif op == 'c' then
    -- count: window, previous window
    local counts = redis.call('HMGET', KEYS[k], ARGV[a + 1], ARGV[a + 2])
    out[#out + 1] = tonumber(counts[1]) or 0
    out[#out + 1] = tonumber(counts[2]) or 0
    k, a = k + 1, a + 3
  elseif op == 'd' then
    -- distinct with a member: member, ttl
    redis.call('PFADD', KEYS[k], ARGV[a + 1])
    redis.call('PEXPIRE', KEYS[k], ARGV[a + 2])
    out[#out + 1] = pfcount(KEYS[k], KEYS[k + 1])
    k, a = k + 2, a + 3
  elseif op == 'n' then
    -- distinct count only
    out[#out + 1] = pfcount(KEYS[k], KEYS[k + 1])
    k, a = k + 2, a + 1
  elseif op == 'g' then
    out[#out + 1] = redis.call('GET', KEYS[k])
    k, a = k + 1, a + 1
  elseif op == 's' then
    -- set: encoded value, physical ttl (empty: none)
    if ARGV[a + 2] == '' then
      redis.call('SET', KEYS[k], ARGV[a + 1])
    else
      redis.call('SET', KEYS[k], ARGV[a + 1], 'PX', ARGV[a + 2])
    end
    k, a = k + 1, a + 3
  elseif op == 'u' then
    -- claim: encoded value, physical ttl, now; written only over no live value
    local held = redis.call('GET', KEYS[k])
    local live = false
    if held then
      local separator = string.find(held, ':', 1, true)
      if separator then
        local expires = string.sub(held, 1, separator - 1)
        live = expires == '' or tonumber(expires) > tonumber(ARGV[a + 3])
      end
    end
    if live then
      out[#out + 1] = 0
    else
      redis.call('SET', KEYS[k], ARGV[a + 1], 'PX', ARGV[a + 2])
      out[#out + 1] = 1
    end
    k, a = k + 1, a + 4
  elseif op == 'x' then
    -- reset / delete: whatever the key holds, counter or value
    redis.call('DEL', KEYS[k], KEYS[k + 1])
    k, a = k + 2, a + 1
  else
    return redis.error_reply('ERR vigil batch: unknown op ' .. tostring(op))
  end
end
return out
`;

/** A batch ready for the script: `keys` become KEYS, `args` ARGV. */
export interface CompiledBatch {
  keys: string[];
  args: (string | number)[];
}

function invalid(op: StoreOp, problem: string): TypeError {
  return new TypeError(`Invalid store operation ${JSON.stringify(op)}: ${problem}`);
}

function checkWindow(op: StoreOp & { windowMs: number }): void {
  if (typeof op.windowMs !== 'number' || !(op.windowMs > 0) || !Number.isFinite(op.windowMs)) throw invalid(op, 'windowMs must be a positive number');
}

/**
 * Turns the engine's operations into the script's KEYS and ARGV. Throws a TypeError
 * for an operation no store could run (a bug in the caller, not a Redis failure).
 */
export function compileBatch(ops: readonly StoreOp[], now: number, layout: KeyLayout): CompiledBatch {
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new TypeError(`Invalid batch clock ${String(now)}: now must be ms since the epoch`);
  const keys: string[] = [];
  const args: (string | number)[] = [];
  for (const op of ops) {
    if (op === null || typeof op !== 'object' || typeof op.key !== 'string') throw invalid(op, 'key must be a string');
    switch (op.type) {
      case 'hit':
      case 'count': {
        checkWindow(op);
        const window = Math.floor(now / op.windowMs);
        keys.push(layout.counter(op.key));
        if (op.type === 'count') {
          args.push('c', window, window - 1);
          break;
        }
        const amount = op.amount ?? 1;
        if (!Number.isSafeInteger(amount)) throw invalid(op, 'amount must be a whole number');
        args.push('h', window, window - 1, amount, Math.ceil((window + 2) * op.windowMs - now + CLOCK_SKEW_MS));
        break;
      }
      case 'distinct': {
        checkWindow(op);
        const window = Math.floor(now / op.windowMs);
        keys.push(layout.distinct(op.key, window), layout.distinct(op.key, window - 1));
        if (op.member === undefined) args.push('n');
        else args.push('d', String(op.member), Math.ceil((window + 2) * op.windowMs - now + CLOCK_SKEW_MS));
        break;
      }
      case 'get':
        keys.push(layout.value(op.key));
        args.push('g');
        break;
      case 'set': {
        if (typeof op.value !== 'string') throw invalid(op, 'value must be a string');
        keys.push(layout.value(op.key));
        if (op.ttlMs === undefined) {
          args.push('s', `:${op.value}`, '');
        } else {
          if (typeof op.ttlMs !== 'number' || !Number.isFinite(op.ttlMs)) throw invalid(op, 'ttlMs must be a number');
          // A TTL of zero or less is a value that is already gone, as in MemoryStore.
          args.push('s', `${now + op.ttlMs}:${op.value}`, Math.max(1, Math.ceil(op.ttlMs + CLOCK_SKEW_MS)));
        }
        break;
      }
      case 'claim': {
        if (typeof op.value !== 'string') throw invalid(op, 'value must be a string');
        if (typeof op.ttlMs !== 'number' || !(op.ttlMs > 0) || !Number.isFinite(op.ttlMs)) throw invalid(op, 'ttlMs must be a positive number');
        keys.push(layout.value(op.key));
        args.push('u', `${now + op.ttlMs}:${op.value}`, Math.ceil(op.ttlMs + CLOCK_SKEW_MS), now);
        break;
      }
      case 'reset':
      case 'delete':
        keys.push(layout.counter(op.key), layout.value(op.key));
        args.push('x');
        break;
      default:
        throw invalid(op, 'unknown type');
    }
  }
  return { keys, args };
}

/** Reads a stored value as of `now`: the value, or null when absent or expired. */
export function decodeValue(raw: unknown, now: number): string | null {
  if (typeof raw !== 'string') return null;
  const separator = raw.indexOf(':');
  if (separator < 0) return null;
  if (separator > 0 && now >= Number(raw.slice(0, separator))) return null;
  return raw.slice(separator + 1);
}

/** Maps the script's flat reply back to one result per operation, in order. */
export function decodeReply(ops: readonly StoreOp[], reply: unknown, now: number): StoreResult[] {
  if (!Array.isArray(reply)) throw new TypeError('the batch script answered something that is not an array');
  const results: StoreResult[] = new Array(ops.length);
  let j = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as StoreOp;
    switch (op.type) {
      case 'hit':
      case 'count':
        results[i] = slidingCount(Number(reply[j]), Number(reply[j + 1]), now, op.windowMs);
        j += 2;
        break;
      case 'distinct':
        results[i] = Number(reply[j++]);
        break;
      case 'get':
        results[i] = decodeValue(reply[j++], now);
        break;
      case 'claim':
        results[i] = Number(reply[j++]);
        break;
      default:
        results[i] = null;
    }
  }
  return results;
}
