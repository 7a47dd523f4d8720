import { describe, expect, it } from 'vitest'
import { buildIcs, escapeText, foldLine } from '../../src/notifications/ics.js'
import type { IcsEvent } from '../../src/notifications/ics.js'

const base: IcsEvent = {
  method: 'REQUEST',
  uid: 'reservation-42@fade-district',
  sequence: 0,
  start: new Date('2026-03-02T08:00:00Z'),
  end: new Date('2026-03-02T08:30:00.500Z'),
  stamp: new Date('2026-02-20T17:05:09.123Z'),
  summary: 'Skin fade at Fade District',
  description: 'Barber: Bob\nNotes: short, please; thanks\\',
  location: 'Fade District, 1 Main St',
  organizer: { email: 'noreply@fade.example', name: 'Fade District' },
  attendee: { email: 'ivan@example.com', name: 'Ivan "Vanko" Petrov' },
}

/** Undoes RFC 5545 folding: a CRLF followed by one space or tab is removed. */
function unfold(ics: string): string[] {
  return ics.replace(/\r\n[ \t]/g, '').split('\r\n')
}

function prop(ics: string, name: string): string | undefined {
  return unfold(ics).find((l) => l.startsWith(`${name}:`) || l.startsWith(`${name};`))
}

describe('buildIcs', () => {
  it('writes a VCALENDAR with one VEVENT, CRLF line endings and UTC times', () => {
    const ics = buildIcs(base)
    expect(ics.endsWith('\r\n')).toBe(true)
    // Every line break is CRLF: no bare LF or CR anywhere.
    expect(ics.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/)
    const lines = unfold(ics)
    expect(lines.slice(0, 6)).toEqual([
      'BEGIN:VCALENDAR',
      'PRODID:-//Fade District//Booking//EN',
      'VERSION:2.0',
      'CALSCALE:GREGORIAN',
      'METHOD:REQUEST',
      'BEGIN:VEVENT',
    ])
    expect(lines.slice(-3)).toEqual(['END:VEVENT', 'END:VCALENDAR', ''])
    expect(lines.filter((l) => l === 'BEGIN:VEVENT')).toHaveLength(1)
    expect(prop(ics, 'UID')).toBe('UID:reservation-42@fade-district')
    expect(prop(ics, 'SEQUENCE')).toBe('SEQUENCE:0')
    expect(prop(ics, 'DTSTART')).toBe('DTSTART:20260302T080000Z')
    // Milliseconds are dropped, not rounded into a different format.
    expect(prop(ics, 'DTEND')).toBe('DTEND:20260302T083000Z')
    expect(prop(ics, 'DTSTAMP')).toBe('DTSTAMP:20260220T170509Z')
    expect(prop(ics, 'STATUS')).toBe('STATUS:CONFIRMED')
  })

  it('converts non-UTC instants to UTC', () => {
    const ics = buildIcs({
      ...base,
      start: new Date('2026-07-01T10:00:00+03:00'),
      end: new Date('2026-07-01T10:45:00+03:00'),
    })
    expect(prop(ics, 'DTSTART')).toBe('DTSTART:20260701T070000Z')
    expect(prop(ics, 'DTEND')).toBe('DTEND:20260701T074500Z')
  })

  it('makes REQUEST an invitation and CANCEL a cancellation of the same UID', () => {
    const request = buildIcs(base)
    const cancel = buildIcs({ ...base, method: 'CANCEL', sequence: 1 })

    expect(prop(request, 'METHOD')).toBe('METHOD:REQUEST')
    expect(prop(request, 'ATTENDEE')).toBe(
      'ATTENDEE;CN="Ivan \'Vanko\' Petrov";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:ivan@example.com',
    )
    expect(prop(request, 'ORGANIZER')).toBe(
      'ORGANIZER;CN="Fade District":mailto:noreply@fade.example',
    )

    expect(prop(cancel, 'METHOD')).toBe('METHOD:CANCEL')
    expect(prop(cancel, 'STATUS')).toBe('STATUS:CANCELLED')
    expect(prop(cancel, 'UID')).toBe(prop(request, 'UID'))
    expect(prop(cancel, 'SEQUENCE')).toBe('SEQUENCE:1')
    expect(prop(cancel, 'ATTENDEE')).not.toMatch(/RSVP|PARTSTAT/)
    expect(prop(cancel, 'ATTENDEE')).toMatch(/:mailto:ivan@example\.com$/)
  })

  it('escapes TEXT values', () => {
    const ics = buildIcs(base)
    expect(prop(ics, 'DESCRIPTION')).toBe(
      'DESCRIPTION:Barber: Bob\\nNotes: short\\, please\\; thanks\\\\',
    )
    expect(prop(ics, 'LOCATION')).toBe('LOCATION:Fade District\\, 1 Main St')
    expect(escapeText('a\r\nb\rc\nd')).toBe('a\\nb\\nc\\nd')
    expect(escapeText('\\;,')).toBe('\\\\\\;\\,')
    expect(escapeText('bell\x07')).toBe('bell')
  })

  it('leaves out empty optional properties', () => {
    const ics = buildIcs({ ...base, description: undefined, location: '' })
    expect(prop(ics, 'DESCRIPTION')).toBeUndefined()
    expect(prop(ics, 'LOCATION')).toBeUndefined()
  })

  it('folds lines at 75 octets without splitting multi-byte characters', () => {
    // Cyrillic is 2 octets, the emoji 4: a naive 75-character fold would overflow and could
    // cut a character in half.
    const summary = 'Подстригване и оформяне на брада 💈 '.repeat(6) + 'край'
    const ics = buildIcs({ ...base, summary })
    const physical = ics.split('\r\n').slice(0, -1)
    for (const line of physical) {
      expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(75)
      // Each physical line is valid UTF-8 on its own (no lone surrogates from a split).
      expect(line).not.toMatch(/[\uD800-\uDFFF](?![\uDC00-\uDFFF])/u)
      expect(Buffer.from(line, 'utf8').toString('utf8')).toBe(line)
    }
    expect(physical.filter((l) => l.startsWith(' ')).length).toBeGreaterThan(3)
    expect(prop(ics, 'SUMMARY')).toBe(`SUMMARY:${summary.replace(/,/g, '\\,')}`)
  })

  it('fills each folded line as far as 75 octets allow', () => {
    const line = 'X'.repeat(200)
    const folded = foldLine(line).split('\r\n')
    expect(folded.map((l) => l.length)).toEqual([75, 75, 52])
    expect(folded.slice(1).every((l) => l.startsWith(' '))).toBe(true)
    expect(foldLine('short')).toBe('short')
    expect(foldLine('Y'.repeat(75))).toBe('Y'.repeat(75))
  })

  it('folds between octets of an ASCII line but between characters of a UTF-8 one', () => {
    // 74 ASCII octets, then a 2-octet character that would end at octet 76.
    const folded = foldLine('A'.repeat(74) + 'ж' + 'B').split('\r\n')
    expect(folded).toEqual(['A'.repeat(74), ' жB'])
  })

  it('rejects values that would produce a broken or misdirected calendar', () => {
    expect(() => buildIcs({ ...base, end: base.start })).toThrow(RangeError)
    expect(() => buildIcs({ ...base, start: new Date('nope') })).toThrow(/start/)
    expect(() => buildIcs({ ...base, sequence: -1 })).toThrow(/sequence/)
    expect(() => buildIcs({ ...base, uid: ' ' })).toThrow(/uid/)
    expect(() =>
      buildIcs({ ...base, attendee: { email: 'a@b.c\r\nATTENDEE:mailto:evil@x.y' } }),
    ).toThrow(/attendee/)
    // Names are parameter values: quotes and line breaks cannot escape the parameter.
    const ics = buildIcs({ ...base, attendee: { email: 'a@b.c', name: 'x"\r\n:mailto:evil' } })
    expect(prop(ics, 'ATTENDEE')).toBe(
      'ATTENDEE;CN="x\' :mailto:evil";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:a@b.c',
    )
  })
})
