import type { Executor } from '../db/database.js'

/** What can be sent; each payload carries ids, the handler reloads fresh state. */
export interface OutboxMessages {
  'email.welcome': { userId: number }
  /** To ADMIN_EMAIL. */
  'email.reservation_created': { reservationId: number }
  /** A status change (the status it changed to is kept: a later change must not rewrite this mail). */
  'email.reservation_status': {
    reservationId: number
    status: 'confirmed' | 'cancelled' | 'completed' | 'no_show'
    version: number
  }
  'email.reservation_reminder': { reservationId: number; startTime: string }
  /** A password reset link; the token is rebuilt from the row (only its hash is stored). */
  'email.password_reset': { resetId: number }
}
export type OutboxKind = keyof OutboxMessages

/**
 * Writes a notification in the caller's transaction (transactional outbox). A mail to a
 * customer who has no address (one the shop added without one) is not queued at all.
 */
export async function addToOutbox<K extends OutboxKind>(
  trx: Executor,
  now: Date,
  kind: K,
  payload: OutboxMessages[K],
): Promise<void> {
  if (!(await hasRecipient(trx, kind, payload))) return
  await trx
    .insertInto('outbox')
    .values(outboxRow(now, kind, payload))
    .execute()
}

/**
 * A new outbox row, due now. `addToOutbox` writes it after checking there is a recipient; a
 * caller that writes it itself (the shop's mail, which always has one) skips that check.
 */
export function outboxRow<K extends OutboxKind>(now: Date, kind: K, payload: OutboxMessages[K]) {
  return {
    kind,
    payload: JSON.stringify(payload),
    status: 'pending' as const,
    attempts: 0,
    relays: 0,
    available_at: now,
    locked_until: null,
    last_error: '',
    created_at: now,
    sent_at: null,
  }
}

/** Whether the customer a message is for has an address; mail to the shop always has one. */
async function hasRecipient<K extends OutboxKind>(
  trx: Executor,
  kind: K,
  payload: OutboxMessages[K],
): Promise<boolean> {
  let email: { email: string } | undefined
  if (kind === 'email.welcome') {
    const { userId } = payload as OutboxMessages['email.welcome']
    email = await trx
      .selectFrom('users')
      .select('email')
      .where('id', '=', userId)
      .executeTakeFirst()
  } else if (kind === 'email.reservation_status' || kind === 'email.reservation_reminder') {
    const { reservationId } = payload as OutboxMessages['email.reservation_status']
    email = await trx
      .selectFrom('reservations')
      .innerJoin('users', 'users.id', 'reservations.customer_id')
      .select('users.email')
      .where('reservations.id', '=', reservationId)
      .executeTakeFirst()
  } else return true
  return email !== undefined && email.email.trim() !== ''
}
