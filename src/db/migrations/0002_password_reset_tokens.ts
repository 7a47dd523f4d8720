import { sql } from 'kysely'
import type { Kysely } from 'kysely'
import type { DbEngine } from '../../config.js'

/** Password reset links: one row per link mailed, only the token's hash stored. */
// Migrations are written against an untyped database on purpose (see 0001).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>, engine: DbEngine): Promise<void> {
  const ts = engine === 'sqlite' ? 'text' : engine === 'mysql' ? 'datetime(3)' : 'timestamptz'

  let table = db.schema
    .createTable('password_reset_tokens')
    .addColumn('id', engine === 'postgres' ? 'serial' : 'integer', (c) =>
      engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    // SHA-256 (hex) of the token mailed to the user: the token itself is never stored.
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    // Random input the mail's token is derived from with SECRET_KEY (so a retried send can
    // rebuild it); useless without the key.
    .addColumn('nonce', 'varchar(64)', (c) => c.notNull())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // The address the reset was asked for: no mail goes out if the account's address changed.
    .addColumn('email_key', 'varchar(254)', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('used_at', ts)
  if (engine === 'mysql')
    table = table.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci`)
  await table.execute()
  await db.schema
    .createIndex('password_reset_tokens_user_idx')
    .on('password_reset_tokens')
    .column('user_id')
    .execute()

  // Usernames are now unique by their NFKC form (fullwidth `ａｌｉｃｅ` is `alice`): existing keys
  // are recomputed. A key that would collide with another account's is left as it was (that
  // pair predates the rule); both still log in by their own names.
  const users = await db.selectFrom('users').select(['id', 'username', 'username_key']).execute()
  const taken = new Set(users.map((u) => u.username_key as string))
  for (const u of users as { id: number; username: string; username_key: string }[]) {
    const key = u.username.trim().normalize('NFKC').toLowerCase()
    if (key === u.username_key || taken.has(key)) continue
    await db.updateTable('users').set({ username_key: key }).where('id', '=', u.id).execute()
    taken.add(key)
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('password_reset_tokens').ifExists().execute()
}
