import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { AppContext } from '../context.js'
import { DerivedCache, requestChange } from '../cache/derived.js'
import { toBool } from '../db/database.js'
import { Forbidden, NotAuthenticated, TokenNotValid } from './errors.js'

/** The authenticated caller, as the domain sees it. */
export interface Actor {
  id: number
  username: string
  isAdmin: boolean
  isStaff: boolean
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null
  }
}

interface AccountRow {
  id: number
  username: string
  is_admin: boolean | number
  is_staff_member: boolean | number
  is_active: boolean | number
}

/**
 * The caller's account as it is now, from memory while nothing was committed since it was
 * read (`changeToken`, src/cache/derived.ts). On PostgreSQL that question is itself a round
 * trip, but one shared by every request that arrives while it runs (`readChange`), and the
 * request's list or figures are then judged by the same token.
 */
async function account(
  ctx: AppContext,
  req: FastifyRequest,
  id: number,
): Promise<AccountRow | undefined> {
  const { db } = ctx.database
  return accounts.get(
    ctx.database,
    await requestChange(ctx.database, req),
    String(id),
    ctx.now().getTime(),
    async () => ({
      value: await db
        .selectFrom('users')
        .select(['id', 'username', 'is_admin', 'is_staff_member', 'is_active'])
        .where('id', '=', id)
        .executeTakeFirst(),
      validUntil: Number.POSITIVE_INFINITY,
    }),
  )
}

const accounts = new DerivedCache<AccountRow | undefined>({ maxEntries: 10_000 })

/**
 * Reads `Authorization: Bearer <access>` and checks the user on every request, so a
 * deactivated or deleted user's tokens stop working at once. Like DRF, a bad token is a
 * 401 even on a public route; no header at all leaves `actor` null.
 */
export async function resolveActor(ctx: AppContext, req: FastifyRequest): Promise<Actor | null> {
  const header = req.headers.authorization
  if (!header) return null
  const parts = header.trim().split(/\s+/)
  // Case-sensitive, as SimpleJWT's AUTH_HEADER_TYPES: another scheme is not ours to judge.
  if (parts[0] !== 'Bearer') return null
  if (parts.length !== 2 || !parts[1]) {
    throw TokenNotValid('Authorization header must contain two space-delimited values')
  }
  const claims = await ctx.tokens.verify(parts[1], 'access', ctx.now())
  if (!claims) throw TokenNotValid()
  const user = await account(ctx, req, claims.user_id)
  if (!user) throw TokenNotValid('User not found')
  if (!toBool(user.is_active)) throw TokenNotValid('User is inactive')
  return {
    id: user.id,
    username: user.username,
    isAdmin: toBool(user.is_admin),
    isStaff: toBool(user.is_staff_member),
  }
}

/** Sets `req.actor` from the bearer token of every request that carries one. */
export const authentication = fp<{ ctx: AppContext }>(
  async (app, { ctx }) => {
    app.decorateRequest('actor', null)
    // onRequest: before the body is read, so a protected route answers 401 before 400.
    // Callback style: a request without credentials (health checks, public lists) costs no promise.
    app.addHook('onRequest', (req, _reply, done) => {
      // Probes (health, readiness) report the process's state to anyone: a load balancer, or a
      // browser tab still holding a stale token, gets it without its credentials being judged.
      if (!req.headers.authorization || req.routeOptions.config.probe) {
        done()
        return
      }
      resolveActor(ctx, req).then((actor) => {
        req.actor = actor
        done()
      }, done)
    })
  },
  { name: 'authentication' },
)

/** Route hooks (preValidation), so authentication fails before body validation does. */
export const authenticated = async (req: FastifyRequest): Promise<void> => {
  requireActor(req)
}
export const adminOnly = async (req: FastifyRequest): Promise<void> => {
  requireAdmin(req)
}

/** The caller, or 401. */
export function requireActor(req: FastifyRequest): Actor {
  if (!req.actor) throw NotAuthenticated()
  return req.actor
}

/** The caller if an admin; 401 anonymous, 403 otherwise. */
export function requireAdmin(req: FastifyRequest): Actor {
  const actor = requireActor(req)
  if (!actor.isAdmin) throw Forbidden()
  return actor
}
