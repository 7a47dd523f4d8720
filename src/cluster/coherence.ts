import type { Pool as MysqlPool } from 'mysql2'
import type { DatabaseHandle } from '../db/database.js'

/**
 * Caches of derived figures (src/cache/derived.ts: the dashboard's, availability's) live in
 * each process and are keyed by `changeToken()`. On SQLite (PRAGMA data_version) and
 * PostgreSQL (the MVCC snapshot) that token already moves with every process's commits.
 * MySQL/MariaDB offer no such signal, so in a cluster each process announces its own
 * committed writes: the announcement reaches every other process (through the primary) and
 * is acknowledged BEFORE the committing code goes on, so a response that follows a write can
 * never be followed by a stale read from another process. The token also keeps moving with
 * writes from outside the cluster only by the 1 s bound the caches keep for inexact tokens.
 */

/** Writes to bookkeeping tables no cached figure reads (throttle counters, the outbox…). */
const BOOKKEEPING =
  /^\s*(?:insert\s+(?:ignore\s+)?into|update|delete\s+from|replace\s+into)\s+`?(?:outbox|rate_counters|login_failures|idempotency_keys)`?[\s(]/i
const WRITE = /^\s*(?:insert|update|delete|replace)\b/i
const PATCHED = Symbol('fade.commitHook')

type Callback = (err: unknown, ...rest: unknown[]) => void
interface RawConnection {
  query: (...args: unknown[]) => unknown
  [PATCHED]?: true
}

/**
 * Calls `committed()` after each commit of a transaction that wrote (and after each write
 * outside a transaction), and holds the query's callback until it resolves.
 */
export function hookMysqlCommits(pool: MysqlPool, committed: () => Promise<void>): void {
  const getConnection = pool.getConnection.bind(pool)
  const patched = (cb: Callback) =>
    getConnection((err, conn) => {
      if (!err && conn) patch(conn as unknown as RawConnection, committed)
      cb(err, conn)
    })
  pool.getConnection = patched as typeof pool.getConnection
}

function patch(conn: RawConnection, committed: () => Promise<void>): void {
  if (conn[PATCHED]) return
  conn[PATCHED] = true
  let inTransaction = false
  let dirty = false
  const query = conn.query.bind(conn)
  conn.query = (...args: unknown[]) => {
    const [text, params, cb] = args
    if (typeof text !== 'string' || typeof cb !== 'function') return query(...args)
    const head = text.trimStart().slice(0, 20).toLowerCase()
    let announce = false
    if (head.startsWith('begin') || head.startsWith('start transaction')) {
      inTransaction = true
      dirty = false
    } else if (head.startsWith('commit')) {
      announce = dirty
      inTransaction = false
      dirty = false
    } else if (head.startsWith('rollback') && !head.startsWith('rollback to')) {
      inTransaction = false
      dirty = false
    } else if (WRITE.test(text) && !BOOKKEEPING.test(text)) {
      if (inTransaction) dirty = true
      else announce = true
    }
    return query(text, params, (err: unknown, ...rest: unknown[]) => {
      const done = cb as Callback
      if (err || !announce) return done(err, ...rest)
      committed().then(
        () => done(err, ...rest),
        () => done(err, ...rest),
      )
    })
  }
}

/**
 * The handle of a cluster process: on MySQL, its change token also counts this process's
 * committed writes and the writes other processes announced (`changedElsewhere`).
 */
export function coherentHandle(
  inner: DatabaseHandle,
  announce: () => Promise<void>,
): { handle: DatabaseHandle; changedElsewhere: () => void } {
  if (inner.pool?.engine !== 'mysql') return { handle: inner, changedElsewhere: () => undefined }
  let own = 0
  let others = 0
  hookMysqlCommits(inner.pool.pool, () => {
    own++
    return announce()
  })
  const handle: DatabaseHandle = {
    ...inner,
    changeToken: async () => {
      const { token, exact } = await inner.changeToken()
      return { token: `${token}.c${own}.o${others}`, exact }
    },
  }
  return { handle, changedElsewhere: () => void others++ }
}
