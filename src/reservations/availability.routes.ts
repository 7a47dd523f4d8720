import { z } from 'zod'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { AppContext } from '../context.js'
import { requestChange } from '../cache/derived.js'
import { QueryId, ValidationErrorBody } from '../http/schemas.js'
import { availability } from './availability.js'

const AvailabilityQuery = z.object({
  date: z.string({ error: 'This field is required.' }),
  staff: QueryId.optional(),
  service: QueryId.optional(),
  duration: z.coerce
    .number({ error: 'A valid integer is required.' })
    .int('A valid integer is required.')
    .optional(),
})

const Availability = z
  .object({
    date: z.string(),
    timezone: z.string(),
    slots: z.array(
      z.object({ start_time: z.string(), end_time: z.string(), staff: z.array(z.number().int()) }),
    ),
  })
  .meta({ id: 'Availability' })

export function availabilityRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/availability/',
      {
        schema: {
          tags: ['availability'],
          summary: 'Free start times for a date (public)',
          querystring: AvailabilityQuery,
          response: { 200: Availability, 400: ValidationErrorBody },
        },
      },
      async (req, reply) => {
        const { json } = await availability(ctx, req.query, await requestChange(ctx.database, req))
        // Serialised once per cached answer: a string with a JSON content type is sent as is.
        return reply.type('application/json; charset=utf-8').send(json as never)
      },
    )
  }
}
