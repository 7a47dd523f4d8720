import { z } from 'zod'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { AppContext } from '../context.js'
import { authenticated, requireActor } from '../http/auth.js'
import { ErrorBody, ValidationErrorBody } from '../http/schemas.js'
import { findUserById, toUser } from '../users/users.repository.js'
import { User } from '../users/users.schemas.js'
import { NotFound } from '../http/errors.js'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { FieldErrors } from '../http/errors.js'
import { login, logout, refresh, register } from './auth.service.js'
import { confirmPasswordReset, requestPasswordReset } from './password-reset.js'
import {
  assertSameSite,
  clearRefreshCookie,
  readRefreshCookie,
  setRefreshCookie,
  wantsCookie,
} from './session-cookie.js'

const RegisterBody = z
  .object({
    username: z.string(),
    email: z.string(),
    password: z.string(),
    phone: z.string().nullable().optional(),
    first_name: z.string().optional(),
    last_name: z.string().optional(),
  })
  .meta({ id: 'RegisterRequest' })
const LoginBody = z
  .object({ username: z.string(), password: z.string() })
  .meta({ id: 'LoginRequest' })
const RefreshBody = z
  .object({
    refresh: z.string().optional().meta({
      description: 'Required unless the request carries the refresh cookie (cookie mode).',
    }),
  })
  .meta({ id: 'RefreshRequest' })
const Tokens = z.object({
  access: z.string(),
  refresh: z
    .string()
    .optional()
    .meta({ description: 'Absent in cookie mode: the refresh token is then a cookie.' }),
})

const transportHeader = z.looseObject({
  'x-auth-transport': z.string().optional().meta({
    description:
      'cookie: the refresh token is set as the HttpOnly cookie __Secure-fd_refresh (Path=/api/auth/) instead of being in the body.',
  }),
})

const PasswordResetBody = z.object({ email: z.string() }).meta({ id: 'PasswordResetRequest' })
const PasswordResetConfirmBody = z
  .object({
    token: z.string().meta({ description: 'The token from the reset link in the email.' }),
    password: z.string(),
  })
  .meta({ id: 'PasswordResetConfirm' })

/** Before the body is read: cookie-mode requests must come from this site. */
function authGuard(ctx: AppContext) {
  return async (req: FastifyRequest): Promise<void> => {
    if (wantsCookie(req)) assertSameSite(req, ctx.config)
  }
}

/**
 * The refresh token a refresh or logout acts on: the body's, else (cookie mode) the cookie's.
 * `cookie` says whether the answer goes back as a cookie.
 */
function refreshTokenOf(
  ctx: AppContext,
  req: FastifyRequest<{ Body: { refresh?: string } }>,
): { token: string; cookie: boolean } {
  const cookie = wantsCookie(req)
  if (req.body.refresh !== undefined) return { token: req.body.refresh, cookie }
  const fromCookie = readRefreshCookie(req)
  if (fromCookie === undefined) throw FieldErrors.single('refresh', 'This field is required.')
  // Reading the cookie makes this a cookie-mode request, asked for or not.
  if (!cookie) assertSameSite(req, ctx.config)
  return { token: fromCookie, cookie: true }
}

/** In cookie mode the refresh token leaves as a cookie and the body keeps the rest. */
function deliverTokens<T extends { refresh: string }>(
  ctx: AppContext,
  reply: FastifyReply,
  result: T,
  cookie: boolean,
): Omit<T, 'refresh'> & { refresh?: string } {
  if (!cookie) return result
  setRefreshCookie(reply, result.refresh, ctx.config.refreshTokenDays * 86400)
  const { refresh: _sent, ...rest } = result
  return rest
}

export function authRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const guard = authGuard(ctx)
  return async (app) => {
    app.post(
      '/api/auth/register/',
      {
        schema: {
          tags: ['auth'],
          summary: 'Create an account; answers with the user and a token pair',
          headers: transportHeader,
          body: RegisterBody,
          response: {
            201: Tokens.extend({ user: User }),
            400: ValidationErrorBody,
            403: ErrorBody,
            429: ErrorBody,
          },
        },
        onRequest: guard,
      },
      async (req, reply) => {
        const result = await register(ctx, req.body, req.ip)
        return reply.code(201).send(deliverTokens(ctx, reply, result, wantsCookie(req)))
      },
    )
    app.post(
      '/api/auth/login/',
      {
        schema: {
          tags: ['auth'],
          summary: 'Log in with username or email',
          headers: transportHeader,
          body: LoginBody,
          response: {
            200: Tokens.extend({ user: User }),
            401: ErrorBody,
            403: ErrorBody,
            429: ErrorBody,
          },
        },
        onRequest: guard,
      },
      async (req, reply) =>
        deliverTokens(ctx, reply, await login(ctx, req.body, req.ip), wantsCookie(req)),
    )
    app.post(
      '/api/auth/refresh/',
      {
        schema: {
          tags: ['auth'],
          summary: 'Rotate a refresh token (from the body, else the refresh cookie)',
          headers: transportHeader,
          body: RefreshBody,
          response: { 200: Tokens, 400: ValidationErrorBody, 401: ErrorBody, 403: ErrorBody },
        },
        onRequest: guard,
      },
      async (req, reply) => {
        const { token, cookie } = refreshTokenOf(ctx, req)
        return deliverTokens(ctx, reply, await refresh(ctx, token), cookie)
      },
    )
    app.post(
      '/api/auth/logout/',
      {
        schema: {
          tags: ['auth'],
          summary: "Revoke the refresh token's family (from the body, else the refresh cookie)",
          headers: transportHeader,
          body: RefreshBody,
          response: { 204: z.null(), 400: ValidationErrorBody, 401: ErrorBody, 403: ErrorBody },
        },
        onRequest: guard,
      },
      async (req, reply) => {
        const { token, cookie } = refreshTokenOf(ctx, req)
        // The cookie goes whatever the token's state: a logged-out browser keeps nothing.
        if (cookie) clearRefreshCookie(reply)
        await logout(ctx, token)
        return reply.code(204).send(null)
      },
    )
    app.post(
      '/api/auth/password/reset/',
      {
        schema: {
          tags: ['auth'],
          summary:
            'Email a password reset link; the same 204 whether or not an account has the address',
          body: PasswordResetBody,
          response: { 204: z.null(), 400: ValidationErrorBody, 429: ErrorBody },
        },
        onRequest: guard,
      },
      async (req, reply) => {
        await requestPasswordReset(ctx, req.body, req.ip)
        return reply.code(204).send(null)
      },
    )
    app.post(
      '/api/auth/password/reset/confirm/',
      {
        schema: {
          tags: ['auth'],
          summary: "Set a new password with a reset link's token; ends every login of the account",
          body: PasswordResetConfirmBody,
          response: { 204: z.null(), 400: ValidationErrorBody },
        },
        onRequest: guard,
      },
      async (req, reply) => {
        await confirmPasswordReset(ctx, req.body)
        return reply.code(204).send(null)
      },
    )
    app.get(
      '/api/auth/me/',
      {
        schema: {
          tags: ['auth'],
          summary: 'The caller',
          security: [{ bearerAuth: [] }],
          response: { 200: User, 401: ErrorBody },
        },
        onRequest: authenticated,
      },
      async (req) => {
        const user = await findUserById(ctx.database.db, requireActor(req).id)
        if (!user) throw NotFound()
        return toUser(user)
      },
    )
  }
}
