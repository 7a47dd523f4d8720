import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inTransaction, isRetryable } from '../src/db/database.js'
import { insertBooking, place } from '../src/reservations/booking.js'
import type { Placed } from '../src/reservations/booking.js'
import { dialects, startApp } from './helpers.js'
import type { TestApp } from './helpers.js'

/**
 * The guard of booking.ts on its own, without the in-process lanes that keep most races
 * from reaching it: many transactions that all passed the plain read (a stale placement)
 * write the same slot at once. Only the guard stands between them and a double booking.
 */
const N = 12

function values(customerId: number, start: Date, minutes: number) {
  const end = new Date(start.getTime() + minutes * 60_000)
  const now = new Date()
  return {
    customer_id: customerId,
    service_id: null,
    start_time: start,
    end_time: end,
    hold_until: end,
    status: 'pending' as const,
    notes: '',
    created_at: now,
    updated_at: now,
    confirmed_at: null,
    completed_at: null,
    cancelled_at: null,
    cancelled_by: null,
    cancellation_reason: '',
    version: 1,
    reminder_sent_for: null,
  }
}

/** Runs the writes together: each in its own transaction, all started before any commits. */
async function race(
  t: TestApp,
  placed: Placed,
  customerId: number,
  start: Date,
): Promise<{ ok: (number | null)[]; refused: { status: number; retryable: boolean }[] }> {
  const ctx = t.runtime.ctx
  const outcomes = await Promise.allSettled(
    Array.from({ length: N }, (_, i) =>
      t.database.db.transaction().execute(async (trx) => {
        // Staggered a little so that the writes meet inside one another's transactions.
        await new Promise((r) => setTimeout(r, i % 3))
        const { staffId } = await insertBooking(ctx, trx, placed, values(customerId, start, 30))
        await new Promise((r) => setTimeout(r, 5))
        return staffId
      }),
    ),
  )
  const ok: (number | null)[] = []
  const refused: { status: number; retryable: boolean }[] = []
  for (const o of outcomes) {
    if (o.status === 'fulfilled') ok.push(o.value)
    else {
      const e = o.reason as { statusCode?: number; retryable?: boolean }
      // A deadlock among the waiters (PostgreSQL may report one when several writes wait on
      // the same conflicting row): a request's transaction would run again (inTransaction).
      if (e.statusCode === undefined && isRetryable(o.reason))
        refused.push({ status: 409, retryable: true })
      else refused.push({ status: e.statusCode ?? 500, retryable: e.retryable === true })
    }
  }
  return { ok, refused }
}

async function activeOf(t: TestApp, staffId: number, start: Date): Promise<number> {
  const rows = await t.database.db
    .selectFrom('reservations')
    .select('id')
    .where('staff_id', '=', staffId)
    .where('start_time', '=', start)
    .where('status', 'in', ['pending', 'confirmed'])
    .execute()
  return rows.length
}

for (const engine of await dialects()) {
  describe(`${engine}: the booking guard alone`, () => {
    let t: TestApp
    beforeAll(async () => {
      t = await startApp(engine)
    })
    afterAll(async () => t?.close())

    // SQLite has no guard of its own to race: its read runs under the write lock (below).
    if (engine !== 'sqlite') {
      it('transactions are READ COMMITTED: a read after a lock sees what the holder committed', async () => {
        const level = await inTransaction(t.database, async (trx) => {
          if (engine === 'postgres') {
            const r = await sql<{
              transaction_isolation: string
            }>`show transaction_isolation`.execute(trx)
            return r.rows[0]!.transaction_isolation
          }
          const read = (v: string) => sql<{ l: string }>`select ${sql.raw(v)} as l`.execute(trx)
          const r = await read('@@session.transaction_isolation').catch(() =>
            read('@@session.tx_isolation'),
          )
          return r.rows[0]!.l
        })
        expect(level.toLowerCase().replace('-', ' ')).toBe('read committed')
      })

      it('writes of one slot placed from a stale read: exactly one lands, the rest are 409', async () => {
        const barber = await t.user({ staff: true })
        const customer = await t.user()
        const start = new Date(Date.now() + 3 * 86_400_000)
        start.setUTCHours(10, 0, 0, 0)
        const { ok, refused } = await race(
          t,
          { staffId: barber.id, alternatives: [] },
          customer.id,
          start,
        )
        expect(ok).toEqual([barber.id])
        expect(refused).toHaveLength(N - 1)
        // 409, or (rarely, PostgreSQL) a deadlock whose retry would then read the slot as taken.
        for (const r of refused) expect(r.status).toBe(409)
        // Only PostgreSQL's waiters can deadlock; elsewhere every loser is a plain 409.
        if (engine !== 'postgres') expect(refused.filter((r) => r.retryable)).toEqual([])
        expect(await activeOf(t, barber.id, start)).toBe(1)
      })

      it('automatic assignment: losers move to the next barber (MariaDB) or read again (PostgreSQL)', async () => {
        const [a, b] = [await t.user({ staff: true }), await t.user({ staff: true })]
        const customer = await t.user()
        const start = new Date(Date.now() + 4 * 86_400_000)
        start.setUTCHours(11, 0, 0, 0)
        const { ok, refused } = await race(
          t,
          { staffId: a.id, alternatives: [b.id] },
          customer.id,
          start,
        )
        if (engine === 'mysql') {
          expect([...ok].sort()).toEqual([a.id, b.id].sort())
          expect(refused).toEqual(Array(N - 2).fill({ status: 409, retryable: false }))
        } else {
          // The constraint refuses the write; inTransaction runs the whole booking again.
          expect(ok).toEqual([a.id])
          expect(refused).toEqual(Array(N - 1).fill({ status: 409, retryable: true }))
        }
        expect(await activeOf(t, a.id, start)).toBe(1)
        expect(await activeOf(t, b.id, start)).toBe(engine === 'mysql' ? 1 : 0)
      })
    }

    it('read and write concurrently (as a request does): exactly one lands', async () => {
      const barber = await t.user({ staff: true })
      const customer = await t.user()
      const start = new Date(Date.now() + 5 * 86_400_000)
      start.setUTCHours(12, 0, 0, 0)
      const end = new Date(start.getTime() + 30 * 60_000)
      const ctx = t.runtime.ctx
      const book = () =>
        t.database.db.transaction().execute(async (trx) => {
          const placement = { staffId: barber.id, start, end, hold: end }
          const placed = await place(ctx, trx, placement, null)
          return insertBooking(ctx, trx, placed, values(customer.id, start, 30))
        })
      const outcomes = await Promise.allSettled(Array.from({ length: N }, book))
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1)
      expect(await activeOf(t, barber.id, start)).toBe(1)
    })
  })
}
