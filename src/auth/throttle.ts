import type { DatabaseHandle } from '../db/database.js'
import { inTransaction, isUniqueViolation, toDate } from '../db/database.js'

/**
 * Counters and lockouts shared by every API process (state in the database, so a
 * client cannot dodge a limit by landing on another replica).
 */
export interface ThrottleStore {
  /** Counts one hit in a fixed window; returns seconds to wait when the limit is passed, else 0. */
  hit(key: string, limit: number, windowSeconds: number, now: Date): Promise<number>
  /**
   * Counts a login attempt as a failure up front, atomically (so a burst of concurrent
   * guesses cannot slip past the limit); a success then calls `succeeded`. From the max-th
   * failure in a row on, the key is locked for 1 minute, doubling up to 1 hour. Returns the
   * seconds left when the key is already locked (the attempt is then not counted), else 0.
   */
  attempt(key: string, maxFailures: number, now: Date): Promise<number>
  /** Takes back one hit counted by `hit` (a login that turned out right). */
  refund(key: string): Promise<void>
  succeeded(key: string): Promise<void>
}

const MAX_LOCK_SECONDS = 3600

export function lockSeconds(lockouts: number): number {
  return Math.min(60 * 2 ** Math.max(0, lockouts - 1), MAX_LOCK_SECONDS)
}

export class DbThrottleStore implements ThrottleStore {
  constructor(private readonly database: DatabaseHandle) {}

  async hit(key: string, limit: number, windowSeconds: number, now: Date): Promise<number> {
    return retryOnInsertRace(() => this.#hit(key, limit, windowSeconds, now))
  }

  async #hit(key: string, limit: number, windowSeconds: number, now: Date): Promise<number> {
    return inTransaction(this.database, async (trx) => {
      const row = await this.#lockCounter(trx, key)
      const windowStart = row ? toDate(row.window_start) : null
      const expired = !windowStart || now.getTime() - windowStart.getTime() >= windowSeconds * 1000
      if (!row) {
        await trx.insertInto('rate_counters').values({ key, window_start: now, count: 1 }).execute()
        return limit >= 1 ? 0 : windowSeconds
      }
      if (expired) {
        await trx
          .updateTable('rate_counters')
          .set({ window_start: now, count: 1 })
          .where('key', '=', key)
          .execute()
        return limit >= 1 ? 0 : windowSeconds
      }
      if (row.count >= limit) return this.#wait(windowStart, windowSeconds, now)
      await trx
        .updateTable('rate_counters')
        .set({ count: row.count + 1 })
        .where('key', '=', key)
        .execute()
      return 0
    })
  }

  async attempt(key: string, maxFailures: number, now: Date): Promise<number> {
    return retryOnInsertRace(() => this.#attempt(key, maxFailures, now))
  }

  async refund(key: string): Promise<void> {
    await this.database.db
      .updateTable('rate_counters')
      .set((eb) => ({ count: eb('count', '-', 1) }))
      .where('key', '=', key)
      .where('count', '>', 0)
      .execute()
  }

  async #attempt(key: string, maxFailures: number, now: Date): Promise<number> {
    return inTransaction(this.database, async (trx) => {
      const q = trx.selectFrom('login_failures').selectAll().where('key', '=', key)
      const row = await (this.database.engine === 'sqlite' ? q : q.forUpdate()).executeTakeFirst()
      if (row?.locked_until && toDate(row.locked_until) > now) {
        return Math.ceil((toDate(row.locked_until).getTime() - now.getTime()) / 1000)
      }
      const failures = (row?.failures ?? 0) + 1
      let lockouts = row?.lockouts ?? 0
      let lockedUntil = row?.locked_until ? toDate(row.locked_until) : null
      if (failures >= maxFailures) {
        lockouts += 1
        lockedUntil = new Date(now.getTime() + lockSeconds(lockouts) * 1000)
      }
      if (row) {
        await trx
          .updateTable('login_failures')
          .set({ failures, lockouts, locked_until: lockedUntil, updated_at: now })
          .where('key', '=', key)
          .execute()
      } else {
        await trx
          .insertInto('login_failures')
          .values({ key, failures, lockouts, locked_until: lockedUntil, updated_at: now })
          .execute()
      }
      return 0
    })
  }

  async succeeded(key: string): Promise<void> {
    await this.database.db.deleteFrom('login_failures').where('key', '=', key).execute()
  }

  async #lockCounter(trx: Parameters<Parameters<typeof inTransaction>[1]>[0], key: string) {
    const q = trx.selectFrom('rate_counters').selectAll().where('key', '=', key)
    return (this.database.engine === 'sqlite' ? q : q.forUpdate()).executeTakeFirst()
  }

  #wait(windowStart: Date, windowSeconds: number, now: Date): number {
    return Math.max(
      1,
      Math.ceil((windowStart.getTime() + windowSeconds * 1000 - now.getTime()) / 1000),
    )
  }
}

/** Two first hits on a new key both insert; the loser tries again and finds the row. */
async function retryOnInsertRace<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (!isUniqueViolation(err)) throw err
    return fn()
  }
}

const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if n > tonumber(ARGV[2]) then redis.call('DECR', KEYS[1]) end
return {n, ttl}`

const ATTEMPT = `
local locked = redis.call('PTTL', KEYS[2])
if locked > 0 then return locked end
local f = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('PEXPIRE', KEYS[1], 86400000)
if f >= tonumber(ARGV[1]) then
  local l = redis.call('HINCRBY', KEYS[1], 'lockouts', 1)
  local secs = math.min(60 * 2 ^ (l - 1), 3600)
  redis.call('SET', KEYS[2], '1', 'PX', math.floor(secs * 1000))
end
return 0`

const REFUND = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return n`

/** The minimal slice of an ioredis client this store uses. */
export interface RedisLike {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>
  get(key: string): Promise<string | null>
  pttl(key: string): Promise<number>
  del(...keys: string[]): Promise<number>
}

/**
 * The same limits kept in Redis (atomic Lua scripts) when REDIS_URL is set. Should Redis
 * be unreachable, the database store takes over: logins keep working and stay throttled.
 */
export class RedisThrottleStore implements ThrottleStore {
  constructor(
    private readonly redis: RedisLike,
    private readonly fallback: ThrottleStore,
    private readonly prefix = 'fade:throttle:',
  ) {}

  async #or<T>(fn: () => Promise<T>, otherwise: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch {
      return otherwise()
    }
  }

  hit(key: string, limit: number, windowSeconds: number, now: Date): Promise<number> {
    return this.#or(
      async () => {
        const [n, ttl] = (await this.redis.eval(
          HIT,
          1,
          this.prefix + key,
          windowSeconds * 1000,
          limit,
        )) as [number, number]
        return n > limit ? Math.max(1, Math.ceil(ttl / 1000)) : 0
      },
      () => this.fallback.hit(key, limit, windowSeconds, now),
    )
  }

  attempt(key: string, maxFailures: number, now: Date): Promise<number> {
    return this.#or(
      async () => {
        const ms = Number(
          await this.redis.eval(
            ATTEMPT,
            2,
            `${this.prefix}fail:${key}`,
            `${this.prefix}lock:${key}`,
            maxFailures,
          ),
        )
        return ms > 0 ? Math.ceil(ms / 1000) : 0
      },
      () => this.fallback.attempt(key, maxFailures, now),
    )
  }

  async refund(key: string): Promise<void> {
    await this.#or(
      async () => {
        await this.redis.eval(REFUND, 1, this.prefix + key)
      },
      () => this.fallback.refund(key),
    )
  }

  async succeeded(key: string): Promise<void> {
    await this.#or(
      async () => {
        await this.redis.del(`${this.prefix}fail:${key}`, `${this.prefix}lock:${key}`)
      },
      () => this.fallback.succeeded(key),
    )
  }
}
