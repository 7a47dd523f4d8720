import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'
import type { NotFoundFallback } from './not-found.js'

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
 * The built web app (web/dist): `files` serves its files as they are, hashed assets cached for
 * a year; `fallback` (offered by the not-found handler) answers index.html (no-cache, with the
 * CSP) to any other GET/HEAD that asks for HTML outside the API, so client-side routes load;
 * everything else stays the API's JSON 404/405. Without a build, the server runs the API
 * only and says so.
 */
export function webApp(root: string = defaultWebRoot()): {
  files: FastifyPluginAsync
  fallback: NotFoundFallback
} {
  const indexPath = join(root, 'index.html')
  const index = existsSync(indexPath) ? readFileSync(indexPath) : undefined
  return {
    files: async (app) => {
      if (!index) {
        app.log.info(`The web app is not built (no ${indexPath}): serving the API only.`)
        return
      }
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
    },
    fallback: async (req, reply) => {
      if (!index || (req.method !== 'GET' && req.method !== 'HEAD')) return false
      const path = req.url.split('?')[0] ?? '/'
      if (isApiPath(path) || !(req.headers.accept ?? '').includes('text/html')) return false
      void reply
        .code(200)
        .header('cache-control', 'no-cache')
        .header('content-security-policy', WEB_CSP)
        .type('text/html; charset=utf-8')
        .send(index)
      return true
    },
  }
}
