import type { Pool as MysqlPool } from 'mysql2'

/**
 * MySQL/MariaDB give no cheap signal that another session committed, so the change token
 * of a MySQL handle (`DatabaseHandle.changeToken`) counts the commits its own connections
 * make: each connection the pool hands out is watched, and `committed()` runs after every
 * COMMIT of a transaction that wrote (and after every write outside a transaction), before
 * the query's caller goes on. Counting after the commit, not when the statement is sent,
 * matters: a read that starts between the two must not be cached under a token that will
 * not move again.
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
