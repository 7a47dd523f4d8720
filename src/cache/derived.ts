import type { FastifyRequest } from 'fastify'
import type { DatabaseHandle } from '../db/database.js'

/**
 * Values derived from the database (the dashboard's figures, a day's availability), kept in
 * each process while nothing they depend on has changed: no commit since (the handle's
 * `changeToken()`), and the clock is still inside the span the value itself names as its own
 * (`validFrom` … `validUntil`). Where the token is not exact (MySQL/MariaDB: only this cluster's
 * own writes move it, see src/cluster/coherence.ts), an entry also lives INEXACT_TTL_MS at
 * most (real time, whatever the app's clock says), so a write from outside shows within it.
 */

/** What `changeToken()` answered, and when it was asked (see `readChange`). */
export interface ChangeToken {
  token: string
  exact: boolean
  /** Taken when the request asked, before its token was read: larger for a later request. */
  seq: number
}

let tickets = 0
/** Per handle: the token read running, and the ticket it was started with. */
const reads = new WeakMap<DatabaseHandle, { seq: number; promise: Promise<ChangeToken> }>()

/**
 * The handle's change token, read once per request before anything it guards. A commit that
 * lands while a value is computed then moves the token afterwards, so an entry is never
 * served for data newer than itself.
 *
 * One read runs per handle at a time (on PostgreSQL each is a round trip, and 50 requests
 * at once queued for the pool): a request shares a read that started after it arrived,
 * which sees every commit it could have seen; else it waits for the running one and shares
 * the next.
 */
export async function readChange(database: DatabaseHandle): Promise<ChangeToken> {
  const seq = ++tickets
  for (;;) {
    const running = reads.get(database)
    if (running && running.seq > seq) return { ...(await running.promise), seq }
    if (!running) break
    await running.promise.catch(() => undefined)
  }
  const read = {
    seq: ++tickets,
    promise: database.changeToken().then(({ token, exact }) => ({ token, exact, seq: 0 })),
  }
  reads.set(database, read)
  try {
    return { ...(await read.promise), seq }
  } finally {
    if (reads.get(database) === read) reads.delete(database)
  }
}

/**
 * The change token as this request first read it: a request's reads (the caller's account,
 * then the page it asked for) share one read of it.
 */
const requestChanges = new WeakMap<FastifyRequest, Promise<ChangeToken>>()

export function requestChange(database: DatabaseHandle, req: FastifyRequest): Promise<ChangeToken> {
  let change = requestChanges.get(req)
  if (!change) requestChanges.set(req, (change = readChange(database)))
  return change
}

export interface Derived<T> {
  value: T
  /** The value holds until this instant (ms) at the latest, even with no write. */
  validUntil: number
  /** …and from this instant (ms) on, for a clock that may be set back (default: always). */
  validFrom?: number
}

interface Entry<T> {
  token: string
  value: T
  validFrom: number
  validUntil: number
  /** `performance.now()` after which the entry is stale whatever the token (inexact tokens). */
  expires: number
}

interface Flight<T> {
  seq: number
  promise: Promise<Entry<T>>
}

interface State<T> {
  entries: Map<string, Entry<T>>
  /** Per key and token: the computation under that token. */
  inFlight: Map<string, Promise<Entry<T>>>
  /** Per key: the latest computation, whatever its token. */
  latest: Map<string, Flight<T>>
}

/** Where the change token is not exact (MySQL), an entry lives this long at most. */
export const INEXACT_TTL_MS = 1000
const DEFAULT_ENTRIES = 1000

export class DerivedCache<T> {
  /** Per database handle (one per running app, or per cluster process). */
  readonly #states = new WeakMap<DatabaseHandle, State<T>>()
  readonly #maxEntries: number

  constructor(opts: { maxEntries?: number } = {}) {
    this.#maxEntries = opts.maxEntries ?? DEFAULT_ENTRIES
  }

  /**
   * The value for `key` as of `change` and `now`: the cached one when it was computed under
   * the same token, `now` lies in its span and (inexact tokens) it is younger than
   * INEXACT_TTL_MS; else a computation's (`compute` reads the clock itself).
   *
   * Requests that arrive while the same key is computed under the same token wait for that
   * computation (unless its answer does not hold at their `now`). Under a token that moves
   * all the time (PostgreSQL's snapshot moves with every commit of the whole server) one
   * computation per key runs at a time: requests that arrive meanwhile wait for it, then
   * share the next one, which starts after they arrived and so sees every commit they could
   * have seen, at an instant within each of their requests.
   */
  async get(
    database: DatabaseHandle,
    change: ChangeToken,
    key: string,
    now: number,
    compute: () => Promise<Derived<T>>,
  ): Promise<T> {
    let state = this.#states.get(database)
    if (!state)
      this.#states.set(
        database,
        (state = { entries: new Map(), inFlight: new Map(), latest: new Map() }),
      )
    const { entries, inFlight, latest } = state
    const { token, exact } = change
    const fresh = (e: Entry<T>) =>
      e.validFrom <= now && now < e.validUntil && performance.now() < e.expires
    const hit = entries.get(key)
    if (hit && hit.token === token && fresh(hit)) return hit.value
    const flightKey = `${key}\u0000${token}`
    const running = inFlight.get(flightKey)
    if (running) {
      const joined = await running
      if (fresh(joined)) return joined.value
    }
    for (;;) {
      const flight = latest.get(key)
      if (!flight) break
      // Started after this request: as fresh as one this request would start.
      if (flight.seq > change.seq) return (await flight.promise).value
      await flight.promise.catch(() => undefined)
    }
    const seq = ++tickets
    // The bound for inexact tokens runs from before the computation, in real time (the app's
    // clock may be set, as in tests, and is about the answer, not the data's age).
    const expires = exact ? Infinity : performance.now() + INEXACT_TTL_MS
    const computing = (async (): Promise<Entry<T>> => {
      const { value, validUntil, validFrom = -Infinity } = await compute()
      const entry = { token, value, validFrom, validUntil, expires }
      // Oldest first out; a refreshed key moves to the end.
      entries.delete(key)
      if (entries.size >= this.#maxEntries) entries.delete(entries.keys().next().value!)
      entries.set(key, entry)
      return entry
    })()
    const flight = { seq, promise: computing }
    inFlight.set(flightKey, computing)
    latest.set(key, flight)
    try {
      return (await computing).value
    } finally {
      if (inFlight.get(flightKey) === computing) inFlight.delete(flightKey)
      if (latest.get(key) === flight) latest.delete(key)
    }
  }
}
