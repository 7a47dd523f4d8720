import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availability, availabilityUncached } from '../src/reservations/availability.js'
import type { Availability, AvailabilityQuery } from '../src/reservations/availability.js'
import { createDatabase } from '../src/db/database.js'
import type { DatabaseHandle } from '../src/db/database.js'
import { createTestDatabase, dialects, json, startApp } from './helpers.js'
import type { TestApp, TestUser } from './helpers.js'

/*
 * Availability answers from a per-process cache (src/cache/derived.ts). Every answer here is
 * compared with the same computation done afresh, after each kind of write that can change it
 * and as the clock passes slot starts.
 */

/** The body, as the contract gives it. */
type AvailabilityBody = Availability

// Monday 06:00 UTC; the shop is open mon-sat 09:00-17:00 UTC.
const NOW = '2027-01-04T06:00:00Z'
const TUE = '2027-01-05'
const WED = '2027-01-06'
const THU = '2027-01-07'
const FRI = '2027-01-08'
const utc = (date: string, hhmm: string): string => `${date}T${hhmm}:00Z`

const starts = (body: AvailabilityBody): string[] => body.slots.map((s) => s.start_time)
const staffAt = (body: AvailabilityBody, start: string): number[] | undefined =>
  body.slots.find((s) => s.start_time === start)?.staff

for (const engine of await dialects()) {
  describe(`${engine}: availability cache`, () => {
    let t: TestApp
    let other: DatabaseHandle
    let admin: TestUser
    let customer: TestUser
    let a: TestUser
    let b: TestUser
    let everyone: number[]

    beforeAll(async () => {
      const testDb = await createTestDatabase(engine)
      t = await startApp(engine, {
        jobs: false,
        database: testDb,
        env: {
          SHOP_TIMEZONE: 'UTC',
          OPENING_HOURS: 'mon-sat 09:00-17:00',
          BOOKING_HORIZON_DAYS: '30',
          ACCESS_TOKEN_MINUTES: '10080',
        },
      })
      t.clock.set(NOW)
      other = createDatabase(testDb.config)
      admin = await t.user({ admin: true })
      customer = await t.user()
      a = await t.user({ staff: true })
      b = await t.user({ staff: true })
      everyone = [a.id, b.id].sort((x, y) => x - y)
    })
    afterAll(async () => {
      await other?.close()
      await t?.close()
    })

    const url = (q: AvailabilityQuery): string =>
      `/api/availability/?${Object.entries(q)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
        .join('&')}`

    /**
     * The answer through HTTP, twice (the second from the cache when nothing changed), each
     * equal to the uncached computation at the same instant, with the usual JSON content type.
     */
    async function slots(q: AvailabilityQuery): Promise<AvailabilityBody> {
      const fresh = await availabilityUncached(t.runtime.ctx, q)
      let body: AvailabilityBody | undefined
      for (let i = 0; i < 2; i++) {
        const res = await t.req('GET', url(q))
        expect(res.statusCode, res.body).toBe(200)
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
        // Sent as is, not encoded a second time as a JSON string.
        expect(res.body.startsWith('{"date":')).toBe(true)
        expect(res.body).toBe(JSON.stringify(fresh))
        body = json<AvailabilityBody>(res)
        expect(body).toEqual(fresh)
      }
      return body!
    }

    /** A 400 through HTTP, twice, equal to the uncached computation's error. */
    async function refused(q: AvailabilityQuery): Promise<Record<string, string[]>> {
      const fresh = await availabilityUncached(t.runtime.ctx, q).then(
        () => null,
        (err: { fields?: Record<string, string[]> }) => err.fields,
      )
      expect(fresh).not.toBeNull()
      let body: Record<string, string[]> | undefined
      for (let i = 0; i < 2; i++) {
        const res = await t.req('GET', url(q))
        expect(res.statusCode, res.body).toBe(400)
        body = json<Record<string, string[]>>(res)
        expect(body).toEqual(fresh)
      }
      return body!
    }

    const book = async (body: Record<string, unknown>): Promise<number> => {
      const res = await t.req('POST', '/api/reservations/', {
        user: admin,
        body: { customer: customer.id, ...body },
      })
      expect(res.statusCode, res.body).toBe(201)
      return json<{ id: number }>(res).id
    }
    const patch = async (path: string, body: Record<string, unknown>, status = 200) => {
      const res = await t.req('PATCH', path, { user: admin, body })
      expect(res.statusCode, res.body).toBe(status)
    }

    it('answers the same as the uncached computation, and serves repeats from the cache', async () => {
      const first = await slots({ date: TUE })
      expect(first.slots).toHaveLength(32)
      for (const s of first.slots) expect(s.staff).toEqual(everyone)
      await slots({ date: TUE, staff: a.id })
      await slots({ date: TUE, duration: 60 })
      // On PostgreSQL any commit in the cluster (other test files) moves the snapshot, so a
      // second call may rightly compute again.
      if (engine !== 'postgres') {
        const q = { date: TUE }
        const one = await availability(t.runtime.ctx, q)
        const two = await availability(t.runtime.ctx, q)
        expect(two).toBe(one)
        expect(JSON.parse(one.json)).toEqual(await availabilityUncached(t.runtime.ctx, q))
      }
    })

    it('shows a booking, a status change and a cancellation at once', async () => {
      const start = utc(WED, '10:00')
      expect(staffAt(await slots({ date: WED }), start)).toEqual(everyone)
      expect(starts(await slots({ date: WED, staff: a.id }))).toContain(start)
      const id = await book({ staff: a.id, start_time: start, end_time: utc(WED, '10:30') })
      expect(staffAt(await slots({ date: WED }), start)).toEqual([b.id])
      expect(starts(await slots({ date: WED, staff: a.id }))).not.toContain(start)
      // Still active once confirmed; free again once cancelled.
      await patch(`/api/reservations/${id}/`, { status: 'confirmed' })
      expect(staffAt(await slots({ date: WED }), start)).toEqual([b.id])
      await patch(`/api/reservations/${id}/`, { status: 'cancelled' })
      expect(staffAt(await slots({ date: WED }), start)).toEqual(everyone)
      expect(starts(await slots({ date: WED, staff: a.id }))).toContain(start)
      // A status that ends the reservation (no-show) frees the barber as well.
      const again = await book({ staff: b.id, start_time: start, end_time: utc(WED, '10:30') })
      await patch(`/api/reservations/${again}/`, { status: 'confirmed' })
      expect(staffAt(await slots({ date: WED }), start)).toEqual([a.id])
      t.clock.set(utc(WED, '10:05'))
      try {
        await patch(`/api/reservations/${again}/`, { status: 'no_show' })
      } finally {
        t.clock.set(NOW)
      }
      expect(staffAt(await slots({ date: WED }), start)).toEqual(everyone)
      // Moving a reservation frees its old slot and takes the new one.
      const moved = await book({ staff: a.id, start_time: start, end_time: utc(WED, '10:30') })
      expect(staffAt(await slots({ date: WED }), start)).toEqual([b.id])
      await patch(`/api/reservations/${moved}/`, {
        start_time: utc(WED, '11:00'),
        end_time: utc(WED, '11:30'),
      })
      const after = await slots({ date: WED })
      expect(staffAt(after, start)).toEqual(everyone)
      expect(staffAt(after, utc(WED, '11:00'))).toEqual([b.id])
      const removed = await t.req('DELETE', `/api/reservations/${moved}/`, { user: admin })
      expect(removed.statusCode).toBe(204)
      expect(staffAt(await slots({ date: WED }), utc(WED, '11:00'))).toEqual(everyone)
    })

    it('shows time off, a closure and working hours at once', async () => {
      const start = utc(THU, '13:00')
      expect(staffAt(await slots({ date: THU }), start)).toEqual(everyone)
      const off = await t.req('POST', '/api/time-off/', {
        user: admin,
        body: { staff: a.id, start_time: start, end_time: utc(THU, '14:00') },
      })
      expect(off.statusCode, off.body).toBe(201)
      expect(staffAt(await slots({ date: THU }), start)).toEqual([b.id])
      const closure = await t.req('POST', '/api/time-off/', {
        user: admin,
        body: { staff: null, start_time: start, end_time: utc(THU, '14:00') },
      })
      expect(closure.statusCode, closure.body).toBe(201)
      expect(starts(await slots({ date: THU }))).not.toContain(start)
      const reopen = await t.req('DELETE', `/api/time-off/${json<{ id: number }>(closure).id}/`, {
        user: admin,
      })
      expect(reopen.statusCode).toBe(204)
      expect(staffAt(await slots({ date: THU }), start)).toEqual([b.id])
      const back = await t.req('DELETE', `/api/time-off/${json<{ id: number }>(off).id}/`, {
        user: admin,
      })
      expect(back.statusCode).toBe(204)
      expect(staffAt(await slots({ date: THU }), start)).toEqual(everyone)

      const hours = await t.req('PUT', `/api/staff/${b.id}/hours/`, {
        user: admin,
        body: { hours: 'mon-sat 09:00-12:00' },
      })
      expect(hours.statusCode, hours.body).toBe(200)
      expect(staffAt(await slots({ date: THU }), start)).toEqual([a.id])
      const reset = await t.req('PUT', `/api/staff/${b.id}/hours/`, {
        user: admin,
        body: { hours: null },
      })
      expect(reset.statusCode, reset.body).toBe(200)
      expect(staffAt(await slots({ date: THU }), start)).toEqual(everyone)
    })

    it('shows a barber deactivated, and refuses them by id, at once', async () => {
      const temp = await t.user({ staff: true })
      const all = [...everyone, temp.id].sort((x, y) => x - y)
      expect(staffAt(await slots({ date: FRI }), utc(FRI, '09:00'))).toEqual(all)
      expect((await slots({ date: FRI, staff: temp.id })).slots).toHaveLength(32)
      await patch(`/api/users/${temp.id}/`, { is_active: false })
      expect(staffAt(await slots({ date: FRI }), utc(FRI, '09:00'))).toEqual(everyone)
      expect(Object.keys(await refused({ date: FRI, staff: temp.id }))).toEqual(['staff'])
      await patch(`/api/users/${temp.id}/`, { is_active: true })
      expect((await slots({ date: FRI, staff: temp.id })).slots).toHaveLength(32)
    })

    it("shows a service's new length, buffer and retirement at once", async () => {
      const service = await t.service({ duration: 30 })
      const q = { date: FRI, service, staff: a.id }
      let body = await slots(q)
      expect(body.slots).toHaveLength(31)
      expect(body.slots[0]!.end_time).toBe(utc(FRI, '09:30'))
      await patch(`/api/services/${service}/`, { duration_minutes: 60 })
      body = await slots(q)
      expect(body.slots).toHaveLength(29)
      expect(body.slots[0]!.end_time).toBe(utc(FRI, '10:00'))
      // The buffer holds the barber after a booking of that service.
      await book({ staff: a.id, service, start_time: utc(FRI, '12:00') })
      expect(starts(await slots(q))).toContain(utc(FRI, '11:00'))
      expect(starts(await slots(q))).not.toContain(utc(FRI, '12:30'))
      expect(starts(await slots(q))).toContain(utc(FRI, '13:00'))
      await patch(`/api/services/${service}/`, { buffer_after_minutes: 30 })
      // The booking keeps the hold it was made with; a new one of 60 + 30 minutes running
      // into it no longer fits from 10:45 or 11:00.
      expect(starts(await slots(q))).not.toContain(utc(FRI, '11:00'))
      expect(starts(await slots(q))).not.toContain(utc(FRI, '10:45'))
      expect(starts(await slots(q))).toContain(utc(FRI, '10:30'))
      await patch(`/api/services/${service}/`, { is_active: false })
      expect(Object.keys(await refused(q))).toEqual(['service'])
      await patch(`/api/services/${service}/`, { is_active: true })
      await slots(q)
    })

    it('drops a slot the moment the clock passes its start, and gives it back if set back', async () => {
      const day = TUE
      try {
        t.clock.set(utc(day, '10:07'))
        expect(starts(await slots({ date: day }))[0]).toBe(utc(day, '10:15'))
        t.clock.set(utc(day, '10:14'))
        expect(starts(await slots({ date: day }))[0]).toBe(utc(day, '10:15'))
        // At the start itself it is still offered; one millisecond later it is not.
        t.clock.set(utc(day, '10:15'))
        expect(starts(await slots({ date: day }))[0]).toBe(utc(day, '10:15'))
        t.clock.set('2027-01-05T10:15:00.001Z')
        expect(starts(await slots({ date: day }))[0]).toBe(utc(day, '10:30'))
        t.clock.set(utc(day, '16:45'))
        expect(starts(await slots({ date: day }))).toEqual([utc(day, '16:45')])
        t.clock.set(utc(day, '16:46'))
        expect((await slots({ date: day })).slots).toEqual([])
        t.clock.set(utc(day, '23:00'))
        expect((await slots({ date: day })).slots).toEqual([])
        // A clock set back (tests, a corrected host clock) gets the earlier answer again.
        t.clock.set(utc(day, '09:50'))
        expect(starts(await slots({ date: day }))[0]).toBe(utc(day, '10:00'))
      } finally {
        t.clock.set(NOW)
      }
    })

    it('shows a write committed by another process', async () => {
      const start = utc(TUE, '15:00')
      expect(staffAt(await slots({ date: TUE }), start)).toEqual(expect.arrayContaining(everyone))
      await other.db
        .insertInto('time_off')
        .values({
          staff_id: null,
          start_time: new Date(start),
          end_time: new Date(utc(TUE, '16:00')),
          reason: '',
          created_at: new Date(),
        })
        .execute()
      const seen = async () =>
        starts(json<AvailabilityBody>(await t.req('GET', url({ date: TUE })))).includes(start)
      const began = performance.now()
      // MySQL/MariaDB: no signal of another process's commits, so within the 1 s bound.
      if (engine === 'mysql')
        while ((await seen()) && performance.now() - began < 3000)
          await new Promise((r) => setTimeout(r, 50))
      expect(await seen()).toBe(false)
      expect(performance.now() - began).toBeLessThan(engine === 'mysql' ? 1500 : 1000)
      await slots({ date: TUE })
    })
  })
}
