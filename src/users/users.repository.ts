import type { Selectable } from 'kysely'
import type { Executor } from '../db/database.js'
import { toBool, toDate } from '../db/database.js'
import type { UserTable } from '../db/types.js'
import type { User } from './users.schemas.js'
import { usernameKey } from './users.validation.js'

export type UserRecord = Selectable<UserTable>

/** The public shape: never the password hash. */
export function toUser(row: UserRecord): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    phone: row.phone,
    is_admin: toBool(row.is_admin),
    is_staff_member: toBool(row.is_staff_member),
    is_active: toBool(row.is_active),
    date_joined: toDate(row.date_joined).toISOString(),
  }
}

export async function findUserById(db: Executor, id: number): Promise<UserRecord | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Login accepts a username or an email, case-insensitively. */
export async function findUserByLogin(
  db: Executor,
  login: string,
): Promise<UserRecord | undefined> {
  const key = usernameKey(login)
  const rows = await db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb.or([eb('username_key', '=', key), eb('email_key', '=', key)]))
    .limit(2)
    .execute()
  // A username that looks like someone else's email: the username wins.
  return rows.find((r) => r.username_key === key) ?? rows[0]
}

export async function usernameTaken(
  db: Executor,
  username: string,
  exceptId?: number,
): Promise<boolean> {
  let q = db.selectFrom('users').select('id').where('username_key', '=', usernameKey(username))
  if (exceptId) q = q.where('id', '<>', exceptId)
  return (await q.executeTakeFirst()) !== undefined
}

export async function emailTaken(db: Executor, email: string, exceptId?: number): Promise<boolean> {
  let q = db.selectFrom('users').select('id').where('email_key', '=', email.toLowerCase())
  if (exceptId) q = q.where('id', '<>', exceptId)
  return (await q.executeTakeFirst()) !== undefined
}

/** Active admins other than `exceptId`: the last one may not be removed or demoted. */
export async function otherActiveAdmins(db: Executor, exceptId: number): Promise<number> {
  const rows = await db
    .selectFrom('users')
    .select('id')
    .where('is_admin', '=', true)
    .where('is_active', '=', true)
    .where('id', '<>', exceptId)
    .limit(1)
    .execute()
  return rows.length
}
