import type { Executor } from '../db/database.js'
import type { ReservationHistoryTable, ReservationRow } from '../db/types.js'
import type { Selectable } from 'kysely'
import { iso, isoOrNull } from '../http/datetime.js'
import type { HistoryEntry, Reservation } from './reservations.schemas.js'

export function toReservation(row: ReservationRow): Reservation {
  return {
    id: row.id,
    customer: row.customer_id,
    staff: row.staff_id,
    service: row.service_id,
    start_time: iso(row.start_time),
    end_time: iso(row.end_time),
    status: row.status,
    notes: row.notes,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    confirmed_at: isoOrNull(row.confirmed_at),
    completed_at: isoOrNull(row.completed_at),
    cancelled_at: isoOrNull(row.cancelled_at),
    cancelled_by: row.cancelled_by,
    cancellation_reason: row.cancellation_reason,
  }
}

function toHistoryEntry(h: Selectable<ReservationHistoryTable>): HistoryEntry {
  return {
    at: iso(h.at),
    actor: h.actor_id,
    from_status: h.from_status,
    to_status: h.to_status,
    start_time: iso(h.start_time),
    end_time: iso(h.end_time),
  }
}

/** Strong validator of one representation: changes with every write. */
export function etagOf(row: Pick<ReservationRow, 'id' | 'version'>): string {
  return `"r${row.id}v${row.version}"`
}

export async function findReservation(
  db: Executor,
  id: number,
): Promise<ReservationRow | undefined> {
  return db.selectFrom('reservations').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function historyOf(db: Executor, reservationId: number): Promise<HistoryEntry[]> {
  const rows = await db
    .selectFrom('reservation_history')
    .selectAll()
    .where('reservation_id', '=', reservationId)
    .orderBy('id')
    .execute()
  return rows.map(toHistoryEntry)
}

/** Every reservation of a customer with its history, in two queries. */
export async function listForExport(db: Executor, customerId: number) {
  const rows = await db
    .selectFrom('reservations')
    .selectAll()
    .where('customer_id', '=', customerId)
    .orderBy('start_time')
    .execute()
  const history = rows.length
    ? await db
        .selectFrom('reservation_history')
        .selectAll()
        .where(
          'reservation_id',
          'in',
          rows.map((r) => r.id),
        )
        .orderBy('id')
        .execute()
    : []
  return rows.map((r) => ({
    ...toReservation(r),
    history: history.filter((h) => h.reservation_id === r.id).map(toHistoryEntry),
  }))
}
