import { sql } from 'kysely'
import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely } from 'kysely'
import type { DbEngine } from '../../config.js'

/** Column types that differ per engine, named once. */
function types(engine: DbEngine) {
  return {
    ts: engine === 'sqlite' ? 'text' : engine === 'mysql' ? 'datetime(3)' : 'timestamptz',
    bool: engine === 'postgres' ? 'boolean' : engine === 'mysql' ? 'boolean' : 'integer',
    text: 'text',
  } as const
}

function id<T extends string>(engine: DbEngine, t: CreateTableBuilder<T, never>) {
  return engine === 'postgres'
    ? t.addColumn('id', 'serial', (c) => c.primaryKey())
    : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
}

const notNull = (c: ColumnDefinitionBuilder) => c.notNull()

// Kysely migrations are written against an untyped database on purpose: the schema
// they create is the source of truth, not the current TypeScript types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>, engine: DbEngine): Promise<void> {
  const t = types(engine)
  const tableOpts = <B extends { modifyEnd(s: ReturnType<typeof sql>): B }>(b: B): B =>
    engine === 'mysql'
      ? b.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci`)
      : b

  await tableOpts(
    id(engine, db.schema.createTable('users'))
      .addColumn('username', 'varchar(150)', notNull)
      .addColumn('username_key', 'varchar(150)', notNull)
      .addColumn('email', 'varchar(254)', notNull)
      .addColumn('email_key', 'varchar(254)', notNull)
      .addColumn('password', 'varchar(255)', notNull)
      .addColumn('first_name', 'varchar(150)', notNull)
      .addColumn('last_name', 'varchar(150)', notNull)
      .addColumn('phone', 'varchar(20)', notNull)
      .addColumn('is_admin', t.bool, notNull)
      .addColumn('is_staff_member', t.bool, notNull)
      .addColumn('is_active', t.bool, notNull)
      .addColumn('working_hours', 'varchar(500)')
      .addColumn('date_joined', t.ts, notNull)
      .addColumn('last_login', t.ts)
      .addUniqueConstraint('users_username_key_unique', ['username_key'])
      .addUniqueConstraint('users_email_key_unique', ['email_key']),
  ).execute()
  await db.schema
    .createIndex('users_staff_idx')
    .on('users')
    .columns(['is_staff_member', 'is_active'])
    .execute()
  await db.schema.createIndex('users_date_joined_idx').on('users').column('date_joined').execute()

  await tableOpts(
    db.schema
      .createTable('refresh_tokens')
      .addColumn('jti', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('family', 'varchar(64)', notNull)
      .addColumn('user_id', 'integer', (c) =>
        c.notNull().references('users.id').onDelete('cascade'),
      )
      .addColumn('expires_at', t.ts, notNull)
      .addColumn('created_at', t.ts, notNull)
      .addColumn('spent_at', t.ts)
      .addColumn('revoked_at', t.ts),
  ).execute()
  await db.schema
    .createIndex('refresh_tokens_family_idx')
    .on('refresh_tokens')
    .column('family')
    .execute()
  await db.schema
    .createIndex('refresh_tokens_user_idx')
    .on('refresh_tokens')
    .column('user_id')
    .execute()

  await tableOpts(
    id(engine, db.schema.createTable('services'))
      .addColumn('name', 'varchar(200)', notNull)
      .addColumn('description', t.text, notNull)
      .addColumn('duration_minutes', 'integer', notNull)
      .addColumn('buffer_after_minutes', 'integer', notNull)
      .addColumn('price_cents', 'bigint', notNull)
      .addColumn('is_active', t.bool, notNull)
      .addColumn('created_at', t.ts, notNull),
  ).execute()

  await tableOpts(
    id(engine, db.schema.createTable('time_off'))
      .addColumn('staff_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
      .addColumn('start_time', t.ts, notNull)
      .addColumn('end_time', t.ts, notNull)
      .addColumn('reason', 'varchar(500)', notNull)
      .addColumn('created_at', t.ts, notNull),
  ).execute()
  await db.schema
    .createIndex('time_off_staff_start_idx')
    .on('time_off')
    .columns(['staff_id', 'start_time'])
    .execute()
  await db.schema.createIndex('time_off_start_idx').on('time_off').column('start_time').execute()

  await tableOpts(
    id(engine, db.schema.createTable('reservations'))
      .addColumn('customer_id', 'integer', (c) =>
        c.notNull().references('users.id').onDelete('cascade'),
      )
      .addColumn('staff_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
      .addColumn('service_id', 'integer', (c) => c.references('services.id').onDelete('set null'))
      .addColumn('start_time', t.ts, notNull)
      .addColumn('end_time', t.ts, notNull)
      .addColumn('hold_until', t.ts, notNull)
      .addColumn('status', 'varchar(20)', notNull)
      .addColumn('notes', t.text, notNull)
      .addColumn('created_at', t.ts, notNull)
      .addColumn('updated_at', t.ts, notNull)
      .addColumn('confirmed_at', t.ts)
      .addColumn('completed_at', t.ts)
      .addColumn('cancelled_at', t.ts)
      .addColumn('cancelled_by', 'varchar(20)')
      .addColumn('cancellation_reason', t.text, notNull)
      .addColumn('version', 'integer', notNull)
      .addColumn('reminder_sent_for', t.ts),
  ).execute()
  await db.schema
    .createIndex('reservations_staff_start_idx')
    .on('reservations')
    .columns(['staff_id', 'start_time'])
    .execute()
  await db.schema
    .createIndex('reservations_customer_start_idx')
    .on('reservations')
    .columns(['customer_id', 'start_time'])
    .execute()
  await db.schema
    .createIndex('reservations_status_start_idx')
    .on('reservations')
    .columns(['status', 'start_time'])
    .execute()
  await db.schema
    .createIndex('reservations_start_idx')
    .on('reservations')
    .column('start_time')
    .execute()
  await db.schema
    .createIndex('reservations_service_idx')
    .on('reservations')
    .column('service_id')
    .execute()

  if (engine === 'postgres') {
    // Second line of defence: even a bug in the locking code cannot store an overlap.
    await sql`create extension if not exists btree_gist`.execute(db)
    await sql`alter table reservations add constraint reservations_no_overlap
      exclude using gist (staff_id with =, tstzrange(start_time, hold_until, '[)') with &&)
      where (status in ('pending', 'confirmed') and staff_id is not null)`.execute(db)
  }

  await tableOpts(
    id(engine, db.schema.createTable('reservation_history'))
      .addColumn('reservation_id', 'integer', (c) =>
        c.notNull().references('reservations.id').onDelete('cascade'),
      )
      .addColumn('at', t.ts, notNull)
      .addColumn('actor_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
      .addColumn('from_status', 'varchar(20)')
      .addColumn('to_status', 'varchar(20)', notNull)
      .addColumn('start_time', t.ts, notNull)
      .addColumn('end_time', t.ts, notNull),
  ).execute()
  await db.schema
    .createIndex('reservation_history_res_idx')
    .on('reservation_history')
    .column('reservation_id')
    .execute()

  await tableOpts(
    id(engine, db.schema.createTable('outbox'))
      .addColumn('kind', 'varchar(64)', notNull)
      .addColumn('payload', t.text, notNull)
      .addColumn('status', 'varchar(20)', notNull)
      .addColumn('attempts', 'integer', notNull)
      .addColumn('relays', 'integer', notNull)
      .addColumn('available_at', t.ts, notNull)
      .addColumn('locked_until', t.ts)
      .addColumn('last_error', t.text, notNull)
      .addColumn('created_at', t.ts, notNull)
      .addColumn('sent_at', t.ts),
  ).execute()
  await db.schema
    .createIndex('outbox_status_available_idx')
    .on('outbox')
    .columns(['status', 'available_at'])
    .execute()

  await tableOpts(
    db.schema
      .createTable('idempotency_keys')
      .addColumn('user_id', 'integer', (c) =>
        c.notNull().references('users.id').onDelete('cascade'),
      )
      .addColumn('key', 'varchar(255)', notNull)
      .addColumn('request_hash', 'varchar(64)', notNull)
      .addColumn('status_code', 'integer', notNull)
      .addColumn('response_body', t.text, notNull)
      .addColumn('created_at', t.ts, notNull)
      .addPrimaryKeyConstraint('idempotency_keys_pk', ['user_id', 'key']),
  ).execute()
  await db.schema
    .createIndex('idempotency_keys_created_idx')
    .on('idempotency_keys')
    .column('created_at')
    .execute()

  await tableOpts(
    db.schema
      .createTable('rate_counters')
      .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('window_start', t.ts, notNull)
      .addColumn('count', 'integer', notNull),
  ).execute()

  await tableOpts(
    db.schema
      .createTable('login_failures')
      .addColumn('key', 'varchar(500)', (c) => c.primaryKey())
      .addColumn('failures', 'integer', notNull)
      .addColumn('lockouts', 'integer', notNull)
      .addColumn('locked_until', t.ts)
      // Login attempts taken but not yet settled (see ThrottleStore.begin), and since when.
      .addColumn('pending', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('pending_at', t.ts)
      .addColumn('updated_at', t.ts, notNull),
  ).execute()

  await tableOpts(
    db.schema.createTable('locks').addColumn('name', 'varchar(64)', (c) => c.primaryKey()),
  ).execute()
  await db.insertInto('locks').values({ name: 'shop' }).execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'locks',
    'login_failures',
    'rate_counters',
    'idempotency_keys',
    'outbox',
    'reservation_history',
    'reservations',
    'time_off',
    'services',
    'refresh_tokens',
    'users',
  ]) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}
