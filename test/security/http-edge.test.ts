/**
 * The HTTP edge, as an outside probe met it: huge page numbers, loosely read path ids,
 * public reads, health probes with stale credentials, Host headers (missing, malformed, foreign:
 * never reflected into a link, never a 500).
 * Every check goes through HTTP (app.inject, or a real socket where the header itself is
 * the point), once per database.
 */
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { at, dialects, PASSWORD, startApp } from '../helpers.js'
import type { TestApp, TestUser } from '../helpers.js'
import { operationsOf } from './openapi.js'
import type { OpenApiDoc, Operation } from './openapi.js'

/** Sends raw bytes to a listening server and reads until it closes: status line and body. */
function rawRequest(port: number, text: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text))
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => (data += d))
    socket.on('error', reject)
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n')
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), body })
    })
  })
}

const MALFORMED_HOSTS = [
  'a b',
  'evil.test/x',
  'user@evil.test',
  'evil.test:80:80',
  'evil.test:99999',
  'evil.test:port',
  '[::1',
  '999999999999',
  '1.2.3.256',
  'ex\u00e4mple.test',
  '_',
  '%65vil.test',
]

for (const engine of await dialects()) {
  describe(`${engine}: HTTP edge`, () => {
    let t: TestApp
    let admin: TestUser
    let customer: TestUser
    let operations: Operation[]

    beforeAll(async () => {
      t = await startApp(engine, { jobs: false })
      admin = await t.user({ admin: true })
      customer = await t.user()
      operations = operationsOf((await t.req('GET', '/api/schema/')).json<OpenApiDoc>())
    })
    afterAll(async () => t?.close())

    const paginatedLists = () =>
      operations.filter(
        (op) =>
          op.method === 'GET' &&
          JSON.stringify(op.responses['200'] ?? {}).includes('"previous"') &&
          !op.path.includes('{'),
      )

    it('answers a page number past any offset the database can take with 404 "Invalid page." on every list, public ones too', async () => {
      const lists = paginatedLists()
      expect(lists.map((op) => op.path)).toEqual(
        expect.arrayContaining(['/api/staff/', '/api/services/', '/api/reservations/']),
      )
      const wrong: string[] = []
      for (const op of lists) {
        for (const page of [
          '100000000000000000000',
          '461168601842738790',
          '9223372036854775807',
          '9223372036854775808',
          '1'.repeat(400),
          '99999999999',
        ]) {
          for (const who of op.secured ? [admin] : [undefined, admin]) {
            const res = await t.req('GET', `${op.path}?page=${page}`, { user: who })
            if (
              res.statusCode !== 404 ||
              res.payload !== '{"detail":"Invalid page.","code":"not_found"}'
            )
              wrong.push(`${op.path}?page=${page} → ${res.statusCode} ${res.payload.slice(0, 160)}`)
          }
        }
      }
      expect(wrong).toEqual([])
    })

    it('refuses a deeply nested or overfull JSON body with 400 on every write, and finds NUL without misreading an escaped backslash', async () => {
      const writes = operations.filter((op) => op.body && op.method !== 'DELETE')
      expect(writes.length).toBeGreaterThan(8)
      const nested = (depth: number, open: string, close: string) =>
        `${open.repeat(depth)}1${close.repeat(depth)}`
      const bodies = [
        nested(100_000, '[', ']'),
        `{"notes": ${nested(100_000, '{"a":', '}')}}`,
        `{"name": ${nested(5000, '[', ']')}, "email": "x@example.com"}`,
        // Flat but huge in values: parsing 300 000 tiny objects holds the event loop.
        `[${'{},'.repeat(300_000)}{}]`,
        `{${Array.from({ length: 60_000 }, (_, i) => `"k${i}":0`).join(',')}}`,
      ]
      const wrong: string[] = []
      for (const op of writes) {
        const url = op.path.replace('{id}', String(customer.id))
        for (const payload of bodies) {
          const res = await t.app.inject({
            method: op.method as 'POST',
            url,
            headers: {
              authorization: `Bearer ${admin.token}`,
              'content-type': 'application/json',
            },
            payload,
          })
          if (res.statusCode !== 400)
            wrong.push(`${op.key} ${payload.slice(0, 12)}… → ${res.statusCode} ${res.payload}`)
        }
      }
      expect(wrong).toEqual([])
      const deep = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        headers: { 'content-type': 'application/json' },
        payload: nested(100_000, '[', ']'),
      })
      expect(deep.json()).toMatchObject({ code: 'parse_error' })
      // A NUL, escaped in a value or a key, is refused; an escaped backslash followed by
      // "u0000" is six ordinary characters.
      for (const payload of ['{"first_name": "a\\u0000b"}', '{"first_name": "x", "\\u0000": 1}']) {
        const res = await t.app.inject({
          method: 'PATCH',
          url: `/api/users/${customer.id}/`,
          headers: {
            authorization: `Bearer ${customer.token}`,
            'content-type': 'application/json',
          },
          payload,
        })
        expect(res.statusCode, payload).toBe(400)
        expect(res.json()).toEqual({ non_field_errors: ['Null characters are not allowed.'] })
      }
      const literal = await t.app.inject({
        method: 'PATCH',
        url: `/api/users/${customer.id}/`,
        headers: { authorization: `Bearer ${customer.token}`, 'content-type': 'application/json' },
        payload: '{"last_name": "back\\\\u0000slash"}',
      })
      expect(literal.statusCode, literal.payload).toBe(200)
      expect(literal.json<{ last_name: string }>().last_name).toBe('back\\u0000slash')
    })

    it('reads an id in a path as ASCII decimal digits or answers 404, on every route with an id', async () => {
      const withId = operations.filter((op) => op.path.includes('{id}'))
      expect(withId.length).toBeGreaterThan(10)
      const barber = await t.user({ staff: true })
      const service = await t.service()
      // An id that exists and that the admin may see, so a loose reading would find it.
      const idFor = (path: string) =>
        path.startsWith('/api/users/')
          ? customer.id
          : path.startsWith('/api/staff/')
            ? barber.id
            : path.startsWith('/api/services/')
              ? service
              : 1
      const fullwidth = (n: number) =>
        [...String(n)].map((d) => String.fromCharCode(0xff10 + Number(d))).join('')
      const wrong: string[] = []
      for (const op of withId) {
        const n = idFor(op.path)
        for (const id of [
          `0x${n.toString(16)}`,
          `0b${n.toString(2)}`,
          `0o${n.toString(8)}`,
          `${n}e0`,
          `${n}.0`,
          `${n}.`,
          ` ${n}`,
          `${n} `,
          `+${n}`,
          fullwidth(n),
          `${n}_0`,
        ]) {
          const url = op.path.replace('{id}', encodeURIComponent(id))
          const res = await t.req(op.method, url, {
            user: admin,
            ...(op.body ? { body: {} } : {}),
          })
          if (res.statusCode !== 404)
            wrong.push(`${op.method} ${url} → ${res.statusCode} ${res.payload.slice(0, 120)}`)
        }
      }
      expect(wrong).toEqual([])
      // Leading zeros are still digits, as Django's int converter reads them.
      const res = await t.req('GET', `/api/users/00${customer.id}/`, { user: admin })
      expect(res.statusCode).toBe(200)
      expect(res.json<{ id: number }>().id).toBe(customer.id)
    })

    it('serves one service without a token, like the list; changes stay the admin’s', async () => {
      const id = await t.service({ name: 'Public cut' })
      const anonymous = await t.req('GET', `/api/services/${id}/`)
      expect(anonymous.statusCode, anonymous.payload).toBe(200)
      expect(anonymous.json<{ id: number; name: string }>()).toMatchObject({
        id,
        name: 'Public cut',
      })
      expect((await t.req('GET', `/api/services/${id}/`, { user: customer })).statusCode).toBe(200)
      // An inactive service is not in the public catalogue: hidden from the public, as in the list.
      const inactive = await t.service({ active: false })
      expect((await t.req('GET', `/api/services/${inactive}/`)).statusCode).toBe(404)
      expect(
        (await t.req('GET', `/api/services/${inactive}/`, { user: customer })).statusCode,
      ).toBe(404)
      expect((await t.req('GET', `/api/services/${inactive}/`, { user: admin })).statusCode).toBe(
        200,
      )
      // Writes: 401 anonymous, 403 customer.
      for (const [method, body] of [
        ['PATCH', { name: 'x' }],
        ['DELETE', undefined],
      ] as const) {
        const anon = await t.req(method, `/api/services/${id}/`, { body })
        expect(anon.statusCode).toBe(401)
        const cust = await t.req(method, `/api/services/${id}/`, { user: customer, body })
        expect(cust.statusCode).toBe(403)
      }
    })

    it('answers /health/ and /health/ready/ whatever the Authorization header says', async () => {
      const stale = await t.user()
      await t.database.db.deleteFrom('users').where('id', '=', stale.id).execute()
      for (const path of ['/health/', '/health/ready/']) {
        for (const authorization of [
          'Bearer garbage',
          `Bearer ${stale.token}`,
          'Bearer',
          'Bearer a b c',
          `Bearer ${customer.token}x`,
        ]) {
          const res = await t.req('GET', path, { headers: { authorization } })
          expect(res.statusCode, `${path} with ${authorization.slice(0, 20)}: ${res.payload}`).toBe(
            200,
          )
          expect(res.json<{ status: string }>().status).toBe('ok')
        }
      }
      // Everything else still judges the token.
      expect(
        (await t.req('GET', '/api/services/', { headers: { authorization: 'Bearer garbage' } }))
          .statusCode,
      ).toBe(401)
    })

    it('builds pagination links on PUBLIC_URL when it is set, whatever the Host', async () => {
      await t.user({ staff: true })
      await t.user({ staff: true })
      const app = await buildApp({
        ...t.runtime.ctx,
        config: { ...t.config, publicUrl: 'https://book.example.com', publicUrlExplicit: true },
      })
      try {
        const res = await app.inject({
          url: '/api/staff/?page_size=1&page=2',
          headers: { host: 'evil.test' },
        })
        expect(res.statusCode, res.payload).toBe(200)
        const page = res.json<{ next: string | null; previous: string | null }>()
        expect(page.previous).toBe('https://book.example.com/api/staff/?page_size=1')
        expect(page.next).toBe('https://book.example.com/api/staff/?page_size=1&page=3')
      } finally {
        await app.close()
      }
    })

    it('answers a malformed Host with 400 bad_host (never a 500), even when any host is allowed', async () => {
      expect(t.config.allowedHosts).toEqual(['*'])
      const wrong: string[] = []
      for (const host of MALFORMED_HOSTS) {
        for (const url of ['/api/staff/', '/api/services/?page_size=1', '/api/nothing-here/']) {
          const res = await t.req('GET', url, { headers: { host } })
          if (res.statusCode !== 400 || res.json<{ code?: string }>().code !== 'bad_host')
            wrong.push(`${host} ${url} → ${res.statusCode} ${res.payload.slice(0, 120)}`)
        }
        for (const url of ['/health/', '/health/ready/']) {
          const res = await t.req('GET', url, { headers: { host } })
          if (res.statusCode !== 200) wrong.push(`${host} ${url} → ${res.statusCode}`)
        }
      }
      expect(wrong).toEqual([])
      // Any well-formed host goes (DEBUG's default), and is what the links name.
      await t.user({ staff: true })
      await t.user({ staff: true })
      const res = await t.req('GET', '/api/staff/?page_size=1', {
        headers: { host: 'Shop.Test:8080' },
      })
      expect(res.statusCode).toBe(200)
      expect(res.json<{ next: string }>().next).toBe(
        'http://shop.test:8080/api/staff/?page_size=1&page=2',
      )
    })

    it('accepts only ALLOWED_HOSTS (a leading dot: the domain and its subdomains)', async () => {
      await t.user({ staff: true })
      await t.user({ staff: true })
      const app = await buildApp({
        ...t.runtime.ctx,
        config: { ...t.config, allowedHosts: ['book.example.com', '.shop.test', '[::1]'] },
      })
      try {
        for (const [host, status] of [
          ['evil.test', 400],
          ['book.example.com.evil.test', 400],
          ['badshop.test', 400],
          ['localhost', 400],
          ['book.example.com', 200],
          ['BOOK.example.com:8443', 200],
          ['book.example.com.', 200],
          ['shop.test', 200],
          ['a.b.shop.test', 200],
          ['[::1]:8000', 200],
        ] as const) {
          const res = await app.inject({ url: '/api/staff/?page_size=1', headers: { host } })
          expect(res.statusCode, `${host}: ${res.payload}`).toBe(status)
          if (status === 400) expect(res.json()).toMatchObject({ code: 'bad_host' })
          else
            expect(res.json<{ next: string }>().next).toBe(
              `http://${host.toLowerCase()}/api/staff/?page_size=1&page=2`,
            )
          const health = await app.inject({ url: '/health/', headers: { host } })
          expect(health.statusCode).toBe(200)
        }
        // With the production default (PUBLIC_URL's host plus loopback), a probe by IP works.
        const probe = await app.inject({
          url: '/health/ready/',
          headers: { host: '10.0.0.7:8000' },
        })
        expect(probe.statusCode).toBe(200)
      } finally {
        await app.close()
      }
    })

    it('answers a missing, empty or foreign Host on a real socket with 400 bad_host; probes with 200', async () => {
      const app = await buildApp({
        ...t.runtime.ctx,
        config: { ...t.config, allowedHosts: ['book.example.com'] },
      })
      await app.listen({ port: 0, host: '127.0.0.1' })
      try {
        const { port } = app.server.address() as AddressInfo
        const cases: [string, string, number][] = [
          ['HTTP/1.1 without Host', 'GET /api/staff/ HTTP/1.1\r\nConnection: close\r\n\r\n', 400],
          ['HTTP/1.0 without Host', 'GET /api/staff/ HTTP/1.0\r\n\r\n', 400],
          ['empty Host', 'GET /api/staff/ HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n', 400],
          ['blank Host', 'GET /api/staff/ HTTP/1.1\r\nHost:   \r\nConnection: close\r\n\r\n', 400],
          [
            'foreign Host',
            'GET /api/staff/ HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n',
            400,
          ],
          [
            'malformed Host',
            'GET /api/staff/ HTTP/1.1\r\nHost: a:b:c\r\nConnection: close\r\n\r\n',
            400,
          ],
          [
            'allowed Host',
            'GET /api/staff/ HTTP/1.1\r\nHost: book.example.com\r\nConnection: close\r\n\r\n',
            200,
          ],
          ['probe without Host', 'GET /health/ HTTP/1.1\r\nConnection: close\r\n\r\n', 200],
          ['probe, HTTP/1.0', 'GET /health/ready/ HTTP/1.0\r\n\r\n', 200],
          [
            'probe by IP',
            'GET /health/ HTTP/1.1\r\nHost: 10.1.2.3:8000\r\nConnection: close\r\n\r\n',
            200,
          ],
          [
            'probe, empty Host',
            'GET /health/ready/ HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n',
            200,
          ],
        ]
        for (const [label, text, status] of cases) {
          const res = await rawRequest(port, text)
          expect(res.status, `${label}: ${res.body}`).toBe(status)
          if (status === 400)
            expect(JSON.parse(res.body), label).toMatchObject({ code: 'bad_host' })
        }
      } finally {
        await app.close()
      }
    })

    it('sends Cache-Control: no-store with tokens and with every authenticated answer, ETags kept', async () => {
      const login = await t.req('POST', '/api/auth/login/', {
        body: { username: customer.username, password: PASSWORD },
      })
      expect(login.statusCode).toBe(200)
      expect(login.headers['cache-control']).toBe('no-store')
      expect(login.headers.pragma).toBe('no-cache')
      const refresh = await t.req('POST', '/api/auth/refresh/', {
        body: { refresh: login.json<{ refresh: string }>().refresh },
      })
      expect(refresh.statusCode).toBe(200)
      expect(refresh.headers['cache-control']).toBe('no-store')
      const register = await t.req('POST', '/api/auth/register/', {
        body: {
          username: `nostore${Date.now()}`,
          email: `nostore${Date.now()}@example.com`,
          password: 'Plenty-Of-Entropy-42',
        },
      })
      expect(register.statusCode, register.payload).toBe(201)
      expect(register.headers['cache-control']).toBe('no-store')

      // Every GET as an authenticated caller, whatever the status; public reads without a
      // token stay cacheable.
      const wrong: string[] = []
      for (const op of operations.filter(
        (o) => o.method === 'GET' && !o.path.startsWith('/health'),
      )) {
        const url = op.path.replace('{id}', String(customer.id))
        const res = await t.req('GET', url, { user: admin })
        if (res.headers['cache-control'] !== 'no-store')
          wrong.push(
            `${op.key} as admin → ${res.statusCode} cache-control ${String(res.headers['cache-control'])}`,
          )
      }
      expect(wrong).toEqual([])
      expect((await t.req('GET', '/api/services/')).headers['cache-control']).toBeUndefined()
      expect((await t.req('GET', '/health/')).headers['cache-control']).toBeUndefined()

      // ETag and If-Match work as before.
      const barber = await t.user({ staff: true })
      const created = await t.req('POST', '/api/reservations/', {
        user: admin,
        body: {
          customer: customer.id,
          staff: barber.id,
          start_time: at(3, '10:00'),
          end_time: at(3, '10:30'),
        },
      })
      expect(created.statusCode, created.payload).toBe(201)
      expect(created.headers['cache-control']).toBe('no-store')
      const id = created.json<{ id: number }>().id
      const read = await t.req('GET', `/api/reservations/${id}/`, { user: customer })
      expect(read.headers['cache-control']).toBe('no-store')
      const etag = String(read.headers.etag)
      expect(etag).toMatch(/^(W\/)?".+"$/)
      const moved = await t.req('PATCH', `/api/reservations/${id}/`, {
        user: admin,
        headers: { 'if-match': etag },
        body: { notes: 'moved' },
      })
      expect(moved.statusCode, moved.payload).toBe(200)
      expect(moved.headers.etag).not.toBe(etag)
      expect(moved.headers['cache-control']).toBe('no-store')
      const stale = await t.req('PATCH', `/api/reservations/${id}/`, {
        user: admin,
        headers: { 'if-match': etag },
        body: { notes: 'again' },
      })
      expect(stale.statusCode).toBe(412)
    })
  })
}
