/**
 * The authorization matrix: every documented operation (from GET /api/schema/) × every
 * kind of caller → the one status that caller must get. A row per operation is
 * required (a new route fails here until it has one); extra rows try the bodies that
 * matter for permissions (status changes, admin-only fields, booking for someone else).
 *
 * Callers, relative to a fresh set of fixtures per cell:
 *   anon        no token
 *   owner       the customer who owns the reservation (and is the user in /users/{id})
 *   other       another customer
 *   staff       the barber the reservation is assigned to, who owns the time off
 *   otherStaff  another barber
 *   admin       an admin
 * The contract: 401 without a token on a protected route; 404, not 403, for an object
 * the caller may not see; 403 for a visible object the caller may not change.
 * Lists are also checked for leaks: the fixture must appear only for those who may see it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { at, dialects, PASSWORD, startApp, unique } from '../helpers.js'
import type { TestApp, TestUser } from '../helpers.js'
import { operationsOf } from './openapi.js'
import type { OpenApiDoc } from './openapi.js'

const CALLERS = ['anon', 'owner', 'other', 'staff', 'otherStaff', 'admin'] as const
type Caller = (typeof CALLERS)[number]

interface World {
  owner: TestUser
  other: TestUser
  staff: TestUser
  otherStaff: TestUser
  admin: TestUser
  service: number
  /** Pending, owned by `owner`, assigned to `staff`, five days ahead. */
  reservation: number
  /** `staff`'s absence. */
  timeOff: number
  /** A shop closure (no barber). */
  closure: number
  /** An outbox row (the new-reservation email). */
  notification: number
}

interface Row {
  /** `METHOD /path/` exactly as in the OpenAPI document. */
  op: string
  variant?: string
  id?: (w: World) => number
  query?: (w: World) => string
  body?: (w: World, t: TestApp) => unknown
  expect: Record<Caller, number>
  /** For lists: who must find the world's fixture in a 2xx answer (everyone else must not). */
  leak?: { contains: (w: World, body: unknown) => boolean; visibleTo: Caller[] }
}

/** Expected statuses in CALLERS order: anon, owner, other, staff, otherStaff, admin. */
const s = (...codes: [number, number, number, number, number, number]): Record<Caller, number> =>
  Object.fromEntries(CALLERS.map((c, i) => [c, codes[i]!])) as Record<Caller, number>

const ids = (body: unknown): number[] => {
  const b = body as { results?: { id: number }[]; reservations?: { id: number }[] }
  return (b.results ?? b.reservations ?? []).map((r) => r.id)
}
const owner = (w: World) => w.owner.id
const staffId = (w: World) => w.staff.id
const slot = (days: number, w: World) => ({
  start_time: at(days, '10:00'),
  end_time: at(days, '10:30'),
  staff: w.staff.id,
})
const login = async (w: World, t: TestApp) =>
  (
    await t.req('POST', '/api/auth/login/', {
      body: { username: w.owner.username, password: PASSWORD },
    })
  ).json<{ refresh: string }>().refresh

//                                                                          anon owner other staff oStaff admin
const MATRIX: Row[] = [
  { op: 'GET /health/', expect: s(200, 200, 200, 200, 200, 200) },
  { op: 'GET /health/ready/', expect: s(200, 200, 200, 200, 200, 200) },
  {
    op: 'POST /api/auth/register/',
    body: () => ({
      username: unique('reg'),
      email: `${unique('reg')}@example.com`,
      password: 'Tr1cky-Passphrase!',
    }),
    expect: s(201, 201, 201, 201, 201, 201),
  },
  {
    op: 'POST /api/auth/login/',
    body: (w) => ({ username: w.owner.username, password: PASSWORD }),
    expect: s(200, 200, 200, 200, 200, 200),
  },
  {
    op: 'POST /api/auth/refresh/',
    body: async (w, t) => ({ refresh: await login(w, t) }),
    expect: s(200, 200, 200, 200, 200, 200),
  },
  {
    op: 'POST /api/auth/logout/',
    body: async (w, t) => ({ refresh: await login(w, t) }),
    expect: s(204, 204, 204, 204, 204, 204),
  },
  { op: 'GET /api/auth/me/', expect: s(401, 200, 200, 200, 200, 200) },
  {
    op: 'POST /api/auth/password/reset/',
    body: () => ({ email: `${unique('reset')}@example.com` }),
    expect: s(204, 204, 204, 204, 204, 204),
  },
  {
    op: 'POST /api/auth/password/reset/confirm/',
    body: () => ({ token: 'not-a-token', password: 'Tr1cky-Passphrase!' }),
    expect: s(400, 400, 400, 400, 400, 400),
  },
  {
    op: 'POST /api/users/',
    body: () => ({ first_name: 'Walk', last_name: 'In', phone: '0888 123 456' }),
    expect: s(401, 403, 403, 201, 201, 201),
  },

  {
    op: 'GET /api/users/',
    expect: s(401, 403, 403, 403, 403, 200),
  },
  {
    op: 'GET /api/users/me/export/',
    expect: s(401, 200, 200, 200, 200, 200),
    leak: { contains: (w, b) => ids(b).includes(w.reservation), visibleTo: ['owner'] },
  },
  { op: 'GET /api/users/{id}/', id: owner, expect: s(401, 200, 404, 200, 404, 200) },
  {
    op: 'GET /api/users/{id}/',
    variant: 'a barber',
    id: staffId,
    expect: s(401, 404, 404, 200, 404, 200),
  },
  {
    op: 'GET /api/users/{id}/',
    variant: 'a customer no barber serves',
    id: (w) => w.other.id,
    expect: s(401, 404, 200, 404, 404, 200),
  },
  {
    op: 'PATCH /api/users/{id}/',
    id: owner,
    body: () => ({ first_name: 'Renamed' }),
    expect: s(401, 200, 404, 403, 404, 200),
  },
  {
    op: 'PATCH /api/users/{id}/',
    variant: 'is_admin',
    id: owner,
    body: () => ({ is_admin: true }),
    expect: s(401, 403, 404, 403, 404, 200),
  },
  {
    op: 'PATCH /api/users/{id}/',
    variant: 'is_staff_member on a barber',
    id: staffId,
    body: () => ({ is_staff_member: false }),
    expect: s(401, 404, 404, 403, 404, 200),
  },
  { op: 'DELETE /api/users/{id}/', id: owner, expect: s(401, 204, 404, 403, 404, 204) },

  { op: 'GET /api/services/', expect: s(200, 200, 200, 200, 200, 200) },
  { op: 'GET /api/shop/', expect: s(200, 200, 200, 200, 200, 200) },
  {
    op: 'POST /api/services/',
    body: () => ({ name: unique('Trim '), duration_minutes: 30, price: '20.00' }),
    expect: s(401, 403, 403, 403, 403, 201),
  },
  { op: 'GET /api/services/{id}/', id: (w) => w.service, expect: s(401, 403, 403, 403, 403, 200) },
  {
    op: 'PATCH /api/services/{id}/',
    id: (w) => w.service,
    body: () => ({ price: '30.00' }),
    expect: s(401, 403, 403, 403, 403, 200),
  },
  {
    op: 'DELETE /api/services/{id}/',
    id: (w) => w.service,
    expect: s(401, 403, 403, 403, 403, 204),
  },

  {
    op: 'GET /api/staff/',
    query: () => '?page_size=100',
    expect: s(200, 200, 200, 200, 200, 200),
    leak: { contains: (w, b) => ids(b).includes(w.owner.id), visibleTo: [] },
  },
  { op: 'GET /api/staff/{id}/hours/', id: staffId, expect: s(200, 200, 200, 200, 200, 200) },
  {
    op: 'PUT /api/staff/{id}/hours/',
    id: staffId,
    body: () => ({ hours: 'mon-sat 00:00-24:00' }),
    expect: s(401, 403, 403, 200, 403, 200),
  },

  {
    op: 'GET /api/time-off/',
    query: (w) => `?staff=${w.staff.id}&page_size=100`,
    expect: s(401, 403, 403, 200, 200, 200),
    leak: { contains: (w, b) => ids(b).includes(w.timeOff), visibleTo: ['staff', 'admin'] },
  },
  {
    op: 'POST /api/time-off/',
    body: (w) => ({
      staff: w.staff.id,
      start_time: at(-30, '09:00'),
      end_time: at(-30, '12:00'),
      reason: 'course',
    }),
    expect: s(401, 403, 403, 201, 403, 201),
  },
  {
    op: 'POST /api/time-off/',
    variant: 'a shop closure',
    body: () => ({
      staff: null,
      start_time: at(-31, '09:00'),
      end_time: at(-31, '12:00'),
      reason: 'holiday',
    }),
    expect: s(401, 403, 403, 403, 403, 201),
  },
  { op: 'GET /api/time-off/{id}/', id: (w) => w.timeOff, expect: s(401, 404, 404, 200, 404, 200) },
  {
    op: 'GET /api/time-off/{id}/',
    variant: 'a shop closure',
    id: (w) => w.closure,
    expect: s(401, 404, 404, 200, 200, 200),
  },
  {
    op: 'PATCH /api/time-off/{id}/',
    id: (w) => w.timeOff,
    body: () => ({ reason: 'changed' }),
    expect: s(401, 404, 404, 200, 404, 200),
  },
  {
    op: 'PATCH /api/time-off/{id}/',
    variant: 'handing it to another barber',
    id: (w) => w.timeOff,
    body: (w) => ({ staff: w.otherStaff.id }),
    expect: s(401, 404, 404, 403, 404, 200),
  },
  {
    op: 'PATCH /api/time-off/{id}/',
    variant: 'a shop closure',
    id: (w) => w.closure,
    body: () => ({ reason: 'changed' }),
    expect: s(401, 404, 404, 403, 403, 200),
  },
  {
    op: 'DELETE /api/time-off/{id}/',
    id: (w) => w.timeOff,
    expect: s(401, 404, 404, 204, 404, 204),
  },
  {
    op: 'DELETE /api/time-off/{id}/',
    variant: 'a shop closure',
    id: (w) => w.closure,
    expect: s(401, 404, 404, 403, 403, 204),
  },

  {
    op: 'GET /api/reservations/',
    query: () => '?ordering=-created_at&page_size=100',
    expect: s(401, 200, 200, 200, 200, 200),
    leak: {
      contains: (w, b) => ids(b).includes(w.reservation),
      visibleTo: ['owner', 'staff', 'admin'],
    },
  },
  {
    op: 'GET /api/reservations/',
    variant: '?customer=owner',
    query: (w) => `?customer=${w.owner.id}&page_size=100`,
    expect: s(401, 200, 200, 200, 200, 200),
    leak: {
      contains: (w, b) => ids(b).includes(w.reservation),
      visibleTo: ['owner', 'staff', 'admin'],
    },
  },
  {
    op: 'GET /api/reservations/',
    variant: '?staff=barber',
    query: (w) => `?staff=${w.staff.id}&page_size=100`,
    expect: s(401, 200, 200, 200, 200, 200),
    leak: {
      contains: (w, b) => ids(b).includes(w.reservation),
      visibleTo: ['owner', 'staff', 'admin'],
    },
  },
  {
    op: 'POST /api/reservations/',
    body: (w) => slot(6, w),
    expect: s(401, 201, 201, 201, 201, 201),
  },
  {
    op: 'POST /api/reservations/',
    variant: 'for the owner',
    // The slot names `staff` as the barber: they may book for the owner into their own column.
    body: (w) => ({ ...slot(6, w), customer: w.owner.id }),
    expect: s(401, 201, 403, 201, 403, 201),
  },
  {
    op: 'GET /api/reservations/{id}/',
    id: (w) => w.reservation,
    expect: s(401, 200, 404, 200, 404, 200),
  },
  {
    op: 'PATCH /api/reservations/{id}/',
    id: (w) => w.reservation,
    body: () => ({ notes: 'beard too' }),
    expect: s(401, 200, 404, 200, 404, 200),
  },
  {
    op: 'PATCH /api/reservations/{id}/',
    variant: 'confirm',
    id: (w) => w.reservation,
    body: () => ({ status: 'confirmed' }),
    expect: s(401, 403, 404, 200, 404, 200),
  },
  {
    op: 'PATCH /api/reservations/{id}/',
    variant: 'cancel',
    id: (w) => w.reservation,
    body: () => ({ status: 'cancelled' }),
    expect: s(401, 200, 404, 200, 404, 200),
  },
  {
    op: 'PATCH /api/reservations/{id}/',
    variant: 'give it to another customer',
    id: (w) => w.reservation,
    body: (w) => ({ customer: w.other.id }),
    expect: s(401, 403, 404, 403, 404, 200),
  },
  {
    op: 'PATCH /api/reservations/{id}/',
    variant: 'move to another barber',
    id: (w) => w.reservation,
    body: (w) => ({ staff: w.otherStaff.id }),
    expect: s(401, 200, 404, 200, 404, 200),
  },
  {
    op: 'DELETE /api/reservations/{id}/',
    id: (w) => w.reservation,
    expect: s(401, 204, 404, 403, 404, 204),
  },
  {
    op: 'GET /api/reservations/{id}/history/',
    id: (w) => w.reservation,
    expect: s(401, 200, 404, 200, 404, 200),
  },
  {
    op: 'GET /api/reservations/{id}/calendar.ics',
    id: (w) => w.reservation,
    expect: s(401, 200, 404, 200, 404, 200),
  },

  {
    op: 'GET /api/availability/',
    query: () => `?date=${at(1, '00:00').slice(0, 10)}`,
    expect: s(200, 200, 200, 200, 200, 200),
  },
  { op: 'GET /api/dashboard/stats/', expect: s(401, 403, 403, 200, 200, 200) },
  { op: 'GET /api/notifications/', expect: s(401, 403, 403, 403, 403, 200) },
  {
    op: 'POST /api/notifications/{id}/retry/',
    id: (w) => w.notification,
    expect: s(401, 403, 403, 403, 403, 200),
  },
]

for (const engine of await dialects()) {
  describe(`${engine}: authorization matrix`, () => {
    let t: TestApp
    let doc: OpenApiDoc
    let day = 0

    /** A fresh set of people and objects, so each cell starts from the same state. */
    async function world(): Promise<World> {
      const w = {
        owner: await t.user(),
        other: await t.user(),
        staff: await t.user({ staff: true }),
        otherStaff: await t.user({ staff: true }),
        admin: await t.user({ admin: true }),
        service: await t.service(),
      } as World
      day += 1
      const booked = await t.req('POST', '/api/reservations/', {
        user: w.owner,
        body: { ...slot(5, w), service: w.service, end_time: undefined },
      })
      expect(booked.statusCode, booked.payload).toBe(201)
      w.reservation = booked.json<{ id: number }>().id
      const off = await t.req('POST', '/api/time-off/', {
        user: w.staff,
        body: {
          start_time: at(-10 - (day % 300), '09:00'),
          end_time: at(-10 - (day % 300), '17:00'),
          reason: 'dentist',
        },
      })
      expect(off.statusCode, off.payload).toBe(201)
      w.timeOff = off.json<{ id: number }>().id
      const closed = await t.req('POST', '/api/time-off/', {
        user: w.admin,
        body: {
          staff: null,
          start_time: at(-400 - (day % 300), '09:00'),
          end_time: at(-400 - (day % 300), '17:00'),
          reason: 'holiday',
        },
      })
      expect(closed.statusCode, closed.payload).toBe(201)
      w.closure = closed.json<{ id: number }>().id
      const outbox = await t.database.db
        .selectFrom('outbox')
        .select((eb) => eb.fn.max('id').as('id'))
        .executeTakeFirstOrThrow()
      w.notification = Number(outbox.id)
      return w
    }

    beforeAll(async () => {
      t = await startApp(engine, { jobs: false })
      doc = (await t.req('GET', '/api/schema/')).json<OpenApiDoc>()
    })
    afterAll(async () => t?.close())

    it('has a row for every documented operation, and none for an undocumented one', () => {
      const documented = operationsOf(doc)
        .map((o) => o.key)
        .sort()
      const tabled = [...new Set(MATRIX.map((r) => r.op))].sort()
      expect(tabled).toEqual(documented)
    })

    for (const row of MATRIX) {
      it(`${row.op}${row.variant ? ` (${row.variant})` : ''}`, async () => {
        const [method, path] = row.op.split(' ') as [string, string]
        const wrong: string[] = []
        for (const caller of CALLERS) {
          const w = await world()
          const url =
            path.replace('{id}', row.id ? String(row.id(w)) : '0') + (row.query?.(w) ?? '')
          const body = row.body ? await row.body(w, t) : undefined
          const res = await t.req(method, url, {
            user: caller === 'anon' ? undefined : w[caller],
            body,
          })
          const want = row.expect[caller]
          if (res.statusCode !== want) {
            const verdict =
              res.statusCode < 300 && want >= 400 ? 'GRANTED WHAT MUST BE REFUSED' : 'wrong status'
            wrong.push(
              `${caller}: ${verdict}: expected ${want}, got ${res.statusCode} ${res.payload.slice(0, 160)}`,
            )
            continue
          }
          if (want === 401) {
            const code = res.json<{ code?: string }>().code
            if (code !== 'not_authenticated')
              wrong.push(`${caller}: 401 with code ${code}, expected not_authenticated`)
          }
          if (row.leak && want < 300) {
            const found = row.leak.contains(w, res.json())
            const may = row.leak.visibleTo.includes(caller)
            if (found && !may)
              wrong.push(`${caller}: LEAK: the list shows an object this caller may not see`)
            if (!found && may)
              wrong.push(`${caller}: the list misses an object this caller should see`)
          }
        }
        expect(
          wrong,
          `${row.op}${row.variant ? ` (${row.variant})` : ''}\n${wrong.join('\n')}`,
        ).toEqual([])
      }, 120_000)
    }
  })
}
