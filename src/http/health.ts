import fp from 'fastify-plugin'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { AppContext } from '../context.js'
import { ping } from '../db/database.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A probe of the process's state (load balancers, orchestrators): answered whatever the
     * `Authorization` and `Host` headers say, since probes come by IP and browsers with old
     * tokens.
     */
    probe?: boolean
  }
}

export interface HealthOptions {
  ctx: AppContext
  /** Extra readiness checks (Redis, …), each throwing when its dependency is down. */
  readiness?: Record<string, () => Promise<unknown>>
}

const plugin: FastifyPluginAsyncZod<HealthOptions> = async (app, { ctx, readiness }) => {
  app.get(
    '/health/',
    {
      config: { probe: true },
      schema: { tags: ['operations'], response: { 200: z.object({ status: z.literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  )
  app.get(
    '/health/ready/',
    {
      config: { probe: true },
      schema: {
        tags: ['operations'],
        response: {
          200: z.object({ status: z.string(), checks: z.record(z.string(), z.string()) }),
          503: z.object({
            detail: z.string(),
            code: z.string(),
            checks: z.record(z.string(), z.string()),
          }),
        },
      },
    },
    async (_req, reply) => {
      const checks: Record<string, () => Promise<unknown>> = {
        database: () => ping(ctx.database.db),
        ...readiness,
      }
      const results: Record<string, string> = {}
      let ok = true
      await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          try {
            await withTimeout(check(), 3000)
            results[name] = 'ok'
          } catch {
            ok = false
            results[name] = 'unavailable'
          }
        }),
      )
      if (!ok) {
        const failed = Object.keys(results).filter((k) => results[k] !== 'ok')
        return reply.code(503).send({
          detail: `Not ready: ${failed.join(', ')} unavailable.`,
          code: 'not_ready',
          checks: results,
        })
      }
      return { status: 'ok', checks: results }
    },
  )
}

/** GET /health/ (the process runs) and GET /health/ready/ (its dependencies answer). */
export const health = fp(plugin, { name: 'health' })

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms)
    p.then(
      (v) => {
        clearTimeout(t)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(t)
        reject(e instanceof Error ? e : new Error(String(e)))
      },
    )
  })
}
