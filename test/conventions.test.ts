import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dialects, json, startApp } from './helpers.js'
import type { TestApp } from './helpers.js'

for (const engine of await dialects()) {
  describe(`${engine}: HTTP conventions`, () => {
    let t: TestApp
    beforeAll(async () => {
      t = await startApp(engine, { env: { CORS_ALLOWED_ORIGINS: 'https://shop.example.com' } })
    })
    afterAll(async () => t?.close())

    it('serves every path with and without the final slash, without redirecting', async () => {
      for (const url of [
        '/api/services/',
        '/api/services',
        '/health/',
        '/health',
        '/api/staff',
        '/api/schema',
      ]) {
        expect((await t.req('GET', url)).statusCode, url).toBe(200)
      }
    })

    it('answers health, readiness, the OpenAPI document and the docs page', async () => {
      expect(json(await t.req('GET', '/health/'))).toEqual({ status: 'ok' })
      const ready = await t.req('GET', '/health/ready/')
      expect(ready.statusCode).toBe(200)
      const schema = json<{ openapi: string; paths: Record<string, unknown> }>(
        await t.req('GET', '/api/schema/'),
      )
      expect(schema.openapi).toMatch(/^3\./)
      for (const p of [
        '/api/auth/register/',
        '/api/reservations/',
        '/api/reservations/{id}/',
        '/api/availability/',
        '/api/dashboard/stats/',
        '/api/users/me/export/',
        '/api/time-off/',
        '/api/staff/{id}/hours/',
        '/api/notifications/',
      ]) {
        expect(Object.keys(schema.paths), p).toContain(p)
      }
      const docs = await t.req('GET', '/api/docs/')
      expect(docs.statusCode).toBe(200)
      expect(docs.headers['content-type']).toMatch(/html/)
    })

    it('refuses non-JSON bodies with 415, malformed JSON with 400, large bodies with 413', async () => {
      const u = await t.user()
      const text = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        headers: { 'content-type': 'text/plain' },
        payload: 'hello',
      })
      expect(text.statusCode).toBe(415)
      expect(json(text)).toMatchObject({ code: 'unsupported_media_type' })
      const form = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'a=b',
      })
      expect(form.statusCode).toBe(415)
      const bad = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        headers: { 'content-type': 'application/json' },
        payload: '{"username": ',
      })
      expect(bad.statusCode).toBe(400)
      expect(json(bad)).toHaveProperty('detail')
      const big = await t.app.inject({
        method: 'POST',
        url: '/api/reservations/',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${u.token}` },
        payload: JSON.stringify({ notes: 'x'.repeat(1024 * 1024 + 10) }),
      })
      expect(big.statusCode).toBe(413)
      expect(json(big)).toMatchObject({ code: 'request_too_large' })
      const list = await t.req('POST', '/api/auth/login/', { body: [1, 2] })
      expect(list.statusCode).toBe(400)
      expect(json(list)).toHaveProperty('non_field_errors')
    })

    it('answers 405 with Allow for a known path and 404 for an unknown one', async () => {
      const r = await t.req('PUT', '/api/services/')
      expect(r.statusCode).toBe(405)
      expect(r.headers.allow).toContain('GET')
      expect(json(r)).toMatchObject({ code: 'method_not_allowed' })
      const nf = await t.req('GET', '/api/nothing-here/')
      expect(nf.statusCode).toBe(404)
      expect(json(nf)).toEqual({ detail: 'Not found.', code: 'not_found' })
    })

    it('answers OPTIONS with DRF-style metadata and Allow; reads an empty JSON body as none', async () => {
      const opt = await t.app.inject({ method: 'OPTIONS', url: '/api/services/' })
      expect(opt.statusCode).toBe(200)
      expect(opt.headers.allow).toContain('GET')
      expect(opt.headers.allow).toContain('OPTIONS')
      expect(json(opt)).toMatchObject({
        renders: ['application/json'],
        parses: ['application/json'],
      })
      expect(
        (await t.app.inject({ method: 'OPTIONS', url: '/api/nothing-here/' })).statusCode,
      ).toBe(404)
      const u = await t.user()
      const empty = await t.app.inject({
        method: 'PATCH',
        url: `/api/users/${u.id}/`,
        headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json' },
        payload: '',
      })
      expect(empty.statusCode, empty.payload).toBe(200)
      const blank = await t.app.inject({
        method: 'PATCH',
        url: `/api/users/${u.id}/`,
        headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json' },
        payload: '  ',
      })
      expect(blank.statusCode).toBe(400)
    })

    it('sends CORS for allowed origins only, and security headers', async () => {
      const pre = await t.app.inject({
        method: 'OPTIONS',
        url: '/api/reservations/',
        headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST' },
      })
      expect(pre.headers['access-control-allow-origin']).toBe('https://shop.example.com')
      const evil = await t.app.inject({
        method: 'GET',
        url: '/api/services/',
        headers: { origin: 'https://evil.example.com' },
      })
      expect(evil.headers['access-control-allow-origin']).toBeUndefined()
      expect(evil.headers['access-control-allow-credentials']).toBeUndefined()
      const friend = await t.app.inject({
        method: 'GET',
        url: '/api/services/',
        headers: { origin: 'https://shop.example.com' },
      })
      expect(friend.headers['access-control-allow-origin']).toBe('https://shop.example.com')
      expect(friend.headers['access-control-allow-credentials']).toBe('true')
      expect(friend.headers['access-control-expose-headers']).toContain('ETag')
      const h = await t.req('GET', '/health/')
      expect(h.headers['x-content-type-options']).toBe('nosniff')
      expect(h.headers['x-frame-options']).toBe('DENY')
      expect(h.headers['strict-transport-security']).toMatch(/max-age=\d+/)
      expect(h.headers['referrer-policy']).toBe('no-referrer')
      // No Origin, no CORS headers (only Vary, for caches).
      expect(h.headers['access-control-allow-origin']).toBeUndefined()
      expect(h.headers['access-control-allow-credentials']).toBeUndefined()
    })

    it('manages the service catalogue: public list, admin writes, prices as two-place decimals', async () => {
      const admin = await t.user({ admin: true })
      const customer = await t.user()
      const created = await t.req('POST', '/api/services/', {
        user: admin,
        body: { name: 'Skin fade', duration_minutes: 40, price: '25.5', buffer_after_minutes: 10 },
      })
      expect(created.statusCode).toBe(201)
      const s = json<{ id: number }>(created)
      expect(s).toMatchObject({
        name: 'Skin fade',
        duration_minutes: 40,
        buffer_after_minutes: 10,
        price: '25.50',
        is_active: true,
        description: '',
      })
      expect(
        (
          await t.req('POST', '/api/services/', {
            user: customer,
            body: { name: 'x', duration_minutes: 30, price: 1 },
          })
        ).statusCode,
      ).toBe(403)
      expect(
        (
          await t.req('POST', '/api/services/', {
            body: { name: 'x', duration_minutes: 30, price: 1 },
          })
        ).statusCode,
      ).toBe(401)
      const bad = await t.req('POST', '/api/services/', {
        user: admin,
        body: { name: '', duration_minutes: 2, price: '1.999' },
      })
      expect(Object.keys(json(bad)).sort()).toEqual(['duration_minutes', 'name', 'price'])
      const hidden = await t.req('PATCH', `/api/services/${s.id}/`, {
        user: admin,
        body: { is_active: false, price: 30 },
      })
      expect(json(hidden)).toMatchObject({ is_active: false, price: '30.00' })
      const publicList = json<{ results: { id: number }[] }>(
        await t.req('GET', '/api/services/?page_size=100'),
      )
      expect(publicList.results.map((x) => x.id)).not.toContain(s.id)
      const adminList = json<{ results: { id: number }[] }>(
        await t.req('GET', '/api/services/?page_size=100', { user: admin }),
      )
      expect(adminList.results.map((x) => x.id)).toContain(s.id)
      expect((await t.req('DELETE', `/api/services/${s.id}/`, { user: admin })).statusCode).toBe(
        204,
      )
      expect((await t.req('GET', `/api/services/${s.id}/`, { user: admin })).statusCode).toBe(404)
    })

    it('lists active staff publicly', async () => {
      const barber = await t.user({ staff: true })
      await t.user({ staff: true, active: false })
      const staff = json<{ results: Record<string, unknown>[] }>(
        await t.req('GET', '/api/staff/?page_size=100'),
      )
      const me = staff.results.find((s) => s.id === barber.id)
      expect(me).toEqual({
        id: barber.id,
        first_name: 'First',
        last_name: 'Last',
        username: barber.username,
      })
      expect(staff.results.every((s) => Object.keys(s).length === 4)).toBe(true)
    })
  })
}
