import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { at, dialects, json, startApp } from './helpers.js'
import type { TestApp } from './helpers.js'

/** The properties of the one VEVENT of an iCalendar text (first value of each, unfolded). */
function eventOf(ics: string): Record<string, string> {
  const props: Record<string, string> = {}
  for (const line of ics.replace(/\r\n[ \t]/g, '').split('\r\n')) {
    const m = /^([A-Z-]+)([:;].*)$/.exec(line)
    if (m && !(m[1]! in props)) props[m[1]!] = m[2]!
  }
  return props
}

/** The text/calendar attachment of the mail in EMAIL_FILE_PATH whose calendar has this UID. */
async function mailedCalendar(t: TestApp, uid: string): Promise<string | undefined> {
  for (const name of readdirSync(t.emailDir).filter((n) => n.endsWith('.eml'))) {
    const mail = await simpleParser(readFileSync(join(t.emailDir, name)))
    for (const a of mail.attachments) {
      const text = a.content.toString('utf8')
      if (a.contentType === 'text/calendar' && text.includes(`UID:${uid}`)) return text
    }
  }
  return undefined
}

for (const engine of await dialects()) {
  describe(`${engine}: GET /api/reservations/{id}/calendar.ics`, () => {
    let t: TestApp
    beforeAll(async () => {
      t = await startApp(engine)
    })
    afterAll(async () => t?.close())

    it('serves whoever may read the reservation the confirmation mail’s event as METHOD:PUBLISH', async () => {
      const admin = await t.user({ admin: true })
      const barber = await t.user({ staff: true })
      const customer = await t.user()
      const stranger = await t.user()
      const service = await t.service({ duration: 45, name: 'Skin fade' })
      const made = await t.req('POST', '/api/reservations/', {
        user: customer,
        body: { start_time: at(6, '10:00'), staff: barber.id, service },
      })
      expect(made.statusCode).toBe(201)
      const { id } = json<{ id: number }>(made)
      const url = `/api/reservations/${id}/calendar.ics`

      const pending = await t.req('GET', url, { user: customer })
      expect(pending.statusCode).toBe(200)
      expect(pending.headers['content-type']).toBe('text/calendar; charset=utf-8')
      expect(pending.body.startsWith('BEGIN:VCALENDAR\r\n')).toBe(true)
      expect(eventOf(pending.body)).toMatchObject({
        METHOD: ':PUBLISH',
        UID: `:reservation-${id}@fade-district`,
        DTSTART: `:${at(6, '10:00').replace(/[-:]/g, '')}`,
        DTEND: `:${at(6, '10:45').replace(/[-:]/g, '')}`,
        SUMMARY: ':Fade District: Skin fade',
        STATUS: ':TENTATIVE',
      })
      // A published event invites nobody (RFC 5546 3.2.1).
      expect(pending.body).not.toContain('ATTENDEE')

      // Confirmed: the same event as the confirmation mail's invitation.
      const confirmed = await t.req('PATCH', `/api/reservations/${id}/`, {
        user: barber,
        body: { status: 'confirmed' },
      })
      expect(confirmed.statusCode).toBe(200)
      await t.drain()
      const mailed = await mailedCalendar(t, `reservation-${id}@fade-district`)
      expect(mailed).toBeDefined()
      const invite = eventOf(mailed!)
      expect(invite.METHOD).toBe(':REQUEST')
      for (const who of [customer, barber, admin]) {
        const res = await t.req('GET', url, { user: who })
        expect(res.statusCode).toBe(200)
        const ev = eventOf(res.body)
        expect(ev.METHOD).toBe(':PUBLISH')
        expect(ev.STATUS).toBe(':CONFIRMED')
        for (const key of [
          'UID',
          'SEQUENCE',
          'DTSTART',
          'DTEND',
          'SUMMARY',
          'DESCRIPTION',
          'LOCATION',
          'ORGANIZER',
        ])
          expect([key, ev[key]]).toEqual([key, invite[key]])
      }

      expect((await t.req('GET', url, { user: stranger })).statusCode).toBe(404)
      expect((await t.req('GET', url)).statusCode).toBe(401)
      expect(
        (await t.req('GET', '/api/reservations/999999/calendar.ics', { user: admin })).statusCode,
      ).toBe(404)
    })
  })
}
