import { z } from 'zod'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { AppContext } from '../context.js'
import { authenticated, requireActor } from '../http/auth.js'
import { Forbidden } from '../http/errors.js'
import { errorResponses } from '../http/schemas.js'
import { dashboardStats } from './dashboard.service.js'
import { requestChange } from '../cache/derived.js'

const count = z.number().int()
const DashboardStats = z
  .object({
    users: z.object({
      total: count,
      customers: count,
      staff: count,
      admins: count,
      new_last_30_days: count,
    }),
    reservations: z.object({
      total: count,
      by_status: z.object({
        pending: count,
        confirmed: count,
        completed: count,
        cancelled: count,
        no_show: count,
      }),
      today: count,
      upcoming: count,
      completion_rate: z.number().min(0).max(1).nullable(),
    }),
    revenue: z.object({ completed: z.string(), expected: z.string() }),
    busiest_hours: z.array(z.object({ hour: z.number().int().min(0).max(23), count })),
    generated_at: z.string(),
  })
  .meta({ id: 'DashboardStats' })

export function dashboardRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/dashboard/stats/',
      {
        schema: {
          tags: ['dashboard'],
          summary: 'Shop figures (admin; staff get their own)',
          security: [{ bearerAuth: [] }],
          querystring: z.object({ from: z.string().optional(), to: z.string().optional() }),
          response: { 200: DashboardStats, ...errorResponses },
        },
        onRequest: authenticated,
      },
      async (req) => {
        const actor = requireActor(req)
        if (!actor.isAdmin && !actor.isStaff) throw Forbidden()
        return dashboardStats(ctx, actor, req.query, await requestChange(ctx.database, req))
      },
    )
  }
}
