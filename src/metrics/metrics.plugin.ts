import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { register } from 'prom-client'
import type { AppContext } from '../context.js'
import { workerIdentity } from '../cluster/ipc.js'
import { adminOnly } from '../http/auth.js'
import { ErrorBody } from '../http/schemas.js'
import { collectProcessMetrics, httpDuration, watchDatabase } from './metrics.js'

/** Where a scrape's text comes from: this process, or (in a cluster) every process merged. */
export type ScrapeSource = () => Promise<{ text: string; contentType: string }>

let source: ScrapeSource = async () => ({
  text: await register.metrics(),
  contentType: register.contentType,
})

/** The cluster's HTTP processes answer a scrape with the figures of all processes. */
export function useScrapeSource(s: ScrapeSource): void {
  source = s
}

/**
 * GET /metrics (Prometheus text, admin only: `Authorization: Bearer <admin access token>`)
 * and the per-route request histogram. Its hooks apply to every route (the plugin is not
 * encapsulated).
 */
export function metricsPlugin(ctx: AppContext): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (app) => {
    collectProcessMetrics(workerIdentity()?.name ?? 'main')
    const unwatch = watchDatabase(ctx.database)
    app.addHook('onClose', async () => unwatch())

    app.addHook('onResponse', (req, reply, done) => {
      httpDuration.observe(
        {
          // The route's pattern (/api/reservations/:id/), never the raw URL: bounded labels.
          route: req.routeOptions.url ?? 'unmatched',
          method: req.method,
          status_class: `${Math.floor(reply.statusCode / 100)}xx`,
        },
        reply.elapsedTime / 1000,
      )
      done()
    })

    app.get(
      '/metrics',
      {
        schema: {
          tags: ['operations'],
          summary: 'Prometheus metrics of every process (admin)',
          description:
            'Prometheus text exposition (text/plain; version=0.0.4): request rate and latency per route, database pool, booking lock waits and retries, outbox depth and age, job lag, event-loop delay. Admin bearer token required.',
          security: [{ bearerAuth: [] }],
          response: {
            200: {
              description: 'Prometheus text exposition format 0.0.4',
              content: { 'text/plain': { schema: z.string() } },
            },
            401: ErrorBody,
            403: ErrorBody,
          },
        },
        onRequest: adminOnly,
      },
      async (_req, reply) => {
        const { text, contentType } = await source()
        return reply.type(contentType).send(text)
      },
    )
  }
  // Like fastify-plugin: the hooks reach the routes registered beside it.
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true })
}
