/**
 * Several replicas start at once (docker compose up --scale api=3, or api + worker, which
 * both migrate on start): two `migrate up` processes racing on one fresh database must
 * both succeed and apply every migration exactly once.
 *
 * Runs on the databases of TEST_DB like the rest of the suite (`TEST_DB=sqlite,mysql,postgres`);
 * an unreachable server fails in CI and is skipped with a printed reason elsewhere.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import type { DbEngine } from '../../src/config.js'
import { createDatabase } from '../../src/db/database.js'
import { migrations } from '../../src/db/migrations/index.js'
import { createTestDatabase, dialects } from '../helpers.js'
import type { TestDatabase } from '../helpers.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const MIGRATORS = 2

/** Makes every child wait until the same instant once tsx is loaded, so they really race. */
const BARRIER = `data:text/javascript,${encodeURIComponent(
  'await new Promise((r) => setTimeout(r, Math.max(0, Number(process.env.FADE_START_AT) - Date.now())))',
)}`

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  out: string
}

function migrateUp(url: string, startAt: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', BARRIER, 'src/cli/migrate.ts', 'up'],
      {
        cwd: ROOT,
        // Nothing inherited but PATH/HOME, and every setting a stray .env could change is set.
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/tmp',
          DEBUG: 'true',
          SECRET_KEY: 'migrate-concurrency-test-secret-0123456789',
          DATABASE_URL: url,
          LOG_LEVEL: 'warn',
          FADE_START_AT: String(startAt),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => (out += b.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, out })
    })
  })
}

/** The DATABASE_URL form of a test database. */
function urlOf(db: TestDatabase): string {
  return db.config.engine === 'sqlite' ? `sqlite:${db.config.url}` : db.config.url
}

async function tablesOf(
  engine: DbEngine,
  handle: ReturnType<typeof createDatabase>,
): Promise<string[]> {
  const q =
    engine === 'sqlite'
      ? sql<{ name: string }>`select name from sqlite_master where type = 'table'`
      : engine === 'mysql'
        ? sql<{
            name: string
          }>`select table_name as name from information_schema.tables where table_schema = database()`
        : sql<{
            name: string
          }>`select table_name as name from information_schema.tables where table_schema = current_schema()`
  return (await q.execute(handle.db)).rows.map((r) => r.name)
}

const expected = Object.keys(migrations).sort()

for (const engine of await dialects()) {
  describe(`${engine}: concurrent migrators`, () => {
    let testDb: TestDatabase | undefined
    afterEach(async () => {
      await testDb?.drop()
      testDb = undefined
    })

    it(`${MIGRATORS} processes migrating one fresh database at once both succeed, and each migration runs once`, async () => {
      testDb = await createTestDatabase(engine)
      const url = urlOf(testDb)
      // Far enough ahead for every child to have loaded tsx before the barrier opens.
      const startAt = Date.now() + 3000
      const runs = await Promise.all(
        Array.from({ length: MIGRATORS }, () => migrateUp(url, startAt)),
      )

      runs.forEach((r, i) =>
        expect({ migrator: i, code: r.code, signal: r.signal }, r.out).toEqual({
          migrator: i,
          code: 0,
          signal: null,
        }),
      )
      // Every migration is reported applied by exactly one process; the others found nothing to do.
      for (const name of expected) {
        const appliers = runs.filter((r) => r.out.includes(`applied: ${name}`))
        expect(appliers.length, `${name}\n${runs.map((r) => r.out).join('\n---\n')}`).toBe(1)
      }
      expect(runs.filter((r) => r.out.includes('No migrations to apply.')).length).toBe(
        MIGRATORS - 1,
      )

      const handle = createDatabase(testDb.config, { poolSize: 1 })
      try {
        const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(
          handle.db,
        )
        expect(rows.rows.map((r) => r.name).sort()).toEqual(expected)

        const lock = await sql<{
          is_locked: number | boolean
        }>`select is_locked from kysely_migration_lock`.execute(handle.db)
        expect(lock.rows).toHaveLength(1)
        expect(Number(lock.rows[0]!.is_locked)).toBe(0)

        const tables = (await tablesOf(engine, handle)).map((t) => t.toLowerCase())
        for (const t of [
          'users',
          'services',
          'reservations',
          'reservation_history',
          'outbox',
          'refresh_tokens',
          'time_off',
          'kysely_migration',
        ]) {
          expect(tables, t).toContain(t)
        }
        // The schema works: a row goes in and comes back.
        await sql`insert into services (name, description, duration_minutes, buffer_after_minutes, price_cents, is_active, created_at)
                  values (${'Cut'}, ${''}, ${30}, ${0}, ${2500}, ${true}, ${new Date()})`.execute(
          handle.db,
        )
        const count = await sql<{ n: number | string }>`select count(*) as n from services`.execute(
          handle.db,
        )
        expect(Number(count.rows[0]!.n)).toBe(1)
      } finally {
        await handle.close()
      }
    })
  })
}
