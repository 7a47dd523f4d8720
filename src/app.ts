import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { validatorCompiler } from 'fastify-type-provider-zod'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import './http/schemas.js'
import type { AppContext } from './context.js'
import { authentication } from './http/auth.js'
import { jsonBodies } from './http/body.js'
import { corsPolicy } from './http/cors.js'
import { docs } from './http/docs.js'
import { errorHandling } from './http/errors.js'
import { health } from './http/health.js'
import { hostCheck } from './http/hosts.js'
import { notFound } from './http/not-found.js'
import { securityHeaders } from './http/security-headers.js'
import { serverOptions } from './http/server.js'
import type { ServerOptions } from './http/server.js'
import { authRoutes } from './auth/auth.routes.js'
import { usersRoutes } from './users/users.routes.js'
import { catalogRoutes } from './catalog/catalog.routes.js'
import { reservationsRoutes } from './reservations/reservations.routes.js'
import { availabilityRoutes } from './reservations/availability.routes.js'
import { dashboardRoutes } from './dashboard/dashboard.routes.js'
import { notificationsRoutes } from './notifications/notifications.routes.js'
import { metricsPlugin } from './metrics/metrics.plugin.js'
import { shopRoutes } from './shop/shop.routes.js'
import { webApp } from './http/web.js'

export interface BuildOptions extends ServerOptions {
  /** Extra readiness checks (Redis, …), each throwing when its dependency is down. */
  readiness?: Record<string, () => Promise<unknown>>
  /** The built web app to serve (default web/dist of this checkout). */
  webRoot?: string
}

/**
 * Builds the HTTP app around a context; the caller owns listening and shutdown. Hooks run in
 * the order the plugins are registered here.
 */
export async function buildApp(ctx: AppContext, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(serverOptions(ctx.config, opts)).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  // Responses are built by our own mappers; plain JSON.stringify keeps the hot path fast.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))

  await app.register(errorHandling) // every error → the contract's shapes; logged with its route
  await app.register(securityHeaders) // OWASP headers; no-store on tokens and credentials
  await app.register(corsPolicy, { origins: ctx.config.corsOrigins })
  await app.register(hostCheck, { config: ctx.config }) // ALLOWED_HOSTS; link base
  await app.register(jsonBodies) // JSON only, bounded depth and size, no NUL
  await app.register(authentication, { ctx }) // Bearer → req.actor
  await app.register(docs) // before the routes it documents
  await app.register(metricsPlugin(ctx)) // request histograms, pool, outbox; GET /metrics
  const web = webApp(opts.webRoot)
  // the one not-found handler (405/404; the web app's pages for a browser); before routes
  await app.register(notFound, { fallbacks: [web.fallback] })
  await app.register(health, { ctx, readiness: opts.readiness })

  await app.register(authRoutes(ctx))
  await app.register(usersRoutes(ctx))
  await app.register(catalogRoutes(ctx))
  await app.register(reservationsRoutes(ctx))
  await app.register(availabilityRoutes(ctx))
  await app.register(dashboardRoutes(ctx))
  await app.register(notificationsRoutes(ctx))
  await app.register(shopRoutes(ctx))
  await app.register(web.files) // the built web app's files (web/dist)
  await app.ready()
  return app
}
