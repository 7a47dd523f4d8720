import type { AppContext } from '../context.js'
import type { Executor } from '../db/database.js'
import type { ExpressionBuilder } from 'kysely'
import { inTransaction, toBool, toDate } from '../db/database.js'
import { RESET_TOKEN_MINUTES, resetLink, resetToken } from '../auth/password-reset.js'
import type { Database as Tables, OutboxRow, ReservationStatus, UserRow } from '../db/types.js'
import { formatPrice } from '../catalog/catalog.service.js'
import { buildIcs } from './ics.js'
import type { IcsEvent } from './ics.js'
import type { Mailer, OutgoingEmail } from './mailer.js'
import type { OutboxKind, OutboxMessages } from './outbox.js'
import type { EmailName, PersonView, Renderer, ReservationEmailProps } from './render.js'

export interface Delivery {
  ctx: AppContext
  mailer: Mailer
  renderer: Renderer
  /** How long a claimed row is ours before another worker may take it over (crash recovery). */
  leaseMs: number
  maxAttempts: number
}

export const DEFAULT_LEASE_MS = 60_000
export const DEFAULT_MAX_ATTEMPTS = 10

/** 5 s, 10 s, 20 s … capped at one hour, with jitter so retries do not stampede. */
export function backoffMs(attempt: number): number {
  const base = Math.min(5_000 * 2 ** Math.max(0, attempt - 1), 3600_000)
  return Math.round(base * (0.8 + Math.random() * 0.4))
}

/** Rows ready to go: new or retry-due, or claimed by a worker whose lease ran out. */
export async function dueOutbox(
  db: Executor,
  now: Date,
  limit: number,
): Promise<{ id: number; kind: string; available_at: Date }[]> {
  const rows = await db
    .selectFrom('outbox')
    .select(['id', 'kind', 'available_at'])
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'pending'), eb('available_at', '<=', now)]),
        eb.and([eb('status', 'in', ['queued', 'sending']), eb('locked_until', '<', now)]),
      ]),
    )
    .orderBy('id')
    .limit(limit)
    .execute()
  return rows.map((r) => ({ id: r.id, kind: r.kind, available_at: toDate(r.available_at) }))
}

export type DeliveryResult = 'sent' | 'skipped' | 'retry' | 'failed' | 'not_claimed'

/**
 * Claims one outbox row (compare-and-set, so two workers never send it both), sends it,
 * and records the outcome. A crash between claim and outcome leaves a lease that expires,
 * after which the row is due again: at-least-once, with a stable Message-ID.
 */
export async function deliver(d: Delivery, id: number): Promise<DeliveryResult> {
  const [result] = await deliverMany(d, [id])
  return result!
}

/**
 * `deliver` for several rows at once, results in the order given: one claim for all of them
 * and one write for the outcomes of the sends that finish together (each a commit, which the
 * database server pays for with a log flush), the sends themselves in parallel.
 */
export async function deliverMany(d: Delivery, ids: number[]): Promise<DeliveryResult[]> {
  if (ids.length === 0) return []
  const rows = await claim(d, ids)
  const prefetched = prefetch(d, rows)
  const results = new Map<number, DeliveryResult>()
  const { db } = d.ctx.database
  const finish = async (done: number[], lastError: string, result: DeliveryResult) => {
    if (done.length === 0) return
    await db
      .updateTable('outbox')
      .set({ status: 'done', locked_until: null, sent_at: d.ctx.now(), last_error: lastError })
      .where('id', 'in', done)
      // Only while the claim is still ours (see finishWithError).
      .where('status', '=', 'sending')
      .execute()
    for (const id of done) results.set(id, result)
  }
  // Outcomes are written as the sends finish, those that finish together by one statement:
  // a slow send (SMTP) keeps no other row of the batch waiting in `sending` for its lease.
  const sent: number[] = []
  const skipped: number[] = []
  const errors: unknown[] = []
  const state: { flushing: Promise<void> | null } = { flushing: null }
  const flush = async () => {
    // Sends that finish in the same turn of the event loop join this write.
    await new Promise((resolve) => setImmediate(resolve))
    while (sent.length + skipped.length > 0) {
      await finish(sent.splice(0), '', 'sent')
      await finish(skipped.splice(0), 'skipped: nothing to send any more', 'skipped')
    }
  }
  const startFlush = () => {
    state.flushing ??= flush()
      // A row whose outcome could not be written stays claimed: due again after its lease.
      .catch((err: unknown) => void errors.push(err))
      .finally(() => (state.flushing = null))
  }
  const settled = await Promise.allSettled(
    rows.map(async (row) => {
      let mail: OutgoingEmail | null
      try {
        mail = await buildEmail(d, row, prefetched)
        // A customer who has no address (any more): nothing to send, not a failure to retry.
        if (mail && mail.to.trim() === '') mail = null
        if (mail) await d.mailer.send(mail)
      } catch (err) {
        results.set(row.id, await finishWithError(d, row, err))
        return
      }
      ;(mail ? sent : skipped).push(row.id)
      startFlush()
    }),
  )
  for (const s of settled) if (s.status === 'rejected') errors.push(s.reason)
  while (state.flushing) await state.flushing
  try {
    await flush()
  } catch (err) {
    errors.push(err)
  }
  if (errors.length > 0) throw errors[0]
  return ids.map((id) => results.get(id) ?? 'not_claimed')
}

/**
 * Takes the rows among `ids` that are due (compare-and-set: two workers never both get one)
 * for `leaseMs`, and returns them as claimed.
 */
async function claim(d: Delivery, ids: number[]): Promise<OutboxRow[]> {
  const { db, engine } = d.ctx.database
  const now = d.ctx.now()
  const lockedUntil = new Date(now.getTime() + d.leaseMs)
  const due = (eb: ExpressionBuilder<Tables, 'outbox'>) =>
    eb.or([
      eb.and([eb('status', 'in', ['pending', 'queued']), eb('available_at', '<=', now)]),
      eb.and([eb('status', 'in', ['queued', 'sending']), eb('locked_until', '<', now)]),
    ])
  const update = (executor: Executor, claimed: number[]) =>
    executor
      .updateTable('outbox')
      .set((eb) => ({
        status: 'sending',
        locked_until: lockedUntil,
        attempts: eb('attempts', '+', 1),
      }))
      .where('id', 'in', claimed)
  if (engine !== 'mysql') {
    return update(db, ids).where(due).returningAll().execute()
  }
  // MariaDB/MySQL have no UPDATE … RETURNING: the due rows are locked and read, then claimed,
  // in one transaction (a locking read sees the latest committed row, not a snapshot).
  return inTransaction(d.ctx.database, async (trx) => {
    const rows = await trx
      .selectFrom('outbox')
      .selectAll()
      .where('id', 'in', ids)
      .where(due)
      .orderBy('id')
      .forUpdate()
      .execute()
    if (rows.length === 0) return []
    await update(
      trx,
      rows.map((r) => r.id),
    ).execute()
    return rows.map((r) => ({
      ...r,
      status: 'sending' as const,
      locked_until: lockedUntil,
      attempts: r.attempts + 1,
    }))
  })
}

async function finishWithError(d: Delivery, row: OutboxRow, err: unknown): Promise<DeliveryResult> {
  const message = err instanceof Error ? err.message : String(err)
  const failed = row.attempts >= d.maxAttempts
  await d.ctx.database.db
    .updateTable('outbox')
    .set({
      status: failed ? 'failed' : 'pending',
      locked_until: null,
      available_at: new Date(d.ctx.now().getTime() + backoffMs(row.attempts)),
      last_error: message.slice(0, 2000),
    })
    .where('id', '=', row.id)
    // Only while the claim is still ours (each claim bumps attempts): a worker whose lease ran out
    // while it waited on SMTP must not turn a row another worker has since sent back to pending,
    // which would send it yet again.
    .where('status', '=', 'sending')
    .where('attempts', '=', row.attempts)
    .execute()
  return failed ? 'failed' : 'retry'
}

function person(u: Pick<UserRow, 'username' | 'first_name' | 'last_name' | 'email'>): PersonView {
  return { username: u.username, first_name: u.first_name, last_name: u.last_name, email: u.email }
}

/** The reservations a batch's rows are about, read by one statement (`prefetch`). */
type Prefetched = Map<number, Promise<Map<number, ReservationEmailProps>>>

function prefetch(d: Delivery, rows: OutboxRow[]): Prefetched {
  const ids = new Set<number>()
  for (const row of rows) {
    if (!row.kind.startsWith('email.reservation_')) continue
    let p: { reservationId?: unknown }
    try {
      p = JSON.parse(row.payload) as { reservationId?: unknown }
    } catch {
      continue // that row fails on its own, in buildEmail
    }
    if (typeof p?.reservationId === 'number') ids.add(p.reservationId)
  }
  const out: Prefetched = new Map()
  if (ids.size === 0) return out
  const all = loadReservationPropsMany(d.ctx, [...ids])
  // Every row about one of these awaits it (and fails on its own if it failed).
  all.catch(() => undefined)
  for (const id of ids) out.set(id, all)
  return out
}

async function reservationProps(
  d: Delivery,
  reservationId: number,
  prefetched?: Prefetched,
): Promise<ReservationEmailProps | null> {
  const batch = prefetched?.get(reservationId)
  if (!batch) return loadReservationProps(d.ctx, reservationId)
  const props = (await batch).get(reservationId)
  // Each mail gets its own copy: a status mail changes its status and times to the change's.
  return props ? { ...props, reservation: { ...props.reservation } } : null
}

/** A reservation with its customer, barber and service, as the emails show it. */
export async function loadReservationProps(
  ctx: AppContext,
  reservationId: number,
): Promise<ReservationEmailProps | null> {
  return (await loadReservationPropsMany(ctx, [reservationId])).get(reservationId) ?? null
}

/** `loadReservationProps` of several reservations, by one statement. */
async function loadReservationPropsMany(
  ctx: AppContext,
  reservationIds: number[],
): Promise<Map<number, ReservationEmailProps>> {
  // One statement: the reservations with their customer, barber and service.
  const rows = await ctx.database.db
    .selectFrom('reservations as r')
    .innerJoin('users as c', 'c.id', 'r.customer_id')
    .leftJoin('users as s', 's.id', 'r.staff_id')
    .leftJoin('services as v', 'v.id', 'r.service_id')
    .select([
      'r.id',
      'r.start_time',
      'r.end_time',
      'r.status',
      'r.notes',
      'r.cancelled_by',
      'r.cancellation_reason',
      'c.username as c_username',
      'c.first_name as c_first_name',
      'c.last_name as c_last_name',
      'c.email as c_email',
      's.id as s_id',
      's.username as s_username',
      's.first_name as s_first_name',
      's.last_name as s_last_name',
      's.email as s_email',
      'v.id as v_id',
      'v.name as v_name',
      'v.price_cents as v_price_cents',
    ])
    .where('r.id', 'in', reservationIds)
    .execute()
  return new Map(rows.map((r) => [r.id, propsOf(r)]))
}

function propsOf(r: {
  id: number
  start_time: Date | string
  end_time: Date | string
  status: ReservationStatus
  notes: string
  cancelled_by: ReservationEmailProps['reservation']['cancelled_by']
  cancellation_reason: string
  c_username: string
  c_first_name: string
  c_last_name: string
  c_email: string
  s_id: number | null
  s_username: string | null
  s_first_name: string | null
  s_last_name: string | null
  s_email: string | null
  v_id: number | null
  v_name: string | null
  v_price_cents: number | string | null
}): ReservationEmailProps {
  return {
    customer: person({
      username: r.c_username,
      first_name: r.c_first_name,
      last_name: r.c_last_name,
      email: r.c_email,
    }),
    staff:
      r.s_id != null
        ? person({
            username: r.s_username!,
            first_name: r.s_first_name!,
            last_name: r.s_last_name!,
            email: r.s_email!,
          })
        : null,
    service:
      r.v_id != null ? { name: r.v_name!, price: formatPrice(Number(r.v_price_cents)) } : null,
    reservation: {
      id: r.id,
      start_time: toDate(r.start_time),
      end_time: toDate(r.end_time),
      status: r.status,
      notes: r.notes,
      cancelled_by: r.cancelled_by,
      cancellation_reason: r.cancellation_reason,
    },
  }
}

/**
 * The reservation's times when it changed to `status` at `when`: its history is written in the
 * same transaction (and with the same clock reading) as the outbox row of that change, so the
 * last entry to that status up to the row's creation holds the times the change was about.
 */
async function timesWhen(
  d: Delivery,
  reservationId: number,
  status: string,
  when: Date,
): Promise<{ start: Date; end: Date } | null> {
  const entry = await d.ctx.database.db
    .selectFrom('reservation_history')
    .select(['start_time', 'end_time'])
    .where('reservation_id', '=', reservationId)
    .where('to_status', '=', status as ReservationStatus)
    .where('at', '<=', when)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()
  return entry ? { start: toDate(entry.start_time), end: toDate(entry.end_time) } : null
}

/**
 * The calendar event of a reservation: the one the confirmation (REQUEST) and cancellation
 * (CANCEL) mails attach, and GET /api/reservations/{id}/calendar.ics serves (PUBLISH).
 */
export function reservationEvent(
  ctx: AppContext,
  p: ReservationEmailProps,
  method: IcsEvent['method'],
  sequence: number,
): IcsEvent {
  // Replies to the invitation go to the organizer: the address the mail comes from.
  const from = ctx.config.email.from
  const organizer = /<([^>]+)>/.exec(from)?.[1] ?? from
  return {
    method,
    uid: `reservation-${p.reservation.id}@fade-district`,
    sequence,
    start: p.reservation.start_time,
    end: p.reservation.end_time,
    stamp: ctx.now(),
    summary: `Fade District: ${p.service?.name ?? 'Appointment'}`,
    description: p.staff ? `With ${p.staff.first_name || p.staff.username}` : undefined,
    location: 'Fade District',
    organizer: { email: organizer, name: 'Fade District' },
    attendee: {
      email: p.customer.email,
      name: `${p.customer.first_name} ${p.customer.last_name}`.trim() || p.customer.username,
    },
  }
}

function calendarFor(
  d: Delivery,
  p: ReservationEmailProps,
  method: 'REQUEST' | 'CANCEL',
  sequence: number,
) {
  const ics = buildIcs(reservationEvent(d.ctx, p, method, sequence))
  return [
    {
      filename: method === 'CANCEL' ? 'cancel.ics' : 'invite.ics',
      content: ics,
      contentType: `text/calendar; method=${method}; charset=UTF-8`,
    },
  ]
}

/** Renders an outbox row from today's state; null when there is nothing left to send. */
async function buildEmail(
  d: Delivery,
  row: OutboxRow,
  prefetched?: Prefetched,
): Promise<OutgoingEmail | null> {
  const kind = row.kind as OutboxKind
  const messageId = `<outbox-${row.id}@fade-district>`
  const { db } = d.ctx.database
  switch (kind) {
    case 'email.welcome': {
      const p = JSON.parse(row.payload) as OutboxMessages['email.welcome']
      const user = await db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', p.userId)
        .executeTakeFirst()
      if (!user) return null
      return { to: user.email, messageId, ...d.renderer.render('welcome', { user: person(user) }) }
    }
    case 'email.reservation_created': {
      const p = JSON.parse(row.payload) as OutboxMessages['email.reservation_created']
      const props = await reservationProps(d, p.reservationId, prefetched)
      if (!props || !d.ctx.config.adminEmail) return null
      return {
        to: d.ctx.config.adminEmail,
        messageId,
        ...d.renderer.render('reservation_created', props),
      }
    }
    case 'email.reservation_status': {
      const p = JSON.parse(row.payload) as OutboxMessages['email.reservation_status']
      const props = await reservationProps(d, p.reservationId, prefetched)
      if (!props) return null
      // The mail tells of the change that happened, even if the reservation moved on since:
      // its status, and its times then. A confirmation still waiting when the customer moved
      // the booking (back to pending) must not confirm, or invite to, a time nobody confirmed.
      props.reservation.status = p.status
      const then = await timesWhen(d, p.reservationId, p.status, toDate(row.created_at))
      if (then) {
        props.reservation.start_time = then.start
        props.reservation.end_time = then.end
      }
      const name = `reservation_${p.status}` as EmailName
      const rendered = d.renderer.render(name as 'reservation_confirmed', props)
      const attachments =
        p.status === 'confirmed'
          ? calendarFor(d, props, 'REQUEST', p.version)
          : p.status === 'cancelled'
            ? calendarFor(d, props, 'CANCEL', p.version)
            : undefined
      return { to: props.customer.email, messageId, attachments, ...rendered }
    }
    case 'email.reservation_reminder': {
      const p = JSON.parse(row.payload) as OutboxMessages['email.reservation_reminder']
      const props = await reservationProps(d, p.reservationId, prefetched)
      // Cancelled or moved since: this reminder is stale (a moved one gets its own).
      if (!props || props.reservation.status !== 'confirmed') return null
      if (props.reservation.start_time.getTime() !== new Date(p.startTime).getTime()) return null
      return {
        to: props.customer.email,
        messageId,
        ...d.renderer.render('reservation_reminder', props),
      }
    }
    case 'email.password_reset': {
      const p = JSON.parse(row.payload) as OutboxMessages['email.password_reset']
      const reset = await db
        .selectFrom('password_reset_tokens')
        .selectAll()
        .where('id', '=', p.resetId)
        .executeTakeFirst()
      if (!reset || reset.used_at || toDate(reset.expires_at) <= d.ctx.now()) return null
      const user = await db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', reset.user_id)
        .executeTakeFirst()
      // Only to the address the reset was asked for, of an account still active.
      if (!user || !toBool(user.is_active) || user.email_key !== reset.email_key) return null
      const token = resetToken(d.ctx.config.secretKey, reset.nonce)
      return {
        to: user.email,
        messageId,
        ...d.renderer.render('password_reset', {
          user: person(user),
          link: resetLink(d.ctx.config.publicUrl, token),
          validMinutes: RESET_TOKEN_MINUTES,
        }),
      }
    }
    default:
      throw new Error(`no handler for outbox kind "${String(kind)}"`)
  }
}
