import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { at, dialects, json, startApp } from './helpers.js'
import type { TestApp, TestUser } from './helpers.js'

type R = Record<string, unknown> & {
  id: number
  status: string
  staff: number | null
  start_time: string
  end_time: string
}

for (const engine of await dialects()) {
  describe(`${engine}: reservations`, () => {
    let t: TestApp
    let admin: TestUser
    beforeAll(async () => {
      t = await startApp(engine)
      admin = await t.user({ admin: true })
    })
    afterAll(async () => t?.close())

    const book = (user: TestUser, body: Record<string, unknown>) =>
      t.req('POST', '/api/reservations/', { user, body })

    it('books with a service: end from its duration, pending, full shape, ETag', async () => {
      const customer = await t.user()
      const barber = await t.user({ staff: true })
      const service = await t.service({ duration: 45 })
      const res = await book(customer, {
        start_time: at(3, '10:00'),
        staff: barber.id,
        service,
        notes: 'skin fade',
      })
      expect(res.statusCode).toBe(201)
      const r = json<R>(res)
      expect(r).toMatchObject({
        customer: customer.id,
        staff: barber.id,
        service,
        start_time: at(3, '10:00'),
        end_time: at(3, '10:45'),
        status: 'pending',
        notes: 'skin fade',
        confirmed_at: null,
        completed_at: null,
        cancelled_at: null,
        cancelled_by: null,
        cancellation_reason: '',
      })
      expect(Object.keys(r).sort()).toEqual(
        [
          'cancellation_reason',
          'cancelled_at',
          'cancelled_by',
          'completed_at',
          'confirmed_at',
          'created_at',
          'customer',
          'end_time',
          'id',
          'notes',
          'service',
          'staff',
          'start_time',
          'status',
          'updated_at',
        ].sort(),
      )
      expect(res.headers.etag).toMatch(/^".+"$/)
      const got = await t.req('GET', `/api/reservations/${r.id}`, { user: customer })
      expect(got.statusCode).toBe(200)
      expect(got.headers.etag).toBe(res.headers.etag)
    })

    it('refuses invalid bookings with 400 per field', async () => {
      const c = await t.user()
      const barber = await t.user({ staff: true })
      const cases: [Record<string, unknown>, string][] = [
        [{ start_time: at(2, '10:00'), end_time: at(2, '09:00'), staff: barber.id }, 'end_time'],
        [{ start_time: at(2, '10:00'), end_time: at(2, '10:03'), staff: barber.id }, 'end_time'],
        [{ start_time: at(2, '10:00'), end_time: at(2, '18:01'), staff: barber.id }, 'end_time'],
        [
          { start_time: at(-1, '10:00'), end_time: at(-1, '10:30'), staff: barber.id },
          'start_time',
        ],
        [
          {
            start_time: at(2, '10:00'),
            end_time: at(2, '10:30'),
            staff: barber.id,
            notes: 'x'.repeat(1001),
          },
          'notes',
        ],
        [{ start_time: at(2, '10:00'), end_time: at(2, '10:30'), staff: 999999 }, 'staff'],
        [{ start_time: at(2, '10:00'), end_time: at(2, '10:30'), staff: c.id }, 'staff'],
        [{ start_time: at(2, '10:00'), service: 999999 }, 'service'],
        [{ start_time: at(2, '10:00'), staff: barber.id }, 'end_time'],
        [{ start_time: 'tomorrow at ten', end_time: at(2, '10:30') }, 'start_time'],
        [{ start_time: '2026-02-30T10:00:00Z', end_time: at(2, '10:30') }, 'start_time'],
        [{ end_time: at(2, '10:30') }, 'start_time'],
        [{ start_time: 12, end_time: at(2, '10:30') }, 'start_time'],
      ]
      for (const [body, field] of cases) {
        const res = await book(c, body)
        expect(res.statusCode, JSON.stringify(body).slice(0, 120)).toBe(400)
        expect(Object.keys(json(res)), JSON.stringify(body).slice(0, 120)).toContain(field)
      }
      const inactive = await t.service({ active: false })
      expect((await book(c, { start_time: at(2, '10:00'), service: inactive })).statusCode).toBe(
        400,
      )
      // A service with a barber is looked up by one statement: each wrong one is still told.
      const svc = await t.service({ duration: 30 })
      const both: [Record<string, unknown>, string[]][] = [
        [{ service: svc, staff: 999999 }, ['staff']],
        [{ service: svc, staff: c.id }, ['staff']],
        [{ service: 999999, staff: barber.id }, ['service']],
        [{ service: 999999, staff: 999999 }, ['service', 'staff']],
        [{ service: inactive, staff: 999999 }, ['service', 'staff']],
      ]
      for (const [body, fields] of both) {
        const res = await book(c, { start_time: at(2, '10:00'), ...body })
        expect(res.statusCode, JSON.stringify(body)).toBe(400)
        expect(Object.keys(json(res)).sort(), JSON.stringify(body)).toEqual(fields)
      }
    })

    it('lets admins record past visits and book for others; customers only for themselves', async () => {
      const c = await t.user()
      const other = await t.user()
      const barber = await t.user({ staff: true })
      const past = await book(admin, {
        start_time: at(-2, '10:00'),
        end_time: at(-2, '10:30'),
        staff: barber.id,
        customer: c.id,
      })
      expect(past.statusCode).toBe(201)
      expect(json<R>(past).customer).toBe(c.id)
      const forOther = await book(c, {
        start_time: at(4, '10:00'),
        end_time: at(4, '10:30'),
        customer: other.id,
      })
      expect(forOther.statusCode).toBe(403)
      const self = await book(c, {
        start_time: at(4, '11:00'),
        end_time: at(4, '11:30'),
        staff: barber.id,
        customer: c.id,
      })
      expect(self.statusCode).toBe(201)
    })

    it('refuses overlaps with 409 slot_unavailable; touching ends and other barbers are fine; buffers hold the barber', async () => {
      const c = await t.user()
      const barber = await t.user({ staff: true })
      const withBuffer = await t.service({ duration: 30, buffer: 15 })
      expect(
        (await book(c, { start_time: at(5, '10:00'), staff: barber.id, service: withBuffer }))
          .statusCode,
      ).toBe(201)
      const overlap = await book(c, {
        start_time: at(5, '10:15'),
        end_time: at(5, '10:45'),
        staff: barber.id,
      })
      expect(overlap.statusCode).toBe(409)
      expect(json(overlap)).toMatchObject({ code: 'slot_unavailable' })
      // The buffer (10:30–10:45) still holds the barber.
      expect(
        (await book(c, { start_time: at(5, '10:30'), end_time: at(5, '11:00'), staff: barber.id }))
          .statusCode,
      ).toBe(409)
      expect(
        (await book(c, { start_time: at(5, '10:45'), end_time: at(5, '11:15'), staff: barber.id }))
          .statusCode,
      ).toBe(201)
      // Touching the start of an existing one.
      expect(
        (await book(c, { start_time: at(5, '09:30'), end_time: at(5, '10:00'), staff: barber.id }))
          .statusCode,
      ).toBe(201)
      const other = await t.user({ staff: true })
      expect(
        (await book(c, { start_time: at(5, '10:15'), end_time: at(5, '10:45'), staff: other.id }))
          .statusCode,
      ).toBe(201)
    })

    it('treats time off like a reservation', async () => {
      const c = await t.user()
      const barber = await t.user({ staff: true })
      const off = await t.req('POST', '/api/time-off/', {
        user: barber,
        body: { start_time: at(6, '12:00'), end_time: at(6, '14:00'), reason: 'dentist' },
      })
      expect(off.statusCode).toBe(201)
      expect(json(off)).toMatchObject({ staff: barber.id, reason: 'dentist' })
      expect(
        (await book(c, { start_time: at(6, '13:00'), end_time: at(6, '13:30'), staff: barber.id }))
          .statusCode,
      ).toBe(409)
      expect(
        (await book(c, { start_time: at(6, '14:00'), end_time: at(6, '14:30'), staff: barber.id }))
          .statusCode,
      ).toBe(201)
      // A staff member manages only their own time off; only an admin closes the shop.
      const other = await t.user({ staff: true })
      expect(
        (
          await t.req('POST', '/api/time-off/', {
            user: barber,
            body: { staff: other.id, start_time: at(6, '12:00'), end_time: at(6, '13:00') },
          })
        ).statusCode,
      ).toBe(403)
      expect(
        (
          await t.req('POST', '/api/time-off/', {
            user: barber,
            body: { staff: null, start_time: at(6, '12:00'), end_time: at(6, '13:00') },
          })
        ).statusCode,
      ).toBe(403)
      expect(
        (
          await t.req('POST', '/api/time-off/', {
            user: c,
            body: { start_time: at(6, '12:00'), end_time: at(6, '13:00') },
          })
        ).statusCode,
      ).toBe(403)
      expect(
        (await t.req('GET', `/api/time-off/${json<R>(off).id}/`, { user: other })).statusCode,
      ).toBe(404)
      const closure = await t.req('POST', '/api/time-off/', {
        user: admin,
        body: {
          staff: null,
          start_time: at(7, '00:00'),
          end_time: at(8, '00:00'),
          reason: 'holiday',
        },
      })
      expect(closure.statusCode).toBe(201)
      expect(
        (await book(c, { start_time: at(7, '10:00'), end_time: at(7, '10:30'), staff: other.id }))
          .statusCode,
      ).toBe(409)
      expect(
        (await t.req('DELETE', `/api/time-off/${json<R>(closure).id}/`, { user: admin }))
          .statusCode,
      ).toBe(204)
      expect(
        (await book(c, { start_time: at(7, '10:00'), end_time: at(7, '10:30'), staff: other.id }))
          .statusCode,
      ).toBe(201)
    })

    it('moves through the workflow with timestamps, 400 for invalid transitions, 403 for forbidden ones', async () => {
      const c = await t.user()
      const barber = await t.user({ staff: true })
      const otherBarber = await t.user({ staff: true })
      const r = json<R>(
        await book(c, { start_time: at(8, '10:00'), end_time: at(8, '10:30'), staff: barber.id }),
      )
      const patch = (user: TestUser, body: Record<string, unknown>) =>
        t.req('PATCH', `/api/reservations/${r.id}/`, { user, body })
      expect((await patch(c, { status: 'confirmed' })).statusCode).toBe(403)
      expect((await patch(otherBarber, { status: 'confirmed' })).statusCode).toBe(404)
      expect((await patch(barber, { status: 'completed' })).statusCode).toBe(400)
      expect((await patch(barber, { status: 'bogus' })).statusCode).toBe(400)
      const confirmed = await patch(barber, { status: 'confirmed' })
      expect(confirmed.statusCode).toBe(200)
      expect(json<R>(confirmed).confirmed_at).toBeTruthy()
      // A no-show (or a completed visit) once the appointment has started.
      const fresh = async (u: TestUser) => ({
        ...u,
        token: (await t.runtime.ctx.tokens.issue('access', u.id, t.clock.now())).token,
      })
      t.clock.set(at(8, '10:05'))
      try {
        const noShow = await patch(await fresh(barber), { status: 'no_show' })
        expect(json<R>(noShow).status).toBe('no_show')
      } finally {
        t.clock.real()
      }
      expect((await patch(admin, { status: 'confirmed' })).statusCode).toBe(400)
      const history = json<
        { from_status: string | null; to_status: string; actor: number | null }[]
      >(await t.req('GET', `/api/reservations/${r.id}/history/`, { user: c }))
      expect(history.map((h) => [h.from_status, h.to_status, h.actor])).toEqual([
        [null, 'pending', c.id],
        ['pending', 'confirmed', barber.id],
        ['confirmed', 'no_show', barber.id],
      ])
      const r2 = json<R>(
        await book(c, { start_time: at(8, '11:00'), end_time: at(8, '11:30'), staff: barber.id }),
      )
      await t.req('PATCH', `/api/reservations/${r2.id}/`, {
        user: admin,
        body: { status: 'confirmed' },
      })
      t.clock.set(at(8, '11:05'))
      const done = await t.req('PATCH', `/api/reservations/${r2.id}/`, {
        user: await fresh(admin),
        body: { status: 'completed' },
      })
      t.clock.real()
      expect(json<R>(done)).toMatchObject({ status: 'completed' })
      expect(json<R>(done).completed_at).toBeTruthy()
    })

    it('cancels with who and why, and enforces the cutoff for customers', async () => {
      const c = await t.user()
      const barber = await t.user({ staff: true })
      const soon = new Date(Date.now() + 3600_000)
      soon.setUTCSeconds(0, 0)
      const near = json<R>(
        await book(c, {
          start_time: soon.toISOString(),
          end_time: new Date(soon.getTime() + 1800_000).toISOString(),
          staff: barber.id,
        }),
      )
      const late = await t.req('PATCH', `/api/reservations/${near.id}/`, {
        user: c,
        body: { status: 'cancelled' },
      })
      expect(late.statusCode).toBe(403)
      expect(json(late).code).toBe('cutoff_passed')
      const byStaff = await t.req('PATCH', `/api/reservations/${near.id}/`, {
        user: barber,
        body: { status: 'cancelled', cancellation_reason: 'sick' },
      })
      expect(json<R>(byStaff)).toMatchObject({
        status: 'cancelled',
        cancelled_by: 'staff',
        cancellation_reason: 'sick',
      })
      const far = json<R>(
        await book(c, { start_time: at(9, '10:00'), end_time: at(9, '10:30'), staff: barber.id }),
      )
      const ok = await t.req('PATCH', `/api/reservations/${far.id}/`, {
        user: c,
        body: { status: 'cancelled', cancellation_reason: 'busy' },
      })
      expect(ok.statusCode).toBe(200)
      expect(json<R>(ok)).toMatchObject({
        status: 'cancelled',
        cancelled_by: 'customer',
        cancellation_reason: 'busy',
      })
      expect(json<R>(ok).cancelled_at).toBeTruthy()
      // The freed slot can be booked again.
      expect(
        (await book(c, { start_time: at(9, '10:00'), end_time: at(9, '10:30'), staff: barber.id }))
          .statusCode,
      ).toBe(201)
    })

    it('moves a confirmed booking back to pending, checking the new slot, as one history entry', async () => {
      const c = await t.user()
      const barber = await t.user({ staff: true })
      const service = await t.service({ duration: 30 })
      const r = json<R>(await book(c, { start_time: at(10, '10:00'), staff: barber.id, service }))
      await t.req('PATCH', `/api/reservations/${r.id}/`, {
        user: barber,
        body: { status: 'confirmed' },
      })
      const blocker = json<R>(
        await book(c, { start_time: at(10, '12:00'), end_time: at(10, '13:00'), staff: barber.id }),
      )
      expect(
        (
          await t.req('PATCH', `/api/reservations/${r.id}/`, {
            user: c,
            body: { start_time: at(10, '12:30') },
          })
        ).statusCode,
      ).toBe(409)
      const moved = await t.req('PATCH', `/api/reservations/${r.id}/`, {
        user: c,
        body: { start_time: at(10, '14:00') },
      })
      expect(moved.statusCode).toBe(200)
      expect(json<R>(moved)).toMatchObject({
        status: 'pending',
        start_time: at(10, '14:00'),
        end_time: at(10, '14:30'),
      })
      const history = json<{ from_status: string; to_status: string; start_time: string }[]>(
        await t.req('GET', `/api/reservations/${r.id}/history/`, { user: c }),
      )
      expect(history).toHaveLength(3)
      expect(history[2]).toMatchObject({
        from_status: 'confirmed',
        to_status: 'pending',
        start_time: at(10, '14:00'),
      })
      // Moving onto itself (overlapping its own old time) is fine.
      expect(
        (
          await t.req('PATCH', `/api/reservations/${r.id}/`, {
            user: c,
            body: { start_time: at(10, '14:15') },
          })
        ).statusCode,
      ).toBe(200)
      // Notes alone do not change status or history.
      const notes = await t.req('PATCH', `/api/reservations/${r.id}/`, {
        user: c,
        body: { notes: 'beard too' },
      })
      expect(json<R>(notes)).toMatchObject({ notes: 'beard too', status: 'pending' })
      expect(
        json<unknown[]>(await t.req('GET', `/api/reservations/${r.id}/history/`, { user: c })),
      ).toHaveLength(4)
      // Terminal reservations cannot move.
      await t.req('PATCH', `/api/reservations/${blocker.id}/`, {
        user: c,
        body: { status: 'cancelled' },
      })
      expect(
        (
          await t.req('PATCH', `/api/reservations/${blocker.id}/`, {
            user: c,
            body: { start_time: at(10, '16:00') },
          })
        ).statusCode,
      ).toBe(400)
    })

    it('assigns a free barber when none is named, then 409 when all are busy', async () => {
      const shop = await startApp(engine)
      try {
        const c = await shop.user()
        const b1 = await shop.user({ staff: true })
        const b2 = await shop.user({ staff: true })
        const slot = { start_time: at(3, '15:00'), end_time: at(3, '15:30') }
        const first = json<R>(await shop.req('POST', '/api/reservations/', { user: c, body: slot }))
        const second = json<R>(
          await shop.req('POST', '/api/reservations/', { user: c, body: slot }),
        )
        expect([first.staff, second.staff].sort()).toEqual([b1.id, b2.id].sort())
        const third = await shop.req('POST', '/api/reservations/', { user: c, body: slot })
        expect(third.statusCode).toBe(409)
      } finally {
        await shop.close()
      }
    })

    it('is one chair when the shop has no barbers', async () => {
      const shop = await startApp(engine)
      try {
        const c = await shop.user()
        const r = await shop.req('POST', '/api/reservations/', {
          user: c,
          body: { start_time: at(3, '10:00'), end_time: at(3, '11:00') },
        })
        expect(r.statusCode).toBe(201)
        expect(json<R>(r).staff).toBeNull()
        expect(
          (
            await shop.req('POST', '/api/reservations/', {
              user: c,
              body: { start_time: at(3, '10:30'), end_time: at(3, '11:30') },
            })
          ).statusCode,
        ).toBe(409)
        expect(
          (
            await shop.req('POST', '/api/reservations/', {
              user: c,
              body: { start_time: at(3, '11:00'), end_time: at(3, '11:30') },
            })
          ).statusCode,
        ).toBe(201)
      } finally {
        await shop.close()
      }
    })

    it('keeps to opening hours and working hours in the shop time zone', async () => {
      const shop = await startApp(engine, {
        env: {
          SHOP_TIMEZONE: 'Europe/Sofia',
          OPENING_HOURS: 'mon-fri 09:00-13:00,14:00-19:00; sat 10:00-16:00',
        },
      })
      try {
        const c = await shop.user()
        const barber = await shop.user({ staff: true })
        // 2027-01-11 is a Monday; Sofia is UTC+2 in winter. Inputs without an offset are shop time.
        const ok = await shop.req('POST', '/api/reservations/', {
          user: c,
          body: { start_time: '2027-01-11T09:00', end_time: '2027-01-11T09:30', staff: barber.id },
        })
        expect(ok.statusCode).toBe(201)
        expect(json<R>(ok).start_time).toBe('2027-01-11T07:00:00Z')
        const lunch = await shop.req('POST', '/api/reservations/', {
          user: c,
          body: { start_time: '2027-01-11T12:45', end_time: '2027-01-11T13:15', staff: barber.id },
        })
        expect(lunch.statusCode).toBe(400)
        expect(json(lunch)).toHaveProperty('non_field_errors')
        const sunday = await shop.req('POST', '/api/reservations/', {
          user: c,
          body: { start_time: '2027-01-10T10:00', end_time: '2027-01-10T10:30', staff: barber.id },
        })
        expect(sunday.statusCode).toBe(400)
        // UTC 16:30 is 18:30 in Sofia: fits; 17:30Z is 19:30 local: closed.
        expect(
          (
            await shop.req('POST', '/api/reservations/', {
              user: c,
              body: {
                start_time: '2027-01-12T16:30:00Z',
                end_time: '2027-01-12T17:00:00Z',
                staff: barber.id,
              },
            })
          ).statusCode,
        ).toBe(201)
        expect(
          (
            await shop.req('POST', '/api/reservations/', {
              user: c,
              body: {
                start_time: '2027-01-12T17:30:00Z',
                end_time: '2027-01-12T18:00:00Z',
                staff: barber.id,
              },
            })
          ).statusCode,
        ).toBe(400)
        // The barber works mornings only.
        const hours = await shop.req('PUT', `/api/staff/${barber.id}/hours/`, {
          user: barber,
          body: { hours: 'mon-fri 09:00-12:00' },
        })
        expect(hours.statusCode).toBe(200)
        expect(json(hours)).toEqual({ hours: 'mon-fri 09:00-12:00' })
        expect(json(await shop.req('GET', `/api/staff/${barber.id}/hours/`))).toEqual({
          hours: 'mon-fri 09:00-12:00',
        })
        expect(
          (
            await shop.req('POST', '/api/reservations/', {
              user: c,
              body: {
                start_time: '2027-01-13T15:00',
                end_time: '2027-01-13T15:30',
                staff: barber.id,
              },
            })
          ).statusCode,
        ).toBe(400)
        expect(
          (
            await shop.req('POST', '/api/reservations/', {
              user: c,
              body: {
                start_time: '2027-01-13T11:00',
                end_time: '2027-01-13T11:30',
                staff: barber.id,
              },
            })
          ).statusCode,
        ).toBe(201)
        expect(
          (
            await shop.req('PUT', `/api/staff/${barber.id}/hours/`, {
              user: barber,
              body: { hours: 'mon-fri 9-12' },
            })
          ).statusCode,
        ).toBe(400)
        expect(
          (
            await shop.req('PUT', `/api/staff/${barber.id}/hours/`, {
              user: c,
              body: { hours: null },
            })
          ).statusCode,
        ).toBe(403)
        expect(
          json(
            await shop.req('PUT', `/api/staff/${barber.id}/hours/`, {
              user: admin.token ? await shop.user({ admin: true }) : c,
              body: { hours: null },
            }),
          ),
        ).toEqual({ hours: null })
      } finally {
        await shop.close()
      }
    })

    it('scopes, filters, orders and paginates the list', async () => {
      const shop = await startApp(engine)
      try {
        const boss = await shop.user({ admin: true })
        const c1 = await shop.user()
        const c2 = await shop.user()
        const barber = await shop.user({ staff: true })
        const other = await shop.user({ staff: true })
        for (let i = 0; i < 5; i++) {
          await shop.req('POST', '/api/reservations/', {
            user: c1,
            body: {
              start_time: at(2 + i, '10:00'),
              end_time: at(2 + i, '10:30'),
              staff: barber.id,
            },
          })
        }
        await shop.req('POST', '/api/reservations/', {
          user: c2,
          body: { start_time: at(2, '10:00'), end_time: at(2, '10:30'), staff: other.id },
        })
        const list = (user: TestUser, q = '') => shop.req('GET', `/api/reservations/${q}`, { user })
        expect(json(await list(c1)).count).toBe(5)
        expect(json(await list(c2)).count).toBe(1)
        expect(json(await list(barber)).count).toBe(5)
        expect(json(await list(boss)).count).toBe(6)
        const page = json<{
          count: number
          next: string | null
          previous: string | null
          results: R[]
        }>(await list(c1, '?page_size=2&page=2'))
        expect(page.results).toHaveLength(2)
        expect(page.next).toMatch(/page=3/)
        expect(page.previous).toBeTruthy()
        const desc = json<{ results: R[] }>(await list(c1, '?ordering=-start_time'))
        expect(desc.results[0]!.start_time).toBe(at(6, '10:00'))
        expect(json(await list(boss, `?staff=${other.id}`)).count).toBe(1)
        expect(json(await list(boss, `?customer=${c1.id}`)).count).toBe(5)
        expect(
          json(
            await list(
              c1,
              `?start_after=${encodeURIComponent(at(3, '10:00'))}&start_before=${encodeURIComponent(at(5, '10:00'))}`,
            ),
          ).count,
        ).toBe(2)
        expect(json(await list(c1, '?status=pending,confirmed')).count).toBe(5)
        expect(json(await list(c1, '?status=cancelled&status=completed')).count).toBe(0)
        expect((await list(c1, '?status=nope')).statusCode).toBe(400)
        expect((await list(c1, '?ordering=customer')).statusCode).toBe(200)
        expect(json(await list(c1, '?staff=&start_after=&status=')).count).toBe(
          json(await list(c1, '')).count,
        )
        expect(
          json<{ results: unknown[] }>(await list(boss, '?page_size=1000')).results.length,
        ).toBe(6)
        expect((await list(c1, '?page=99')).statusCode).toBe(404)
        expect((await shop.req('GET', '/api/reservations/')).statusCode).toBe(401)
      } finally {
        await shop.close()
      }
    })

    it('hides what a caller may not see (404) and guards delete', async () => {
      const c = await t.user()
      const stranger = await t.user()
      const barber = await t.user({ staff: true })
      const r = json<R>(
        await book(c, { start_time: at(11, '10:00'), end_time: at(11, '10:30'), staff: barber.id }),
      )
      expect(
        (await t.req('GET', `/api/reservations/${r.id}/`, { user: stranger })).statusCode,
      ).toBe(404)
      expect(
        (await t.req('GET', `/api/reservations/${r.id}/history/`, { user: stranger })).statusCode,
      ).toBe(404)
      expect(
        (
          await t.req('PATCH', `/api/reservations/${r.id}/`, {
            user: stranger,
            body: { notes: 'x' },
          })
        ).statusCode,
      ).toBe(404)
      expect(
        (await t.req('DELETE', `/api/reservations/${r.id}/`, { user: stranger })).statusCode,
      ).toBe(404)
      expect((await t.req('GET', `/api/reservations/${r.id}/`, { user: barber })).statusCode).toBe(
        200,
      )
      expect(
        (await t.req('DELETE', `/api/reservations/${r.id}/`, { user: barber })).statusCode,
      ).toBe(403)
      await t.req('PATCH', `/api/reservations/${r.id}/`, {
        user: barber,
        body: { status: 'confirmed' },
      })
      expect((await t.req('DELETE', `/api/reservations/${r.id}/`, { user: c })).statusCode).toBe(
        403,
      )
      expect(
        (await t.req('DELETE', `/api/reservations/${r.id}/`, { user: admin })).statusCode,
      ).toBe(204)
      expect((await t.req('GET', `/api/reservations/${r.id}/`, { user: admin })).statusCode).toBe(
        404,
      )
      const p = json<R>(
        await book(c, { start_time: at(11, '12:00'), end_time: at(11, '12:30'), staff: barber.id }),
      )
      expect((await t.req('DELETE', `/api/reservations/${p.id}/`, { user: c })).statusCode).toBe(
        204,
      )
    })

    it('confirms on creation when AUTO_CONFIRM=true', async () => {
      const shop = await startApp(engine, { env: { AUTO_CONFIRM: 'true' } })
      try {
        const c = await shop.user()
        const r = await shop.req('POST', '/api/reservations/', {
          user: c,
          body: { start_time: at(3, '10:00'), end_time: at(3, '10:30') },
        })
        expect(json<R>(r)).toMatchObject({ status: 'confirmed' })
        expect(json<R>(r).confirmed_at).toBeTruthy()
      } finally {
        await shop.close()
      }
    })
  })
}
