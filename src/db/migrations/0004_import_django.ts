import { sql } from 'kysely'
import type { Kysely } from 'kysely'
import type { DbEngine } from '../../config.js'

/**
 * Bookkeeping of `npm run import:django`: one row per run, and one per source row
 * imported (which target row it became, and a fingerprint of the source values), so a
 * re-run updates what changed, skips what did not, and resumes after a failure.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>, engine: DbEngine): Promise<void> {
  const ts = engine === 'sqlite' ? 'text' : engine === 'mysql' ? 'datetime(3)' : 'timestamptz'
  const bool = engine === 'sqlite' ? 'integer' : 'boolean'
  const opts = <B extends { modifyEnd(s: ReturnType<typeof sql>): B }>(b: B): B =>
    engine === 'mysql'
      ? b.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci`)
      : b
  const runs = db.schema.createTable('import_runs')
  await opts(
    (engine === 'postgres'
      ? runs.addColumn('id', 'serial', (c) => c.primaryKey())
      : runs.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    )
      .addColumn('source', 'varchar(500)', (c) => c.notNull())
      .addColumn('keep_ids', bool, (c) => c.notNull())
      .addColumn('started_at', ts, (c) => c.notNull())
      .addColumn('finished_at', ts)
      .addColumn('summary', 'text', (c) => c.notNull()),
  ).execute()
  await opts(
    db.schema
      .createTable('import_rows')
      .addColumn('source_table', 'varchar(64)', (c) => c.notNull())
      .addColumn('source_id', 'bigint', (c) => c.notNull())
      .addColumn('target_id', 'integer', (c) => c.notNull())
      .addColumn('fingerprint', 'varchar(100)', (c) => c.notNull())
      .addColumn('imported_at', ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('import_rows_pk', ['source_table', 'source_id']),
  ).execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('import_rows').ifExists().execute()
  await db.schema.dropTable('import_runs').ifExists().execute()
}
