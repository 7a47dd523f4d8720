import { sql } from 'kysely'
import type { SelectQueryBuilder } from 'kysely'
import { IANAZone } from 'luxon'
import type { AppContext } from '../context.js'
import { DerivedCache, readChange } from '../cache/derived.js'
import type { ChangeToken } from '../cache/derived.js'
import { toDate, toNumber } from '../db/database.js'
import type { Database } from '../db/types.js'
import type { Actor } from '../http/auth.js'
import { iso } from '../http/datetime.js'
import { FieldErrors } from '../http/errors.js'
import { formatPrice } from '../catalog/catalog.service.js'
import { addDays, isValidDate, localDate, startOfLocalDay } from '../shop/hours.js'

export interface DashboardQuery {
  from?: string
  to?: string
}

const EMPTY_BY_STATUS = { pending: 0, confirmed: 0, completed: 0, cancelled: 0, no_show: 0 }
type StatusKey = keyof typeof EMPTY_BY_STATUS

/**
 * The zone's UTC offsets (minutes) between two instants: each segment holds until the next
 * change (found by bisection to the millisecond); the last has `until: null`.
 */
export function offsetSegments(
  zone: string,
  lo: number,
  hi: number,
): { until: number | null; offset: number }[] {
  const z = IANAZone.create(zone)
  const segments: { until: number | null; offset: number }[] = []
  let current = z.offset(lo)
  // Weekly steps (offset changes are weeks or months apart) over the whole range: bookings
  // lie between 1900 and ten years ahead, so this is at most a few thousand look-ups.
  const end = hi
  for (let t = lo; t < end;) {
    const next = Math.min(t + 7 * 86_400_000, end)
    const off = z.offset(next)
    if (off !== current) {
      let a = t
      let b = next
      while (b - a > 1) {
        const m = Math.floor((a + b) / 2)
        if (z.offset(m) === current) a = m
        else b = m
      }
      segments.push({ until: b, offset: current })
      current = off
    }
    t = next
  }
  segments.push({ until: null, offset: current })
  return segments
}

export type DashboardStats = Awaited<ReturnType<typeof computeStats>>

/** The figures per actor scope and date range (see src/cache/derived.ts). */
const cache = new DerivedCache<DashboardStats>()

/**
 * The figures, from a cache while nothing they depend on has changed: no commit since
 * (`changeToken`), and none of the time-dependent figures (today, upcoming, new in the last
 * 30 days) has reached its next boundary. A dashboard polled by several screens costs one
 * cheap query per request instead of scans of every reservation.
 */
export async function dashboardStats(
  ctx: AppContext,
  actor: Actor,
  q: DashboardQuery,
  /** The request's change token (`requestChange`), when it has one. */
  known?: ChangeToken,
): Promise<DashboardStats> {
  validateQuery(q)
  const change = known ?? (await readChange(ctx.database))
  const key = `${actor.isAdmin ? 'all' : `staff:${actor.id}`}|${q.from ?? ''}|${q.to ?? ''}`
  return cache.get(ctx.database, change, key, ctx.now().getTime(), async () => {
    const now = ctx.now()
    const [value, validUntil] = await Promise.all([
      computeStats(ctx, actor, q, now),
      nextBoundary(ctx, now),
    ])
    return { value, validUntil }
  })
}

/**
 * The first instant after `now` at which a figure changes by the clock alone: the shop's
 * next midnight (today), the next start of a pending or confirmed reservation (upcoming),
 * the 30th-day anniversary of the oldest recent registration (new_last_30_days).
 */
async function nextBoundary(ctx: AppContext, now: Date): Promise<number> {
  const { db } = ctx.database
  const zone = ctx.config.timezone
  const monthAgo = new Date(now.getTime() - 30 * 86_400_000)
  const [nextStart, oldestRecent] = await Promise.all([
    db
      .selectFrom('reservations')
      .select((eb) => eb.fn.min('start_time').as('t'))
      .where('status', 'in', ['pending', 'confirmed'])
      .where('start_time', '>', now)
      .executeTakeFirst(),
    db
      .selectFrom('users')
      .select((eb) => eb.fn.min('date_joined').as('t'))
      .where('date_joined', '>=', monthAgo)
      .executeTakeFirst(),
  ])
  const bounds = [startOfLocalDay(addDays(localDate(now, zone), 1), zone).getTime()]
  if (nextStart?.t) bounds.push(toDate(nextStart.t).getTime())
  if (oldestRecent?.t) bounds.push(toDate(oldestRecent.t).getTime() + 30 * 86_400_000)
  return Math.min(...bounds)
}

function validateQuery(q: DashboardQuery): void {
  const errors = new FieldErrors()
  if (q.from !== undefined && !isValidDate(q.from))
    errors.add('from', 'Date has wrong format. Use one of these formats instead: YYYY-MM-DD.')
  if (q.to !== undefined && !isValidDate(q.to))
    errors.add('to', 'Date has wrong format. Use one of these formats instead: YYYY-MM-DD.')
  for (const f of ['from', 'to'] as const) {
    const v = q[f]
    if (v !== undefined && isValidDate(v) && (v < '1900-01-01' || v > '9000-12-31'))
      errors.add(f, 'Enter a date between 1900 and 9000.')
  }
  if (errors.empty && q.from && q.to && q.from > q.to) errors.add('to', 'Must not be before from.')
  errors.throwIfAny()
}

/** Every figure is a SQL aggregate; at most 24 hour rows and 5 status rows come back to JS. */
async function computeStats(ctx: AppContext, actor: Actor, q: DashboardQuery, now: Date) {
  const { db, engine } = ctx.database
  const zone = ctx.config.timezone

  const scope = <O>(qb: SelectQueryBuilder<Database, 'reservations', O>) => {
    let out = qb
    if (!actor.isAdmin) out = out.where('reservations.staff_id', '=', actor.id)
    if (q.from) out = out.where('reservations.start_time', '>=', startOfLocalDay(q.from, zone))
    if (q.to)
      out = out.where('reservations.start_time', '<', startOfLocalDay(addDays(q.to, 1), zone))
    return out
  }
  const today = localDate(now, zone)
  const todayStart = startOfLocalDay(today, zone)
  const todayEnd = startOfLocalDay(addDays(today, 1), zone)
  const monthAgo = new Date(now.getTime() - 30 * 86_400_000)
  const yes = true

  // A staff member's users are their own customers: those of their reservations (issue 11).
  let usersBase = db.selectFrom('users')
  if (!actor.isAdmin)
    usersBase = usersBase.where('users.id', 'in', (eb) =>
      eb.selectFrom('reservations').select('customer_id').where('staff_id', '=', actor.id),
    )
  const usersQ = usersBase
    .select([
      sql<number>`count(*)`.as('total'),
      sql<number>`sum(case when is_admin = ${yes} or is_staff_member = ${yes} then 0 else 1 end)`.as(
        'customers',
      ),
      sql<number>`sum(case when is_staff_member = ${yes} then 1 else 0 end)`.as('staff'),
      sql<number>`sum(case when is_admin = ${yes} then 1 else 0 end)`.as('admins'),
      sql<number>`sum(case when date_joined >= ${monthAgo} then 1 else 0 end)`.as(
        'new_last_30_days',
      ),
    ])
    .executeTakeFirstOrThrow()

  const byStatusQ = scope(
    db
      .selectFrom('reservations')
      .leftJoin('services', 'services.id', 'reservations.service_id')
      .select([
        'reservations.status',
        sql<number>`count(*)`.as('n'),
        sql<number>`sum(case when reservations.start_time >= ${todayStart} and reservations.start_time < ${todayEnd} then 1 else 0 end)`.as(
          'today',
        ),
        sql<number>`sum(case when reservations.start_time > ${now} then 1 else 0 end)`.as('future'),
        sql<number>`sum(coalesce(services.price_cents, 0))`.as('cents'),
      ])
      .groupBy('reservations.status'),
  ).execute()

  // busiest_hours: the local hour is computed in SQL from the UTC minute of day plus the
  // zone's offset in force at that instant (a CASE over the offset changes in the data's
  // range), so at most 24 rows come back whatever the history.
  const range = await scope(
    db
      .selectFrom('reservations')
      .select([
        sql<Date | string | null>`min(reservations.start_time)`.as('lo'),
        sql<Date | string | null>`max(reservations.start_time)`.as('hi'),
      ])
      .where('reservations.status', '<>', 'cancelled'),
  ).executeTakeFirst()
  const segments =
    range?.lo && range.hi
      ? offsetSegments(zone, toDate(range.lo).getTime(), toDate(range.hi).getTime())
      : [{ until: null, offset: 0 }]
  const utcMinute =
    engine === 'sqlite'
      ? sql<number>`(cast(substr(reservations.start_time, 12, 2) as integer) * 60 + cast(substr(reservations.start_time, 15, 2) as integer))`
      : engine === 'mysql'
        ? sql<number>`(hour(reservations.start_time) * 60 + minute(reservations.start_time))`
        : sql<number>`(cast(extract(hour from reservations.start_time at time zone 'UTC') as integer) * 60 + cast(extract(minute from reservations.start_time at time zone 'UTC') as integer))`
  const offset =
    segments.length === 1
      ? sql<number>`${sql.lit(segments[0]!.offset)}`
      : sql<number>`(case ${sql.join(
          segments.map((seg) =>
            seg.until === null
              ? sql`else ${sql.lit(seg.offset)}`
              : sql`when reservations.start_time < ${new Date(seg.until)} then ${sql.lit(seg.offset)}`,
          ),
          sql` `,
        )} end)`
  const localMinute = sql<number>`(((${utcMinute} + ${offset}) % 1440 + 1440) % 1440)`
  const localHour =
    engine === 'mysql' ? sql<number>`(${localMinute} div 60)` : sql<number>`(${localMinute} / 60)`
  const bucketsQ = scope(
    db
      .selectFrom('reservations')
      .select([localHour.as('hour'), sql<number>`count(*)`.as('n')])
      .where('reservations.status', '<>', 'cancelled')
      // By position: the expression carries parameters, which PostgreSQL would not match textually.
      .groupBy(sql`1`),
  ).execute()

  const [users, byStatusRows, buckets] = await Promise.all([usersQ, byStatusQ, bucketsQ])

  const byStatus = { ...EMPTY_BY_STATUS }
  let total = 0
  let todayCount = 0
  let upcoming = 0
  let completedCents = 0
  let expectedCents = 0
  for (const r of byStatusRows) {
    const n = toNumber(r.n)
    if (r.status in byStatus) byStatus[r.status as StatusKey] = n
    total += n
    todayCount += toNumber(r.today)
    if (r.status === 'pending' || r.status === 'confirmed') {
      upcoming += toNumber(r.future)
      expectedCents += toNumber(r.cents)
    }
    if (r.status === 'completed') completedCents += toNumber(r.cents)
  }
  const ended = byStatus.completed + byStatus.cancelled + byStatus.no_show
  const hours = new Map<number, number>()
  for (const b of buckets) {
    const hour = toNumber(b.hour)
    hours.set(hour, (hours.get(hour) ?? 0) + toNumber(b.n))
  }
  return {
    users: {
      total: toNumber(users.total),
      customers: toNumber(users.customers),
      staff: toNumber(users.staff),
      admins: toNumber(users.admins),
      new_last_30_days: toNumber(users.new_last_30_days),
    },
    reservations: {
      total,
      by_status: byStatus,
      today: todayCount,
      upcoming,
      completion_rate: ended === 0 ? null : byStatus.completed / ended,
    },
    revenue: { completed: formatPrice(completedCents), expected: formatPrice(expectedCents) },
    busiest_hours: [...hours.entries()]
      .map(([hour, count]) => ({ hour, count }))
      .sort((a, b) => b.count - a.count || a.hour - b.hour),
    generated_at: iso(now),
  }
}
