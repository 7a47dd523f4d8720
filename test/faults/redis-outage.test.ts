/**
 * Fault 1: Redis dies while bookings are being made, then comes back (empty: it keeps
 * nothing on disk). Bookings keep answering 201 (the outbox is in the database), and every
 * email reaches the SMTP server exactly once after Redis returns.
 */
import { describe, expect, it } from 'vitest'
import {
  deliveryProblems,
  faultEngine,
  faultFixture,
  faultLifecycle,
  freePort,
  gate,
  http,
  integrityProblems,
  messageIdOf,
  RedisServer,
  seedShop,
  sleep,
  slot,
  startApi,
  startWorker,
  waitForAllMail,
} from './harness.js'
import type { HttpResult } from './harness.js'

const engine = faultEngine()
const skip = await gate('Redis outage', [engine, 'redis-server'])

describe.skipIf(skip !== null)(`Redis stopped while bookings are made (${engine})`, () => {
  const { defer } = faultLifecycle()

  it('keeps booking (201) and delivers every email exactly once after Redis returns', async () => {
    const t0 = Date.now()
    const redis = new RedisServer(await freePort())
    await redis.start()
    const { mail, db, url } = await faultFixture(engine, defer)
    const env = {
      DATABASE_URL: url,
      REDIS_URL: redis.url,
      EMAIL_PORT: String(mail.port),
      // A job Redis lost (queued just before the crash) is relayed again once its lease runs out.
      OUTBOX_LEASE_SECONDS: '10',
    }
    const api = await startApi(env)
    await startWorker(env)
    const shop = await seedShop(api.base, { barbers: 2, customers: 4 })

    let n = 0
    const book = async (): Promise<HttpResult> => {
      const i = n++
      const customer = shop.customers[i % shop.customers.length]!
      return http(api.base, 'POST', '/api/reservations/', {
        token: customer.token,
        body: {
          staff: shop.barbers[i % shop.barbers.length],
          service: shop.service,
          start_time: slot(3, i).start_time,
        },
      })
    }
    const results: { phase: string; r: HttpResult }[] = []
    const run = async (phase: string, count: number) => {
      for (let k = 0; k < count; k++) {
        // Two at a time, so some commits race the relay while Redis goes away.
        const pair = await Promise.all([book(), book()])
        for (const r of pair) results.push({ phase, r })
        await sleep(100)
      }
    }

    await run('before', 3)
    await redis.kill()
    const down = Date.now()
    await run('down', 6)
    // The outage is real: readiness names Redis while it is gone.
    const ready = await http(api.base, 'GET', '/health/ready/')
    expect(ready.status, ready.text).toBe(503)
    expect(ready.text).toContain('redis')
    await sleep(Math.max(0, 3000 - (Date.now() - down)))
    await redis.start()
    const up = Date.now()
    await run('after', 3)

    for (const { phase, r } of results) {
      expect(r.error, `${phase}: ${r.method} ${r.path}`).toBeUndefined()
      expect(r.status, `${phase}: ${r.text}`).toBe(201)
    }
    expect(results).toHaveLength(24)

    // Lost jobs (queued just before the crash) come back after the 10 s outbox lease.
    const rows = await waitForAllMail(db.db, mail, 60_000)
    expect(deliveryProblems(rows, mail)).toEqual([])
    expect(rows.filter((r) => r.kind === 'email.welcome')).toHaveLength(6)
    expect(rows.filter((r) => r.kind === 'email.reservation_created')).toHaveLength(24)
    expect(await integrityProblems(db.db)).toEqual([])
    // Nothing went around the outbox: the mails of bookings made while Redis was down
    // were sent only after it came back.
    const downIds = new Set(
      results.filter((x) => x.phase === 'down').map((x) => (x.r.body as { id: number }).id),
    )
    const created = await db.db
      .selectFrom('outbox')
      .select(['id', 'payload'])
      .where('kind', '=', 'email.reservation_created')
      .execute()
    const downMail = created.filter((o) =>
      downIds.has((JSON.parse(o.payload) as { reservationId: number }).reservationId),
    )
    expect(downMail).toHaveLength(12)
    for (const o of downMail) {
      for (const a of mail.attemptsFor(messageIdOf(o.id))) expect(a.at).toBeGreaterThanOrEqual(up)
    }
    process.stderr.write(
      `[faults] Redis outage (${engine}): ${rows.length} emails once each; ` +
        `relayed more than once: ${rows.filter((r) => r.relays > 1).length}; total ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    )
  })
})
