import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase } from '../src/db/database.js'
import type { DatabaseHandle } from '../src/db/database.js'
import { createMigrator } from '../src/db/migrator.js'
import { createTestDatabase, dialects } from './helpers.js'
import type { TestDatabase } from './helpers.js'

/** The index a booking's count of the customer's upcoming active reservations reads. */
const INDEX = 'reservations_customer_status_start_idx'

async function indexColumns(database: DatabaseHandle): Promise<string[]> {
  const { db, engine } = database
  const query =
    engine === 'sqlite'
      ? sql<{ name: string }>`select name from pragma_index_info(${INDEX}) order by seqno`
      : engine === 'mysql'
        ? sql<{ name: string }>`select column_name as name from information_schema.statistics
            where index_name = ${INDEX} and table_schema = database() order by seq_in_index`
        : sql<{ name: string }>`select a.attname as name
            from pg_index i join pg_class c on c.oid = i.indexrelid
            join lateral unnest(i.indkey) with ordinality as k(attnum, n) on true
            join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
            where c.relname = ${INDEX} order by k.n`
  const { rows } = await query.execute(db)
  return rows.map((r) => r.name.toLowerCase())
}

for (const engine of await dialects()) {
  describe(`${engine}: migration 0005`, () => {
    let testDb: TestDatabase
    let database: DatabaseHandle
    beforeAll(async () => {
      testDb = await createTestDatabase(engine)
      database = createDatabase(testDb.config)
    })
    afterAll(async () => {
      await database?.close()
      await testDb?.drop()
    })

    it('indexes reservations by customer, status and start, and is undone by down', async () => {
      const migrator = createMigrator(database.db, database.engine)
      expect((await migrator.migrateTo('0004_import_django')).error).toBeUndefined()
      expect(await indexColumns(database)).toEqual([])
      expect((await migrator.migrateToLatest()).error).toBeUndefined()
      expect(await indexColumns(database)).toEqual(['customer_id', 'status', 'start_time'])
      expect((await migrator.migrateDown()).error).toBeUndefined()
      expect(await indexColumns(database)).toEqual([])
      expect((await migrator.migrateToLatest()).error).toBeUndefined()
      expect(await indexColumns(database)).toEqual(['customer_id', 'status', 'start_time'])
    })
  })
}
