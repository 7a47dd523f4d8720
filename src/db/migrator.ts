import { Migrator } from 'kysely'
import type { MigrationResultSet } from 'kysely'
import type { DbEngine } from '../config.js'
import type { Db } from './database.js'
import { migrations } from './migrations/index.js'

/** Kysely's Migrator takes a database lock, so several replicas may start at once. */
export function createMigrator(db: Db, engine: DbEngine): Migrator {
  return new Migrator({
    db,
    provider: {
      getMigrations: async () =>
        Object.fromEntries(
          Object.entries(migrations).map(([name, m]) => [
            name,
            {
              up: (d) => m.up(d, engine),
              down: m.down ? (d) => m.down!(d, engine) : undefined,
            },
          ]),
        ),
    },
  })
}

export async function migrateToLatest(db: Db, engine: DbEngine): Promise<MigrationResultSet> {
  const result = await createMigrator(db, engine).migrateToLatest()
  if (result.error) throw result.error
  return result
}
