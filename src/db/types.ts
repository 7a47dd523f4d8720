import type { ColumnType, Generated, Insertable, Selectable, SqlBool, Updateable } from 'kysely'

/**
 * Timestamps are written as Date everywhere; SQLite hands them back as ISO strings and
 * MySQL/PostgreSQL as Date, so reads go through `toDate` (see dialect.ts).
 */
export type Timestamp = ColumnType<Date | string, Date, Date>
export type NullableTimestamp = ColumnType<Date | string | null, Date | null, Date | null>
/** Booleans are written as 0/1 (SQLite cannot bind booleans) and read as boolean or 0/1. */
export type Bool = ColumnType<SqlBool, SqlBool, SqlBool>

export type ReservationStatus = 'pending' | 'confirmed' | 'completed' | 'cancelled' | 'no_show'
export type CancelledBy = 'customer' | 'staff' | 'admin' | 'system'
export type OutboxStatus = 'pending' | 'queued' | 'sending' | 'done' | 'failed'

export interface UserTable {
  id: Generated<number>
  username: string
  /** lower(username): uniqueness is case-insensitive on every database. */
  username_key: string
  /** '' for a customer the shop added without an address. */
  email: string
  /**
   * lower(email), unique. A customer without an address has `email = ''` and a unique
   * placeholder here (see NO_EMAIL_KEY_PREFIX): it holds no '@', so no address ever equals it.
   * Not NULL: SQLite cannot drop NOT NULL inside the Migrator's transaction without rebuilding
   * `users`, and with foreign keys on that rebuild would cascade through every reservation.
   */
  email_key: string
  password: string
  first_name: string
  last_name: string
  phone: string
  is_admin: Bool
  is_staff_member: Bool
  is_active: Bool
  /** Weekly working hours in OPENING_HOURS syntax; null = the shop's hours. */
  working_hours: string | null
  date_joined: Timestamp
  last_login: NullableTimestamp
}

export interface RefreshTokenTable {
  jti: string
  family: string
  user_id: number
  expires_at: Timestamp
  created_at: Timestamp
  spent_at: NullableTimestamp
  revoked_at: NullableTimestamp
}

export interface ServiceTable {
  id: Generated<number>
  name: string
  description: string
  duration_minutes: number
  buffer_after_minutes: number
  /** Money in cents: exact on every database. */
  price_cents: number
  is_active: Bool
  created_at: Timestamp
}

export interface TimeOffTable {
  id: Generated<number>
  staff_id: number | null
  start_time: Timestamp
  end_time: Timestamp
  reason: string
  created_at: Timestamp
}

export interface ReservationTable {
  id: Generated<number>
  customer_id: number
  staff_id: number | null
  service_id: number | null
  start_time: Timestamp
  end_time: Timestamp
  /** end_time plus the service's clean-up buffer: how long the barber is held. */
  hold_until: Timestamp
  status: ReservationStatus
  notes: string
  created_at: Timestamp
  updated_at: Timestamp
  confirmed_at: NullableTimestamp
  completed_at: NullableTimestamp
  cancelled_at: NullableTimestamp
  cancelled_by: CancelledBy | null
  cancellation_reason: string
  /** Bumped on every change: the ETag and the compare-and-set guard. */
  version: number
  /** The start time the reminder was sent for (a move makes it stale). */
  reminder_sent_for: NullableTimestamp
}

export interface ReservationHistoryTable {
  id: Generated<number>
  reservation_id: number
  at: Timestamp
  actor_id: number | null
  from_status: ReservationStatus | null
  to_status: ReservationStatus
  start_time: Timestamp
  end_time: Timestamp
}

export interface OutboxTable {
  id: Generated<number>
  kind: string
  payload: string
  status: OutboxStatus
  attempts: number
  /** How many times the relay handed it to the queue: makes each BullMQ job id unique. */
  relays: number
  available_at: Timestamp
  locked_until: NullableTimestamp
  last_error: string
  created_at: Timestamp
  sent_at: NullableTimestamp
}

export interface IdempotencyKeyTable {
  user_id: number
  key: string
  request_hash: string
  status_code: number
  response_body: string
  created_at: Timestamp
}

export interface RateCounterTable {
  key: string
  window_start: Timestamp
  count: number
}

export interface LoginFailureTable {
  /** account|address */
  key: string
  failures: number
  lockouts: number
  locked_until: NullableTimestamp
  pending: number
  pending_at: NullableTimestamp
  updated_at: Timestamp
}

export interface PasswordResetTokenTable {
  id: Generated<number>
  /** SHA-256 (hex) of the token mailed; the token itself is never stored. */
  token_hash: string
  /** The token is HMAC(SECRET_KEY, nonce): a retried send can rebuild it. */
  nonce: string
  user_id: number
  email_key: string
  created_at: Timestamp
  expires_at: Timestamp
  used_at: NullableTimestamp
}

export interface LockTable {
  name: string
}

export interface Database {
  users: UserTable
  refresh_tokens: RefreshTokenTable
  services: ServiceTable
  time_off: TimeOffTable
  reservations: ReservationTable
  reservation_history: ReservationHistoryTable
  outbox: OutboxTable
  idempotency_keys: IdempotencyKeyTable
  rate_counters: RateCounterTable
  login_failures: LoginFailureTable
  locks: LockTable
  password_reset_tokens: PasswordResetTokenTable
}

export type UserRow = Selectable<UserTable>
export type NewUser = Insertable<UserTable>
export type UserUpdate = Updateable<UserTable>
export type ServiceRow = Selectable<ServiceTable>
export type ReservationRow = Selectable<ReservationTable>
export type TimeOffRow = Selectable<TimeOffTable>
export type OutboxRow = Selectable<OutboxTable>
