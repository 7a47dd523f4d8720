/**
 * Fault 2: the SMTP server refuses (451 at the end of DATA), then is down (connection
 * refused), then accepts. Every email is delivered exactly once, after retries spaced by
 * the backoff (5 s, 10 s, … with ±20 % jitter), never in a hot loop. Run with the jobs
 * in the API process (no Redis) and on BullMQ with a worker process.
 */
import { describe, expect, it } from 'vitest'
import {
  deliveryProblems,
  faultEngine,
  faultFixture,
  faultLifecycle,
  freePort,
  gate,
  integrityProblems,
  messageIdOf,
  must,
  outboxRows,
  RedisServer,
  seedShop,
  sleep,
  slot,
  startApi,
  startWorker,
  waitForAllMail,
} from './harness.js'

const engine = faultEngine()
const modes = [
  { mode: 'in-process jobs', skip: await gate('SMTP outage (in-process)', [engine]) },
  { mode: 'BullMQ worker', skip: await gate('SMTP outage (BullMQ)', [engine, 'redis-server']) },
] as const

for (const { mode, skip } of modes) {
  describe.skipIf(skip !== null)(
    `SMTP refusing, then down, then accepting (${engine}, ${mode})`,
    () => {
      const { defer } = faultLifecycle()

      it('delivers each email once after retries with backoff', async () => {
        const t0 = Date.now()
        const { mail, db, url } = await faultFixture(engine, defer)
        mail.decide = () => 'refuse'
        const env: Record<string, string> = { DATABASE_URL: url, EMAIL_PORT: String(mail.port) }
        if (mode === 'BullMQ worker') {
          const redis = new RedisServer(await freePort())
          await redis.start()
          env.REDIS_URL = redis.url
        }
        const api = await startApi(env)
        if (mode === 'BullMQ worker') await startWorker(env)

        // 1 barber + 2 customers: 3 welcome mails; 3 bookings: 3 mails to the owner.
        const shop = await seedShop(api.base, { barbers: 1, customers: 2 })
        for (let i = 0; i < 3; i++) {
          await must(api.base, 'POST', '/api/reservations/', 201, {
            token: shop.customers[i % 2]!.token,
            body: { staff: shop.barbers[0], service: shop.service, ...slot(2, i) },
          })
        }
        const ids = (await outboxRows(db.db)).map((r) => r.id)
        expect(ids).toHaveLength(6)
        const refusedTwice = () =>
          ids.every(
            (id) =>
              mail.attemptsFor(messageIdOf(id)).filter((a) => a.verdict === 'refuse').length >= 2,
          )

        // Refused until every mail has been turned away twice (the 2nd try comes after ~5 s).
        const deadline = Date.now() + 25_000
        while (!refusedTwice()) {
          if (Date.now() > deadline)
            throw new Error(
              `not every mail was retried within 25 s: ${JSON.stringify(mail.attempts)}`,
            )
          await sleep(100)
        }
        // Then the server is gone for 3 s: connections refused.
        await mail.stop()
        await sleep(3000)
        mail.decide = () => 'accept'
        await mail.start()
        const back = Date.now()

        const rows = await waitForAllMail(db.db, mail, 60_000)
        expect(deliveryProblems(rows, mail)).toEqual([])
        expect(await integrityProblems(db.db)).toEqual([])
        for (const row of rows) {
          const tries = mail.attemptsFor(messageIdOf(row.id))
          // Two refusals, then one acceptance; at most one more try fell in the down window.
          expect(row.attempts).toBeGreaterThanOrEqual(3)
          expect(row.attempts).toBeLessThanOrEqual(4)
          expect(tries.map((a) => a.verdict)).toEqual(['refuse', 'refuse', 'accept'])
          // Backoff, not a hot loop: ≥ 4 s (5 s − 20 %) after the first try, ≥ 8 s after the second.
          const [a, b, c] = tries.map((t) => t.at) as [number, number, number]
          expect(b - a).toBeGreaterThanOrEqual(3_900)
          expect(c - b).toBeGreaterThanOrEqual(7_900)
          expect(c).toBeGreaterThanOrEqual(back)
          expect(row.last_error).toBe('')
        }
        process.stderr.write(
          `[faults] SMTP outage (${engine}, ${mode}): ${rows.length} emails once each after ` +
            `${rows.map((r) => r.attempts).join('/')} attempts; total ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
        )
      })
    },
  )
}
