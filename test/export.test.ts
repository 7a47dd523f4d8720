import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dialects, json, startApp } from './helpers.js'
import type { TestApp, TestUser } from './helpers.js'

/* GET /api/users/me/export/: the caller's profile and all their reservations with history. */

interface Reservation {
  id: number
  customer: number
  staff: number | null
  start_time: string
  status: string
}
interface Exported {
  exported_at: string
  user: Record<string, unknown>
  reservations: (Reservation & { history: Record<string, unknown>[] })[]
}

const NOW = '2027-01-04T06:00:00Z'

for (const engine of await dialects()) {
  describe(`${engine}: data export`, () => {
    let t: TestApp
    let admin: TestUser
    let barber: TestUser
    let other: TestUser
    let alice: TestUser
    let bob: TestUser
    let loner: TestUser
    const aliceIds: number[] = []
    const bobIds: number[] = []
    const barberOwnIds: number[] = []

    beforeAll(async () => {
      t = await startApp(engine, { jobs: false, env: { ACCESS_TOKEN_MINUTES: '10080' } })
      t.clock.set(NOW)
      admin = await t.user({ admin: true })
      barber = await t.user({ staff: true })
      other = await t.user({ staff: true })
      alice = await t.user()
      bob = await t.user()
      loner = await t.user()

      const book = async (user: TestUser, body: Record<string, unknown>) => {
        const res = await t.req('POST', '/api/reservations/', { user, body })
        expect(res.statusCode, res.body).toBe(201)
        return json<Reservation>(res).id
      }
      const patch = async (user: TestUser, id: number, body: Record<string, unknown>) => {
        const res = await t.req('PATCH', `/api/reservations/${id}/`, { user, body })
        expect(res.statusCode, res.body).toBe(200)
      }
      // Alice: one moved after confirmation, one cancelled by her, one booked for her by the
      // admin (in reverse start order, so the export's ordering shows).
      const later = await book(alice, {
        start_time: '2027-01-20T10:00:00Z',
        end_time: '2027-01-20T10:30:00Z',
        staff: barber.id,
        notes: 'fade',
      })
      await patch(barber, later, { status: 'confirmed' })
      await patch(alice, later, {
        start_time: '2027-01-21T10:00:00Z',
        end_time: '2027-01-21T10:30:00Z',
      })
      const cancelled = await book(alice, {
        start_time: '2027-01-12T09:00:00Z',
        end_time: '2027-01-12T09:45:00Z',
        staff: barber.id,
      })
      await patch(alice, cancelled, { status: 'cancelled', cancellation_reason: 'sick' })
      const forHer = await book(admin, {
        start_time: '2027-01-15T12:00:00Z',
        end_time: '2027-01-15T12:30:00Z',
        staff: other.id,
        customer: alice.id,
      })
      aliceIds.push(cancelled, forHer, later)
      // Bob, with the same barber, at another time.
      bobIds.push(
        await book(bob, {
          start_time: '2027-01-20T11:00:00Z',
          end_time: '2027-01-20T11:30:00Z',
          staff: barber.id,
        }),
      )
      // The barber books a cut with a colleague as a customer.
      barberOwnIds.push(
        await book(barber, {
          start_time: '2027-01-22T08:00:00Z',
          end_time: '2027-01-22T08:30:00Z',
          staff: other.id,
        }),
      )
    })
    afterAll(async () => t?.close())

    async function exportOf(user: TestUser): Promise<Exported> {
      const res = await t.req('GET', '/api/users/me/export/', { user })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.headers['content-type']).toMatch(/application\/json/)
      expect(String(res.headers['content-disposition'])).toMatch(/^attachment;/)
      return json<Exported>(res)
    }

    it("holds the caller's profile and every reservation of theirs with its history", async () => {
      const data = await exportOf(alice)
      expect(Object.keys(data).sort()).toEqual(['exported_at', 'reservations', 'user'])
      expect(data.exported_at).toMatch(/^2027-01-04T06:00:00(\.000)?Z$/)
      const me = await t.req('GET', '/api/auth/me/', { user: alice })
      expect(data.user).toEqual(json(me))

      expect(data.reservations.map((r) => r.id)).toEqual(aliceIds)
      for (const r of data.reservations) {
        const { history, ...reservation } = r
        const one = await t.req('GET', `/api/reservations/${r.id}/`, { user: alice })
        expect(reservation).toEqual(json(one))
        const steps = await t.req('GET', `/api/reservations/${r.id}/history/`, { user: alice })
        expect(history).toEqual(json(steps))
        expect(history[0]).toMatchObject({ from_status: null, to_status: 'pending' })
      }
      const [cancelled, forHer, moved] = data.reservations
      expect(cancelled?.status).toBe('cancelled')
      expect(cancelled?.history.map((h) => h.to_status)).toEqual(['pending', 'cancelled'])
      expect(forHer?.customer).toBe(alice.id)
      expect(forHer?.history).toEqual([
        expect.objectContaining({ actor: admin.id, to_status: 'pending' }),
      ])
      expect(moved?.history.map((h) => [h.from_status, h.to_status])).toEqual([
        [null, 'pending'],
        ['pending', 'confirmed'],
        ['confirmed', 'pending'],
      ])
      expect(moved?.history[2]).toMatchObject({
        actor: alice.id,
        start_time: '2027-01-21T10:00:00Z',
        end_time: '2027-01-21T10:30:00Z',
      })
    })

    it("never includes anybody else's reservations or any secret", async () => {
      const alices = await t.req('GET', '/api/users/me/export/', { user: alice })
      for (const secret of ['password', 'argon2', 'working_hours', 'username_key', 'version']) {
        expect(alices.body).not.toContain(secret)
      }
      const bobs = await exportOf(bob)
      expect(bobs.user.id).toBe(bob.id)
      expect(bobs.reservations.map((r) => r.id)).toEqual(bobIds)
      for (const r of bobs.reservations) expect(r.customer).toBe(bob.id)
      // A barber's export is about them as a customer, not the bookings they serve.
      const barbers = await exportOf(barber)
      expect(barbers.user.id).toBe(barber.id)
      expect(barbers.reservations.map((r) => r.id)).toEqual(barberOwnIds)
      // The admin sees everything in the API, but exports only their own data.
      expect((await exportOf(admin)).reservations).toEqual([])
      expect((await exportOf(loner)).reservations).toEqual([])
    })

    it('follows deletions, needs a login, and is served without the final slash too', async () => {
      const bye = await t.req('POST', '/api/reservations/', {
        user: loner,
        body: {
          start_time: '2027-01-25T10:00:00Z',
          end_time: '2027-01-25T10:30:00Z',
          staff: barber.id,
        },
      })
      const id = json<Reservation>(bye).id
      expect((await exportOf(loner)).reservations.map((r) => r.id)).toEqual([id])
      expect((await t.req('DELETE', `/api/reservations/${id}/`, { user: loner })).statusCode).toBe(
        204,
      )
      expect((await exportOf(loner)).reservations).toEqual([])

      const anonymous = await t.req('GET', '/api/users/me/export/')
      expect(anonymous.statusCode).toBe(401)
      const noSlash = await t.req('GET', '/api/users/me/export', { user: bob })
      expect(noSlash.statusCode).toBe(200)
      expect(json<Exported>(noSlash).reservations.map((r) => r.id)).toEqual(bobIds)
    })
  })
}
