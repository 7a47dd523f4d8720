// Seeds a realistic shop through the compiled domain code (dist/): users are inserted
// directly with one shared argon2 hash (hashing 54 times would dominate the seeding time);
// services go through createService, reservations through createReservation and their
// status changes through updateReservation, the same path a request takes.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { sql } from 'kysely'
import { pino } from 'pino'

export const PASSWORD = 'Bench-Clipper-2026!'
export const OPEN_FROM = 6 * 60 // 06:00, minutes after midnight (shop zone is UTC)
export const OPEN_TO = 22 * 60 // 22:00

const DAY_MS = 86_400_000
const MIN_MS = 60_000

const SERVICES = [
  {
    key: 'trim',
    name: 'Beard trim',
    duration_minutes: 15,
    buffer_after_minutes: 0,
    price: '15.00',
    weight: 20,
  },
  {
    key: 'cut',
    name: 'Classic cut',
    duration_minutes: 30,
    buffer_after_minutes: 0,
    price: '25.00',
    weight: 40,
  },
  {
    key: 'fade',
    name: 'Skin fade',
    duration_minutes: 45,
    buffer_after_minutes: 5,
    price: '35.00',
    weight: 25,
  },
  {
    key: 'combo',
    name: 'Cut & beard',
    duration_minutes: 60,
    buffer_after_minutes: 10,
    price: '45.00',
    weight: 15,
  },
]

/** Deterministic PRNG (mulberry32): the same seed gives the same shop on every run. */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function pick(rand, weighted) {
  const total = weighted.reduce((s, w) => s + w.weight, 0)
  let r = rand() * total
  for (const w of weighted) {
    r -= w.weight
    if (r < 0) return w
  }
  return weighted[weighted.length - 1]
}

/** Midnight UTC of today + days. */
export function dayStart(days, base = Date.now()) {
  const d = new Date(base)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days)
}

export function isoDate(ms) {
  return new Date(ms).toISOString().slice(0, 10)
}

export async function importDist(root) {
  const dist = join(root, 'dist', 'src')
  if (!existsSync(join(dist, 'main.js'))) {
    throw new Error('dist/src/main.js is missing: run `npm run build` first (npm run bench does)')
  }
  const load = (p) => import(pathToFileURL(join(dist, p)).href)
  const [config, runtime, migrator, database, passwords, reservations, catalog] = await Promise.all(
    [
      load('config.js'),
      load('runtime.js'),
      load('db/migrator.js'),
      load('db/database.js'),
      load('auth/passwords.js'),
      load('reservations/reservations.service.js'),
      load('catalog/catalog.service.js'),
    ],
  )
  return { config, runtime, migrator, database, passwords, reservations, catalog }
}

/**
 * Plans `count` non-overlapping reservations per barber, day after day from `firstDay`
 * (relative to today), inside opening hours, with realistic gaps and a lunch break.
 */
function plan(rand, { count, firstDay, staffIds, customerIds, services }) {
  const out = []
  for (let day = firstDay; out.length < count; day++) {
    const midnight = dayStart(day)
    for (const staffId of staffIds) {
      let t = OPEN_FROM + [0, 0, 15, 30][Math.floor(rand() * 4)]
      const lunch = 12 * 60 + Math.floor(rand() * 8) * 15
      let hadLunch = false
      while (out.length < count) {
        if (!hadLunch && t >= lunch) {
          t += 45
          hadLunch = true
        }
        const service = pick(rand, services)
        const hold = service.duration_minutes + service.buffer_after_minutes
        if (t + hold > OPEN_TO) break
        const start = midnight + t * MIN_MS
        out.push({
          staffId,
          serviceId: service.id,
          start,
          end: start + service.duration_minutes * MIN_MS,
          customerId: customerIds[Math.floor(rand() * customerIds.length)],
        })
        // Mostly back to back, sometimes a free quarter or half hour.
        t += hold + [0, 0, 0, 0, 15, 15, 30][Math.floor(rand() * 7)]
        // Round up to the next quarter hour (buffers leave 5/10-minute offsets).
        t = Math.ceil(t / 15) * 15
      }
    }
  }
  return out
}

/** Runs fn over items with at most `limit` in flight. */
async function pool(items, limit, fn) {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      await fn(items[i], i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/**
 * @param {object} opts
 * @param {string} opts.root the repository root (where dist/ is)
 * @param {Record<string,string>} opts.env the server's environment (same secret, hours, DB)
 * @param {number} [opts.customers]
 * @param {number} [opts.barbers]
 * @param {number} [opts.reservations]
 * @param {(msg: string) => void} [opts.log]
 */
export async function seed(opts) {
  const { root, env } = opts
  const nCustomers = opts.customers ?? 50
  const nBarbers = opts.barbers ?? 3
  const nReservations = opts.reservations ?? 5000
  const log = opts.log ?? (() => undefined)
  const d = await importDist(root)
  const config = d.config.loadConfig(env)
  const runtime = d.runtime.createRuntime(config, { role: 'api', log: pino({ level: 'silent' }) })
  const { ctx } = runtime
  const { db, engine } = ctx.database
  const started = Date.now()
  const rand = prng(20261124)
  try {
    await d.migrator.migrateToLatest(db, engine)

    // ---- users: one argon2 hash for all ----
    const hash = await d.passwords.hashPassword(PASSWORD)
    const now = Date.now()
    const insertUser = (u) =>
      d.database.insertReturningId(engine, db, 'users', {
        username: u.username,
        username_key: u.username.toLowerCase(),
        email: `${u.username}@fade-district.test`,
        email_key: `${u.username}@fade-district.test`,
        password: hash,
        first_name: u.first,
        last_name: u.last,
        phone: u.phone ?? '',
        is_admin: u.admin ?? false,
        is_staff_member: u.staff ?? false,
        is_active: true,
        working_hours: null,
        date_joined: new Date(now - Math.floor(rand() * 120) * DAY_MS),
        last_login: null,
      })
    const adminId = await insertUser({
      username: 'owner',
      first: 'Shop',
      last: 'Owner',
      admin: true,
    })
    const staffIds = []
    for (let i = 1; i <= nBarbers; i++) {
      staffIds.push(
        await insertUser({ username: `barber${i}`, first: 'Barber', last: `No${i}`, staff: true }),
      )
    }
    const customers = []
    for (let i = 1; i <= nCustomers; i++) {
      const username = `customer${String(i).padStart(3, '0')}`
      const phone = `+3598${String(10_000_000 + i)}`
      customers.push({
        id: await insertUser({ username, first: 'Client', last: `No${i}`, phone }),
        username,
      })
    }

    // ---- services, through the domain ----
    const services = []
    for (const s of SERVICES) {
      const created = await d.catalog.createService(ctx, {
        name: s.name,
        description: `${s.name} (${s.duration_minutes} min)`,
        duration_minutes: s.duration_minutes,
        buffer_after_minutes: s.buffer_after_minutes,
        price: s.price,
      })
      services.push({ ...s, id: created.id })
    }
    await d.catalog.createService(ctx, {
      name: 'Hot towel shave (retired)',
      duration_minutes: 30,
      price: '20.00',
      is_active: false,
    })

    // ---- reservations: created and moved through the workflow by the domain ----
    const actor = (id, role) => ({
      id,
      username: role,
      isAdmin: role === 'admin',
      isStaff: role === 'staff',
    })
    const admin = actor(adminId, 'admin')
    const planned = plan(rand, {
      count: nReservations,
      firstDay: -21,
      staffIds,
      customerIds: customers.map((c) => c.id),
      services,
    })
    // Each plan item carries its fate, drawn up front so the result is deterministic.
    for (const p of planned) p.roll = rand()
    const cutoffMs = config.cancellationCutoffHours * 3600_000
    const counts = { pending: 0, confirmed: 0, completed: 0, cancelled: 0, no_show: 0 }
    const update = (who, id, body) => d.reservations.updateReservation(ctx, who, id, body)
    const seedOne = async (p) => {
      const t = Date.now()
      const past = p.start < t + 5 * MIN_MS
      const barber = actor(p.staffId, 'staff')
      const body = {
        start_time: new Date(p.start).toISOString(),
        staff: p.staffId,
        service: p.serviceId,
      }
      let status
      if (past) {
        // The admin records a past visit, then the barber closes it.
        const { body: r } = await d.reservations.createReservation(ctx, admin, {
          ...body,
          customer: p.customerId,
        })
        if (p.roll < 0.75) {
          await update(barber, r.id, { status: 'confirmed' })
          await update(barber, r.id, { status: 'completed' })
          status = 'completed'
        } else if (p.roll < 0.83) {
          await update(barber, r.id, { status: 'confirmed' })
          await update(barber, r.id, { status: 'no_show' })
          status = 'no_show'
        } else {
          await update(admin, r.id, { status: 'cancelled', cancellation_reason: 'Customer called' })
          status = 'cancelled'
        }
      } else {
        const customer = actor(p.customerId, 'customer')
        const { body: r } = await d.reservations.createReservation(ctx, customer, {
          ...body,
          notes: p.roll < 0.2 ? 'Please keep the top long.' : undefined,
        })
        if (p.roll < 0.12) {
          const who = p.start - t > cutoffMs + 5 * MIN_MS ? customer : admin
          await update(who, r.id, { status: 'cancelled', cancellation_reason: 'Plans changed' })
          status = 'cancelled'
        } else if (p.roll < 0.55) {
          await update(barber, r.id, { status: 'confirmed' })
          status = 'confirmed'
        } else {
          status = 'pending'
        }
      }
      counts[status] += 1
    }
    const concurrency = engine === 'sqlite' ? 1 : 8
    let done = 0
    // In time order, so concurrent workers mostly book different barbers (not one barber's day).
    const order = [...planned].sort((a, b) => a.start - b.start || a.staffId - b.staffId)
    await pool(order, concurrency, async (p) => {
      await seedOne(p)
      done += 1
      if (done % 1000 === 0) log(`  seeded ${done}/${planned.length} reservations`)
    })

    // The seeded history's emails went out long ago: the server must not spend the
    // benchmark delivering thousands of them.
    await db
      .updateTable('outbox')
      .set({ status: 'done', sent_at: new Date() })
      .where('status', '=', 'pending')
      .execute()

    // The busiest day within the booking horizon (for the availability scenario).
    const firstFuture = dayStart(1)
    const byDay = new Map()
    for (const p of planned) {
      if (p.start < firstFuture) continue
      const key = isoDate(p.start)
      byDay.set(key, (byDay.get(key) ?? 0) + 1)
    }
    const [busyDay, busyCount] = [...byDay.entries()].sort(
      (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1),
    )[0]
    const lastDay = isoDate(planned[planned.length - 1].start)

    // Access tokens, signed with the server's key.
    const token = async (id) => (await ctx.tokens.issue('access', id, new Date())).token
    const fixture = {
      adminId,
      adminToken: await token(adminId),
      staffIds,
      customers: await Promise.all(
        customers.map(async (c) => ({ ...c, token: await token(c.id) })),
      ),
      password: PASSWORD,
      services: Object.fromEntries(services.map((s) => [s.key, s.id])),
      busyDay,
      busyDayReservations: busyCount,
      firstDay: isoDate(planned[0].start),
      lastDay,
      counts,
      seedMs: Date.now() - started,
      dbVersion: await databaseVersion(db, engine),
    }
    return fixture
  } finally {
    await runtime.close()
  }
}

async function databaseVersion(db, engine) {
  const q =
    engine === 'sqlite'
      ? sql`select 'SQLite ' || sqlite_version() as v`
      : engine === 'mysql'
        ? sql`select version() as v`
        : sql`select version() as v`
  const { rows } = await q.execute(db)
  const v = String(rows[0]?.v ?? 'unknown')
  if (engine === 'mysql')
    return /mariadb/i.test(v) ? `MariaDB ${v.replace(/-MariaDB.*$/i, '')}` : `MySQL ${v}`
  if (engine === 'postgres') return v.split(' on ')[0]
  return v
}
