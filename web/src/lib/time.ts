import { DateTime } from 'luxon'

/** Everything the page shows is in the shop's zone, whatever the phone's zone is. */
export type DayPart = 'morning' | 'afternoon' | 'evening'

export const DAY_PARTS: { part: DayPart; label: string }[] = [
  { part: 'morning', label: 'Morning' },
  { part: 'afternoon', label: 'Afternoon' },
  { part: 'evening', label: 'Evening' },
]

/** Morning before 12:00, afternoon until 17:00, evening after, in the shop's zone. */
export function dayPart(iso: string, zone: string): DayPart {
  const hour = DateTime.fromISO(iso, { zone }).hour
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
  const today = DateTime.fromJSDate(now, { zone }).startOf('day')
  return Array.from({ length: count }, (_, i) => today.plus({ days: offset + i }).toISODate()!)
}

/** "10:30" in the shop's zone. */
export function timeOfDay(iso: string, zone: string): string {
  return DateTime.fromISO(iso, { zone }).toFormat('HH:mm')
}

/** "Tuesday 9 December" for a date (yyyy-mm-dd) or an instant, in the shop's zone. */
export function longDay(isoOrDate: string, zone: string): string {
  return DateTime.fromISO(isoOrDate, { zone }).setLocale('en-GB').toFormat('cccc d LLLL')
}

/** "Tue" and "9" for the day strip. */
export function shortDay(
  date: string,
  zone: string,
): { weekday: string; day: string; month: string } {
  const d = DateTime.fromISO(date, { zone }).setLocale('en-GB')
  return { weekday: d.toFormat('ccc'), day: d.toFormat('d'), month: d.toFormat('LLL') }
}

/** "Tuesday 9 December, 10:30" in the shop's zone. */
export function when(iso: string, zone: string): string {
  return `${longDay(iso, zone)}, ${timeOfDay(iso, zone)}`
}

/** The zone as people read it: "Europe/Sofia (UTC+2)". */
export function zoneLabel(zone: string, now: Date): string {
  const offset = DateTime.fromJSDate(now, { zone }).offset
  if (zone === 'UTC' || zone === 'Etc/UTC') return 'UTC'
  const h = Math.trunc(Math.abs(offset) / 60)
  const m = Math.abs(offset) % 60
  return `${zone} (UTC${offset < 0 ? '−' : '+'}${h}${m ? `:${String(m).padStart(2, '0')}` : ''})`
}

/** The shop's date (yyyy-mm-dd) an instant falls on. */
export function shopDate(iso: string, zone: string): string {
  return DateTime.fromISO(iso, { zone }).toISODate()!
}
