import { z } from 'zod'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { AppContext } from '../context.js'
import { adminOnly, authenticated, requireActor } from '../http/auth.js'
import { NotFound } from '../http/errors.js'
import { paginate } from '../http/pagination.js'
import { PageQuery } from '../http/pagination.js'
import { errorResponses, IdParams, paginated } from '../http/schemas.js'
import {
  CreateServiceBody,
  CreateTimeOffBody,
  Hours,
  Service,
  ServiceListQuery,
  StaffMember,
  TimeOff,
  TimeOffListQuery,
  UpdateServiceBody,
  UpdateTimeOffBody,
} from './catalog.schemas.js'
import {
  createService,
  createTimeOff,
  deleteService,
  deleteTimeOff,
  getHours,
  getService,
  getTimeOff,
  listServices,
  listStaff,
  listTimeOff,
  setHours,
  updateService,
  updateTimeOff,
} from './catalog.service.js'

const security = [{ bearerAuth: [] }]

export function catalogRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    /* services */
    app.get(
      '/api/services/',
      {
        schema: {
          tags: ['services'],
          summary: 'The service catalogue (public; admins also see inactive ones)',
          querystring: ServiceListQuery,
          response: { 200: paginated(Service) },
        },
      },
      async (req) => {
        const { count, results } = await listServices(ctx, req.actor, req.query)
        return paginate(req, req.query, count, results)
      },
    )
    app.post(
      '/api/services/',
      {
        schema: {
          tags: ['services'],
          security,
          body: CreateServiceBody,
          response: { 201: Service, ...errorResponses },
        },
        onRequest: adminOnly,
      },
      async (req, reply) => reply.code(201).send(await createService(ctx, req.body)),
    )
    app.get(
      '/api/services/:id/',
      {
        schema: {
          tags: ['services'],
          summary: 'One service (public, like the list; admins also see inactive ones)',
          params: IdParams,
          response: { 200: Service, ...errorResponses },
        },
      },
      async (req) => {
        const service = await getService(ctx, req.params.id)
        // Outside the public catalogue, as in the list: an inactive service is the admin's.
        if (!service.is_active && !req.actor?.isAdmin) throw NotFound()
        return service
      },
    )
    app.patch(
      '/api/services/:id/',
      {
        schema: {
          tags: ['services'],
          security,
          params: IdParams,
          body: UpdateServiceBody,
          response: { 200: Service, ...errorResponses },
        },
        onRequest: adminOnly,
      },
      async (req) => updateService(ctx, req.params.id, req.body),
    )
    app.delete(
      '/api/services/:id/',
      {
        schema: {
          tags: ['services'],
          security,
          params: IdParams,
          response: { 204: z.null(), ...errorResponses },
        },
        onRequest: adminOnly,
      },
      async (req, reply) => {
        await deleteService(ctx, req.params.id)
        return reply.code(204).send(null)
      },
    )

    /* staff */
    app.get(
      '/api/staff/',
      {
        schema: {
          tags: ['staff'],
          summary: 'Active staff members (public)',
          querystring: PageQuery,
          response: { 200: paginated(StaffMember) },
        },
      },
      async (req) => {
        const { count, results } = await listStaff(ctx, req.query)
        return paginate(req, req.query, count, results)
      },
    )
    app.get(
      '/api/staff/:id/hours/',
      {
        schema: {
          tags: ['staff'],
          summary: "A barber's weekly working hours (null: the shop's)",
          params: IdParams,
          response: { 200: Hours, 404: errorResponses[404] },
        },
      },
      async (req) => getHours(ctx, req.params.id),
    )
    app.put(
      '/api/staff/:id/hours/',
      {
        schema: {
          tags: ['staff'],
          security,
          params: IdParams,
          body: Hours,
          response: { 200: Hours, ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req) => setHours(ctx, requireActor(req), req.params.id, req.body.hours),
    )

    /* time off */
    app.get(
      '/api/time-off/',
      {
        schema: {
          tags: ['time-off'],
          security,
          querystring: TimeOffListQuery,
          response: { 200: paginated(TimeOff), ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req) => {
        const { count, results } = await listTimeOff(ctx, requireActor(req), req.query)
        return paginate(req, req.query, count, results)
      },
    )
    app.post(
      '/api/time-off/',
      {
        schema: {
          tags: ['time-off'],
          security,
          body: CreateTimeOffBody,
          response: { 201: TimeOff, ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req, reply) =>
        reply.code(201).send(await createTimeOff(ctx, requireActor(req), req.body)),
    )
    app.get(
      '/api/time-off/:id/',
      {
        schema: {
          tags: ['time-off'],
          security,
          params: IdParams,
          response: { 200: TimeOff, ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req) => getTimeOff(ctx, requireActor(req), req.params.id),
    )
    app.patch(
      '/api/time-off/:id/',
      {
        schema: {
          tags: ['time-off'],
          security,
          params: IdParams,
          body: UpdateTimeOffBody,
          response: { 200: TimeOff, ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req) => updateTimeOff(ctx, requireActor(req), req.params.id, req.body),
    )
    app.delete(
      '/api/time-off/:id/',
      {
        schema: {
          tags: ['time-off'],
          security,
          params: IdParams,
          response: { 204: z.null(), ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req, reply) => {
        await deleteTimeOff(ctx, requireActor(req), req.params.id)
        return reply.code(204).send(null)
      },
    )
  }
}
