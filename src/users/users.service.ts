import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type { AppContext } from '../context.js'
import { inTransaction, insertReturningId, isUniqueViolation, toBool } from '../db/database.js'
import type { UserUpdate } from '../db/types.js'
import {
  boundPassword,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  passwordProblems,
  unusablePassword,
} from '../auth/passwords.js'
import { revokeAllRefreshTokens, verifyPasswordThrottled } from '../auth/auth.service.js'
import type { Actor } from '../http/auth.js'
import { FieldErrors, Forbidden, NotFound, ValidationFailed } from '../http/errors.js'
import { pageWindow } from '../http/pagination.js'
import { iso } from '../http/datetime.js'
import { listForExport } from '../reservations/reservations.repository.js'
import {
  emailTaken,
  findUserById,
  otherActiveAdmins,
  toUser,
  usernameTaken,
} from './users.repository.js'
import type { UserRecord } from './users.repository.js'
import type { CreateCustomerBody, UpdateUserBody, User, UserListQuery } from './users.schemas.js'
import {
  checkEmail,
  checkName,
  checkPhone,
  checkUsername,
  NO_EMAIL_KEY_PREFIX,
  scriptsOf,
  usernameKey,
} from './users.validation.js'

const ADMIN_FIELDS = ['is_admin', 'is_staff_member', 'is_active'] as const

/** Admin list with search, flags and ordering. */
export async function listUsers(
  ctx: AppContext,
  q: UserListQuery,
): Promise<{ count: number; results: User[] }> {
  const { db } = ctx.database
  let base = db.selectFrom('users')
  if (q.search) {
    // '!' as the LIKE escape: a backslash means different things in MySQL and PostgreSQL literals.
    const term = `%${q.search.toLowerCase().replace(/[!%_]/g, (c: string) => `!${c}`)}%`
    base = base.where((eb) =>
      eb.or(
        (['username', 'email', 'first_name', 'last_name', 'phone'] as const).map(
          (col) => sql<boolean>`lower(${sql.ref(col)}) like ${term} escape '!'`,
        ),
      ),
    )
  }
  if (q.is_staff_member !== undefined) base = base.where('is_staff_member', '=', q.is_staff_member)
  if (q.is_admin !== undefined) base = base.where('is_admin', '=', q.is_admin)
  if (q.is_active !== undefined) base = base.where('is_active', '=', q.is_active)
  const ordering = q.ordering ?? 'id'
  const col = ordering.replace('-', '') as 'date_joined' | 'username' | 'id'
  const dir = ordering.startsWith('-') ? 'desc' : 'asc'
  const { limit, offset } = pageWindow(q)
  const [countRow, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    base.selectAll().orderBy(col, dir).orderBy('id', dir).limit(limit).offset(offset).execute(),
  ])
  return { count: Number(countRow.n), results: rows.map(toUser) }
}

async function staffServes(ctx: AppContext, staffId: number, customerId: number): Promise<boolean> {
  const row = await ctx.database.db
    .selectFrom('reservations')
    .select('id')
    .where('staff_id', '=', staffId)
    .where('customer_id', '=', customerId)
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}

/** Loads a user the actor may see (self, admin, or a barber's customer), else 404. */
async function visibleUser(ctx: AppContext, actor: Actor, id: number): Promise<UserRecord> {
  const user = await findUserById(ctx.database.db, id)
  if (!user) throw NotFound()
  if (actor.isAdmin || actor.id === id) return user
  if (actor.isStaff && (await staffServes(ctx, actor.id, id))) return user
  throw NotFound()
}

export async function getUser(ctx: AppContext, actor: Actor, id: number): Promise<User> {
  return toUser(await visibleUser(ctx, actor, id))
}

export async function updateUser(
  ctx: AppContext,
  actor: Actor,
  id: number,
  body: UpdateUserBody,
  address: string,
): Promise<User> {
  const target = await visibleUser(ctx, actor, id)
  if (!actor.isAdmin && actor.id !== id) throw Forbidden()
  if (!actor.isAdmin) {
    const refused = ADMIN_FIELDS.filter((f) => body[f] !== undefined)
    if (refused.length > 0)
      throw Forbidden(`Only an admin may set ${refused.join(', ')}.`, 'permission_denied')
  }
  const errors = new FieldErrors()
  const changes: UserUpdate = {}
  if (body.username !== undefined) {
    const v = checkUsername(errors, body.username)
    if (v) {
      changes.username = v
      changes.username_key = usernameKey(v)
    }
  }
  if (body.email !== undefined) {
    const v = checkEmail(errors, body.email)
    if (v) {
      changes.email = v
      changes.email_key = v.toLowerCase()
    }
  }
  if (body.first_name !== undefined)
    changes.first_name = checkName(errors, 'first_name', body.first_name)
  if (body.last_name !== undefined)
    changes.last_name = checkName(errors, 'last_name', body.last_name)
  if (body.phone !== undefined) {
    const v = checkPhone(errors, body.phone)
    if (v !== undefined) changes.phone = v
  }
  for (const f of ADMIN_FIELDS) if (body[f] !== undefined) changes[f] = body[f]
  // Bounded before anything compares or hashes it.
  const newPassword = body.password === undefined ? undefined : boundPassword(errors, body.password)
  errors.throwIfAny()
  // An admin resets others' passwords (and their own) without it; everyone else proves they
  // know the current one, checked as a login attempt (throttled: no password oracle).
  if (body.password !== undefined && !actor.isAdmin) {
    if (!body.current_password)
      errors.add('current_password', 'This field is required to change the password.')
    else if (
      body.current_password.length > MAX_PASSWORD_LENGTH ||
      !(await verifyPasswordThrottled(ctx, target, body.current_password, address))
    )
      errors.add('current_password', 'The current password is incorrect.')
  }

  const now = ctx.now()
  const updated = await inTransaction(ctx.database, async (trx) => {
    const current = await findUserById(trx, id)
    if (!current) throw NotFound()
    if (changes.username_key && (await usernameTaken(trx, changes.username_key, id))) {
      errors.add('username', 'A user with that username already exists.')
    }
    if (changes.email_key && (await emailTaken(trx, changes.email_key, id))) {
      errors.add('email', 'A user with that email already exists.')
    }
    if (body.password !== undefined) {
      const problems = passwordProblems(newPassword!, {
        username: changes.username ?? current.username,
        email: changes.email ?? current.email,
      })
      for (const p of problems) errors.add('password', p)
    }
    const demoting =
      (body.is_admin === false || body.is_active === false) && toBool(current.is_admin)
    if (demoting && (await otherActiveAdmins(trx, id)) === 0) {
      errors.add(
        body.is_admin === false ? 'is_admin' : 'is_active',
        'The last active admin cannot be demoted or deactivated.',
      )
    }
    errors.throwIfAny()
    if (newPassword !== undefined) changes.password = await hashPassword(newPassword)
    if (Object.keys(changes).length > 0) {
      await trx.updateTable('users').set(changes).where('id', '=', id).execute()
    }
    // A new password, or a deactivation, ends every login of that account.
    if (body.password !== undefined || body.is_active === false)
      await revokeAllRefreshTokens(trx, id, now)
    return (await findUserById(trx, id))!
  })
  return toUser(updated)
}

/**
 * A customer the shop adds (admin or staff member): no password (unusable until a reset),
 * email optional, username made from the name when left out. No welcome mail: they did not
 * sign up, and cannot log in yet.
 */
export async function createCustomer(
  ctx: AppContext,
  actor: Actor,
  body: CreateCustomerBody,
): Promise<User> {
  if (!actor.isAdmin && !actor.isStaff) throw Forbidden()
  const errors = new FieldErrors()
  const firstName = checkName(errors, 'first_name', body.first_name)
  if (firstName === '' && !errors.fields.first_name)
    errors.add('first_name', 'This field may not be blank.')
  const lastName = checkName(errors, 'last_name', body.last_name)
  const phone = checkPhone(errors, body.phone)
  if (phone === '') errors.add('phone', 'This field may not be blank.')
  const given = body.username === undefined ? undefined : checkUsername(errors, body.username)
  const email = body.email == null || body.email.trim() === '' ? '' : checkEmail(errors, body.email)
  errors.throwIfAny()

  const now = ctx.now()
  const password = unusablePassword()
  for (let attempt = 0; ; attempt++) {
    try {
      const id = await inTransaction(ctx.database, async (trx) => {
        if (given && (await usernameTaken(trx, given)))
          errors.add('username', 'A user with that username already exists.')
        if (email && (await emailTaken(trx, email)))
          errors.add('email', 'A user with that email already exists.')
        errors.throwIfAny()
        const username = given ?? (await freeUsername(trx, usernameBase(firstName, lastName)))
        return insertReturningId(ctx.database.engine, trx, 'users', {
          username,
          username_key: usernameKey(username),
          email: email!,
          // No address: a unique key no address can equal (it has no '@').
          email_key: email ? email.toLowerCase() : `${NO_EMAIL_KEY_PREFIX}${randomUUID()}`,
          password,
          first_name: firstName,
          last_name: lastName,
          phone: phone!,
          is_admin: false,
          is_staff_member: false,
          is_active: true,
          working_hours: null,
          date_joined: now,
          last_login: null,
        })
      })
      return toUser((await findUserById(ctx.database.db, id))!)
    } catch (err) {
      if (!isUniqueViolation(err)) throw err
      // A made-up name taken meanwhile by a concurrent request: pick again.
      if (!given && attempt < 3) continue
      throw FieldErrors.single(
        given ? 'username' : 'email',
        'A user with that username or email already exists.',
      )
    }
  }
}

/** `ana.lee` from "Ana Lee": the name's letters and digits (NFKC, lower case), else `customer`. */
export function usernameBase(firstName: string, lastName: string): string {
  const base = `${firstName} ${lastName}`
    .normalize('NFKC')
    .toLowerCase()
    .trim()
    .replace(/\s+/g, '.')
    .replace(/[^\p{L}\p{N}@.+\-_]/gu, '')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.]+|[.]+$/g, '')
    .slice(0, 140)
  return base === '' || scriptsOf(base).length > 1 ? 'customer' : base
}

/** The base, or the base with the lowest free number after it (`ana.lee2`). */
async function freeUsername(trx: Parameters<typeof usernameTaken>[0], base: string) {
  if (!(await usernameTaken(trx, base))) return base
  for (let n = 2; n < 50; n++) if (!(await usernameTaken(trx, `${base}${n}`))) return `${base}${n}`
  return `${base}.${randomUUID().slice(0, 8)}`
}

export async function deleteUser(ctx: AppContext, actor: Actor, id: number): Promise<void> {
  await visibleUser(ctx, actor, id)
  if (!actor.isAdmin && actor.id !== id) throw Forbidden()
  await inTransaction(ctx.database, async (trx) => {
    const current = await findUserById(trx, id)
    if (!current) throw NotFound()
    if (
      toBool(current.is_admin) &&
      toBool(current.is_active) &&
      (await otherActiveAdmins(trx, id)) === 0
    ) {
      throw new ValidationFailed({ non_field_errors: ['The last active admin cannot be deleted.'] })
    }
    // Foreign keys cascade: reservations, their history, tokens and keys go with the user.
    await trx.deleteFrom('users').where('id', '=', id).execute()
  })
}

/** Data-portability export: the caller's profile and every reservation with its history. */
export async function exportUser(ctx: AppContext, actor: Actor) {
  const user = await findUserById(ctx.database.db, actor.id)
  if (!user) throw NotFound()
  return {
    exported_at: iso(ctx.now()),
    user: toUser(user),
    reservations: await listForExport(ctx.database.db, actor.id),
  }
}
