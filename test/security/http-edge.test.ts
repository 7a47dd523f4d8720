/**
 * The HTTP edge, as an outside probe met it: huge page numbers, loosely read path ids,
 * public reads, health probes with stale credentials.
 * Every check goes through HTTP (app.inject, or a real socket where the header itself is
 * the point), once per database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dialects, startApp } from '../helpers.js'
import type { TestApp, TestUser } from '../helpers.js'
import { operationsOf } from './openapi.js'
import type { OpenApiDoc, Operation } from './openapi.js'

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

    it('refuses a deeply nested JSON body with 400 on every write, and finds NUL without misreading an escaped backslash', async () => {
      const writes = operations.filter((op) => op.body && op.method !== 'DELETE')
      expect(writes.length).toBeGreaterThan(8)
      const nested = (depth: number, open: string, close: string) =>
        `${open.repeat(depth)}1${close.repeat(depth)}`
      const bodies = [
        nested(100_000, '[', ']'),
        `{"notes": ${nested(100_000, '{"a":', '}')}}`,
        `{"name": ${nested(5000, '[', ']')}, "email": "x@example.com"}`,
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
  })
}
