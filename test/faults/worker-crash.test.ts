/**
 * Fault 3: a worker is SIGKILLed in the middle of sending (the SMTP server never answers
 * its DATA, so the job is running). Another worker takes over: the job is retried once the
 * outbox lease runs out, and the mail is delivered exactly once.
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
const skip = await gate('worker killed mid-job', [engine, 'redis-server'])

/** The outbox lease (OUTBOX_LEASE_SECONDS): until it runs out, nobody else may send a claimed row. */
const LEASE_SECONDS = 10

describe.skipIf(skip !== null)(`worker SIGKILLed mid-job (${engine})`, () => {
  const { defer } = faultLifecycle()

  it('retries the job on another worker and delivers the mail once', async () => {
    const t0 = Date.now()
    const redis = new RedisServer(await freePort())
    await redis.start()
    const { mail, db, url } = await faultFixture(engine, defer)
    const env = {
      DATABASE_URL: url,
      REDIS_URL: redis.url,
      EMAIL_PORT: String(mail.port),
      OUTBOX_LEASE_SECONDS: String(LEASE_SECONDS),
    }
    const api = await startApi(env)
    const first = await startWorker(env, 'worker-1')
    const shop = await seedShop(api.base, { barbers: 1, customers: 1 })
    await waitForAllMail(db.db, mail, 20_000)

    // The next message hangs: the worker sends DATA and waits for an answer that never comes.
    let hung: string | undefined
    mail.decide = (id) => {
      if (hung === undefined || hung === id) {
        hung = id
        return 'hang'
      }
      return 'accept'
    }
    const booked = await must<{ id: number }>(api.base, 'POST', '/api/reservations/', 201, {
      token: shop.customers[0]!.token,
      body: { staff: shop.barbers[0], service: shop.service, ...slot(2, 4) },
    })
    const deadline = Date.now() + 15_000
    while (hung === undefined) {
      if (Date.now() > deadline) throw new Error('the worker never reached DATA')
      await sleep(50)
    }
    const row = (await outboxRows(db.db)).find((r) => messageIdOf(r.id) === hung)
    expect(row, `hung message ${hung}`).toBeDefined()
    expect(row?.kind).toBe('email.reservation_created')
    expect(row?.status).toBe('sending')

    first.proc.kill('SIGKILL')
    expect((await first.exited).signal).toBe('SIGKILL')
    const killedAt = Date.now()
    mail.decide = () => 'accept'
    await startWorker(env, 'worker-2')

    // A booking made now goes out at once: the new worker is healthy.
    await must(api.base, 'POST', '/api/reservations/', 201, {
      token: shop.customers[0]!.token,
      body: { staff: shop.barbers[0], service: shop.service, ...slot(2, 8) },
    })

    // The killed worker's claim is taken over once its lease has run out.
    const rows = await waitForAllMail(db.db, mail, LEASE_SECONDS * 1000 + 30_000)
    const deliveredAfter =
      (mail.attemptsFor(hung).find((a) => a.verdict === 'accept')?.at ?? 0) - killedAt
    expect(deliveryProblems(rows, mail)).toEqual([])
    expect(await integrityProblems(db.db)).toEqual([])
    const retried = rows.find((r) => r.id === row?.id)
    expect(retried?.status).toBe('done')
    // Claimed by the killed worker, then by the new one.
    expect(retried?.attempts).toBe(2)
    expect(mail.attemptsFor(hung).map((a) => a.verdict)).toEqual(['hang', 'accept'])
    // Not before the lease ran out, and not much after (OUTBOX_LEASE_SECONDS is honoured).
    expect(deliveredAfter).toBeGreaterThan(LEASE_SECONDS * 1000 - 2000)
    expect(deliveredAfter).toBeLessThan(LEASE_SECONDS * 1000 + 10_000)
    expect(booked.id).toBeGreaterThan(0)
    process.stderr.write(
      `[faults] worker SIGKILL (${engine}): hung mail delivered once, ${(deliveredAfter / 1000).toFixed(1)} s after the kill; ` +
        `total ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    )
  })
})
