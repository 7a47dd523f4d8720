/**
 * Minimal iCalendar (RFC 5545) writer for the one event a booking mail carries, following the
 * iTIP (RFC 5546) rules calendar apps need to treat it as an invitation or its cancellation.
 */

export interface IcsEvent {
  /** PUBLISH: the event as a plain calendar entry ("add to calendar"), no invitation. */
  method: 'REQUEST' | 'CANCEL' | 'PUBLISH'
  /** Stable per reservation: a CANCEL only removes the event whose UID it repeats. */
  uid: string
  /** Must grow with every update of the same UID, or clients ignore the newer message. */
  sequence: number
  start: Date
  end: Date
  stamp: Date
  summary: string
  description?: string
  location?: string
  organizer: { email: string; name?: string }
  attendee: { email: string; name?: string }
  /** STATUS of a PUBLISH (default CONFIRMED); REQUEST is CONFIRMED and CANCEL CANCELLED. */
  status?: 'TENTATIVE' | 'CONFIRMED' | 'CANCELLED'
}

const CRLF = '\r\n'
/** RFC 5545 3.1: content lines should not be longer than 75 octets, excluding the line break. */
const MAX_LINE_OCTETS = 75

export const PRODID = '-//Fade District//Booking//EN'

export function buildIcs(ev: IcsEvent): string {
  if (!Number.isSafeInteger(ev.sequence) || ev.sequence < 0) {
    throw new RangeError(`ICS sequence must be a non-negative integer, got ${ev.sequence}`)
  }
  if (ev.uid.trim() === '') throw new RangeError('ICS uid must not be empty')
  const start = formatUtc(ev.start, 'start')
  const end = formatUtc(ev.end, 'end')
  if (ev.end.getTime() <= ev.start.getTime()) {
    // RFC 5545 3.6.1: DTEND must be later than DTSTART; some clients drop the event otherwise.
    throw new RangeError('ICS end must be after start')
  }

  const request = ev.method === 'REQUEST'
  const attendeeParams = request
    ? ['ROLE=REQ-PARTICIPANT', 'PARTSTAT=NEEDS-ACTION', 'RSVP=TRUE']
    : ['ROLE=REQ-PARTICIPANT']

  const lines = [
    'BEGIN:VCALENDAR',
    `PRODID:${PRODID}`,
    'VERSION:2.0',
    'CALSCALE:GREGORIAN',
    `METHOD:${ev.method}`,
    'BEGIN:VEVENT',
    `UID:${escapeText(ev.uid)}`,
    `SEQUENCE:${ev.sequence}`,
    `DTSTAMP:${formatUtc(ev.stamp, 'stamp')}`,
    `DTSTART:${start}`,
    `DTEND:${end}`,
    `SUMMARY:${escapeText(ev.summary)}`,
    ...(ev.description !== undefined && ev.description !== ''
      ? [`DESCRIPTION:${escapeText(ev.description)}`]
      : []),
    ...(ev.location !== undefined && ev.location !== ''
      ? [`LOCATION:${escapeText(ev.location)}`]
      : []),
    calAddress('ORGANIZER', ev.organizer, []),
    // RFC 5546 3.2.1: a PUBLISH names no attendees.
    ...(ev.method === 'PUBLISH' ? [] : [calAddress('ATTENDEE', ev.attendee, attendeeParams)]),
    `STATUS:${ev.method === 'PUBLISH' ? (ev.status ?? 'CONFIRMED') : request ? 'CONFIRMED' : 'CANCELLED'}`,
    'TRANSP:OPAQUE',
    'END:VEVENT',
    'END:VCALENDAR',
  ]
  return lines.map(foldLine).join(CRLF) + CRLF
}

/** RFC 5545 3.3.11: backslash first, so the escapes added afterwards are not doubled. */
export function escapeText(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(/\r\n|\r|\n/g, '\\n')
    .replace(CONTROL_CHARS, '')
}

/**
 * Splits a content line into chunks of at most 75 octets; continuation lines start with a space
 * that counts towards their 75. Breaks only between code points, so a multi-byte UTF-8 character
 * is never cut in half (RFC 5545 3.1 forbids that too).
 */
export function foldLine(line: string): string {
  if (Buffer.byteLength(line, 'utf8') <= MAX_LINE_OCTETS) return line
  const out: string[] = []
  let current = ''
  let currentOctets = 0
  let limit = MAX_LINE_OCTETS
  for (const char of line) {
    const octets = Buffer.byteLength(char, 'utf8')
    if (currentOctets + octets > limit) {
      out.push(current)
      current = ''
      currentOctets = 0
      limit = MAX_LINE_OCTETS - 1
    }
    current += char
    currentOctets += octets
  }
  out.push(current)
  return out.join(CRLF + ' ')
}

// Control characters other than newline (handled by the escaping) are not allowed in TEXT.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g

function formatUtc(date: Date, what: string): string {
  if (Number.isNaN(date.getTime())) throw new RangeError(`ICS ${what} is not a valid date`)
  // toISOString is always UTC: 2026-03-02T08:00:00.000Z -> 20260302T080000Z
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')
}

function calAddress(
  property: 'ORGANIZER' | 'ATTENDEE',
  who: { email: string; name?: string },
  params: string[],
): string {
  const email = who.email.trim().replace(/^mailto:/i, '')
  // The address ends up unescaped in a URI value, so anything that could end the line or the
  // value is refused instead of producing an invitation that silently targets someone else.
  if (!/^[^\s\p{Cc}"<>;:,\\@]+@[^\s\p{Cc}"<>;:,\\@]+$/u.test(email)) {
    throw new RangeError(
      `ICS ${property.toLowerCase()} email is not usable: ${JSON.stringify(email)}`,
    )
  }
  const name = who.name === undefined ? '' : paramValue(who.name)
  const allParams = [...(name === '' ? [] : [`CN=${name}`]), ...params]
  const prefix = allParams.length === 0 ? property : `${property};${allParams.join(';')}`
  return `${prefix}:mailto:${email}`
}

/**
 * A parameter value cannot contain DQUOTE or control characters at all (RFC 5545 3.1), and needs
 * quoting when it has ':', ';' or ','. Always quoting is valid and simpler.
 */
function paramValue(value: string): string {
  const cleaned = value
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(CONTROL_CHARS, '')
    .replace(/"/g, "'")
    .trim()
  return cleaned === '' ? '' : `"${cleaned}"`
}
