import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import {
  CompiledQuery,
  Kysely,
  MysqlDialect,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  sql,
} from 'kysely'
import type {
  QueryResult,
  DatabaseConnection,
  Insertable,
  SqliteDatabase,
  SqliteStatement,
  Transaction,
} from 'kysely'
import { createPool } from 'mysql2'
import type { Pool as MysqlPool } from 'mysql2'
import pg from 'pg'
import type { DatabaseConfig, DbEngine } from '../config.js'
import type { Database } from './types.js'
import { hookMysqlCommits } from './mysql-commits.js'
import { bookingLockWait, bookingRetries } from '../metrics/metrics.js'

export type Db = Kysely<Database>
export type Executor = Kysely<Database> | Transaction<Database>

export interface DatabaseHandle {
  db: Db
  engine: DbEngine
  close(): Promise<void>
  /**
   * A value that changes whenever a committed write may have changed the data, for caches
   * of derived figures. `exact`: it changes for every commit of every process.
   *  - SQLite: PRAGMA data_version (bumped by other connections' commits) plus this
   *    connection's own write statements — exact.
   *  - PostgreSQL: the current MVCC snapshot (xmin:xmax:in-progress); it stays the same only
   *    while no transaction commits — exact.
   *  - MySQL/MariaDB offer no cheap signal of other sessions' commits: the commits of this
   *    process's own connections only — not exact, so a cache must also bound an entry's age.
   */
  changeToken(): Promise<{ token: string; exact: boolean }>
  /** MySQL only: runs after each of this handle's committed writes, before its caller goes on. */
  afterCommit?(listener: () => Promise<void>): void
  /** The driver's connection pool (none on SQLite), for metrics and the cluster's cache sync. */
  pool?:
    | { engine: 'mysql'; pool: MysqlPool; max: number }
    | { engine: 'postgres'; pool: pg.Pool; max: number }
}

/** SQLite binds neither Date nor boolean: store ISO-8601 UTC text (sortable) and 0/1. */
function sqliteParam(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString()
  if (typeof v === 'boolean') return v ? 1 : 0
  return v
}

/** Write statements this process ran per SQLite handle (PRAGMA data_version omits them). */
const sqliteWrites = new WeakMap<SQLite.Database, { n: number }>()

function wrapSqlite(raw: SQLite.Database): SqliteDatabase {
  const writes = { n: 0 }
  sqliteWrites.set(raw, writes)
  // Kysely prepares every query anew; compiled statements are reusable, so keep the recent ones.
  const cache = new Map<string, SQLite.Statement>()
  return {
    close: () => raw.close(),
    prepare(query: string): SqliteStatement {
      let stmt = cache.get(query)
      if (!stmt) {
        stmt = raw.prepare(query)
        if (cache.size >= 500) cache.delete(cache.keys().next().value!)
        cache.set(query, stmt)
      }
      const s = stmt
      const map = (params: ReadonlyArray<unknown>) => params.map(sqliteParam)
      return {
        reader: s.reader,
        all: (params) => {
          if (!s.readonly) writes.n++
          return s.all(map(params))
        },
        run: (params) => {
          writes.n++
          return s.run(map(params))
        },
        iterate: (params) => s.iterate(map(params)),
      }
    },
  }
}

/**
 * A write transaction on SQLite must take the write lock up front (BEGIN IMMEDIATE):
 * a deferred one that reads, then writes, can fail with SQLITE_BUSY when another
 * process wrote in between, and the read-check-write of a booking must be atomic.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async acquireConnection(): Promise<DatabaseConnection> {
    return new BusyRetryingConnection(await super.acquireConnection())
  }
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

/** How long a statement waits for another process's write lock before SQLITE_BUSY. */
export const SQLITE_BUSY_WAIT_MS = 10_000

/**
 * Waits for another process's write lock without blocking the event loop. SQLite's own
 * busy handler (busy_timeout) sleeps inside the call — 1, 2, 5 … 100 ms at a time — and
 * freezes every request of this process meanwhile; with three processes writing one file
 * (two HTTP, one jobs) a booking then waited hundreds of ms for a lock held for one. Here
 * busy_timeout is 0 and a refused statement (BEGIN IMMEDIATE, or a write outside a
 * transaction) is tried again after ~1 ms on a timer, for up to SQLITE_BUSY_WAIT_MS.
 */
class BusyRetryingConnection implements DatabaseConnection {
  readonly #inner: DatabaseConnection
  constructor(inner: DatabaseConnection) {
    this.#inner = inner
  }
  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const deadline = Date.now() + SQLITE_BUSY_WAIT_MS
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#inner.executeQuery<R>(query)
      } catch (err) {
        if (codeOf(err) !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err
        await new Promise((r) => setTimeout(r, Math.min(attempt, 4) * 0.5 + Math.random()))
      }
    }
  }
  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.#inner.streamQuery<R>(query, chunkSize)
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0]
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config)
    this.#config = config
  }
  override createDriver() {
    return new ImmediateSqliteDriver(this.#config)
  }
  override createAdapter() {
    return new TransactionalDdlSqliteAdapter()
  }
}

/**
 * SQLite's DDL is transactional, but Kysely's adapter says otherwise and takes no migration
 * lock, so two processes migrating one file raced ("table users already exists"). Saying
 * so makes the Migrator run in a transaction, which BEGIN IMMEDIATE serialises across
 * processes: the second one waits, then finds every migration applied.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true
  }
}

// PostgreSQL returns bigint (count(*)) and numeric as strings; our figures fit in a double.
pg.types.setTypeParser(20, (v) => Number(v))
pg.types.setTypeParser(1700, (v) => Number(v))

/** How long a request may wait for a pooled connection before the pool counts as broken. */
export const POOL_WAIT_MS = 30_000

export function createDatabase(
  config: DatabaseConfig,
  opts: { poolSize?: number } = {},
): DatabaseHandle {
  const poolSize = opts.poolSize ?? 10
  switch (config.engine) {
    case 'sqlite': {
      if (config.url !== ':memory:') mkdirSync(dirname(config.url), { recursive: true })
      const raw = new SQLite(config.url)
      raw.pragma('journal_mode = WAL')
      raw.pragma('synchronous = NORMAL')
      raw.pragma('foreign_keys = ON')
      // Waits for other processes' write locks are BusyRetryingConnection's, off the event loop.
      raw.pragma('busy_timeout = 0')
      const db = new Kysely<Database>({
        dialect: new ImmediateSqliteDialect({ database: wrapSqlite(raw) }),
      })
      const writes = sqliteWrites.get(raw)!
      return {
        db,
        engine: 'sqlite',
        close: () => db.destroy(),
        changeToken: async () => ({
          token: `${String(raw.pragma('data_version', { simple: true }))}:${writes.n}`,
          exact: true,
        }),
      }
    }
    case 'mysql': {
      const pool = createPool({
        uri: config.url,
        connectionLimit: poolSize,
        timezone: 'Z',
        dateStrings: false,
        decimalNumbers: true,
        supportBigNumbers: true,
        connectTimeout: 5000,
        enableKeepAlive: true,
      })
      // READ COMMITTED for every transaction (see inTransaction), set once per connection
      // rather than by an extra statement before each BEGIN.
      pool.on('connection', (conn) => {
        conn.query('set session transaction isolation level read committed')
      })
      // The change token: commits this process's connections made (src/db/mysql-commits.ts).
      let commits = 0
      const afterCommit: (() => Promise<void>)[] = []
      hookMysqlCommits(pool, async () => {
        commits++
        for (const listener of afterCommit) await listener()
      })
      const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) })
      return {
        db,
        engine: 'mysql',
        pool: { engine: 'mysql', pool, max: poolSize },
        close: () => db.destroy(),
        changeToken: async () => ({ token: `c${commits}`, exact: false }),
        afterCommit: (listener) => void afterCommit.push(listener),
      }
    }
    case 'postgres': {
      const pool = new pg.Pool({
        connectionString: config.url,
        max: poolSize,
        // A busy pool is waited for, in turn: this bound is for a pool that cannot serve at all
        // (every client stuck), well above any normal wait, not for a busy moment (issue 10).
        connectionTimeoutMillis: POOL_WAIT_MS,
      })
      // An idle client that loses its server must not crash the process.
      pool.on('error', () => undefined)
      // A client that loses its server while checked out emits 'error' too; the query it was
      // running rejects on its own (→ 503), so the event itself must not crash the process.
      pool.on('connect', (client) => client.on('error', () => undefined))
      const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
      return {
        db,
        engine: 'postgres',
        pool: { engine: 'postgres', pool, max: poolSize },
        close: () => db.destroy(),
        changeToken: async () => {
          // A named statement: parsed and planned once per connection.
          const { rows } = await pool.query<{ s: string }>({
            name: 'fade_snapshot',
            text: 'select pg_current_snapshot()::text as s',
          })
          return { token: rows[0]!.s, exact: true }
        },
      }
    }
  }
}

/* ---------- dialect helpers: each difference hidden in one place ---------- */

/** SQLite returns timestamps as ISO strings, MySQL/PostgreSQL as Date. */
export function toDate(v: Date | string): Date {
  return v instanceof Date ? v : new Date(v)
}
export function toDateOrNull(v: Date | string | null | undefined): Date | null {
  return v == null ? null : toDate(v)
}
/** count(*) arrives as number or numeric string depending on the driver. */
export function toNumber(v: unknown): number {
  if (v == null) return 0
  return typeof v === 'number' ? v : Number(v)
}
/** 0/1 or boolean → boolean. */
export function toBool(v: unknown): boolean {
  return v === true || v === 1 || v === '1'
}

type TableWithId = {
  [K in keyof Database]: Database[K] extends { id: unknown } ? K : never
}[keyof Database]

/** INSERT … and return the new id (MySQL has no RETURNING: use insertId). */
export async function insertReturningId<T extends TableWithId>(
  engine: DbEngine,
  db: Executor,
  table: T,
  values: Insertable<Database[T]>,
): Promise<number> {
  // The generic table type is too wide for Kysely's overloads; the values type is checked above.
  const q = db.insertInto(table as 'users').values(values as Insertable<Database['users']>)
  if (engine === 'mysql') {
    const r = await q.executeTakeFirstOrThrow()
    return Number(r.insertId)
  }
  const row = await q.returning('id').executeTakeFirstOrThrow()
  return row.id
}

/** Tries of a transaction that lost to a concurrent one (deadlock, serialization failure). */
export const CONFLICT_TRIES = 5

/**
 * The transaction lost to concurrent ones CONFLICT_TRIES times in a row: a 409 `conflict`
 * (nothing was written; the client may try again), never a 500.
 */
export class TransactionConflict extends Error {
  readonly statusCode = 409
  constructor(cause: unknown) {
    super('The request conflicted with concurrent changes; please try again.', { cause })
    this.name = 'TransactionConflict'
  }
}

/**
 * Runs fn in a transaction, retrying it as a whole on deadlocks and serialization failures
 * (PostgreSQL 40P01/40001, MariaDB 1213/1205, SQLITE_BUSY): CONFLICT_TRIES tries with a
 * small jittered backoff, then a 409. A lost race that a fresh read avoids (a barber booked
 * concurrently) always leaves one winner per round, so it may take more rounds.
 * READ COMMITTED on MySQL/PostgreSQL so that a read after a row lock sees what the
 * previous lock holder committed (MySQL's REPEATABLE READ would read an older snapshot).
 */
export async function inTransaction<T>(
  handle: Pick<DatabaseHandle, 'db' | 'engine'>,
  fn: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  let conflicts = 0
  for (let attempt = 1; ; attempt++) {
    try {
      const builder = handle.db.transaction()
      // MySQL's connections are set to READ COMMITTED when the pool opens them.
      return handle.engine === 'postgres'
        ? await builder.setIsolationLevel('read committed').execute(fn)
        : await builder.execute(fn)
    } catch (err) {
      if (isLostRace(err)) {
        if (attempt >= 50) throw err
      } else if (isConcurrencyFailure(err)) {
        conflicts += 1
        if (conflicts >= CONFLICT_TRIES) throw new TransactionConflict(err)
      } else throw err
      bookingRetries.inc({ reason: retryReason(err) })
      await new Promise((r) => setTimeout(r, 5 * Math.min(attempt, 5) + Math.random() * 20))
    }
  }
}

/**
 * Runs fn when fewer than `limit` others with the same key run in this process (first come,
 * first served). Bookings of one barber serialise on a database lock anyway; waiting for
 * it here instead of there keeps a storm on one slot from holding every pooled connection
 * (each waiting on the same lock) while the rest of the API waits for a connection.
 */
export async function oneAtATime<T>(
  handle: object,
  key: string,
  limit: number,
  fn: () => Promise<T>,
): Promise<T> {
  let lanes = gates.get(handle)
  if (!lanes) gates.set(handle, (lanes = new Map()))
  let gate = lanes.get(key)
  if (!gate) lanes.set(key, (gate = { running: 0, waiting: [] }))
  if (gate.running >= limit) {
    const waited = bookingLockWait.startTimer()
    await new Promise<void>((resolve) => gate.waiting.push(resolve))
    waited()
  } else gate.running += 1
  try {
    return await fn()
  } finally {
    const next = gate.waiting.shift()
    // The lane passes straight to the next in line (running stays the same).
    if (next) next()
    else {
      gate.running -= 1
      if (gate.running === 0) lanes.delete(key)
    }
  }
}

const gates = new WeakMap<object, Map<string, { running: number; waiting: (() => void)[] }>>()

/**
 * Takes the booking lock of one barber (null: the single chair of a shop without barbers)
 * until the transaction ends: a row of `locks`, written with an upsert so it exists from the
 * first booking on. Not the barber's users row: on MySQL a reservation's insert holds a
 * shared lock on it (foreign-key check), and two bookings that both inserted, then asked for
 * the exclusive lock, would deadlock. SQLite's BEGIN IMMEDIATE already serialises every writer.
 */
export async function lockForBooking(
  engine: DbEngine,
  trx: Transaction<Database>,
  staffId: number | null,
): Promise<void> {
  await takeLock(engine, trx, barberLock(staffId))
}

/** The name of the lock that guards one barber's bookings (null: the single chair). */
export function barberLock(staffId: number | null): string {
  return staffId === null ? 'shop' : `staff:${staffId}`
}

/**
 * Takes a named lock (a row of `locks`) until the transaction ends; a no-op on SQLite,
 * whose BEGIN IMMEDIATE already serialises writers. Locks are taken in one order: a
 * customer's before any barber's, barbers' in ascending id order.
 */
export async function takeLock(
  engine: DbEngine,
  trx: Transaction<Database>,
  /** Several: taken in the order given, by one statement. */
  name: string | string[],
): Promise<void> {
  if (engine === 'sqlite') return
  const waited = bookingLockWait.startTimer()
  const names = typeof name === 'string' ? [name] : name
  const insert = trx.insertInto('locks').values(names.map((n) => ({ name: n })))
  await (
    engine === 'mysql'
      ? insert.onDuplicateKeyUpdate({ name: sql<string>`name` })
      : insert.onConflict((oc) =>
          oc.column('name').doUpdateSet({ name: (eb) => eb.ref('excluded.name') }),
        )
  ).execute()
  waited()
}

interface DriverError {
  code?: string | number
  errno?: number
  message?: string
}

function codeOf(err: unknown): string {
  const e = err as DriverError | null
  return e && e.code != null ? String(e.code) : ''
}

export function isUniqueViolation(err: unknown): boolean {
  const c = codeOf(err)
  return (
    c === '23505' ||
    c === 'ER_DUP_ENTRY' ||
    c.startsWith('SQLITE_CONSTRAINT_UNIQUE') ||
    c === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  )
}

/** PostgreSQL's exclusion constraint: the second line of defence against double booking. */
export function isExclusionViolation(err: unknown): boolean {
  return codeOf(err) === '23P01'
}

/** A domain error that asks for another try: a race lost that a fresh read can avoid. */
function isLostRace(err: unknown): boolean {
  return (err as { retryable?: unknown } | null)?.retryable === true
}

/** A transaction that lost to concurrent ones: trying it again from the start may succeed. */
export function isConcurrencyFailure(err: unknown): boolean {
  const c = codeOf(err)
  const errno = (err as DriverError | null)?.errno
  return (
    ['40P01', '40001', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'SQLITE_BUSY'].includes(c) ||
    errno === 1213 ||
    errno === 1205
  )
}

/** The `reason` label of fade_booking_retries_total. */
function retryReason(
  err: unknown,
): 'lost_race' | 'deadlock' | 'serialization' | 'lock_timeout' | 'busy' {
  if (isLostRace(err)) return 'lost_race'
  const c = codeOf(err)
  const errno = (err as DriverError | null)?.errno
  if (c === '40P01' || c === 'ER_LOCK_DEADLOCK' || errno === 1213) return 'deadlock'
  if (c === '40001') return 'serialization'
  if (c === 'SQLITE_BUSY') return 'busy'
  return 'lock_timeout'
}

export function isRetryable(err: unknown): boolean {
  return isLostRace(err) || isConcurrencyFailure(err)
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '53300',
])

/** The database is unreachable or restarting: answer 503, not 500. */
export function isConnectionError(err: unknown): boolean {
  if (CONNECTION_CODES.has(codeOf(err))) return true
  const msg = (err as DriverError | null)?.message ?? ''
  return /Connection terminated|connect ECONNREFUSED|Pool is closed|timeout exceeded when trying to connect|Can't add new command when connection is in closed state|closed state|not queryable/i.test(
    msg,
  )
}

/** A cheap round trip for readiness checks. */
export async function ping(db: Db): Promise<void> {
  await sql`select 1`.execute(db)
}
