import { z } from 'zod'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { AppContext } from '../context.js'

export const Shop = z
  .object({
    name: z.string(),
    phone: z.string().nullable(),
    address: z.string().nullable(),
    timezone: z.string(),
    opening_hours: z.string(),
    slot_minutes: z.number().int(),
    booking_horizon_days: z.number().int(),
    cancellation_cutoff_hours: z.number(),
    currency: z.string(),
  })
  .meta({ id: 'Shop' })

/** `GET /api/shop/`: what a booking page shows about the shop, from the configuration. */
export function shopRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const { config } = ctx
  const shop: z.infer<typeof Shop> = {
    name: config.shop.name,
    phone: config.shop.phone,
    address: config.shop.address,
    timezone: config.timezone,
    opening_hours: config.openingHoursSpec,
    slot_minutes: config.slotMinutes,
    booking_horizon_days: config.bookingHorizonDays,
    cancellation_cutoff_hours: config.cancellationCutoffHours,
    currency: config.shop.currency,
  }
  return async (app) => {
    app.get(
      '/api/shop/',
      {
        schema: {
          tags: ['shop'],
          summary: 'The shop: name, contact, time zone, hours and booking rules (public)',
          response: { 200: Shop },
        },
      },
      async () => shop,
    )
  }
}
