import cors from '@fastify/cors'
import fp from 'fastify-plugin'

/** CORS_ALLOWED_ORIGINS: headers only for a browser's cross-origin request from an allowed origin. */
export const corsPolicy = fp<{ origins: string[] }>(
  async (app, { origins }) => {
    const anyOrigin = origins.includes('*')
    const allowed = new Set(origins)
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
  },
  { name: 'cors-policy' },
)
