import type { AppContext } from '../context.js'
import { DerivedCache, readChange } from '../cache/derived.js'
import type { ChangeToken } from '../cache/derived.js'
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

/** A day's answer, serialised once for every request it serves. */
export interface AvailabilityAnswer {
  json: string
}

/** The service's length and buffer (null: no such active service), and whether the barber exists. */
interface Refs {
  service: { duration: number; buffer: number } | null
  staff: boolean
}

/** Per (service, staff) asked for: what validation needs from the database. */
const refsCache = new DerivedCache<Refs>()
/** Per (date, staff, length + buffer): the answer. */
const answers = new DerivedCache<AvailabilityAnswer>()

/**
 * The start times on `date` at which a booking made now would succeed, and by whom — from a
 * per-process cache while nothing it depends on changed (see src/cache/derived.ts): no commit
 * since, and the clock has not passed the next candidate start (which then drops out).
 * The busiest day is asked for by every booking page; it is computed once per change.
 */
export async function availability(
  ctx: AppContext,
  q: AvailabilityQuery,
  /** The request's change token (`requestChange`), when it has one. */
  known?: ChangeToken,
): Promise<AvailabilityAnswer> {
  const change = known ?? (await readChange(ctx.database))
  const now = ctx.now()
  const refs =
    q.service === undefined && q.staff === undefined
      ? { service: null, staff: false }
      : await refsCache.get(
          ctx.database,
          change,
          `${q.service ?? ''}|${q.staff ?? ''}`,
          now.getTime(),
          async () => ({ value: await loadRefs(ctx, q), validUntil: Infinity }),
        )
  const { durationMin, bufferMin } = validate(ctx, q, now, refs)
  const key = `${q.date}|${q.staff ?? ''}|${durationMin}|${bufferMin}`
  return answers.get(ctx.database, change, key, now.getTime(), async () => {
    const { body, validFrom, validUntil } = await computeSlots(
      ctx,
      q.date,
      q.staff,
      durationMin,
      bufferMin,
      ctx.now(),
    )
    return { value: { json: JSON.stringify(body) }, validFrom, validUntil }
  })
}

/** The same answer computed afresh, without the cache (tests compare the two). */
export async function availabilityUncached(
  ctx: AppContext,
  q: AvailabilityQuery,
): Promise<Availability> {
  const now = ctx.now()
  const refs = await loadRefs(ctx, q)
  const { durationMin, bufferMin } = validate(ctx, q, now, refs)
  return (await computeSlots(ctx, q.date, q.staff, durationMin, bufferMin, now)).body
}

async function loadRefs(ctx: AppContext, q: AvailabilityQuery): Promise<Refs> {
  const { db } = ctx.database
  const [service, staff] = await Promise.all([
    q.service === undefined
      ? undefined
      : db.selectFrom('services').selectAll().where('id', '=', q.service).executeTakeFirst(),
    q.staff === undefined
      ? undefined
      : db
          .selectFrom('users')
          .select('id')
          .where('id', '=', q.staff)
          .where('is_staff_member', '=', true)
          .where('is_active', '=', true)
          .executeTakeFirst(),
  ])
  return {
    service:
      service && toBool(service.is_active)
        ? { duration: service.duration_minutes, buffer: service.buffer_after_minutes }
        : null,
    staff: staff !== undefined,
  }
}

/** Every field error at once, in the contract's order; else the slot length and buffer. */
function validate(
  ctx: AppContext,
  q: AvailabilityQuery,
  now: Date,
  refs: Refs,
): { durationMin: number; bufferMin: number } {
  const { config } = ctx
  const errors = new FieldErrors()
  if (!isValidDate(q.date))
    errors.add('date', 'Date has wrong format. Use one of these formats instead: YYYY-MM-DD.')
  else if (q.date > addDays(localDate(now, config.timezone), config.bookingHorizonDays)) {
    errors.add('date', `Bookings open at most ${config.bookingHorizonDays} days ahead.`)
  }
  let durationMin = q.duration ?? config.slotMinutes
  let bufferMin = 0
  if (q.duration !== undefined && (q.duration < 5 || q.duration > 480)) {
    errors.add('duration', 'Ensure this value is between 5 and 480 minutes.')
  }
  if (q.service !== undefined) {
    if (!refs.service) errors.add('service', `Invalid pk "${q.service}" - object does not exist.`)
    else {
      durationMin = refs.service.duration
      bufferMin = refs.service.buffer
    }
  }
  if (q.staff !== undefined && !refs.staff)
    errors.add('staff', `Invalid pk "${q.staff}" - object does not exist.`)
  errors.throwIfAny()
  return { durationMin, bufferMin }
}

/**
 * The day's slots as of `now`: three queries for the whole day, then the same `evaluate` that
 * booking uses. The answer depends on the clock only through the candidate starts before
 * `now` (omitted), so it holds for every instant after the last candidate before `now` up to
 * and including the first candidate at or after it: [validFrom, validUntil).
 */
async function computeSlots(
  ctx: AppContext,
  date: string,
  staffId: number | undefined,
  durationMin: number,
  bufferMin: number,
  now: Date,
): Promise<{ body: Availability; validFrom: number; validUntil: number }> {
  const { config } = ctx
  const { db } = ctx.database
  const zone = config.timezone
  const result: Availability = { date, timezone: zone, slots: [] }
  const intervals = openIntervals(config.openingHours, date, zone)
  const step = config.slotMinutes * 60_000
  const nowMs = now.getTime()
  let validFrom = -Infinity
  let validUntil = Infinity
  for (const interval of intervals) {
    for (let t = interval.start.getTime(); t < interval.end.getTime(); t += step) {
      if (t < nowMs) validFrom = Math.max(validFrom, t + 1)
      else validUntil = Math.min(validUntil, t + 1)
    }
  }
  const span = { validFrom, validUntil }
  if (intervals.length === 0) return { body: result, ...span }
  const durationMs = durationMin * 60_000
  const holdMs = durationMs + bufferMin * 60_000
  const dayStart = intervals[0]!.start
  const dayEnd = new Date(intervals[intervals.length - 1]!.end.getTime() + holdMs)
  if (dayEnd <= now) return { body: result, ...span }

  const schedule = await loadSchedule(db, {
    from: dayStart,
    to: dayEnd,
    zone,
    shopHours: config.openingHours,
    shopSpec: config.openingHoursSpec,
    staffIds: staffId !== undefined ? [staffId] : undefined,
  })
  // No barber at all: the shop is one chair (only when not asking for a specific one).
  const oneChair = staffId === undefined && schedule.staff.length === 0
  const seen = new Set<number>()
  for (const interval of intervals) {
    // Every start inside opening hours is a candidate; `evaluate` (booking's own check) decides.
    for (let t = interval.start.getTime(); t < interval.end.getTime(); t += step) {
      if (t < nowMs || seen.has(t)) continue
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
  return { body: result, ...span }
}
