import { parseDateTime } from '../shop/hours.js'
import type { FieldErrors } from './errors.js'

/** UTC with Z, and without a zero millisecond part, as DRF writes it. */
export function iso(d: Date): string {
  const s = d.toISOString()
  return s.endsWith('.000Z') ? `${s.slice(0, -5)}Z` : s
}

export function isoOrNull(d: Date | null): string | null {
  return d ? iso(d) : null
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
