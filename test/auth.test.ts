import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dialects, json, PASSWORD, startApp, unique } from './helpers.js'
import type { TestApp } from './helpers.js'

for (const engine of await dialects()) {
  describe(`${engine}: accounts`, () => {
    let t: TestApp
    beforeAll(async () => {
      t = await startApp(engine, { env: { LOGIN_MAX_FAILURES: '3' } })
    })
    afterAll(async () => t?.close())

    const register = (body: Record<string, unknown>, ip = '10.0.0.1') =>
      t.app.inject({ method: 'POST', url: '/api/auth/register/', payload: body, remoteAddress: ip })
    const login = (username: string, password: string, ip = '10.0.0.2') =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        payload: { username, password },
        remoteAddress: ip,
      })

    it('registers, logs in by username or email, and reads me', async () => {
      const username = unique('Reg')
      const res = await register({
        username,
        email: `${username}@Example.com`,
        password: PASSWORD,
        phone: '+359 (88) 123-4567',
        first_name: 'Ana',
      })
      expect(res.statusCode).toBe(201)
      const body = json<{ user: Record<string, unknown>; access: string; refresh: string }>(res)
      expect(body.user).toMatchObject({
        username,
        first_name: 'Ana',
        phone: '+359881234567',
        is_admin: false,
        is_staff_member: false,
        is_active: true,
      })
      expect(Object.keys(body.user).sort()).toEqual(
        [
          'date_joined',
          'email',
          'first_name',
          'id',
          'is_active',
          'is_admin',
          'is_staff_member',
          'last_name',
          'phone',
          'username',
        ].sort(),
      )
      expect(body.access).toBeTruthy()
      expect(body.refresh).toBeTruthy()

      const byName = await login(username.toUpperCase(), PASSWORD)
      expect(byName.statusCode).toBe(200)
      const byEmail = await login(`${username}@example.com`, PASSWORD)
      expect(byEmail.statusCode).toBe(200)
      const tokens = json<{ access: string; refresh: string; user: { id: number } }>(byEmail)
      expect(tokens.user.id).toBe(body.user.id)

      const me = await t.req('GET', '/api/auth/me', { user: tokens.access })
      expect(me.statusCode).toBe(200)
      expect(json(me).username).toBe(username)
    })

    it('refuses bad registrations field by field', async () => {
      const taken = await t.user()
      const res = await register({
        username: 'bad name!',
        email: 'not-an-email',
        password: '123',
        phone: 'abc',
      })
      expect(res.statusCode).toBe(400)
      const errors = json<Record<string, string[]>>(res)
      expect(errors.username?.[0]).toMatch(/valid username/)
      expect(errors.email?.[0]).toMatch(/valid email/)
      expect(errors.password).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/too short/),
          expect.stringMatching(/entirely numeric/),
        ]),
      )
      expect(errors.phone?.[0]).toMatch(/phone/)

      const dup = await register({
        username: taken.username.toUpperCase(),
        email: taken.email.toUpperCase(),
        password: PASSWORD,
      })
      expect(dup.statusCode).toBe(400)
      expect(Object.keys(json(dup)).sort()).toEqual(['email', 'username'])

      const common = await register({
        username: unique('c'),
        email: `${unique('c')}@x.io`,
        password: 'password123',
      })
      expect(json<Record<string, string[]>>(common).password).toContain(
        'This password is too common.',
      )
      const similar = await register({
        username: 'barberjohnny',
        email: 'j@x.io',
        password: 'barberjohnny1',
      })
      expect(json<Record<string, string[]>>(similar).password?.join(' ')).toMatch(
        /too similar to the username/,
      )

      const missing = await register({})
      expect(json(missing)).toMatchObject({
        username: ['This field is required.'],
        email: ['This field is required.'],
        password: ['This field is required.'],
      })
    })

    it('answers the same 401 for an unknown user and a wrong password', async () => {
      const u = await t.user()
      const unknown = await login('nobody-' + unique('x'), 'whatever-pass', '10.1.1.1')
      const wrong = await login(u.username, 'wrong-password-1', '10.1.1.1')
      expect(unknown.statusCode).toBe(401)
      expect(wrong.statusCode).toBe(401)
      expect(json(unknown).detail).toBe('No active account found with the given credentials')
      expect(json(wrong)).toEqual(json(unknown))
      const inactive = await t.user({ active: false })
      expect((await login(inactive.username, PASSWORD, '10.1.1.1')).statusCode).toBe(401)
    })

    it('throttles repeated failures per account and address, doubling, without locking others out', async () => {
      const u = await t.user()
      for (let i = 0; i < 2; i++)
        expect((await login(u.username, 'nope-nope-1', '10.9.9.9')).statusCode).toBe(401)
      // The third failure in a row locks this account for this address.
      expect((await login(u.username, 'nope-nope-1', '10.9.9.9')).statusCode).toBe(401)
      const blocked = await login(u.username, PASSWORD, '10.9.9.9')
      expect(blocked.statusCode).toBe(429)
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(59)
      expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60)
      expect(json(blocked).code).toBe('throttled')
      // The victim logs in from elsewhere.
      expect((await login(u.username, PASSWORD, '10.8.8.8')).statusCode).toBe(200)
      // After the wait, the next failure locks for twice as long.
      t.clock.advance(61_000)
      expect((await login(u.username, 'nope-nope-1', '10.9.9.9')).statusCode).toBe(401)
      const again = await login(u.username, PASSWORD, '10.9.9.9')
      expect(again.statusCode).toBe(429)
      expect(Number(again.headers['retry-after'])).toBeGreaterThan(110)
      t.clock.advance(121_000)
      expect((await login(u.username, PASSWORD, '10.9.9.9')).statusCode).toBe(200)
      // Success reset the count.
      expect((await login(u.username, 'nope-nope-1', '10.9.9.9')).statusCode).toBe(401)
      expect((await login(u.username, PASSWORD, '10.9.9.9')).statusCode).toBe(200)
      t.clock.real()
    })

    it('limits registrations per address', async () => {
      const limited = await startApp(engine, { env: { REGISTER_PER_HOUR: '2' } })
      try {
        const reg = (n: number) =>
          limited.app.inject({
            method: 'POST',
            url: '/api/auth/register/',
            payload: { username: `lim${n}x`, email: `lim${n}@x.io`, password: PASSWORD },
            remoteAddress: '10.7.7.7',
          })
        expect((await reg(1)).statusCode).toBe(201)
        expect((await reg(2)).statusCode).toBe(201)
        const third = await reg(3)
        expect(third.statusCode).toBe(429)
        expect(Number(third.headers['retry-after'])).toBeGreaterThan(0)
      } finally {
        await limited.close()
      }
    })

    it('rotates refresh tokens and revokes the family on reuse', async () => {
      const u = await t.user()
      const first = json<{ refresh: string }>(await login(u.username, PASSWORD, '10.3.3.3'))
      const r1 = await t.req('POST', '/api/auth/refresh/', { body: { refresh: first.refresh } })
      expect(r1.statusCode).toBe(200)
      const second = json<{ access: string; refresh: string }>(r1)
      expect(second.refresh).not.toBe(first.refresh)
      expect((await t.req('GET', '/api/auth/me/', { user: second.access })).statusCode).toBe(200)
      // Replaying the spent token after the grace window is theft: 401, and the whole family dies.
      t.clock.advance((t.config.refreshReuseGraceSeconds + 1) * 1000)
      const replay = await t.req('POST', '/api/auth/refresh/', { body: { refresh: first.refresh } })
      expect(replay.statusCode).toBe(401)
      expect(json(replay).code).toBe('token_not_valid')
      expect(
        (await t.req('POST', '/api/auth/refresh/', { body: { refresh: second.refresh } }))
          .statusCode,
      ).toBe(401)
      // Another login (family) is untouched.
      const other = json<{ refresh: string }>(await login(u.username, PASSWORD, '10.3.3.3'))
      expect(
        (await t.req('POST', '/api/auth/refresh/', { body: { refresh: other.refresh } }))
          .statusCode,
      ).toBe(200)
      t.clock.real()
    })

    it('logs out by revoking the family', async () => {
      const u = await t.user()
      const tokens = json<{ refresh: string }>(await login(u.username, PASSWORD, '10.4.4.4'))
      expect(
        (await t.req('POST', '/api/auth/logout/', { body: { refresh: tokens.refresh } }))
          .statusCode,
      ).toBe(204)
      expect(
        (await t.req('POST', '/api/auth/refresh/', { body: { refresh: tokens.refresh } }))
          .statusCode,
      ).toBe(401)
      // A token already blacklisted is a 401, as SimpleJWT's blacklist view answers.
      const again = await t.req('POST', '/api/auth/logout/', { body: { refresh: tokens.refresh } })
      expect(again.statusCode).toBe(401)
      expect(json(again)).toMatchObject({ code: 'token_not_valid' })
    })

    it('counts failures per account, whether named by username or by email', async () => {
      const u = await t.user()
      const ip = '10.4.4.9'
      for (let i = 0; i < 2; i++) {
        const res = await login(u.username, 'nope-nope-1', ip)
        expect(res.statusCode).toBe(401)
        expect(res.headers['www-authenticate']).toBe('Bearer realm="api"')
      }
      expect((await login(u.email.toUpperCase(), 'nope-nope-1', ip)).statusCode).toBe(401)
      // Three in a row (the limit here) across both names: the account is locked for this address.
      expect((await login(u.email, PASSWORD, ip)).statusCode).toBe(429)
      expect((await login(u.username, PASSWORD, ip)).statusCode).toBe(429)
    })

    it('rejects missing, malformed, forged and wrong-type tokens', async () => {
      const u = await t.user()
      const none = await t.req('GET', '/api/auth/me/')
      expect(none.statusCode).toBe(401)
      expect(json(none).code).toBe('not_authenticated')
      for (const bad of ['garbage', u.token.slice(0, -2) + 'xx', u.token + 'a']) {
        const r = await t.req('GET', '/api/auth/me/', { user: bad })
        expect(r.statusCode).toBe(401)
        expect(json(r).code).toBe('token_not_valid')
      }
      const refreshTok = await t.runtime.ctx.tokens.issue('refresh', u.id, new Date(), 'fam')
      expect((await t.req('GET', '/api/auth/me/', { user: refreshTok.token })).statusCode).toBe(401)
      const expired = await t.runtime.ctx.tokens.issue(
        'access',
        u.id,
        new Date(Date.now() - 3600_000),
      )
      expect((await t.req('GET', '/api/auth/me/', { user: expired.token })).statusCode).toBe(401)
    })

    it('stops a deactivated or deleted user at once', async () => {
      const admin = await t.user({ admin: true })
      const u = await t.user()
      expect(
        (await t.req('PATCH', `/api/users/${u.id}/`, { user: admin, body: { is_active: false } }))
          .statusCode,
      ).toBe(200)
      expect((await t.req('GET', '/api/auth/me/', { user: u })).statusCode).toBe(401)
      const v = await t.user()
      expect((await t.req('DELETE', `/api/users/${v.id}/`, { user: admin })).statusCode).toBe(204)
      expect((await t.req('GET', '/api/auth/me/', { user: v })).statusCode).toBe(401)
    })
  })
}
