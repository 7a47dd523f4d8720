import type { DatabaseHandle } from '../db/database.js'
import { inTransaction, isUniqueViolation, toDate } from '../db/database.js'

/**
 * Counters and lockouts shared by every API process (state in the database, so a
 * client cannot dodge a limit by landing on another replica).
 */
export interface ThrottleStore {
  /** Counts one hit in a fixed window; returns seconds to wait when the limit is passed, else 0. */
  hit(key: string, limit: number, windowSeconds: number, now: Date): Promise<number>
  /** Takes back one hit counted by `hit` (a login that turned out right). */
  refund(key: string): Promise<void>
  /**
   * Takes a slot for one login attempt on `key` before its password is checked, atomically.
   * Failures and attempts still in flight together never exceed the limit, so a burst of
   * concurrent guesses cannot slip past it; concurrent *correct* logins merely wait their
   * turn (`busy`) instead of being counted as failures. Returns the seconds left when the
   * key is locked.
   */
  begin(key: string, maxFailures: number, now: Date): Promise<AttemptSlot>
  /**
   * Settles a slot taken by `begin`. A failure from the max-th in a row on locks the key for
   * 1 minute, doubling up to 1 hour; a success resets the count; `released` (the attempt
   * was refused for another reason) only frees the slot.
   */
  settle(key: string, outcome: AttemptOutcome, maxFailures: number, now: Date): Promise<void>
}

export type AttemptSlot =
  { kind: 'granted' } | { kind: 'busy' } | { kind: 'locked'; seconds: number }
export type AttemptOutcome = 'failed' | 'succeeded' | 'released'

/** An attempt slot whose process died is forgotten after this long. */
export const PENDING_TTL_SECONDS = 60

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

  async begin(key: string, maxFailures: number, now: Date): Promise<AttemptSlot> {
    return retryOnInsertRace(() => this.#begin(key, maxFailures, now))
  }

  async refund(key: string): Promise<void> {
    await this.database.db
      .updateTable('rate_counters')
      .set((eb) => ({ count: eb('count', '-', 1) }))
      .where('key', '=', key)
      .where('count', '>', 0)
      .execute()
  }

  async #begin(key: string, maxFailures: number, now: Date): Promise<AttemptSlot> {
    return inTransaction(this.database, async (trx) => {
      const q = trx.selectFrom('login_failures').selectAll().where('key', '=', key)
      const row = await (this.database.engine === 'sqlite' ? q : q.forUpdate()).executeTakeFirst()
      if (row?.locked_until && toDate(row.locked_until) > now) {
        return {
          kind: 'locked',
          seconds: Math.ceil((toDate(row.locked_until).getTime() - now.getTime()) / 1000),
        }
      }
      const pending = row ? livePending(row.pending, row.pending_at, now) : 0
      if (pending >= attemptBudget(row?.failures ?? 0, maxFailures)) return { kind: 'busy' }
      if (row) {
        // pending_at dates the oldest slot still counted: a slot leaked by a crashed process
        // must not be kept alive by later attempts.
        await trx
          .updateTable('login_failures')
          .set({
            pending: pending + 1,
            pending_at: pending === 0 || !row.pending_at ? now : toDate(row.pending_at),
            updated_at: now,
          })
          .where('key', '=', key)
          .execute()
      } else {
        await trx
          .insertInto('login_failures')
          .values({
            key,
            failures: 0,
            lockouts: 0,
            locked_until: null,
            pending: 1,
            pending_at: now,
            updated_at: now,
          })
          .execute()
      }
      return { kind: 'granted' }
    })
  }

  async settle(key: string, outcome: AttemptOutcome, maxFailures: number, now: Date) {
    await inTransaction(this.database, async (trx) => {
      const q = trx.selectFrom('login_failures').selectAll().where('key', '=', key)
      const row = await (this.database.engine === 'sqlite' ? q : q.forUpdate()).executeTakeFirst()
      if (!row) return
      const pending = Math.max(0, livePending(row.pending, row.pending_at, now) - 1)
      if (outcome === 'succeeded' && pending === 0) {
        await trx.deleteFrom('login_failures').where('key', '=', key).execute()
        return
      }
      let { failures, lockouts } = row
      let lockedUntil = row.locked_until ? toDate(row.locked_until) : null
      if (outcome === 'succeeded') {
        failures = 0
        lockouts = 0
        lockedUntil = null
      } else if (outcome === 'failed') {
        failures += 1
        if (failures >= maxFailures) {
          lockouts += 1
          lockedUntil = new Date(now.getTime() + lockSeconds(lockouts) * 1000)
        }
      }
      await trx
        .updateTable('login_failures')
        .set({ failures, lockouts, locked_until: lockedUntil, pending, updated_at: now })
        .where('key', '=', key)
        .execute()
    })
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

/**
 * How many attempts may be in flight at once: what is left of the limit, and after a lockout
 * has run out, one at a time (its failure locks again, for twice as long).
 */
function attemptBudget(failures: number, maxFailures: number): number {
  return Math.max(1, maxFailures - failures)
}

function livePending(pending: number, pendingAt: Date | string | null, now: Date): number {
  if (!pendingAt || pending <= 0) return 0
  return now.getTime() - toDate(pendingAt).getTime() > PENDING_TTL_SECONDS * 1000 ? 0 : pending
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

// KEYS: failures hash, lock, pending counter. ARGV: max failures, pending ttl (ms).
const BEGIN = `
local locked = redis.call('PTTL', KEYS[2])
if locked > 0 then return locked end
local f = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')
local p = tonumber(redis.call('GET', KEYS[3]) or '0')
if p >= math.max(1, tonumber(ARGV[1]) - f) then return -1 end
-- The expiry is set with the first slot only: a slot leaked by a crashed process must not
-- be kept alive by later attempts.
if redis.call('INCR', KEYS[3]) == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
return 0`

// KEYS as BEGIN. ARGV: outcome (failed | succeeded | released), max failures.
const SETTLE = `
local p = tonumber(redis.call('GET', KEYS[3]) or '0')
if p > 0 then redis.call('DECR', KEYS[3]) end
if ARGV[1] == 'succeeded' then redis.call('DEL', KEYS[1], KEYS[2]) return 0 end
if ARGV[1] ~= 'failed' then return 0 end
local f = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('PEXPIRE', KEYS[1], 86400000)
if f >= tonumber(ARGV[2]) then
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

  #attemptKeys(key: string): [string, string, string] {
    return [
      `${this.prefix}fail:${key}`,
      `${this.prefix}lock:${key}`,
      `${this.prefix}pending:${key}`,
    ]
  }

  begin(key: string, maxFailures: number, now: Date): Promise<AttemptSlot> {
    return this.#or(
      async (): Promise<AttemptSlot> => {
        const ms = Number(
          await this.redis.eval(
            BEGIN,
            3,
            ...this.#attemptKeys(key),
            maxFailures,
            PENDING_TTL_SECONDS * 1000,
          ),
        )
        if (ms > 0) return { kind: 'locked', seconds: Math.ceil(ms / 1000) }
        return ms < 0 ? { kind: 'busy' } : { kind: 'granted' }
      },
      () => this.fallback.begin(key, maxFailures, now),
    )
  }

  async settle(key: string, outcome: AttemptOutcome, maxFailures: number, now: Date) {
    await this.#or(
      async () => {
        await this.redis.eval(SETTLE, 3, ...this.#attemptKeys(key), outcome, maxFailures)
      },
      () => this.fallback.settle(key, outcome, maxFailures, now),
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
}
