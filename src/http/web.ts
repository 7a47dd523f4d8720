import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'

/** The Content-Security-Policy of every HTML page of the web app (no inline code or styles). */
export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

const IMMUTABLE = 'public, max-age=31536000, immutable'

/** Paths that always belong to the API: never answered with the web app. */
const API_PREFIXES = ['/api/', '/health/']

/** web/dist of this checkout: the nearest folder above this file holding package.json. */
export function defaultWebRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return join(dir, 'web', 'dist')
}

function isApiPath(path: string): boolean {
  const p = path.endsWith('/') ? path : `${path}/`
  return API_PREFIXES.some((prefix) => p.startsWith(prefix))
}

/**
 * The built web app (web/dist): its files as they are, hashed assets cached for a year,
 * and index.html (no-cache, with the CSP) for any other GET/HEAD that asks for HTML outside
 * the API. Everything else goes on to the API's not-found handler, so API 404s stay JSON.
 * Without a build, the server runs API only and says so.
 */
export function webApp(root: string = defaultWebRoot()): FastifyPluginAsync {
  return async (app) => {
    const indexPath = join(root, 'index.html')
    if (!existsSync(indexPath)) {
      app.log.warn(`The web app is not built (no ${indexPath}): serving the API only.`)
      return
    }
    const index = readFileSync(indexPath)
    await app.register(fastifyStatic, {
      root,
      wildcard: false,
      index: false,
      decorateReply: false,
      setHeaders: (reply, path) => {
        const rel = path.slice(root.length).replaceAll('\\', '/')
        void reply.header('cache-control', rel.startsWith('/assets/') ? IMMUTABLE : 'no-cache')
        if (path.endsWith('.html')) void reply.header('content-security-policy', WEB_CSP)
      },
    })
    app.get('/*', { schema: { hide: true } }, async (req, reply) => {
      const path = req.url.split('?')[0] ?? '/'
      const accept = req.headers.accept ?? ''
      if (isApiPath(path) || !accept.includes('text/html')) return reply.callNotFound()
      return reply
        .header('cache-control', 'no-cache')
        .header('content-security-policy', WEB_CSP)
        .type('text/html; charset=utf-8')
        .send(index)
    })
  }
}
