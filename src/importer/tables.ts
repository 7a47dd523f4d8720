import type { Generated, Kysely, Transaction } from 'kysely'
import type { Executor } from '../db/database.js'
import type { Bool, Database, NullableTimestamp, Timestamp } from '../db/types.js'

/** The importer's bookkeeping (migration 0004), known only to the importer. */
export interface ImportRunTable {
  id: Generated<number>
  source: string
  keep_ids: Bool
  started_at: Timestamp
  finished_at: NullableTimestamp
  summary: string
}

export interface ImportRowTable {
  /** api_user | api_reservation */
  source_table: string
  source_id: number
  target_id: number
  /** Hash of the source values last imported (`all:password` for users). */
  fingerprint: string
  imported_at: Timestamp
}

export interface ImportDatabase extends Database {
  import_runs: ImportRunTable
  import_rows: ImportRowTable
}

export type ImportExecutor = Kysely<ImportDatabase> | Transaction<ImportDatabase>

/** The same connection, seen with the importer's tables. */
export function withImportTables(db: Executor): ImportExecutor {
  return db as unknown as ImportExecutor
}
