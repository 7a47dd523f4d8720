import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createRenderer,
  defaultTemplatesDir,
  dropStandaloneTagLines,
  EMAIL_NAMES,
} from '../../src/notifications/render.js'
import type {
  EmailName,
  EmailProps,
  PersonView,
  ReservationEmailProps,
} from '../../src/notifications/render.js'

const customer: PersonView = {
  username: 'ivan',
  first_name: 'Ivan',
  last_name: 'Petrov',
  email: 'ivan@example.com',
}
const barber: PersonView = {
  username: 'bob',
  first_name: 'Bob',
  last_name: 'Barber',
  email: 'bob@fade.example',
}

function reservationProps(over: Partial<ReservationEmailProps['reservation']> = {}) {
  return {
    customer,
    reservation: {
      id: 42,
      // 08:00Z is 10:00 in Sofia (EET, UTC+2, before the end-of-March DST switch).
      start_time: new Date('2026-03-02T08:00:00Z'),
      end_time: new Date('2026-03-02T08:30:00Z'),
      status: 'confirmed',
      notes: 'Fade please <script>alert("x")</script> & thanks',
      cancelled_by: null,
      cancellation_reason: '',
      ...over,
    },
    service: { name: 'Skin fade', price: '25.00' },
    staff: barber,
  } satisfies ReservationEmailProps
}

const propsFor: { [N in EmailName]: EmailProps[N] } = {
  welcome: { user: customer },
  reservation_created: reservationProps({ status: 'pending' }),
  reservation_confirmed: reservationProps(),
  reservation_cancelled: reservationProps({
    status: 'cancelled',
    cancelled_by: 'staff',
    cancellation_reason: 'Barber <i>ill</i>',
  }),
  reservation_completed: reservationProps({ status: 'completed' }),
  reservation_no_show: reservationProps({ status: 'no_show' }),
  reservation_reminder: reservationProps(),
  password_reset: {
    user: customer,
    link: 'https://book.fade.test/reset-password?token=abc&x=<b>',
    validMinutes: 60,
  },
}

const renderer = createRenderer({ timezone: 'Europe/Sofia', shopName: 'Fade & Co' })

function renderAny(name: EmailName) {
  // The union of names loses the name/props pairing; each entry of propsFor is correct.
  return renderer.render(name, propsFor[name] as EmailProps['welcome'] & ReservationEmailProps)
}

describe('createRenderer', () => {
  it.each(EMAIL_NAMES)('renders %s with a subject, an HTML and a text part', (name) => {
    const out = renderAny(name)
    expect(out.subject.length).toBeGreaterThan(5)
    expect(out.subject).not.toMatch(/[\r\n]/)
    expect(out.subject).not.toMatch(/^Subject:/)
    expect(out.html).toMatch(/^<!DOCTYPE html>/)
    expect(out.html).toContain('</html>')
    expect(out.text.length).toBeGreaterThan(20)
    // The subject line is taken out of the text body.
    expect(out.text).not.toMatch(/^Subject:/m)
    // Template leftovers would mean a broken template.
    expect(out.html).not.toMatch(/<%|%>|undefined|\[object Object\]|Invalid DateTime/)
    expect(out.text).not.toMatch(/<%|%>|undefined|\[object Object\]|Invalid DateTime/)
    expect(out.text).not.toMatch(/\n{3,}/)
  })

  it('wraps every HTML mail in the shared layout with the shop name (escaped)', () => {
    for (const name of EMAIL_NAMES) {
      const { html, subject, text } = renderAny(name)
      expect(html).toContain('Fade &amp; Co')
      expect(html).not.toContain('Fade & Co')
      expect(html).toContain(`<title>${subject.replace(/&/g, '&amp;')}</title>`)
      expect(text).toContain('\n--\nFade & Co\n')
    }
  })

  it('escapes values in HTML but keeps them raw in text', () => {
    const { html, text } = renderer.render('reservation_confirmed', propsFor.reservation_confirmed)
    expect(html).not.toContain('<script>')
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; thanks')
    expect(text).toContain('<script>alert("x")</script> & thanks')
    expect(text).not.toContain('&lt;')
    expect(text).not.toContain('&amp;')

    const cancelled = renderer.render('reservation_cancelled', propsFor.reservation_cancelled)
    expect(cancelled.html).toContain('Barber &lt;i&gt;ill&lt;/i&gt;')
    expect(cancelled.text).toContain('Reason: Barber <i>ill</i>')
  })

  it('shows times in the shop time zone, not UTC', () => {
    const out = renderer.render('reservation_reminder', propsFor.reservation_reminder)
    expect(out.text).toContain('Mon 2 Mar 2026, 10:00 (Europe/Sofia)')
    expect(out.text).toContain('10:00-10:30')
    expect(out.html).toContain('Mon 2 Mar 2026, 10:00 (Europe/Sofia)')
    expect(out.subject).toContain('Mon 2 Mar 2026 at 10:00')
    expect(out.text).not.toContain('08:00')

    // Same instant, another shop: the zone follows the option.
    const ny = createRenderer({ timezone: 'America/New_York' })
    expect(ny.render('reservation_reminder', propsFor.reservation_reminder).text).toContain(
      'Mon 2 Mar 2026, 03:00 (America/New_York)',
    )
    // Summer time is applied (EEST, UTC+3) and a date can move across midnight.
    const summer = renderer.render(
      'reservation_confirmed',
      reservationProps({
        start_time: new Date('2026-09-15T21:30:00Z'),
        end_time: new Date('2026-09-15T22:00:00Z'),
      }),
    )
    expect(summer.text).toContain('Wed 16 Sep 2026, 00:30 (Europe/Sofia)')
  })

  it('says who cancelled and why', () => {
    const byStaff = renderer.render('reservation_cancelled', propsFor.reservation_cancelled)
    expect(byStaff.text).toMatch(/we had to cancel/)
    const byCustomer = renderer.render(
      'reservation_cancelled',
      reservationProps({ status: 'cancelled', cancelled_by: 'customer' }),
    )
    expect(byCustomer.text).toMatch(/as requested/)
    expect(byCustomer.text).not.toContain('Reason:')
  })

  it('copes with missing service, staff, notes and names', () => {
    const out = renderer.render('reservation_created', {
      ...reservationProps({ notes: '' }),
      customer: { ...customer, first_name: '', last_name: '' },
      service: null,
      staff: null,
    })
    expect(out.subject).toBe('New reservation #42: ivan, Mon 2 Mar 2026 10:00')
    expect(out.text).toContain('Service:     Not specified')
    expect(out.text).toContain('Barber:      First available')
    expect(out.text).not.toContain('Notes:')
    expect(out.html).not.toContain('Notes')
  })

  it('lays out the text part without stray blank lines', () => {
    const out = renderer.render(
      'reservation_confirmed',
      reservationProps({ notes: 'line one\nline two' }),
    )
    expect(out.text).toContain(
      [
        'When:        Mon 2 Mar 2026, 10:00-10:30 (Europe/Sofia)',
        'Service:     Skin fade (25.00)',
        'Barber:      Bob Barber',
        'Reservation: #42',
        'Notes:       line one',
        '             line two',
      ].join('\n'),
    )
    expect(out.text.startsWith('Hi Ivan Petrov,\n')).toBe(true)
    expect(out.text.endsWith('\n')).toBe(true)
  })

  it('keeps the subject on one line whatever the data holds', () => {
    const out = renderer.render('reservation_created', {
      ...reservationProps(),
      customer: { ...customer, first_name: 'Evil\r\nBcc: victim@example.com', last_name: '' },
    })
    expect(out.subject).toBe(
      'New reservation #42: Evil Bcc: victim@example.com, Mon 2 Mar 2026 10:00',
    )
  })

  it('refuses to render an invalid date instead of mailing "Invalid DateTime"', () => {
    expect(() =>
      renderer.render('reservation_reminder', reservationProps({ start_time: new Date('x') })),
    ).toThrow(/start_time/)
  })

  it('rejects an unknown time zone up front', () => {
    expect(() => createRenderer({ timezone: 'Mars/Olympus' })).toThrow(/time zone/)
  })

  it('finds the templates from the source tree by default', () => {
    expect(defaultTemplatesDir()).toBe(path.resolve(import.meta.dirname, '../../email_templates'))
  })

  describe('with owner-edited templates', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fade-templates-'))
    cpSync(defaultTemplatesDir(), dir, { recursive: true })
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    it('uses the edited subject and body, and compiles each template only once', () => {
      writeFileSync(
        path.join(dir, 'welcome.txt.eta'),
        'Subject:   Hello <%= it.user.username %>  \n\nCustom <%= it.user.first_name %>\n',
      )
      const r = createRenderer({ timezone: 'UTC', templatesDir: dir })
      const first = r.render('welcome', { user: customer })
      expect(first.subject).toBe('Hello ivan')
      expect(first.text.startsWith('Custom Ivan\n')).toBe(true)
      // A line break inside a value cannot split the subject.
      const odd = r.render('welcome', { user: { ...customer, username: 'iv\r\nBcc: x@y.z' } })
      expect(odd.subject).toBe('Hello iv Bcc: x@y.z')
      expect(odd.text).not.toContain('Bcc')

      // Cached: editing the file afterwards has no effect until a new renderer (restart).
      writeFileSync(path.join(dir, 'welcome.txt.eta'), 'Subject: Changed\nChanged\n')
      expect(r.render('welcome', { user: customer }).subject).toBe('Hello ivan')
      expect(
        createRenderer({ timezone: 'UTC', templatesDir: dir }).render('welcome', { user: customer })
          .subject,
      ).toBe('Changed')
    })

    it('fails at creation when a template is missing or does not compile', () => {
      const broken = mkdtempSync(path.join(tmpdir(), 'fade-templates-broken-'))
      try {
        cpSync(dir, broken, { recursive: true })
        rmSync(path.join(broken, 'reservation_reminder.html.eta'))
        expect(() => createRenderer({ timezone: 'UTC', templatesDir: broken })).toThrow(
          /reservation_reminder\.html\.eta/,
        )
        writeFileSync(path.join(broken, 'reservation_reminder.html.eta'), '<% if ( { %>')
        expect(() => createRenderer({ timezone: 'UTC', templatesDir: broken })).toThrow(
          /reservation_reminder\.html\.eta/,
        )
        // Compiles, but fails once data flows through it: still caught at creation.
        writeFileSync(
          path.join(broken, 'reservation_reminder.html.eta'),
          '<p><%= it.resevation.id %></p>',
        )
        expect(() => createRenderer({ timezone: 'UTC', templatesDir: broken })).toThrow(
          /reservation_reminder.*fail to render/,
        )
        // A broken partial is found the same way.
        writeFileSync(path.join(broken, 'reservation_reminder.html.eta'), '<p>ok</p>')
        createRenderer({ timezone: 'UTC', templatesDir: broken })
        writeFileSync(
          path.join(broken, 'partials', 'reservation_details.txt.eta'),
          '<%= it.nothing.here %>',
        )
        expect(() => createRenderer({ timezone: 'UTC', templatesDir: broken })).toThrow(
          /fail to render/,
        )
      } finally {
        rmSync(broken, { recursive: true, force: true })
      }
    })

    it('requires the Subject line', () => {
      writeFileSync(path.join(dir, 'welcome.txt.eta'), 'Hello\n')
      expect(() => createRenderer({ timezone: 'UTC', templatesDir: dir })).toThrow(
        /welcome\.txt\.eta must start with a "Subject: \.\.\." line/,
      )
    })
  })
})

describe('dropStandaloneTagLines', () => {
  it('removes lines holding only a control tag, keeps output tags and inline tags', () => {
    const src = 'a\n  <% if (x) { %>\nb <%= y %>\n<% } %>\n<%= z %>\n<% if (a) { %>t<% } %>\nend'
    expect(dropStandaloneTagLines(src)).toBe(
      'a\n<% if (x) { %>b <%= y %>\n<% } %><%= z %>\n<% if (a) { %>t<% } %>\nend',
    )
  })
})

describe('templates on disk', () => {
  it('has an html and a txt template for every email, each txt starting with Subject:', () => {
    for (const name of EMAIL_NAMES) {
      const txt = readFileSync(path.join(defaultTemplatesDir(), `${name}.txt.eta`), 'utf8')
      expect(txt).toMatch(/^Subject: /)
      readFileSync(path.join(defaultTemplatesDir(), `${name}.html.eta`), 'utf8')
    }
  })
})
