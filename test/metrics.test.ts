/**
 * GET /metrics: Prometheus text for admins only, with the request histogram per route
 * pattern, the pool, the outbox and job lag, and the process's event-loop delay.
 * (The cluster's merged scrape is covered by test/deploy/cluster.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dialects, json, startApp } from './helpers.js'
import type { TestApp, TestUser } from './helpers.js'

/** The value of one series (exact name and labels as printed), or undefined. */
function series(text: string, name: string): number | undefined {
  for (const line of text.split('\n'))
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1))
  return undefined
}

for (const engine of await dialects()) {
  describe(`GET /metrics (${engine})`, () => {
    let t: TestApp
    let admin: TestUser
    let customer: TestUser
    beforeAll(async () => {
      // No runner yet: the welcome email stays in the outbox until the test drains it.
      t = await startApp(engine, { jobs: false })
      admin = await t.user({ admin: true })
      customer = await t.user()
    })
    afterAll(() => t.close())

    it('answers 401 without a token and 403 to a non-admin, in the contract’s shape', async () => {
      const anon = await t.req('GET', '/metrics')
      expect(anon.statusCode).toBe(401)
      expect(json(anon)).toMatchObject({ code: 'not_authenticated' })
      const other = await t.req('GET', '/metrics', { user: customer })
      expect(other.statusCode).toBe(403)
      expect(json(other)).toMatchObject({ code: 'permission_denied' })
    })

    it('reports requests per route pattern, the outbox, the pool and the event loop', async () => {
      for (let i = 0; i < 3; i++) expect((await t.req('GET', '/health/')).statusCode).toBe(200)
      expect((await t.req('GET', '/api/reservations/999999/', { user: admin })).statusCode).toBe(
        404,
      )
      const reg = await t.req('POST', '/api/auth/register/', {
        body: { username: 'metricsfan', email: 'fan@example.com', password: 'Clipper-Razor-77' },
      })
      expect(reg.statusCode).toBe(201)
      const pending = await t.database.db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', 'pending')
        .executeTakeFirstOrThrow()
      expect(Number(pending.n)).toBeGreaterThan(0)

      const res = await t.req('GET', '/metrics', { user: admin })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
      const text = res.body
      expect(
        series(
          text,
          'http_request_duration_seconds_count{route="/health/",method="GET",status_class="2xx"}',
        ),
      ).toBeGreaterThanOrEqual(3)
      // The pattern, not the URL: one series however many ids are asked for.
      expect(
        series(
          text,
          'http_request_duration_seconds_count{route="/api/reservations/:id/",method="GET",status_class="4xx"}',
        ),
      ).toBeGreaterThanOrEqual(1)
      expect(text).not.toContain('/api/reservations/999999')
      expect(series(text, 'fade_outbox_pending')).toBe(Number(pending.n))
      expect(series(text, 'fade_outbox_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(0)
      expect(series(text, 'fade_booking_lock_wait_seconds_count')).toBeGreaterThanOrEqual(0)
      expect(text).toContain('# TYPE fade_booking_retries_total counter')
      expect(series(text, 'fade_db_pool_waiting')).toBe(0)
      if (engine !== 'sqlite') {
        expect(series(text, 'fade_db_pool_connections{state="max"}')).toBe(10)
        expect(series(text, 'fade_db_pool_connections{state="total"}')).toBeGreaterThanOrEqual(1)
        expect(series(text, 'fade_db_pool_acquire_seconds_count')).toBeGreaterThan(0)
      }
      const lag = series(text, 'nodejs_eventloop_lag_p99_seconds{proc="main"}')
      expect(lag).toBeGreaterThanOrEqual(0)
      expect(lag).toBeLessThan(5)
    })

    it('reports job lag once the runner delivers, and the outbox empties', async () => {
      await t.runtime.runner.start()
      await t.drain()
      const text = (await t.req('GET', '/metrics', { user: admin })).body
      const lags = text
        .split('\n')
        .filter((l) => l.startsWith('fade_job_lag_seconds_count{job="outbox.'))
      expect(lags.length).toBeGreaterThan(0)
      expect(lags.every((l) => Number(l.split(' ')[1]) >= 1)).toBe(true)
      expect(series(text, 'fade_outbox_pending')).toBe(0)
      expect(series(text, 'fade_outbox_oldest_pending_age_seconds')).toBe(0)
    })

    it('is documented in the OpenAPI schema as admin-only', async () => {
      const doc = json<{ paths: Record<string, { get?: { security?: unknown[] } }> }>(
        await t.req('GET', '/api/schema/'),
      )
      expect(doc.paths['/metrics']?.get?.security).toEqual([{ bearerAuth: [] }])
    })
  })
}
