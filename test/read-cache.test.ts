import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase } from '../src/db/database.js'
import type { DatabaseHandle } from '../src/db/database.js'
import { at, createTestDatabase, dialects, json, startApp } from './helpers.js'
import type { TestApp, TestUser } from './helpers.js'

/*
 * The caller's account and the reservation lists are read from memory while the database's
 * change token has not moved (src/cache/derived.ts; its own rules: test/derived-cache.test.ts). Every write must show at once: through
 * the API, and from another process (a second connection to the same database) — at once
 * where the engine gives an exact change signal (SQLite, PostgreSQL), within the cache's 1 s
 * bound on MySQL/MariaDB (in a cluster, its processes announce their commits to each other:
 * test/deploy/cluster.test.ts).
 */

for (const engine of await dialects()) {
  describe(`${engine}: reads served from memory stay current`, () => {
    let t: TestApp
    let other: DatabaseHandle
    let admin: TestUser
    let customer: TestUser
    let staff: TestUser
    let day = 3

    beforeAll(async () => {
      const testDb = await createTestDatabase(engine)
      t = await startApp(engine, { jobs: false, database: testDb })
      other = createDatabase(testDb.config)
      admin = await t.user({ admin: true })
      customer = await t.user()
      staff = await t.user({ staff: true })
    })
    afterAll(async () => {
      await other?.close()
      await t?.close()
    })

    const book = async () => {
      const d = day++
      const res = await t.req('POST', '/api/reservations/', {
        user: customer,
        body: { staff: staff.id, start_time: at(d, '10:00'), end_time: at(d, '10:30') },
      })
      expect(res.statusCode, res.body).toBe(201)
      return json<{ id: number; status: string }>(res)
    }
    const list = async (user: TestUser, query = '') => {
      const res = await t.req('GET', `/api/reservations/${query}`, { user })
      expect(res.statusCode, res.body).toBe(200)
      return json<{ count: number; results: { id: number; status: string }[] }>(res)
    }
    /** Repeats `read` until `done` holds: at once on SQLite/PostgreSQL, within 1.5 s on MySQL. */
    const eventually = async <T>(read: () => Promise<T>, done: (v: T) => boolean) => {
      const started = performance.now()
      let v = await read()
      if (engine === 'mysql')
        while (!done(v) && performance.now() - started < 3000) {
          await new Promise((r) => setTimeout(r, 50))
          v = await read()
        }
      expect(done(v)).toBe(true)
      if (engine === 'mysql') expect(performance.now() - started).toBeLessThan(1500)
      return v
    }

    it('a list shows a booking, a cancellation and a page change made through the API at once', async () => {
      const before = await list(customer)
      const adminBefore = await list(admin)
      const made = await book()
      const after = await list(customer)
      expect(after.count).toBe(before.count + 1)
      expect(after.results.map((r) => r.id)).toContain(made.id)
      expect((await list(admin)).count).toBe(adminBefore.count + 1)
      const cancelled = await t.req('PATCH', `/api/reservations/${made.id}/`, {
        user: customer,
        body: { status: 'cancelled' },
      })
      expect(cancelled.statusCode, cancelled.body).toBe(200)
      const again = await list(customer)
      expect(again.results.find((r) => r.id === made.id)?.status).toBe('cancelled')
      expect((await list(customer, '?status=cancelled')).count).toBe(1)
    })

    it('a list shows a write committed by another process', async () => {
      const made = await book()
      await list(customer)
      await other.db
        .updateTable('reservations')
        .set({ status: 'confirmed' })
        .where('id', '=', made.id)
        .execute()
      await eventually(
        () => list(customer),
        (page) => page.results.find((r) => r.id === made.id)?.status === 'confirmed',
      )
      await other.db.deleteFrom('reservations').where('id', '=', made.id).execute()
      await eventually(
        () => list(admin),
        (page) => !page.results.some((r) => r.id === made.id),
      )
    })

    it("a deactivated, demoted or deleted account's token stops working at once", async () => {
      const gone = await t.user({ admin: true })
      expect((await t.req('GET', '/api/reservations/', { user: gone })).statusCode).toBe(200)
      // Through the API: at once on every engine.
      const off = await t.req('PATCH', `/api/users/${gone.id}/`, {
        user: admin,
        body: { is_active: false },
      })
      expect(off.statusCode, off.body).toBe(200)
      const refused = await t.req('GET', '/api/reservations/', { user: gone })
      expect(refused.statusCode).toBe(401)
      expect(json(refused).detail).toBe('User is inactive')

      // From another process.
      const demoted = await t.user({ admin: true })
      expect((await t.req('GET', '/api/users/', { user: demoted })).statusCode).toBe(200)
      await other.db
        .updateTable('users')
        .set({ is_admin: false })
        .where('id', '=', demoted.id)
        .execute()
      await eventually(
        async () => (await t.req('GET', '/api/users/', { user: demoted })).statusCode,
        (status) => status === 403,
      )
      await other.db.deleteFrom('users').where('id', '=', demoted.id).execute()
      const deleted = await eventually(
        () => t.req('GET', '/api/reservations/', { user: demoted }),
        (res) => res.statusCode === 401,
      )
      expect(json(deleted).detail).toBe('User not found')
    })

    if (engine === 'mysql')
      it('MySQL: the change token moves after a commit that wrote, not when the write is sent', async () => {
        const { database } = t
        const token = async () => (await database.changeToken()).token
        const start = await token()
        await database.db.transaction().execute(async (trx) => {
          await trx
            .updateTable('users')
            .set({ first_name: 'Moved' })
            .where('id', '=', customer.id)
            .execute()
          // Sent, not committed: a read now must not be cached under a token that stays.
          expect(await token()).toBe(start)
        })
        const committed = await token()
        expect(committed).not.toBe(start)
        await database.db
          .transaction()
          .execute(async (trx) => {
            await trx
              .updateTable('users')
              .set({ first_name: 'Never' })
              .where('id', '=', customer.id)
              .execute()
            throw new Error('roll back')
          })
          .catch(() => undefined)
        expect(await token()).toBe(committed)
        // Outside a transaction: after the statement.
        await sql`update users set last_name = 'Solo' where id = ${customer.id}`.execute(
          database.db,
        )
        expect(await token()).not.toBe(committed)
      })
  })
}
