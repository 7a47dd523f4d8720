import {
  DAY_MINUTES,
  DAY_MS,
  MINUTE_MS,
  addDays,
  localDate,
  wallMidnight,
  wallToInstant,
  zoneOf,
} from './time.js'

export {
  addDays,
  formatLocal,
  isValidDate,
  isValidTimeZone,
  localDate,
  parseDateTime,
  startOfLocalDay,
} from './time.js'

export class HoursSyntaxError extends Error {
  override name = 'HoursSyntaxError'
}

/** A [start, end) range in minutes from local midnight (end ≤ 1440). */
export interface MinuteRange {
  start: number
  end: number
}

/** Index 0 = Monday … 6 = Sunday; each a sorted, merged list of [start,end) minute ranges from local midnight (end ≤ 1440). */
export type WeeklyHours = readonly (readonly MinuteRange[])[]

const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const
const RANGE_RE = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/
const EXAMPLE = 'e.g. "mon-fri 09:00-13:00,14:00-19:00"'

function dayIndex(name: string): number {
  const i = (DAY_NAMES as readonly string[]).indexOf(name)
  if (i < 0) throw new HoursSyntaxError(`unknown day "${name}"`)
  return i
}

function parseDays(token: string): number[] {
  const days: number[] = []
  for (const item of token.toLowerCase().split(',')) {
    const ends = item.split('-')
    if (item === '' || ends.length > 2 || ends.includes('')) {
      throw new HoursSyntaxError(`malformed days "${token}"`)
    }
    const first = dayIndex(ends[0] ?? '')
    const last = dayIndex(ends[1] ?? ends[0] ?? '')
    // Ranges may wrap past Sunday (sat-mon = sat, sun, mon); mon-mon is just Monday.
    for (let i = first; ; i = (i + 1) % 7) {
      days.push(i)
      if (i === last) break
    }
  }
  return days
}

function parseTime(hh: string, mm: string, isEnd: boolean, range: string): number {
  const h = Number(hh)
  const m = Number(mm)
  if (h > 24 || m > 59 || (h === 24 && m !== 0)) {
    throw new HoursSyntaxError(`invalid time "${hh}:${mm}" in "${range}"`)
  }
  if (h === 24 && !isEnd) throw new HoursSyntaxError(`24:00 can only end a range, in "${range}"`)
  return h * 60 + m
}

function parseRanges(token: string): MinuteRange[] {
  return token.split(',').map((range) => {
    const m = RANGE_RE.exec(range)
    if (!m) throw new HoursSyntaxError(`malformed time range "${range}" (expected HH:MM-HH:MM)`)
    const start = parseTime(m[1] ?? '', m[2] ?? '', false, range)
    const end = parseTime(m[3] ?? '', m[4] ?? '', true, range)
    // Overnight ranges are spelled as two entries (fri 22:00-24:00; sat 00:00-02:00), which keeps
    // every range inside its own calendar day.
    if (start >= end) throw new HoursSyntaxError(`start must be before end in "${range}"`)
    return { start, end }
  })
}

/** Sorts, clamps to one day, drops empties and merges overlapping or touching ranges. */
function normalize(ranges: readonly MinuteRange[]): MinuteRange[] {
  const sorted = ranges
    .map((r) => ({
      start: Math.max(0, Math.min(DAY_MINUTES, r.start)),
      end: Math.max(0, Math.min(DAY_MINUTES, r.end)),
    }))
    .filter((r) => r.start < r.end)
    .sort((a, b) => a.start - b.start)
  const out: MinuteRange[] = []
  for (const r of sorted) {
    const last = out[out.length - 1]
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end)
    else out.push({ ...r })
  }
  return out
}

// Frozen because intervals are cached per WeeklyHours object (see dayIntervals), so a schedule
// must not change after it has been used.
function freezeWeek(days: readonly (readonly MinuteRange[])[]): WeeklyHours {
  return Object.freeze(days.map((ranges) => Object.freeze(ranges.map((r) => Object.freeze(r)))))
}

/**
 * Parses `mon-fri 09:00-13:00,14:00-19:00; sat 10:00-16:00`. Days not named are closed; a day
 * named twice gets the union of its ranges. An empty spec means closed all week.
 */
export function parseHours(spec: string): WeeklyHours {
  const week: MinuteRange[][] = [[], [], [], [], [], [], []]
  for (const rawEntry of spec.split(';')) {
    // Spaces around "," and "-" are cosmetic, so after removing them an entry is exactly two
    // whitespace-separated words: the days and the time ranges.
    const entry = rawEntry.trim().replace(/\s*([,-])\s*/g, '$1')
    if (entry === '') continue
    const words = entry.split(/\s+/)
    const [days, ranges] = words
    if (words.length > 2 || days === undefined) {
      throw new HoursSyntaxError(`malformed entry "${entry}", ${EXAMPLE}`)
    }
    if (ranges === undefined) {
      throw new HoursSyntaxError(
        /\d/.test(days)
          ? `malformed entry "${entry}", ${EXAMPLE}`
          : `missing opening times after "${days}"`,
      )
    }
    if (/^\d/.test(days)) throw new HoursSyntaxError(`malformed entry "${entry}", ${EXAMPLE}`)
    const dayList = parseDays(days)
    const rangeList = parseRanges(ranges)
    for (const d of dayList) week[d]?.push(...rangeList)
  }
  return freezeWeek(week.map(normalize))
}

/** Intersection of two weekly schedules (shop hours ∩ barber hours). */
export function intersectHours(a: WeeklyHours, b: WeeklyHours): WeeklyHours {
  const week: MinuteRange[][] = []
  for (let d = 0; d < 7; d++) {
    const x = normalize(a[d] ?? [])
    const y = normalize(b[d] ?? [])
    const out: MinuteRange[] = []
    let i = 0
    let j = 0
    while (i < x.length && j < y.length) {
      const p = x[i] as MinuteRange
      const q = y[j] as MinuteRange
      const start = Math.max(p.start, q.start)
      const end = Math.min(p.end, q.end)
      if (start < end) out.push({ start, end })
      if (p.end < q.end) i++
      else j++
    }
    week.push(normalize(out))
  }
  return freezeWeek(week)
}

/*
 * Availability asks about many slots on the same few days, and each wall→instant conversion costs
 * several Intl calls, so a day's intervals are computed once and kept as plain numbers
 * ([start0, end0, start1, end1, ...] in epoch ms), keyed by schedule object, zone and date.
 */
const CACHE_LIMIT = 4096
const intervalCache = new WeakMap<WeeklyHours, Map<string, readonly number[]>>()

function dayIntervals(hours: WeeklyHours, date: string, zone: string): readonly number[] {
  let perHours = intervalCache.get(hours)
  if (!perHours) {
    perHours = new Map()
    intervalCache.set(hours, perHours)
  }
  const key = `${zone}\u0000${date}`
  const hit = perHours.get(key)
  if (hit) return hit

  const z = zoneOf(zone)
  const midnight = wallMidnight(date)
  // getUTCDay: 0 = Sunday; WeeklyHours: 0 = Monday.
  const weekday = (new Date(midnight).getUTCDay() + 6) % 7
  const flat: number[] = []
  for (const r of normalize(hours[weekday] ?? [])) {
    const start = wallToInstant(midnight + r.start * MINUTE_MS, z)
    const end = wallToInstant(midnight + r.end * MINUTE_MS, z)
    // A range wholly inside a spring-forward gap collapses to nothing.
    if (end <= start) continue
    const lastEnd = flat[flat.length - 1]
    // Ranges either side of a gap (02:00-03:00 and 04:00-05:00 in Sofia on 2026-03-29) become
    // touching instants, so they are one continuous interval.
    if (lastEnd !== undefined && start <= lastEnd) flat[flat.length - 1] = Math.max(lastEnd, end)
    else flat.push(start, end)
  }

  if (perHours.size >= CACHE_LIMIT) {
    // Maps iterate in insertion order, so this evicts the oldest entry.
    const oldest = perHours.keys().next()
    if (!oldest.done) perHours.delete(oldest.value)
  }
  const frozen = Object.freeze(flat)
  perHours.set(key, frozen)
  return frozen
}

/** The open intervals of one local calendar date (YYYY-MM-DD) as UTC instants, sorted; adjacent ranges merged. */
export function openIntervals(
  hours: WeeklyHours,
  date: string,
  zone: string,
): { start: Date; end: Date }[] {
  const flat = dayIntervals(hours, date, zone)
  const out: { start: Date; end: Date }[] = []
  for (let i = 0; i + 1 < flat.length; i += 2) {
    out.push({ start: new Date(flat[i] as number), end: new Date(flat[i + 1] as number) })
  }
  return out
}

// Longest run of consecutive days isOpen will follow; it bounds the work for absurd inputs on a
// round-the-clock schedule, and no real reservation comes close.
const MAX_SPAN_DAYS = 366

/**
 * True when [start, end] lies entirely inside one continuous open interval. Ranges that touch
 * (13:00-14:00 then 14:00-19:00, or a day ending 24:00 and the next starting 00:00) count as
 * continuous. A reservation may span midnight only in that case. With start = end it asks
 * whether the shop is open at that instant.
 */
export function isOpen(hours: WeeklyHours, start: Date, end: Date, zone: string): boolean {
  const s = start.getTime()
  const e = end.getTime()
  if (!Number.isFinite(s) || !Number.isFinite(e) || e < s) return false
  let date = dayContaining(s, zone)
  let covered = endOfContaining(dayIntervals(hours, date, zone), s)
  if (Number.isNaN(covered)) return false
  for (let days = 0; e > covered; days++) {
    // Intervals never leave their own day, so the block can only continue if it runs to the end
    // of the day and the next day's first interval starts at that very instant.
    if (days >= MAX_SPAN_DAYS) return false
    date = addDays(date, 1)
    const next = dayIntervals(hours, date, zone)
    if (next[0] !== covered) return false
    covered = next[1] as number
  }
  return true
}

interface DaySpan {
  date: string
  start: number
  end: number
}

// The last local day looked up per zone. Callers check many slots of the same day in a row, and
// comparing against the day's bounds is far cheaper than the zone lookup behind localDate.
const lastDay = new Map<string, DaySpan>()

function dayContaining(at: number, zone: string): string {
  const last = lastDay.get(zone)
  if (last && last.start <= at && at < last.end) return last.date
  const date = localDate(new Date(at), zone)
  const midnight = wallMidnight(date)
  const z = zoneOf(zone)
  const span = {
    date,
    start: wallToInstant(midnight, z),
    end: wallToInstant(midnight + DAY_MS, z),
  }
  // Only trust the span when it contains the instant; a zone that repeats part of a day across
  // midnight could otherwise hand the next slot the wrong date.
  if (span.start <= at && at < span.end) lastDay.set(zone, span)
  return date
}

/** The end of the interval containing instant `at`, or NaN when it is in none. */
function endOfContaining(flat: readonly number[], at: number): number {
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if ((flat[i] as number) <= at && at < (flat[i + 1] as number)) return flat[i + 1] as number
  }
  return Number.NaN
}
