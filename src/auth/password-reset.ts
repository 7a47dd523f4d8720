import { createHash, createHmac, randomBytes } from 'node:crypto'
import type { AppContext } from '../context.js'
import type { Executor } from '../db/database.js'
import { inTransaction, insertReturningId, toBool, toDate } from '../db/database.js'
import { FieldErrors, Throttled } from '../http/errors.js'
import { addToOutbox } from '../notifications/outbox.js'
import { checkEmail } from '../users/users.validation.js'
import { revokeAllRefreshTokens } from './auth.service.js'
import { boundPassword, hashPassword, passwordProblems } from './passwords.js'

/** How long a reset link works. */
export const RESET_TOKEN_MINUTES = 60
/** Reset requests per client address, and per email address asked for, per hour. */
export const RESETS_PER_ADDRESS_PER_HOUR = 20
export const RESETS_PER_ACCOUNT_PER_HOUR = 3

const BAD_TOKEN = 'This password reset link is invalid, expired or already used.'

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex')

/**
 * The token mailed for a reset row: HMAC-SHA256(SECRET_KEY, nonce), 32 bytes, base64url. The
 * database keeps only its SHA-256 and the nonce; the nonce is useless without the key, and
 * lets a retried send rebuild the same link.
 */
export function resetToken(secretKey: string, nonce: string): string {
  return createHmac('sha256', secretKey).update(`password-reset:${nonce}`).digest('base64url')
}

/** The address the web page that sets the new password is at. */
export function resetLink(publicUrl: string, token: string): string {
  return `${publicUrl}/reset-password?token=${encodeURIComponent(token)}`
}

/**
 * Asks for a reset link. The answer, and the work done, are the same whether or not an
 * account has that address: the limits count the address asked for (not the account found,
 * which would tell), a token is made and hashed, and the lookup runs in one transaction either
 * way; only when an active account has that address is the row and its mail written.
 */
export async function requestPasswordReset(
  ctx: AppContext,
  input: { email: string },
  address: string,
): Promise<void> {
  const errors = new FieldErrors()
  const email = checkEmail(errors, input.email)
  errors.throwIfAny()
  const key = email!.toLowerCase()
  const now = ctx.now()
  const addressWait = await ctx.throttle.hit(
    `pwreset:ip:${address}`,
    RESETS_PER_ADDRESS_PER_HOUR,
    3600,
    now,
  )
  if (addressWait > 0) throw Throttled(addressWait)
  const accountWait = await ctx.throttle.hit(
    `pwreset:account:${sha256(key)}`,
    RESETS_PER_ACCOUNT_PER_HOUR,
    3600,
    now,
  )
  if (accountWait > 0) throw Throttled(accountWait)

  const nonce = randomBytes(32).toString('hex')
  const tokenHash = sha256(resetToken(ctx.config.secretKey, nonce))
  const sent = await inTransaction(ctx.database, async (trx) => {
    const user = await trx
      .selectFrom('users')
      .select(['id', 'is_active'])
      .where('email_key', '=', key)
      .executeTakeFirst()
    if (!user || !toBool(user.is_active)) return false
    const resetId = await insertReturningId(ctx.database.engine, trx, 'password_reset_tokens', {
      token_hash: tokenHash,
      nonce,
      user_id: user.id,
      email_key: key,
      created_at: now,
      expires_at: new Date(now.getTime() + RESET_TOKEN_MINUTES * 60_000),
      used_at: null,
    })
    await addToOutbox(trx, now, 'email.password_reset', { resetId })
    return true
  })
  if (sent) ctx.wakeOutbox()
}

/**
 * Sets a new password with a token from a reset mail: single use, within the hour, the
 * registration's password policy; every refresh token of the account is revoked and every
 * other outstanding reset link of it stops working.
 */
export async function confirmPasswordReset(
  ctx: AppContext,
  input: { token: string; password: string },
): Promise<void> {
  const errors = new FieldErrors()
  // A token is 43 characters; anything far longer is not one (and is not hashed).
  const tokenHash = input.token.length > 0 && input.token.length <= 256 ? sha256(input.token) : null
  const password = boundPassword(errors, input.password)
  const now = ctx.now()
  const row = tokenHash ? await validReset(ctx.database.db, tokenHash, now) : undefined
  const user = row
    ? await ctx.database.db
        .selectFrom('users')
        .select(['id', 'username', 'email', 'is_active'])
        .where('id', '=', row.user_id)
        .executeTakeFirst()
    : undefined
  if (!row || !user || !toBool(user.is_active)) errors.add('token', BAD_TOKEN)
  if (password !== undefined) {
    const attrs = user ? { username: user.username, email: user.email } : {}
    for (const p of passwordProblems(password, attrs)) errors.add('password', p)
  }
  errors.throwIfAny()

  const passwordHash = await hashPassword(password!)
  const done = await inTransaction(ctx.database, async (trx) => {
    // Compare-and-set: of two confirms racing with one token, one wins.
    const used = await trx
      .updateTable('password_reset_tokens')
      .set({ used_at: now })
      .where('id', '=', row!.id)
      .where('used_at', 'is', null)
      .executeTakeFirst()
    if (Number(used.numUpdatedRows) === 0) return false
    await trx
      .updateTable('users')
      .set({ password: passwordHash })
      .where('id', '=', user!.id)
      .execute()
    await trx
      .updateTable('password_reset_tokens')
      .set({ used_at: now })
      .where('user_id', '=', user!.id)
      .where('used_at', 'is', null)
      .execute()
    await revokeAllRefreshTokens(trx, user!.id, now)
    return true
  })
  if (!done) throw FieldErrors.single('token', BAD_TOKEN)
}

async function validReset(db: Executor, tokenHash: string, now: Date) {
  const row = await db
    .selectFrom('password_reset_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst()
  if (!row || row.used_at || toDate(row.expires_at) <= now) return undefined
  return row
}
