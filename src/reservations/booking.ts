/**
 * How double booking is prevented: the one place that decides where a booking may go and
 * makes sure that no other active booking of the same barber takes the same time.
 *
 * A booking (a create, a move, a confirmation) is two steps in one transaction:
 *
 * 1. `place`, a plain read: opening hours, the barber's working hours, time off and their
 *    other active reservations (the same `evaluate` that availability uses), and the barber
 *    when none is named (the first free one in the order availability lists them, or, while
 *    other automatic bookings of an overlapping time are in flight in this process, the first
 *    they were not given: `Assignments`). Almost
 *    every refusal (400, 409) happens here, before anything is written or locked.
 * 2. The guard, which makes the write safe against a concurrent booking that passed the same
 *    read. It differs per database, and holds its lock for as little as possible:
 *    - SQLite: nothing more. BEGIN IMMEDIATE takes the database's write lock before step 1,
 *      so the read already excludes every other writer.
 *    - PostgreSQL: the exclusion constraint `reservations_no_overlap` (barber, [start,
 *      hold_until) — the clean-up buffer included — among pending and confirmed rows) is the
 *      guard itself: the write is checked by the database, a concurrent overlapping write
 *      waits for the first to commit and then fails with 23P01 → 409 (or, when the barber was
 *      assigned automatically, the whole transaction runs again from a fresh read and picks
 *      the next free barber). No lock, and bookings of one barber at different times never
 *      wait for each other. The single chair (no barber) is outside the constraint and is
 *      guarded as on MariaDB.
 *    - MariaDB/MySQL: the barber's lock (a row of `locks`; for a customer's own booking, taken
 *      by the statement that takes the customer's), then the re-check and the insert in one
 *      statement (`INSERT … SELECT … WHERE NOT EXISTS` an overlapping active row): two round
 *      trips under the lock before the commit (three with the customer's count). READ
 *      COMMITTED, so the statement after the lock sees what the previous holder committed.
 *      A move re-checks, then updates.
 *
 * Locks are taken in one order — a customer's (the MAX_ACTIVE_BOOKINGS count) before any
 * barber's, barbers' in ascending id — and deadlocks or lost races are retried as a whole
 * transaction by `inTransaction`. In the process, bookings of one barber wait in line
 * (`bookingLane`) rather than on pooled connections, so a storm on one slot leaves the pool
 * to the rest of the API.
 */
import { sql } from 'kysely'
import type { Insertable, Transaction } from 'kysely'
import type { AppContext } from '../context.js'
import type { Database as Tables, ReservationTable } from '../db/types.js'
import type { DbEngine } from '../config.js'
import {
  barberLock,
  insertReturningId,
  isExclusionViolation,
  lockForBooking,
  takeLock,
  toNumber,
} from '../db/database.js'
import type { ApiError } from '../http/errors.js'
import { SlotUnavailable, ValidationFailed } from '../http/errors.js'
import { ACTIVE_STATUSES } from './reservations.schemas.js'
import { evaluate, loadSchedule, MAX_HOLD_MS } from './schedule.js'

type Trx = Transaction<Tables>

export interface Placement {
  /** undefined: assign any free barber; null: the single chair of a shop without barbers. */
  staffId: number | null | undefined
  start: Date
  end: Date
  /** end plus the service's clean-up buffer: how long the barber is held. */
  hold: Date
}

/** The barber chosen (null: the single chair) and, when assigned automatically, the other
 * barbers who looked free too, in the same order: the ones to try if the first was taken. */
export interface Placed {
  staffId: number | null
  alternatives: number[]
}

interface Claim {
  start: number
  hold: number
  /** When the booking holding it finished (a `moments` count), if it did. */
  released?: number
  releasedAt?: number
}

/** Per database handle: per barber, the times automatic bookings in flight here were given. */
const claimed = new WeakMap<object, Map<number, Set<Claim>>>()
/** Counts reads beginning and bookings finishing, to tell which came first. */
let moments = 0
/** A finished booking's claim is kept this long for the reads that started before it ended. */
const RELEASED_KEPT_MS = 5000

/**
 * The barbers one booking request was given automatically, while its transaction runs.
 * Concurrent automatic bookings of one slot in this process then spread over the free
 * barbers instead of all taking the first, where all but one would fail at the guard and
 * run their whole transaction again. A claim still counts for a read that began before its
 * booking finished (that read could not see the booking's row). With nothing in flight the
 * choice is unchanged: the first free barber, as availability lists them.
 */
export class Assignments {
  readonly #held: Claim[] = []
  readonly #byStaff: Map<number, Set<Claim>>
  #readBegan = 0

  constructor(database: object) {
    let byStaff = claimed.get(database)
    if (!byStaff) claimed.set(database, (byStaff = new Map()))
    this.#byStaff = byStaff
  }

  /** Before the read that places the booking. */
  begin(): void {
    this.#readBegan = ++moments
  }

  /** `free` with the barbers another booking holds (as this read sees it) for an overlapping time last. */
  order(free: number[], start: Date, hold: Date): number[] {
    const now = Date.now()
    const taken = (id: number) => {
      const set = this.#byStaff.get(id)
      if (!set) return false
      let hit = false
      for (const c of set) {
        if (c.releasedAt !== undefined && now - c.releasedAt > RELEASED_KEPT_MS) {
          set.delete(c)
          continue
        }
        if (c.released !== undefined && c.released < this.#readBegan) continue
        if (c.start < hold.getTime() && start.getTime() < c.hold) hit = true
      }
      if (set.size === 0) this.#byStaff.delete(id)
      return hit
    }
    const open = free.filter((id) => !taken(id))
    return open.length === free.length
      ? free
      : [...open, ...free.filter((id) => !open.includes(id))]
  }

  take(staffId: number, start: Date, hold: Date): void {
    const claim: Claim = { start: start.getTime(), hold: hold.getTime() }
    let set = this.#byStaff.get(staffId)
    if (!set) this.#byStaff.set(staffId, (set = new Set()))
    // Claims of finished bookings no read can still need go here (and in `order`).
    const now = Date.now()
    for (const c of set)
      if (c.releasedAt !== undefined && now - c.releasedAt > RELEASED_KEPT_MS) set.delete(c)
    set.add(claim)
    this.#held.push(claim)
  }

  /** After the transaction (or before it runs again). */
  release(): void {
    const at = ++moments
    const now = Date.now()
    for (const claim of this.#held.splice(0)) {
      claim.released = at
      claim.releasedAt = now
    }
  }
}

/** Step 1: a plain read that places the booking or refuses it (400 outside hours, 409 busy). */
export async function place(
  ctx: AppContext,
  trx: Trx,
  p: Placement,
  exclude: number | null,
  /** A new booking's automatic assignment (see `Assignments`). */
  assignments?: Assignments,
): Promise<Placed> {
  const { config } = ctx
  if (p.staffId === undefined) assignments?.begin()
  const schedule = await loadSchedule(trx, {
    from: p.start,
    to: p.hold,
    zone: config.timezone,
    shopHours: config.openingHours,
    shopSpec: config.openingHoursSpec,
    // Every active barber when none is named (the candidates), else the one named.
    staffIds: p.staffId == null ? undefined : [p.staffId],
  })
  // No barbers at all: the shop is one chair.
  if (p.staffId === null || (p.staffId === undefined && schedule.staff.length === 0)) {
    const verdict = evaluate(schedule, null, p.start, p.end, p.hold, exclude)
    if (verdict === 'ok') return { staffId: null, alternatives: [] }
    if (verdict === 'busy') throw SlotUnavailable()
    throw outsideHours(verdict)
  }
  const candidates = p.staffId != null ? [p.staffId] : schedule.staff.map((m) => m.id)
  const free: number[] = []
  let sawOpen = false
  for (const id of candidates) {
    const verdict = evaluate(schedule, id, p.start, p.end, p.hold, exclude)
    if (verdict === 'ok') free.push(id)
    if (verdict === 'shop_closed') throw outsideHours(verdict)
    if (verdict === 'busy') sawOpen = true
    if (verdict === 'staff_closed' && p.staffId != null) throw outsideHours(verdict)
  }
  const [first, ...alternatives] =
    assignments && p.staffId === undefined ? assignments.order(free, p.start, p.hold) : free
  if (first !== undefined) {
    if (assignments && p.staffId === undefined) assignments.take(first, p.start, p.hold)
    return { staffId: first, alternatives }
  }
  throw SlotUnavailable(sawOpen ? undefined : 'No staff member works at the requested time.')
}

/** Whether PostgreSQL's exclusion constraint guards this barber's writes (not the chair). */
function constraintGuards(engine: DbEngine, staffId: number | null): boolean {
  return engine === 'postgres' && staffId !== null
}

/** Active reservations of one barber overlapping [start, hold), other than `exclude`. */
function overlapping(
  trx: Trx,
  staffId: number | null,
  p: Pick<Placement, 'start' | 'hold'>,
  exclude: number | null,
) {
  let q = trx
    .selectFrom('reservations')
    .select('id')
    .where('staff_id', staffId === null ? 'is' : '=', staffId)
    .where('status', 'in', ACTIVE_STATUSES)
    .where('start_time', '<', p.hold)
    // A reservation holds its barber at most MAX_HOLD_MS: lets the start_time index bound it.
    .where('start_time', '>', new Date(p.start.getTime() - MAX_HOLD_MS))
    .where('hold_until', '>', p.start)
  if (exclude !== null) q = q.where('id', '<>', exclude)
  return q
}

/**
 * Step 2 of a new booking: writes it where step 1 placed it, guarded against concurrent
 * bookings (see the top of this file). Returns the id and the barber written.
 */
export async function insertBooking(
  ctx: AppContext,
  trx: Trx,
  placed: Placed,
  values: Omit<Insertable<ReservationTable>, 'id' | 'staff_id'> & {
    start_time: Date
    hold_until: Date
  },
  /** `checkActiveLimit` already holds the lock of the barber placed (`placed.staffId`). */
  firstLocked = false,
): Promise<{ id: number; staffId: number | null }> {
  const { engine } = ctx.database
  const p = { start: values.start_time, hold: values.hold_until }
  if (engine === 'sqlite' || constraintGuards(engine, placed.staffId)) {
    const row = { ...values, staff_id: placed.staffId }
    try {
      return {
        id: await insertReturningId(engine, trx, 'reservations', row),
        staffId: row.staff_id,
      }
    } catch (err) {
      if (!isExclusionViolation(err)) throw err
      // Booked concurrently. Named: the slot is gone; assigned: look again for another barber.
      throw placed.alternatives.length ? SlotTaken() : SlotUnavailable()
    }
  }
  if (engine === 'postgres') {
    // The single chair: lock, look, write.
    if (!firstLocked) await lockForBooking(engine, trx, null)
    if (await overlapping(trx, null, p, null).limit(1).executeTakeFirst()) throw SlotUnavailable()
    const row = { ...values, staff_id: null }
    return { id: await insertReturningId(engine, trx, 'reservations', row), staffId: null }
  }
  // MariaDB/MySQL: under each candidate's lock in turn, the re-check and the write in one.
  for (const staffId of [placed.staffId, ...placed.alternatives]) {
    if (!(firstLocked && staffId === placed.staffId)) await lockForBooking(engine, trx, staffId)
    const row = { ...values, staff_id: staffId }
    const cols = Object.keys(row) as (keyof typeof row)[]
    const result = await sql`insert into reservations (${sql.join(cols.map((c) => sql.ref(c)))})
      select ${sql.join(cols.map((c) => row[c]))} from dual
      where not exists (${overlapping(trx, staffId, p, null)})`.execute(trx)
    if (Number(result.numAffectedRows) === 1) return { id: Number(result.insertId), staffId }
  }
  throw SlotUnavailable()
}

/**
 * Step 2 of a move or a confirmation: the barber to write, guarded like a new booking.
 * On PostgreSQL the update itself is checked by the constraint (see `constraintToRetry`);
 * elsewhere, under the barber's lock, an overlapping active reservation other than the one
 * being changed moves an automatically assigned booking to the next free barber, else 409.
 */
export async function guardChange(
  ctx: AppContext,
  trx: Trx,
  placed: Placed,
  p: Pick<Placement, 'start' | 'hold'>,
  exclude: number,
): Promise<number | null> {
  const { engine } = ctx.database
  if (engine === 'sqlite' || constraintGuards(engine, placed.staffId)) return placed.staffId
  for (const staffId of [placed.staffId, ...placed.alternatives]) {
    await lockForBooking(engine, trx, staffId)
    if (!(await overlapping(trx, staffId, p, exclude).limit(1).executeTakeFirst())) return staffId
  }
  throw SlotUnavailable()
}

/**
 * A change refused by PostgreSQL's exclusion constraint: a concurrent booking got there
 * first. An automatically assigned barber is tried again from a fresh read; else 409.
 */
export function constraintToRetry(autoAssigned: boolean): (err: unknown) => never {
  return (err) => {
    if (!isExclusionViolation(err)) throw err
    throw autoAssigned ? SlotTaken() : SlotUnavailable()
  }
}

/**
 * A customer booking for themself holds at most MAX_ACTIVE_BOOKINGS pending or confirmed
 * future reservations, counted under the customer's lock, taken before any barber's, so
 * concurrent bookings of one customer count one another.
 *
 * Where the barber placed will be guarded by a lock (MariaDB/MySQL, PostgreSQL's single
 * chair), that lock is taken by the same statement, right after the customer's: one round
 * trip less. Returns whether it was (pass it on to `insertBooking`).
 */
export async function checkActiveLimit(
  ctx: AppContext,
  trx: Trx,
  customerId: number,
  now: Date,
  placed: Placed,
): Promise<boolean> {
  const { engine } = ctx.database
  const withBarber = engine !== 'sqlite' && !constraintGuards(engine, placed.staffId)
  await takeLock(
    engine,
    trx,
    withBarber ? [`customer:${customerId}`, barberLock(placed.staffId)] : `customer:${customerId}`,
  )
  const { n } = await trx
    .selectFrom('reservations')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('customer_id', '=', customerId)
    .where('status', 'in', ACTIVE_STATUSES)
    .where('start_time', '>', now)
    .executeTakeFirstOrThrow()
  const max = ctx.config.maxActiveBookings
  if (toNumber(n) >= max) {
    throw new ValidationFailed({
      non_field_errors: [
        `You already have ${max} upcoming reservations, the most one may hold at a time.`,
      ],
    })
  }
  return withBarber
}

/**
 * The line in this process for booking transactions of one barber (undefined: automatic
 * assignment): [key, how many may run at once]. The rest wait in memory, without a pooled
 * connection (see `oneAtATime`). Where PostgreSQL's constraint guards, bookings of one barber
 * at different times do not wait for each other, so a few run at once.
 */
export function bookingLane(
  engine: DbEngine,
  staffId: number | null | undefined,
): [string, number] {
  if (staffId === undefined) return ['book:auto', engine === 'postgres' ? 4 : 2]
  return [`book:${staffId ?? 'shop'}`, constraintGuards(engine, staffId) ? 4 : 1]
}

/** The barber auto-assigned was booked by a concurrent request: try again from a fresh read. */
function SlotTaken(): ApiError & { retryable: true } {
  return Object.assign(SlotUnavailable(), { retryable: true as const })
}

function outsideHours(verdict: 'shop_closed' | 'staff_closed'): ValidationFailed {
  return new ValidationFailed({
    non_field_errors: [
      verdict === 'shop_closed'
        ? 'The requested time is outside opening hours.'
        : "The requested time is outside the staff member's working hours.",
    ],
  })
}
