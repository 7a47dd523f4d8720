import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dialects, json, PASSWORD, startApp, unique } from './helpers.js'
import type { TestApp } from './helpers.js'
import { smtpMailer, startSmtpSink, waitFor } from './notifications/smtp-sink.js'
import type { SmtpSink } from './notifications/smtp-sink.js'

interface UserBody {
  id: number
  username: string
  email: string
  first_name: string
  last_name: string
  phone: string
  is_admin: boolean
  is_staff_member: boolean
  is_active: boolean
}

for (const engine of await dialects()) {
  describe(`${engine}: customers the shop adds (POST /api/users/)`, () => {
    let t: TestApp
    let sink: SmtpSink
    beforeAll(async () => {
      sink = await startSmtpSink()
      t = await startApp(engine, {
        mailer: smtpMailer(sink.port),
        env: { PUBLIC_URL: 'https://book.fade.test', REMINDER_HOURS_BEFORE: '24' },
      })
    })
    afterAll(async () => {
      await t?.close()
      await sink?.close()
    })

    const login = (username: string, password: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        payload: { username, password },
        remoteAddress: `10.66.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
      })

    it('admin and staff add customers; customers and anonymous may not', async () => {
      const admin = await t.user({ admin: true })
      const barber = await t.user({ staff: true })
      const customer = await t.user()
      const last = unique('Lee')
      const res = await t.req('POST', '/api/users/', {
        user: admin,
        body: { first_name: 'Ana', last_name: last, phone: '+359 88 123 4567' },
      })
      expect(res.statusCode, res.body).toBe(201)
      const a = json<UserBody>(res)
      expect(a).toMatchObject({
        first_name: 'Ana',
        last_name: last,
        phone: '+359881234567',
        email: '',
        username: `ana.${last.toLowerCase()}`,
        is_admin: false,
        is_staff_member: false,
        is_active: true,
      })
      expect(Object.keys(a)).not.toContain('password')
      // The same name again: the next free username.
      const again = await t.req('POST', '/api/users/', {
        user: barber,
        body: { first_name: 'Ana', last_name: last, phone: '0888 123 456' },
      })
      expect(again.statusCode, again.body).toBe(201)
      expect(json<UserBody>(again).username).toBe(`ana.${last.toLowerCase()}2`)
      // Two customers without an address coexist (uniqueness holds only for real addresses).
      expect(json<UserBody>(again).email).toBe('')

      const denied = await t.req('POST', '/api/users/', {
        user: customer,
        body: { first_name: 'X', phone: '0888123456' },
      })
      expect(denied.statusCode).toBe(403)
      const anon = await t.req('POST', '/api/users/', {
        body: { first_name: 'X', phone: '0888123456' },
      })
      expect(anon.statusCode).toBe(401)
    })

    it('validates: names, phone, email unique case-insensitively, username', async () => {
      const admin = await t.user({ admin: true })
      const existing = await t.user()
      const missing = await t.req('POST', '/api/users/', { user: admin, body: {} })
      expect(missing.statusCode).toBe(400)
      expect(Object.keys(json(missing)).sort()).toEqual(['first_name', 'phone'])
      const bad = await t.req('POST', '/api/users/', {
        user: admin,
        body: {
          first_name: 'Bo',
          phone: 'abc',
          email: existing.email.toUpperCase(),
          username: existing.username.toUpperCase(),
        },
      })
      expect(bad.statusCode).toBe(400)
      expect(Object.keys(json(bad)).sort()).toEqual(['phone'])
      const taken = await t.req('POST', '/api/users/', {
        user: admin,
        body: {
          first_name: 'Bo',
          phone: '0888123456',
          email: existing.email.toUpperCase(),
          username: existing.username.toUpperCase(),
        },
      })
      expect(taken.statusCode).toBe(400)
      expect(Object.keys(json(taken)).sort()).toEqual(['email', 'username'])
      const named = unique('walkin')
      const ok = await t.req('POST', '/api/users/', {
        user: admin,
        body: {
          first_name: 'Bo',
          phone: '0888123456',
          email: `${named}@Example.com`,
          username: named,
        },
      })
      expect(ok.statusCode, ok.body).toBe(201)
      expect(json(ok)).toMatchObject({ username: named, email: `${named}@Example.com` })
    })

    it('cannot log in until a password reset, which needs the email', async () => {
      const admin = await t.user({ admin: true })
      const email = `${unique('phone')}@example.com`
      const res = await t.req('POST', '/api/users/', {
        user: admin,
        body: { first_name: 'Cem', phone: '0888123456', email },
      })
      const c = json<UserBody>(res)
      for (const guess of ['', '!', PASSWORD])
        expect((await login(c.username, guess)).statusCode).toBe(401)
      expect((await login(email, PASSWORD)).statusCode).toBe(401)
      const ask = await t.app.inject({
        method: 'POST',
        url: '/api/auth/password/reset/',
        payload: { email },
        remoteAddress: '10.66.0.1',
      })
      expect(ask.statusCode).toBe(204)
      const mail = await waitFor('reset mail', () => sink.mailsTo(email)[0])
      const token = /reset-password\?token=([\w%-]+)/.exec(mail.parsed.text ?? '')![1]!
      const set = await t.app.inject({
        method: 'POST',
        url: '/api/auth/password/reset/confirm/',
        payload: { token: decodeURIComponent(token), password: 'Brand-New-Clipper-42' },
      })
      expect(set.statusCode, set.body).toBe(204)
      expect((await login(c.username, 'Brand-New-Clipper-42')).statusCode).toBe(200)
    })

    it('never queues an email to a customer without an address', async () => {
      const admin = await t.user({ admin: true })
      const service = await t.service()
      const add = async (email?: string) =>
        json<UserBody>(
          await t.req('POST', '/api/users/', {
            user: admin,
            body: { first_name: 'Dee', phone: '0888123456', ...(email ? { email } : {}) },
          }),
        )
      const silent = await add()
      const reachable = await add(`${unique('reach')}@example.com`)
      const outboxFor = async (reservationId: number) =>
        (await t.database.db.selectFrom('outbox').select(['kind', 'payload']).execute())
          .filter(
            (r) =>
              (JSON.parse(r.payload) as { reservationId?: number }).reservationId === reservationId,
          )
          .map((r) => r.kind)
          .sort()
      const kindsFor = async (customer: number, hour: number) => {
        // Three hours ahead: confirming queues the status mail and the reminder at once.
        const start = new Date(Date.now() + (3 + hour) * 3600_000)
        start.setUTCSeconds(0, 0)
        const r = await t.req('POST', '/api/reservations/', {
          user: admin,
          body: { start_time: start.toISOString(), service, customer },
        })
        expect(r.statusCode, r.body).toBe(201)
        const id = json<{ id: number }>(r).id
        const c = await t.req('PATCH', `/api/reservations/${id}/`, {
          user: admin,
          body: { status: 'confirmed' },
        })
        expect(c.statusCode, c.body).toBe(200)
        const x = await t.req('PATCH', `/api/reservations/${id}/`, {
          user: admin,
          body: { status: 'cancelled' },
        })
        expect(x.statusCode, x.body).toBe(200)
        return outboxFor(id)
      }
      expect(await kindsFor(reachable.id, 0)).toEqual([
        'email.reservation_created',
        'email.reservation_reminder',
        'email.reservation_status',
        'email.reservation_status',
      ])
      // Only the shop hears of the booking of the customer without an address.
      expect(await kindsFor(silent.id, 2)).toEqual(['email.reservation_created'])
      await t.drain()
      const failed = await t.database.db
        .selectFrom('outbox')
        .select(['kind', 'last_error'])
        .where('status', '=', 'failed')
        .execute()
      expect(failed).toEqual([])
    })
  })
}
