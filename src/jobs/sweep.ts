import type { AppContext } from '../context.js'
import { inTransaction, toDate } from '../db/database.js'
import { findReservation } from '../reservations/reservations.repository.js'
import {
  applyChange,
  queueReminderIfDue,
  reminderFloorMs,
} from '../reservations/reservations.service.js'

export interface SweepResult {
  completed: number
  expired: number
  reminders: number
  /** Rows past any use removed: idempotency keys, rate counters, login failures, refresh tokens. */
  purged: number
}

const DAY_MS = 86_400_000

const BATCH = 500

/**
 * The automatic transitions: confirmed and ended → completed; pending and started →
 * cancelled (expired). Each goes through applyChange, the function a person's request
 * uses, with compare-and-set: running twice, or on two workers at once, changes nothing more.
 */
export async function runSweep(ctx: AppContext): Promise<SweepResult> {
  const { db } = ctx.database
  const now = ctx.now()
  const result: SweepResult = { completed: 0, expired: 0, reminders: 0, purged: 0 }
  const due = await db
    .selectFrom('reservations')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'confirmed'), eb('end_time', '<=', now)]),
        eb.and([eb('status', '=', 'pending'), eb('start_time', '<=', now)]),
      ]),
    )
    .orderBy('id')
    .limit(BATCH)
    .execute()
  for (const { id } of due) {
    const outcome = await inTransaction(ctx.database, async (trx) => {
      const row = await findReservation(trx, id)
      if (!row) return null
      if (row.status === 'confirmed' && toDate(row.end_time) <= now) {
        return (await applyChange(ctx, trx, row, { actorId: null, status: 'completed' }))
          ? 'completed'
          : null
      }
      if (row.status === 'pending' && toDate(row.start_time) <= now) {
        const done = await applyChange(ctx, trx, row, {
          actorId: null,
          status: 'cancelled',
          cancelledBy: 'system',
          reason: 'Expired: not confirmed before the start time.',
        })
        return done ? 'expired' : null
      }
      return null
    })
    if (outcome) result[outcome]++
  }

  const reminderHorizon = new Date(now.getTime() + ctx.config.reminderHoursBefore * 3600_000)
  const reminders = await db
    .selectFrom('reservations')
    .selectAll()
    .where('status', '=', 'confirmed')
    .where(
      'start_time',
      '>',
      new Date(now.getTime() + reminderFloorMs(ctx.config.reminderHoursBefore)),
    )
    .where('start_time', '<=', reminderHorizon)
    .where((eb) =>
      eb.or([
        eb('reminder_sent_for', 'is', null),
        eb('reminder_sent_for', '<>', eb.ref('start_time')),
      ]),
    )
    .orderBy('start_time')
    .limit(BATCH)
    .execute()
  for (const row of reminders) {
    if (await inTransaction(ctx.database, (trx) => queueReminderIfDue(ctx, trx, row)))
      result.reminders++
  }
  if (result.completed + result.expired + result.reminders > 0) ctx.wakeOutbox()
  result.purged = await purgeExpired(ctx, now)
  return result
}

/**
 * Housekeeping, idempotent like the rest of the sweep: idempotency keys after their 24 hours,
 * rate-limit windows and login-failure records untouched for a day (no lock running: the
 * count starts afresh, as Redis forgets them after a day), refresh tokens past their expiry
 * (a JWT past exp is refused before its row is looked at).
 */
export async function purgeExpired(ctx: AppContext, now: Date): Promise<number> {
  const { db } = ctx.database
  const dayAgo = new Date(now.getTime() - DAY_MS)
  const results = await Promise.all([
    db.deleteFrom('idempotency_keys').where('created_at', '<', dayAgo).executeTakeFirst(),
    db.deleteFrom('rate_counters').where('window_start', '<', dayAgo).executeTakeFirst(),
    db
      .deleteFrom('login_failures')
      .where('updated_at', '<', dayAgo)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .executeTakeFirst(),
    db.deleteFrom('refresh_tokens').where('expires_at', '<', now).executeTakeFirst(),
  ])
  return results.reduce((n, r) => n + Number(r.numDeletedRows), 0)
}
