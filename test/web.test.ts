import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { WEB_CSP } from '../src/http/web.js'
import { dialects, json, startApp } from './helpers.js'
import type { TestApp } from './helpers.js'

const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'

for (const engine of await dialects()) {
  describe(`${engine}: the shop page and the web app`, () => {
    let t: TestApp
    let web: FastifyInstance
    let bare: FastifyInstance
    let dist: string
    beforeAll(async () => {
      t = await startApp(engine, {
        env: {
          SHOP_NAME: 'Blade Runner',
          SHOP_PHONE: '+359 2 123 4567',
          SHOP_ADDRESS: '1 Vitosha Blvd, Sofia',
          SHOP_TIMEZONE: 'Europe/Sofia',
          CURRENCY: 'bgn',
          SLOT_MINUTES: '30',
          CANCELLATION_CUTOFF_HOURS: '1.5',
        },
      })
      dist = mkdtempSync(join(tmpdir(), 'fade-web-'))
      mkdirSync(join(dist, 'assets'))
      writeFileSync(join(dist, 'index.html'), '<!doctype html><title>Fade</title><div id="root">')
      writeFileSync(join(dist, 'assets', 'index-AbC123.js'), 'console.log(1)')
      writeFileSync(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
      web = await buildApp(t.runtime.ctx, { webRoot: dist })
      bare = await buildApp(t.runtime.ctx, { webRoot: join(dist, 'missing') })
    })
    afterAll(async () => {
      await web?.close()
      await bare?.close()
      await t?.close()
      rmSync(dist, { recursive: true, force: true })
    })

    it('GET /api/shop/ tells a booking page about the shop, from the configuration', async () => {
      const res = await t.req('GET', '/api/shop/')
      expect(res.statusCode).toBe(200)
      expect(json(res)).toEqual({
        name: 'Blade Runner',
        phone: '+359 2 123 4567',
        address: '1 Vitosha Blvd, Sofia',
        timezone: 'Europe/Sofia',
        opening_hours: 'mon-sun 00:00-24:00',
        slot_minutes: 30,
        booking_horizon_days: 90,
        cancellation_cutoff_hours: 1.5,
        currency: 'BGN',
      })
      const schema = json<{ paths: Record<string, unknown> }>(await t.req('GET', '/api/schema/'))
      expect(Object.keys(schema.paths)).toContain('/api/shop/')
      expect(Object.keys(schema.paths).some((p) => p.includes('*'))).toBe(false)
    })

    it('serves hashed assets for a year and the page with no-cache and the CSP', async () => {
      const asset = await web.inject({ method: 'GET', url: '/assets/index-AbC123.js' })
      expect(asset.statusCode).toBe(200)
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable')
      expect(asset.body).toBe('console.log(1)')
      const icon = await web.inject({ method: 'GET', url: '/favicon.svg' })
      expect(icon.statusCode).toBe(200)
      expect(icon.headers['cache-control']).toBe('no-cache')
      for (const url of ['/', '/book?service=3&barber=7', '/me', '/reset-password?token=x']) {
        const page = await web.inject({ method: 'GET', url, headers: { accept: HTML } })
        expect(page.statusCode, url).toBe(200)
        expect(page.headers['content-type']).toMatch(/^text\/html/)
        expect(page.headers['cache-control']).toBe('no-cache')
        expect(page.headers['content-security-policy']).toBe(WEB_CSP)
        expect(page.body).toContain('<div id="root">')
      }
      const head = await web.inject({ method: 'HEAD', url: '/me', headers: { accept: HTML } })
      expect(head.statusCode).toBe(200)
      expect(head.headers['content-security-policy']).toBe(WEB_CSP)
    })

    it('keeps the API JSON: API 404s, 405s and non-HTML requests never get the page', async () => {
      for (const url of ['/api/nope/', '/api/nope', '/health/nope', '/api']) {
        const res = await web.inject({ method: 'GET', url, headers: { accept: HTML } })
        expect(res.statusCode, url).toBe(404)
        expect(json(res), url).toEqual({ detail: 'Not found.', code: 'not_found' })
      }
      // A fetch() for JSON at a web path: 404 JSON, not the page.
      const api = await web.inject({ method: 'GET', url: '/me', headers: { accept: '*/*' } })
      expect(api.statusCode).toBe(404)
      expect(json(api).code).toBe('not_found')
      const post = await web.inject({ method: 'POST', url: '/book', headers: { accept: HTML } })
      expect(post.statusCode).toBe(404)
      const wrong = await web.inject({
        method: 'GET',
        url: '/api/auth/login/',
        headers: { accept: HTML },
      })
      expect(wrong.statusCode).toBe(405)
      expect(json(wrong).code).toBe('method_not_allowed')
      const missing = await web.inject({ method: 'GET', url: '/assets/nope.js' })
      expect(missing.statusCode).toBe(404)
      const services = await web.inject({
        method: 'GET',
        url: '/api/services/',
        headers: { accept: HTML },
      })
      expect(services.statusCode).toBe(200)
      expect(services.headers['content-type']).toMatch(/json/)
    })

    it('starts API-only when the web app is not built', async () => {
      const page = await bare.inject({ method: 'GET', url: '/', headers: { accept: HTML } })
      expect(page.statusCode).toBe(404)
      expect(json(page).code).toBe('not_found')
      expect((await bare.inject({ method: 'GET', url: '/api/shop/' })).statusCode).toBe(200)
    })
  })
}
