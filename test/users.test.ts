import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { at, dialects, json, PASSWORD, startApp } from './helpers.js'
import type { TestApp } from './helpers.js'

type U = {
  id: number
  username: string
  is_admin: boolean
  is_staff_member: boolean
  is_active: boolean
  phone: string
}
type Page<T> = { count: number; results: T[]; next: string | null; previous: string | null }

for (const engine of await dialects()) {
  describe(`${engine}: users`, () => {
    let t: TestApp
    beforeAll(async () => {
      t = await startApp(engine)
    })
    afterAll(async () => t?.close())

    it('lists users for admins only, with search, flags, ordering and a page size cap', async () => {
      const admin = await t.user({ admin: true })
      const customer = await t.user()
      const barber = await t.user({ staff: true, username: `zed_barber_${Date.now()}` })
      expect((await t.req('GET', '/api/users/', { user: customer })).statusCode).toBe(403)
      expect((await t.req('GET', '/api/users/', { user: barber })).statusCode).toBe(403)
      expect((await t.req('GET', '/api/users/')).statusCode).toBe(401)
      const all = json<Page<U>>(await t.req('GET', '/api/users/', { user: admin }))
      expect(all.count).toBeGreaterThanOrEqual(3)
      expect(all.results[0]).not.toHaveProperty('password')
      const search = json<Page<U>>(
        await t.req('GET', '/api/users/?search=ZED_BARBER', { user: admin }),
      )
      expect(search.results.map((u) => u.id)).toEqual([barber.id])
      const staff = json<Page<U>>(
        await t.req('GET', '/api/users/?is_staff_member=true', { user: admin }),
      )
      expect(staff.results.every((u) => u.is_staff_member)).toBe(true)
      const admins = json<Page<U>>(await t.req('GET', '/api/users/?is_admin=1', { user: admin }))
      expect(admins.results.every((u) => u.is_admin)).toBe(true)
      const byName = json<Page<U>>(
        await t.req('GET', '/api/users/?ordering=-username', { user: admin }),
      )
      const names = byName.results.map((u) => u.username)
      expect(names).toEqual([...names].sort().reverse())
      // An ordering DRF's OrderingFilter does not allow is dropped: the default order, 200.
      const unordered = await t.req('GET', '/api/users/?ordering=password', { user: admin })
      expect(unordered.statusCode).toBe(200)
      expect(json<Page<U>>(unordered).results.map((u) => u.id)).toEqual(
        json<Page<U>>(await t.req('GET', '/api/users/', { user: admin })).results.map((u) => u.id),
      )
      expect((await t.req('GET', '/api/users/?is_admin=maybe', { user: admin })).statusCode).toBe(
        400,
      )
      // DRF: a page that is not a positive integer is 404 "Invalid page."; a bad page_size
      // falls back to the default; an empty filter is no filter.
      for (const page of ['0', 'abc', '-1', ''])
        expect(
          json(await t.req('GET', `/api/users/?page=${page}`, { user: admin })),
          `page=${page}`,
        ).toEqual({ detail: 'Invalid page.', code: 'not_found' })
      for (const size of ['0', 'abc', '-5']) {
        const res = await t.req('GET', `/api/users/?page_size=${size}`, { user: admin })
        expect(res.statusCode, `page_size=${size}`).toBe(200)
      }
      expect(
        (await t.req('GET', '/api/users/?is_admin=&search=', { user: admin })).statusCode,
      ).toBe(200)
      for (let i = 0; i < 3; i++) await t.user()
      const small = json<Page<U>>(await t.req('GET', '/api/users/?page_size=2', { user: admin }))
      expect(small.results).toHaveLength(2)
      expect(small.next).toContain('page=2')
      expect(small.previous).toBeNull()
    })

    it('shows self and admin, and a barber their own customers read-only; 404 otherwise', async () => {
      const admin = await t.user({ admin: true })
      const customer = await t.user()
      const stranger = await t.user()
      const barber = await t.user({ staff: true })
      expect(
        (await t.req('GET', `/api/users/${customer.id}/`, { user: customer })).statusCode,
      ).toBe(200)
      expect((await t.req('GET', `/api/users/${customer.id}/`, { user: admin })).statusCode).toBe(
        200,
      )
      expect(
        (await t.req('GET', `/api/users/${customer.id}/`, { user: stranger })).statusCode,
      ).toBe(404)
      expect((await t.req('GET', `/api/users/${customer.id}/`, { user: barber })).statusCode).toBe(
        404,
      )
      await t.req('POST', '/api/reservations/', {
        user: customer,
        body: { start_time: at(2, '10:00'), end_time: at(2, '10:30'), staff: barber.id },
      })
      expect((await t.req('GET', `/api/users/${customer.id}/`, { user: barber })).statusCode).toBe(
        200,
      )
      expect(
        (
          await t.req('PATCH', `/api/users/${customer.id}/`, {
            user: barber,
            body: { first_name: 'X' },
          })
        ).statusCode,
      ).toBe(403)
      expect(
        (await t.req('DELETE', `/api/users/${customer.id}/`, { user: barber })).statusCode,
      ).toBe(403)
      expect((await t.req('GET', '/api/users/999999/', { user: admin })).statusCode).toBe(404)
      expect((await t.req('GET', '/api/users/abc/', { user: admin })).statusCode).toBe(404)
    })

    it('updates own profile; admin-only fields are 403 for others; password needs the current one', async () => {
      const admin = await t.user({ admin: true })
      const u = await t.user()
      const ok = await t.req('PATCH', `/api/users/${u.id}/`, {
        user: u,
        body: { first_name: 'Neo', phone: '088 123 4567', unknown_field: 1 },
      })
      expect(ok.statusCode).toBe(200)
      expect(json<U>(ok)).toMatchObject({ phone: '0881234567' })
      for (const field of ['is_admin', 'is_staff_member', 'is_active']) {
        const r = await t.req('PATCH', `/api/users/${u.id}/`, { user: u, body: { [field]: true } })
        expect(r.statusCode).toBe(403)
      }
      const noCurrent = await t.req('PATCH', `/api/users/${u.id}/`, {
        user: u,
        body: { password: 'An0ther-Good-One' },
      })
      expect(noCurrent.statusCode).toBe(400)
      expect(json(noCurrent)).toHaveProperty('current_password')
      const wrongCurrent = await t.req('PATCH', `/api/users/${u.id}/`, {
        user: u,
        body: { password: 'An0ther-Good-One', current_password: 'nope-nope-nope' },
      })
      expect(wrongCurrent.statusCode).toBe(400)
      const weak = await t.req('PATCH', `/api/users/${u.id}/`, {
        user: u,
        body: { password: '12345678', current_password: PASSWORD },
      })
      expect(json(weak)).toHaveProperty('password')
      const changed = await t.req('PATCH', `/api/users/${u.id}/`, {
        user: u,
        body: { password: 'An0ther-Good-One', current_password: PASSWORD },
      })
      expect(changed.statusCode).toBe(200)
      const login = await t.req('POST', '/api/auth/login/', {
        body: { username: u.username, password: 'An0ther-Good-One' },
      })
      expect(login.statusCode).toBe(200)
      const reset = await t.req('PATCH', `/api/users/${u.id}/`, {
        user: admin,
        body: { password: 'Admin-Set-Pass-9', is_staff_member: true },
      })
      expect(reset.statusCode).toBe(200)
      expect(json<U>(reset).is_staff_member).toBe(true)
      const other = await t.user()
      const dup = await t.req('PATCH', `/api/users/${u.id}/`, {
        user: u,
        body: { username: other.username.toUpperCase() },
      })
      expect(dup.statusCode).toBe(400)
      expect(json(dup)).toHaveProperty('username')
    })

    it('never removes or demotes the last active admin, and cascades on delete', async () => {
      const shop = await startApp(engine)
      try {
        const boss = await shop.user({ admin: true })
        expect(
          (
            await shop.req('PATCH', `/api/users/${boss.id}/`, {
              user: boss,
              body: { is_admin: false },
            })
          ).statusCode,
        ).toBe(400)
        expect(
          (
            await shop.req('PATCH', `/api/users/${boss.id}/`, {
              user: boss,
              body: { is_active: false },
            })
          ).statusCode,
        ).toBe(400)
        expect(
          (await shop.req('DELETE', `/api/users/${boss.id}/`, { user: boss })).statusCode,
        ).toBe(400)
        const second = await shop.user({ admin: true })
        expect(
          (
            await shop.req('PATCH', `/api/users/${boss.id}/`, {
              user: second,
              body: { is_admin: false },
            })
          ).statusCode,
        ).toBe(200)
        expect(
          (await shop.req('DELETE', `/api/users/${second.id}/`, { user: second })).statusCode,
        ).toBe(400)

        const c = await shop.user()
        const r = await shop.req('POST', '/api/reservations/', {
          user: c,
          body: { start_time: at(2, '10:00'), end_time: at(2, '10:30') },
        })
        const rid = json<{ id: number }>(r).id
        expect((await shop.req('DELETE', `/api/users/${c.id}/`, { user: c })).statusCode).toBe(204)
        expect(
          (await shop.req('GET', `/api/reservations/${rid}/`, { user: second })).statusCode,
        ).toBe(404)
        const left = await shop.database.db
          .selectFrom('reservation_history')
          .select('id')
          .where('reservation_id', '=', rid)
          .execute()
        expect(left).toHaveLength(0)
      } finally {
        await shop.close()
      }
    })
  })
}
