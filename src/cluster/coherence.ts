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

/**
 * The handle of a cluster process: on MySQL, its own commits are announced to the others,
 * and its change token also counts the commits other processes announced (`changedElsewhere`).
 */
export function coherentHandle(
  inner: DatabaseHandle,
  announce: () => Promise<void>,
): { handle: DatabaseHandle; changedElsewhere: () => void } {
  if (!inner.afterCommit) return { handle: inner, changedElsewhere: () => undefined }
  let others = 0
  inner.afterCommit(announce)
  const handle: DatabaseHandle = {
    ...inner,
    changeToken: async () => {
      const { token, exact } = await inner.changeToken()
      return { token: `${token}.o${others}`, exact }
    },
  }
  return { handle, changedElsewhere: () => void others++ }
}
