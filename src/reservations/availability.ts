import type { AppContext } from '../context.js'
import { toBool } from '../db/database.js'
import { iso } from '../http/datetime.js'
import { FieldErrors } from '../http/errors.js'
import { addDays, isValidDate, localDate, openIntervals } from '../shop/hours.js'
import { evaluate, loadSchedule } from './schedule.js'

export interface AvailabilityQuery {
  date: string
  staff?: number
  service?: number
  duration?: number
}

export interface Availability {
  date: string
  timezone: string
  slots: { start_time: string; end_time: string; staff: number[] }[]
}

/**
 * The start times on `date` at which a booking made now would succeed, and by whom.
 * Three queries for the whole day, then the same `evaluate` that booking uses.
 */
export async function availability(ctx: AppContext, q: AvailabilityQuery): Promise<Availability> {
  const { config } = ctx
  const { db } = ctx.database
  const zone = config.timezone
  const errors = new FieldErrors()
  const now = ctx.now()
  if (!isValidDate(q.date))
    errors.add('date', 'Date has wrong format. Use one of these formats instead: YYYY-MM-DD.')
  else if (q.date > addDays(localDate(now, zone), config.bookingHorizonDays)) {
    errors.add('date', `Bookings open at most ${config.bookingHorizonDays} days ahead.`)
  }
  let durationMin = q.duration ?? config.slotMinutes
  let bufferMin = 0
  if (q.duration !== undefined && (q.duration < 5 || q.duration > 480)) {
    errors.add('duration', 'Ensure this value is between 5 and 480 minutes.')
  }
  if (q.service !== undefined) {
    const service = await db
      .selectFrom('services')
      .selectAll()
      .where('id', '=', q.service)
      .executeTakeFirst()
    if (!service || !toBool(service.is_active))
      errors.add('service', `Invalid pk "${q.service}" - object does not exist.`)
    else {
      durationMin = service.duration_minutes
      bufferMin = service.buffer_after_minutes
    }
  }
  if (q.staff !== undefined) {
    const staff = await db
      .selectFrom('users')
      .select('id')
      .where('id', '=', q.staff)
      .where('is_staff_member', '=', true)
      .where('is_active', '=', true)
      .executeTakeFirst()
    if (!staff) errors.add('staff', `Invalid pk "${q.staff}" - object does not exist.`)
  }
  errors.throwIfAny()

  const result: Availability = { date: q.date, timezone: zone, slots: [] }
  const intervals = openIntervals(config.openingHours, q.date, zone)
  if (intervals.length === 0) return result
  const durationMs = durationMin * 60_000
  const holdMs = durationMs + bufferMin * 60_000
  const dayStart = intervals[0]!.start
  const dayEnd = new Date(intervals[intervals.length - 1]!.end.getTime() + holdMs)
  if (dayEnd <= now) return result

  const schedule = await loadSchedule(db, {
    from: dayStart,
    to: dayEnd,
    zone,
    shopHours: config.openingHours,
    shopSpec: config.openingHoursSpec,
    staffIds: q.staff !== undefined ? [q.staff] : undefined,
  })
  // No barber at all: the shop is one chair (only when not asking for a specific one).
  const oneChair = q.staff === undefined && schedule.staff.length === 0
  const step = config.slotMinutes * 60_000
  const seen = new Set<number>()
  for (const interval of intervals) {
    // Every start inside opening hours is a candidate; `evaluate` (booking's own check) decides.
    for (let t = interval.start.getTime(); t < interval.end.getTime(); t += step) {
      if (t < now.getTime() || seen.has(t)) continue
      seen.add(t)
      const start = new Date(t)
      const end = new Date(t + durationMs)
      const hold = new Date(t + holdMs)
      if (oneChair) {
        if (evaluate(schedule, null, start, end, hold) === 'ok') {
          result.slots.push({ start_time: iso(start), end_time: iso(end), staff: [] })
        }
        continue
      }
      const free: number[] = []
      for (const member of schedule.staff) {
        if (evaluate(schedule, member.id, start, end, hold) === 'ok') free.push(member.id)
      }
      if (free.length)
        result.slots.push({ start_time: iso(start), end_time: iso(end), staff: free })
    }
  }
  return result
}
