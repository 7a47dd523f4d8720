/**
 * Resource limits: page_size is capped at 100 on every list; a body over 1 MiB is a 413
 * (announced or streamed); a login flood from one address is throttled with 429 +
 * Retry-After, blocks neither other addresses nor the rest of the API, and does not slow
 * it down; a client trickling its body is cut off by the server's request timeout.
 *
 * The request-timeout check builds the app with `requestTimeoutMs: 1500` and allows Node's
 * connection-check interval on top; it runs once (it does not depend on the database).
 */
import { connect } from 'node:net'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { attemptKey } from '../../src/auth/auth.service.js'
import { at, dialects, PASSWORD, startApp } from '../helpers.js'
import type { TestApp, TestUser } from '../helpers.js'
import { isErrorBody, operationsOf } from './openapi.js'
import type { OpenApiDoc } from './openapi.js'

const MiB = 1024 * 1024
const FLOOD = 300
const SAMPLES = 60
const WORKERS = 4
/** Allowed slack on the median, on top of 2× (ms): scheduling noise on a busy CI box. */
const EPSILON_MS = 5

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

for (const engine of await dialects()) {
  describe(`${engine}: limits`, () => {
    let t: TestApp
    let admin: TestUser
    let customer: TestUser

    beforeAll(async () => {
      t = await startApp(engine, { jobs: false })
      admin = await t.user({ admin: true })
      customer = await t.user()
    })
    afterAll(async () => t?.close())

    it('caps page_size at 100 on every paginated list', async () => {
      // More than 100 of everything a list shows.
      for (let i = 0; i < 105; i++) await t.service()
      const staff: TestUser[] = []
      for (let i = 0; i < 105; i++) staff.push(await t.user({ staff: true }))
      for (let i = 0; i < 105; i++) {
        const day = -(i + 2)
        const booked = await t.req('POST', '/api/reservations/', {
          user: admin,
          body: {
            customer: customer.id,
            staff: staff[i]!.id,
            start_time: at(day, '10:00'),
            end_time: at(day, '10:30'),
          },
        })
        expect(booked.statusCode, booked.payload).toBe(201)
        const off = await t.req('POST', '/api/time-off/', {
          user: admin,
          body: { staff: staff[i]!.id, start_time: at(day, '12:00'), end_time: at(day, '13:00') },
        })
        expect(off.statusCode, off.payload).toBe(201)
      }
      const doc = (await t.req('GET', '/api/schema/')).json<OpenApiDoc>()
      const lists = operationsOf(doc).filter(
        (o) => o.method === 'GET' && o.parameters.some((p) => p.name === 'page_size'),
      )
      expect(lists.map((o) => o.path).sort()).toEqual(
        [
          '/api/notifications/',
          '/api/reservations/',
          '/api/services/',
          '/api/staff/',
          '/api/time-off/',
          '/api/users/',
        ].sort(),
      )
      for (const op of lists) {
        for (const size of ['101', '1000', '2147483648', '9007199254740991']) {
          const res = await t.req('GET', `${op.path}?page_size=${size}`, { user: admin })
          expect(res.statusCode, `${op.path}?page_size=${size}: ${res.payload.slice(0, 200)}`).toBe(
            200,
          )
          const page = res.json<{ count: number; next: string | null; results: unknown[] }>()
          expect(page.count, op.path).toBeGreaterThan(100)
          expect(page.results.length, `${op.path}?page_size=${size}`).toBe(100)
          expect(page.next, op.path).toMatch(/page=2/)
        }
        // Not a positive integer (DRF's int() refuses 1e3): the default page size.
        const sci = await t.req('GET', `${op.path}?page_size=1e3`, { user: admin })
        expect(sci.json<{ results: unknown[] }>().results.length, op.path).toBe(20)
        const second = await t.req('GET', `${op.path}?page_size=1000&page=2`, { user: admin })
        expect(second.statusCode, `${op.path} page 2`).toBe(200)
        expect(second.json<{ results: unknown[] }>().results.length).toBeLessThanOrEqual(100)
      }
    }, 300_000)

    it('refuses a body over 1 MiB with 413 on every write, and takes one just under', async () => {
      const doc = (await t.req('GET', '/api/schema/')).json<OpenApiDoc>()
      const writes = operationsOf(doc).filter((o) => o.body)
      expect(writes.length).toBeGreaterThan(10)
      const over = JSON.stringify({ notes: 'x'.repeat(MiB) })
      for (const op of writes) {
        const url = op.path.replace('{id}', String(customer.id))
        const res = await t.app.inject({
          method: op.method as 'POST',
          url,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
          payload: over,
        })
        expect(res.statusCode, `${op.key}: ${res.payload.slice(0, 200)}`).toBe(413)
        expect(res.json(), op.key).toEqual({
          detail: expect.any(String),
          code: 'request_too_large',
        })
      }
      // The limit is 1 MiB exactly: MiB bytes pass the size check, MiB + 1 do not.
      const body = (n: number) => {
        const skeleton = JSON.stringify({ username: 'x', password: '' })
        return JSON.stringify({ username: 'x', password: 'p'.repeat(n - skeleton.length) })
      }
      expect(Buffer.byteLength(body(MiB))).toBe(MiB)
      const exact = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        headers: { 'content-type': 'application/json' },
        payload: body(MiB),
        remoteAddress: '198.51.100.9',
      })
      expect(exact.statusCode).not.toBe(413)
      const oneMore = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        headers: { 'content-type': 'application/json' },
        payload: body(MiB + 1),
        remoteAddress: '198.51.100.9',
      })
      expect(oneMore.statusCode).toBe(413)
    })

    it('refuses a streamed (chunked) body over 1 MiB with 413 over a real socket', async () => {
      const app = await buildApp(t.runtime.ctx)
      await app.listen({ port: 0, host: '127.0.0.1' })
      try {
        const { port } = app.server.address() as AddressInfo
        const status = await new Promise<{ code: number; body: string }>((resolve, reject) => {
          const req = request(
            {
              host: '127.0.0.1',
              port,
              method: 'POST',
              path: '/api/auth/login/',
              headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
            },
            (res) => {
              let body = ''
              res.on('data', (d: Buffer) => (body += d.toString()))
              res.on('end', () => resolve({ code: res.statusCode ?? 0, body }))
            },
          )
          req.on('error', reject)
          req.write('{"username": "x", "password": "')
          const chunk = 'p'.repeat(64 * 1024)
          let sent = 0
          const pump = () => {
            while (sent < 2 * MiB) {
              sent += chunk.length
              if (!req.write(chunk)) return void req.once('drain', pump)
            }
            req.end('"}')
          }
          pump()
        })
        expect(status.code, status.body.slice(0, 200)).toBe(413)
        expect(isErrorBody(JSON.parse(status.body))).toBe(true)
      } finally {
        await app.close()
      }
    })

    it('throttles a login flood from one address (429 + Retry-After) without slowing the rest of the API', async () => {
      // inject() on SQLite can complete in microtasks alone: yield to the event loop each time,
      // or the sampling loop would starve the flood (and its argon2 callbacks) entirely.
      const tick = () => new Promise((resolve) => setImmediate(resolve))
      const timeGet = async () => {
        await tick()
        const start = performance.now()
        const res = await t.app.inject({
          method: 'GET',
          url: '/api/services/',
          remoteAddress: '192.0.2.50',
        })
        const ms = performance.now() - start
        expect(res.statusCode).toBe(200)
        return ms
      }
      for (let i = 0; i < 20; i++) await timeGet()
      const before: number[] = []
      for (let i = 0; i < SAMPLES; i++) before.push(await timeGet())

      const attacker = '203.0.113.66'
      const statuses: Record<number, number> = {}
      const badRetryAfter: string[] = []
      let sent = 0
      let measuring = true
      const worker = async () => {
        while ((sent < FLOOD || measuring) && sent < 20 * FLOOD) {
          await tick()
          const n = sent++
          const res = await t.app.inject({
            method: 'POST',
            url: '/api/auth/login/',
            remoteAddress: attacker,
            payload: {
              username: n % 3 === 0 ? customer.username : `nobody${n}`,
              password: `wrong-${n}`,
            },
          })
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
          if (res.statusCode === 429) {
            const ra = String(res.headers['retry-after'] ?? '')
            if (!/^[1-9]\d*$/.test(ra)) badRetryAfter.push(ra)
          }
        }
      }
      const flood = Promise.all(Array.from({ length: WORKERS }, worker))
      const during: number[] = []
      try {
        while ((during.length < SAMPLES || sent < FLOOD / 2) && during.length < 100 * SAMPLES)
          during.push(await timeGet())
      } finally {
        measuring = false
        await flood
      }

      expect(sent).toBeGreaterThanOrEqual(FLOOD)
      expect(Object.keys(statuses).sort(), JSON.stringify(statuses)).toEqual(['401', '429'])
      // 100 failures an hour per address; the 4 concurrent workers may each slip one past the
      // check (the race itself is pinned down by the burst test below).
      expect(statuses[429]!, JSON.stringify(statuses)).toBeGreaterThanOrEqual(sent - 100 - WORKERS)
      expect(badRetryAfter).toEqual([])
      const m0 = median(before)
      const m1 = median(during)
      console.log(
        `${engine}: login flood of ${sent}: ${JSON.stringify(statuses)}; median GET /api/services/ ${m0.toFixed(2)} ms before, ${m1.toFixed(2)} ms during (${during.length} samples)`,
      )
      expect(
        m1,
        `median GET /api/services/: ${m0.toFixed(2)} ms before, ${m1.toFixed(2)} ms during the flood`,
      ).toBeLessThan(2 * m0 + EPSILON_MS)

      // The flood blocks the attacker's address, not the account: the owner logs in from elsewhere.
      const locked = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        remoteAddress: attacker,
        payload: { username: customer.username, password: PASSWORD },
      })
      expect(locked.statusCode).toBe(429)
      const elsewhere = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        remoteAddress: '198.51.100.20',
        payload: { username: customer.username, password: PASSWORD },
      })
      expect(elsewhere.statusCode, elsewhere.payload).toBe(200)
    }, 120_000)

    it('locks one account for one address after LOGIN_MAX_FAILURES failures, with Retry-After', async () => {
      const victim = await t.user()
      const from = '203.0.113.77'
      const codes: number[] = []
      for (let i = 0; i < 6; i++) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/auth/login/',
          remoteAddress: from,
          payload: { username: victim.username, password: 'wrong' },
        })
        codes.push(res.statusCode)
        if (res.statusCode === 429) {
          expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
          expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60)
          expect(res.json()).toMatchObject({ code: 'throttled' })
        }
      }
      expect(codes).toEqual([401, 401, 401, 401, 401, 429])
      const other = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        remoteAddress: '203.0.113.78',
        payload: { username: victim.username, password: PASSWORD },
      })
      expect(other.statusCode).toBe(200)
    })

    it('a far-future booking by a customer does not stall the server (dashboard busiest hours)', async () => {
      const booker = await t.user()
      const soon = await t.req('POST', '/api/reservations/', {
        user: booker,
        body: { start_time: at(9, '10:00'), end_time: at(9, '10:30') },
      })
      expect(soon.statusCode, soon.payload).toBe(201)
      // The furthest start the API takes (a refusal is a fine answer too).
      const far = await t.req('POST', '/api/reservations/', {
        user: booker,
        body: { start_time: '8999-12-31T10:00:00Z', end_time: '8999-12-31T10:30:00Z' },
      })
      expect([201, 400], far.payload).toContain(far.statusCode)
      const started = performance.now()
      const stats = t.req('GET', '/api/dashboard/stats/', { user: admin })
      const timerLag = await new Promise<number>((resolve) => {
        const t0 = performance.now()
        setTimeout(() => resolve(performance.now() - t0 - 10), 10)
      })
      const res = await stats
      const ms = performance.now() - started
      expect(res.statusCode).toBe(200)
      expect(
        { blockedEventLoopMs: Math.round(timerLag) < 500, dashboardMs: Math.round(ms) < 2000 },
        `the event loop was blocked ${Math.round(timerLag)} ms; the dashboard took ${Math.round(ms)} ms`,
      ).toEqual({ blockedEventLoopMs: true, dashboardMs: true })
    }, 120_000)

    it('keeps the login limits under concurrent attempts (no burst gets past them)', async () => {
      const victim = await t.user()
      const burst = async (from: string, username: (n: number) => string) => {
        const all = await Promise.all(
          Array.from({ length: 200 }, (_, n) =>
            t.app.inject({
              method: 'POST',
              url: '/api/auth/login/',
              remoteAddress: from,
              payload: { username: username(n), password: `wrong-${n}` },
            }),
          ),
        )
        const counts: Record<number, number> = {}
        for (const r of all) counts[r.statusCode] = (counts[r.statusCode] ?? 0) + 1
        return counts
      }
      const oneAccount = await burst('203.0.113.90', () => victim.username)
      const manyAccounts = await burst('203.0.113.91', (n) => `nobody-burst-${n}`)
      expect(
        { oneAccount: oneAccount[401] ?? 0, manyAccounts: manyAccounts[401] ?? 0 },
        `password guesses checked out of 200 concurrent attempts: one account ${JSON.stringify(oneAccount)}, many accounts ${JSON.stringify(manyAccounts)}`,
      ).toEqual({
        oneAccount: Math.min(5, oneAccount[401] ?? 0),
        manyAccounts: Math.min(100, manyAccounts[401] ?? 0),
      })
    }, 120_000)

    it('lets concurrent correct logins of one account through: they wait their turn, not a lockout', async () => {
      const user = await t.user()
      const from = '203.0.113.95'
      const all = await Promise.all(
        Array.from({ length: 24 }, () =>
          t.app.inject({
            method: 'POST',
            url: '/api/auth/login/',
            remoteAddress: from,
            payload: { username: user.username, password: PASSWORD },
          }),
        ),
      )
      expect(all.map((r) => r.statusCode)).toEqual(all.map(() => 200))
      // Nothing is left counted against the account afterwards.
      const wrong = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        remoteAddress: from,
        payload: { username: user.username, password: 'wrong' },
      })
      expect(wrong.statusCode).toBe(401)
    }, 60_000)

    it('forgets attempt slots of a process that died mid-login', async () => {
      const user = await t.user()
      const from = '203.0.113.96'
      const key = attemptKey({ username: user.username }, from)
      // Five attempts taken and never settled, as by a crashed replica.
      for (let i = 0; i < 5; i++)
        expect((await t.runtime.ctx.throttle.begin(key, 5, t.clock.now())).kind).toBe('granted')
      expect((await t.runtime.ctx.throttle.begin(key, 5, t.clock.now())).kind).toBe('busy')
      t.clock.advance(61_000)
      try {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/auth/login/',
          remoteAddress: from,
          payload: { username: user.username, password: PASSWORD },
        })
        expect(res.statusCode).toBe(200)
      } finally {
        t.clock.real()
      }
    })
  })
}

/** Engine-independent (the HTTP server, not the database): run once, on SQLite. */
describe('HTTP server: slow request bodies', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp('sqlite', { jobs: false })
  })
  afterAll(async () => t?.close())

  it('cuts off a client that trickles its body within the request timeout, with a 408', async () => {
    const requestTimeoutMs = 1500
    const app = await buildApp(t.runtime.ctx, { requestTimeoutMs })
    await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const server = app.server
      expect(server.requestTimeout).toBe(requestTimeoutMs)
      // Node looks for overdue requests every connectionsCheckingInterval (30 s by default).
      const interval = (server as unknown as { connectionsCheckingInterval: number })
        .connectionsCheckingInterval
      const bound = requestTimeoutMs + interval + 2000
      const { port } = server.address() as AddressInfo
      const started = Date.now()
      const outcome = await new Promise<{ ms: number; closed: boolean; response: string }>(
        (resolve) => {
          const socket = connect(port, '127.0.0.1')
          let response = ''
          let trickle: NodeJS.Timeout | undefined
          const finish = (closed: boolean) => {
            clearInterval(trickle)
            clearTimeout(giveUp)
            socket.destroy()
            resolve({ ms: Date.now() - started, closed, response })
          }
          const giveUp = setTimeout(() => finish(false), bound)
          socket.on('connect', () => {
            socket.write(
              'POST /api/auth/login/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"username": "',
            )
            // One byte every 300 ms: the connection never goes idle, the body never completes.
            trickle = setInterval(() => socket.write('x'), 300)
          })
          socket.on('data', (d) => (response += d.toString()))
          socket.on('close', () => finish(true))
          socket.on('error', () => finish(true))
        },
      )
      const problems: string[] = []
      if (!outcome.closed) {
        problems.push(
          `still open after ${outcome.ms} ms (request timeout ${requestTimeoutMs} ms, headersTimeout ${server.headersTimeout} ms, check interval ${interval} ms)`,
        )
      } else {
        if (outcome.ms < requestTimeoutMs - 100)
          problems.push(`cut off too early, after ${outcome.ms} ms`)
        const [head = '', body = ''] = outcome.response.split('\r\n\r\n')
        if (!/^HTTP\/1\.1 408 /.test(head))
          problems.push(`answered ${JSON.stringify(head.split('\r\n')[0])} instead of 408`)
        else {
          let parsed: unknown
          try {
            parsed = JSON.parse(body)
          } catch {
            parsed = undefined
          }
          // Node's HTTP layer answers this 408 itself (the request never reached a route) and
          // closes the connection; when it sends a body, it must be the contract's.
          if (body.trim() !== '' && !isErrorBody(parsed))
            problems.push(`408 body is not {detail, code}: ${body}`)
        }
      }
      expect(problems).toEqual([])
    } finally {
      await app.close()
    }
  }, 90_000)
})
