import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PASSWORD, redisProblem, startApp } from './helpers.js'
import type { TestApp } from './helpers.js'

const problem = await redisProblem('Redis throttle tests')

describe.skipIf(problem !== null)('login throttling kept in Redis', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp('sqlite', { redis: true, env: { LOGIN_MAX_FAILURES: '2' } })
  })
  afterAll(async () => t?.close())

  const login = (app: TestApp, username: string, password: string, ip: string) =>
    app.app.inject({
      method: 'POST',
      url: '/api/auth/login/',
      payload: { username, password },
      remoteAddress: ip,
    })

  it('locks an account for one address after repeated failures, and a success elsewhere works', async () => {
    const u = await t.user()
    const ip = `10.${Math.floor(Math.random() * 200)}.1.1`
    expect((await login(t, u.username, 'wrong-pass-1', ip)).statusCode).toBe(401)
    expect((await login(t, u.username, 'wrong-pass-1', ip)).statusCode).toBe(401)
    const locked = await login(t, u.username, PASSWORD, ip)
    expect(locked.statusCode).toBe(429)
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(50)
    // The state is in Redis, not in the database.
    const rows = await t.database.db.selectFrom('login_failures').selectAll().execute()
    expect(rows).toHaveLength(0)
    expect((await login(t, u.username, PASSWORD, '10.250.0.1')).statusCode).toBe(200)
  })

  it('lets concurrent correct logins of one account through, and still counts failures after', async () => {
    const u = await t.user()
    const ip = `10.${Math.floor(Math.random() * 200)}.2.2`
    const all = await Promise.all(
      Array.from({ length: 12 }, () => login(t, u.username, PASSWORD, ip)),
    )
    expect(all.map((r) => r.statusCode)).toEqual(all.map(() => 200))
    expect((await login(t, u.username, 'wrong-pass-1', ip)).statusCode).toBe(401)
    expect((await login(t, u.username, 'wrong-pass-1', ip)).statusCode).toBe(401)
    expect((await login(t, u.username, PASSWORD, ip)).statusCode).toBe(429)
  })

  it('falls back to the database when Redis is unreachable', async () => {
    const down = await startApp('sqlite', {
      env: { REDIS_URL: 'redis://127.0.0.1:6390', LOGIN_MAX_FAILURES: '2' },
    })
    try {
      const u = await down.user()
      expect((await login(down, u.username, 'wrong-pass-1', '10.1.2.3')).statusCode).toBe(401)
      expect((await login(down, u.username, 'wrong-pass-1', '10.1.2.3')).statusCode).toBe(401)
      expect((await login(down, u.username, PASSWORD, '10.1.2.3')).statusCode).toBe(429)
      expect(
        await down.database.db.selectFrom('login_failures').selectAll().execute(),
      ).toHaveLength(1)
    } finally {
      await down.close()
    }
  })
})
