import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dialects, json, PASSWORD, startApp, unique } from './helpers.js'
import type { TestApp } from './helpers.js'

for (const engine of await dialects()) {
  describe(`${engine}: account security (issue 11, items 4 and 7)`, () => {
    let t: TestApp
    beforeAll(async () => {
      t = await startApp(engine, { env: { LOGIN_MAX_FAILURES: '3' } })
    })
    afterAll(async () => t?.close())

    const register = (username: string, ip = '10.44.0.1') =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/register/',
        payload: { username, email: `${unique('r')}@example.com`, password: PASSWORD },
        remoteAddress: ip,
      })
    const login = (username: string, password = PASSWORD, ip = '10.44.0.2') =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        payload: { username, password },
        remoteAddress: ip,
      })

    it('counts a wrong current_password as a failed login of the account: 429 after LOGIN_MAX_FAILURES', async () => {
      const u = await t.user()
      const change = (current: string, ip = '10.44.1.1') =>
        t.app.inject({
          method: 'PATCH',
          url: `/api/users/${u.id}/`,
          headers: { authorization: `Bearer ${u.token}` },
          payload: { password: 'New-Sharp-Razor-55', current_password: current },
          remoteAddress: ip,
        })
      for (let i = 0; i < 3; i++) {
        const wrong = await change(`guess-${i}-wrong`)
        expect(wrong.statusCode).toBe(400)
        expect(json(wrong)).toEqual({ current_password: ['The current password is incorrect.'] })
      }
      // Locked for this address: even the right one now waits.
      const locked = await change(PASSWORD)
      expect(locked.statusCode).toBe(429)
      expect(json(locked).code).toBe('throttled')
      expect(Number(locked.headers['retry-after'])).toBeGreaterThanOrEqual(59)
      // It is the login throttle: logging in from that address is locked too.
      expect((await login(u.username, PASSWORD, '10.44.1.1')).statusCode).toBe(429)
      // Once the lock has passed, the right password works and resets the count.
      t.clock.advance(61_000)
      try {
        const ok = await change(PASSWORD)
        expect(ok.statusCode, ok.body).toBe(200)
        expect((await login(u.username, 'New-Sharp-Razor-55', '10.44.1.1')).statusCode).toBe(200)
      } finally {
        t.clock.real()
      }
    })

    it('normalises usernames with NFKC: fullwidth forms collide, case-insensitively', async () => {
      const base = `nf${unique('')
        .replace(/[^a-z0-9]/gi, '')
        .slice(-8)}`.toLowerCase()
      expect((await register(base)).statusCode).toBe(201)
      const fullwidth = [...base]
        .map((c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0))
        .join('')
      const dup = await register(fullwidth)
      expect(dup.statusCode).toBe(400)
      expect(json<Record<string, string[]>>(dup).username?.[0]).toMatch(/already exists/)
      const upper = await register(fullwidth.toUpperCase())
      expect(upper.statusCode).toBe(400)
      // Login and lookups fold the same way.
      expect((await login(fullwidth.toUpperCase())).statusCode).toBe(200)
      // A new name is stored in its NFKC form.
      const lig = `ﬁ${base}`
      const made = await register(lig)
      expect(made.statusCode, made.body).toBe(201)
      expect(json<{ user: { username: string } }>(made).user.username).toBe(`fi${base}`)
      expect((await login(`FI${base}`)).statusCode).toBe(200)
    })

    it('refuses usernames mixing Latin with Cyrillic or Greek letters', async () => {
      const tail = unique('')
        .replace(/[^0-9]/g, '')
        .slice(-6)
      for (const name of [`\u0430lice${tail}`, `b\u043eb${tail}`, `\u03bfscar${tail}`]) {
        const res = await register(name)
        expect(res.statusCode, name).toBe(400)
        expect(json<Record<string, string[]>>(res).username?.[0]).toMatch(
          /mix letters of different scripts/,
        )
      }
      // One script at a time is fine.
      expect((await register(`\u0438\u0432\u0430\u043d${tail}`)).statusCode).toBe(201)
      expect((await register(`alice${tail}`)).statusCode).toBe(201)
      // The same rule on a profile change.
      const u = await t.user()
      const patch = await t.req('PATCH', `/api/users/${u.id}/`, {
        user: u,
        body: { username: `p\u0430ul${tail}` },
      })
      expect(patch.statusCode).toBe(400)
      expect(Object.keys(json(patch))).toEqual(['username'])
    })
  })
}
