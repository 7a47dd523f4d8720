/**
 * The status sweep and reminders, on a test clock: confirmed and ended → completed, pending and
 * started → cancelled by the system, reminders REMINDER_HOURS_BEFORE ahead; each with its mail
 * over real SMTP, exactly once however often (and however concurrently) the sweep runs.
 */
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runSweep } from '../../src/jobs/sweep.js'
import type { SweepResult } from '../../src/jobs/sweep.js'
import { createRuntime } from '../../src/runtime.js'
import type { Runtime } from '../../src/runtime.js'
import { createTestDatabase, dialects, startApp } from '../helpers.js'
import type { TestApp, TestUser } from '../helpers.js'
import { book, change, freshToken, getReservation, isoAt } from './flows.js'
import type { ReservationView } from './flows.js'
import { calendarOf, messageIdOf, outboxRows, smtpMailer, startSmtpSink } from './smtp-sink.js'
import type { SmtpSink } from './smtp-sink.js'

const H = 3600_000
const MIN = 60_000

const total = (results: SweepResult[], key: keyof SweepResult) =>
  results.reduce((n, r) => n + r[key], 0)

for (const engine of await dialects()) {
  describe(`${engine}: status sweep and reminders`, () => {
    let sink: SmtpSink
    let t: TestApp
    /** A second worker: its own connection to the same database. */
    let other: Runtime
    /** 06:00 UTC on a day ahead of everything earlier tests booked. */
    let base: number

    beforeAll(async () => {
      sink = await startSmtpSink()
      const testDb = await createTestDatabase(engine)
      t = await startApp(engine, {
        database: testDb,
        mailer: smtpMailer(sink.port),
        env: { STATUS_SWEEP_SECONDS: '86400', REMINDER_HOURS_BEFORE: '24' },
      })
      other = createRuntime(
        { ...t.config, database: testDb.config },
        {
          role: 'api',
          log: pino({ level: 'silent' }),
          mailer: smtpMailer(sink.port),
          now: t.clock.now,
        },
      )
    })
    afterAll(async () => {
      await other?.close()
      await t?.close()
      await sink?.close()
    })
    beforeEach(() => {
      const now = new Date(t.clock.now().getTime() + 24 * H)
      base = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 6)
      t.clock.set(new Date(base))
      sink.accept()
    })
    afterEach(async () => {
      // Leave nothing active behind for the next test's sweeps.
      t.clock.set(new Date(base + 8 * 24 * H))
      await runSweep(t.runtime.ctx)
      await t.drain()
    })

    const sweep = () => runSweep(t.runtime.ctx)
    /**
     * A sweep on the second worker's connection. On SQLite, one connection: SQLite's writers
     * are serialised by its write lock whatever the connection, so a second one adds nothing.
     */
    const otherSweep = () => (engine === 'sqlite' ? sweep() : runSweep(other.ctx))
    const at = (offsetMs: number) => isoAt(base + offsetMs)
    const hhmm = (offsetMs: number) => new Date(base + offsetMs).toISOString().slice(11, 16)
    const setClock = (offsetMs: number) => t.clock.set(new Date(base + offsetMs))

    async function people() {
      const staff = await t.user({ staff: true })
      const service = await t.service({ duration: 30 })
      const customer = await t.user()
      return { staff, service, customer }
    }
    async function confirmed(
      customer: TestUser,
      staff: TestUser,
      service: number,
      offsetMs: number,
    ): Promise<ReservationView> {
      const r = await book(t.req, customer, { start_time: at(offsetMs), staff: staff.id, service })
      return change(t.req, staff, r.id, { status: 'confirmed' })
    }
    const remindersFor = async (id: number) =>
      (await outboxRows(t)).filter(
        (r) => r.kind === 'email.reservation_reminder' && r.payload.reservationId === id,
      )
    const subjectsTo = (u: TestUser) => sink.mailsTo(u.email).map((m) => m.subject)
    /** The user with a token valid at the (moved) test clock. */
    const fresh = async (u: TestUser): Promise<TestUser> => ({
      ...u,
      token: await freshToken(t, u),
    })

    it('completes ended confirmed reservations and expires started pending ones, once, with their mails, even when sweeps race', async () => {
      const staff = await t.user({ staff: true })
      const service = await t.service({ duration: 30 })
      const [c1, c2, c3, c4] = [await t.user(), await t.user(), await t.user(), await t.user()]
      const ended = await confirmed(c1, staff, service, 2 * H)
      const started = await book(t.req, c2, { start_time: at(3 * H), staff: staff.id, service })
      const later = await confirmed(c3, staff, service, 5 * H)
      const laterPending = await book(t.req, c4, {
        start_time: at(6 * H),
        staff: staff.id,
        service,
      })
      await t.drain()
      const before = sink.received.length

      // Nothing is due yet.
      expect(await sweep()).toMatchObject({ completed: 0, expired: 0 })

      setClock(3 * H + MIN)
      // Four sweeps at once, two of them on another worker's connection.
      const results = await Promise.all([sweep(), otherSweep(), sweep(), otherSweep()])
      expect(total(results, 'completed')).toBe(1)
      expect(total(results, 'expired')).toBe(1)
      expect(await sweep()).toEqual({ completed: 0, expired: 0, reminders: 0, purged: 0 })
      await t.drain()

      const [f1, f2, f3, f4] = await Promise.all([c1, c2, c3, c4].map(fresh))
      expect(await getReservation(t.req, f1!, ended.id)).toMatchObject({
        status: 'completed',
        completed_at: at(3 * H + MIN),
      })
      expect(await getReservation(t.req, f2!, started.id)).toMatchObject({
        status: 'cancelled',
        cancelled_by: 'system',
      })
      expect((await getReservation(t.req, f3!, later.id)).status).toBe('confirmed')
      expect((await getReservation(t.req, f4!, laterPending.id)).status).toBe('pending')

      // One history entry per transition, by the system (actor null).
      const history = async (u: TestUser, id: number) =>
        (await t.req('GET', `/api/reservations/${id}/history/`, { user: u })).json() as {
          actor: number | null
          from_status: string | null
          to_status: string
        }[]
      expect((await history(f1!, ended.id)).slice(-1)).toEqual([
        expect.objectContaining({ actor: null, from_status: 'confirmed', to_status: 'completed' }),
      ])
      expect(
        (await history(f1!, ended.id)).filter((h) => h.to_status === 'completed'),
      ).toHaveLength(1)
      expect((await history(f2!, started.id)).filter((h) => h.to_status === 'cancelled')).toEqual([
        expect.objectContaining({ actor: null, from_status: 'pending' }),
      ])

      // The same mails as a person's change would send, each once.
      const mails = sink.received.slice(before)
      expect(mails.filter((m) => m.to.includes(c1.email)).map((m) => m.subject)).toEqual([
        'Thanks for visiting Fade District',
      ])
      const cancelled = mails.filter((m) => m.to.includes(c2.email))
      expect(cancelled.map((m) => m.subject)).toEqual([
        `Your appointment on ${cancelled[0]?.subject.match(/on (.*) at/)?.[1]} at ${hhmm(3 * H)} has been cancelled`,
      ])
      expect(cancelled[0]!.parsed.text).toContain('Expired: not confirmed before the start time.')
      const ics = calendarOf(cancelled[0]!)
      expect(ics.method).toBe('CANCEL')
      expect(ics.props.UID).toBe(`reservation-${started.id}@fade-district`)
      expect(mails.filter((m) => m.to.includes(c3.email) || m.to.includes(c4.email))).toEqual([])
      expect(mails).toHaveLength(2)

      const statusRows = (await outboxRows(t)).filter(
        (r) =>
          r.kind === 'email.reservation_status' &&
          [ended.id, started.id].includes(Number(r.payload.reservationId)),
      )
      expect(statusRows.filter((r) => r.payload.status === 'completed')).toHaveLength(1)
      expect(statusRows.filter((r) => r.payload.status === 'cancelled')).toHaveLength(1)
      expect(mails.map((m) => m.messageId).sort()).toEqual(
        statusRows
          .filter((r) => r.payload.status !== 'confirmed')
          .map((r) => messageIdOf(r.id))
          .sort(),
      )
    })

    it('sends one reminder REMINDER_HOURS_BEFORE the start of a confirmed reservation', async () => {
      const { staff, service, customer } = await people()
      const r = await confirmed(customer, staff, service, 48 * H)
      expect(await sweep()).toMatchObject({ reminders: 0 })

      setClock(24 * H - MIN) // 24 h + 1 min before the start: not yet
      expect(await sweep()).toMatchObject({ reminders: 0 })
      expect(await remindersFor(r.id)).toEqual([])

      setClock(24 * H + MIN)
      const results = await Promise.all([sweep(), otherSweep(), sweep()])
      expect(total(results, 'reminders')).toBe(1)
      expect(await sweep()).toMatchObject({ reminders: 0 })
      await t.drain()

      setClock(40 * H)
      expect(await sweep()).toMatchObject({ reminders: 0 })
      setClock(47 * H + 30 * MIN)
      expect(await sweep()).toMatchObject({ reminders: 0 })
      await t.drain()

      const reminders = await remindersFor(r.id)
      expect(reminders).toHaveLength(1)
      expect(reminders[0]!.payload.startTime).toBe(new Date(base + 48 * H).toISOString())
      const subjects = subjectsTo(customer)
      expect(subjects.filter((s) => s.startsWith('Reminder:'))).toEqual([
        expect.stringMatching(new RegExp(`^Reminder: your appointment on .* at ${hhmm(48 * H)}$`)),
      ])
      expect(
        sink.mailsTo(customer.email).find((m) => m.subject.startsWith('Reminder:'))!.messageId,
      ).toBe(messageIdOf(reminders[0]!.id))
      expect(subjects).toHaveLength(2) // confirmed, reminder
    })

    it('does not remind a reservation cancelled before the reminder is due', async () => {
      const { staff, service, customer } = await people()
      const r = await confirmed(customer, staff, service, 48 * H)
      await change(t.req, customer, r.id, { status: 'cancelled' })
      setClock(24 * H + MIN)
      expect(await sweep()).toMatchObject({ reminders: 0 })
      setClock(47 * H)
      expect(await sweep()).toMatchObject({ reminders: 0 })
      await t.drain()
      expect(await remindersFor(r.id)).toEqual([])
      expect(subjectsTo(customer).filter((s) => s.startsWith('Reminder:'))).toEqual([])
    })

    it('reminds a reservation moved before its reminder was due for the new time only', async () => {
      const { staff, service, customer } = await people()
      const r = await confirmed(customer, staff, service, 48 * H)
      // Moving a confirmed reservation returns it to pending; the barber confirms the new time.
      const moved = await change(t.req, staff, r.id, { start_time: at(52 * H) })
      expect(moved.status).toBe('pending')
      await change(t.req, staff, r.id, { status: 'confirmed' })

      setClock(24 * H + MIN) // due for the old time, not for the new one
      expect(await sweep()).toMatchObject({ reminders: 0 })
      setClock(28 * H - MIN)
      expect(await sweep()).toMatchObject({ reminders: 0 })
      setClock(28 * H + MIN)
      expect(await sweep()).toMatchObject({ reminders: 1 })
      expect(await sweep()).toMatchObject({ reminders: 0 })
      await t.drain()

      const reminders = await remindersFor(r.id)
      expect(reminders.map((x) => x.payload.startTime)).toEqual([
        new Date(base + 52 * H).toISOString(),
      ])
      expect(subjectsTo(customer).filter((s) => s.startsWith('Reminder:'))).toEqual([
        expect.stringMatching(new RegExp(` at ${hhmm(52 * H)}$`)),
      ])
    })

    it('drops a queued reminder when the reservation moves before it goes out, and reminds for the new time', async () => {
      const { staff, service, customer } = await people()
      // The mail server is down while the reservation is confirmed inside the window ...
      sink.refuse('rcpt', 451)
      const r = await confirmed(customer, staff, service, 20 * H)
      await t.drain()
      const [stale] = await remindersFor(r.id)
      expect(stale).toMatchObject({ status: 'pending', attempts: 1 })
      expect(stale!.payload.startTime).toBe(new Date(base + 20 * H).toISOString())

      // ... and moved (and confirmed again) before the reminder could go out.
      await change(t.req, staff, r.id, { start_time: at(22 * H) })
      await change(t.req, staff, r.id, { status: 'confirmed' })
      sink.accept()
      t.clock.advance(10 * MIN)
      await t.drain()
      expect(await sweep()).toMatchObject({ reminders: 0 })
      await t.drain()

      const rows = await remindersFor(r.id)
      expect(rows.map((x) => [x.payload.startTime, x.status])).toEqual([
        [new Date(base + 20 * H).toISOString(), 'done'],
        [new Date(base + 22 * H).toISOString(), 'done'],
      ])
      expect(rows[0]!.last_error).toMatch(/skipped/)
      const reminderMails = sink
        .mailsTo(customer.email)
        .filter((m) => m.subject.startsWith('Reminder:'))
      expect(reminderMails.map((m) => m.subject)).toEqual([
        expect.stringMatching(new RegExp(` at ${hhmm(22 * H)}$`)),
      ])
      expect(reminderMails[0]!.messageId).toBe(messageIdOf(rows[1]!.id))
    })

    it('reminds at once when confirmed inside the window, if the start is more than an hour away', async () => {
      const { staff, service, customer } = await people()
      const soon = await book(t.req, customer, { start_time: at(10 * H), staff: staff.id, service })
      // Pending reservations get no reminder.
      expect(await sweep()).toMatchObject({ reminders: 0 })
      setClock(1 * H)
      await change(t.req, await fresh(staff), soon.id, { status: 'confirmed' })
      await t.drain()
      expect(subjectsTo(customer).filter((s) => s.startsWith('Reminder:'))).toEqual([
        expect.stringMatching(new RegExp(` at ${hhmm(10 * H)}$`)),
      ])
      setClock(5 * H)
      expect(await sweep()).toMatchObject({ reminders: 0 })

      // Confirmed less than an hour before the start: no reminder at all.
      const other2 = await t.user()
      const tooSoon = await book(t.req, other2, {
        start_time: at(5 * H + 50 * MIN),
        staff: staff.id,
        service,
      })
      await change(t.req, await fresh(staff), tooSoon.id, { status: 'confirmed' })
      expect(await sweep()).toMatchObject({ reminders: 0 })
      await t.drain()
      expect(await remindersFor(tooSoon.id)).toEqual([])
      expect(subjectsTo(other2).filter((s) => s.startsWith('Reminder:'))).toEqual([])
      expect(await remindersFor(soon.id)).toHaveLength(1)
      expect(subjectsTo(customer).filter((s) => s.startsWith('Reminder:'))).toHaveLength(1)
    })
  })
}

/** A lead time of an hour or less still gets its reminder (not only "more than an hour away"). */
for (const engine of await dialects()) {
  describe(`${engine}: reminders with REMINDER_HOURS_BEFORE=1`, () => {
    let t: TestApp
    beforeAll(async () => {
      t = await startApp(engine, { jobs: false, env: { REMINDER_HOURS_BEFORE: '1' } })
    })
    afterAll(async () => t?.close())

    it('sends it once the start is an hour away, and not for a start 20 minutes away', async () => {
      const now = Date.UTC(2031, 0, 6, 8)
      t.clock.set(new Date(now))
      const staff = await t.user({ staff: true })
      const customer = await t.user()
      const service = await t.service({ duration: 30 })
      const due = await book(t.req, customer, {
        start_time: isoAt(now + 50 * MIN),
        staff: staff.id,
        service,
      })
      await change(t.req, staff, due.id, { status: 'confirmed' })
      const late = await book(t.req, customer, {
        start_time: isoAt(now + 20 * MIN),
        staff: staff.id,
        service,
      })
      await change(t.req, staff, late.id, { status: 'confirmed' })
      await runSweep(t.runtime.ctx)
      await runSweep(t.runtime.ctx)
      const reminders = (await outboxRows(t)).filter((r) => r.kind === 'email.reservation_reminder')
      expect(reminders.map((r) => r.payload.reservationId)).toEqual([due.id])
    })
  })
}
