import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runSweep } from '../src/jobs/sweep.js'
import { dialects, json, startApp } from './helpers.js'
import type { TestApp, TestUser } from './helpers.js'

/* Idempotency-Key on POST /api/reservations/, and ETag / If-Match on one reservation. */

interface Reservation {
  id: number
  customer: number
  staff: number | null
  start_time: string
  end_time: string
  status: string
  notes: string
  updated_at: string
}

// Monday 06:00 UTC; the test shop is open round the clock.
const NOW = '2027-01-04T06:00:00Z'
let minuteCounter = 0

/** A fresh 30-minute window each call, so tests never collide on a barber. */
function slot(): { start_time: string; end_time: string } {
  minuteCounter += 60
  const start = new Date(Date.parse('2027-01-10T00:00:00Z') + minuteCounter * 60_000)
  const end = new Date(start.getTime() + 30 * 60_000)
  const fmt = (d: Date) => d.toISOString().replace('.000Z', 'Z')
  return { start_time: fmt(start), end_time: fmt(end) }
}

for (const engine of await dialects()) {
  describe(`${engine}: Idempotency-Key`, () => {
    let t: TestApp
    let admin: TestUser
    let barber: TestUser
    let u1: TestUser
    let u2: TestUser

    beforeAll(async () => {
      t = await startApp(engine, { jobs: false, env: { ACCESS_TOKEN_MINUTES: '10080' } })
      t.clock.set(NOW)
      admin = await t.user({ admin: true })
      barber = await t.user({ staff: true })
      // More barbers, so that without the key, repeats of an unassigned booking would succeed.
      await t.user({ staff: true })
      await t.user({ staff: true })
      u1 = await t.user()
      u2 = await t.user()
    })
    afterAll(async () => t?.close())

    const post = (user: TestUser, body: unknown, key?: string) =>
      t.req('POST', '/api/reservations/', {
        user,
        body,
        headers: key === undefined ? {} : { 'idempotency-key': key },
      })

    /** The caller's reservations starting at `start`. */
    async function mineAt(user: TestUser, start: string): Promise<Reservation[]> {
      const res = await t.req(
        'GET',
        `/api/reservations/?page_size=100&start_after=${encodeURIComponent(start)}&start_before=${encodeURIComponent(new Date(Date.parse(start) + 60_000).toISOString())}`,
        { user },
      )
      expect(res.statusCode).toBe(200)
      const body = json<{ count: number; results: Reservation[] }>(res)
      expect(body.results).toHaveLength(body.count)
      return body.results
    }

    async function countAll(): Promise<number> {
      const res = await t.req('GET', '/api/reservations/?page_size=1', { user: admin })
      return json<{ count: number }>(res).count
    }

    it('replays the first answer: same status and body, nothing new', async () => {
      const body = { ...slot(), staff: barber.id, notes: 'first visit' }
      const first = await post(u1, body, 'key-replay')
      expect(first.statusCode, first.body).toBe(201)
      const before = await countAll()
      const again = await post(u1, body, 'key-replay')
      expect(again.statusCode).toBe(201)
      expect(json(again)).toEqual(json(first))
      expect(first.headers.etag).toBeDefined()
      expect(again.headers.etag).toBe(first.headers.etag)
      // The same body with its keys in another order is the same request.
      const reordered = {
        notes: body.notes,
        staff: body.staff,
        end_time: body.end_time,
        start_time: body.start_time,
      }
      const third = await post(u1, reordered, 'key-replay')
      expect(third.statusCode).toBe(201)
      expect(json(third)).toEqual(json(first))
      expect(await countAll()).toBe(before)
      expect(await mineAt(u1, body.start_time)).toHaveLength(1)

      // Even after the reservation changed, the retry gets the first answer, not a new booking.
      const id = json<Reservation>(first).id
      const patch = await t.req('PATCH', `/api/reservations/${id}/`, {
        user: u1,
        body: { notes: 'changed' },
      })
      expect(patch.statusCode).toBe(200)
      const late = await post(u1, body, 'key-replay')
      expect(late.statusCode).toBe(201)
      expect(json(late)).toEqual(json(first))
      expect(await countAll()).toBe(before)
    })

    it('answers 422 for the same key with another body, and creates nothing', async () => {
      const body = { ...slot(), staff: barber.id }
      const first = await post(u1, body, 'key-reused')
      expect(first.statusCode).toBe(201)
      const before = await countAll()
      const other = slot()
      for (const changed of [
        { ...body, notes: 'something else' },
        { ...body, ...other },
        { start_time: body.start_time, end_time: body.end_time },
      ]) {
        const res = await post(u1, changed, 'key-reused')
        expect(res.statusCode, JSON.stringify(changed)).toBe(422)
        expect(json(res).detail).toEqual(expect.any(String))
      }
      expect(await countAll()).toBe(before)
      expect(await mineAt(u1, other.start_time)).toHaveLength(0)
    })

    it('keeps the keys of different users apart', async () => {
      const body1 = { ...slot(), staff: barber.id }
      const body2 = { ...slot(), staff: barber.id }
      const r1 = await post(u1, body1, 'shared-key')
      const r2 = await post(u2, body2, 'shared-key')
      expect(r1.statusCode).toBe(201)
      expect(r2.statusCode).toBe(201)
      expect(json<Reservation>(r2).id).not.toBe(json<Reservation>(r1).id)
      expect(json<Reservation>(r2).customer).toBe(u2.id)
      // u2 sending u1's body under the same key is a new request of u2's: the slot is taken.
      const u2SameBody = await post(u2, body1, 'shared-key-2')
      expect(u2SameBody.statusCode).toBe(409)
      const u2Replay = await post(u2, body2, 'shared-key')
      expect(json(u2Replay)).toEqual(json(r2))
      const u1Replay = await post(u1, body1, 'shared-key')
      expect(json(u1Replay)).toEqual(json(r1))
      expect(await mineAt(u1, body1.start_time)).toHaveLength(1)
      expect(await mineAt(u2, body1.start_time)).toHaveLength(0)
      expect(await mineAt(u2, body2.start_time)).toHaveLength(1)
    })

    it('gives 20 concurrent requests with one key one reservation and one answer', async () => {
      // No barber named: without the key, three of these could succeed (one per barber).
      const body = { ...slot(), notes: 'in a hurry' }
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => post(u1, body, 'key-burst')),
      )
      for (const a of answers) expect(a.statusCode, a.body).toBe(201)
      const bodies = answers.map((a) => json(a))
      for (const b of bodies) expect(b).toEqual(bodies[0])
      const mine = await mineAt(u1, body.start_time)
      expect(mine).toHaveLength(1)
      expect(mine[0]?.id).toBe(bodies[0]?.id)
    })

    it('under concurrency, the same key with two bodies: one wins, the other body gets 422', async () => {
      const a = { ...slot(), staff: barber.id }
      const b = { ...slot(), staff: barber.id }
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => post(u2, i % 2 ? b : a, 'key-split')),
      )
      const won = answers.find((r) => r.statusCode === 201)
      expect(won, answers.map((r) => r.statusCode).join()).toBeDefined()
      const winner = json<Reservation>(won!)
      const winningBody = winner.start_time === a.start_time ? a : b
      answers.forEach((r, i) => {
        const body = i % 2 ? b : a
        if (body === winningBody) {
          expect(r.statusCode).toBe(201)
          expect(json(r)).toEqual(winner)
        } else {
          expect(r.statusCode).toBe(422)
        }
      })
      expect(await mineAt(u2, a.start_time)).toHaveLength(winningBody === a ? 1 : 0)
      expect(await mineAt(u2, b.start_time)).toHaveLength(winningBody === b ? 1 : 0)
    })

    it('without a key, concurrent bookings of one barber still make exactly one', async () => {
      const body = { ...slot(), staff: barber.id }
      const answers = await Promise.all(Array.from({ length: 20 }, () => post(u2, body)))
      const codes = answers.map((a) => a.statusCode).sort()
      expect(codes.filter((c) => c === 201)).toHaveLength(1)
      expect(codes.filter((c) => c === 409)).toHaveLength(19)
      expect(await mineAt(u2, body.start_time)).toHaveLength(1)
    })

    it('forgets a key after 24 hours', async () => {
      const body = { ...slot(), staff: barber.id }
      const first = await post(u1, body, 'key-expiry')
      expect(first.statusCode).toBe(201)
      try {
        t.clock.set(new Date(Date.parse(NOW) + 23 * 3600_000))
        expect((await post(u1, { ...slot(), staff: barber.id }, 'key-expiry')).statusCode).toBe(422)
        t.clock.set(new Date(Date.parse(NOW) + 25 * 3600_000))
        const fresh = slot()
        const res = await post(u1, { ...fresh, staff: barber.id }, 'key-expiry')
        expect(res.statusCode, res.body).toBe(201)
        expect(json<Reservation>(res).id).not.toBe(json<Reservation>(first).id)
        expect(json<Reservation>(res).start_time).toBe(fresh.start_time)
      } finally {
        t.clock.set(NOW)
      }
    })

    it('the sweep removes keys past their 24 hours, and only those', async () => {
      const old = await post(u2, { ...slot(), staff: barber.id }, 'key-purged')
      expect(old.statusCode).toBe(201)
      try {
        t.clock.set(new Date(Date.parse(NOW) + 20 * 3600_000))
        expect((await post(u2, { ...slot(), staff: barber.id }, 'key-kept')).statusCode).toBe(201)
        t.clock.set(new Date(Date.parse(NOW) + 25 * 3600_000))
        await runSweep(t.runtime.ctx)
        const keys = await t.database.db
          .selectFrom('idempotency_keys')
          .select('key')
          .where('user_id', '=', u2.id)
          .execute()
        expect(keys.map((k) => k.key)).toEqual(['key-kept'])
      } finally {
        t.clock.set(NOW)
      }
    })

    it('refuses an over-long key', async () => {
      const res = await post(u1, { ...slot(), staff: barber.id }, 'k'.repeat(256))
      expect(res.statusCode).toBe(400)
    })
  })

  describe(`${engine}: ETag and If-Match`, () => {
    let t: TestApp
    let admin: TestUser
    let barber: TestUser
    let customer: TestUser

    beforeAll(async () => {
      t = await startApp(engine, { jobs: false, env: { ACCESS_TOKEN_MINUTES: '10080' } })
      t.clock.set(NOW)
      admin = await t.user({ admin: true })
      barber = await t.user({ staff: true })
      customer = await t.user()
    })
    afterAll(async () => t?.close())

    async function book(): Promise<{ id: number; etag: string }> {
      const res = await t.req('POST', '/api/reservations/', {
        user: customer,
        body: { ...slot(), staff: barber.id, notes: 'original' },
      })
      expect(res.statusCode, res.body).toBe(201)
      const etag = res.headers.etag
      expect(typeof etag).toBe('string')
      return { id: json<Reservation>(res).id, etag: String(etag) }
    }

    const get = (id: number, user: TestUser = customer) =>
      t.req('GET', `/api/reservations/${id}/`, { user })
    const patch = (id: number, body: unknown, ifMatch?: string, user: TestUser = customer) =>
      t.req('PATCH', `/api/reservations/${id}/`, {
        user,
        body,
        headers: ifMatch === undefined ? {} : { 'if-match': ifMatch },
      })
    const del = (id: number, ifMatch?: string, user: TestUser = customer) =>
      t.req('DELETE', `/api/reservations/${id}/`, {
        user,
        headers: ifMatch === undefined ? {} : { 'if-match': ifMatch },
      })
    const history = async (id: number) =>
      json<unknown[]>(await t.req('GET', `/api/reservations/${id}/history/`, { user: customer }))

    it('GET and PATCH carry an ETag that changes with every write', async () => {
      const { id, etag } = await book()
      expect(etag).toMatch(/^"[^"]+"$/)
      const read = await get(id)
      expect(read.statusCode).toBe(200)
      expect(read.headers.etag).toBe(etag)
      // Anyone who may see it reads the same tag.
      expect((await get(id, barber)).headers.etag).toBe(etag)
      expect((await get(id, admin)).headers.etag).toBe(etag)

      const changed = await patch(id, { notes: 'v2' }, etag)
      expect(changed.statusCode, changed.body).toBe(200)
      const etag2 = String(changed.headers.etag)
      expect(etag2).toMatch(/^"[^"]+"$/)
      expect(etag2).not.toBe(etag)
      expect((await get(id)).headers.etag).toBe(etag2)
      // Without If-Match a PATCH is unconditional.
      const blind = await patch(id, { notes: 'v3' })
      expect(blind.statusCode).toBe(200)
      expect(blind.headers.etag).not.toBe(etag2)
    })

    it('PATCH with a stale If-Match answers 412 and changes nothing', async () => {
      const { id, etag } = await book()
      const fresh = await patch(id, { notes: 'by someone else' }, etag)
      expect(fresh.statusCode).toBe(200)
      const current = String(fresh.headers.etag)
      const snapshot = await get(id)
      const steps = await history(id)

      for (const body of [{ notes: 'lost update' }, { status: 'cancelled' }, slot()]) {
        const stale = await patch(id, body, etag)
        expect(stale.statusCode, JSON.stringify(body)).toBe(412)
        expect(json(stale).code).toBe('precondition_failed')
      }
      // The workflow too: the barber confirming on a stale tag.
      const confirm = await patch(id, { status: 'confirmed' }, etag, barber)
      expect(confirm.statusCode).toBe(412)

      const after = await get(id)
      expect(after.body).toBe(snapshot.body)
      expect(after.headers.etag).toBe(current)
      expect(await history(id)).toEqual(steps)
    })

    it('DELETE with a stale If-Match answers 412 and deletes nothing; with the current one, 204', async () => {
      const { id, etag } = await book()
      const moved = await patch(id, { notes: 'touched' }, etag)
      const current = String(moved.headers.etag)
      const stale = await del(id, etag)
      expect(stale.statusCode).toBe(412)
      expect(json(stale).code).toBe('precondition_failed')
      expect((await get(id)).statusCode).toBe(200)
      const gone = await del(id, current)
      expect(gone.statusCode).toBe(204)
      expect((await get(id)).statusCode).toBe(404)
    })

    it('a change by someone else makes the tag stale for everyone', async () => {
      const { id, etag } = await book()
      const confirm = await patch(id, { status: 'confirmed' }, etag, barber)
      expect(confirm.statusCode, confirm.body).toBe(200)
      const confirmedTag = String(confirm.headers.etag)
      const late = await patch(id, { notes: 'customer edit' }, etag)
      expect(late.statusCode).toBe(412)
      expect(json(await get(id)).status).toBe('confirmed')
      const ok = await patch(id, { notes: 'customer edit' }, confirmedTag)
      expect(ok.statusCode).toBe(200)
      expect(json(ok).notes).toBe('customer edit')
      // Admin delete on the stale confirmed tag is refused as well.
      expect((await del(id, confirmedTag, admin)).statusCode).toBe(412)
      expect((await del(id, String(ok.headers.etag), admin)).statusCode).toBe(204)
    })

    it('two concurrent PATCHes with the same If-Match: exactly one applies, the other gets 412', async () => {
      for (let i = 0; i < 10; i++) {
        const { id, etag } = await book()
        const [a, b] = await Promise.all([
          patch(id, { notes: 'mine' }, etag),
          patch(id, { notes: 'theirs' }, etag, admin),
        ])
        expect([a.statusCode, b.statusCode].sort()).toEqual([200, 412])
        const winner = a.statusCode === 200 ? a : b
        const now = await get(id)
        expect(json(now).notes).toBe(json(winner).notes)
        expect(now.headers.etag).toBe(winner.headers.etag)
      }
    })

    it('a PATCH and a DELETE racing on one If-Match: exactly one wins, and 204 means gone', async () => {
      for (let i = 0; i < 20; i++) {
        const { id, etag } = await book()
        const [p, d] = await Promise.all([
          patch(id, { notes: 'race' }, etag, admin),
          del(id, etag, admin),
        ])
        // Either the PATCH won (the DELETE's tag is stale) or the DELETE did (the PATCH then
        // finds a stale tag or no reservation at all).
        const outcome = `${p.statusCode}/${d.statusCode}`
        expect(['200/412', '412/204', '404/204'], `run ${i}`).toContain(outcome)
        expect((await get(id, admin)).statusCode).toBe(d.statusCode === 204 ? 404 : 200)
      }
    })

    // Both writers lock the row in turn, so neither sees a stale version.
    it('concurrent PATCHes without a precondition (or with *) all apply', async () => {
      for (let i = 0; i < 20; i++) {
        const { id } = await book()
        const [a, b] = await Promise.all([
          patch(id, { notes: 'customer note' }),
          patch(id, { status: 'confirmed' }, undefined, barber),
        ])
        expect([a.statusCode, b.statusCode], `run ${i}`).toEqual([200, 200])
        const [c, d] = await Promise.all([
          patch(id, { notes: 'one' }, '*'),
          patch(id, { notes: 'two' }, '*', admin),
        ])
        expect([c.statusCode, d.statusCode], `run ${i}`).toEqual([200, 200])
        const final = json(await get(id))
        expect(final.status).toBe('confirmed')
        expect(['one', 'two']).toContain(final.notes)
      }
    })

    it('If-Match: * matches any current version, and a list matches any member', async () => {
      const { id, etag } = await book()
      const star = await patch(id, { notes: 'star' }, '*')
      expect(star.statusCode).toBe(200)
      const current = String(star.headers.etag)
      expect(current).not.toBe(etag)
      const listed = await patch(id, { notes: 'listed' }, `"nope", ${current}`)
      expect(listed.statusCode).toBe(200)
      expect(json(listed).notes).toBe('listed')
      const bad = await patch(id, { notes: 'never' }, '"nope", "also-nope"')
      expect(bad.statusCode).toBe(412)
      const starDelete = await del(id, '*')
      expect(starDelete.statusCode).toBe(204)
      expect((await get(id)).statusCode).toBe(404)
      // * on something that does not exist is still a 404.
      expect((await patch(id, { notes: 'x' }, '*')).statusCode).toBe(404)
    })
  })
}
