import { IANAZone } from 'luxon'

/*
 * Calendar and time-zone primitives shared by the opening-hours code.
 *
 * One rule turns a shop-local wall time into an instant everywhere in this module: the wall time
 * means the FIRST instant at which the local clock reads that time or later. So
 *   - a normal wall time maps to its only instant;
 *   - a repeated wall time (fall-back) maps to its first occurrence;
 *   - a skipped wall time (spring-forward gap) maps to the instant the clocks jump, e.g. 03:30 on
 *     2026-03-29 in Europe/Sofia becomes 04:00 local (01:00Z).
 * Unlike luxon's own "shift by the size of the gap" (03:30 → 04:30), this mapping never goes
 * backwards, so a range such as 03:30-04:15 can never end before it starts, and "open from 03:30"
 * really does mean open from the first moment the clock shows 03:30 or later.
 */

export const MINUTE_MS = 60_000
export const DAY_MS = 86_400_000
/** Wall minutes in a calendar day; 24:00 is allowed as a range end. */
export const DAY_MINUTES = 1440

// Outside this range tzdb falls back to local-mean-time offsets with odd seconds, and years with
// more than four digits do not fit YYYY-MM-DD, so neither can be a sensible booking date.
const MIN_YEAR = 1900
const MAX_YEAR = 9999

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/

const WEEKDAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const
const MONTH_NAMES = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
] as const

const zones = new Map<string, IANAZone>()

export function isValidTimeZone(zone: string): boolean {
  // Node 24's ICU also takes UTC offsets ("+02:00", ECMA-402 offset zones): not IANA names,
  // and they would ignore daylight saving time, so refused here.
  return (
    typeof zone === 'string' &&
    (zones.has(zone) || (!/^[+-]/.test(zone) && IANAZone.isValidZone(zone)))
  )
}

/** Resolves a zone once; an invalid zone is a configuration bug, so it throws rather than guessing. */
export function zoneOf(zone: string): IANAZone {
  let z = zones.get(zone)
  if (!z) {
    if (!isValidTimeZone(zone)) throw new RangeError(`invalid time zone "${zone}"`)
    z = IANAZone.create(zone)
    zones.set(zone, z)
  }
  return z
}

/** luxon reports minutes, fractional for historic second-precision offsets; round away float noise. */
function exactOffsetMs(z: IANAZone, at: number): number {
  return Math.round(z.offset(at) * MINUTE_MS)
}

const BUCKET_MS = 15 * MINUTE_MS
/** Per zone: the offset of each 15-minute bucket whose two ends agree (Intl is slow). */
const offsetCache = new WeakMap<IANAZone, Map<number, number>>()

/**
 * UTC offset in ms at an instant (local wall = instant + offset). A zone's offset changes
 * at most once in any 15 minutes, so when both ends of the instant's 15-minute bucket have
 * the same offset, so does every instant between them: that value is kept for the bucket.
 */
function offsetMs(z: IANAZone, at: number): number {
  let cache = offsetCache.get(z)
  if (!cache) offsetCache.set(z, (cache = new Map()))
  const bucket = Math.floor(at / BUCKET_MS)
  const hit = cache.get(bucket)
  if (hit !== undefined) return hit
  const start = exactOffsetMs(z, bucket * BUCKET_MS)
  if (start !== exactOffsetMs(z, (bucket + 1) * BUCKET_MS)) return exactOffsetMs(z, at)
  if (cache.size >= 50_000) cache.clear()
  cache.set(bucket, start)
  return start
}

/**
 * The instant for a local wall time, where `wall` is the wall time encoded as if it were UTC
 * (Date.UTC of the local fields). See the module comment for the rule.
 */
export function wallToInstant(wall: number, z: IANAZone): number {
  // Offsets a day either side bracket any transition near this wall time; the candidates they
  // give are the only instants that can show this wall time (barring two transitions in a day).
  const before = offsetMs(z, wall - DAY_MS)
  const after = offsetMs(z, wall + DAY_MS)
  let best = Number.POSITIVE_INFINITY
  let lo = Number.POSITIVE_INFINITY
  let hi = Number.NEGATIVE_INFINITY
  for (const off of before === after ? [before] : [before, after]) {
    const candidate = wall - off
    lo = Math.min(lo, candidate)
    hi = Math.max(hi, candidate)
    if (offsetMs(z, candidate) === off && candidate < best) best = candidate
  }
  if (best !== Number.POSITIVE_INFINITY) return best
  if (before === after) {
    // Two transitions within a day of each other; retry with the offset actually in force.
    const off = offsetMs(z, lo)
    if (offsetMs(z, wall - off) === off) return wall - off
    lo = Math.min(lo, wall - off)
    hi = Math.max(hi, wall - off)
  }
  // A gap: find the first instant whose wall clock reads `wall` or later (the transition itself).
  while (lo + offsetMs(z, lo) >= wall) lo -= DAY_MS
  while (hi + offsetMs(z, hi) < wall) hi += DAY_MS
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (mid + offsetMs(z, mid) >= wall) hi = mid
    else lo = mid
  }
  return hi
}

interface Ymd {
  year: number
  month: number
  day: number
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

function validYmd(year: number, month: number, day: number): boolean {
  return (
    year >= MIN_YEAR &&
    year <= MAX_YEAR &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month)
  )
}

function parseYmd(date: string): Ymd | null {
  const m = typeof date === 'string' ? DATE_RE.exec(date) : null
  if (!m) return null
  const year = Number(m[1])
  const month = Number(m[2])
  const day = Number(m[3])
  return validYmd(year, month, day) ? { year, month, day } : null
}

function requireYmd(date: string): Ymd {
  const ymd = parseYmd(date)
  if (!ymd) throw new RangeError(`invalid date "${date}" (expected YYYY-MM-DD)`)
  return ymd
}

/** Local midnight of `date` encoded as a UTC timestamp (the `wall` encoding used above). */
export function wallMidnight(date: string): number {
  const { year, month, day } = requireYmd(date)
  return Date.UTC(year, month - 1, day)
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0')
}

function formatYmd(wall: number): string {
  const d = new Date(wall)
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
}

function instantMs(at: Date): number {
  const t = at instanceof Date ? at.getTime() : Number.NaN
  if (!Number.isFinite(t)) throw new RangeError('invalid Date')
  return t
}

/** Strict YYYY-MM-DD check that also rejects impossible dates like 2026-02-30 (years 1900-9999). */
export function isValidDate(date: string): boolean {
  return parseYmd(date) !== null
}

/** Adds n calendar days to a YYYY-MM-DD string. */
export function addDays(date: string, n: number): string {
  if (!Number.isInteger(n)) throw new RangeError(`day count must be an integer, got ${n}`)
  return formatYmd(wallMidnight(date) + n * DAY_MS)
}

/** The shop-local calendar date (YYYY-MM-DD) of an instant. */
export function localDate(at: Date, zone: string): string {
  const t = instantMs(at)
  return formatYmd(t + offsetMs(zoneOf(zone), t))
}

/** The instant of local midnight starting `date`, or the first instant of the day if midnight is skipped. */
export function startOfLocalDay(date: string, zone: string): Date {
  return new Date(wallToInstant(wallMidnight(date), zoneOf(zone)))
}

/**
 * Parses an API datetime: ISO 8601 with Z or an offset, or without one (read as wall time in
 * `zone`, T or space between date and time); with `allowDateOnly`, a bare date is local midnight.
 * Returns null for anything malformed or impossible.
 */
export function parseDateTime(input: string, zone: string, allowDateOnly = false): Date | null {
  const z = zoneOf(zone)
  if (typeof input !== 'string') return null
  const m = DATETIME_RE.exec(input.trim())
  if (!m) return null
  const [, y, mo, d, hh, mi, ss, frac, zulu, sign, offH, offM] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  if (!validYmd(year, month, day)) return null
  const dayWall = Date.UTC(year, month - 1, day)
  if (hh === undefined) {
    return allowDateOnly ? new Date(wallToInstant(dayWall, z)) : null
  }
  const hour = Number(hh)
  const minute = Number(mi)
  const second = ss === undefined ? 0 : Number(ss)
  // Sub-millisecond digits cannot be represented by Date, so they are truncated.
  const millis = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3))
  if (hour > 23 || minute > 59 || second > 59) return null
  const wall = dayWall + ((hour * 60 + minute) * 60 + second) * 1000 + millis
  if (zulu !== undefined) return new Date(wall)
  if (sign !== undefined) {
    const oh = Number(offH)
    const om = offM === undefined ? 0 : Number(offM)
    if (oh > 23 || om > 59) return null
    return new Date(wall - (sign === '-' ? -1 : 1) * (oh * 60 + om) * MINUTE_MS)
  }
  return new Date(wallToInstant(wall, z))
}

/** Formats an instant for people in `zone`, e.g. "Mon 2 Mar 2026, 10:00". */
export function formatLocal(at: Date, zone: string): string {
  const t = instantMs(at)
  // Names are spelled out here rather than taken from Intl so emails read the same whatever ICU
  // data or default locale the server happens to have (en-GB says "Sept", for one).
  const d = new Date(t + offsetMs(zoneOf(zone), t))
  const weekday = WEEKDAY_NAMES[d.getUTCDay()] ?? ''
  const month = MONTH_NAMES[d.getUTCMonth()] ?? ''
  return `${weekday} ${d.getUTCDate()} ${month} ${d.getUTCFullYear()}, ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}
