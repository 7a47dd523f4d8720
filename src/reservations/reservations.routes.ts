import { z } from 'zod'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { AppContext } from '../context.js'
import { requestChange } from '../cache/derived.js'
import { authenticated, requireActor } from '../http/auth.js'
import { paginate } from '../http/pagination.js'
import { ErrorBody, errorResponses, IdParams, paginated } from '../http/schemas.js'
import { historyOf } from './reservations.repository.js'
import {
  CreateReservationBody,
  HistoryEntry,
  Reservation,
  ReservationListQuery,
  UpdateReservationBody,
} from './reservations.schemas.js'
import {
  assertVisible,
  createReservation,
  deleteReservation,
  getReservation,
  listReservations,
  reservationCalendar,
  updateReservation,
} from './reservations.service.js'

const security = [{ bearerAuth: [] }]
const IdempotencyHeaders = z.object({ 'idempotency-key': z.string().min(1).max(255).optional() })
const IfMatchHeaders = z.object({ 'if-match': z.string().optional() })

export function reservationsRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/reservations/',
      {
        schema: {
          tags: ['reservations'],
          summary: 'Reservations the caller may see',
          security,
          querystring: ReservationListQuery,
          response: { 200: paginated(Reservation), ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req) => {
        const { count, results } = await listReservations(
          ctx,
          requireActor(req),
          req.query,
          await requestChange(ctx.database, req),
        )
        return paginate(req, req.query, count, results)
      },
    )
    app.post(
      '/api/reservations/',
      {
        schema: {
          tags: ['reservations'],
          summary: 'Book a slot (Idempotency-Key makes retries safe)',
          security,
          headers: IdempotencyHeaders,
          body: CreateReservationBody,
          response: { 201: Reservation, ...errorResponses, 409: ErrorBody, 422: ErrorBody },
        },
        onRequest: authenticated,
      },
      async (req, reply) => {
        const result = await createReservation(
          ctx,
          requireActor(req),
          req.body,
          req.headers['idempotency-key'],
        )
        if (result.etag) void reply.header('etag', result.etag)
        if (result.replayed) void reply.header('idempotent-replayed', 'true')
        return reply.code(result.status as 201).send(result.body)
      },
    )
    app.get(
      '/api/reservations/:id/',
      {
        schema: {
          tags: ['reservations'],
          security,
          params: IdParams,
          response: { 200: Reservation, ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req, reply) => {
        const { reservation, etag } = await getReservation(ctx, requireActor(req), req.params.id)
        void reply.header('etag', etag)
        return reservation
      },
    )
    app.patch(
      '/api/reservations/:id/',
      {
        schema: {
          tags: ['reservations'],
          summary: 'Change notes, move, or move through the workflow (If-Match supported)',
          security,
          params: IdParams,
          headers: IfMatchHeaders,
          body: UpdateReservationBody,
          response: { 200: Reservation, ...errorResponses, 409: ErrorBody, 412: ErrorBody },
        },
        onRequest: authenticated,
      },
      async (req, reply) => {
        const { reservation, etag } = await updateReservation(
          ctx,
          requireActor(req),
          req.params.id,
          req.body,
          req.headers['if-match'],
        )
        void reply.header('etag', etag)
        return reservation
      },
    )
    app.delete(
      '/api/reservations/:id/',
      {
        schema: {
          tags: ['reservations'],
          security,
          params: IdParams,
          headers: IfMatchHeaders,
          response: { 204: z.null(), ...errorResponses, 412: ErrorBody },
        },
        onRequest: authenticated,
      },
      async (req, reply) => {
        await deleteReservation(ctx, requireActor(req), req.params.id, req.headers['if-match'])
        return reply.code(204).send(null)
      },
    )
    app.get(
      '/api/reservations/:id/calendar.ics',
      {
        schema: {
          tags: ['reservations'],
          summary: 'The reservation as an iCalendar event (METHOD:PUBLISH), for "add to calendar"',
          security,
          params: IdParams,
          response: {
            200: {
              description: 'An iCalendar (RFC 5545) object',
              content: { 'text/calendar': { schema: z.string() } },
            },
            ...errorResponses,
          },
        },
        onRequest: authenticated,
      },
      async (req, reply) => {
        const ics = await reservationCalendar(ctx, requireActor(req), req.params.id)
        return reply
          .type('text/calendar; charset=utf-8')
          .header('content-disposition', `attachment; filename="reservation-${req.params.id}.ics"`)
          .send(ics)
      },
    )
    app.get(
      '/api/reservations/:id/history/',
      {
        schema: {
          tags: ['reservations'],
          summary: 'Every change of status or time, oldest first',
          security,
          params: IdParams,
          response: { 200: z.array(HistoryEntry), ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req) => {
        await assertVisible(ctx, requireActor(req), req.params.id)
        return historyOf(ctx.database.db, req.params.id)
      },
    )
  }
}
