import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { at, dialects, json, startApp } from './helpers.js'
import type { TestApp, TestUser } from './helpers.js'

type R = { id: number; customer: number; staff: number | null; status: string }

/** Who may book for whom, and the limits on customers (API.md; issue 11). */
for (const engine of await dialects()) {
  describe(`${engine}: booking rules`, () => {
    let t: TestApp
    let admin: TestUser
    beforeAll(async () => {
      t = await startApp(engine, { env: { MAX_ACTIVE_BOOKINGS: '5' } })
      admin = await t.user({ admin: true })
    })
    afterAll(async () => t?.close())

    const book = (user: TestUser, body: Record<string, unknown>) =>
      t.req('POST', '/api/reservations/', { user, body })

    it('a staff member books for another user into their own column only; others get 403', async () => {
      const barber = await t.user({ staff: true })
      const colleague = await t.user({ staff: true })
      const customer = await t.user()
      const stranger = await t.user()
      const mine = await book(barber, {
        start_time: at(3, '10:00'),
        end_time: at(3, '10:30'),
        staff: barber.id,
        customer: customer.id,
      })
      expect(mine.statusCode).toBe(201)
      expect(json<R>(mine)).toMatchObject({ customer: customer.id, staff: barber.id })
      for (const body of [
        { staff: colleague.id, customer: customer.id },
        { customer: customer.id },
      ]) {
        const res = await book(barber, {
          start_time: at(3, '11:00'),
          end_time: at(3, '11:30'),
          ...body,
        })
        expect(res.statusCode).toBe(403)
        expect(json(res).code).toBe('permission_denied')
      }
      const byCustomer = await book(stranger, {
        start_time: at(3, '12:00'),
        end_time: at(3, '12:30'),
        staff: barber.id,
        customer: customer.id,
      })
      expect(byCustomer.statusCode).toBe(403)
      const byAdmin = await book(admin, {
        start_time: at(3, '12:00'),
        end_time: at(3, '12:30'),
        staff: colleague.id,
        customer: customer.id,
      })
      expect(byAdmin.statusCode).toBe(201)
      expect(json<R>(byAdmin).customer).toBe(customer.id)
    })

    it('inside the cancellation cutoff a customer can neither move, cancel nor delete (403 cutoff_passed); staff and admins can', async () => {
      const c = await t.user()
      const barber = await t.user({ staff: true })
      const other = await t.user({ staff: true })
      const soon = new Date(Date.now() + 3600_000)
      soon.setUTCSeconds(0, 0)
      const slot = (d: Date) => ({
        start_time: d.toISOString(),
        end_time: new Date(d.getTime() + 1800_000).toISOString(),
      })
      const near = json<R>(await book(c, { ...slot(soon), staff: barber.id }))
      const confirmed = await t.req('PATCH', `/api/reservations/${near.id}/`, {
        user: barber,
        body: { status: 'confirmed' },
      })
      expect(confirmed.statusCode).toBe(200)
      const refused = [
        { start_time: at(30, '10:00'), end_time: at(30, '10:30') },
        { staff: other.id },
        { status: 'cancelled' },
      ]
      for (const body of refused) {
        const res = await t.req('PATCH', `/api/reservations/${near.id}/`, { user: c, body })
        expect([res.statusCode, json(res).code]).toEqual([403, 'cutoff_passed'])
      }
      // Notes may still change; the reservation itself did not.
      const notes = await t.req('PATCH', `/api/reservations/${near.id}/`, {
        user: c,
        body: { notes: 'running late' },
      })
      expect(json<R>(notes)).toMatchObject({ status: 'confirmed', staff: barber.id })
      // A pending one inside the cutoff cannot be deleted by its owner either.
      const pending = json<R>(
        await book(c, { ...slot(new Date(soon.getTime() + 3600_000)), staff: barber.id }),
      )
      const del = await t.req('DELETE', `/api/reservations/${pending.id}/`, { user: c })
      expect([del.statusCode, json(del).code]).toEqual([403, 'cutoff_passed'])
      // Staff and admins still can.
      const moved = await t.req('PATCH', `/api/reservations/${near.id}/`, {
        user: barber,
        body: { start_time: at(30, '10:00'), end_time: at(30, '10:30') },
      })
      expect(moved.statusCode).toBe(200)
      const byAdmin = await t.req('DELETE', `/api/reservations/${pending.id}/`, { user: admin })
      expect(byAdmin.statusCode).toBe(204)
      // Outside the cutoff the customer may do all three.
      const far = json<R>(
        await book(c, { start_time: at(20, '10:00'), end_time: at(20, '10:30'), staff: barber.id }),
      )
      const farMove = await t.req('PATCH', `/api/reservations/${far.id}/`, {
        user: c,
        body: { start_time: at(21, '10:00'), end_time: at(21, '10:30') },
      })
      expect(farMove.statusCode).toBe(200)
      expect((await t.req('DELETE', `/api/reservations/${far.id}/`, { user: c })).statusCode).toBe(
        204,
      )
    })

    it('a customer holds at most MAX_ACTIVE_BOOKINGS upcoming reservations, under concurrency too', async () => {
      expect(loadConfig({ DEBUG: 'true' }).maxActiveBookings).toBe(5)
      expect(t.config.maxActiveBookings).toBe(5)
      const barbers = await Promise.all(Array.from({ length: 3 }, () => t.user({ staff: true })))
      const c = await t.user()
      // Past and cancelled reservations do not count.
      const past = await book(admin, {
        start_time: at(-1, '10:00'),
        end_time: at(-1, '10:30'),
        staff: barbers[0]!.id,
        customer: c.id,
      })
      expect(past.statusCode).toBe(201)
      const slot = (i: number) => ({
        start_time: at(40 + i, '10:00'),
        end_time: at(40 + i, '10:30'),
        staff: barbers[i % 3]!.id,
      })
      const made: R[] = []
      for (let i = 0; i < 5; i++) {
        const res = await book(c, slot(i))
        expect(res.statusCode).toBe(201)
        made.push(json<R>(res))
      }
      const sixth = await book(c, slot(5))
      expect(sixth.statusCode).toBe(400)
      expect(json<Record<string, string[]>>(sixth).non_field_errors![0]).toMatch(/5 upcoming/)
      const cancel = await t.req('PATCH', `/api/reservations/${made[0]!.id}/`, {
        user: c,
        body: { status: 'cancelled' },
      })
      expect(cancel.statusCode).toBe(200)
      expect((await book(c, slot(5))).statusCode).toBe(201)
      expect((await book(c, slot(6))).statusCode).toBe(400)
      // An admin or the barber may still book for them.
      const byAdmin = await book(admin, { ...slot(7), customer: c.id })
      expect(byAdmin.statusCode).toBe(201)

      // Ten at once from a new customer, each a free slot: five get in, five are refused.
      const d = await t.user()
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          book(d, {
            start_time: at(50 + i, '11:00'),
            end_time: at(50 + i, '11:30'),
            staff: barbers[i % 3]!.id,
          }),
        ),
      )
      const codes = answers.map((a) => a.statusCode).sort()
      expect(codes).toEqual([201, 201, 201, 201, 201, 400, 400, 400, 400, 400])
    })

    it('customers book (and move) no further ahead than BOOKING_HORIZON_DAYS; staff and admins may', async () => {
      const horizon = t.config.bookingHorizonDays
      const barber = await t.user({ staff: true })
      const c = await t.user()
      const beyond = { start_time: at(horizon + 1, '10:00'), end_time: at(horizon + 1, '10:30') }
      const tooFar = await book(c, { ...beyond, staff: barber.id })
      expect(tooFar.statusCode).toBe(400)
      expect(json(tooFar)).toEqual({ start_time: [`Bookings open at most ${horizon} days ahead.`] })
      const last = await book(c, {
        start_time: at(horizon, '10:00'),
        end_time: at(horizon, '10:30'),
        staff: barber.id,
      })
      expect(last.statusCode).toBe(201)
      const move = await t.req('PATCH', `/api/reservations/${json<R>(last).id}/`, {
        user: c,
        body: beyond,
      })
      expect(move.statusCode).toBe(400)
      expect(Object.keys(json(move))).toEqual(['start_time'])
      const byBarber = await book(barber, { ...beyond, staff: barber.id, customer: c.id })
      expect(byBarber.statusCode).toBe(201)
      const byAdmin = await book(admin, {
        start_time: at(horizon + 30, '10:00'),
        end_time: at(horizon + 30, '10:30'),
        staff: barber.id,
        customer: c.id,
      })
      expect(byAdmin.statusCode).toBe(201)
      const staffMove = await t.req('PATCH', `/api/reservations/${json<R>(last).id}/`, {
        user: barber,
        body: { start_time: at(horizon + 2, '10:00'), end_time: at(horizon + 2, '10:30') },
      })
      expect(staffMove.statusCode).toBe(200)
    })

    it('completed and no_show only once the appointment has started (400 on status before)', async () => {
      const c = await t.user()
      const barber = await t.user({ staff: true })
      const future = json<R>(
        await book(c, { start_time: at(2, '10:00'), end_time: at(2, '10:30'), staff: barber.id }),
      )
      const patch = (user: TestUser, id: number, body: Record<string, unknown>) =>
        t.req('PATCH', `/api/reservations/${id}/`, { user, body })
      expect((await patch(barber, future.id, { status: 'confirmed' })).statusCode).toBe(200)
      for (const status of ['completed', 'no_show']) {
        for (const who of [barber, admin]) {
          const res = await patch(who, future.id, { status })
          expect(res.statusCode).toBe(400)
          expect(json(res)).toEqual({
            status: [`A reservation can be marked ${status} only once it has started.`],
          })
        }
      }
      expect(
        json<R>(await t.req('GET', `/api/reservations/${future.id}/`, { user: c })).status,
      ).toBe('confirmed')
      // Once the visits have started, they may end either way.
      const second = await t.user({ staff: true })
      const other = json<R>(
        await book(c, { start_time: at(2, '10:00'), end_time: at(2, '10:30'), staff: second.id }),
      )
      expect((await patch(admin, other.id, { status: 'confirmed' })).statusCode).toBe(200)
      t.clock.set(at(2, '10:01'))
      try {
        const fresh = async (u: TestUser) => ({
          ...u,
          token: (await t.runtime.ctx.tokens.issue('access', u.id, t.clock.now())).token,
        })
        const done = await patch(await fresh(barber), future.id, { status: 'completed' })
        expect(json<R>(done).status).toBe('completed')
        const missed = await patch(await fresh(admin), other.id, { status: 'no_show' })
        expect(json<R>(missed).status).toBe('no_show')
      } finally {
        t.clock.real()
      }
    })
  })
}
