import type { AppContext } from '../context.js'
import { insertReturningId, toBool, toDate } from '../db/database.js'
import type { ServiceRow, TimeOffRow } from '../db/types.js'
import type { Actor } from '../http/auth.js'
import { iso, readDateTime } from '../http/datetime.js'
import { FieldErrors, Forbidden, NotFound } from '../http/errors.js'
import { pageWindow } from '../http/pagination.js'
import { HoursSyntaxError, parseHours } from '../shop/hours.js'
import type {
  CreateServiceBody,
  CreateTimeOffBody,
  Service,
  TimeOff,
  UpdateServiceBody,
  UpdateTimeOffBody,
} from './catalog.schemas.js'

/** Cents → "25.00". */
export function formatPrice(cents: number): string {
  const sign = cents < 0 ? '-' : ''
  const abs = Math.abs(cents)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

export function toService(row: ServiceRow): Service {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    duration_minutes: row.duration_minutes,
    buffer_after_minutes: row.buffer_after_minutes,
    price: formatPrice(Number(row.price_cents)),
    is_active: toBool(row.is_active),
  }
}

/** "25", "25.5", "25.50", 25.5 → cents; at most two places, 0 ≤ price < 10^8. */
function readPrice(errors: FieldErrors, value: string | number): number | undefined {
  const s = typeof value === 'number' ? String(value) : value.trim()
  const m = /^(\d{1,8})(?:\.(\d{1,2}))?$/.exec(s)
  if (!m) {
    if (/^-/.test(s)) errors.add('price', 'Ensure this value is greater than or equal to 0.')
    else if (/^\d+\.\d{3,}$/.test(s))
      errors.add('price', 'Ensure that there are no more than 2 decimal places.')
    else errors.add('price', 'A valid number is required.')
    return undefined
  }
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'))
}

function checkServiceFields(errors: FieldErrors, body: UpdateServiceBody) {
  const out: Partial<{
    name: string
    description: string
    duration_minutes: number
    buffer_after_minutes: number
    price_cents: number
    is_active: boolean
  }> = {}
  if (body.name !== undefined) {
    const name = body.name.trim()
    if (!name) errors.add('name', 'This field may not be blank.')
    else if (name.length > 200)
      errors.add('name', 'Ensure this field has no more than 200 characters.')
    else out.name = name
  }
  if (body.description !== undefined) {
    if (body.description.length > 5000)
      errors.add('description', 'Ensure this field has no more than 5000 characters.')
    else out.description = body.description
  }
  if (body.duration_minutes !== undefined) {
    if (body.duration_minutes < 5 || body.duration_minutes > 480) {
      errors.add('duration_minutes', 'Ensure this value is between 5 and 480 minutes.')
    } else out.duration_minutes = body.duration_minutes
  }
  if (body.buffer_after_minutes !== undefined) {
    if (body.buffer_after_minutes < 0 || body.buffer_after_minutes > 240) {
      errors.add('buffer_after_minutes', 'Ensure this value is between 0 and 240 minutes.')
    } else out.buffer_after_minutes = body.buffer_after_minutes
  }
  if (body.price !== undefined) {
    const cents = readPrice(errors, body.price)
    if (cents !== undefined) out.price_cents = cents
  }
  if (body.is_active !== undefined) out.is_active = body.is_active
  return out
}

export async function listServices(
  ctx: AppContext,
  actor: Actor | null,
  q: { page: number; page_size: number; is_active?: boolean },
) {
  let base = ctx.database.db.selectFrom('services')
  // The public sees the active catalogue; an admin sees everything unless filtering.
  if (!actor?.isAdmin) base = base.where('is_active', '=', true)
  else if (q.is_active !== undefined) base = base.where('is_active', '=', q.is_active)
  const { limit, offset } = pageWindow(q)
  const [c, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    base.selectAll().orderBy('name').orderBy('id').limit(limit).offset(offset).execute(),
  ])
  return { count: Number(c.n), results: rows.map(toService) }
}

export async function getService(ctx: AppContext, id: number): Promise<Service> {
  const row = await ctx.database.db
    .selectFrom('services')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst()
  if (!row) throw NotFound()
  return toService(row)
}

export async function createService(ctx: AppContext, body: CreateServiceBody): Promise<Service> {
  const errors = new FieldErrors()
  const v = checkServiceFields(errors, body)
  errors.throwIfAny()
  const id = await insertReturningId(ctx.database.engine, ctx.database.db, 'services', {
    name: v.name!,
    description: v.description ?? '',
    duration_minutes: v.duration_minutes!,
    buffer_after_minutes: v.buffer_after_minutes ?? 0,
    price_cents: v.price_cents!,
    is_active: v.is_active ?? true,
    created_at: ctx.now(),
  })
  return getService(ctx, id)
}

export async function updateService(
  ctx: AppContext,
  id: number,
  body: UpdateServiceBody,
): Promise<Service> {
  await getService(ctx, id)
  const errors = new FieldErrors()
  const v = checkServiceFields(errors, body)
  errors.throwIfAny()
  if (Object.keys(v).length > 0)
    await ctx.database.db.updateTable('services').set(v).where('id', '=', id).execute()
  return getService(ctx, id)
}

export async function deleteService(ctx: AppContext, id: number): Promise<void> {
  const r = await ctx.database.db.deleteFrom('services').where('id', '=', id).executeTakeFirst()
  if (Number(r.numDeletedRows) === 0) throw NotFound()
}

/* ---------- staff and working hours ---------- */

export async function listStaff(ctx: AppContext, q: { page: number; page_size: number }) {
  const base = ctx.database.db
    .selectFrom('users')
    .where('is_staff_member', '=', true)
    .where('is_active', '=', true)
  const { limit, offset } = pageWindow(q)
  const [c, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    base
      .select(['id', 'first_name', 'last_name', 'username'])
      .orderBy('id')
      .limit(limit)
      .offset(offset)
      .execute(),
  ])
  return { count: Number(c.n), results: rows }
}

async function activeStaff(ctx: AppContext, id: number) {
  const row = await ctx.database.db
    .selectFrom('users')
    .select(['id', 'working_hours'])
    .where('id', '=', id)
    .where('is_staff_member', '=', true)
    .where('is_active', '=', true)
    .executeTakeFirst()
  if (!row) throw NotFound()
  return row
}

export async function getHours(ctx: AppContext, id: number): Promise<{ hours: string | null }> {
  return { hours: (await activeStaff(ctx, id)).working_hours }
}

export async function setHours(
  ctx: AppContext,
  actor: Actor,
  id: number,
  hours: string | null,
): Promise<{ hours: string | null }> {
  await activeStaff(ctx, id)
  if (!actor.isAdmin && actor.id !== id) throw Forbidden()
  let value = hours === null ? null : hours.trim()
  if (value !== null) {
    if (value.length > 500)
      throw FieldErrors.single('hours', 'Ensure this field has no more than 500 characters.')
    try {
      parseHours(value)
    } catch (err) {
      if (err instanceof HoursSyntaxError) throw FieldErrors.single('hours', err.message)
      throw err
    }
    if (value === '') value = null
  }
  await ctx.database.db
    .updateTable('users')
    .set({ working_hours: value })
    .where('id', '=', id)
    .execute()
  return { hours: value }
}

/* ---------- time off ---------- */

export function toTimeOff(row: TimeOffRow): TimeOff {
  return {
    id: row.id,
    staff: row.staff_id,
    start_time: iso(row.start_time),
    end_time: iso(row.end_time),
    reason: row.reason,
  }
}

function canManageTimeOff(actor: Actor, staffId: number | null): boolean {
  return actor.isAdmin || (actor.isStaff && staffId === actor.id)
}

export async function listTimeOff(
  ctx: AppContext,
  actor: Actor,
  q: { page: number; page_size: number; staff?: number },
) {
  if (!actor.isAdmin && !actor.isStaff) throw Forbidden()
  let base = ctx.database.db.selectFrom('time_off')
  if (!actor.isAdmin)
    base = base.where((eb) => eb.or([eb('staff_id', '=', actor.id), eb('staff_id', 'is', null)]))
  if (q.staff !== undefined) base = base.where('staff_id', '=', q.staff)
  const { limit, offset } = pageWindow(q)
  const [c, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    base.selectAll().orderBy('start_time').orderBy('id').limit(limit).offset(offset).execute(),
  ])
  return { count: Number(c.n), results: rows.map(toTimeOff) }
}

async function visibleTimeOff(ctx: AppContext, actor: Actor, id: number): Promise<TimeOffRow> {
  const row = await ctx.database.db
    .selectFrom('time_off')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst()
  if (!row) throw NotFound()
  if (actor.isAdmin) return row
  if (actor.isStaff && (row.staff_id === actor.id || row.staff_id === null)) return row
  throw NotFound()
}

export async function getTimeOff(ctx: AppContext, actor: Actor, id: number): Promise<TimeOff> {
  return toTimeOff(await visibleTimeOff(ctx, actor, id))
}

async function checkTimeOff(
  ctx: AppContext,
  actor: Actor,
  body: UpdateTimeOffBody,
  current?: TimeOffRow,
) {
  const errors = new FieldErrors()
  const staffId =
    body.staff !== undefined
      ? body.staff
      : current
        ? current.staff_id
        : actor.isAdmin
          ? null
          : actor.id
  if (!canManageTimeOff(actor, staffId ?? null)) throw Forbidden()
  if (staffId != null) {
    const staff = await ctx.database.db
      .selectFrom('users')
      .select('id')
      .where('id', '=', staffId)
      .where('is_staff_member', '=', true)
      .executeTakeFirst()
    if (!staff) errors.add('staff', `Invalid pk "${staffId}" - object does not exist.`)
  }
  const zone = ctx.config.timezone
  const start =
    body.start_time !== undefined
      ? readDateTime(errors, 'start_time', body.start_time, zone)
      : current && toDate(current.start_time)
  const end =
    body.end_time !== undefined
      ? readDateTime(errors, 'end_time', body.end_time, zone)
      : current && toDate(current.end_time)
  if (start && end && end <= start) errors.add('end_time', 'End time must be after start time.')
  const reason = body.reason ?? current?.reason ?? ''
  if (reason.length > 500)
    errors.add('reason', 'Ensure this field has no more than 500 characters.')
  errors.throwIfAny()
  return { staff_id: staffId ?? null, start_time: start!, end_time: end!, reason }
}

export async function createTimeOff(
  ctx: AppContext,
  actor: Actor,
  body: CreateTimeOffBody,
): Promise<TimeOff> {
  if (!actor.isAdmin && !actor.isStaff) throw Forbidden()
  const v = await checkTimeOff(ctx, actor, body)
  const id = await insertReturningId(ctx.database.engine, ctx.database.db, 'time_off', {
    ...v,
    created_at: ctx.now(),
  })
  return getTimeOff(ctx, actor, id)
}

export async function updateTimeOff(
  ctx: AppContext,
  actor: Actor,
  id: number,
  body: UpdateTimeOffBody,
): Promise<TimeOff> {
  const current = await visibleTimeOff(ctx, actor, id)
  if (!canManageTimeOff(actor, current.staff_id)) throw Forbidden()
  const v = await checkTimeOff(ctx, actor, body, current)
  await ctx.database.db.updateTable('time_off').set(v).where('id', '=', id).execute()
  return getTimeOff(ctx, actor, id)
}

export async function deleteTimeOff(ctx: AppContext, actor: Actor, id: number): Promise<void> {
  const current = await visibleTimeOff(ctx, actor, id)
  if (!canManageTimeOff(actor, current.staff_id)) throw Forbidden()
  await ctx.database.db.deleteFrom('time_off').where('id', '=', id).execute()
}
