import { createHash, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AppContext } from '../context.js'
import type { Executor } from '../db/database.js'
import {
  inTransaction,
  insertReturningId,
  isUniqueViolation,
  toBool,
  toDate,
} from '../db/database.js'
import { ApiError, FieldErrors, Throttled, TokenNotValid } from '../http/errors.js'
import { addToOutbox } from '../notifications/outbox.js'
import {
  emailTaken,
  findUserById,
  findUserByLogin,
  toUser,
  usernameTaken,
} from '../users/users.repository.js'
import type { User } from '../users/users.schemas.js'
import {
  checkEmail,
  checkName,
  checkPhone,
  checkUsername,
  usernameKey,
} from '../users/users.validation.js'
import type { AttemptOutcome } from './throttle.js'
import {
  boundPassword,
  burnVerifyTime,
  hashPassword,
  passwordProblems,
  verifyPassword,
} from './passwords.js'

export interface TokenPair {
  access: string
  refresh: string
}

export interface RegisterInput {
  username: string
  email: string
  password: string
  phone?: string | null
  first_name?: string
  last_name?: string
}

const LOGIN_FAILED = () =>
  new ApiError(401, 'No active account found with the given credentials', 'no_active_account', {
    // As SimpleJWT's token views send it.
    'www-authenticate': 'Bearer realm="api"',
  })

const TOKEN_ROTATED = () =>
  new ApiError(
    401,
    'This refresh token was just rotated; retry with the newest one.',
    'token_rotated',
    { 'www-authenticate': 'Bearer realm="api"' },
  )

/** Per-address cap on failed logins across all accounts. */
const ADDRESS_FAILURES_PER_HOUR = 100

async function issuePair(
  ctx: AppContext,
  trx: Executor,
  userId: number,
  family: string,
): Promise<TokenPair> {
  const now = ctx.now()
  const access = await ctx.tokens.issue('access', userId, now)
  const refresh = await ctx.tokens.issue('refresh', userId, now, family)
  await trx
    .insertInto('refresh_tokens')
    .values({
      jti: refresh.jti,
      family,
      user_id: userId,
      expires_at: refresh.expiresAt,
      created_at: now,
      spent_at: null,
      revoked_at: null,
    })
    .execute()
  return { access: access.token, refresh: refresh.token }
}

export async function register(
  ctx: AppContext,
  input: RegisterInput,
  address: string,
): Promise<{ user: User } & TokenPair> {
  // Every attempt counts toward the limit, failed ones too, and is counted before any work:
  // an address over its limit gets nothing processed.
  const now = ctx.now()
  const wait = await ctx.throttle.hit(`register:${address}`, ctx.config.registerPerHour, 3600, now)
  if (wait > 0) throw Throttled(wait)

  const errors = new FieldErrors()
  // Lengths first: no validator (similarity is quadratic) and no hash sees an oversized input.
  const password = boundPassword(errors, input.password)
  const username = checkUsername(errors, input.username)
  const email = checkEmail(errors, input.email)
  const phone = checkPhone(errors, input.phone)
  const firstName = checkName(errors, 'first_name', input.first_name)
  const lastName = checkName(errors, 'last_name', input.last_name)
  if (password !== undefined)
    for (const p of passwordProblems(password, { username, email })) errors.add('password', p)
  errors.throwIfAny()

  const passwordHash = await hashPassword(input.password)
  const { db } = ctx.database
  try {
    const result = await inTransaction(ctx.database, async (trx) => {
      if (await usernameTaken(trx, username!))
        errors.add('username', 'A user with that username already exists.')
      if (await emailTaken(trx, email!))
        errors.add('email', 'A user with that email already exists.')
      errors.throwIfAny()
      const id = await insertReturningId(ctx.database.engine, trx, 'users', {
        username: username!,
        username_key: usernameKey(username!),
        email: email!,
        email_key: email!.toLowerCase(),
        password: passwordHash,
        first_name: firstName,
        last_name: lastName,
        phone: phone ?? '',
        is_admin: false,
        is_staff_member: false,
        is_active: true,
        working_hours: null,
        date_joined: now,
        last_login: null,
      })
      await addToOutbox(trx, now, 'email.welcome', { userId: id })
      const tokens = await issuePair(ctx, trx, id, randomUUID())
      return { id, tokens }
    })
    ctx.wakeOutbox()
    const user = (await findUserById(db, result.id))!
    return { user: toUser(user), ...result.tokens }
  } catch (err) {
    // Two registrations racing for one name: the unique index decides, as a 400.
    if (isUniqueViolation(err)) {
      throw FieldErrors.single('username', 'A user with that username or email already exists.')
    }
    throw err
  }
}

export async function login(
  ctx: AppContext,
  input: { username: string; password: string },
  address: string,
): Promise<TokenPair & { user: User }> {
  const now = ctx.now()
  // Failures count per account (whether it was named by username or by email) and address;
  // a name that matches no account is counted under that name. Hashed: any length fits.
  const user = await findUserByLogin(ctx.database.db, input.username)
  const accountKey = attemptKey(user ? { username: user.username } : input.username, address)
  const max = ctx.config.loginMaxFailures
  await takeAttemptSlot(ctx, accountKey)
  let outcome: AttemptOutcome = 'released'
  try {
    // The address cap is counted up front too, and given back when the login is right.
    const addressWait = await ctx.throttle.hit(
      `loginfail:${address}`,
      ADDRESS_FAILURES_PER_HOUR,
      3600,
      now,
    )
    if (addressWait > 0) throw Throttled(addressWait)
    const ok = user
      ? await verifyPassword(user.password, input.password)
      : (await burnVerifyTime(input.password), false)
    outcome = user && ok && toBool(user.is_active) ? 'succeeded' : 'failed'
  } finally {
    await ctx.throttle.settle(accountKey, outcome, max, ctx.now())
  }
  if (outcome !== 'succeeded' || !user) throw LOGIN_FAILED()
  await ctx.throttle.refund(`loginfail:${address}`)
  const tokens = await inTransaction(ctx.database, async (trx) => {
    await trx.updateTable('users').set({ last_login: now }).where('id', '=', user.id).execute()
    return issuePair(ctx, trx, user.id, randomUUID())
  })
  return { ...tokens, user: toUser({ ...user, last_login: now }) }
}

/**
 * Checks a password the caller claims for an account (`current_password` on a profile change)
 * as a login attempt on it: a wrong one counts as a failed login of that account from that
 * address, a right one resets the count, and a locked account is a 429 with Retry-After.
 */
export async function verifyPasswordThrottled(
  ctx: AppContext,
  user: { username: string; password: string },
  password: string,
  address: string,
): Promise<boolean> {
  const key = attemptKey({ username: user.username }, address)
  await takeAttemptSlot(ctx, key)
  let outcome: AttemptOutcome = 'released'
  try {
    outcome = (await verifyPassword(user.password, password)) ? 'succeeded' : 'failed'
  } finally {
    await ctx.throttle.settle(key, outcome, ctx.config.loginMaxFailures, ctx.now())
  }
  return outcome === 'succeeded'
}

/**
 * The throttle key of logins to one account from one address: the account found (by its
 * username, whichever name the login gave: username or email), else the name tried. Not
 * the account's id: ids restart with a database, and the keys live in a shared Redis.
 */
export function attemptKey(account: { username: string } | string, address: string): string {
  const who =
    typeof account === 'string'
      ? `name:${usernameKey(account)}`
      : `user:${account.username.toLowerCase()}`
  return createHash('sha256').update(`${who}|${address}`).digest('hex')
}

/** How long a login waits for its turn behind concurrent attempts on the same account. */
const ATTEMPT_QUEUE_MS = 10_000

/**
 * Takes a login-attempt slot for the account and address, waiting (with backoff) while
 * other attempts on it are in flight. A lock is a 429 at once.
 */
async function takeAttemptSlot(ctx: AppContext, accountKey: string): Promise<void> {
  const deadline = performance.now() + ATTEMPT_QUEUE_MS
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const slot = await ctx.throttle.begin(accountKey, ctx.config.loginMaxFailures, ctx.now())
    if (slot.kind === 'granted') return
    if (slot.kind === 'locked') throw Throttled(slot.seconds)
    if (performance.now() > deadline) throw Throttled(1)
    await sleep(delay + Math.random() * delay)
  }
}

/**
 * Rotation: the refresh token sent is spent; a spent one sent again revokes its family,
 * unless it was spent less than REFRESH_REUSE_GRACE_SECONDS ago (401 token_rotated).
 */
export async function refresh(ctx: AppContext, token: string): Promise<TokenPair> {
  const now = ctx.now()
  const claims = await ctx.tokens.verify(token, 'refresh', now)
  if (!claims) throw TokenNotValid('Token is invalid or expired')
  const result = await inTransaction(ctx.database, async (trx) => {
    const q = trx.selectFrom('refresh_tokens').selectAll().where('jti', '=', claims.jti)
    const row = await (ctx.database.engine === 'sqlite' ? q : q.forUpdate()).executeTakeFirst()
    if (!row || row.revoked_at) return { error: 'Token is blacklisted' } as const
    // Two tabs refreshing with the same cookie at once: the loser's token was spent a moment
    // ago by the winner. Within the grace window that is a race, not theft; it retries with
    // the cookie the winner got. Later, reuse revokes the family.
    const graceMs = ctx.config.refreshReuseGraceSeconds * 1000
    if (row.spent_at && now.getTime() - toDate(row.spent_at).getTime() < graceMs)
      return { rotated: true } as const
    if (row.spent_at) {
      await trx
        .updateTable('refresh_tokens')
        .set({ revoked_at: now })
        .where('family', '=', row.family)
        .where('revoked_at', 'is', null)
        .execute()
      return { error: 'Token is blacklisted' } as const
    }
    if (toDate(row.expires_at) <= now) return { error: 'Token is invalid or expired' } as const
    const user = await findUserById(trx, row.user_id)
    if (!user || !toBool(user.is_active)) return { error: 'User is inactive' } as const
    await trx
      .updateTable('refresh_tokens')
      .set({ spent_at: now })
      .where('jti', '=', row.jti)
      .execute()
    return { pair: await issuePair(ctx, trx, row.user_id, row.family) } as const
  })
  if ('rotated' in result) throw TOKEN_ROTATED()
  if ('error' in result) throw TokenNotValid(result.error)
  return result.pair
}

export async function logout(ctx: AppContext, token: string): Promise<void> {
  const now = ctx.now()
  const claims = await ctx.tokens.verify(token, 'refresh', now)
  if (!claims?.family) throw TokenNotValid('Token is invalid or expired')
  const row = await ctx.database.db
    .selectFrom('refresh_tokens')
    .select(['revoked_at', 'spent_at'])
    .where('jti', '=', claims.jti)
    .executeTakeFirst()
  await ctx.database.db
    .updateTable('refresh_tokens')
    .set({ revoked_at: now })
    .where('family', '=', claims.family)
    .where('revoked_at', 'is', null)
    .execute()
  // As SimpleJWT's blacklist view: a token already blacklisted (logged out, revoked, or
  // spent by a refresh) is a 401; its family is revoked all the same.
  if (!row || row.revoked_at || row.spent_at) throw TokenNotValid('Token is blacklisted')
}

export async function revokeAllRefreshTokens(
  trx: Executor,
  userId: number,
  now: Date,
): Promise<void> {
  await trx
    .updateTable('refresh_tokens')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute()
}
