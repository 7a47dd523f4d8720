/**
 * Email delivery with Redis: the API process only relays outbox rows into BullMQ, worker
 * processes (separate runtimes with their own database connections) send them. Real Redis,
 * real databases, a real SMTP server; each run uses a queue of its own, so runs never mix.
 */
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { DEFAULT_MAX_ATTEMPTS } from '../../src/notifications/delivery.js'
import { createRuntime } from '../../src/runtime.js'
import type { Runtime } from '../../src/runtime.js'
import {
  at,
  createTestDatabase,
  dialects,
  REDIS_URL,
  redisProblem,
  startApp,
  unique,
} from '../helpers.js'
import type { TestApp, TestDatabase } from '../helpers.js'
import { book, change, register } from './flows.js'
import type { Req } from './flows.js'
import {
  calendarOf,
  expectNoDuplicates,
  messageIdOf,
  outboxRow,
  outboxRows,
  smtpMailer,
  startSmtpSink,
  waitFor,
} from './smtp-sink.js'
import type { ReceivedMail, SmtpSink } from './smtp-sink.js'

const DEAD_REDIS = 'redis://127.0.0.1:6390'
const LEASE = 60_000
const silent = pino({ level: 'silent' })

const problem = await redisProblem('BullMQ tests')

interface ApiProcess {
  runtime: Runtime
  req: Req
  close(): Promise<void>
}

for (const engine of problem ? [] : await dialects()) {
  describe(`${engine}: emails through BullMQ workers`, () => {
    const queueName = unique('fade-test-')
    let sink: SmtpSink
    let testDb: TestDatabase
    /** The database, users and clock; its own in-process runner never starts. */
    let t: TestApp
    let api: ApiProcess
    let jobs: Queue
    const workers = new Set<Runtime>()

    const configFor = (redisUrl: string) => ({ ...t.config, redisUrl, database: testDb.config })
    /**
     * On SQLite the "processes" of this test share one connection: a second one in the same
     * process would take turns with the first for the write lock (BusyRetryingConnection), which
     * this test, about the queue, has no need to exercise.
     */
    const sharedDatabase = () =>
      engine === 'sqlite' ? { ...t.database, close: async () => undefined } : undefined

    /** An API process as `npm start` builds it with REDIS_URL set: it relays, it never sends. */
    async function startApi(redisUrl: string): Promise<ApiProcess> {
      const runtime = createRuntime(configFor(redisUrl), {
        role: 'api',
        log: silent,
        database: sharedDatabase(),
        now: t.clock.now,
        leaseMs: LEASE,
        queueName,
        // Never used by an API process with Redis; a send from here would reach the sink.
        mailer: smtpMailer(sink.port),
      })
      const app = await buildApp(runtime.ctx, { readiness: runtime.readiness })
      await runtime.runner.start()
      const req: Req = (method, url, o = {}) => {
        const headers: Record<string, string> = { ...o.headers }
        const token = typeof o.user === 'string' ? o.user : o.user?.token
        if (token) headers.authorization = `Bearer ${token}`
        return app.inject({
          method: method as 'GET',
          url,
          headers,
          ...(o.body !== undefined ? { payload: o.body as Record<string, unknown> } : {}),
        })
      }
      return {
        runtime,
        req,
        async close() {
          await app.close()
          await runtime.close()
        },
      }
    }

    /** `npm run worker`, sending through `port`; `ownConnection` even on SQLite (to be killed). */
    async function startWorker(
      port: number,
      opts: { smtpTimeoutMs?: number; ownConnection?: boolean } = {},
    ): Promise<Runtime> {
      const w = createRuntime(configFor(REDIS_URL), {
        role: 'worker',
        log: silent,
        database: opts.ownConnection ? undefined : sharedDatabase(),
        mailer: smtpMailer(port, opts.smtpTimeoutMs),
        now: t.clock.now,
        leaseMs: LEASE,
        queueName,
      })
      await w.runner.start()
      workers.add(w)
      return w
    }
    async function stopWorker(w: Runtime): Promise<void> {
      workers.delete(w)
      await w.close()
    }
    async function stopAllWorkers(): Promise<void> {
      for (const w of [...workers]) await stopWorker(w)
    }

    const allDone = async (ids: number[]) => {
      const rows = (await outboxRows(t)).filter((r) => ids.includes(r.id))
      return rows.length === ids.length && rows.every((r) => r.status === 'done')
    }
    const lastRowId = async () => (await outboxRows(t)).at(-1)?.id ?? 0
    const newRowIds = async (after: number) =>
      (await outboxRows(t)).filter((r) => r.id > after).map((r) => r.id)
    const jobState = async (id: number, relay: number) =>
      (await jobs.getJob(`outbox-${id}-${relay}`))?.getState()

    beforeAll(async () => {
      sink = await startSmtpSink()
      testDb = await createTestDatabase(engine)
      t = await startApp(engine, {
        database: testDb,
        jobs: false,
        leaseMs: LEASE,
        env: { STATUS_SWEEP_SECONDS: '86400' },
      })
      api = await startApi(REDIS_URL)
      jobs = new Queue(queueName, {
        connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
      })
    })
    afterAll(async () => {
      await stopAllWorkers()
      await api?.close()
      if (jobs) {
        await jobs.obliterate({ force: true })
        await jobs.close()
        ;(jobs.opts.connection as Redis).disconnect()
      }
      await t?.close()
      await sink?.close()
    })

    it('sends the mails of a booking through a worker, each once, each by a BullMQ job', async () => {
      await startWorker(sink.port)
      const before = await lastRowId()
      const customer = await register(api.req)
      const staff = await t.user({ staff: true })
      const service = await t.service()
      const r = await book(api.req, customer, {
        start_time: at(3, '10:00'),
        staff: staff.id,
        service,
      })
      await change(api.req, staff, r.id, { status: 'confirmed' })

      const ids = await newRowIds(before)
      expect(ids).toHaveLength(3) // welcome, new reservation, confirmed
      await waitFor('the three mails to be sent', () => allDone(ids))
      for (const id of ids) {
        const row = await outboxRow(t, id)
        expect(row).toMatchObject({ status: 'done', attempts: 1, relays: 1 })
        // The API process handed it over; a worker ran the job.
        expect(await jobState(id, 1)).toBe('completed')
      }
      const mine = sink.received.filter((m) => ids.some((id) => m.messageId === messageIdOf(id)))
      expect(mine.map((m) => m.messageId).sort()).toEqual(ids.map(messageIdOf).sort())
      expect(sink.mailsTo(customer.email).map((m) => m.subject)).toEqual([
        'Welcome to Fade District',
        expect.stringMatching(/is confirmed$/),
      ])
      expect(calendarOf(sink.mailsTo(customer.email)[1]!).method).toBe('REQUEST')
      expect(
        sink
          .mailsTo('owner@fade.test')
          .filter((m) => m.subject.startsWith(`New reservation #${r.id}:`)),
      ).toHaveLength(1)
      expectNoDuplicates(mine)
    })

    it('with two workers at once, every mail is still sent exactly once', async () => {
      const second = await startSmtpSink()
      try {
        await stopAllWorkers()
        await startWorker(sink.port)
        await startWorker(second.port)
        const before = await lastRowId()
        const staff = await t.user({ staff: true })
        const service = await t.service()
        const customers = await Promise.all(Array.from({ length: 6 }, () => register(api.req)))
        const reservations = await Promise.all(
          customers.map((c, i) =>
            book(api.req, c, { start_time: at(5, `${10 + i}:00`), staff: staff.id, service }),
          ),
        )
        // Every relay at once, over and over: the API's and both workers'.
        for (let i = 0; i < 5; i++) {
          api.runtime.runner.wake()
          for (const w of workers) w.runner.wake()
        }
        await Promise.all(
          reservations.map((r) => change(api.req, staff, r.id, { status: 'confirmed' })),
        )
        const ids = await newRowIds(before)
        expect(ids).toHaveLength(6 * 3)
        await waitFor('every mail to be sent', () => allDone(ids), 15_000)
        // A couple more relay passes must find nothing left to do.
        await new Promise((r) => setTimeout(r, 1_500))

        const ours = (m: ReceivedMail) => ids.some((id) => m.messageId === messageIdOf(id))
        const mine = [...sink.received.filter(ours), ...second.received.filter(ours)]
        expect(mine.map((m) => m.messageId).sort()).toEqual(ids.map(messageIdOf).sort())
        expectNoDuplicates(mine)
        const rows = (await outboxRows(t)).filter((r) => ids.includes(r.id))
        expect(rows.every((r) => r.status === 'done' && r.attempts === 1)).toBe(true)
      } finally {
        await stopAllWorkers()
        await second.close()
      }
    })

    it('books while Redis is unreachable; the rows wait in the outbox until a worker sends them, once', async () => {
      await stopAllWorkers()
      const before = await lastRowId()
      const cut = await startApi(DEAD_REDIS)
      let closed = false
      try {
        const started = Date.now()
        const customer = await register(cut.req)
        const staff = await t.user({ staff: true })
        const service = await t.service()
        const r = await book(cut.req, customer, {
          start_time: at(6, '10:00'),
          staff: staff.id,
          service,
        })
        await change(cut.req, staff, r.id, { status: 'confirmed' })
        expect(Date.now() - started).toBeLessThan(5_000)
        const ready = await cut.req('GET', '/health/ready/')
        expect(ready.statusCode).toBe(503)
        expect(ready.body).toMatch(/redis/i)

        // Past the relay's wait for a connection: the rows are still here, untouched.
        await new Promise((res) => setTimeout(res, 1_200))
        const ids = await newRowIds(before)
        expect(ids).toHaveLength(3)
        for (const id of ids)
          expect(await outboxRow(t, id)).toMatchObject({ status: 'pending', attempts: 0 })
        // Shutting the API down during the outage does not hang on Redis.
        const closing = Date.now()
        await cut.close()
        closed = true
        expect(Date.now() - closing).toBeLessThan(5_000)

        await startWorker(sink.port)
        await waitFor('the worker to send what waited', () => allDone(ids))
        const mine = sink.received.filter((m) => ids.some((id) => m.messageId === messageIdOf(id)))
        expect(mine.map((m) => m.messageId).sort()).toEqual(ids.map(messageIdOf).sort())
        expect(sink.mailsTo(customer.email)).toHaveLength(2)
        expectNoDuplicates(mine)
      } finally {
        if (!closed) await cut.close()
      }
    })

    it('an admin retry of a failed mail goes through the queue', async () => {
      if (workers.size === 0) await startWorker(sink.port)
      const user = await t.user()
      const now = t.clock.now()
      await t.database.db
        .insertInto('outbox')
        .values({
          kind: 'email.welcome',
          payload: JSON.stringify({ userId: user.id }),
          status: 'failed',
          attempts: DEFAULT_MAX_ATTEMPTS,
          relays: 0,
          available_at: now,
          locked_until: null,
          last_error: 'SMTP said no',
          created_at: now,
          sent_at: null,
        })
        .execute()
      const id = await lastRowId()
      const admin = await t.user({ admin: true })
      const res = await api.req('POST', `/api/notifications/${id}/retry/`, { user: admin })
      expect(res.statusCode).toBe(200)
      await waitFor('the retried mail to be sent', () => allDone([id]))
      expect(await outboxRow(t, id)).toMatchObject({ status: 'done', attempts: 1, relays: 1 })
      expect(sink.mailsTo(user.email).map((m) => m.messageId)).toEqual([messageIdOf(id)])
    })

    it('a worker killed in the middle of a job: after the lease another worker sends the mail, once', async () => {
      await stopAllWorkers()
      const stuck = await startSmtpSink()
      try {
        stuck.hang()
        const a = await startWorker(stuck.port, { smtpTimeoutMs: 60_000, ownConnection: true })
        const before = await lastRowId()
        const user = await register(api.req)
        const [id] = await newRowIds(before)
        await waitFor('worker A to be stuck after DATA', () => stuck.hanging === 1)
        expect(await outboxRow(t, id!)).toMatchObject({ status: 'sending', attempts: 1, relays: 1 })

        // Worker A dies: its database connection and its SMTP socket are gone, no outcome written.
        await a.ctx.database.close()
        await stuck.stop()
        await waitFor('worker A’s job to fail', async () => (await jobState(id!, 1)) === 'failed')
        workers.delete(a)
        await a.runner.stop()
        a.delivery.mailer.close()
        const orphan = await outboxRow(t, id!)
        expect(orphan).toMatchObject({ status: 'sending', attempts: 1, relays: 1 })

        // Worker B relays every second, but leaves the row alone while A's lease lasts.
        await startWorker(sink.port)
        await new Promise((r) => setTimeout(r, 1_500))
        expect(await outboxRow(t, id!)).toMatchObject({ status: 'sending', relays: 1 })
        expect(sink.mailsTo(user.email)).toHaveLength(0)

        t.clock.advance(LEASE)
        await waitFor('worker B to send it', () => allDone([id!]))
        expect(await outboxRow(t, id!)).toMatchObject({ status: 'done', attempts: 2, relays: 2 })
        expect(await jobState(id!, 2)).toBe('completed')
        await new Promise((r) => setTimeout(r, 1_200))
        expect(sink.mailsTo(user.email).map((m) => m.messageId)).toEqual([messageIdOf(id!)])
      } finally {
        await stuck.close()
      }
    })
  })
}
