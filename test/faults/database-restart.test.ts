/**
 * Fault 4: the database "restarts" under load. The API reaches MariaDB/PostgreSQL through a
 * TCP proxy in this process; while bookings and reads run continuously, the proxy drops every
 * connection and refuses new ones for 3 s, then lets them through again.
 * During the window: 503 with the contract's `{detail, code}` and Retry-After — never a 500,
 * never a stack trace. After it: requests succeed again. Throughout: no double booking, and
 * no reservation without its history and outbox rows (or the reverse).
 * SQLite is embedded (no connection to lose), so this scenario does not apply to it.
 */
import { describe, expect, it } from 'vitest'
import { INEXACT_TTL_MS } from '../../src/cache/derived.js'
import {
  faultFixture,
  faultLifecycle,
  gate,
  http,
  integrityProblems,
  must,
  overlappingPairs,
  sample,
  seedShop,
  serverAddress,
  sleep,
  slot,
  startApi,
  tail,
  TcpProxy,
  viaProxy,
} from './harness.js'
import type { HttpResult, Shop } from './harness.js'

const engines = [
  { engine: 'mysql', skip: await gate('database restart (MariaDB)', ['mysql']) },
  { engine: 'postgres', skip: await gate('database restart (PostgreSQL)', ['postgres']) },
] as const

const CUT_AFTER_MS = 3000
const OUTAGE_MS = 3000
const RUN_AFTER_MS = 5000
/** After the database is back, pools may need a moment to replace dead connections. */
const RECOVERY_MS = 2000

/** The contract's error body: exactly `detail` and `code`, both strings; no stack trace. */
function contractProblem(r: HttpResult): string | null {
  const b = r.body as Record<string, unknown> | undefined
  if (!b || typeof b !== 'object') return `not JSON: ${r.text.slice(0, 200)}`
  const keys = Object.keys(b).sort().join(',')
  if (keys !== 'code,detail') return `keys ${keys}: ${r.text.slice(0, 200)}`
  if (typeof b.detail !== 'string' || typeof b.code !== 'string')
    return `types: ${r.text.slice(0, 200)}`
  if (/\bat .+:\d+:\d+|Error:|ECONN|stack/i.test(r.text))
    return `leaks internals: ${r.text.slice(0, 200)}`
  if (!/^\d+$/.test(r.headers['retry-after'] ?? ''))
    return `no Retry-After (${r.headers['retry-after']})`
  return null
}

for (const { engine, skip } of engines) {
  describe.skipIf(skip !== null)(`database restarted under load (${engine})`, () => {
    const { defer } = faultLifecycle()

    it('answers 503 during the outage, recovers after it, and keeps every invariant', async () => {
      const t0 = Date.now()
      const { mail, testDb, db } = await faultFixture(engine, defer)
      const target = serverAddress(engine)
      const proxy = new TcpProxy(target.host, target.port)
      await proxy.start()
      defer(() => proxy.close())
      const api = await startApi({
        DATABASE_URL: viaProxy(testDb.config.url, proxy.port),
        EMAIL_PORT: String(mail.port),
      })
      const shop: Shop = await seedShop(api.base, { barbers: 3, customers: 6 })
      const today = slot(1, 0).start_time.slice(0, 10)

      const results: HttpResult[] = []
      let stop = false
      const bookingLoop = async (k: number) => {
        for (let i = 0; !stop; i++) {
          // Random half-hour slots over 30 days on 3 barbers (some auto-assigned): 201s and 409s.
          const s = slot(1 + Math.floor(Math.random() * 30), Math.floor(Math.random() * 48))
          const staff =
            i % 4 === 3 ? undefined : shop.barbers[Math.floor(Math.random() * shop.barbers.length)]
          const body =
            Math.random() < 0.5
              ? { staff, service: shop.service, start_time: s.start_time }
              : { staff, ...s }
          results.push(
            await http(api.base, 'POST', '/api/reservations/', {
              token: shop.customers[k % shop.customers.length]!.token,
              body,
            }),
          )
        }
      }
      const readLoop = async (k: number) => {
        const customer = shop.customers[k % shop.customers.length]!
        const reads = [
          () => http(api.base, 'GET', '/api/reservations/?page_size=5', { token: customer.token }),
          () => http(api.base, 'GET', `/api/availability/?date=${today}&service=${shop.service}`),
          () => http(api.base, 'GET', '/api/staff/'),
          () => http(api.base, 'GET', '/api/auth/me/', { token: customer.token }),
        ]
        for (let i = 0; !stop; i++) {
          results.push(await reads[(i + k) % reads.length]!())
          await sleep(20)
        }
      }
      const loops = [
        ...Array.from({ length: 8 }, (_, k) => bookingLoop(k)),
        ...Array.from({ length: 4 }, (_, k) => readLoop(k)),
      ]

      await sleep(CUT_AFTER_MS)
      const cutAt = Date.now()
      await proxy.cut()
      await sleep(OUTAGE_MS)
      const resumeAt = Date.now()
      await proxy.resume()
      await sleep(RUN_AFTER_MS)
      stop = true
      await Promise.all(loops)
      if (!api.child.alive()) {
        const { code, signal } = await api.child.exited
        throw new Error(
          `the API process died during the outage (exit ${code ?? signal}):\n${tail(api.child, 25)}`,
        )
      }

      // Never a 500, never a hang or reset: every request got an answer from the contract.
      const byStatus: Record<string, number> = {}
      for (const r of results)
        byStatus[r.error ?? String(r.status)] = (byStatus[r.error ?? String(r.status)] ?? 0) + 1
      const unexpected = results.filter(
        (r) => r.error !== undefined || ![200, 201, 409, 503].includes(r.status),
      )
      expect(
        sample(
          unexpected.map(
            (r) => `${r.method} ${r.path} → ${r.status || r.error} ${r.text.slice(0, 300)}`,
          ),
        ),
      ).toEqual([])
      for (const r of results.filter((x) => x.status === 409))
        expect(r.text).toContain('slot_unavailable')
      const unavailable = results.filter((r) => r.status === 503)
      expect(sample(unavailable.map(contractProblem).filter((p) => p !== null))).toEqual([])

      // In the window every request fails fast with 503; there were some. On MySQL, whose change
      // token is counted in the process (no round trip), a read cached before the cut is still
      // served for up to INEXACT_TTL_MS, the age such an entry may always have: the window
      // starts after it.
      const windowStart = cutAt + 200 + (engine === 'mysql' ? INEXACT_TTL_MS : 0)
      const inWindow = results.filter((r) => r.startedAt >= windowStart && r.endedAt <= resumeAt)
      expect(inWindow.length).toBeGreaterThan(10)
      expect(
        inWindow.filter((r) => r.status !== 503).map((r) => `${r.method} ${r.path} ${r.status}`),
      ).toEqual([])
      // Before the cut and once recovered, nothing is 503.
      const healthy = results.filter(
        (r) => r.endedAt < cutAt || r.startedAt >= resumeAt + RECOVERY_MS,
      )
      expect(
        healthy
          .filter((r) => r.status === 503)
          .map((r) => `${r.method} ${r.path} at +${r.startedAt - resumeAt} ms`),
      ).toEqual([])
      const recovered = results.filter((r) => r.startedAt >= resumeAt + RECOVERY_MS)
      expect(recovered.filter((r) => r.status === 201).length).toBeGreaterThan(0)
      expect(recovered.filter((r) => r.status === 200).length).toBeGreaterThan(0)

      // Fresh requests after the load: a booking and a read both work.
      await must(api.base, 'POST', '/api/reservations/', 201, {
        token: shop.customers[0]!.token,
        body: { staff: shop.barbers[0], service: shop.service, ...slot(40, 10) },
      })
      await must(api.base, 'GET', '/api/reservations/', 200, { token: shop.customers[0]!.token })
      const ready = await http(api.base, 'GET', '/health/ready/')
      expect(ready.status, ready.text).toBe(200)

      // Invariants, read straight from the database (not through the proxy).
      expect(await overlappingPairs(db.db)).toEqual([])
      expect(await integrityProblems(db.db)).toEqual([])
      const created = results
        .filter((r) => r.method === 'POST' && r.status === 201)
        .map((r) => (r.body as { id: number }).id)
      const stored = new Set(
        (await db.db.selectFrom('reservations').select('id').execute()).map((r) => r.id),
      )
      for (const id of created)
        expect(stored.has(id), `reservation ${id} answered 201 but is missing`).toBe(true)

      process.stderr.write(
        `[faults] database restart (${engine}): ${results.length} requests ${JSON.stringify(byStatus)}; ` +
          `${inWindow.length} in the window, all 503; ${stored.size} reservations, no overlap, nothing orphaned; ` +
          `total ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
      )
    })
  })
}
