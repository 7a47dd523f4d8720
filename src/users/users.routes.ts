import { z } from 'zod'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { AppContext } from '../context.js'
import { adminOnly, authenticated, requireActor } from '../http/auth.js'
import { paginate } from '../http/pagination.js'
import { errorResponses, IdParams, paginated } from '../http/schemas.js'
import { CreateCustomerBody, UpdateUserBody, User, UserListQuery } from './users.schemas.js'
import {
  createCustomer,
  deleteUser,
  exportUser,
  getUser,
  listUsers,
  updateUser,
} from './users.service.js'

const security = [{ bearerAuth: [] }]

export function usersRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/users/',
      {
        schema: {
          tags: ['users'],
          summary: 'List users (admin)',
          security,
          querystring: UserListQuery,
          response: { 200: paginated(User), ...errorResponses },
        },
        onRequest: adminOnly,
      },
      async (req) => {
        const { count, results } = await listUsers(ctx, req.query)
        return paginate(req, req.query, count, results)
      },
    )
    app.post(
      '/api/users/',
      {
        schema: {
          tags: ['users'],
          summary: 'Add a customer without a password (admin or staff member)',
          security,
          body: CreateCustomerBody,
          response: { 201: User, ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req, reply) =>
        reply.code(201).send(await createCustomer(ctx, requireActor(req), req.body)),
    )
    app.get(
      '/api/users/me/export/',
      {
        schema: {
          tags: ['users'],
          summary: "The caller's profile and reservations with history (data portability)",
          security,
          response: {
            200: z.object({
              exported_at: z.string(),
              user: User,
              reservations: z.array(z.unknown()),
            }),
            ...errorResponses,
          },
        },
        onRequest: authenticated,
      },
      async (req, reply) => {
        const data = await exportUser(ctx, requireActor(req))
        void reply.header(
          'content-disposition',
          `attachment; filename="fade-district-export-${data.user.id}.json"`,
        )
        return data
      },
    )
    app.get(
      '/api/users/:id/',
      {
        schema: {
          tags: ['users'],
          summary: 'One user',
          security,
          params: IdParams,
          response: { 200: User, ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req) => getUser(ctx, requireActor(req), req.params.id),
    )
    app.patch(
      '/api/users/:id/',
      {
        schema: {
          tags: ['users'],
          summary: 'Update a user',
          security,
          params: IdParams,
          body: UpdateUserBody,
          response: { 200: User, ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req) => updateUser(ctx, requireActor(req), req.params.id, req.body, req.ip),
    )
    app.delete(
      '/api/users/:id/',
      {
        schema: {
          tags: ['users'],
          summary: 'Delete a user and their reservations',
          security,
          params: IdParams,
          response: { 204: z.null(), ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req, reply) => {
        await deleteUser(ctx, requireActor(req), req.params.id)
        return reply.code(204).send(null)
      },
    )
  }
}
