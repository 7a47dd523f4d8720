/** What a customer may still do with a booking (API.md: cancellation cutoff). */
export interface Booking {
  status: string
  start_time: string
}

export const ACTIVE = new Set(['pending', 'confirmed'])

export function isUpcoming(b: Booking, now: Date): boolean {
  return ACTIVE.has(b.status) && Date.parse(b.start_time) > now.getTime()
}

/** Cancelling (and moving) is the customer's while the start is more than the cutoff away. */
export function canChange(b: Booking, cutoffHours: number, now: Date): boolean {
  return isUpcoming(b, now) && Date.parse(b.start_time) - now.getTime() > cutoffHours * 3_600_000
}

/** "2 hours", "90 minutes", "1 day" for the policy text. */
export function cutoffText(hours: number): string {
  if (hours === 0) return 'up to the start'
  if (hours % 24 === 0) return plural(hours / 24, 'day')
  if (Number.isInteger(hours)) return plural(hours, 'hour')
  return plural(Math.round(hours * 60), 'minute')
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`
}

export const STATUS_TEXT: Record<string, string> = {
  pending: 'Pending — the shop will confirm it',
  confirmed: 'Confirmed',
  completed: 'Completed',
  cancelled: 'Cancelled',
  no_show: 'Missed',
}

/** The price as the shop's currency is written ("€25.00"). */
export function money(price: string, currency: string): string {
  return new Intl.NumberFormat('en-GB', { style: 'currency', currency }).format(Number(price))
}
