import { createServer } from 'node:http'
import Fastify from 'fastify'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import cors from '@fastify/cors'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  validatorCompiler,
} from 'fastify-type-provider-zod'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import './http/schemas.js'
import type { AppContext } from './context.js'
import { ping } from './db/database.js'
import { registerAuth } from './http/auth.js'
import { ApiError, registerErrorHandler, ValidationFailed } from './http/errors.js'
import { authRoutes } from './auth/auth.routes.js'
import { usersRoutes } from './users/users.routes.js'
import { catalogRoutes } from './catalog/catalog.routes.js'
import { reservationsRoutes } from './reservations/reservations.routes.js'
import { availabilityRoutes } from './reservations/availability.routes.js'
import { dashboardRoutes } from './dashboard/dashboard.routes.js'
import { notificationsRoutes } from './notifications/notifications.routes.js'
import { shopRoutes } from './shop/shop.routes.js'
import { webApp } from './http/web.js'

export interface BuildOptions {
  /** Extra readiness checks (Redis, …), each throwing when its dependency is down. */
  readiness?: Record<string, () => Promise<unknown>>
  /** A pino logger shared with the job runner (none in tests unless given). */
  loggerInstance?: FastifyBaseLogger
  /** How long a client may take to send a whole request (default 30 s). */
  requestTimeoutMs?: number
  /** The built web app to serve (default web/dist of this checkout). */
  webRoot?: string
}

const BODY_LIMIT = 1024 * 1024

const SECURITY_HEADERS = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
}
/** Longer than the usual proxy/load-balancer idle timeout (60 s), so the proxy closes first. */
const KEEP_ALIVE_MS = 72_000

/** Builds the HTTP app around a context; the caller owns listening and shutdown. */
export async function buildApp(ctx: AppContext, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.loggerInstance ? { loggerInstance: opts.loggerInstance } : { logger: false }),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
    bodyLimit: BODY_LIMIT,
    trustProxy: ctx.config.trustProxy,
    // A client that trickles its body is cut off instead of holding a socket forever.
    // Node checks request timeouts every connectionsCheckingInterval (30 s by default): check
    // every second so a client trickling its body is cut off close to the limit.
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout: opts.requestTimeoutMs ?? 30_000,
          connectionsCheckingInterval: 1000,
          // Fastify's keepAliveTimeout does not reach a server it did not create.
          keepAliveTimeout: KEEP_ALIVE_MS,
        },
        handler,
      ),
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    // Errors the HTTP parser meets before any route (slow body, oversized headers, garbage):
    // answered on the socket, still in the contract's shape.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      const [status, text, code, detail] =
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'request_timeout', 'The request was not received in time.']
          : err.code === 'HPE_HEADER_OVERFLOW'
            ? [
                431,
                'Request Header Fields Too Large',
                'headers_too_large',
                'Request headers are too large.',
              ]
            : [400, 'Bad Request', 'bad_request', 'Malformed HTTP request.']
      if (socket.writable) {
        const body = JSON.stringify({ detail, code })
        socket.end(
          `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        )
      } else socket.destroy()
    },
    // Malformed URLs and the like: the contract's error shape, not Fastify's.
    frameworkErrors: (error, _req, reply) => {
      const status = (error as { statusCode?: number }).statusCode ?? 400
      void reply
        .code(status as never)
        .type('application/json; charset=utf-8')
        .send(
          JSON.stringify({
            detail: error.message,
            code: status === 414 ? 'uri_too_long' : 'bad_request',
          }) as never,
        )
    },
    connectionTimeout: 60_000,
    keepAliveTimeout: KEEP_ALIVE_MS,
    requestIdHeader: 'x-request-id',
    // Requests already on an open connection while closing are served (with Connection: close)
    // instead of Fastify's own 503 body, which is not the contract's shape.
    return503OnClosing: false,
  }).withTypeProvider<ZodTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)
  // Responses are built by our own mappers; plain JSON.stringify keeps the hot path fast.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))
  registerErrorHandler(app)

  // Bodies are JSON only: text/plain is refused with 415 like any other type.
  app.removeContentTypeParser('text/plain')
  // An empty body sent as JSON is no body (DRF reads it as {}), not a parse error; anything
  // else goes to Fastify's own parser (prototype-poisoning checks included).
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text === '') done(null, undefined)
    else void parseJson(req, text, done)
  })

  // The headers OWASP's REST Security cheat sheet asks of a JSON API, set at once on every
  // response (helmet's chain of per-header middlewares cost more than the rest of a health
  // check). Helmet's browser-document extras (Origin-Agent-Cluster, X-DNS-Prefetch-Control,
  // X-Download-Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection, COOP) protect
  // HTML pages; the one page here, /api/docs/, brings its own CSP (swagger-ui staticCSP).
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(SECURITY_HEADERS)
    done()
  })
  const anyOrigin = ctx.config.corsOrigins.includes('*')
  const allowed = new Set(ctx.config.corsOrigins)
  await app.register(cors, {
    // CORS headers only answer a browser's cross-origin request (one with an Origin header),
    // and only for an allowed origin; other requests get none.
    origin: (origin, cb) => cb(null, !!origin && (anyOrigin || allowed.has(origin))),
    credentials: !anyOrigin,
    exposedHeaders: ['ETag', 'Retry-After'],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'If-Match',
      'X-Auth-Transport',
      'X-Request-Id',
    ],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
  })
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Fade District reservation API',
        version: '1.0.0',
        description: 'Barbershop reservations.',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  })
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true })

  // A write without a body is an empty object, so missing fields are named one by one.
  app.addHook('preValidation', (req, _reply, done) => {
    // django-filter skips a filter given an empty value (?staff=&status=): so do we. Not
    // ?page=, which DRF answers with 404 "Invalid page.".
    const query = req.query as Record<string, unknown> | undefined
    if (query && typeof query === 'object') {
      for (const [k, v] of Object.entries(query)) if (v === '' && k !== 'page') delete query[k]
    }
    if (
      req.body === undefined &&
      (req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH')
    ) {
      req.body = {}
    }
    // NUL cannot be stored in PostgreSQL text and is never meaningful here (DRF refuses it too).
    if (
      req.url.includes('%00') ||
      (req.body !== undefined && JSON.stringify(req.body).includes('\\u0000'))
    ) {
      done(new ValidationFailed({ non_field_errors: ['Null characters are not allowed.'] }))
      return
    }
    done()
  })

  registerAuth(app, ctx)
  registerMethodNotAllowed(app)

  app.get(
    '/health/',
    { schema: { tags: ['operations'], response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  )
  app.get(
    '/health/ready/',
    {
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
        ...opts.readiness,
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
  app.get('/api/schema/', { schema: { hide: true } }, async () => app.swagger())

  await app.register(authRoutes(ctx))
  await app.register(usersRoutes(ctx))
  await app.register(catalogRoutes(ctx))
  await app.register(reservationsRoutes(ctx))
  await app.register(availabilityRoutes(ctx))
  await app.register(dashboardRoutes(ctx))
  await app.register(notificationsRoutes(ctx))
  await app.register(shopRoutes(ctx))
  await app.register(webApp(opts.webRoot))
  await app.ready()
  return app
}

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

/** A known path with an unsupported method answers 405 with Allow, as DRF does; else 404. */
function registerMethodNotAllowed(app: FastifyInstance): void {
  const routes: { pattern: RegExp; methods: Set<string> }[] = []
  app.addHook('onRoute', (route) => {
    const source = route.url
      .replace(/\/+$/, '')
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace(/:[A-Za-z_]+/g, '[^/]+')
    const pattern = new RegExp(`^${source}/?$`)
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const existing = routes.find((r) => r.pattern.source === pattern.source)
    if (existing) for (const m of methods) existing.methods.add(m)
    else routes.push({ pattern, methods: new Set(methods) })
  })
  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0] ?? ''
    const match = routes.find((r) => r.pattern.test(path))
    if (match) {
      const allow = [...match.methods, 'OPTIONS'].join(', ')
      // OPTIONS that is not a CORS preflight: DRF's metadata answer.
      if (req.method === 'OPTIONS') {
        return reply
          .code(200)
          .header('allow', allow)
          .send({
            name: viewName(path),
            description: '',
            renders: ['application/json'],
            parses: ['application/json'],
          })
      }
      throw new ApiError(405, `Method "${req.method}" not allowed.`, 'method_not_allowed', {
        allow,
      })
    }
    throw new ApiError(404, 'Not found.', 'not_found')
  })
}

/** A readable name for a path, in the spirit of DRF's view names ("Reservations Detail"). */
function viewName(path: string): string {
  const parts = path.split('/').filter((p) => p && p !== 'api')
  const detail = parts.length > 1 && /^\d+$/.test(parts[1] ?? '')
  const base = (parts[0] ?? 'api').replace(/[-_]/g, ' ')
  const words = base.charAt(0).toUpperCase() + base.slice(1)
  return parts.length === 0 ? 'Api Root' : detail ? `${words} Instance` : `${words} List`
}
