import type { Kysely } from 'kysely'
import type { DbEngine } from '../../config.js'

/**
 * A booking counts the customer's upcoming active reservations (MAX_ACTIVE_BOOKINGS): with
 * (customer_id, start_time) alone every upcoming one was read from the table to check its
 * status (15 % of a booking's CPU on SQLite for a customer with a few hundred). With the
 * status in the index the count reads the index only.
 */
// Migrations are written against an untyped database on purpose (see 0001).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('reservations_customer_status_start_idx')
    .on('reservations')
    .columns(['customer_id', 'status', 'start_time'])
    .execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>, engine: DbEngine): Promise<void> {
  const drop = db.schema.dropIndex('reservations_customer_status_start_idx')
  // MySQL names the table of the index; the others do not take it.
  await (engine === 'mysql' ? drop.on('reservations') : drop).execute()
}
