import type { AppContext } from '../context.js'
import type { Executor } from '../db/database.js'
import { toBool, toDate } from '../db/database.js'
import { RESET_TOKEN_MINUTES, resetLink, resetToken } from '../auth/password-reset.js'
import type { OutboxRow, ReservationStatus, UserRow } from '../db/types.js'
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
  const { db } = d.ctx.database
  const now = d.ctx.now()
  const claim = db
    .updateTable('outbox')
    .set((eb) => ({
      status: 'sending',
      locked_until: new Date(now.getTime() + d.leaseMs),
      attempts: eb('attempts', '+', 1),
    }))
    .where('id', '=', id)
    .where((eb) =>
      eb.or([
        eb.and([eb('status', 'in', ['pending', 'queued']), eb('available_at', '<=', now)]),
        eb.and([eb('status', 'in', ['queued', 'sending']), eb('locked_until', '<', now)]),
      ]),
    )
  let row: OutboxRow | undefined
  if (d.ctx.database.engine === 'mysql') {
    // MariaDB/MySQL have no UPDATE … RETURNING: the claimed row is read after.
    const claimed = await claim.executeTakeFirst()
    if (Number(claimed.numUpdatedRows) === 0) return 'not_claimed'
    row = await db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  } else {
    row = await claim.returningAll().executeTakeFirst()
    if (!row) return 'not_claimed'
  }
  let mail: OutgoingEmail | null
  try {
    mail = await buildEmail(d, row)
  } catch (err) {
    return finishWithError(d, row, err)
  }
  // A customer who has no address (any more): nothing to send, not a failure to retry.
  if (mail && mail.to.trim() === '') mail = null
  if (!mail) {
    await db
      .updateTable('outbox')
      .set({
        status: 'done',
        locked_until: null,
        sent_at: d.ctx.now(),
        last_error: 'skipped: nothing to send any more',
      })
      .where('id', '=', id)
      .where('status', '=', 'sending')
      .execute()
    return 'skipped'
  }
  try {
    await d.mailer.send(mail)
  } catch (err) {
    return finishWithError(d, row, err)
  }
  await db
    .updateTable('outbox')
    .set({ status: 'done', locked_until: null, sent_at: d.ctx.now(), last_error: '' })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .execute()
  return 'sent'
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

async function reservationProps(
  d: Delivery,
  reservationId: number,
): Promise<ReservationEmailProps | null> {
  return loadReservationProps(d.ctx, reservationId)
}

/** A reservation with its customer, barber and service, as the emails show it. */
export async function loadReservationProps(
  ctx: AppContext,
  reservationId: number,
): Promise<ReservationEmailProps | null> {
  // One statement: the reservation with its customer, barber and service.
  const r = await ctx.database.db
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
    .where('r.id', '=', reservationId)
    .executeTakeFirst()
  if (!r) return null
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
async function buildEmail(d: Delivery, row: OutboxRow): Promise<OutgoingEmail | null> {
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
      const props = await reservationProps(d, p.reservationId)
      if (!props || !d.ctx.config.adminEmail) return null
      return {
        to: d.ctx.config.adminEmail,
        messageId,
        ...d.renderer.render('reservation_created', props),
      }
    }
    case 'email.reservation_status': {
      const p = JSON.parse(row.payload) as OutboxMessages['email.reservation_status']
      const props = await reservationProps(d, p.reservationId)
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
      const props = await reservationProps(d, p.reservationId)
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
