import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { dialects, json, PASSWORD, startApp, unique } from './helpers.js'
import type { TestApp } from './helpers.js'

const COOKIE = '__Secure-fd_refresh'
const BROWSER = {
  'x-auth-transport': 'cookie',
  'sec-fetch-site': 'same-origin',
  origin: 'https://book.fade.test',
}

/** The refresh cookie a response sets: its value and attributes. */
function refreshCookie(res: LightMyRequestResponse): { value: string; attrs: string[] } {
  const raw = res.headers['set-cookie']
  const all = Array.isArray(raw) ? raw : raw ? [raw] : []
  const line = all.find((c) => c.startsWith(`${COOKIE}=`))
  if (!line) throw new Error(`no ${COOKIE} cookie in ${JSON.stringify(all)}`)
  const [pair, ...attrs] = line.split(';').map((s) => s.trim())
  return { value: pair!.slice(COOKIE.length + 1), attrs }
}

for (const engine of await dialects()) {
  describe(`${engine}: browser sessions (cookie mode)`, () => {
    let t: TestApp
    beforeAll(async () => {
      t = await startApp(engine, {
        env: {
          PUBLIC_URL: 'https://book.fade.test',
          REFRESH_TOKEN_DAYS: '7',
          REFRESH_REUSE_GRACE_SECONDS: '5',
        },
      })
    })
    afterAll(async () => t?.close())

    const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'POST', url, payload: body as object, headers })

    it('login, refresh and logout carry the refresh token in an HttpOnly cookie', async () => {
      const u = await t.user()
      const login = await post(
        '/api/auth/login/',
        { username: u.username, password: PASSWORD },
        BROWSER,
      )
      expect(login.statusCode).toBe(200)
      const body = json(login)
      expect(body.access).toBeTruthy()
      expect(body).not.toHaveProperty('refresh')
      expect((body.user as { id: number }).id).toBe(u.id)
      const c1 = refreshCookie(login)
      expect(c1.value).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
      expect(c1.attrs).toEqual(
        expect.arrayContaining([
          'Max-Age=604800',
          'Path=/api/auth/',
          'HttpOnly',
          'Secure',
          'SameSite=Strict',
        ]),
      )

      // Refresh with no body token reads the cookie and sets the next one.
      const r = await post(
        '/api/auth/refresh/',
        {},
        { ...BROWSER, cookie: `${COOKIE}=${c1.value}` },
      )
      expect(r.statusCode).toBe(200)
      expect(json(r)).not.toHaveProperty('refresh')
      expect(json(r).access).toBeTruthy()
      const c2 = refreshCookie(r)
      expect(c2.value).not.toBe(c1.value)
      expect(
        (await t.req('GET', '/api/auth/me/', { user: json(r).access as string })).statusCode,
      ).toBe(200)

      // Logout reads the cookie, clears it and revokes the family.
      const out = await post(
        '/api/auth/logout/',
        {},
        {
          'sec-fetch-site': 'same-origin',
          'content-type': 'application/json',
          cookie: `other=1; ${COOKIE}=${c2.value}`,
        },
      )
      expect(out.statusCode).toBe(204)
      const cleared = refreshCookie(out)
      expect(cleared.value).toBe('')
      expect(cleared.attrs).toContain('Max-Age=0')
      expect((await post('/api/auth/refresh/', { refresh: c2.value })).statusCode).toBe(401)
    })

    it('register in cookie mode; without the header nothing changes', async () => {
      const username = unique('ck')
      const reg = await post(
        '/api/auth/register/',
        { username, email: `${username}@example.com`, password: PASSWORD },
        BROWSER,
      )
      expect(reg.statusCode).toBe(201)
      expect(json(reg)).not.toHaveProperty('refresh')
      expect(refreshCookie(reg).value).toBeTruthy()

      const plain = await post('/api/auth/login/', { username, password: PASSWORD })
      expect(plain.statusCode).toBe(200)
      expect(json(plain).refresh).toBeTruthy()
      expect(plain.headers['set-cookie']).toBeUndefined()
      const rotated = await post('/api/auth/refresh/', { refresh: json(plain).refresh })
      expect(rotated.statusCode).toBe(200)
      expect(json(rotated).refresh).toBeTruthy()
      expect(rotated.headers['set-cookie']).toBeUndefined()
      // No token in the body and no cookie: the field is required, as before.
      const none = await post('/api/auth/refresh/', {})
      expect(none.statusCode).toBe(400)
      expect(json(none)).toEqual({ refresh: ['This field is required.'] })
    })

    it('refuses cookie-mode requests from another site', async () => {
      const u = await t.user()
      const creds = { username: u.username, password: PASSWORD }
      const cases: Record<string, string>[] = [
        { ...BROWSER, 'sec-fetch-site': 'cross-site' },
        { ...BROWSER, 'sec-fetch-site': 'same-site' },
        { 'x-auth-transport': 'cookie', origin: 'https://evil.test' },
        { 'x-auth-transport': 'cookie', origin: 'null' },
      ]
      for (const headers of cases) {
        const res = await post('/api/auth/login/', creds, headers)
        expect(res.statusCode, JSON.stringify(headers)).toBe(403)
        expect(json(res).code).toBe('cross_site_request')
        expect(res.headers['set-cookie']).toBeUndefined()
      }
      // A body that is not JSON (what a cross-site form can send).
      const form = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        payload: `username=${u.username}&password=${PASSWORD}`,
        headers: { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded' },
      })
      expect(form.statusCode).toBe(403)
      // The cookie read by refresh/logout is guarded the same way, header or not.
      const ok = await post('/api/auth/login/', creds, BROWSER)
      const cookie = `${COOKIE}=${refreshCookie(ok).value}`
      const cross = await post('/api/auth/refresh/', {}, { 'sec-fetch-site': 'cross-site', cookie })
      expect(cross.statusCode).toBe(403)
      const crossOut = await post('/api/auth/logout/', {}, { origin: 'https://evil.test', cookie })
      expect(crossOut.statusCode).toBe(403)
      // Allowed without Sec-Fetch-Site: PUBLIC_URL's origin, the request's own, no Origin at all.
      for (const origin of ['https://book.fade.test', 'http://localhost:80', undefined]) {
        const res = await post('/api/auth/login/', creds, {
          'x-auth-transport': 'cookie',
          ...(origin ? { origin } : {}),
        })
        expect(res.statusCode, String(origin)).toBe(200)
      }
      // Still alive after the refused attempts.
      expect((await post('/api/auth/refresh/', {}, { ...BROWSER, cookie })).statusCode).toBe(200)
    })

    it('answers a just-spent token token_rotated without revoking; after the grace window reuse revokes', async () => {
      const u = await t.user()
      const login = await post(
        '/api/auth/login/',
        { username: u.username, password: PASSWORD },
        BROWSER,
      )
      const cookie = `${COOKIE}=${refreshCookie(login).value}`
      // Two tabs refresh with the same cookie at once: one wins, the other is told to retry.
      const [a, b] = await Promise.all([
        post('/api/auth/refresh/', {}, { ...BROWSER, cookie }),
        post('/api/auth/refresh/', {}, { ...BROWSER, cookie }),
      ])
      const codes = [a.statusCode, b.statusCode].sort()
      expect(codes).toEqual([200, 401])
      const [winner, loser] = a.statusCode === 200 ? [a, b] : [b, a]
      expect(json(loser)).toEqual({
        detail: expect.any(String) as string,
        code: 'token_rotated',
      })
      // The loser's answer does not touch the cookie the winner got.
      expect(loser.headers['set-cookie']).toBeUndefined()
      const fresh = `${COOKIE}=${refreshCookie(winner).value}`
      // Within the window the family lives on: the retry with the new cookie works.
      t.clock.advance(4_000)
      const again = await post('/api/auth/refresh/', {}, { ...BROWSER, cookie })
      expect(json(again).code).toBe('token_rotated')
      const retry = await post('/api/auth/refresh/', {}, { ...BROWSER, cookie: fresh })
      expect(retry.statusCode).toBe(200)
      const newest = `${COOKIE}=${refreshCookie(retry).value}`

      // After the window, replaying the first token is theft: the whole family is revoked.
      t.clock.advance(2_000)
      const theft = await post('/api/auth/refresh/', {}, { ...BROWSER, cookie })
      expect(theft.statusCode).toBe(401)
      expect(json(theft).code).toBe('token_not_valid')
      const dead = await post('/api/auth/refresh/', {}, { ...BROWSER, cookie: newest })
      expect(dead.statusCode).toBe(401)
      expect(json(dead).code).toBe('token_not_valid')
      t.clock.real()
    })
  })
}
