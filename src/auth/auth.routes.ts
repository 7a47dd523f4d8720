import { z } from 'zod'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { AppContext } from '../context.js'
import { authenticated, requireActor } from '../http/auth.js'
import { ErrorBody, ValidationErrorBody } from '../http/schemas.js'
import { findUserById, toUser } from '../users/users.repository.js'
import { User } from '../users/users.schemas.js'
import { NotFound } from '../http/errors.js'
import { login, logout, refresh, register } from './auth.service.js'

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
const RefreshBody = z.object({ refresh: z.string() }).meta({ id: 'RefreshRequest' })
const Tokens = z.object({ access: z.string(), refresh: z.string() })

export function authRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/api/auth/register/',
      {
        schema: {
          tags: ['auth'],
          summary: 'Create an account; answers with the user and a token pair',
          body: RegisterBody,
          response: {
            201: Tokens.extend({ user: User }),
            400: ValidationErrorBody,
            429: ErrorBody,
          },
        },
      },
      async (req, reply) => reply.code(201).send(await register(ctx, req.body, req.ip)),
    )
    app.post(
      '/api/auth/login/',
      {
        schema: {
          tags: ['auth'],
          summary: 'Log in with username or email',
          body: LoginBody,
          response: { 200: Tokens.extend({ user: User }), 401: ErrorBody, 429: ErrorBody },
        },
      },
      async (req) => login(ctx, req.body, req.ip),
    )
    app.post(
      '/api/auth/refresh/',
      {
        schema: {
          tags: ['auth'],
          summary: 'Rotate a refresh token',
          body: RefreshBody,
          response: { 200: Tokens, 401: ErrorBody },
        },
      },
      async (req) => refresh(ctx, req.body.refresh),
    )
    app.post(
      '/api/auth/logout/',
      {
        schema: {
          tags: ['auth'],
          summary: "Revoke the refresh token's family",
          body: RefreshBody,
          response: { 204: z.null(), 401: ErrorBody },
        },
      },
      async (req, reply) => {
        await logout(ctx, req.body.refresh)
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
