import fp from 'fastify-plugin'

const SECURITY_HEADERS = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
}

/**
 * The headers OWASP's REST Security cheat sheet asks of a JSON API, set at once on every
 * response (helmet's chain of per-header middlewares cost more than the rest of a health
 * check). Helmet's browser-document extras (Origin-Agent-Cluster, X-DNS-Prefetch-Control,
 * X-Download-Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection, COOP) protect
 * HTML pages; the one page here, /api/docs/, brings its own CSP (swagger-ui staticCSP).
 */
export const securityHeaders = fp(
  async (app) => {
    app.addHook('onRequest', (_req, reply, done) => {
      reply.headers(SECURITY_HEADERS)
      done()
    })
  },
  { name: 'security-headers' },
)
