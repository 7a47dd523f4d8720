import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfigOrExit } from '../config.js'
import { createDatabase } from '../db/database.js'
import { createMigrator } from '../db/migrator.js'

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'db', 'migrations')

const TEMPLATE = `import type { Kysely } from 'kysely'
import type { DbEngine } from '../../config.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>, engine: DbEngine): Promise<void> {
  // Write the change once; branch on \`engine\` only where the dialects differ.
  void db
  void engine
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>, engine: DbEngine): Promise<void> {
  void db
  void engine
}
`

/** `migrate up | status | make NAME` */
async function main(): Promise<void> {
  const [command = 'up', name] = process.argv.slice(2)
  if (command === 'make') {
    if (!name || !/^[a-z0-9_]+$/.test(name)) {
      process.stderr.write('usage: npm run makemigration -- name_in_snake_case\n')
      process.exit(2)
    }
    const index = join(MIGRATIONS_DIR, 'index.ts')
    const source = readFileSync(index, 'utf8')
    const numbers = [...source.matchAll(/'(\d{4})_/g)].map((m) => Number(m[1]))
    const next = String(Math.max(0, ...numbers) + 1).padStart(4, '0')
    const file = `${next}_${name}`
    writeFileSync(join(MIGRATIONS_DIR, `${file}.ts`), TEMPLATE, { flag: 'wx' })
    const updated = source
      .replace(/(\n)(export const migrations)/, `\nimport * as m${next} from './${file}.js'$1$2`)
      .replace(
        '  // makemigration: new entries above this line',
        `  '${file}': m${next},\n  // makemigration: new entries above this line`,
      )
    writeFileSync(index, updated)
    process.stdout.write(`created src/db/migrations/${file}.ts\n`)
    return
  }
  const config = loadConfigOrExit()
  const database = createDatabase(config.database)
  try {
    const migrator = createMigrator(database.db, database.engine)
    if (command === 'status') {
      for (const m of await migrator.getMigrations()) {
        process.stdout.write(
          `${m.executedAt ? '[X]' : '[ ]'} ${m.name}${m.executedAt ? `  (applied ${m.executedAt.toISOString()})` : ''}\n`,
        )
      }
    } else if (command === 'up') {
      const { results, error } = await migrator.migrateToLatest()
      for (const r of results ?? [])
        process.stdout.write(
          `${r.status === 'Success' ? 'applied' : r.status}: ${r.migrationName}\n`,
        )
      if (error) throw error
      if (!results?.length) process.stdout.write('No migrations to apply.\n')
    } else {
      process.stderr.write(`unknown command "${command}": use up, status or make NAME\n`)
      process.exitCode = 2
    }
  } finally {
    await database.close()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`migrate failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
