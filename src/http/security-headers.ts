import fp from 'fastify-plugin'

const SECURITY_HEADERS = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
}

/** Routes whose answers carry tokens (RFC 6749 §5.1: no-store, and Pragma for HTTP/1.0 caches). */
const TOKEN_ROUTES = new Set(['/api/auth/login/', '/api/auth/register/', '/api/auth/refresh/'])

/**
 * The headers OWASP's REST Security cheat sheet asks of a JSON API, set at once on every
 * response (helmet's chain of per-header middlewares cost more than the rest of a health
 * check). Helmet's browser-document extras (Origin-Agent-Cluster, X-DNS-Prefetch-Control,
 * X-Download-Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection, COOP) protect
 * HTML pages; the one page here, /api/docs/, brings its own CSP (swagger-ui staticCSP).
 *
 * `Cache-Control: no-store` on token responses and on every answer to a request that
 * carried valid credentials (personal data: no shared or browser cache keeps it). ETags
 * stay: they serve If-Match on writes, which needs no cache.
 */
export const securityHeaders = fp(
  async (app) => {
    app.addHook('onRequest', (_req, reply, done) => {
      reply.headers(SECURITY_HEADERS)
      done()
    })
    app.addHook('onSend', (req, reply, payload, done) => {
      if (TOKEN_ROUTES.has(req.routeOptions.url ?? '')) {
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
      } else if (req.actor) {
        reply.header('cache-control', 'no-store')
      }
      done(null, payload)
    })
  },
  { name: 'security-headers' },
)
