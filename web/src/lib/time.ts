/**
 * Everything the page shows is in the shop's zone, whatever the phone's zone is. Intl does
 * it all (zone, DST, names); Luxon did the same for 20 KB more gzipped JavaScript on the path
 * to the first slots (see the README).
 */
export type DayPart = 'morning' | 'afternoon' | 'evening'

export const DAY_PARTS: { part: DayPart; label: string }[] = [
  { part: 'morning', label: 'Morning' },
  { part: 'afternoon', label: 'Afternoon' },
  { part: 'evening', label: 'Evening' },
]

/**
 * Formatting dozens of slots is on the path to the first slots on a slow phone: one cached
 * Intl formatter per zone and style instead of a Luxon object per slot.
 */
const formatters = new Map<string, Intl.DateTimeFormat>()
function fmt(zone: string, style: 'time' | 'day' | 'parts' | 'date'): Intl.DateTimeFormat {
  const key = `${zone} ${style}`
  let f = formatters.get(key)
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      ...(style === 'time'
        ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
        : style === 'date'
          ? { year: 'numeric', month: '2-digit', day: '2-digit' }
          : style === 'day'
            ? { weekday: 'long', day: 'numeric', month: 'long' }
            : { weekday: 'short', day: 'numeric', month: 'short' }),
    })
    formatters.set(key, f)
  }
  return f
}

/** Morning before 12:00, afternoon until 17:00, evening after, in the shop's zone. */
export function dayPart(iso: string, zone: string): DayPart {
  const hour = Number(timeOfDay(iso, zone).slice(0, 2))
  return hour < 12 ? 'morning' : hour < 17 ? 'afternoon' : 'evening'
}

export function groupByDayPart<T extends { start_time: string }>(
  slots: T[],
  zone: string,
): { part: DayPart; label: string; slots: T[] }[] {
  return DAY_PARTS.map((p) => ({
    ...p,
    slots: slots.filter((s) => dayPart(s.start_time, zone) === p.part),
  })).filter((g) => g.slots.length > 0)
}

/** The shop's dates from today on: `count` of them, starting `offset` days ahead. */
export function shopDays(zone: string, now: Date, offset: number, count: number): string[] {
  const [y, m, d] = shopDate(now.toISOString(), zone).split('-').map(Number) as [
    number,
    number,
    number,
  ]
  // Calendar arithmetic on the date alone: no clock time, so no DST edge.
  return Array.from({ length: count }, (_, i) =>
    new Date(Date.UTC(y, m - 1, d + offset + i)).toISOString().slice(0, 10),
  )
}

/** The formatter and instant for an ISO instant (in the zone) or a calendar date (as is). */
function dayOf(isoOrDate: string, zone: string, style: 'day' | 'parts') {
  return isoOrDate.length === 10
    ? { f: fmt('UTC', style), at: new Date(`${isoOrDate}T12:00:00Z`) }
    : { f: fmt(zone, style), at: new Date(isoOrDate) }
}

/** "10:30" in the shop's zone. */
export function timeOfDay(iso: string, zone: string): string {
  return fmt(zone, 'time').format(new Date(iso))
}

/** "Tuesday 9 December" for a date (yyyy-mm-dd) or an instant, in the shop's zone. */
export function longDay(isoOrDate: string, zone: string): string {
  const { f, at } = dayOf(isoOrDate, zone, 'day')
  return f.format(at).replace(',', '')
}

/** "Tue", "9" and "Dec" for the day strip. */
export function shortDay(
  date: string,
  zone: string,
): { weekday: string; day: string; month: string } {
  const { f, at } = dayOf(date, zone, 'parts')
  const parts = f.formatToParts(at)
  const part = (t: string) => parts.find((p) => p.type === t)?.value ?? ''
  return { weekday: part('weekday'), day: part('day'), month: part('month') }
}

/** "Tuesday 9 December, 10:30" in the shop's zone. */
export function when(iso: string, zone: string): string {
  return `${longDay(iso, zone)}, ${timeOfDay(iso, zone)}`
}

/** Minutes the zone is ahead of UTC at that instant. */
function offsetMinutes(zone: string, at: Date): number {
  const p = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  }).formatToParts(at)
  const n = (t: string) => Number(p.find((x) => x.type === t)?.value)
  const local = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'))
  return Math.round((local - Math.floor(at.getTime() / 60_000) * 60_000) / 60_000)
}

/** The zone as people read it: "Europe/Sofia (UTC+2)". */
export function zoneLabel(zone: string, now: Date): string {
  const offset = offsetMinutes(zone, now)
  if (zone === 'UTC' || zone === 'Etc/UTC') return 'UTC'
  const h = Math.trunc(Math.abs(offset) / 60)
  const m = Math.abs(offset) % 60
  return `${zone} (UTC${offset < 0 ? '−' : '+'}${h}${m ? `:${String(m).padStart(2, '0')}` : ''})`
}

/** The shop's date (yyyy-mm-dd) an instant falls on. */
export function shopDate(iso: string, zone: string): string {
  const p = fmt(zone, 'date').formatToParts(new Date(iso))
  const part = (t: string) => p.find((x) => x.type === t)?.value ?? ''
  return `${part('year')}-${part('month')}-${part('day')}`
}
