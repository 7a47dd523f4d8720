import { collectDefaultMetrics, Counter, Gauge, Histogram, register } from 'prom-client'
import type { DatabaseHandle } from '../db/database.js'

/**
 * Every metric of the app, on prom-client's global registry. In a cluster each process has
 * its own copies; GET /metrics merges them (src/cluster/primary.ts): counters and histograms
 * are summed over the processes, the process's own figures (event loop, memory, CPU) keep a
 * `proc` label per process, the outbox gauges take the maximum (every process reads the
 * same table).
 */

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export const httpDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP requests by route pattern, method and status class: latency (its _count is the request count)',
  labelNames: ['route', 'method', 'status_class'] as const,
  buckets: LATENCY_BUCKETS,
})

/** How long a booking waited for its barber's lock (the booking code calls observe). */
export const bookingLockWait = new Histogram({
  name: 'fade_booking_lock_wait_seconds',
  help: "Time a booking waited to take its barber's lock",
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
})

/** A booking transaction retried: reason deadlock | serialization | lost_race | busy | other. */
export const bookingRetries = new Counter({
  name: 'fade_booking_retries_total',
  help: 'Booking transactions run again after a deadlock, serialization failure or lost race',
  labelNames: ['reason'] as const,
})

/** Seconds from an outbox row falling due to its delivery starting. */
export const jobLag = new Histogram({
  name: 'fade_job_lag_seconds',
  help: 'Time from a job (outbox row) falling due to a runner starting it',
  labelNames: ['job'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
})

export const poolAcquire = new Histogram({
  name: 'fade_db_pool_acquire_seconds',
  help: 'Time a query waited for a connection from the database pool',
  buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
})

/** The handles whose pools and outbox the gauges read (one per app in this process). */
const handles = new Set<DatabaseHandle>()

const poolConnections = new Gauge({
  name: 'fade_db_pool_connections',
  help: 'Database pool connections: open (total), idle, and the configured maximum',
  labelNames: ['state'] as const,
  collect() {
    this.reset()
    for (const h of handles) {
      const s = poolStats(h)
      if (!s) continue
      this.inc({ state: 'total' }, s.total)
      this.inc({ state: 'idle' }, s.idle)
      this.inc({ state: 'max' }, s.max)
    }
  },
})

const poolWaiting = new Gauge({
  name: 'fade_db_pool_waiting',
  help: 'Queries waiting for a database pool connection right now',
  collect() {
    let n = 0
    for (const h of handles) n += poolStats(h)?.waiting ?? 0
    this.set(n)
  },
})

const outboxDepth = new Gauge({
  name: 'fade_outbox_pending',
  help: 'Outbox rows not yet delivered (pending, queued or sending)',
  aggregator: 'max',
  async collect() {
    const s = await outboxState()
    this.set(s.depth)
  },
})

const outboxAge = new Gauge({
  name: 'fade_outbox_oldest_pending_age_seconds',
  help: 'Age of the oldest undelivered outbox row that is due (0 when none is)',
  aggregator: 'max',
  async collect() {
    const s = await outboxState()
    this.set(s.oldestAge)
  },
})

/** One query for both outbox gauges per scrape (they are collected side by side). */
let outboxScrape: Promise<{ depth: number; oldestAge: number }> | undefined
function outboxState(): Promise<{ depth: number; oldestAge: number }> {
  if (!outboxScrape) {
    const state = readOutbox(Date.now())
    outboxScrape = state
    void state.finally(() => {
      if (outboxScrape === state) outboxScrape = undefined
    })
  }
  return outboxScrape
}

async function readOutbox(now: number): Promise<{ depth: number; oldestAge: number }> {
  const h = [...handles].at(-1)
  if (!h) return { depth: 0, oldestAge: 0 }
  try {
    const row = await h.db
      .selectFrom('outbox')
      .select((eb) => [
        eb.fn.countAll<number | string>().as('depth'),
        eb.fn
          .min(
            eb.case().when('available_at', '<=', new Date(now)).then(eb.ref('available_at')).end(),
          )
          .as('oldest'),
      ])
      .where('status', 'in', ['pending', 'queued', 'sending'])
      .executeTakeFirst()
    const oldest = row?.oldest == null ? null : new Date(row.oldest as string | Date)
    return {
      depth: Number(row?.depth ?? 0),
      oldestAge: oldest ? Math.max(0, (now - oldest.getTime()) / 1000) : 0,
    }
  } catch {
    return { depth: 0, oldestAge: 0 }
  }
}

function poolStats(
  h: DatabaseHandle,
): { total: number; idle: number; waiting: number; max: number } | null {
  const p = h.pool
  if (!p) return null
  if (p.engine === 'postgres')
    return {
      total: p.pool.totalCount,
      idle: p.pool.idleCount,
      waiting: p.pool.waitingCount,
      max: p.max,
    }
  // mysql2 keeps these as (stable, if underscored) fields of its pool.
  const raw = p.pool as unknown as {
    _allConnections?: { length: number }
    _freeConnections?: { length: number }
    _connectionQueue?: { length: number }
  }
  return {
    total: raw._allConnections?.length ?? 0,
    idle: raw._freeConnections?.length ?? 0,
    waiting: raw._connectionQueue?.length ?? 0,
    max: p.max,
  }
}

const timedPools = new WeakSet<object>()

/** Times every pool acquisition of this handle (once per pool). */
function timeAcquisitions(h: DatabaseHandle): void {
  const p = h.pool
  if (!p || timedPools.has(p.pool)) return
  timedPools.add(p.pool)
  if (p.engine === 'postgres') {
    const pool = p.pool
    const connect = pool.connect.bind(pool)
    // Kysely awaits connect() without a callback; pg's own pool.query passes one.
    pool.connect = ((cb?: unknown) => {
      if (typeof cb === 'function') return connect(cb as never)
      const t = performance.now()
      return connect().then((client) => {
        poolAcquire.observe((performance.now() - t) / 1000)
        return client
      })
    }) as typeof pool.connect
  } else {
    const pool = p.pool
    const getConnection = pool.getConnection.bind(pool)
    pool.getConnection = ((cb: (err: unknown, conn: unknown) => void) => {
      const t = performance.now()
      getConnection((err, conn) => {
        if (!err) poolAcquire.observe((performance.now() - t) / 1000)
        cb(err, conn)
      })
    }) as typeof pool.getConnection
  }
}

/** The database whose pool and outbox the gauges report; returns the undo. */
export function watchDatabase(h: DatabaseHandle): () => void {
  timeAcquisitions(h)
  handles.add(h)
  return () => void handles.delete(h)
}

let defaultsFor: string | undefined
/** Process figures (event-loop delay, GC, memory, CPU), labelled with this process's name. */
export function collectProcessMetrics(proc: string): void {
  if (defaultsFor !== undefined) return
  defaultsFor = proc
  collectDefaultMetrics({ labels: { proc }, eventLoopMonitoringPrecision: 10 })
}

export { register }
/** Touch the gauges so an unused-import lint never drops them. */
export const gauges = [poolConnections, poolWaiting, outboxDepth, outboxAge]
