import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { dialects, json, startApp } from './helpers.js'
import type { TestApp, TestUser } from './helpers.js'

/*
 * Availability through HTTP only. Every app runs on a fixed clock so the dates below stay in the
 * future (and the DST days stay inside the horizon) whenever the suite runs.
 */

interface Slot {
  start_time: string
  end_time: string
  staff: number[]
}
interface AvailabilityBody {
  date: string
  timezone: string
  slots: Slot[]
}

const MIN = 60_000
// Monday 06:00 UTC.
const NOW = '2027-01-04T06:00:00Z'
const TUE = '2027-01-05'

const plus = (instant: string, minutes: number): string =>
  new Date(new Date(instant).getTime() + minutes * MIN).toISOString().replace('.000Z', 'Z')

/** The ISO instant of HH:MM UTC on a date. */
const utc = (date: string, hhmm: string): string => `${date}T${hhmm}:00Z`

/** Every start from `from` (inclusive) to `to` (exclusive) `step` minutes apart. */
function grid(from: string, to: string, step = 15): string[] {
  const out: string[] = []
  for (let t = new Date(from).getTime(); t < new Date(to).getTime(); t += step * MIN) {
    out.push(new Date(t).toISOString().replace('.000Z', 'Z'))
  }
  return out
}

function query(params: Record<string, string | number | undefined>): string {
  const q = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&')
  return `/api/availability/?${q}`
}

async function slotsOf(
  t: TestApp,
  params: Record<string, string | number | undefined>,
): Promise<AvailabilityBody> {
  const res = await t.req('GET', query(params))
  expect(res.statusCode, res.body).toBe(200)
  return json<AvailabilityBody>(res)
}

const starts = (body: AvailabilityBody): string[] => body.slots.map((s) => s.start_time)

/** Starts must be strictly increasing and each end = start + minutes. */
function expectWellFormed(body: AvailabilityBody, minutes: number): void {
  for (let i = 0; i < body.slots.length; i++) {
    const s = body.slots[i]!
    expect(s.end_time).toBe(plus(s.start_time, minutes))
    if (i > 0) expect(s.start_time > body.slots[i - 1]!.start_time).toBe(true)
    expect([...s.staff].sort((a, b) => a - b)).toEqual(s.staff)
  }
}

async function fixedApp(engine: Parameters<typeof startApp>[0], env: Record<string, string>) {
  const t = await startApp(engine, {
    jobs: false,
    env: { ACCESS_TOKEN_MINUTES: '10080', ...env },
  })
  t.clock.set(NOW)
  return t
}

for (const engine of await dialects()) {
  describe(`${engine}: availability`, () => {
    let t: TestApp
    let admin: TestUser
    let customer: TestUser
    let a: TestUser
    let b: TestUser
    let c: TestUser
    let everyone: number[]

    beforeAll(async () => {
      t = await fixedApp(engine, {
        SHOP_TIMEZONE: 'UTC',
        OPENING_HOURS: 'mon-sat 09:00-17:00',
        BOOKING_HORIZON_DAYS: '30',
      })
      admin = await t.user({ admin: true })
      customer = await t.user()
      a = await t.user({ staff: true })
      b = await t.user({ staff: true })
      c = await t.user({ staff: true })
      // An inactive barber is never offered.
      await t.user({ staff: true, active: false })
      everyone = [a.id, b.id, c.id].sort((x, y) => x - y)
    })
    afterAll(async () => t?.close())

    const book = (user: TestUser, body: Record<string, unknown>) =>
      t.req('POST', '/api/reservations/', { user, body })

    it('offers every start within opening hours, by every free barber', async () => {
      const body = await slotsOf(t, { date: TUE })
      expect(body.date).toBe(TUE)
      expect(body.timezone).toBe('UTC')
      expect(starts(body)).toEqual(grid(utc(TUE, '09:00'), utc(TUE, '17:00')))
      expect(body.slots).toHaveLength(32)
      expectWellFormed(body, 15)
      for (const s of body.slots) expect(s.staff).toEqual(everyone)
      // Sunday is closed.
      expect((await slotsOf(t, { date: '2027-01-10' })).slots).toEqual([])
    })

    it('narrows to one barber with ?staff=, and refuses unknown or non-staff ids', async () => {
      const body = await slotsOf(t, { date: TUE, staff: b.id })
      expect(body.slots).toHaveLength(32)
      for (const s of body.slots) expect(s.staff).toEqual([b.id])
      const retired = await t.user({ staff: true, active: false })
      for (const bad of [customer.id, retired.id, 999_999]) {
        const res = await t.req('GET', query({ date: TUE, staff: bad }))
        expect(res.statusCode).toBe(400)
        expect(Object.keys(json(res))).toEqual(['staff'])
      }
      expect((await t.req('GET', query({ date: TUE, staff: 'x' }))).statusCode).toBe(400)
    })

    it('uses ?duration= for the length: the slot must end by closing time', async () => {
      const body = await slotsOf(t, { date: TUE, duration: 60 })
      expect(starts(body)).toEqual(grid(utc(TUE, '09:00'), utc(TUE, '16:15')))
      expect(body.slots.at(-1)?.end_time).toBe(utc(TUE, '17:00'))
      expectWellFormed(body, 60)
      const odd = await slotsOf(t, { date: TUE, duration: 50 })
      expect(odd.slots.at(-1)?.start_time).toBe(utc(TUE, '16:00'))
      expectWellFormed(odd, 50)
      for (const bad of ['4', '481', '0', '-15', 'abc', '15.5']) {
        const res = await t.req('GET', query({ date: TUE, duration: bad }))
        expect(res.statusCode, bad).toBe(400)
        expect(json(res)).toHaveProperty('duration')
      }
    })

    it("uses a service's duration, and its buffer holds the barber after a booking", async () => {
      const day = '2027-01-06'
      const svc = await t.service({ duration: 45, buffer: 15 })
      const body = await slotsOf(t, { date: day, service: svc })
      // 45 minutes must fit before closing; the clean-up buffer may run past it.
      expect(starts(body)).toEqual(grid(utc(day, '09:00'), utc(day, '16:30')))
      expectWellFormed(body, 45)

      const res = await book(customer, { start_time: utc(day, '10:00'), service: svc, staff: a.id })
      expect(res.statusCode, res.body).toBe(201)
      expect(json(res).end_time).toBe(utc(day, '10:45'))
      // a is held 10:00-11:00. Another 45+15 service fits before it only when it ends by 10:00
      // (its own buffer may overlap nothing either): start ≤ 09:00; after it: start ≥ 11:00.
      const forA = await slotsOf(t, { date: day, service: svc, staff: a.id })
      expect(starts(forA)).toEqual([
        utc(day, '09:00'),
        ...grid(utc(day, '11:00'), utc(day, '16:30')),
      ])
      // A 45-minute booking without buffer may end right at 10:00 and start at 11:00, not 10:45.
      const plain = await slotsOf(t, { date: day, duration: 45, staff: a.id })
      expect(starts(plain)).toEqual([
        ...grid(utc(day, '09:00'), utc(day, '09:30')),
        ...grid(utc(day, '11:00'), utc(day, '16:30')),
      ])
      expect(starts(plain)).not.toContain(utc(day, '10:45'))
      // Without ?staff=, the slots stay but a is left out while held.
      const all = await slotsOf(t, { date: day, service: svc })
      const at1030 = all.slots.find((s) => s.start_time === utc(day, '10:30'))
      expect(at1030?.staff).toEqual(everyone.filter((id) => id !== a.id))
      expect(all.slots.find((s) => s.start_time === utc(day, '11:00'))?.staff).toEqual(everyone)
      // And booking agrees: a at 10:45 (inside the buffer) is refused, at 11:00 accepted.
      const inBuffer = await book(customer, {
        start_time: utc(day, '10:45'),
        end_time: utc(day, '11:00'),
        staff: a.id,
      })
      expect(inBuffer.statusCode).toBe(409)
      expect(json(inBuffer).code).toBe('slot_unavailable')
      const after = await book(customer, {
        start_time: utc(day, '11:00'),
        end_time: utc(day, '11:15'),
        staff: a.id,
      })
      expect(after.statusCode).toBe(201)

      const inactive = await t.service({ active: false })
      for (const bad of [inactive, 999_999]) {
        const r = await t.req('GET', query({ date: day, service: bad }))
        expect(r.statusCode).toBe(400)
        expect(Object.keys(json(r))).toEqual(['service'])
      }
    })

    it("narrows to a barber's working hours, set through PUT /api/staff/{id}/hours/", async () => {
      const day = '2027-01-07' // Thursday
      const put = (user: TestUser, hours: string | null) =>
        t.req('PUT', `/api/staff/${c.id}/hours/`, { user, body: { hours } })
      expect((await put(customer, 'mon-fri 12:00-14:00')).statusCode).toBe(403)
      const set = await put(c, 'mon-fri 08:00-10:00,12:00-14:00')
      expect(set.statusCode, set.body).toBe(200)
      expect(json(set).hours).toBe('mon-fri 08:00-10:00,12:00-14:00')
      try {
        const own = await slotsOf(t, { date: day, staff: c.id })
        // The shop opens at 09:00, so 08:00-10:00 counts from 09:00.
        expect(starts(own)).toEqual([
          ...grid(utc(day, '09:00'), utc(day, '10:00')),
          ...grid(utc(day, '12:00'), utc(day, '14:00')),
        ])
        // An hour-long slot must fit inside one of the barber's ranges.
        const hour = await slotsOf(t, { date: day, staff: c.id, duration: 60 })
        expect(starts(hour)).toEqual([
          utc(day, '09:00'),
          ...grid(utc(day, '12:00'), utc(day, '13:15')),
        ])
        // Saturday: the shop is open, c is not.
        expect((await slotsOf(t, { date: '2027-01-09', staff: c.id })).slots).toEqual([])
        const all = await slotsOf(t, { date: day })
        expect(all.slots).toHaveLength(32)
        for (const s of all.slots) {
          const hhmm = s.start_time.slice(11, 16)
          const cWorks = (hhmm >= '09:00' && hhmm < '10:00') || (hhmm >= '12:00' && hhmm < '14:00')
          expect(s.staff).toEqual(cWorks ? everyone : everyone.filter((id) => id !== c.id))
        }
        // Booking agrees with availability.
        const outside = await book(customer, {
          start_time: utc(day, '10:00'),
          end_time: utc(day, '10:15'),
          staff: c.id,
        })
        expect(outside.statusCode).toBe(400)
        const inside = await book(customer, {
          start_time: utc(day, '13:45'),
          end_time: utc(day, '14:00'),
          staff: c.id,
        })
        expect(inside.statusCode).toBe(201)
      } finally {
        const reset = await put(admin, null)
        expect(json(reset).hours).toBeNull()
      }
      expect((await slotsOf(t, { date: '2027-01-09', staff: c.id })).slots).toHaveLength(32)
    })

    it("removes a barber's time off and a shop closure", async () => {
      const day = '2027-01-08'
      const off = await t.req('POST', '/api/time-off/', {
        user: a,
        body: { start_time: utc(day, '13:00'), end_time: utc(day, '14:00'), reason: 'dentist' },
      })
      expect(off.statusCode, off.body).toBe(201)
      expect(json(off).staff).toBe(a.id)
      const closure = await t.req('POST', '/api/time-off/', {
        user: admin,
        body: { staff: null, start_time: utc(day, '15:00'), end_time: utc(day, '16:00') },
      })
      expect(closure.statusCode, closure.body).toBe(201)
      expect(json(closure).staff).toBeNull()

      const forA = await slotsOf(t, { date: day, staff: a.id })
      expect(starts(forA)).toEqual([
        ...grid(utc(day, '09:00'), utc(day, '13:00')),
        ...grid(utc(day, '14:00'), utc(day, '15:00')),
        ...grid(utc(day, '16:00'), utc(day, '17:00')),
      ])
      // An hour from 12:00 touches the absence; from 12:15 it runs into it.
      const hourA = await slotsOf(t, { date: day, staff: a.id, duration: 60 })
      expect(starts(hourA)).toContain(utc(day, '12:00'))
      expect(starts(hourA)).not.toContain(utc(day, '12:15'))
      expect(starts(hourA)).toContain(utc(day, '14:00'))
      expect(starts(hourA)).not.toContain(utc(day, '14:15'))

      const all = await slotsOf(t, { date: day })
      expect(starts(all)).toEqual([
        ...grid(utc(day, '09:00'), utc(day, '15:00')),
        ...grid(utc(day, '16:00'), utc(day, '17:00')),
      ])
      for (const s of all.slots) {
        const hhmm = s.start_time.slice(11, 16)
        const aAway = hhmm >= '13:00' && hhmm < '14:00'
        expect(s.staff).toEqual(aAway ? everyone.filter((id) => id !== a.id) : everyone)
      }
      const closed = await book(customer, {
        start_time: utc(day, '15:30'),
        end_time: utc(day, '15:45'),
      })
      expect(closed.statusCode).toBe(409)
    })

    it('omits past slots; a past date is empty', async () => {
      try {
        t.clock.set('2027-01-12T10:07:00Z')
        const today = await slotsOf(t, { date: '2027-01-12' })
        expect(starts(today)).toEqual(grid(utc('2027-01-12', '10:15'), utc('2027-01-12', '17:00')))
        t.clock.set('2027-01-12T10:15:00Z')
        expect((await slotsOf(t, { date: '2027-01-12' })).slots[0]?.start_time).toBe(
          utc('2027-01-12', '10:15'),
        )
        t.clock.set('2027-01-12T17:00:00Z')
        expect((await slotsOf(t, { date: '2027-01-12' })).slots).toEqual([])
        expect((await slotsOf(t, { date: '2027-01-11' })).slots).toEqual([])
        expect((await slotsOf(t, { date: '2020-06-01' })).slots).toEqual([])
      } finally {
        t.clock.set(NOW)
      }
    })

    it('refuses a date beyond BOOKING_HORIZON_DAYS or malformed', async () => {
      // Today (shop zone) is 2027-01-04: +30 days is the last bookable date.
      expect((await slotsOf(t, { date: '2027-02-03' })).slots).toHaveLength(32)
      const far = await t.req('GET', query({ date: '2027-02-04' }))
      expect(far.statusCode).toBe(400)
      expect(Object.keys(json(far))).toEqual(['date'])
      for (const bad of [
        '2027-1-5',
        '2027-02-30',
        '2027-13-01',
        'tomorrow',
        '05/01/2027',
        '2027-01-05T10:00',
        '',
      ]) {
        const res = await t.req('GET', query({ date: bad }))
        expect(res.statusCode, bad).toBe(400)
        expect(json(res)).toHaveProperty('date')
      }
      const missing = await t.req('GET', '/api/availability/')
      expect(missing.statusCode).toBe(400)
      expect(json(missing)).toHaveProperty('date')
    })

    it('is public and answers on the path without the final slash too', async () => {
      const res = await t.req('GET', `/api/availability?date=${TUE}`)
      expect(res.statusCode).toBe(200)
      expect(json<AvailabilityBody>(res).slots).toHaveLength(32)
    })
  })

  describe(`${engine}: availability in a one-chair shop`, () => {
    let t: TestApp
    let customer: TestUser
    let other: TestUser

    beforeAll(async () => {
      t = await fixedApp(engine, { SHOP_TIMEZONE: 'UTC', OPENING_HOURS: 'mon-fri 09:00-12:00' })
      customer = await t.user()
      other = await t.user()
      await t.user({ admin: true })
    })
    afterAll(async () => t?.close())

    it('offers the chair, and one booking blocks it for everyone', async () => {
      const body = await slotsOf(t, { date: TUE })
      expect(starts(body)).toEqual(grid(utc(TUE, '09:00'), utc(TUE, '12:00')))
      for (const s of body.slots) expect(s.staff).toEqual([])

      const res = await t.req('POST', '/api/reservations/', {
        user: customer,
        body: { start_time: utc(TUE, '10:00'), end_time: utc(TUE, '10:30') },
      })
      expect(res.statusCode, res.body).toBe(201)
      expect(json(res).staff).toBeNull()

      const after = await slotsOf(t, { date: TUE })
      expect(starts(after)).toEqual([
        ...grid(utc(TUE, '09:00'), utc(TUE, '10:00')),
        ...grid(utc(TUE, '10:30'), utc(TUE, '12:00')),
      ])
      const half = await slotsOf(t, { date: TUE, duration: 30 })
      expect(starts(half)).toEqual([
        ...grid(utc(TUE, '09:00'), utc(TUE, '09:45')),
        ...grid(utc(TUE, '10:30'), utc(TUE, '11:45')),
      ])
      const clash = await t.req('POST', '/api/reservations/', {
        user: other,
        body: { start_time: utc(TUE, '09:45'), end_time: utc(TUE, '10:15') },
      })
      expect(clash.statusCode).toBe(409)
      const touching = await t.req('POST', '/api/reservations/', {
        user: other,
        body: { start_time: utc(TUE, '09:30'), end_time: utc(TUE, '10:00') },
      })
      expect(touching.statusCode).toBe(201)
      expect(starts(await slotsOf(t, { date: TUE, duration: 30 }))).toEqual([
        utc(TUE, '09:00'),
        ...grid(utc(TUE, '10:30'), utc(TUE, '11:45')),
      ])
      // A cancelled reservation frees the chair again.
      const id = json<{ id: number }>(res).id
      const cancel = await t.req('PATCH', `/api/reservations/${id}/`, {
        user: customer,
        body: { status: 'cancelled' },
      })
      expect(cancel.statusCode, cancel.body).toBe(200)
      expect(starts(await slotsOf(t, { date: TUE, duration: 30 }))).toEqual([
        ...grid(utc(TUE, '09:00'), utc(TUE, '09:15')),
        ...grid(utc(TUE, '10:00'), utc(TUE, '11:45')),
      ])
    })
  })

  /*
   * DST. Each case: the zone, the day, the shop's hours, the number of 15-minute slots and the
   * first and last start as UTC instants.
   */
  interface DstCase {
    zone: string
    date: string
    count: number
    first: string
    last: string
  }
  const fullDay: DstCase[] = [
    // Sofia: 2027-03-28 03:00 EET → 04:00 EEST (23 h); 2027-10-31 04:00 EEST → 03:00 EET (25 h).
    {
      zone: 'Europe/Sofia',
      date: '2027-03-27',
      count: 96,
      first: '2027-03-26T22:00:00Z',
      last: '2027-03-27T21:45:00Z',
    },
    {
      zone: 'Europe/Sofia',
      date: '2027-03-28',
      count: 92,
      first: '2027-03-27T22:00:00Z',
      last: '2027-03-28T20:45:00Z',
    },
    {
      zone: 'Europe/Sofia',
      date: '2027-10-31',
      count: 100,
      first: '2027-10-30T21:00:00Z',
      last: '2027-10-31T21:45:00Z',
    },
    {
      zone: 'Europe/Sofia',
      date: '2027-11-01',
      count: 96,
      first: '2027-10-31T22:00:00Z',
      last: '2027-11-01T21:45:00Z',
    },
    // New York: 2027-03-14 02:00 EST → 03:00 EDT; 2027-11-07 02:00 EDT → 01:00 EST.
    {
      zone: 'America/New_York',
      date: '2027-03-14',
      count: 92,
      first: '2027-03-14T05:00:00Z',
      last: '2027-03-15T03:45:00Z',
    },
    {
      zone: 'America/New_York',
      date: '2027-11-07',
      count: 100,
      first: '2027-11-07T04:00:00Z',
      last: '2027-11-08T04:45:00Z',
    },
  ]
  const earlyHours: DstCase[] = [
    // 01:00-05:00 local. Sofia spring: 01:00 EET = 23:00Z, 05:00 EEST = 02:00Z (3 h).
    {
      zone: 'Europe/Sofia',
      date: '2027-03-28',
      count: 12,
      first: '2027-03-27T23:00:00Z',
      last: '2027-03-28T01:45:00Z',
    },
    // Sofia autumn: 01:00 EEST = 22:00Z, 05:00 EET = 03:00Z (5 h).
    {
      zone: 'Europe/Sofia',
      date: '2027-10-31',
      count: 20,
      first: '2027-10-30T22:00:00Z',
      last: '2027-10-31T02:45:00Z',
    },
    // New York spring: 01:00 EST = 06:00Z, 05:00 EDT = 09:00Z (3 h).
    {
      zone: 'America/New_York',
      date: '2027-03-14',
      count: 12,
      first: '2027-03-14T06:00:00Z',
      last: '2027-03-14T08:45:00Z',
    },
    // New York autumn: 01:00 EDT = 05:00Z (the first 01:00), 05:00 EST = 10:00Z (5 h).
    {
      zone: 'America/New_York',
      date: '2027-11-07',
      count: 20,
      first: '2027-11-07T05:00:00Z',
      last: '2027-11-07T09:45:00Z',
    },
  ]

  /** Slots must tile the open time: every start 15 minutes after the previous one. */
  function expectContiguous(body: AvailabilityBody, c: DstCase): void {
    expect(body.slots).toHaveLength(c.count)
    expect(body.slots[0]?.start_time).toBe(c.first)
    expect(body.slots.at(-1)?.start_time).toBe(c.last)
    expect(starts(body)).toEqual(grid(c.first, plus(c.last, 1)))
    expectWellFormed(body, 15)
  }

  for (const zone of ['Europe/Sofia', 'America/New_York']) {
    describe(`${engine}: availability across DST in ${zone}`, () => {
      let allDay: TestApp
      let early: TestApp
      let barber: TestUser
      let nightOwl: TestUser
      let customer: TestUser

      beforeAll(async () => {
        allDay = await fixedApp(engine, {
          SHOP_TIMEZONE: zone,
          OPENING_HOURS: 'mon-sun 00:00-24:00',
          BOOKING_HORIZON_DAYS: '500',
        })
        early = await fixedApp(engine, {
          SHOP_TIMEZONE: zone,
          OPENING_HOURS: 'mon-sun 01:00-05:00',
          BOOKING_HORIZON_DAYS: '500',
        })
        barber = await allDay.user({ staff: true })
        nightOwl = await allDay.user({ staff: true, hours: 'mon-sun 01:00-05:00' })
        customer = await allDay.user()
        await early.user({ staff: true })
      })
      afterAll(async () => {
        await allDay?.close()
        await early?.close()
      })

      it('gives the right local slots on a shop open round the clock', async () => {
        for (const c of fullDay.filter((x) => x.zone === zone)) {
          const body = await slotsOf(allDay, { date: c.date, staff: barber.id })
          expect(body.timezone).toBe(zone)
          expectContiguous(body, c)
        }
      })

      it('gives the right local slots for 01:00-05:00, as shop hours and as barber hours', async () => {
        for (const c of earlyHours.filter((x) => x.zone === zone)) {
          expectContiguous(await slotsOf(early, { date: c.date }), c)
          expectContiguous(await slotsOf(allDay, { date: c.date, staff: nightOwl.id }), c)
          // Booking agrees at both ends, and refuses just outside.
          const ok = await allDay.req('POST', '/api/reservations/', {
            user: customer,
            body: { start_time: c.last, end_time: plus(c.last, 15), staff: nightOwl.id },
          })
          expect(ok.statusCode, ok.body).toBe(201)
          const late = await allDay.req('POST', '/api/reservations/', {
            user: customer,
            body: { start_time: plus(c.last, 15), end_time: plus(c.last, 30), staff: nightOwl.id },
          })
          expect(late.statusCode).toBe(400)
          const before = await allDay.req('POST', '/api/reservations/', {
            user: customer,
            body: { start_time: plus(c.first, -15), end_time: c.first, staff: nightOwl.id },
          })
          expect(before.statusCode).toBe(400)
        }
      })

      it("counts the horizon from the shop's local date", async () => {
        // 23:30Z on 2027-01-04 is already 2027-01-05 in Sofia, still 2027-01-04 in New York.
        const localToday = zone === 'Europe/Sofia' ? '2027-01-05' : '2027-01-04'
        const last = new Date(Date.parse(`${localToday}T00:00:00Z`) + 500 * 86_400_000)
          .toISOString()
          .slice(0, 10)
        const after = new Date(Date.parse(`${last}T00:00:00Z`) + 86_400_000)
          .toISOString()
          .slice(0, 10)
        try {
          allDay.clock.set('2027-01-04T23:30:00Z')
          expect((await allDay.req('GET', query({ date: last }))).statusCode).toBe(200)
          expect((await allDay.req('GET', query({ date: after }))).statusCode).toBe(400)
          // Past local slots of today are gone: the first start is the next quarter hour.
          const today = await slotsOf(allDay, { date: localToday, staff: barber.id })
          expect(today.slots[0]?.start_time).toBe('2027-01-04T23:30:00Z')
        } finally {
          allDay.clock.set(NOW)
        }
      })

      it('lets a round-the-clock slot run past midnight into the next open day', async () => {
        const c = fullDay.find((x) => x.zone === zone && x.count === 92)!
        const body = await slotsOf(allDay, { date: c.date, staff: barber.id, duration: 60 })
        expect(body.slots).toHaveLength(92)
        expect(body.slots.at(-1)?.end_time).toBe(plus(c.last, 60))
        const short = await slotsOf(early, { date: c.date, duration: 60 })
        expect(short.slots).toHaveLength(9)
      })

      it('tells the two occurrences of a repeated hour apart', async () => {
        const c = fullDay.find((x) => x.zone === zone && x.count === 100)!
        // The repeated local hour: Sofia 03:00-04:00 (00:00Z then 01:00Z), New York 01:00-02:00
        // (05:00Z then 06:00Z). Book the second occurrence of :30.
        const firstRepeat = zone === 'Europe/Sofia' ? `${c.date}T00:30:00Z` : `${c.date}T05:30:00Z`
        const second = plus(firstRepeat, 60)
        const res = await allDay.req('POST', '/api/reservations/', {
          user: customer,
          body: { start_time: second, end_time: plus(second, 30), staff: barber.id },
        })
        expect(res.statusCode, res.body).toBe(201)
        const body = await slotsOf(allDay, { date: c.date, staff: barber.id })
        expect(body.slots).toHaveLength(c.count - 2)
        expect(starts(body)).toContain(firstRepeat)
        expect(starts(body)).toContain(plus(firstRepeat, 15))
        expect(starts(body)).not.toContain(second)
        expect(starts(body)).not.toContain(plus(second, 15))
      })
    })
  }

  describe(`${engine}: every offered slot can be booked, and nothing else on the grid`, () => {
    let t: TestApp
    let admin: TestUser
    let customer: TestUser
    let staff: TestUser[]
    let services: { id: number; duration: number; buffer: number }[]
    let dayIndex = 0

    beforeAll(async () => {
      t = await fixedApp(engine, {
        SHOP_TIMEZONE: 'UTC',
        OPENING_HOURS: 'mon-fri 09:00-12:00,13:00-15:00',
        BOOKING_HORIZON_DAYS: '500',
      })
      admin = await t.user({ admin: true })
      customer = await t.user()
      staff = [
        await t.user({ staff: true }),
        await t.user({ staff: true, hours: 'mon-fri 10:00-11:30,13:00-14:00' }),
        await t.user({ staff: true, hours: 'mon,wed,fri 09:00-15:00' }),
      ]
      services = []
      for (const [duration, buffer] of [
        [30, 0],
        [45, 15],
        [20, 10],
        [60, 0],
      ] as const) {
        services.push({ id: await t.service({ duration, buffer }), duration, buffer })
      }
    })
    afterAll(async () => t?.close())

    /** A fresh weekday per run, so runs never see each other's bookings. */
    function nextWeekday(): string {
      for (;;) {
        dayIndex += 1
        const d = new Date(Date.UTC(2027, 0, 4 + dayIndex))
        const wd = d.getUTCDay()
        if (wd !== 0 && wd !== 6) return d.toISOString().slice(0, 10)
      }
    }

    /** The 15-minute starts inside opening hours (09:00-12:00, 13:00-15:00). */
    const openGrid = (date: string) => [
      ...grid(utc(date, '09:00'), utc(date, '12:00')),
      ...grid(utc(date, '13:00'), utc(date, '15:00')),
    ]

    const arbBooking = fc.record({
      minute: fc.integer({ min: 0, max: 71 }), // 5-minute steps from 09:00 to 14:55
      staff: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
      length: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom(5, 25, 90)),
    })
    const arbTimeOff = fc.record({
      minute: fc.integer({ min: 0, max: 71 }),
      length: fc.integer({ min: 1, max: 12 }),
      staff: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    })
    const arbQuery = fc.record({
      staff: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
      what: fc.oneof(
        fc.record({ service: fc.integer({ min: 0, max: 3 }) }),
        fc.record({ duration: fc.constantFrom(5, 15, 30, 40, 75) }),
        fc.constant({}),
      ),
      pickOffered: fc.array(fc.nat(), { maxLength: 4 }),
      pickOther: fc.array(fc.nat(), { maxLength: 3 }),
    })

    it('holds for random bookings, time off and queries', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(arbBooking, { maxLength: 8 }),
          fc.array(arbTimeOff, { maxLength: 2 }),
          fc.array(arbQuery, { minLength: 1, maxLength: 3 }),
          async (bookings, timeOff, queries) => {
            const date = nextWeekday()
            const minuteAt = (m: number) => plus(utc(date, '09:00'), m * 5)
            for (const bk of bookings) {
              const body: Record<string, unknown> = { start_time: minuteAt(bk.minute) }
              if (bk.staff !== undefined) body.staff = staff[bk.staff]!.id
              if (bk.length <= 3) body.service = services[bk.length]!.id
              else body.end_time = plus(minuteAt(bk.minute), bk.length)
              const res = await t.req('POST', '/api/reservations/', { user: admin, body })
              expect([201, 400, 409], res.body).toContain(res.statusCode)
            }
            for (const off of timeOff) {
              const start = minuteAt(off.minute)
              const res = await t.req('POST', '/api/time-off/', {
                user: admin,
                body: {
                  staff: off.staff === undefined ? null : staff[off.staff]!.id,
                  start_time: start,
                  end_time: plus(start, off.length * 10),
                },
              })
              expect(res.statusCode, res.body).toBe(201)
            }

            for (const q of queries) {
              const staffId = q.staff === undefined ? undefined : staff[q.staff]!.id
              const service = 'service' in q.what ? services[q.what.service]! : undefined
              const duration = 'duration' in q.what ? q.what.duration : undefined
              const length = service?.duration ?? duration ?? 15
              const body = await slotsOf(t, {
                date,
                staff: staffId,
                service: service?.id,
                duration,
              })
              expectWellFormed(body, length)
              const offered = new Map(body.slots.map((s) => [s.start_time, s]))
              const open = openGrid(date)
              for (const s of body.slots) {
                expect(open).toContain(s.start_time)
                expect(s.staff.length).toBeGreaterThan(0)
                if (staffId !== undefined) expect(s.staff).toEqual([staffId])
              }
              const request = (start: string) => {
                const b: Record<string, unknown> = { start_time: start }
                if (staffId !== undefined) b.staff = staffId
                if (service) b.service = service.id
                else b.end_time = plus(start, length)
                return t.req('POST', '/api/reservations/', { user: customer, body: b })
              }

              const chosen = new Set(
                q.pickOffered.map((i) => body.slots[i % Math.max(1, body.slots.length)]),
              )
              for (const slot of chosen) {
                if (!slot) continue
                const res = await request(slot.start_time)
                expect(res.statusCode, `${slot.start_time}: ${res.body}`).toBe(201)
                const created = json<{ id: number; staff: number | null }>(res)
                expect(slot.staff).toContain(created.staff)
                // Auto-assignment takes the first free barber, as availability lists them.
                expect(created.staff).toBe(slot.staff[0])
                const del = await t.req('DELETE', `/api/reservations/${created.id}/`, {
                  user: customer,
                })
                expect(del.statusCode).toBe(204)
              }

              const notOffered = open.filter((s) => !offered.has(s))
              const others = new Set(
                q.pickOther.map((i) => notOffered[i % Math.max(1, notOffered.length)]),
              )
              for (const start of others) {
                if (!start) continue
                const res = await request(start)
                expect([400, 409], `${start} was booked though not offered: ${res.body}`).toContain(
                  res.statusCode,
                )
              }
            }
          },
        ),
        { numRuns: 50 },
      )
    })
  })
}
