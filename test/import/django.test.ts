import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SQLite from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyPassword } from '../../src/auth/passwords.js'
import { toNumber } from '../../src/db/database.js'
import { runSweep } from '../../src/jobs/sweep.js'
import { importDjango } from '../../src/importer/importer.js'
import type { ImportReport } from '../../src/importer/importer.js'
import { readSource, SourceError } from '../../src/importer/source.js'
import { withImportTables } from '../../src/importer/tables.js'
import { dialects, json, serverProblem, startApp } from '../helpers.js'
import type { TestApp } from '../helpers.js'
import type { DjangoData } from './django-fixture.js'
import {
  createMysqlSource,
  createPostgresSource,
  djangoData,
  naive,
  writeDumpdata,
  writeSqliteSource,
} from './django-fixture.js'

const engines = await dialects()
const mysqlProblem = await serverProblem('mysql')
if (mysqlProblem && process.env.CI) throw new Error(mysqlProblem)

const dir = mkdtempSync(join(tmpdir(), 'fade-django-'))
const data: DjangoData = await djangoData()
const sqlitePath = join(dir, 'django.sqlite3')
writeSqliteSource(sqlitePath, data)
const dumpPath = join(dir, 'dump.json')
writeDumpdata(dumpPath, data)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Source {
  name: string
  staff?: boolean
  spec: () => Promise<string>
  cleanup?: () => Promise<void>
}

const sources: Source[] = [
  { name: 'SQLite', spec: async () => `sqlite:${sqlitePath}` },
  { name: 'dumpdata', spec: async () => dumpPath },
]
if (!mysqlProblem) {
  let drop: (() => Promise<void>) | undefined
  sources.push({
    name: 'MariaDB',
    staff: true,
    spec: async () => {
      // A later version of the original, with a barber on each reservation.
      const src = await createMysqlSource(data, { staff: true })
      drop = src.drop
      return src.url
    },
    cleanup: async () => drop?.(),
  })
} else process.stderr.write(`SKIPPING the MariaDB source: ${mysqlProblem}\n`)

const fromNaive = (s: string) => new Date(`${s.replace(' ', 'T').slice(0, 23)}Z`)

async function count(
  t: TestApp,
  table: 'users' | 'reservations' | 'reservation_history' | 'outbox',
) {
  const row = await t.database.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return toNumber(row.n)
}

async function storedHash(t: TestApp, username: string): Promise<string> {
  const row = await t.database.db
    .selectFrom('users')
    .select('password')
    .where('username_key', '=', username)
    .executeTakeFirstOrThrow()
  return row.password
}

for (const engine of engines) {
  for (const source of sources) {
    describe(`${engine} ← Django ${source.name}`, () => {
      let t: TestApp
      let spec: string
      let first: ImportReport

      beforeAll(async () => {
        t = await startApp(engine)
        spec = await source.spec()
        first = await importDjango(t.database, await readSource(spec), {
          reminderHoursBefore: t.config.reminderHoursBefore,
        })
      })
      afterAll(async () => {
        await t?.close()
        await source.cleanup?.()
      })

      it('imports every user and reservation it can, keeping ids, and reports the rest', async () => {
        expect(first.keep_ids).toBe(true)
        expect(first.tables.api_user).toEqual({
          read: 7,
          created: 7,
          updated: 0,
          unchanged: 0,
          skipped: 0,
        })
        expect(first.tables.api_reservation).toEqual({
          read: 8,
          created: 7,
          updated: 0,
          unchanged: 0,
          skipped: 1,
        })
        expect(first.unknown_statuses).toEqual({ waitlist: 1 })
        expect(first.problems.join('\n')).toMatch(
          /(api_reservation|api\.reservation).*(id=23|pk=23).*field status: unknown status "waitlist"/,
        )
        // A phone that cannot be normalised is kept and listed; one that can is normalised.
        expect(first.problems.join('\n')).toMatch(/(id=3|pk=3).*field phone: "call after 5"/)
        const users = await t.database.db.selectFrom('users').selectAll().orderBy('id').execute()
        expect(users.map((u) => u.id)).toEqual([1, 2, 3, 5, 6, 7, 8])
        expect(users.find((u) => u.username === 'alice')!.phone).toBe('5551234567')
        expect(users.find((u) => u.username === 'carol')!.phone).toBe('+447946095812')
        expect(users.find((u) => u.username === 'bob')!.phone).toBe('call after 5')
        const ids = await t.database.db
          .selectFrom('reservations')
          .select('id')
          .orderBy('id')
          .execute()
        expect(ids.map((r) => r.id)).toEqual([10, 11, 12, 13, 20, 21, 22])
        // Past pending/confirmed come in as the sweep would leave them.
        expect(first.settled).toEqual({ completed: 1, expired: 1 })
        // The two future reservations that overlap are both there, and listed.
        expect(first.overlaps).toHaveLength(1)
        expect(first.overlaps[0]!.reservations.map((r) => r.id)).toEqual([20, 21])
      })

      it('logs in with the Django passwords, then stores argon2id', async () => {
        for (const [username, password] of Object.entries(data.passwords)) {
          expect((await storedHash(t, username)).startsWith('$argon2id$')).toBe(false)
          const wrong = await t.req('POST', '/api/auth/login/', {
            body: { username, password: `${password}x` },
          })
          expect(wrong.statusCode).toBe(401)
          expect(json(wrong).detail).toBe('No active account found with the given credentials')
          const res = await t.req('POST', '/api/auth/login/', { body: { username, password } })
          expect(res.statusCode, username).toBe(200)
          const hash = await storedHash(t, username)
          expect(hash.startsWith('$argon2id$'), username).toBe(true)
          expect(await verifyPassword(hash, password)).toBe(true)
          // And again, now with our hash.
          const again = await t.req('POST', '/api/auth/login/', { body: { username, password } })
          expect(again.statusCode).toBe(200)
        }
        // The superuser is an admin here.
        const owner = await t.req('POST', '/api/auth/login/', {
          body: { username: 'owner', password: data.passwords.owner },
        })
        expect(json<{ user: { is_admin: boolean } }>(owner).user.is_admin).toBe(true)
        // An unusable password stays unusable: the same 401.
        const ghost = await t.req('POST', '/api/auth/login/', {
          body: { username: 'ghost', password: '!Xq2aZ8pLk1mN0bV4cR7tY9uI3oP6sD5fG8hJ2kL' },
        })
        expect(ghost.statusCode).toBe(401)
        expect(await storedHash(t, 'ghost')).toMatch(/^!/)
      })

      it('starts each history with the import at the source created_at', async () => {
        const login = await t.req('POST', '/api/auth/login/', {
          body: { username: 'owner', password: data.passwords.owner },
        })
        const token = json<{ access: string }>(login).access
        const res = await t.req('GET', '/api/reservations/11/history/', { user: token })
        expect(res.statusCode).toBe(200)
        const history =
          json<
            { at: string; from_status: string | null; to_status: string; actor: number | null }[]
          >(res)
        const created = data.reservations.find((r) => r.id === 11)!.created_at
        expect(history[0]).toMatchObject({ from_status: null, to_status: 'confirmed', actor: null })
        expect(new Date(history[0]!.at).getTime()).toBe(fromNaive(created).getTime())
        expect(history[1]).toMatchObject({ from_status: 'confirmed', to_status: 'completed' })
        const r12 = json<{ status: string; cancelled_by: string }>(
          await t.req('GET', '/api/reservations/12/', { user: token }),
        )
        expect(r12).toMatchObject({ status: 'cancelled', cancelled_by: 'system' })
      })

      it('sends no email for anything imported, and the sweep finds nothing of the past', async () => {
        const sweep = await runSweep(t.runtime.ctx)
        expect(sweep).toMatchObject({ completed: 0, expired: 0, reminders: 0 })
        await t.drain()
        expect(await count(t, 'outbox')).toBe(0)
        expect(readdirSync(t.emailDir)).toEqual([])
      })

      it('keeps the overlapping bookings blocking their time for new ones', async () => {
        const r21 = data.reservations.find((r) => r.id === 21)!
        const end21 = fromNaive(r21.end_time)
        const start21 = fromNaive(r21.start_time)
        const holds = await t.database.db
          .selectFrom('reservations')
          .select(['id', 'staff_id', 'hold_until'])
          .where('id', 'in', [20, 21])
          .orderBy('id')
          .execute()
        // The first holds the pair's whole time, the second an empty range.
        expect(holds.map((h) => new Date(h.hold_until).getTime())).toEqual([
          end21.getTime(),
          start21.getTime(),
        ])
        expect(holds.map((h) => h.staff_id)).toEqual(source.staff ? [3, 3] : [null, null])
        if (!source.staff) return
        const admin = json<{ access: string }>(
          await t.req('POST', '/api/auth/login/', {
            body: { username: 'owner', password: data.passwords.owner },
          }),
        ).access
        // Inside the second booking's own time, past the first one's end.
        const start = end21.getTime() - 20 * 60_000
        const res = await t.req('POST', '/api/reservations/', {
          user: admin,
          body: {
            staff: 3,
            start_time: new Date(start).toISOString(),
            end_time: new Date(start + 15 * 60_000).toISOString(),
          },
        })
        expect(res.statusCode).toBe(409)
      })

      it('runs again without duplicating anything, and updates what changed', async () => {
        const before = await Promise.all(
          (['users', 'reservations', 'reservation_history'] as const).map((n) => count(t, n)),
        )
        const again = await importDjango(t.database, await readSource(spec), {
          reminderHoursBefore: t.config.reminderHoursBefore,
        })
        expect(again.tables.api_user).toMatchObject({ created: 0, updated: 0, unchanged: 7 })
        expect(again.tables.api_reservation).toMatchObject({ created: 0, updated: 0, unchanged: 7 })
        expect(
          await Promise.all(
            (['users', 'reservations', 'reservation_history'] as const).map((n) => count(t, n)),
          ),
        ).toEqual(before)
        // The upgraded hashes survive a re-run of an unchanged source.
        expect((await storedHash(t, 'alice')).startsWith('$argon2id$')).toBe(true)
        const runs = await withImportTables(t.database.db)
          .selectFrom('import_runs')
          .select('finished_at')
          .execute()
        expect(runs).toHaveLength(2)
        expect(runs.every((r) => r.finished_at !== null)).toBe(true)
        // The ids taken by the import are not handed out again (PostgreSQL's sequence follows).
        const res = await t.req('POST', '/api/auth/register/', {
          body: {
            username: 'newcomer',
            email: 'newcomer@example.com',
            password: 'Fresh-Cut-2026!',
          },
        })
        expect(res.statusCode).toBe(201)
        expect(json<{ user: { id: number } }>(res).user.id).toBeGreaterThan(8)
      })
    })
  }
}

describe('a source not of the seed shape', () => {
  it('stops before writing anything, naming the table and column', async () => {
    const path = join(dir, 'not-django.sqlite3')
    const db = new SQLite(path)
    db.exec(`create table api_user (id integer primary key, username text, password text);
             create table api_reservation (id integer primary key)`)
    db.close()
    const err = await readSource(`sqlite:${path}`).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SourceError)
    expect((err as SourceError).problems.join('\n')).toMatch(/table api_user has no column .*phone/)
  })

  it('names the file, object, row and field of a bad value', async () => {
    const path = join(dir, 'bad.json')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(
      path,
      JSON.stringify([
        {
          model: 'api.user',
          pk: 4,
          fields: {
            password: 'x',
            last_login: null,
            is_superuser: false,
            username: 'zed',
            first_name: '',
            last_name: '',
            email: '',
            is_staff: false,
            is_active: true,
            date_joined: 'yesterday',
            phone: '',
            is_admin: false,
            is_staff_member: false,
          },
        },
      ]),
    )
    const err = await readSource(path).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SourceError)
    expect((err as SourceError).problems[0]).toMatch(
      /bad\.json: object #1 \(api\.user pk=4\), field date_joined: "yesterday" is not a date and time/,
    )
  })
})

for (const engine of engines) {
  describe(`${engine}: re-runs after a change and after a failure`, () => {
    let t: TestApp
    beforeAll(async () => {
      t = await startApp(engine)
    })
    afterAll(async () => t?.close())

    it('resumes after a failure halfway, then updates rows changed in the source', async () => {
      const source = await readSource(`sqlite:${sqlitePath}`)
      // Fails after the first transaction of reservations (two rows).
      let batches = 0
      const failing = importDjango(t.database, source, {
        batchSize: 2,
        progress: (table) => {
          if (table === 'api_reservation' && ++batches === 1) throw new Error('power cut')
        },
      })
      await expect(failing).rejects.toThrow('power cut')
      expect(await count(t, 'reservations')).toBe(2)

      const resumed = await importDjango(t.database, source, { batchSize: 2 })
      expect(resumed.tables.api_user).toMatchObject({ created: 0, unchanged: 7 })
      expect(resumed.tables.api_reservation).toMatchObject({ created: 5, unchanged: 2 })
      expect(await count(t, 'reservations')).toBe(7)
      expect(await count(t, 'users')).toBe(7)
      // One creation entry each, plus the two settled on the way: nothing twice.
      expect(await count(t, 'reservation_history')).toBe(9)

      // The Django side goes on: a note edited, a phone changed, a booking moved.
      const changedPath = join(dir, `changed-${engine}.sqlite3`)
      const changed = structuredClone(data)
      changed.reservations.find((r) => r.id === 22)!.notes = 'skin fade, please'
      changed.users.find((u) => u.id === 2)!.phone = '555 000 1111'
      const moved = changed.reservations.find((r) => r.id === 20)!
      const later = (v: string) => naive(new Date(fromNaive(v).getTime() + 10 * 3_600_000))
      moved.start_time = later(moved.start_time)
      moved.end_time = later(moved.end_time)
      writeSqliteSource(changedPath, changed)
      const again = await importDjango(t.database, await readSource(`sqlite:${changedPath}`))
      expect(again.tables.api_user).toMatchObject({ created: 0, updated: 1, unchanged: 6 })
      expect(again.tables.api_reservation).toMatchObject({ created: 0, updated: 2, unchanged: 5 })
      expect(await count(t, 'reservations')).toBe(7)
      const r22 = await t.database.db
        .selectFrom('reservations')
        .select(['notes', 'version'])
        .where('id', '=', 22)
        .executeTakeFirstOrThrow()
      expect(r22).toEqual({ notes: 'skin fade, please', version: 2 })
      const alice = await t.database.db
        .selectFrom('users')
        .select('phone')
        .where('id', '=', 2)
        .executeTakeFirstOrThrow()
      expect(alice.phone).toBe('5550001111')
      // The move is one more history entry; the no longer overlapping pair is not listed.
      expect(await count(t, 'reservation_history')).toBe(10)
      expect(again.overlaps).toEqual([])
    })
  })
}

describe('reading each kind of source', () => {
  const strip = <T extends { where: string }>(rows: T[]) => rows.map(({ where: _w, ...r }) => r)

  it('reads PostgreSQL, MariaDB, SQLite and dumpdata sources alike', async () => {
    const fromSqlite = await readSource(`sqlite:${sqlitePath}`)
    const fromDump = await readSource(dumpPath)
    expect(strip(fromDump.users)).toEqual(strip(fromSqlite.users))
    expect(strip(fromDump.reservations)).toEqual(strip(fromSqlite.reservations))
    const others: { spec: string; drop(): Promise<void> }[] = []
    if (!(await serverProblem('postgres'))) {
      const s = await createPostgresSource(data)
      others.push({ spec: s.url, drop: s.drop })
    }
    if (!mysqlProblem) {
      const s = await createMysqlSource(data)
      others.push({ spec: s.url, drop: s.drop })
    }
    for (const o of others) {
      try {
        const read = await readSource(o.spec)
        expect(strip(read.users), o.spec).toEqual(strip(fromSqlite.users))
        expect(strip(read.reservations), o.spec).toEqual(strip(fromSqlite.reservations))
      } finally {
        await o.drop()
      }
    }
  })

  it('reads naive times in --source-timezone (USE_TZ=False)', async () => {
    const utc = await readSource(`sqlite:${sqlitePath}`)
    const paris = await readSource(`sqlite:${sqlitePath}`, 'Europe/Paris')
    const a = utc.reservations[0]!.start_time.getTime()
    const b = paris.reservations[0]!.start_time.getTime()
    // Paris is one or two hours ahead of UTC: the same wall time is that much earlier.
    expect([3_600_000, 7_200_000]).toContain(a - b)
    await expect(readSource(`sqlite:${sqlitePath}`, 'Mars/Olympus')).rejects.toThrow(
      /unknown time zone/,
    )
  })
})

for (const engine of engines) {
  describe(`${engine}: bookings that trade places between two imports`, () => {
    let t: TestApp
    beforeAll(async () => {
      t = await startApp(engine)
    })
    afterAll(async () => t?.close())

    it('updates them without tripping the no-overlap rule in between', async () => {
      const at = (h: number) => naive(new Date(Date.now() + h * 3_600_000))
      const before = structuredClone(data)
      before.reservations = [
        {
          id: 30,
          customer_id: 2,
          staff_id: 3,
          start_time: at(50),
          end_time: at(51),
          status: 'confirmed',
          notes: '',
          created_at: at(-1),
        },
        {
          id: 31,
          customer_id: 5,
          staff_id: 3,
          start_time: at(52),
          end_time: at(53),
          status: 'confirmed',
          notes: '',
          created_at: at(-1),
        },
      ]
      const path1 = join(dir, `swap1-${engine}.sqlite3`)
      writeSqliteSource(path1, before, { staff: true })
      await importDjango(t.database, await readSource(`sqlite:${path1}`))
      // Then, in Django: 31 is cancelled and 30 moves into its slot. 30 is written first.
      const after = structuredClone(before)
      after.reservations[0]!.start_time = at(52)
      after.reservations[0]!.end_time = at(53)
      after.reservations[1]!.status = 'cancelled'
      const path2 = join(dir, `swap2-${engine}.sqlite3`)
      writeSqliteSource(path2, after, { staff: true })
      const report = await importDjango(t.database, await readSource(`sqlite:${path2}`))
      expect(report.tables.api_reservation).toMatchObject({ updated: 2 })
      expect(report.overlaps).toEqual([])
      const rows = await t.database.db
        .selectFrom('reservations')
        .select(['id', 'status', 'staff_id'])
        .orderBy('id')
        .execute()
      expect(rows).toEqual([
        { id: 30, status: 'confirmed', staff_id: 3 },
        { id: 31, status: 'cancelled', staff_id: 3 },
      ])
    })
  })
}

for (const engine of engines) {
  describe(`${engine}: into a database already in use`, () => {
    let t: TestApp
    beforeAll(async () => {
      t = await startApp(engine)
    })
    afterAll(async () => t?.close())

    it('gives new ids, keeps the links, and new sign-ups still get free ids', async () => {
      const existing = await t.user({ admin: true, username: 'alice' })
      const report = await importDjango(t.database, await readSource(`sqlite:${sqlitePath}`))
      expect(report.keep_ids).toBe(false)
      // "alice" is taken here by someone else: she is skipped, with her reservations.
      expect(report.tables.api_user).toMatchObject({ created: 6, skipped: 1 })
      expect(report.problems.join('\n')).toMatch(/(id=2).*field username: "alice" is already taken/)
      const carol = await t.database.db
        .selectFrom('users')
        .select('id')
        .where('username_key', '=', 'carol')
        .executeTakeFirstOrThrow()
      expect(carol.id).not.toBe(5)
      expect(carol.id).toBeGreaterThan(existing.id)
      // Reservation 20 (carol's) points at carol's new id.
      const carolsBookings = await t.database.db
        .selectFrom('reservations')
        .select('notes')
        .where('customer_id', '=', carol.id)
        .execute()
      expect(carolsBookings.map((r) => r.notes).sort()).toEqual(['beard', 'ill'])
      const res = await t.req('POST', '/api/auth/register/', {
        body: { username: 'newcomer', email: 'newcomer@example.com', password: 'Fresh-Cut-2026!' },
      })
      expect(res.statusCode).toBe(201)
      const again = await importDjango(t.database, await readSource(`sqlite:${sqlitePath}`))
      expect(again.tables.api_user).toMatchObject({ created: 0, unchanged: 6, skipped: 1 })
      expect(again.tables.api_reservation).toMatchObject({ created: 0 })
    })
  })
}
