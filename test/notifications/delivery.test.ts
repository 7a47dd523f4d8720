/**
 * Email delivery with the jobs in the API process (no Redis), end to end: HTTP request →
 * outbox row in the same transaction → in-process runner → Nodemailer → a real SMTP server on
 * loopback. Faults are real too: the server refuses, stalls or is not there at all.
 */
import { pino } from 'pino'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createRuntime } from '../../src/runtime.js'
import { deliver, deliverMany, DEFAULT_MAX_ATTEMPTS } from '../../src/notifications/delivery.js'
import { outboxRow as pendingRow } from '../../src/notifications/outbox.js'
import { at, createTestDatabase, dialects, startApp } from '../helpers.js'
import type { TestApp, TestDatabase } from '../helpers.js'
import { book, change, freshToken, register } from './flows.js'
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
import type { OutboxView, SmtpSink } from './smtp-sink.js'

const ADMIN_EMAIL = 'owner@fade.test'
const NO_SWEEP = { STATUS_SWEEP_SECONDS: '86400' }
const silent = pino({ level: 'silent' })

/** Most a retry can wait after `attempts` failures: backoffMs with +20 % jitter. */
const maxBackoff = (attempts: number) => Math.min(5_000 * 2 ** (attempts - 1), 3600_000) * 1.2 + 1

for (const engine of await dialects()) {
  describe(`${engine}: emails over SMTP, jobs in-process`, () => {
    let sink: SmtpSink
    let t: TestApp
    beforeAll(async () => {
      sink = await startSmtpSink()
      t = await startApp(engine, {
        mailer: smtpMailer(sink.port),
        env: { ...NO_SWEEP, OUTBOX_LEASE_SECONDS: '30' },
      })
    })
    afterAll(async () => {
      await t?.close()
      await sink?.close()
    })
    beforeEach(() => {
      sink.accept()
      // Time stands still unless a test moves it, so backoff and leases are exact.
      t.clock.set(t.clock.now())
    })

    const rowsAfter = async (lastId: number) => (await outboxRows(t)).filter((r) => r.id > lastId)
    const lastRowId = async () => (await outboxRows(t)).at(-1)?.id ?? 0

    it('sends every mail of a booking’s life once: welcome, new booking, confirmed, cancelled, completed, no-show', async () => {
      const before = await lastRowId()
      const received0 = sink.received.length
      const customer = await register(t.req, 'Ana', 'Lee')
      await t.drain()
      const welcome = sink.mailsTo(customer.email)
      expect(welcome.map((m) => m.subject)).toEqual(['Welcome to Fade District'])
      expect(welcome[0]!.parsed.html).toContain('Ana')
      expect(welcome[0]!.parsed.text).toContain('Ana')

      const staff = await t.user({ staff: true })
      const serviceName = `Skin fade ${staff.id}`
      const service = await t.service({ duration: 30, name: serviceName, price: '27.50' })
      const slot = (hhmm: string) => ({ start_time: at(3, hhmm), staff: staff.id, service })

      // Booked, confirmed by the barber, cancelled by the customer.
      const r1 = await book(t.req, customer, slot('10:00'))
      await t.drain()
      const created = sink
        .mailsTo(ADMIN_EMAIL)
        .filter((m) => m.subject.startsWith(`New reservation #${r1.id}:`))
      expect(created).toHaveLength(1)
      expect(created[0]!.subject).toContain('Ana Lee')
      // The reservation with its customer, barber and service (read in one statement).
      expect(created[0]!.parsed.text).toContain('Ana Lee (')
      expect(created[0]!.parsed.text).toMatch(/Barber: +First Last\n/)
      expect(created[0]!.parsed.text).toContain(`${serviceName} (`)
      expect(created[0]!.parsed.text).toContain('27.50')

      await change(t.req, staff, r1.id, { status: 'confirmed' })
      await t.drain()
      const confirmed = sink.mailsTo(customer.email).filter((m) => /is confirmed/.test(m.subject))
      expect(confirmed).toHaveLength(1)
      const invite = calendarOf(confirmed[0]!)
      expect(invite.method).toBe('REQUEST')
      expect(invite.props.UID).toBe(`reservation-${r1.id}@fade-district`)
      expect(invite.props.DTSTART).toBe(at(3, '10:00').replace(/[-:]/g, ''))
      expect(confirmed[0]!.parsed.html).toBeTruthy()
      expect(confirmed[0]!.parsed.text).toBeTruthy()

      await change(t.req, customer, r1.id, { status: 'cancelled', cancellation_reason: 'Sick' })
      await t.drain()
      const cancelled = sink
        .mailsTo(customer.email)
        .filter((m) => /has been cancelled/.test(m.subject))
      expect(cancelled).toHaveLength(1)
      const cancel = calendarOf(cancelled[0]!)
      expect(cancel.method).toBe('CANCEL')
      expect(cancel.props.UID).toBe(invite.props.UID)
      expect(Number(cancel.props.SEQUENCE)).toBeGreaterThan(Number(invite.props.SEQUENCE))

      // Confirmed, then completed.
      const r2 = await book(t.req, customer, slot('12:00'))
      await change(t.req, staff, r2.id, { status: 'confirmed' })
      // Confirmed, then a no-show.
      const r3 = await book(t.req, customer, slot('14:00'))
      await change(t.req, staff, r3.id, { status: 'confirmed' })
      // Both only once the visits have started.
      t.clock.set(at(3, '14:05'))
      const later = { ...staff, token: await freshToken(t, staff) }
      await change(t.req, later, r2.id, { status: 'completed' })
      await change(t.req, later, r3.id, { status: 'no_show' })
      await t.drain()

      const toCustomer = sink.mailsTo(customer.email).map((m) => m.subject)
      expect(toCustomer.filter((s) => s === 'Thanks for visiting Fade District')).toHaveLength(1)
      expect(toCustomer.filter((s) => s.startsWith('We missed you on'))).toHaveLength(1)
      expect(toCustomer.filter((s) => /is confirmed/.test(s))).toHaveLength(3)
      expect(
        sink
          .mailsTo(ADMIN_EMAIL)
          .filter((m) =>
            [r1.id, r2.id, r3.id].some((id) => m.subject.startsWith(`New reservation #${id}:`)),
          ),
      ).toHaveLength(3)
      for (const m of sink
        .mailsTo(customer.email)
        .filter((m) => /has been cancelled|is confirmed/.test(m.subject))) {
        expect(m.parsed.attachments.filter((a) => a.contentType === 'text/calendar')).toHaveLength(
          1,
        )
      }
      for (const m of sink
        .mailsTo(customer.email)
        .filter((m) => !/has been cancelled|is confirmed/.test(m.subject))) {
        expect(m.parsed.attachments).toHaveLength(0)
      }

      // Nothing more turns up later, and every row of this story is done, sent exactly once.
      t.clock.advance(120_000)
      await t.drain()
      const rows = await rowsAfter(before)
      expect(rows.map((r) => [r.status, r.attempts])).toEqual(rows.map(() => ['done', 1]))
      // welcome + 3 × new reservation + 3 × confirmed + cancelled + completed + no-show
      expect(rows).toHaveLength(10)
      const mine = sink.received.slice(received0)
      expect(mine.map((m) => m.messageId).sort()).toEqual(rows.map((r) => messageIdOf(r.id)).sort())
      expectNoDuplicates(mine)
    })

    it('a confirmation that goes out late, after the booking moved, tells the time that was confirmed', async () => {
      const staff = await t.user({ staff: true })
      const service = await t.service({ duration: 30 })
      const customer = await t.user()
      const r = await book(t.req, customer, {
        start_time: at(5, '10:00'),
        staff: staff.id,
        service,
      })
      sink.refuse('rcpt', 451)
      await change(t.req, staff, r.id, { status: 'confirmed' })
      await t.drain() // the confirmation waits for the mail server
      const moved = await change(t.req, customer, r.id, { start_time: at(5, '15:00') })
      expect(moved.status).toBe('pending')
      sink.accept()
      t.clock.advance(maxBackoff(1))
      await t.drain()
      const [late] = sink.mailsTo(customer.email)
      expect(sink.mailsTo(customer.email)).toHaveLength(1)
      expect(late!.subject).toMatch(/ at 10:00 is confirmed$/)
      const first = calendarOf(late!)
      expect(first.props.DTSTART).toBe(at(5, '10:00').replace(/[-:]/g, ''))

      // The barber confirms the new time: a new invitation for the same event replaces it.
      await change(t.req, staff, r.id, { status: 'confirmed' })
      await t.drain()
      const mails = sink.mailsTo(customer.email)
      expect(mails).toHaveLength(2)
      expect(mails[1]!.subject).toMatch(/ at 15:00 is confirmed$/)
      const second = calendarOf(mails[1]!)
      expect(second.props.DTSTART).toBe(at(5, '15:00').replace(/[-:]/g, ''))
      expect(second.props.UID).toBe(first.props.UID)
      expect(Number(second.props.SEQUENCE)).toBeGreaterThan(Number(first.props.SEQUENCE))
    })

    it('retries refused recipients (4xx at RCPT) with growing backoff, then delivers each mail once', async () => {
      const before = await lastRowId()
      sink.refuse('rcpt', 451)
      const a = await register(t.req)
      const b = await register(t.req)
      await t.drain()
      let rows = await rowsAfter(before)
      expect(rows).toHaveLength(2)
      const start = t.clock.now().getTime()
      for (const r of rows) {
        expect(r).toMatchObject({ status: 'pending', attempts: 1 })
        expect(r.last_error).toMatch(/451/)
        // First retry after 5 s ± 20 %.
        expect(r.available_at.getTime() - start).toBeGreaterThanOrEqual(4_000)
        expect(r.available_at.getTime() - start).toBeLessThanOrEqual(6_000)
      }
      expect(sink.refusedRcpt.filter((x) => x === a.email || x === b.email)).toHaveLength(2)

      // Not before the backoff is over.
      t.clock.advance(3_900)
      await t.drain()
      expect((await rowsAfter(before)).map((r) => r.attempts)).toEqual([1, 1])

      t.clock.advance(maxBackoff(1))
      await t.drain()
      rows = await rowsAfter(before)
      const second = t.clock.now().getTime()
      for (const r of rows) {
        expect(r).toMatchObject({ status: 'pending', attempts: 2 })
        // Then 10 s ± 20 %.
        expect(r.available_at.getTime() - second).toBeGreaterThanOrEqual(8_000)
        expect(r.available_at.getTime() - second).toBeLessThanOrEqual(12_000)
      }
      expect(sink.mailsTo(a.email)).toHaveLength(0)

      sink.accept()
      t.clock.advance(maxBackoff(2))
      await t.drain()
      rows = await rowsAfter(before)
      expect(rows.map((r) => [r.status, r.attempts, r.last_error])).toEqual([
        ['done', 3, ''],
        ['done', 3, ''],
      ])
      t.clock.advance(3600_000)
      await t.drain()
      expect(sink.mailsTo(a.email).map((m) => m.messageId)).toEqual([messageIdOf(rows[0]!.id)])
      expect(sink.mailsTo(b.email).map((m) => m.messageId)).toEqual([messageIdOf(rows[1]!.id)])
      expect(sink.refusedRcpt.filter((x) => x === a.email || x === b.email)).toHaveLength(4)
    })

    it('retries a message refused after DATA (5xx) as often as the server refuses, then delivers it once', async () => {
      const before = await lastRowId()
      const received0 = sink.received.length
      const refused0 = sink.refusedData
      sink.refuse('data', 554, 4)
      const staff = await t.user({ staff: true })
      const service = await t.service()
      const customer = await register(t.req)
      await book(t.req, customer, { start_time: at(4, '09:00'), staff: staff.id, service })
      const other = await register(t.req)
      await t.drain()
      for (let pass = 0; pass < 6; pass++) {
        const rows = await rowsAfter(before)
        if (rows.every((r) => r.status === 'done')) break
        t.clock.advance(maxBackoff(Math.max(...rows.map((r) => r.attempts))))
        await t.drain()
      }
      const rows = await rowsAfter(before)
      expect(rows.map((r) => r.status)).toEqual(['done', 'done', 'done'])
      expect(sink.refusedData - refused0).toBe(4)
      // Every refusal cost exactly one attempt; every row one final, successful one.
      expect(rows.reduce((n, r) => n + r.attempts, 0)).toBe(3 + 4)
      const mine = sink.received.slice(received0)
      expect(mine.map((m) => m.messageId).sort()).toEqual(rows.map((r) => messageIdOf(r.id)).sort())
      expect(sink.mailsTo(customer.email)).toHaveLength(1)
      expect(sink.mailsTo(other.email)).toHaveLength(1)
      expectNoDuplicates(mine)
    })

    it('keeps mails while the SMTP server is down and sends them once it is back', async () => {
      const before = await lastRowId()
      await sink.stop()
      try {
        const user = await register(t.req)
        await t.drain()
        const [row] = await rowsAfter(before)
        expect(row).toMatchObject({ status: 'pending', attempts: 1 })
        expect(row!.last_error).toMatch(/ECONNREFUSED|connect|closed/i)
        await sink.start()
        t.clock.advance(maxBackoff(1))
        await t.drain()
        expect(await outboxRow(t, row!.id)).toMatchObject({ status: 'done', attempts: 2 })
        expect(sink.mailsTo(user.email).map((m) => m.messageId)).toEqual([messageIdOf(row!.id)])
      } finally {
        await sink.start()
      }
    })

    it(`gives up after ${DEFAULT_MAX_ATTEMPTS} attempts; an admin sees the failed row and sends it again`, async () => {
      const before = await lastRowId()
      sink.refuse('rcpt', 550)
      const user = await register(t.req)
      await t.drain()
      const [first] = await rowsAfter(before)
      let row: OutboxView = first!
      for (let i = 0; i < DEFAULT_MAX_ATTEMPTS + 2 && row.status !== 'failed'; i++) {
        t.clock.advance(Math.max(0, row.available_at.getTime() - t.clock.now().getTime()) + 1)
        await t.drain()
        row = await outboxRow(t, row.id)
      }
      expect(row).toMatchObject({ status: 'failed', attempts: DEFAULT_MAX_ATTEMPTS })
      expect(row.last_error).toMatch(/550/)
      // A failed row is left alone: no eleventh attempt, however long we wait.
      t.clock.advance(24 * 3600_000)
      await t.drain()
      expect(await outboxRow(t, row.id)).toMatchObject({
        status: 'failed',
        attempts: DEFAULT_MAX_ATTEMPTS,
      })
      expect(sink.refusedRcpt.filter((x) => x === user.email)).toHaveLength(DEFAULT_MAX_ATTEMPTS)
      expect(sink.mailsTo(user.email)).toHaveLength(0)

      const admin = await t.user({ admin: true })
      const customer = await t.user()
      expect(
        (await t.req('GET', '/api/notifications/?status=failed', { user: customer })).statusCode,
      ).toBe(403)
      expect(
        (await t.req('POST', `/api/notifications/${row.id}/retry/`, { user: customer })).statusCode,
      ).toBe(403)
      const list = await t.req('GET', '/api/notifications/?status=failed', { user: admin })
      expect(list.statusCode).toBe(200)
      const page = list.json() as { count: number; results: { id: number; status: string }[] }
      expect(page.results.every((n) => n.status === 'failed')).toBe(true)
      expect(page.results.find((n) => n.id === row.id)).toMatchObject({
        kind: 'email.welcome',
        status: 'failed',
        attempts: DEFAULT_MAX_ATTEMPTS,
        last_error: expect.stringMatching(/550/),
        payload: { userId: user.id },
        sent_at: null,
      })

      sink.accept()
      const retry = await t.req('POST', `/api/notifications/${row.id}/retry/`, { user: admin })
      expect(retry.statusCode).toBe(200)
      expect((retry.json() as { status: string }).status).not.toBe('failed')
      await t.drain()
      const done = await outboxRow(t, row.id)
      expect(done).toMatchObject({ status: 'done', attempts: 1 })
      expect(sink.mailsTo(user.email).map((m) => m.messageId)).toEqual([messageIdOf(row.id)])
      const failedNow = (
        await t.req('GET', '/api/notifications/?status=failed', { user: admin })
      ).json() as {
        results: { id: number }[]
      }
      expect(failedNow.results.map((n) => n.id)).not.toContain(row.id)

      // Retrying a row that was sent changes nothing and sends nothing.
      const again = await t.req('POST', `/api/notifications/${row.id}/retry/`, { user: admin })
      expect(again.statusCode).toBe(200)
      expect(again.json()).toMatchObject({ id: row.id, status: 'done' })
      await t.drain()
      expect(sink.mailsTo(user.email)).toHaveLength(1)
      expect(
        (await t.req('POST', '/api/notifications/999999/retry/', { user: admin })).statusCode,
      ).toBe(404)
    })

    it('two workers delivering the same batch at once send each due row once and leave the rest', async () => {
      await t.runtime.runner.stop() // only the two below claim
      try {
        const users = [await t.user(), await t.user(), await t.user()]
        const now = t.clock.now()
        const leaseMs = t.runtime.delivery.leaseMs
        const row = (userId: number) => pendingRow(now, 'email.welcome', { userId })
        const first = (await lastRowId()) + 1
        await t.database.db
          .insertInto('outbox')
          .values([
            row(users[0]!.id),
            row(users[1]!.id),
            // Not due yet, and claimed by a worker whose lease still runs.
            { ...row(users[2]!.id), available_at: new Date(now.getTime() + 60_000) },
            {
              ...row(users[2]!.id),
              status: 'sending' as const,
              attempts: 1,
              locked_until: new Date(now.getTime() + leaseMs),
            },
            row(users[2]!.id),
          ])
          .execute()
        const ids = (await rowsAfter(first - 1)).map((r) => r.id)
        expect(ids).toHaveLength(5)
        const [a, b] = await Promise.all([
          deliverMany(t.runtime.delivery, ids),
          deliverMany(t.runtime.delivery, ids),
        ])
        for (const i of [0, 1, 4]) expect([a[i], b[i]].sort()).toEqual(['not_claimed', 'sent'])
        for (const i of [2, 3]) expect([a[i], b[i]]).toEqual(['not_claimed', 'not_claimed'])
        const rows = await rowsAfter(first - 1)
        expect(rows.map((r) => [r.status, r.attempts])).toEqual([
          ['done', 1],
          ['done', 1],
          ['pending', 0],
          ['sending', 1],
          ['done', 1],
        ])
        for (const [i, u] of [
          [0, users[0]!],
          [1, users[1]!],
          [4, users[2]!],
        ] as const)
          expect(sink.mailsTo(u.email).map((m) => m.messageId)).toEqual([messageIdOf(ids[i]!)])
      } finally {
        await t.runtime.runner.start()
      }
    })

    it('a row that cannot be read fails alone: the rest of its batch is sent', async () => {
      await t.runtime.runner.stop() // only the call below claims
      let bad: number | undefined
      try {
        const user = await t.user()
        const now = t.clock.now()
        const first = (await lastRowId()) + 1
        await t.database.db
          .insertInto('outbox')
          .values([
            {
              ...pendingRow(now, 'email.reservation_status', {
                reservationId: 1,
                status: 'confirmed',
                version: 1,
              }),
              payload: '{"reservationId": ', // cut short
            },
            pendingRow(now, 'email.welcome', { userId: user.id }),
          ])
          .execute()
        // Read raw: the tests' own outbox reader parses every payload.
        const raw = () =>
          t.database.db
            .selectFrom('outbox')
            .select(['id', 'status', 'attempts', 'last_error'])
            .where('id', '>=', first)
            .orderBy('id')
            .execute()
        const ids = (await raw()).map((r) => r.id)
        bad = ids[0]
        expect(await deliverMany(t.runtime.delivery, ids)).toEqual(['retry', 'sent'])
        const [badRow, goodRow] = await raw()
        expect(badRow).toMatchObject({ status: 'pending', attempts: 1 })
        expect(badRow!.last_error).toMatch(/JSON/)
        expect(goodRow).toMatchObject({ status: 'done', attempts: 1 })
        expect(sink.mailsTo(user.email).map((m) => m.messageId)).toEqual([messageIdOf(ids[1]!)])
      } finally {
        // Out of the way of the tests after this one.
        if (bad !== undefined)
          await t.database.db.deleteFrom('outbox').where('id', '=', bad).execute()
        await t.runtime.runner.start()
      }
    })

    it('marks each mail of a batch done once it is sent, not when the slowest send ends', async () => {
      await t.runtime.runner.stop() // only the call below claims
      try {
        const slow = await t.user()
        const fast = await t.user()
        const now = t.clock.now()
        const first = (await lastRowId()) + 1
        await t.database.db
          .insertInto('outbox')
          .values([slow, fast].map((u) => pendingRow(now, 'email.welcome', { userId: u.id })))
          .execute()
        const ids = (await rowsAfter(first - 1)).map((r) => r.id)
        let release!: () => void
        const gate = new Promise<void>((resolve) => (release = resolve))
        const delivered: string[] = []
        const delivery = {
          ...t.runtime.delivery,
          mailer: {
            send: async (mail: { to: string }) => {
              if (mail.to === slow.email) await gate
              delivered.push(mail.to)
            },
            close: () => undefined,
          },
        }
        const running = deliverMany(delivery, ids)
        await waitFor('the fast mail to be marked done', async () => {
          const rows = await rowsAfter(first - 1)
          return rows[1]?.status === 'done'
        })
        expect((await rowsAfter(first - 1))[0]).toMatchObject({ status: 'sending' })
        expect(delivered).toEqual([fast.email])
        release()
        expect(await running).toEqual(['sent', 'sent'])
        expect((await rowsAfter(first - 1)).map((r) => r.status)).toEqual(['done', 'done'])
      } finally {
        await t.runtime.runner.start()
      }
    })

    it('a batch with several mails about one booking tells each its own change', async () => {
      await t.runtime.runner.stop() // every mail below goes out in one batch
      try {
        const customer = await register(t.req, 'Bo', 'Ray')
        const staff = await t.user({ staff: true })
        const service = await t.service({ duration: 30 })
        const first = (await lastRowId()) + 1
        const base = t.clock.now()
        const r = await book(t.req, customer, {
          start_time: at(4, '10:00', base),
          staff: staff.id,
          service,
        })
        // A second between changes: a status mail tells the times its change was made at.
        for (const [who, body] of [
          [staff, { status: 'confirmed' }],
          [customer, { start_time: at(4, '11:00', base) }],
          [staff, { status: 'confirmed' }],
          [customer, { status: 'cancelled', cancellation_reason: 'Sick' }],
        ] as const) {
          t.clock.advance(1000)
          await change(t.req, who, r.id, body)
        }
        const ids = (await rowsAfter(first - 1)).map((row) => row.id)
        expect(ids.length).toBeGreaterThanOrEqual(4) // new, confirmed ×2, cancelled
        const results = await deliverMany(t.runtime.delivery, ids)
        expect(results.every((x) => x === 'sent')).toBe(true)
        const mails = sink.mailsTo(customer.email)
        const confirmed = mails.filter((m) => /is confirmed/.test(m.subject))
        expect(confirmed.map((m) => calendarOf(m).props.DTSTART)).toEqual(
          [at(4, '10:00', base), at(4, '11:00', base)].map((x) => x.replace(/[-:]/g, '')),
        )
        const cancelled = mails.filter((m) => /has been cancelled/.test(m.subject))
        expect(cancelled).toHaveLength(1)
        expect(calendarOf(cancelled[0]!).method).toBe('CANCEL')
        expect(cancelled[0]!.parsed.text).toContain('Sick')
        const created = sink
          .mailsTo(ADMIN_EMAIL)
          .filter((m) => m.subject.startsWith(`New reservation #${r.id}:`))
        expect(created).toHaveLength(1)
        expect(created[0]!.parsed.text).toContain('Bo Ray (')
      } finally {
        await t.runtime.runner.start()
      }
    })

    it('leaves a row claimed by another worker alone until its lease runs out, then sends it once', async () => {
      // As a worker that crashed right after claiming would leave it.
      const user = await t.user()
      const now = t.clock.now()
      const leaseMs = t.runtime.delivery.leaseMs
      expect(leaseMs).toBe(30_000) // OUTBOX_LEASE_SECONDS
      await t.database.db
        .insertInto('outbox')
        .values({
          ...pendingRow(now, 'email.welcome', { userId: user.id }),
          status: 'sending',
          attempts: 1,
          locked_until: new Date(now.getTime() + leaseMs),
        })
        .execute()
      const id = await lastRowId()
      await t.drain()
      t.clock.advance(leaseMs - 1_000)
      await t.drain()
      expect(await outboxRow(t, id)).toMatchObject({ status: 'sending', attempts: 1 })
      expect(sink.mailsTo(user.email)).toHaveLength(0)
      t.clock.advance(1_001)
      await t.drain()
      expect(await outboxRow(t, id)).toMatchObject({ status: 'done', attempts: 2 })
      t.clock.advance(leaseMs * 2)
      await t.drain()
      expect(sink.mailsTo(user.email).map((m) => m.messageId)).toEqual([messageIdOf(id)])
    })
  })

  describe(`${engine}: a worker that dies in the middle of sending`, () => {
    const LEASE = 5_000
    let good: SmtpSink
    let stuck: SmtpSink
    let testDb: TestDatabase
    let t: TestApp
    beforeAll(async () => {
      good = await startSmtpSink()
      stuck = await startSmtpSink()
      testDb = await createTestDatabase(engine)
      // The runner of this app (worker B) is started by the tests, once worker A holds the row.
      t = await startApp(engine, {
        database: testDb,
        jobs: false,
        mailer: smtpMailer(good.port),
        leaseMs: LEASE,
        env: NO_SWEEP,
      })
      t.clock.set(t.clock.now())
    })
    afterAll(async () => {
      await t?.close()
      await good?.close()
      await stuck?.close()
    })

    /** Worker A: another process, with its own database connection and a stalling SMTP server. */
    const workerA = () =>
      createRuntime(
        { ...t.config, database: testDb.config },
        {
          role: 'api',
          log: silent,
          mailer: smtpMailer(stuck.port, 60_000),
          now: t.clock.now,
          leaseMs: LEASE,
        },
      )

    it('is taken over after the lease and the mail arrives once', async () => {
      const user = await register(t.req)
      const [row] = await outboxRows(t)
      expect(row).toMatchObject({ kind: 'email.welcome', status: 'pending' })

      const a = workerA()
      stuck.hang()
      const sending = deliver(a.delivery, row!.id)
      await waitFor('worker A to be stuck after DATA', () => stuck.hanging === 1)
      expect(await outboxRow(t, row!.id)).toMatchObject({ status: 'sending', attempts: 1 })

      // Worker A dies: its database connection and its SMTP socket go, no outcome is written.
      await a.ctx.database.close()
      await stuck.stop()
      await expect(sending).rejects.toThrow()
      a.delivery.mailer.close()
      const orphan = await outboxRow(t, row!.id)
      expect(orphan).toMatchObject({ status: 'sending', attempts: 1 })
      expect(orphan.locked_until!.getTime()).toBe(t.clock.now().getTime() + LEASE)

      // Worker B runs, but respects the lease.
      await t.runtime.runner.start()
      await t.drain()
      t.clock.advance(LEASE - 1)
      await t.drain()
      expect(good.received).toHaveLength(0)
      expect((await outboxRow(t, row!.id)).status).toBe('sending')

      t.clock.advance(2)
      await t.drain()
      expect(await outboxRow(t, row!.id)).toMatchObject({ status: 'done', attempts: 2 })
      t.clock.advance(3600_000)
      await t.drain()
      expect(good.mailsTo(user.email).map((m) => m.messageId)).toEqual([messageIdOf(row!.id)])
      await stuck.start()
    })

    it('a worker whose lease ran out cannot undo the delivery another worker made', async () => {
      // Worker A claims and stalls; its lease runs out; B sends the mail; then A's send fails.
      // Without the claim check A would put the row back to pending and B would send it again.
      await t.runtime.runner.stop() // B is not running while A claims
      const user = await register(t.req)
      const id = (await outboxRows(t)).at(-1)!.id
      const a = workerA()
      stuck.hang()
      const hanging0 = stuck.hanging
      const sending = deliver(a.delivery, id)
      await waitFor('worker A to be stuck after DATA', () => stuck.hanging === hanging0 + 1)
      expect(await outboxRow(t, id)).toMatchObject({ status: 'sending', attempts: 1 })

      await t.runtime.runner.start()
      t.clock.advance(LEASE + 1)
      await t.drain()
      expect(await outboxRow(t, id)).toMatchObject({ status: 'done', attempts: 2 })
      expect(good.mailsTo(user.email)).toHaveLength(1)

      await stuck.stop() // A's send fails now, long after its lease
      await expect(sending).resolves.toBe('retry')
      expect(await outboxRow(t, id)).toMatchObject({ status: 'done', attempts: 2 })
      t.clock.advance(3600_000)
      await t.drain()
      expect(good.mailsTo(user.email).map((m) => m.messageId)).toEqual([messageIdOf(id)])
      await a.close()
      await stuck.start()
    })
  })
}
