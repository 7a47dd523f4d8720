import { sql } from 'kysely'
import type { Executor } from '../db/database.js'
import { toDate } from '../db/database.js'
import { intersectHours, isOpen, parseHours } from '../shop/hours.js'
import type { WeeklyHours } from '../shop/hours.js'
import { ACTIVE_STATUSES } from './reservations.schemas.js'

/**
 * The one place that decides whether a barber (or the single chair) can take
 * [start, end) holding them until `hold`. Booking and availability both load a
 * Schedule and ask `evaluate`, so the two can never disagree.
 */

interface Busy {
  start: number
  end: number
  reservationId: number | null
}

export interface StaffHours {
  id: number
  hours: WeeklyHours
}

export interface Schedule {
  zone: string
  shopHours: WeeklyHours
  /** Active staff members with their effective hours (shop ∩ their own). */
  staff: StaffHours[]
  /** Busy periods per staff id; key 0 = the single chair (reservations without a barber). */
  busy: Map<number, Busy[]>
  /** Shop closures: block everyone. */
  closures: Busy[]
}

export type Verdict = 'ok' | 'shop_closed' | 'staff_closed' | 'busy'

const CHAIR = 0
/** The longest a reservation holds its barber: 8 h plus a 4 h clean-up buffer. */
export const MAX_HOLD_MS = (8 * 60 + 240) * 60_000
const hoursCache = new Map<string, WeeklyHours>()

/** Effective hours of a barber: the shop's, narrowed by their own when set. */
export function staffHours(shop: WeeklyHours, shopSpec: string, own: string | null): WeeklyHours {
  if (!own) return shop
  const key = `${shopSpec}\u0000${own}`
  let hours = hoursCache.get(key)
  if (!hours) {
    hours = intersectHours(shop, parseHours(own))
    if (hoursCache.size > 1000) hoursCache.clear()
    hoursCache.set(key, hours)
  }
  return hours
}

/**
 * Loads everything that can block [from, to): active staff, active reservations and
 * time off — one statement (three selects under UNION ALL, told apart by `k`), whatever the
 * number of barbers or slots.
 */
export async function loadSchedule(
  db: Executor,
  opts: {
    from: Date
    to: Date
    zone: string
    shopHours: WeeklyHours
    shopSpec: string
    staffIds?: number[]
  },
): Promise<Schedule> {
  // The columns every branch answers, with NULL where a branch has nothing to say (the first
  // branch that names a column's type sets it for the others: PostgreSQL resolves UNION types).
  const none = <T>() => sql<T | null>`null`
  let staffQuery = db
    .selectFrom('users')
    .select([
      sql<string>`'u'`.as('k'),
      'id',
      none<number>().as('staff_id'),
      none<Date | string>().as('a'),
      none<Date | string>().as('b'),
      'working_hours',
    ])
    .where('is_staff_member', '=', true)
    .where('is_active', '=', true)
  if (opts.staffIds)
    staffQuery = staffQuery.where('id', 'in', opts.staffIds.length ? opts.staffIds : [-1])
  let reservationQuery = db.selectFrom('reservations')
  // Named barbers: only their own reservations can block them.
  if (opts.staffIds)
    reservationQuery = reservationQuery.where(
      'staff_id',
      'in',
      opts.staffIds.length ? opts.staffIds : [-1],
    )
  const rows = await staffQuery
    .unionAll(
      reservationQuery
        .select([
          sql<string>`'r'`.as('k'),
          'id',
          'staff_id',
          'start_time as a',
          'hold_until as b',
          none<string>().as('working_hours'),
        ])
        .where('status', 'in', ACTIVE_STATUSES)
        .where('start_time', '<', opts.to)
        // A reservation lasts at most 8 h plus a 4 h buffer: this bound lets the index on
        // start_time read only the window, not every active reservation before it.
        .where('start_time', '>', new Date(opts.from.getTime() - MAX_HOLD_MS))
        .where('hold_until', '>', opts.from),
    )
    .unionAll(
      db
        .selectFrom('time_off')
        .select([
          sql<string>`'t'`.as('k'),
          'id',
          'staff_id',
          'start_time as a',
          'end_time as b',
          none<string>().as('working_hours'),
        ])
        .where('start_time', '<', opts.to)
        .where('end_time', '>', opts.from),
    )
    .execute()
  const staff: StaffHours[] = []
  const busy = new Map<number, Busy[]>()
  const closures: Busy[] = []
  for (const r of rows) {
    if (r.k === 'u') {
      staff.push({ id: r.id, hours: staffHours(opts.shopHours, opts.shopSpec, r.working_hours) })
      continue
    }
    const b: Busy = {
      start: toDate(r.a!).getTime(),
      end: toDate(r.b!).getTime(),
      // A reservation's own id, so a move can look past itself.
      reservationId: r.k === 'r' ? r.id : null,
    }
    // Time off blocks whoever it names; with no one named, the whole shop.
    if (r.k === 't' && r.staff_id === null) closures.push(b)
    else {
      const key = r.staff_id ?? CHAIR
      const list = busy.get(key)
      if (list) list.push(b)
      else busy.set(key, [b])
    }
  }
  staff.sort((x, y) => x.id - y.id)
  return {
    zone: opts.zone,
    shopHours: opts.shopHours,
    staff,
    busy,
    closures,
  }
}

function overlaps(
  list: Busy[] | undefined,
  start: number,
  hold: number,
  exclude: number | null,
): boolean {
  if (!list) return false
  for (const b of list) {
    // Half-open intervals: 10:00–10:30 and 10:30–11:00 do not overlap.
    if (b.start < hold && start < b.end && (exclude === null || b.reservationId !== exclude))
      return true
  }
  return false
}

/**
 * Whether `staffId` (null: the single chair) can take a reservation from start to end,
 * held until `hold` (end + the service's clean-up buffer).
 */
export function evaluate(
  s: Schedule,
  staffId: number | null,
  start: Date,
  end: Date,
  hold: Date,
  excludeReservationId: number | null = null,
): Verdict {
  if (!isOpen(s.shopHours, start, end, s.zone)) return 'shop_closed'
  if (staffId !== null) {
    const member = s.staff.find((m) => m.id === staffId)
    if (!member || (member.hours !== s.shopHours && !isOpen(member.hours, start, end, s.zone)))
      return 'staff_closed'
  }
  const a = start.getTime()
  const h = hold.getTime()
  if (overlaps(s.closures, a, h, null)) return 'busy'
  if (overlaps(s.busy.get(staffId ?? CHAIR), a, h, excludeReservationId)) return 'busy'
  return 'ok'
}

/** Active staff who can take the slot, in id order. */
export function freeStaff(
  s: Schedule,
  start: Date,
  end: Date,
  hold: Date,
  exclude: number | null = null,
): number[] {
  const out: number[] = []
  for (const m of s.staff) if (evaluate(s, m.id, start, end, hold, exclude) === 'ok') out.push(m.id)
  return out
}
