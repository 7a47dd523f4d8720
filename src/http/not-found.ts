import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ApiError } from './errors.js'

/**
 * A handler tried, in order, for a request no route matched, before the 405/404 answer. It
 * answers by sending on `reply` and returning true; false passes to the next (e.g. the web
 * app's index page for a browser asking for HTML outside /api/).
 */
export type NotFoundFallback = (req: FastifyRequest, reply: FastifyReply) => Promise<boolean>

export interface NotFoundOptions {
  fallbacks?: NotFoundFallback[]
}

/**
 * THE not-found handler (the only one): a request no route matched. A known path with an
 * unsupported method answers 405 with Allow (OPTIONS: DRF's metadata), as DRF does; then
 * each fallback is offered the request; else 404 in the contract's shape.
 */
export const notFound = fp<NotFoundOptions>(
  async (app, { fallbacks = [] }) => {
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
      for (const fallback of fallbacks) if (await fallback(req, reply)) return reply
      throw new ApiError(404, 'Not found.', 'not_found')
    })
  },
  { name: 'not-found' },
)

/** A readable name for a path, in the spirit of DRF's view names ("Reservations Detail"). */
function viewName(path: string): string {
  const parts = path.split('/').filter((p) => p && p !== 'api')
  const detail = parts.length > 1 && /^\d+$/.test(parts[1] ?? '')
  const base = (parts[0] ?? 'api').replace(/[-_]/g, ' ')
  const words = base.charAt(0).toUpperCase() + base.slice(1)
  return parts.length === 0 ? 'Api Root' : detail ? `${words} Instance` : `${words} List`
}
