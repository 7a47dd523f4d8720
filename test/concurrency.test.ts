import { sql } from 'kysely'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bookingRetries } from '../src/metrics/metrics.js'
import { at, dialects, json, startApp } from './helpers.js'
import type { TestApp, TestUser } from './helpers.js'

type R = { id: number; staff: number | null; status: string; start_time: string; end_time: string }

/** Pairs of active reservations of one barber that overlap: must always be empty. */
async function overlaps(t: TestApp): Promise<unknown[]> {
  const { rows } = await sql`
    select a.id as a_id, b.id as b_id from reservations a
    join reservations b on a.staff_id = b.staff_id and a.id < b.id
    where a.status in ('pending', 'confirmed') and b.status in ('pending', 'confirmed')
      and a.start_time < b.hold_until and b.start_time < a.hold_until`.execute(t.database.db)
  return rows
}

const minutes = (iso: string, m: number) =>
  new Date(new Date(iso).getTime() + m * 60_000).toISOString()

/** Booking transactions run again so far (every reason), in this test process. */
async function retries(): Promise<number> {
  return (await bookingRetries.get()).values.reduce((n, v) => n + v.value, 0)
}

for (const engine of await dialects()) {
  describe(`${engine}: no double booking under concurrency`, () => {
    let t: TestApp
    let customers: TestUser[]
    beforeAll(async () => {
      t = await startApp(engine)
      customers = await Promise.all(Array.from({ length: 10 }, () => t.user()))
    })
    afterAll(async () => t?.close())

    it('concurrent auto-assigned bookings of one slot fill every free barber, then 409', async () => {
      const shop = await startApp(engine)
      try {
        const barbers = await Promise.all(
          Array.from({ length: 20 }, () => shop.user({ staff: true })),
        )
        const people = await Promise.all(Array.from({ length: 30 }, () => shop.user()))
        const body = { start_time: at(21, '10:00'), end_time: at(21, '10:30') }
        const answers = await Promise.all(
          people.map((user) => shop.req('POST', '/api/reservations/', { user, body })),
        )
        const codes = answers.map((a) => a.statusCode).sort()
        expect(codes).toEqual([...Array(20).fill(201), ...Array(10).fill(409)])
        const assigned = answers.filter((a) => a.statusCode === 201).map((a) => json<R>(a).staff)
        expect(new Set(assigned).size).toBe(20)
        expect([...assigned].sort()).toEqual(barbers.map((b) => b.id).sort())
        expect(await overlaps(shop)).toEqual([])
      } finally {
        await shop.close()
      }
    })

    it('concurrent automatic bookings of one slot are given different barbers: none runs again', async () => {
      const shop = await startApp(engine)
      try {
        const barbers = await Promise.all(
          Array.from({ length: 8 }, () => shop.user({ staff: true })),
        )
        const people = await Promise.all(Array.from({ length: 8 }, () => shop.user()))
        const body = { start_time: at(22, '10:00'), end_time: at(22, '10:30') }
        const before = await retries()
        const answers = await Promise.all(
          people.map((user) => shop.req('POST', '/api/reservations/', { user, body })),
        )
        expect(answers.map((a) => a.statusCode)).toEqual(Array(8).fill(201))
        const assigned = answers.map((a) => json<R>(a).staff)
        expect([...assigned].sort()).toEqual(barbers.map((b) => b.id).sort())
        // Those in flight at once were given different free barbers (`Assignments`), so
        // none lost a race at the guard and ran its whole transaction again.
        expect((await retries()) - before).toBe(0)
      } finally {
        await shop.close()
      }
    })

    it('100 concurrent requests for one barber and slot: exactly one 201', async () => {
      const barber = await t.user({ staff: true })
      const body = { start_time: at(20, '10:00'), end_time: at(20, '10:30'), staff: barber.id }
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          t.req('POST', '/api/reservations/', { user: customers[i % customers.length]!, body }),
        ),
      )
      const codes = answers.map((a) => a.statusCode)
      expect(codes.filter((c) => c === 201)).toHaveLength(1)
      expect(codes.filter((c) => c === 409)).toHaveLength(99)
      const active = await t.database.db
        .selectFrom('reservations')
        .select('id')
        .where('staff_id', '=', barber.id)
        .where('status', 'in', ['pending', 'confirmed'])
        .execute()
      expect(active).toHaveLength(1)
    })

    it('100 concurrent random overlapping slots (named and auto-assigned): no overlap in the table', async () => {
      await Promise.all(Array.from({ length: 3 }, () => t.user({ staff: true })))
      const staff = (
        await t.database.db
          .selectFrom('users')
          .select('id')
          .where('is_staff_member', '=', true)
          .execute()
      ).map((s) => s.id)
      const rng = fc.sample(
        fc.tuple(
          fc.integer({ min: 0, max: 24 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: -1, max: staff.length - 1 }),
        ),
        { numRuns: 100, seed: 42 },
      )
      const answers = await Promise.all(
        rng.map(([slot, len, who], i) => {
          const start = minutes(at(21, '09:00'), slot * 15)
          const body: Record<string, unknown> = {
            start_time: start,
            end_time: minutes(start, len * 15),
          }
          if (who >= 0) body.staff = staff[who]
          return t.req('POST', '/api/reservations/', {
            user: customers[i % customers.length]!,
            body,
          })
        }),
      )
      expect(answers.every((a) => a.statusCode === 201 || a.statusCode === 409)).toBe(true)
      expect(answers.some((a) => a.statusCode === 201)).toBe(true)
      expect(await overlaps(t)).toEqual([])
    })

    it('concurrent moves, reassignments and confirmations: no overlap in the table', async () => {
      const admin = await t.user({ admin: true })
      const b1 = await t.user({ staff: true })
      const b2 = await t.user({ staff: true })
      const created: R[] = []
      for (let i = 0; i < 12; i++) {
        const start = minutes(at(22, '08:00'), i * 60)
        const res = await t.req('POST', '/api/reservations/', {
          user: admin,
          body: {
            start_time: start,
            end_time: minutes(start, 30),
            staff: i % 2 ? b1.id : b2.id,
            customer: customers[i % 10]!.id,
          },
        })
        expect(res.statusCode).toBe(201)
        created.push(json<R>(res))
      }
      const plans = fc.sample(
        fc.tuple(
          fc.integer({ min: 0, max: 11 }),
          fc.integer({ min: 0, max: 30 }),
          fc.boolean(),
          fc.constantFrom('move', 'confirm', 'reassign'),
        ),
        { numRuns: 80, seed: 7 },
      )
      const answers = await Promise.all(
        plans.map(([which, slot, toB1, kind]) => {
          const r = created[which]!
          const start = minutes(at(22, '08:00'), slot * 20)
          const body =
            kind === 'confirm'
              ? { status: 'confirmed' }
              : kind === 'reassign'
                ? { staff: toB1 ? b1.id : b2.id }
                : { start_time: start, end_time: minutes(start, 45), staff: toB1 ? b1.id : b2.id }
          return t.req('PATCH', `/api/reservations/${r.id}/`, { user: admin, body })
        }),
      )
      for (const a of answers) expect([200, 400, 409, 412]).toContain(a.statusCode)
      expect(answers.some((a) => a.statusCode === 200)).toBe(true)
      expect(await overlaps(t)).toEqual([])
    })

    it('agrees with an in-memory model over random sequences of creates, moves, cancels and confirms', async () => {
      const admin = await t.user({ admin: true })
      type Op =
        | { kind: 'create'; slot: number; len: number }
        | { kind: 'move'; idx: number; slot: number; len: number }
        | { kind: 'cancel' | 'confirm'; idx: number }
      const op: fc.Arbitrary<Op> = fc.oneof(
        fc.record({
          kind: fc.constant('create' as const),
          slot: fc.integer({ min: 0, max: 16 }),
          len: fc.integer({ min: 1, max: 4 }),
        }),
        fc.record({
          kind: fc.constant('move' as const),
          idx: fc.nat(),
          slot: fc.integer({ min: 0, max: 16 }),
          len: fc.integer({ min: 1, max: 4 }),
        }),
        fc.record({ kind: fc.constantFrom('cancel' as const, 'confirm' as const), idx: fc.nat() }),
      )
      let day = 30
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
          const barber = await t.user({ staff: true })
          day += 1
          const base = at(day, '08:00')
          // The model: each reservation as [start slot, end slot), status.
          const model: { id: number; s: number; e: number; status: string }[] = []
          const free = (s: number, e: number, except?: number) =>
            !model.some(
              (m) =>
                m.id !== except &&
                (m.status === 'pending' || m.status === 'confirmed') &&
                m.s < e &&
                s < m.e,
            )
          for (const o of ops) {
            if (o.kind === 'create') {
              const s = o.slot
              const e = o.slot + o.len
              const res = await t.req('POST', '/api/reservations/', {
                user: admin,
                body: {
                  start_time: minutes(base, s * 15),
                  end_time: minutes(base, e * 15),
                  staff: barber.id,
                  customer: customers[0]!.id,
                },
              })
              const expected = free(s, e) ? 201 : 409
              expect(res.statusCode).toBe(expected)
              if (res.statusCode === 201)
                model.push({ id: json<R>(res).id, s, e, status: 'pending' })
            } else if (model.length > 0) {
              const m = model[o.idx % model.length]!
              if (o.kind === 'move') {
                const s = o.slot
                const e = o.slot + o.len
                const res = await t.req('PATCH', `/api/reservations/${m.id}/`, {
                  user: admin,
                  body: { start_time: minutes(base, s * 15), end_time: minutes(base, e * 15) },
                })
                const active = m.status === 'pending' || m.status === 'confirmed'
                const expected = !active ? 400 : free(s, e, m.id) ? 200 : 409
                expect(res.statusCode).toBe(expected)
                if (res.statusCode === 200) {
                  const changed = m.s !== s || m.e !== e
                  Object.assign(m, {
                    s,
                    e,
                    status: changed && m.status === 'confirmed' ? 'pending' : m.status,
                  })
                }
              } else {
                const to = o.kind === 'cancel' ? 'cancelled' : 'confirmed'
                const allowed = o.kind === 'cancel' ? ['pending', 'confirmed'] : ['pending']
                const res = await t.req('PATCH', `/api/reservations/${m.id}/`, {
                  user: admin,
                  body: { status: to },
                })
                const expected = m.status === to ? 200 : allowed.includes(m.status) ? 200 : 400
                expect(res.statusCode).toBe(expected)
                if (res.statusCode === 200) m.status = to
              }
            }
          }
          const rows = await t.database.db
            .selectFrom('reservations')
            .select(['id', 'status'])
            .where('staff_id', '=', barber.id)
            .execute()
          expect(new Map(rows.map((r) => [r.id, r.status]))).toEqual(
            new Map(model.map((m) => [m.id, m.status])),
          )
        }),
        { numRuns: engine === 'sqlite' ? 40 : 20, seed: 1234 },
      )
      expect(await overlaps(t)).toEqual([])
    })
  })
}
