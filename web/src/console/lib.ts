/*
 * The console's pure logic: weekly hours in the API's syntax (OPENING_HOURS), the day grid's
 * geometry in the shop's zone, and CSV. Kept free of React so it is unit-tested.
 */

/** [start, end) in minutes from the shop's local midnight. */
export interface Range {
  start: number
  end: number
}
/** Index 0 = Monday … 6 = Sunday. */
export type Week = Range[][]

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const
export const DAY_LABELS = [
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
] as const

export class HoursError extends Error {}

function dayIndex(name: string): number {
  const i = (DAYS as readonly string[]).indexOf(name)
  if (i < 0) throw new HoursError(`unknown day "${name}"`)
  return i
}

/** "HH:MM" → minutes; 24:00 only as an end. Throws HoursError in words. */
export function parseClock(text: string, isEnd: boolean): number {
  const m = /^(\d{2}):(\d{2})$/.exec(text)
  if (!m) throw new HoursError(`"${text}" is not a time (HH:MM)`)
  const h = Number(m[1])
  const min = Number(m[2])
  if (h > 24 || min > 59 || (h === 24 && min !== 0))
    throw new HoursError(`"${text}" is not a time of day`)
  if (h === 24 && !isEnd) throw new HoursError('24:00 can only end a range')
  return h * 60 + min
}

export function clock(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`
}

function normalize(ranges: Range[]): Range[] {
  const out: Range[] = []
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1]
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end)
    else out.push({ ...r })
  }
  return out
}

/** The API's hours syntax (src/shop/hours.ts) read the same way, into a week of ranges. */
export function parseHours(spec: string): Week {
  const week: Week = [[], [], [], [], [], [], []]
  for (const raw of spec.split(';')) {
    const entry = raw.trim().replace(/\s*([,-])\s*/g, '$1')
    if (entry === '') continue
    const words = entry.split(/\s+/)
    const [days, ranges] = words
    if (words.length !== 2 || !days || !ranges || /^\d/.test(days))
      throw new HoursError(`malformed entry "${entry}"`)
    const dayList: number[] = []
    for (const item of days.toLowerCase().split(',')) {
      const ends = item.split('-')
      if (item === '' || ends.length > 2 || ends.includes(''))
        throw new HoursError(`malformed days "${days}"`)
      const first = dayIndex(ends[0] ?? '')
      const last = dayIndex(ends[1] ?? ends[0] ?? '')
      for (let i = first; ; i = (i + 1) % 7) {
        dayList.push(i)
        if (i === last) break
      }
    }
    const rangeList = ranges.split(',').map((r) => {
      const [a, b, extra] = r.split('-')
      if (a === undefined || b === undefined || extra !== undefined)
        throw new HoursError(`malformed time range "${r}" (expected HH:MM-HH:MM)`)
      const start = parseClock(a, false)
      const end = parseClock(b, true)
      if (start >= end) throw new HoursError(`start must be before end in "${r}"`)
      return { start, end }
    })
    for (const d of dayList) week[d]!.push(...rangeList)
  }
  return week.map(normalize)
}

/** A week back into the API's syntax, consecutive days with the same hours joined (mon-fri). */
export function formatHours(week: Week): string {
  const key = (d: number) => week[d]!.map((r) => `${clock(r.start)}-${clock(r.end)}`).join(',')
  const parts: string[] = []
  let d = 0
  while (d < 7) {
    const k = key(d)
    let e = d
    while (e + 1 < 7 && key(e + 1) === k) e++
    if (k) parts.push(`${DAYS[d]}${e > d ? `-${DAYS[e]}` : ''} ${k}`)
    d = e + 1
  }
  return parts.join('; ')
}

/** One row of the weekly hours form: text the person typed, checked as the API checks it. */
export interface DayForm {
  open: boolean
  ranges: { start: string; end: string }[]
}

/** The form's errors per day (index) in words, or the week when there are none. */
export function checkWeekForm(
  days: DayForm[],
): { ok: true; week: Week } | { ok: false; errors: Record<number, string> } {
  const errors: Record<number, string> = {}
  const week: Week = []
  days.forEach((day, i) => {
    const ranges: Range[] = []
    if (day.open) {
      if (day.ranges.length === 0) errors[i] = 'Add opening times or mark the day closed.'
      for (const r of day.ranges) {
        try {
          const start = parseClock(r.start, false)
          const end = parseClock(r.end, true)
          if (start >= end) throw new HoursError(`${r.start} must be before ${r.end}`)
          ranges.push({ start, end })
        } catch (e) {
          errors[i] = e instanceof Error ? `${e.message}.` : String(e)
        }
      }
      const sorted = [...ranges].sort((a, b) => a.start - b.start)
      for (let k = 1; k < sorted.length; k++)
        if (sorted[k]!.start < sorted[k - 1]!.end && !errors[i])
          errors[i] = `${clock(sorted[k]!.start)} overlaps the time before it.`
    }
    week.push(normalize(ranges))
  })
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, week }
}

export function weekToForm(week: Week): DayForm[] {
  return week.map((ranges) => ({
    open: ranges.length > 0,
    ranges: ranges.map((r) => ({ start: clock(r.start), end: clock(r.end) })),
  }))
}

/* ---- the day in the shop's zone ---- */

/*
 * Zone arithmetic with Intl alone (as web/src/lib/time.ts does): Luxon would add 20 KB gzipped
 * to the console's chunk for these five functions.
 */
const partsFormat = new Map<string, Intl.DateTimeFormat>()
/** The wall clock of an instant in the zone: [year, month, day, hour, minute]. */
function wall(ms: number, zone: string): [number, number, number, number, number] {
  let f = partsFormat.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    })
    partsFormat.set(zone, f)
  }
  const p = f.formatToParts(new Date(ms))
  const n = (t: string) => Number(p.find((x) => x.type === t)?.value)
  return [n('year'), n('month'), n('day'), n('hour') % 24, n('minute')]
}

/** Minutes the zone is ahead of UTC at an instant. */
function offsetAt(ms: number, zone: string): number {
  const [y, mo, d, h, mi] = wall(ms, zone)
  return Math.round((Date.UTC(y, mo - 1, d, h, mi) - Math.floor(ms / 60_000) * 60_000) / 60_000)
}

/** Days between two calendar dates (yyyy-mm-dd). */
function dayNumber(date: string): number {
  return Math.round(Date.parse(`${date}T00:00:00Z`) / 86_400_000)
}

const pad = (n: number) => String(n).padStart(2, '0')

/**
 * Where an instant falls on the grid of `date`: its wall-clock minutes in the shop's zone (what
 * the axis and the opening hours speak), plus 1440 a day for the next day (or minus, before).
 */
export function minutesInto(date: string, iso: string, zone: string): number {
  const [y, mo, d, h, mi] = wall(Date.parse(iso), zone)
  const days = dayNumber(`${y}-${pad(mo)}-${pad(d)}`) - dayNumber(date)
  return days * 24 * 60 + h * 60 + mi
}

/** The instant at wall-clock `minutes` of the shop's `date`, as ISO with the shop's offset. */
export function atMinutes(date: string, minutes: number, zone: string): string {
  const asUtc = Date.parse(`${date}T00:00:00Z`) + minutes * 60_000
  // The offset at the guess, then at the instant it gives (right on both sides of a DST change).
  let at = asUtc - offsetAt(asUtc, zone) * 60_000
  at = asUtc - offsetAt(at, zone) * 60_000
  const off = offsetAt(at, zone)
  const [y, mo, d, h, mi] = wall(at, zone)
  const sign = off < 0 ? '-' : '+'
  return `${y}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:00.000${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`
}

export function addDays(date: string, n: number, _zone?: string): string {
  return new Date(Date.parse(`${date}T12:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10)
}

export function todayIn(zone: string, now = new Date()): string {
  const [y, mo, d] = wall(now.getTime(), zone)
  return `${y}-${pad(mo)}-${pad(d)}`
}

/** 0 = Monday for a yyyy-mm-dd date. */
export function weekdayOf(date: string): number {
  return (new Date(`${date}T12:00:00Z`).getUTCDay() + 6) % 7
}

/**
 * The rows of the day: from the earliest opening (or earliest booking) to the latest closing
 * (or latest booking end), on the slot grid. A day the shop is closed uses the week's span.
 */
export function dayBounds(
  hours: Week,
  date: string,
  slot: number,
  items: Range[],
): { start: number; end: number } {
  const today = hours[weekdayOf(date)] ?? []
  const all = today.length ? today : hours.flat()
  let start = all.length ? Math.min(...all.map((r) => r.start)) : 9 * 60
  let end = all.length ? Math.max(...all.map((r) => r.end)) : 17 * 60
  for (const r of items) {
    start = Math.min(start, Math.max(0, r.start))
    end = Math.max(end, Math.min(24 * 60, r.end))
  }
  start = Math.floor(start / slot) * slot
  end = Math.ceil(end / slot) * slot
  return { start, end }
}

/** The parts of [start, end) the ranges do not cover (closed time drawn as bands). */
export function gaps(start: number, end: number, open: Range[]): Range[] {
  const out: Range[] = []
  let at = start
  for (const r of normalize(open)) {
    if (r.start > at) out.push({ start: at, end: Math.min(r.start, end) })
    at = Math.max(at, r.end)
  }
  if (at < end) out.push({ start: at, end })
  return out.filter((r) => r.end > r.start)
}

/** Where both lists of ranges are open (the shop's hours and a barber's). */
export function intersect(a: Range[], b: Range[]): Range[] {
  const out: Range[] = []
  for (const x of a)
    for (const y of b) {
      const start = Math.max(x.start, y.start)
      const end = Math.min(x.end, y.end)
      if (start < end) out.push({ start, end })
    }
  return normalize(out)
}

/* ---- CSV ---- */

export function csvCell(v: unknown): string {
  const s = v == null ? '' : String(v)
  // A leading =, +, - or @ would be a formula in a spreadsheet: quote it as text.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s
  return /[",\n\r;]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

export function toCsv(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n'
}
