// Import benchmark: a Django-shaped SQLite source with 100,000 reservations imported into a
// fresh database, then imported again (nothing changed). Uses the compiled code (dist/).
//   npm run build && node bench/import.mjs [--db sqlite|mysql|postgres] [--reservations N] [--users N]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import SQLite from 'better-sqlite3'
import { createBenchDatabase } from './lib/databases.mjs'

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    reservations: { type: 'string', default: '100000' },
    users: { type: 'string', default: '5000' },
  },
})
const dist = new URL('../dist/src/', import.meta.url)
const { createDatabase } = await import(new URL('db/database.js', dist).href)
const { migrateToLatest } = await import(new URL('db/migrator.js', dist).href)
const { importDjango } = await import(new URL('importer/importer.js', dist).href)
const { readSource } = await import(new URL('importer/source.js', dist).href)

const work = mkdtempSync(join(tmpdir(), 'fade-import-bench-'))
const nUsers = Number(values.users)
const nRes = Number(values.reservations)

// Deterministic data (mulberry32).
let seed = 42
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const naive = (ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '000')
const HOUR = 3_600_000
const now = Date.now()

const sourcePath = join(work, 'django.sqlite3')
{
  const db = new SQLite(sourcePath)
  db.exec(`
    CREATE TABLE "api_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL,
      "last_login" datetime NULL, "is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE,
      "first_name" varchar(150) NOT NULL, "last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL,
      "is_staff" bool NOT NULL, "is_active" bool NOT NULL, "date_joined" datetime NOT NULL,
      "phone" varchar(15) NOT NULL, "is_admin" bool NOT NULL, "is_staff_member" bool NOT NULL);
    CREATE TABLE "api_reservation" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
      "start_time" datetime NOT NULL, "end_time" datetime NOT NULL, "status" varchar(20) NOT NULL,
      "notes" text NOT NULL, "created_at" datetime NOT NULL,
      "customer_id" bigint NOT NULL REFERENCES "api_user" ("id") DEFERRABLE INITIALLY DEFERRED);`)
  const hash =
    'pbkdf2_sha256$600000$aXq3ZkP0mW2yRt8uVb1cDe$124kEoovPqDjca34z71w3i84PcAVavftA35dmNiAWZk='
  const u = db.prepare('insert into api_user values (?,?,?,?,?,?,?,?,?,?,?,?,?,?)')
  const r = db.prepare(
    'insert into api_reservation (id, start_time, end_time, status, notes, created_at, customer_id) values (?,?,?,?,?,?,?)',
  )
  db.transaction(() => {
    for (let i = 1; i <= nUsers; i++)
      u.run(
        i,
        hash,
        null,
        i === 1 ? 1 : 0,
        `user${i}`,
        'First',
        'Last',
        `user${i}@example.com`,
        0,
        1,
        naive(now - 800 * 24 * HOUR),
        `+3361234${String(i).padStart(4, '0')}`,
        0,
        0,
      )
    for (let i = 1; i <= nRes; i++) {
      // Two years back to two months ahead, on the quarter hour, 30–60 minutes.
      const start = Math.floor((now + (rand() * 790 - 730) * 24 * HOUR) / 900_000) * 900_000
      const end = start + (rand() < 0.5 ? 30 : 60) * 60_000
      const past = start < now
      const x = rand()
      const status = past
        ? x < 0.8
          ? 'completed'
          : x < 0.95
            ? 'cancelled'
            : 'confirmed'
        : x < 0.5
          ? 'confirmed'
          : x < 0.9
            ? 'pending'
            : 'cancelled'
      r.run(
        i,
        naive(start),
        naive(end),
        status,
        x < 0.2 ? 'skin fade' : '',
        naive(start - 5 * 24 * HOUR),
        1 + Math.floor(rand() * nUsers),
      )
    }
  })()
  db.close()
}

const target = await createBenchDatabase(values.db, work)
const url = target.env.DATABASE_URL
const database = createDatabase({
  engine: values.db,
  url: values.db === 'sqlite' ? url.replace(/^sqlite:/, '') : url,
})
try {
  await migrateToLatest(database.db, database.engine)
  const t0 = performance.now()
  const source = await readSource(`sqlite:${sourcePath}`)
  const t1 = performance.now()
  const first = await importDjango(database, source)
  const t2 = performance.now()
  const again = await importDjango(database, await readSource(`sqlite:${sourcePath}`))
  const t3 = performance.now()
  const s = (ms) => `${(ms / 1000).toFixed(1)} s`
  console.log(`target ${values.db}: ${nUsers} users, ${nRes} reservations`)
  console.log(`  read source            ${s(t1 - t0)}`)
  console.log(
    `  first import (write)   ${s(t2 - t1)}   created ${first.tables.api_reservation.created} reservations, ${first.overlaps.length} overlap groups, settled ${first.settled.completed}+${first.settled.expired}`,
  )
  console.log(`  total first run        ${s(t2 - t0)}`)
  console.log(
    `  re-run, unchanged      ${s(t3 - t2)}   unchanged ${again.tables.api_reservation.unchanged}`,
  )
} finally {
  await database.close()
  await target.drop()
  rmSync(work, { recursive: true, force: true })
}
