import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dialects, json, PASSWORD, startApp, unique } from './helpers.js'
import type { TestApp } from './helpers.js'
import { smtpMailer, startSmtpSink, waitFor } from './notifications/smtp-sink.js'
import type { SmtpSink } from './notifications/smtp-sink.js'

const NEW_PASSWORD = 'Fresh-Blade-Stropped-9'

for (const engine of await dialects()) {
  describe(`${engine}: password reset`, () => {
    let t: TestApp
    let sink: SmtpSink
    let ip = 0
    beforeAll(async () => {
      sink = await startSmtpSink()
      t = await startApp(engine, {
        mailer: smtpMailer(sink.port),
        env: { PUBLIC_URL: 'https://book.fade.test' },
      })
    })
    afterAll(async () => {
      await t?.close()
      await sink?.close()
    })

    /** Each test its own client address, so the per-address limit of one does not leak. */
    const nextIp = () => `10.77.0.${++ip}`
    const post = (url: string, body: unknown, remoteAddress = '10.77.1.1') =>
      t.app.inject({ method: 'POST', url, payload: body as object, remoteAddress })
    const login = (username: string, password: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        payload: { username, password },
        remoteAddress: nextIp(),
      })

    /** The reset link's token from the newest reset mail to `address`. */
    async function linkTokenFor(address: string, count = 1): Promise<string> {
      const mails = await waitFor(`reset mail to ${address}`, () => {
        const m = sink.mailsTo(address).filter((x) => /reset/i.test(x.subject))
        return m.length >= count ? m : null
      })
      const mail = mails[mails.length - 1]!
      const text = mail.parsed.text ?? ''
      const html = typeof mail.parsed.html === 'string' ? mail.parsed.html : ''
      const link = /https:\/\/book\.fade\.test\/reset-password\?token=([A-Za-z0-9_%-]+)/.exec(text)
      expect(link, text).not.toBeNull()
      expect(html).toContain(link![0])
      return decodeURIComponent(link![1]!)
    }

    it('mails a link whose token sets a new password once, and ends every login', async () => {
      const u = await t.user()
      const before = json<{ refresh: string }>(await login(u.username, PASSWORD))
      const ask = await post(
        '/api/auth/password/reset/',
        { email: u.email.toUpperCase() },
        nextIp(),
      )
      expect(ask.statusCode).toBe(204)
      expect(ask.body).toBe('')
      const token = await linkTokenFor(u.email)
      // Only the hash is stored.
      const stored = await t.database.db.selectFrom('password_reset_tokens').selectAll().execute()
      expect(JSON.stringify(stored)).not.toContain(token)

      const weak = await post('/api/auth/password/reset/confirm/', { token, password: '12345678' })
      expect(weak.statusCode).toBe(400)
      expect(Object.keys(json(weak))).toEqual(['password'])

      const ok = await post('/api/auth/password/reset/confirm/', { token, password: NEW_PASSWORD })
      expect(ok.statusCode).toBe(204)
      expect((await login(u.username, PASSWORD)).statusCode).toBe(401)
      expect((await login(u.username, NEW_PASSWORD)).statusCode).toBe(200)
      // Every refresh token of the account is revoked.
      const r = await post('/api/auth/refresh/', { refresh: before.refresh })
      expect(r.statusCode).toBe(401)

      // Single use.
      const again = await post('/api/auth/password/reset/confirm/', {
        token,
        password: 'Another-Good-One-77',
      })
      expect(again.statusCode).toBe(400)
      expect(Object.keys(json(again))).toEqual(['token'])
    })

    it('answers an unknown address exactly like a known one, and sends nothing', async () => {
      const u = await t.user()
      const nobody = `${unique('nobody')}@example.com`
      const a = await post('/api/auth/password/reset/', { email: u.email }, nextIp())
      const b = await post('/api/auth/password/reset/', { email: nobody }, nextIp())
      expect([a.statusCode, b.statusCode]).toEqual([204, 204])
      expect(b.body).toBe(a.body)
      await linkTokenFor(u.email)
      await t.drain()
      expect(sink.mailsTo(nobody)).toHaveLength(0)
      // An inactive account gets nothing either.
      const off = await t.user({ active: false })
      expect(
        (await post('/api/auth/password/reset/', { email: off.email }, nextIp())).statusCode,
      ).toBe(204)
      await t.drain()
      expect(sink.mailsTo(off.email)).toHaveLength(0)
      // A malformed address is a field error.
      const bad = await post('/api/auth/password/reset/', { email: 'not-an-address' }, nextIp())
      expect(bad.statusCode).toBe(400)
      expect(Object.keys(json(bad))).toEqual(['email'])
    })

    it('refuses bad and expired tokens with a token field error', async () => {
      const u = await t.user()
      for (const token of ['', 'garbage', 'x'.repeat(5000)]) {
        const res = await post('/api/auth/password/reset/confirm/', {
          token,
          password: NEW_PASSWORD,
        })
        expect(res.statusCode, token.slice(0, 10)).toBe(400)
        expect(Object.keys(json(res))).toEqual(['token'])
      }
      await post('/api/auth/password/reset/', { email: u.email }, nextIp())
      const token = await linkTokenFor(u.email)
      t.clock.advance(61 * 60_000)
      try {
        const late = await post('/api/auth/password/reset/confirm/', {
          token,
          password: NEW_PASSWORD,
        })
        expect(late.statusCode).toBe(400)
        expect(json(late)).toEqual({ token: [expect.any(String)] })
      } finally {
        t.clock.real()
      }
      expect((await login(u.username, PASSWORD)).statusCode).toBe(200)
    })

    it('limits requests per account and per address with Retry-After', async () => {
      const u = await t.user()
      const addr = nextIp()
      const codes: number[] = []
      for (let i = 0; i < 4; i++)
        codes.push(
          (await post('/api/auth/password/reset/', { email: u.email }, nextIp())).statusCode,
        )
      expect(codes).toEqual([204, 204, 204, 429])
      // Limited by the address asked for, known or not, so the 429 tells nothing either.
      const nobody = `${unique('ghost')}@example.com`
      const ghost: number[] = []
      for (let i = 0; i < 4; i++)
        ghost.push(
          (await post('/api/auth/password/reset/', { email: nobody }, nextIp())).statusCode,
        )
      expect(ghost).toEqual([204, 204, 204, 429])
      // Per client address, across addresses asked for.
      let last = await post('/api/auth/password/reset/', { email: `${unique('a')}@x.io` }, addr)
      for (let i = 0; i < 25 && last.statusCode === 204; i++)
        last = await post('/api/auth/password/reset/', { email: `${unique('a')}@x.io` }, addr)
      expect(last.statusCode).toBe(429)
      expect(Number(last.headers['retry-after'])).toBeGreaterThan(0)
      expect(json(last).code).toBe('throttled')
    })

    it('appears in the OpenAPI document', async () => {
      const doc = json<{ paths: Record<string, unknown> }>(await t.req('GET', '/api/schema/'))
      expect(doc.paths).toHaveProperty(['/api/auth/password/reset/'])
      expect(doc.paths).toHaveProperty(['/api/auth/password/reset/confirm/'])
    })
  })
}
