import type { FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import type { DatabaseHandle } from '../db/database.js'

/**
 * Reads answered from memory while the database has not changed since they were made.
 *
 * An entry remembers the database's change token (`DatabaseHandle.changeToken`) read BEFORE
 * its value was computed. A later read with the same token gets the value; any commit moves
 * the token, so the next read computes afresh. A commit that lands while a value is being
 * computed may or may not be in it, but it moved the token after the entry's was read, so
 * that entry is never served again: a cached answer is never older than an uncached one
 * would have been when its token was read. Where the token is not exact (MySQL/MariaDB:
 * writes from outside this cluster are not seen), an entry also expires after
 * INEXACT_TTL_MS.
 *
 * Requests asking for the same key under the same token while it is being computed wait for
 * that computation instead of each starting their own (no stampede after a write).
 */

export interface ChangeToken {
  token: string
  exact: boolean
}

/** Where the change token is not exact (MySQL), an entry lives this long at most. */
export const INEXACT_TTL_MS = 1000

interface Entry<T> {
  token: string
  /** Served until this instant (ms) at the latest, even with no write. */
  validUntil: number
  value: T
}

export class VersionedCache<T> {
  readonly #entries = new Map<string, Entry<T>>()
  readonly #inFlight = new Map<string, Promise<Entry<T>>>()

  constructor(private readonly maxEntries = 1000) {}

  /**
   * The value for `key` under `stamp`, computed by `compute` when there is none.
   * `validUntil`: the instant (ms) from which the value may be wrong by the clock alone.
   */
  async get(
    key: string,
    stamp: ChangeToken,
    now: number,
    compute: () => Promise<T>,
    validUntil = Number.POSITIVE_INFINITY,
  ): Promise<T> {
    const hit = this.#entries.get(key)
    if (hit && hit.token === stamp.token && now < hit.validUntil) return hit.value
    const flightKey = `${stamp.token}\u0000${key}`
    const running = this.#inFlight.get(flightKey)
    if (running) {
      const joined = await running
      if (now < joined.validUntil) return joined.value
    }
    const computing = compute().then((value) => {
      const entry: Entry<T> = {
        token: stamp.token,
        value,
        validUntil: stamp.exact ? validUntil : Math.min(validUntil, now + INEXACT_TTL_MS),
      }
      // Oldest first out; a refreshed key moves to the back.
      this.#entries.delete(key)
      if (this.#entries.size >= this.maxEntries)
        this.#entries.delete(this.#entries.keys().next().value!)
      this.#entries.set(key, entry)
      return entry
    })
    this.#inFlight.set(flightKey, computing)
    try {
      return (await computing).value
    } finally {
      if (this.#inFlight.get(flightKey) === computing) this.#inFlight.delete(flightKey)
    }
  }
}

/** One cache per database handle (one per running app) and name. */
const caches = new WeakMap<DatabaseHandle, Map<string, VersionedCache<unknown>>>()

export function cacheOf<T>(database: DatabaseHandle, name: string, maxEntries = 1000) {
  let byName = caches.get(database)
  if (!byName) caches.set(database, (byName = new Map()))
  let cache = byName.get(name)
  if (!cache) byName.set(name, (cache = new VersionedCache<unknown>(maxEntries)))
  return cache as VersionedCache<T>
}

/**
 * The change token as this request first read it: its reads (the caller's account, then
 * the page it asked for) share one read of it (on PostgreSQL a round trip).
 */
const requestTokens = new WeakMap<FastifyRequest, Promise<ChangeToken>>()

/** A change token the request read along with another query (its first read of one). */
export function shareChangeToken(req: FastifyRequest, stamp: ChangeToken): void {
  if (!requestTokens.has(req)) requestTokens.set(req, Promise.resolve(stamp))
}

export function requestChangeToken(ctx: AppContext, req: FastifyRequest): Promise<ChangeToken> {
  let token = requestTokens.get(req)
  if (!token) {
    token = ctx.database.changeToken()
    requestTokens.set(req, token)
  }
  return token
}
