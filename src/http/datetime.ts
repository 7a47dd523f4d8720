import { parseDateTime } from '../shop/hours.js'
import type { FieldErrors } from './errors.js'

/**
 * UTC with Z, and without a zero millisecond part, as DRF writes it. Takes a Date or a
 * stored value: SQLite keeps instants as `toISOString()` text, which is used as it is
 * (no parse and format per field of every row listed).
 */
export function iso(d: Date | string): string {
  const s = typeof d === 'string' && isCanonicalIso(d) ? d : new Date(d).toISOString()
  return s.endsWith('.000Z') ? `${s.slice(0, -5)}Z` : s
}

export function isoOrNull(d: Date | string | null | undefined): string | null {
  return d == null ? null : iso(d)
}

/** `YYYY-MM-DDTHH:MM:SS.mmmZ`, exactly as Date#toISOString writes years 0–9999. */
function isCanonicalIso(s: string): boolean {
  return (
    s.length === 24 &&
    s.charCodeAt(4) === 45 &&
    s.charCodeAt(10) === 84 &&
    s.charCodeAt(19) === 46 &&
    s.charCodeAt(23) === 90
  )
}

export const DATETIME_FORMAT_MESSAGE =
  'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].'

/** Reads an API datetime (no offset = shop time), recording a field error when malformed. */
export function readDateTime(
  errors: FieldErrors,
  field: string,
  value: string,
  zone: string,
): Date | undefined {
  const d = parseDateTime(value, zone)
  // Instants far outside any booking (year 10000 after an offset) would break date arithmetic.
  if (!d || d.getUTCFullYear() < 1900 || d.getUTCFullYear() > 9000) {
    errors.add(field, DATETIME_FORMAT_MESSAGE)
    return undefined
  }
  return d
}
