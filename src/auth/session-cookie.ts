import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import { Forbidden } from '../http/errors.js'

/**
 * Browser sessions ("cookie mode", API.md): the refresh token travels in an HttpOnly cookie
 * scoped to /api/auth/ instead of the JSON body, so page scripts never see it. The
 * `__Secure-` prefix makes browsers refuse the cookie unless it is Secure and set from a
 * secure origin (localhost counts as one).
 */
export const REFRESH_COOKIE = '__Secure-fd_refresh'
const COOKIE_ATTRIBUTES = 'Path=/api/auth/; HttpOnly; Secure; SameSite=Strict'

/** The client asked for cookie mode with `X-Auth-Transport: cookie`. */
export function wantsCookie(req: FastifyRequest): boolean {
  const h = req.headers['x-auth-transport']
  const v = Array.isArray(h) ? h[0] : h
  return v?.trim().toLowerCase() === 'cookie'
}

/** The refresh token from the request's cookie, if it carries one. */
export function readRefreshCookie(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie
  if (!header) return undefined
  // RFC 6265 §5.4: `name=value` pairs split by `; `. The first match wins (the most specific
  // path comes first). A JWT is base64url and dots: nothing to decode.
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq < 0) continue
    if (pair.slice(0, eq).trim() !== REFRESH_COOKIE) continue
    let value = pair.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1)
    return value || undefined
  }
  return undefined
}

/** Sets the refresh cookie; Max-Age is the refresh token's lifetime. */
export function setRefreshCookie(reply: FastifyReply, token: string, maxAgeSeconds: number): void {
  if (!/^[A-Za-z0-9._-]+$/.test(token)) throw new Error('refresh token is not cookie-safe')
  void reply.header(
    'set-cookie',
    `${REFRESH_COOKIE}=${token}; Max-Age=${Math.floor(maxAgeSeconds)}; ${COOKIE_ATTRIBUTES}`,
  )
}

export function clearRefreshCookie(reply: FastifyReply): void {
  void reply.header('set-cookie', `${REFRESH_COOKIE}=; Max-Age=0; ${COOKIE_ATTRIBUTES}`)
}

const FORBIDDEN_CROSS_SITE = () =>
  Forbidden('Cookie-mode requests are accepted from this site only.', 'cross_site_request')

/**
 * Cookie-mode requests must come from our own pages: with `Sec-Fetch-Site` (every current
 * browser sends it) only `same-origin` passes; without it, an `Origin` that is present must
 * be an allowed one (PUBLIC_URL's, the request's own, or CORS_ALLOWED_ORIGINS); and the body
 * must be JSON (a cross-site form cannot send that without a CORS preflight).
 */
export function assertSameSite(req: FastifyRequest, config: Config): void {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined) {
    if (site !== 'same-origin') throw FORBIDDEN_CROSS_SITE()
  } else {
    const origin = req.headers.origin
    if (origin !== undefined && !allowedOrigin(req, config, origin)) throw FORBIDDEN_CROSS_SITE()
  }
  const type = req.headers['content-type']
  const mime = type?.split(';')[0]?.trim().toLowerCase()
  if (mime !== 'application/json') throw FORBIDDEN_CROSS_SITE()
}

function allowedOrigin(req: FastifyRequest, config: Config, origin: string): boolean {
  if (origin === 'null') return false
  const candidates = [originOf(config.publicUrl), ...config.corsOrigins.filter((o) => o !== '*')]
  try {
    candidates.push(`${req.protocol}://${req.host}`.toLowerCase())
  } catch {
    // No usable Host header: only the configured origins count.
  }
  return candidates.includes(origin.toLowerCase())
}

function originOf(url: string): string {
  return URL.canParse(url) ? new URL(url).origin.toLowerCase() : ''
}
