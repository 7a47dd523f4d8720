import { createHash } from 'node:crypto'
import type { Transaction, Updateable } from 'kysely'
import { DerivedCache, readChange } from '../cache/derived.js'
import type { ChangeToken } from '../cache/derived.js'
import type { AppContext } from '../context.js'
import type { Database as Tables, ReservationTable } from '../db/types.js'
import type { Executor } from '../db/database.js'
import {
  inTransaction,
  isUniqueViolation,
  oneAtATime,
  toBool,
  toDate,
  toDateOrNull,
} from '../db/database.js'
import type { CancelledBy, ReservationRow, ReservationStatus, ServiceRow } from '../db/types.js'
import type { Actor } from '../http/auth.js'
import { readDateTime } from '../http/datetime.js'
import {
  FieldErrors,
  Forbidden,
  NotFound,
  PreconditionFailed,
  Unprocessable,
  ValidationFailed,
} from '../http/errors.js'
import { pageWindow } from '../http/pagination.js'
import { loadReservationProps, reservationEvent } from '../notifications/delivery.js'
import { buildIcs } from '../notifications/ics.js'
import { addToOutbox, outboxRow } from '../notifications/outbox.js'
import { addDays, localDate, parseDateTime } from '../shop/hours.js'
import { findUserById } from '../users/users.repository.js'
import { etagOf, findReservation, toReservation } from './reservations.repository.js'
import type {
  CreateReservationBody,
  Reservation,
  ReservationListQuery,
  UpdateReservationBody,
} from './reservations.schemas.js'
import { STATUSES } from './reservations.schemas.js'
import {
  Assignments,
  bookingLane,
  checkActiveLimit,
  constraintToRetry,
  guardChange,
  insertBooking,
  place,
} from './booking.js'

type Trx = Transaction<Tables>

/** The workflow as data: which status may follow which. */
export const TRANSITIONS = {
  pending: ['confirmed', 'cancelled'],
  confirmed: ['completed', 'cancelled', 'no_show'],
  completed: [],
  cancelled: [],
  no_show: [],
} as const satisfies Record<ReservationStatus, readonly ReservationStatus[]>

const MIN_LENGTH_MS = 5 * 60_000
const MAX_LENGTH_MS = 8 * 3600_000
const MAX_NOTES = 1000
const MAX_AHEAD_MS = 10 * 366 * 86_400_000
const INVALID_PK = (id: number) => `Invalid pk "${id}" - object does not exist.`

type Role = 'admin' | 'staff' | 'customer'

/** How the actor relates to a reservation; null: they may not see it (404). */
function roleFor(actor: Actor, row: ReservationRow): Role | null {
  if (actor.isAdmin) return 'admin'
  if (actor.isStaff && row.staff_id === actor.id) return 'staff'
  if (row.customer_id === actor.id) return 'customer'
  return null
}

async function visible(
  ctx: AppContext,
  actor: Actor,
  id: number,
): Promise<{ row: ReservationRow; role: Role }> {
  const row = await findReservation(ctx.database.db, id)
  const role = row && roleFor(actor, row)
  if (!row || !role) throw NotFound()
  return { row, role }
}

export async function getReservation(ctx: AppContext, actor: Actor, id: number) {
  const { row } = await visible(ctx, actor, id)
  return { reservation: toReservation(row), etag: etagOf(row) }
}

/**
 * The reservation as an iCalendar object for "add to calendar": the event the confirmation
 * mail attaches (same UID; SEQUENCE the version), as a METHOD:PUBLISH.
 */
export async function reservationCalendar(
  ctx: AppContext,
  actor: Actor,
  id: number,
): Promise<string> {
  const { row } = await visible(ctx, actor, id)
  const props = await loadReservationProps(ctx, id)
  if (!props) throw NotFound()
  const status =
    row.status === 'cancelled' ? 'CANCELLED' : row.status === 'pending' ? 'TENTATIVE' : 'CONFIRMED'
  return buildIcs({ ...reservationEvent(ctx, props, 'PUBLISH', row.version), status })
}

export async function assertVisible(ctx: AppContext, actor: Actor, id: number): Promise<void> {
  await visible(ctx, actor, id)
}

/* ---------- validation shared by create and move ---------- */

/** The rows a create or a move refers to, read at once (in parallel where there is a pool). */
async function referenced(
  db: Executor,
  ids: { customer?: number; service?: number; staff?: number },
) {
  const staffQuery = (staffId: number) =>
    db
      .selectFrom('users')
      .select(['id'])
      .where('id', '=', staffId)
      .where('is_staff_member', '=', true)
      .where('is_active', '=', true)
  const serviceQuery = (serviceId: number) =>
    db.selectFrom('services').selectAll().where('id', '=', serviceId)
  // A service with a barber (the usual booking): both by one statement, the barber as a
  // column of the service's row (when there is no such service, the barber is asked apart).
  if (ids.service !== undefined && ids.staff !== undefined && ids.customer === undefined) {
    const staffId = ids.staff
    const row = await serviceQuery(ids.service)
      .select(() => staffQuery(staffId).as('staff_ok'))
      .executeTakeFirst()
    if (!row)
      return {
        customer: undefined,
        service: undefined,
        staff: await staffQuery(staffId).executeTakeFirst(),
      }
    const { staff_ok, ...service } = row
    return { customer: undefined, service, staff: staff_ok == null ? undefined : { id: staffId } }
  }
  const [customer, service, staff] = await Promise.all([
    ids.customer !== undefined ? findUserById(db, ids.customer) : undefined,
    ids.service !== undefined ? serviceQuery(ids.service).executeTakeFirst() : undefined,
    ids.staff !== undefined ? staffQuery(ids.staff).executeTakeFirst() : undefined,
  ])
  return { customer, service, staff }
}

function judgeService(
  errors: FieldErrors,
  id: number,
  service: ServiceRow | undefined,
): ServiceRow | undefined {
  if (!service) errors.add('service', INVALID_PK(id))
  else if (!toBool(service.is_active))
    errors.add('service', 'This service is not currently offered.')
  else return service
  return undefined
}

function checkTimes(
  errors: FieldErrors,
  start: Date,
  end: Date,
  now: Date,
  mayBeInPast: boolean,
): void {
  const length = end.getTime() - start.getTime()
  if (length <= 0) errors.add('end_time', 'End time must be after start time.')
  else if (length < MIN_LENGTH_MS)
    errors.add('end_time', 'A reservation must last at least 5 minutes.')
  else if (length > MAX_LENGTH_MS) errors.add('end_time', 'A reservation may last at most 8 hours.')
  if (!mayBeInPast && start.getTime() < now.getTime())
    errors.add('start_time', 'Start time cannot be in the past.')
  if (start.getTime() > now.getTime() + MAX_AHEAD_MS)
    errors.add('start_time', 'Start time is more than ten years ahead.')
}

/**
 * Customers book no further ahead than BOOKING_HORIZON_DAYS (the days availability
 * offers, in the shop's zone); staff and admins may.
 */
function checkHorizon(ctx: AppContext, errors: FieldErrors, start: Date, now: Date): void {
  const days = ctx.config.bookingHorizonDays
  const zone = ctx.config.timezone
  if (localDate(start, zone) > addDays(localDate(now, zone), days))
    errors.add('start_time', `Bookings open at most ${days} days ahead.`)
}

function checkNotes(errors: FieldErrors, notes: string | null | undefined): string {
  const v = notes ?? ''
  if (v.length > MAX_NOTES)
    errors.add('notes', `Ensure this field has no more than ${MAX_NOTES} characters.`)
  return v
}

/* ---------- the one transition function (requests and the sweep) ---------- */

export interface Change {
  actorId: number | null
  cancelledBy?: CancelledBy
  status?: ReservationStatus
  reason?: string
  move?: { start: Date; end: Date; hold: Date; staffId: number | null; serviceId: number | null }
  notes?: string
  customerId?: number
}

/**
 * Writes a change with compare-and-set on `version`, its history entry and its emails,
 * all in the caller's transaction. Returns null when someone else changed the row first.
 */
export async function applyChange(
  ctx: AppContext,
  trx: Trx,
  row: ReservationRow,
  change: Change,
): Promise<ReservationRow | null> {
  const now = ctx.now()
  const from = row.status
  const to = change.status ?? from
  const set: Updateable<ReservationTable> = { updated_at: now, version: row.version + 1 }
  if (change.notes !== undefined) set.notes = change.notes
  if (change.customerId !== undefined) set.customer_id = change.customerId
  if (change.move) {
    set.start_time = change.move.start
    set.end_time = change.move.end
    set.hold_until = change.move.hold
    set.staff_id = change.move.staffId
    set.service_id = change.move.serviceId
  }
  if (to !== from) {
    set.status = to
    if (to === 'confirmed') set.confirmed_at = now
    if (to === 'completed') set.completed_at = now
    if (to === 'cancelled') {
      set.cancelled_at = now
      set.cancelled_by = change.cancelledBy ?? 'system'
      set.cancellation_reason = change.reason ?? ''
    }
  }
  const result = await trx
    .updateTable('reservations')
    .set(set)
    .where('id', '=', row.id)
    .where('version', '=', row.version)
    .executeTakeFirst()
  if (Number(result.numUpdatedRows) === 0) return null
  const updated = (await findReservation(trx, row.id))!
  const moved =
    change.move !== undefined &&
    (toDate(row.start_time).getTime() !== change.move.start.getTime() ||
      toDate(row.end_time).getTime() !== change.move.end.getTime())
  if (to !== from || moved) {
    await trx
      .insertInto('reservation_history')
      .values({
        reservation_id: row.id,
        at: now,
        actor_id: change.actorId,
        from_status: from,
        to_status: to,
        start_time: toDate(updated.start_time),
        end_time: toDate(updated.end_time),
      })
      .execute()
  }
  if (
    to !== from &&
    (to === 'confirmed' || to === 'cancelled' || to === 'completed' || to === 'no_show')
  ) {
    await addToOutbox(trx, now, 'email.reservation_status', {
      reservationId: row.id,
      status: to,
      version: updated.version,
    })
  }
  if (to === 'confirmed') await queueReminderIfDue(ctx, trx, updated)
  return updated
}

/**
 * The reminder is derived from state: due when a confirmed reservation starts within
 * REMINDER_HOURS_BEFORE but more than an hour from now, and was not yet reminded for
 * this start time. The compare-and-set on reminder_sent_for makes it happen once.
 */
/**
 * A reminder is not sent once the start is this close: an hour (API.md: one confirmed late
 * gets it at once "if the start is still more than an hour away"), or half the reminder
 * lead time when that is an hour or less, so a short lead time still gets its reminder.
 */
export function reminderFloorMs(reminderHoursBefore: number): number {
  return Math.min(3600_000, (reminderHoursBefore * 3600_000) / 2)
}

export async function queueReminderIfDue(
  ctx: AppContext,
  trx: Executor,
  row: ReservationRow,
): Promise<boolean> {
  const now = ctx.now().getTime()
  const start = toDate(row.start_time)
  const sentFor = toDateOrNull(row.reminder_sent_for)
  if (row.status !== 'confirmed') return false
  if (sentFor && sentFor.getTime() === start.getTime()) return false
  if (start.getTime() - ctx.config.reminderHoursBefore * 3600_000 > now) return false
  if (start.getTime() - reminderFloorMs(ctx.config.reminderHoursBefore) <= now) return false
  const r = await trx
    .updateTable('reservations')
    .set({ reminder_sent_for: start })
    .where('id', '=', row.id)
    .where('status', '=', 'confirmed')
    .where('start_time', '=', start)
    .where((eb) =>
      eb.or([eb('reminder_sent_for', 'is', null), eb('reminder_sent_for', '<>', start)]),
    )
    .executeTakeFirst()
  if (Number(r.numUpdatedRows) === 0) return false
  await addToOutbox(trx, ctx.now(), 'email.reservation_reminder', {
    reservationId: row.id,
    startTime: start.toISOString(),
  })
  return true
}

/* ---------- create ---------- */

export interface CreateResult {
  status: number
  body: Reservation
  etag?: string
  replayed: boolean
}

function requestHash(body: unknown): string {
  const canonical = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
        )
      : v
  return createHash('sha256')
    .update(JSON.stringify(canonical(body)))
    .digest('hex')
}

const IDEMPOTENCY_TTL_MS = 24 * 3600_000

async function replay(
  ctx: AppContext,
  userId: number,
  key: string,
  hash: string,
): Promise<CreateResult | null> {
  const row = await ctx.database.db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .executeTakeFirst()
  if (!row) return null
  if (toDate(row.created_at).getTime() < ctx.now().getTime() - IDEMPOTENCY_TTL_MS) {
    await ctx.database.db
      .deleteFrom('idempotency_keys')
      .where('user_id', '=', userId)
      .where('key', '=', key)
      .execute()
    return null
  }
  if (row.request_hash !== hash) {
    throw Unprocessable(
      'This Idempotency-Key was already used with a different request body.',
      'idempotency_key_reused',
    )
  }
  const body = JSON.parse(row.response_body) as Reservation
  // The first answer's ETag too: a reservation is created at version 1.
  const etag = row.status_code === 201 ? etagOf({ id: body.id, version: 1 }) : undefined
  return { status: row.status_code, body, etag, replayed: true }
}

/** Creates a reservation; with an Idempotency-Key, a retry gets the first answer. */
export async function createReservation(
  ctx: AppContext,
  actor: Actor,
  body: CreateReservationBody,
  idempotencyKey?: string,
): Promise<CreateResult> {
  const hash = idempotencyKey ? requestHash(body) : ''
  if (idempotencyKey) {
    if (idempotencyKey.length > 255)
      throw FieldErrors.single(
        'Idempotency-Key',
        'Ensure this header has no more than 255 characters.',
      )
    const earlier = await replay(ctx, actor.id, idempotencyKey, hash)
    if (earlier) return earlier
  }
  const { db } = ctx.database
  const now = ctx.now()
  const errors = new FieldErrors()
  let customerId = actor.id
  const forOther = body.customer != null && body.customer !== actor.id
  // Only an admin may book for another user, and a staff member into their own column.
  if (forOther && !actor.isAdmin && !(actor.isStaff && body.staff === actor.id))
    throw Forbidden(
      'Only an admin may book for another user, and a staff member only with themself as staff.',
    )
  const found = await referenced(db, {
    customer: forOther ? body.customer! : undefined,
    service: body.service ?? undefined,
    staff: body.staff ?? undefined,
  })
  if (forOther) {
    if (!found.customer) errors.add('customer', INVALID_PK(body.customer!))
    customerId = body.customer!
  }
  const start = readDateTime(errors, 'start_time', body.start_time, ctx.config.timezone)
  const service =
    body.service != null ? judgeService(errors, body.service, found.service) : undefined
  if (body.staff != null && !found.staff) errors.add('staff', INVALID_PK(body.staff))
  let end: Date | undefined
  if (body.end_time != null)
    end = readDateTime(errors, 'end_time', body.end_time, ctx.config.timezone)
  else if (service && start) end = new Date(start.getTime() + service.duration_minutes * 60_000)
  else if (body.service == null)
    errors.add('end_time', 'This field is required when no service is given.')
  const notes = checkNotes(errors, body.notes)
  errors.throwIfAny()
  checkTimes(errors, start!, end!, now, actor.isAdmin)
  // A customer (neither staff nor admin) books for themself, within the limits for customers.
  const asCustomer = !actor.isAdmin && !actor.isStaff
  if (asCustomer) checkHorizon(ctx, errors, start!, now)
  errors.throwIfAny()
  const hold = new Date(end!.getTime() + (service?.buffer_after_minutes ?? 0) * 60_000)
  const status: ReservationStatus = ctx.config.autoConfirm ? 'confirmed' : 'pending'

  const assignments = new Assignments(ctx.database)
  try {
    const row = await oneAtATime(
      ctx.database,
      ...bookingLane(ctx.database.engine, body.staff ?? undefined),
      () =>
        inTransaction(ctx.database, async (trx) => {
          // A retry places the booking afresh.
          assignments.release()
          // The key goes in first: a concurrent request with the same key waits on it here,
          // then fails on the unique index and replays this request's answer.
          if (idempotencyKey) {
            await trx
              .insertInto('idempotency_keys')
              .values({
                user_id: actor.id,
                key: idempotencyKey,
                request_hash: hash,
                status_code: 0,
                response_body: '',
                created_at: now,
              })
              .execute()
          }
          const placement = { staffId: body.staff ?? undefined, start: start!, end: end!, hold }
          const placed = await place(ctx, trx, placement, null, assignments)
          // After the plain read (a slot already taken is a 409 without it): the customer's lock
          // (with the barber's, where a lock guards the barber), then the count.
          const locked = asCustomer && (await checkActiveLimit(ctx, trx, customerId, now, placed))
          const values = {
            customer_id: customerId,
            service_id: service?.id ?? null,
            start_time: start!,
            end_time: end!,
            hold_until: hold,
            status,
            notes,
            created_at: now,
            updated_at: now,
            confirmed_at: status === 'confirmed' ? now : null,
            completed_at: null,
            cancelled_at: null,
            cancelled_by: null,
            cancellation_reason: '',
            version: 1,
            reminder_sent_for: null,
          } satisfies Omit<ReservationRow, 'id' | 'staff_id'>
          const { id, staffId } = await insertBooking(ctx, trx, placed, values, locked)
          // What was just written, without reading it back inside the locked section.
          const created: ReservationRow = { id, staff_id: staffId, ...values }
          const history = {
            reservation_id: id,
            at: now,
            actor_id: actor.id,
            from_status: null,
            to_status: status,
            start_time: start!,
            end_time: end!,
          }
          const toShop = ctx.config.adminEmail
            ? outboxRow(now, 'email.reservation_created', { reservationId: id })
            : null
          if (toShop && ctx.database.engine === 'postgres') {
            // The history entry and the shop's mail by one statement (a data-modifying WITH).
            await trx
              .with('h', (db) => db.insertInto('reservation_history').values(history))
              .insertInto('outbox')
              .values(toShop)
              .execute()
          } else {
            await trx.insertInto('reservation_history').values(history).execute()
            if (toShop) await trx.insertInto('outbox').values(toShop).execute()
          }
          if (status === 'confirmed') {
            await addToOutbox(trx, now, 'email.reservation_status', {
              reservationId: id,
              status: 'confirmed',
              version: created.version,
            })
            await queueReminderIfDue(ctx, trx, created)
          }
          if (idempotencyKey) {
            await trx
              .updateTable('idempotency_keys')
              .set({ status_code: 201, response_body: JSON.stringify(toReservation(created)) })
              .where('user_id', '=', actor.id)
              .where('key', '=', idempotencyKey)
              .execute()
          }
          return created
        }),
    )
    ctx.wakeOutbox()
    return { status: 201, body: toReservation(row), etag: etagOf(row), replayed: false }
  } catch (err) {
    if (idempotencyKey && isUniqueViolation(err)) {
      const earlier = await replay(ctx, actor.id, idempotencyKey, hash)
      if (earlier) return earlier
    }
    throw err
  } finally {
    assignments.release()
  }
}

/* ---------- list ---------- */

function readStatuses(
  errors: FieldErrors,
  raw: string | string[] | undefined,
): ReservationStatus[] | undefined {
  if (raw === undefined) return undefined
  const values = (Array.isArray(raw) ? raw : [raw])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean)
  const bad = values.filter((v) => !(STATUSES as readonly string[]).includes(v))
  if (bad.length)
    errors.add('status', `Select a valid choice. ${bad[0]} is not one of the available choices.`)
  return values as ReservationStatus[]
}

/**
 * A page of the reservations the caller may see, from memory while nothing was committed
 * since it was read (src/cache/derived.ts).
 */
export async function listReservations(
  ctx: AppContext,
  actor: Actor,
  q: ReservationListQuery,
  /** The request's change token (`requestChange`), when it has one. */
  known?: ChangeToken,
) {
  const errors = new FieldErrors()
  const statuses = readStatuses(errors, q.status)
  const zone = ctx.config.timezone
  const after = q.start_after !== undefined ? parseDateTime(q.start_after, zone, true) : undefined
  const before =
    q.start_before !== undefined ? parseDateTime(q.start_before, zone, true) : undefined
  if (after === null) errors.add('start_after', 'Enter a valid date/time.')
  if (before === null) errors.add('start_before', 'Enter a valid date/time.')
  errors.throwIfAny()

  const ordering = q.ordering ?? 'start_time'
  const { limit, offset } = pageWindow(q)
  const change = known ?? (await readChange(ctx.database))
  // Consoles and phones poll the same pages: served from memory until the next commit.
  const scope = actor.isAdmin ? 'all' : `${actor.isStaff ? 'staff' : 'customer'}:${actor.id}`
  const key = JSON.stringify([
    scope,
    statuses,
    q.staff,
    q.customer,
    after,
    before,
    ordering,
    limit,
    offset,
  ])
  return pages.get(ctx.database, change, key, ctx.now().getTime(), async () => {
    let base = ctx.database.db.selectFrom('reservations')
    if (!actor.isAdmin) {
      base = actor.isStaff
        ? base.where((eb) =>
            eb.or([eb('customer_id', '=', actor.id), eb('staff_id', '=', actor.id)]),
          )
        : base.where('customer_id', '=', actor.id)
    }
    if (statuses?.length) base = base.where('status', 'in', statuses)
    if (q.staff !== undefined) base = base.where('staff_id', '=', q.staff)
    if (q.customer !== undefined) base = base.where('customer_id', '=', q.customer)
    if (after) base = base.where('start_time', '>=', after)
    if (before) base = base.where('start_time', '<', before)
    const col = ordering.replace('-', '') as 'start_time' | 'created_at'
    const dir = ordering.startsWith('-') ? 'desc' : 'asc'
    const [c, rows] = await Promise.all([
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      base.selectAll().orderBy(col, dir).orderBy('id', dir).limit(limit).offset(offset).execute(),
    ])
    return {
      value: { count: Number(c.n), results: rows.map(toReservation) },
      validUntil: Number.POSITIVE_INFINITY,
    }
  })
}

const pages = new DerivedCache<ReservationPage>()

interface ReservationPage {
  count: number
  results: Reservation[]
}

/* ---------- update ---------- */

/** Reads a reservation under a row lock (SQLite's BEGIN IMMEDIATE already excludes writers). */
async function lockReservation(
  ctx: AppContext,
  trx: Trx,
  id: number,
): Promise<ReservationRow | undefined> {
  const q = trx.selectFrom('reservations').selectAll().where('id', '=', id)
  return (ctx.database.engine === 'sqlite' ? q : q.forUpdate()).executeTakeFirst()
}

/**
 * Inside CANCELLATION_CUTOFF_HOURS of its start a customer can no longer cancel, move or
 * delete a reservation (staff and admins still can): moving it away first and cancelling it
 * then would walk around the cutoff (issue 11).
 */
function assertBeforeCutoff(
  ctx: AppContext,
  row: ReservationRow,
  now: Date,
  what: 'cancelled' | 'moved' | 'deleted',
): void {
  const hours = ctx.config.cancellationCutoffHours
  if (toDate(row.start_time).getTime() - now.getTime() <= hours * 3600_000) {
    throw Forbidden(
      `Reservations can only be ${what} more than ${hours} hours before they start.`,
      'cutoff_passed',
    )
  }
}

/** A visit is `completed` or a `no_show` only once it has started (issue 11). */
function assertStarted(start: Date, to: ReservationStatus, now: Date): void {
  if ((to === 'completed' || to === 'no_show') && start > now)
    throw FieldErrors.single(
      'status',
      `A reservation can be marked ${to} only once it has started.`,
    )
}

const CUSTOMER_FIELDS_NEED_ACTIVE = ['start_time', 'end_time', 'staff', 'service'] as const

function ifMatches(row: ReservationRow, ifMatch: string | undefined): boolean {
  if (ifMatch === undefined) return true
  // If-Match uses the strong comparison: a weak tag never matches (RFC 9110 §13.1.1).
  const tags = ifMatch.split(',').map((t) => t.trim())
  return tags.includes('*') || tags.includes(etagOf(row))
}

export async function updateReservation(
  ctx: AppContext,
  actor: Actor,
  id: number,
  body: UpdateReservationBody,
  ifMatch?: string,
) {
  const { db } = ctx.database
  const { row: seen, role } = await visible(ctx, actor, id)
  const now = ctx.now()
  const errors = new FieldErrors()
  const zone = ctx.config.timezone

  const newCustomer = body.customer != null && body.customer !== seen.customer_id
  if (newCustomer && role !== 'admin') throw Forbidden('Only an admin may change the customer.')
  const staffChanged = body.staff != null && body.staff !== seen.staff_id
  const found = await referenced(db, {
    customer: newCustomer ? body.customer! : undefined,
    service: body.service ?? undefined,
    staff: staffChanged ? body.staff! : undefined,
  })
  if (newCustomer && !found.customer) errors.add('customer', INVALID_PK(body.customer!))
  let to: ReservationStatus | undefined
  if (body.status !== undefined && body.status !== seen.status) {
    if (!(STATUSES as readonly string[]).includes(body.status)) {
      errors.add('status', `"${body.status}" is not a valid choice.`)
    } else {
      to = body.status as ReservationStatus
      if (!(TRANSITIONS[seen.status] as readonly string[]).includes(to)) {
        errors.add('status', `Cannot change status from ${seen.status} to ${to}.`)
      }
    }
  }
  const wantsMove = CUSTOMER_FIELDS_NEED_ACTIVE.some((f) => body[f] !== undefined)
  const service =
    body.service != null ? judgeService(errors, body.service, found.service) : undefined
  if (staffChanged && !found.staff) errors.add('staff', INVALID_PK(body.staff!))
  const start =
    body.start_time !== undefined
      ? readDateTime(errors, 'start_time', body.start_time, zone)
      : undefined
  const end =
    body.end_time !== undefined ? readDateTime(errors, 'end_time', body.end_time, zone) : undefined
  const notes = body.notes !== undefined ? checkNotes(errors, body.notes) : undefined
  const reason = body.cancellation_reason ?? undefined
  if (reason && reason.length > 1000)
    errors.add('cancellation_reason', 'Ensure this field has no more than 1000 characters.')
  errors.throwIfAny()

  // Permissions for the status change, once the change itself is known to be valid.
  if (to) {
    if (role === 'customer') {
      if (to !== 'cancelled')
        throw Forbidden('You may not make this status change.', 'permission_denied')
      assertBeforeCutoff(ctx, seen, now, 'cancelled')
    }
    assertStarted(start ?? toDate(seen.start_time), to, now)
  }
  if (wantsMove && seen.status !== 'pending' && seen.status !== 'confirmed') {
    throw new ValidationFailed({
      non_field_errors: ['Only a pending or confirmed reservation can be changed.'],
    })
  }

  const run = () =>
    inTransaction(ctx.database, async (trx) => {
      const row = await lockReservation(ctx, trx, id)
      if (!row) throw NotFound()
      if (!ifMatches(row, ifMatch)) throw PreconditionFailed()
      // Judge the transition against the row as locked, not as first read.
      let status = to
      if (status === row.status) status = undefined
      else if (status && !(TRANSITIONS[row.status] as readonly string[]).includes(status)) {
        throw FieldErrors.single('status', `Cannot change status from ${row.status} to ${status}.`)
      }
      if (wantsMove && row.status !== 'pending' && row.status !== 'confirmed') {
        throw new ValidationFailed({
          non_field_errors: ['Only a pending or confirmed reservation can be changed.'],
        })
      }
      const change: Change = {
        actorId: actor.id,
        cancelledBy: role,
        status,
        reason: reason ?? undefined,
        notes,
        customerId: body.customer ?? undefined,
      }
      let move: Change['move']
      let autoAssigned = false
      if (wantsMove) {
        const newService =
          body.service === undefined
            ? row.service_id !== null
              ? await trx
                  .selectFrom('services')
                  .selectAll()
                  .where('id', '=', row.service_id)
                  .executeTakeFirst()
              : undefined
            : body.service === null
              ? undefined
              : service
        const oldStart = toDate(row.start_time)
        const oldEnd = toDate(row.end_time)
        const newStart = start ?? oldStart
        let newEnd: Date
        if (end) newEnd = end
        else if (body.service != null && newService)
          newEnd = new Date(newStart.getTime() + newService.duration_minutes * 60_000)
        else newEnd = new Date(newStart.getTime() + (oldEnd.getTime() - oldStart.getTime()))
        const e = new FieldErrors()
        const timesChanged =
          newStart.getTime() !== oldStart.getTime() || newEnd.getTime() !== oldEnd.getTime()
        const changed =
          timesChanged ||
          (body.staff !== undefined && body.staff !== row.staff_id) ||
          (body.service !== undefined && body.service !== row.service_id)
        if (role === 'customer' && changed) assertBeforeCutoff(ctx, row, now, 'moved')
        checkTimes(e, newStart, newEnd, now, role === 'admin' || !timesChanged)
        const asCustomer = role === 'customer' && !actor.isAdmin && !actor.isStaff
        if (asCustomer && timesChanged) checkHorizon(ctx, e, newStart, now)
        e.throwIfAny()
        // A move keeps the customer's count of upcoming reservations: one in the past (or
        // inside the cutoff) cannot be moved by them at all (above).
        const hold = new Date(newEnd.getTime() + (newService?.buffer_after_minutes ?? 0) * 60_000)
        const newStaff = body.staff !== undefined ? body.staff : row.staff_id
        const wanted = newStaff === null && row.staff_id !== null ? undefined : newStaff
        const placement = { staffId: wanted, start: newStart, end: newEnd, hold }
        const placed = await place(ctx, trx, placement, row.id)
        const staffId = await guardChange(ctx, trx, placed, placement, row.id)
        autoAssigned = wanted === undefined
        move = { start: newStart, end: newEnd, hold, staffId, serviceId: newService?.id ?? null }
        const reassigned = staffId !== row.staff_id
        // A confirmed booking that moves must be confirmed again.
        if ((timesChanged || reassigned) && row.status === 'confirmed' && !status)
          change.status = 'pending'
      } else if (status === 'confirmed') {
        // Confirming keeps a reservation active: check it again.
        const placement = {
          staffId: row.staff_id,
          start: toDate(row.start_time),
          end: toDate(row.end_time),
          hold: toDate(row.hold_until),
        }
        const placed = await place(ctx, trx, placement, row.id)
        await guardChange(ctx, trx, placed, placement, row.id)
      }
      change.move = move
      if (status) assertStarted(move?.start ?? toDate(row.start_time), status, now)
      const result = await applyChange(ctx, trx, row, change).catch(constraintToRetry(autoAssigned))
      if (!result) throw PreconditionFailed()
      return result
    })
  // Moves and confirmations take the barber's booking lock: in line for it here (see create).
  const staffWanted =
    body.staff !== undefined
      ? (body.staff ?? (seen.staff_id === null ? null : undefined))
      : seen.staff_id
  const updated =
    wantsMove || to === 'confirmed'
      ? await oneAtATime(ctx.database, ...bookingLane(ctx.database.engine, staffWanted), run)
      : await run()
  ctx.wakeOutbox()
  return { reservation: toReservation(updated), etag: etagOf(updated) }
}

/* ---------- delete ---------- */

export async function deleteReservation(
  ctx: AppContext,
  actor: Actor,
  id: number,
  ifMatch?: string,
): Promise<void> {
  const { row, role } = await visible(ctx, actor, id)
  if (role !== 'admin') {
    if (role !== 'customer' || row.status !== 'pending') {
      throw Forbidden('Only a pending reservation can be deleted by its owner.')
    }
    assertBeforeCutoff(ctx, row, ctx.now(), 'deleted')
  }
  await inTransaction(ctx.database, async (trx) => {
    const current = await lockReservation(ctx, trx, id)
    if (!current) throw NotFound()
    if (!ifMatches(current, ifMatch)) throw PreconditionFailed()
    if (role !== 'admin' && current.status !== 'pending')
      throw Forbidden('Only a pending reservation can be deleted by its owner.')
    if (role !== 'admin') assertBeforeCutoff(ctx, current, ctx.now(), 'deleted')
    await trx.deleteFrom('reservations').where('id', '=', id).execute()
  })
}
