import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { at, dialects, json, startApp } from './helpers.js'
import type { TestApp, TestUser } from './helpers.js'

type R = { id: number; customer: number; staff: number | null; status: string }

/** Who may book for whom, and the limits on customers (API.md; issue 11). */
for (const engine of await dialects()) {
  describe(`${engine}: booking rules`, () => {
    let t: TestApp
    let admin: TestUser
    beforeAll(async () => {
      t = await startApp(engine)
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
  })
}
