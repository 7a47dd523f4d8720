import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { ApiError } from './errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Where this server's absolute links start (`https://book.example.com`, no trailing
     * slash): PUBLIC_URL when set, else the request's scheme and validated Host.
     */
    linkBase: string
  }
}

/** Django's host_validation_re: a name or an IPv6 literal, then an optional port. */
const HOST_RE = /^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]{1,5}))?$/

const badHost = (detail: string) => new ApiError(400, detail, 'bad_host')

/**
 * The host a Host header names (lower case, without port or final dot), or null when it is
 * not a host at all. Beyond Django's pattern, the port must be a port and the whole must be
 * a URL's authority (`999999999999` or `1.2.3.256` match the pattern yet are no address),
 * so a link built from it can never fail.
 */
export function hostOf(header: string): string | null {
  const m = HOST_RE.exec(header.toLowerCase())
  if (!m) return null
  if (m[2] !== undefined && Number(m[2]) > 65535) return null
  if (!URL.canParse(`http://${header}/`)) return null
  return m[1]!.replace(/\.$/, '')
}

/** Django's validate_host: `*` any, `.example.com` the domain and its subdomains, else exact. */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  return allowed.some(
    (pattern) =>
      pattern === '*' ||
      pattern === host ||
      (pattern.startsWith('.') && (host.endsWith(pattern) || host === pattern.slice(1))),
  )
}

/**
 * Django's ALLOWED_HOSTS: a request whose Host is missing, malformed or not allowed is a 400
 * (never reflected into a link, never a 500 further on), except probes, which answer whatever
 * the Host (load balancers probe by IP). Sets `req.linkBase` for pagination links.
 */
export const hostCheck = fp<{ config: Config }>(
  async (app, { config }) => {
    app.decorateRequest('linkBase', '')
    const fixed = config.publicUrlExplicit ? config.publicUrl : null
    // Hosts repeat: remember the verdict on the last few hundred seen.
    const verdicts = new Map<string, boolean>()
    app.addHook('onRequest', (req, _reply, done) => {
      if (req.routeOptions.config.probe) {
        done()
        return
      }
      // Fastify's req.host: X-Forwarded-Host only from a trusted proxy (TRUST_PROXY).
      const header = req.host
      if (!header) {
        done(badHost('The Host header is missing.'))
        return
      }
      let ok = verdicts.get(header)
      if (ok === undefined) {
        const host = hostOf(header)
        ok = host !== null && hostAllowed(host, config.allowedHosts)
        if (verdicts.size >= 500) verdicts.clear()
        verdicts.set(header, ok)
      }
      if (!ok) {
        done(badHost('Invalid Host header: not a host this server answers for (ALLOWED_HOSTS).'))
        return
      }
      req.linkBase = fixed ?? `${req.protocol}://${header}`
      done()
    })
  },
  { name: 'host-check' },
)
