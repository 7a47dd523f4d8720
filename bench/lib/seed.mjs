/* global fetch */
// Seeds a realistic shop through the HTTP API of the running production build: only the
// binding contract (API.md) and the documented commands are used, so a rewrite of the
// domain code behind them does not break the bench. The admin comes from
// `createsuperuser --no-input`; barbers and customers register; the admin makes the barbers
// staff members and adds the services; customers book 5,000 reservations over the coming
// weekdays, barber by barber; the admin confirms some and customers cancel some.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

export const PASSWORD = 'Bench-Clipper-2026!'
export const OPEN_FROM = 6 * 60 // 06:00, minutes after midnight (shop zone is UTC)
export const OPEN_TO = 22 * 60 // 22:00

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

/**
 * Plans `count` non-overlapping reservations per barber, weekday after weekday from
 * `firstDay` (relative to today), inside opening hours, with realistic gaps and a lunch break.
 */
function plan(rand, { count, firstDay, staffIds, customerIds, services }) {
  const out = []
  for (let day = firstDay; out.length < count; day++) {
    const midnight = dayStart(day)
    const weekday = new Date(midnight).getUTCDay()
    if (weekday === 0 || weekday === 6) continue
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

/** Creates the admin with the documented command (`createsuperuser --no-input`). */
export async function createAdmin({ root, env }) {
  const built = join(root, 'dist', 'src', 'cli', 'createsuperuser.js')
  const [cmd, argv] = existsSync(built)
    ? [process.execPath, [built]]
    : [join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'src', 'cli', 'createsuperuser.ts')]]
  const child = spawn(
    cmd,
    [...argv, '--no-input', '--username', ADMIN.username, '--email', ADMIN.email],
    {
      cwd: root,
      env: { ...env, SUPERUSER_PASSWORD: PASSWORD },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let out = ''
  child.stdout.on('data', (b) => (out += b))
  child.stderr.on('data', (b) => (out += b))
  const code = await new Promise((resolve) => child.on('exit', resolve))
  if (code !== 0) throw new Error(`createsuperuser exited with ${code}:\n${out}`)
}

export const ADMIN = { username: 'owner', email: 'owner@fade-district.test' }

/** A small JSON client for the API; any status but the expected one throws with the body. */
function client(base) {
  return async (method, path, { token, body, expect = [200, 201] } = {}) => {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      })
      const text = await res.text()
      if (expect.includes(res.status)) return text ? JSON.parse(text) : null
      // A lost race the server asks us to retry (503/429 with Retry-After) is retried a few times.
      if ((res.status === 503 || res.status === 429) && attempt < 5) {
        await new Promise((r) => setTimeout(r, 200 * attempt))
        continue
      }
      throw new Error(`seeding: ${method} ${path} answered ${res.status}: ${text.slice(0, 400)}`)
    }
  }
}

/**
 * @param {object} opts
 * @param {string} opts.base the running server (http://127.0.0.1:port)
 * @param {Record<string,string>} opts.env the server's environment
 * @param {number} [opts.customers]
 * @param {number} [opts.barbers]
 * @param {number} [opts.reservations]
 * @param {number} [opts.concurrency] requests in flight while seeding
 * @param {(msg: string) => void} [opts.log]
 */
export async function seed(opts) {
  const { base } = opts
  const nCustomers = opts.customers ?? 50
  const nBarbers = opts.barbers ?? 16
  const nReservations = opts.reservations ?? 5000
  const concurrency = opts.concurrency ?? 8
  const cutoffMs = Number(opts.env.CANCELLATION_CUTOFF_HOURS ?? 2) * 3600_000
  const log = opts.log ?? (() => undefined)
  const api = client(base)
  const started = Date.now()
  const rand = prng(20261207)

  const login = await api('POST', '/api/auth/login/', {
    body: { username: ADMIN.username, password: PASSWORD },
  })
  const adminToken = login.access
  const admin = { token: adminToken }

  // ---- users: everyone registers (one argon2 hash each, as in a real shop) ----
  const register = async (username, first, last, phone) => {
    const r = await api('POST', '/api/auth/register/', {
      body: {
        username,
        email: `${username}@fade-district.test`,
        password: PASSWORD,
        first_name: first,
        last_name: last,
        ...(phone ? { phone } : {}),
      },
      expect: [201],
    })
    return { id: r.user.id, username, token: r.access }
  }
  const barbers = []
  await pool(
    Array.from({ length: nBarbers }, (_, i) => i + 1),
    4,
    async (i) => {
      barbers[i - 1] = await register(`barber${String(i).padStart(2, '0')}`, 'Barber', `No${i}`)
    },
  )
  for (const b of barbers) {
    await api('PATCH', `/api/users/${b.id}/`, { ...admin, body: { is_staff_member: true } })
  }
  const customers = []
  await pool(
    Array.from({ length: nCustomers }, (_, i) => i + 1),
    4,
    async (i) => {
      customers[i - 1] = await register(
        `customer${String(i).padStart(3, '0')}`,
        'Client',
        `No${i}`,
        `+3598${String(10_000_000 + i)}`,
      )
    },
  )
  const staffIds = barbers.map((b) => b.id)

  // ---- services ----
  const services = []
  for (const s of SERVICES) {
    const created = await api('POST', '/api/services/', {
      ...admin,
      body: {
        name: s.name,
        description: `${s.name} (${s.duration_minutes} min)`,
        duration_minutes: s.duration_minutes,
        buffer_after_minutes: s.buffer_after_minutes,
        price: s.price,
      },
      expect: [201],
    })
    services.push({ ...s, id: created.id })
  }
  const retired = await api('POST', '/api/services/', {
    ...admin,
    body: { name: 'Hot towel shave (retired)', duration_minutes: 30, price: '20.00' },
    expect: [201],
  })
  await api('PATCH', `/api/services/${retired.id}/`, { ...admin, body: { is_active: false } })

  // ---- reservations: booked by the customers, then confirmed or cancelled ----
  const planned = plan(rand, {
    count: nReservations,
    firstDay: 1,
    staffIds,
    customerIds: customers.map((_, i) => i),
    services,
  })
  for (const p of planned) p.roll = rand()
  const counts = { pending: 0, confirmed: 0, cancelled: 0 }
  let done = 0
  // In time order, so concurrent requests mostly book different barbers (not one barber's day).
  const order = [...planned].sort((a, b) => a.start - b.start || a.staffId - b.staffId)
  await pool(order, concurrency, async (p) => {
    const customer = customers[p.customerId]
    const r = await api('POST', '/api/reservations/', {
      token: customer.token,
      body: {
        start_time: new Date(p.start).toISOString(),
        staff: p.staffId,
        service: p.serviceId,
        ...(p.roll < 0.2 ? { notes: 'Please keep the top long.' } : {}),
      },
      expect: [201],
    })
    let status = 'pending'
    if (p.roll < 0.12 && p.start - Date.now() > cutoffMs + 5 * MIN_MS) {
      await api('PATCH', `/api/reservations/${r.id}/`, {
        token: customer.token,
        body: { status: 'cancelled', cancellation_reason: 'Plans changed' },
      })
      status = 'cancelled'
    } else if (p.roll >= 0.12 && p.roll < 0.55) {
      await api('PATCH', `/api/reservations/${r.id}/`, {
        ...admin,
        body: { status: 'confirmed' },
      })
      status = 'confirmed'
    }
    counts[status] += 1
    done += 1
    if (done % 1000 === 0) log(`  seeded ${done}/${planned.length} reservations`)
  })

  // The busiest day (for the availability scenario).
  const byDay = new Map()
  for (const p of planned) {
    const key = isoDate(p.start)
    byDay.set(key, (byDay.get(key) ?? 0) + 1)
  }
  const [busyDay, busyCount] = [...byDay.entries()].sort(
    (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1),
  )[0]

  return {
    adminToken,
    staffIds,
    customers,
    password: PASSWORD,
    services: Object.fromEntries(services.map((s) => [s.key, s.id])),
    busyDay,
    busyDayReservations: busyCount,
    firstDay: isoDate(planned[0].start),
    lastDay: isoDate(planned[planned.length - 1].start),
    days: byDay.size,
    counts,
    seedMs: Date.now() - started,
  }
}

/** The database's name and version, for the report. */
export async function databaseVersion(database) {
  const text =
    database.engine === 'sqlite'
      ? "select 'SQLite ' || sqlite_version() as v"
      : 'select version() as v'
  const rows = await database.query(text)
  const v = String(rows[0]?.v ?? 'unknown')
  if (database.engine === 'mysql')
    return /mariadb/i.test(v) ? `MariaDB ${v.replace(/-MariaDB.*$/i, '')}` : `MySQL ${v}`
  if (database.engine === 'postgres') return v.split(' on ')[0]
  return v
}
