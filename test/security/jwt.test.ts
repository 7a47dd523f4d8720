/**
 * A JWT forgery corpus: every token below impersonates an admin (or is otherwise not a
 * valid access token) and must get 401 `{detail, code}` with code token_not_valid or
 * not_authenticated and a WWW-Authenticate header, on several protected routes. A forged
 * Bearer token is also a 401 on a public route, as DRF + SimpleJWT answer it.
 *
 * Where the contract is silent, SimpleJWT (PyJWT underneath) is the reference: the
 * `Bearer` keyword is case-sensitive, `header.split()` splits on any run of whitespace,
 * and PyJWT refuses a token whose `iat` is in the future.
 */
import { randomBytes } from 'node:crypto'
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose'
import type { JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { at, dialects, PASSWORD, startApp } from '../helpers.js'
import type { TestApp, TestUser } from '../helpers.js'

/** The server's key, as test/helpers.ts startApp configures it. */
const SECRET_KEY = 'test-secret-key-that-is-long-enough-0123456789'
const SECRET = new TextEncoder().encode(SECRET_KEY)

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>
type Key = Parameters<SignJWT['sign']>[0]

const b64 = (v: unknown) => base64url.encode(JSON.stringify(v))
const jti = () => randomBytes(16).toString('hex')
const nowS = () => Math.floor(Date.now() / 1000)

interface Ctx {
  admin: TestUser
  customer: TestUser
  /** The admin's genuine access token: its parts are reused to forge. */
  valid: string
  /** The customer's genuine access token. */
  customerToken: string
  /** The admin's genuine refresh token. */
  refresh: string
  deletedUserToken: string
  inactiveUserToken: string
  rsa: KeyPair
  ec: KeyPair
  ed: KeyPair
}

/** The claims SimpleJWT would put in an access token for the admin. */
const claims = (c: Ctx, over: Record<string, unknown> = {}): JWTPayload => {
  const base: Record<string, unknown> = {
    token_type: 'access',
    user_id: c.admin.id,
    jti: jti(),
    iat: nowS(),
    exp: nowS() + 900,
  }
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete base[k]
    else base[k] = v
  }
  return base as JWTPayload
}

const sign = (payload: JWTPayload, key: Key, header: Record<string, unknown> = {}) =>
  new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header } as { alg: string })
    .sign(key)

const parts = (token: string) => token.split('.') as [string, string, string]

/** name → Authorization header value; `scheme` entries are not Bearer credentials at all. */
const CORPUS: { name: string; scheme?: boolean; make: (c: Ctx) => Promise<string> | string }[] = [
  /* alg none */
  {
    name: 'alg none, empty signature',
    make: (c) => `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims(c))}.`,
  },
  {
    name: 'alg none, no signature part',
    make: (c) => `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims(c))}`,
  },
  {
    name: 'alg None',
    make: (c) => `Bearer ${b64({ alg: 'None', typ: 'JWT' })}.${b64(claims(c))}.`,
  },
  {
    name: 'alg NONE',
    make: (c) => `Bearer ${b64({ alg: 'NONE', typ: 'JWT' })}.${b64(claims(c))}.`,
  },
  { name: 'alg nOnE', make: (c) => `Bearer ${b64({ alg: 'nOnE' })}.${b64(claims(c))}.` },
  {
    name: 'alg none with a genuine signature kept',
    make: (c) =>
      `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims(c))}.${parts(c.valid)[2]}`,
  },
  {
    name: 'no alg at all',
    make: (c) => `Bearer ${b64({ typ: 'JWT' })}.${b64(claims(c))}.${parts(c.valid)[2]}`,
  },

  /* algorithm confusion and foreign keys */
  {
    name: 'HS256 keyed with the attacker RSA public key (PEM)',
    make: async (c) =>
      `Bearer ${await sign(claims(c), new TextEncoder().encode(await exportSPKI(c.rsa.publicKey)))}`,
  },
  {
    name: 'HS256 keyed with the attacker public JWK',
    make: async (c) =>
      `Bearer ${await sign(claims(c), new TextEncoder().encode(JSON.stringify(await exportJWK(c.rsa.publicKey))))}`,
  },
  {
    name: 'RS256 signed by an attacker key',
    make: async (c) => `Bearer ${await sign(claims(c), c.rsa.privateKey, { alg: 'RS256' })}`,
  },
  {
    name: 'RS256 with the attacker key embedded as jwk header',
    make: async (c) =>
      `Bearer ${await sign(claims(c), c.rsa.privateKey, { alg: 'RS256', jwk: await exportJWK(c.rsa.publicKey) })}`,
  },
  {
    name: 'RS256 with a jku header',
    make: async (c) =>
      `Bearer ${await sign(claims(c), c.rsa.privateKey, { alg: 'RS256', jku: 'https://evil.example/jwks.json', kid: '1' })}`,
  },
  {
    name: 'ES256 signed by an attacker key',
    make: async (c) => `Bearer ${await sign(claims(c), c.ec.privateKey, { alg: 'ES256' })}`,
  },
  {
    name: 'EdDSA signed by an attacker key',
    make: async (c) => `Bearer ${await sign(claims(c), c.ed.privateKey, { alg: 'EdDSA' })}`,
  },
  {
    name: 'RS256 header on an HS256 signature',
    make: async (c) =>
      `Bearer ${b64({ alg: 'RS256', typ: 'JWT' })}.${parts(await sign(claims(c), SECRET))
        .slice(1)
        .join('.')}`,
  },
  {
    name: 'HS256 with a wrong key',
    make: async (c) =>
      `Bearer ${await sign(claims(c), new TextEncoder().encode('not-the-server-secret-but-long-enough-0000'))}`,
  },
  {
    name: 'HS256 with the guessable key "secret"',
    make: async (c) => `Bearer ${await sign(claims(c), new TextEncoder().encode('secret'))}`,
  },
  {
    name: "HS256 with the seed's example key",
    make: async (c) =>
      `Bearer ${await sign(claims(c), new TextEncoder().encode('your-secret-key'))}`,
  },
  {
    name: 'HS256 with a kid path traversal',
    make: async (c) =>
      `Bearer ${await sign(claims(c), new TextEncoder().encode('x'), { kid: '../../../../../../dev/null' })}`,
  },
  {
    name: 'HS384 with the server key (algorithm not allowed)',
    make: async (c) => `Bearer ${await sign(claims(c), SECRET, { alg: 'HS384' })}`,
  },
  {
    name: 'HS512 with the server key (algorithm not allowed)',
    make: async (c) => `Bearer ${await sign(claims(c), SECRET, { alg: 'HS512' })}`,
  },

  /* tampering with a genuine token */
  {
    name: 'payload swapped (customer token, user_id changed to the admin, not re-signed)',
    make: (c) => {
      const [h, p, sig] = parts(c.customerToken)
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
      return `Bearer ${h}.${b64({ ...payload, user_id: c.admin.id })}.${sig}`
    },
  },
  {
    name: 'payload re-encoded with a longer expiry, not re-signed',
    make: (c) => {
      const [h, p, sig] = parts(c.valid)
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
      return `Bearer ${h}.${b64({ ...payload, exp: nowS() + 10 * 365 * 86400 })}.${sig}`
    },
  },
  {
    name: 'header swapped to HS512, signature kept',
    make: (c) =>
      `Bearer ${b64({ alg: 'HS512', typ: 'JWT' })}.${parts(c.valid)[1]}.${parts(c.valid)[2]}`,
  },
  {
    name: 'a signature taken from another genuine token',
    make: (c) => `Bearer ${parts(c.valid)[0]}.${parts(c.valid)[1]}.${parts(c.customerToken)[2]}`,
  },
  {
    name: 'one signature character changed',
    make: (c) => {
      const [h, p, sig] = parts(c.valid)
      return `Bearer ${h}.${p}.${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`
    },
  },
  { name: 'signature stripped', make: (c) => `Bearer ${parts(c.valid)[0]}.${parts(c.valid)[1]}.` },
  { name: 'a fourth segment appended', make: (c) => `Bearer ${c.valid}.${parts(c.valid)[2]}` },
  { name: 'garbage after the signature', make: (c) => `Bearer ${c.valid}xyz` },
  {
    name: 'a JWE-shaped token (five parts)',
    make: () =>
      `Bearer ${b64({ alg: 'dir', enc: 'A256GCM' })}..${base64url.encode('iv')}.${base64url.encode('ct')}.${base64url.encode('tag')}`,
  },

  /* time */
  {
    name: 'expired',
    make: async (c) =>
      `Bearer ${await sign(claims(c, { iat: nowS() - 7200, exp: nowS() - 3600 }), SECRET)}`,
  },
  {
    name: 'expiring this very second',
    make: async (c) =>
      `Bearer ${await sign(claims(c, { iat: nowS() - 900, exp: nowS() }), SECRET)}`,
  },
  {
    name: 'not yet valid: iat an hour in the future',
    make: async (c) =>
      `Bearer ${await sign(claims(c, { iat: nowS() + 3600, exp: nowS() + 7200 }), SECRET)}`,
  },
  {
    name: 'not yet valid: nbf an hour in the future',
    make: async (c) => `Bearer ${await sign(claims(c, { nbf: nowS() + 3600 }), SECRET)}`,
  },
  {
    name: 'exp as a string',
    make: async (c) => `Bearer ${await sign(claims(c, { exp: String(nowS() + 900) }), SECRET)}`,
  },

  /* claims */
  {
    name: 'token_type refresh (no family)',
    make: async (c) => `Bearer ${await sign(claims(c, { token_type: 'refresh' }), SECRET)}`,
  },
  {
    name: 'token_type refresh with a family',
    make: async (c) =>
      `Bearer ${await sign(claims(c, { token_type: 'refresh', family: 'f' }), SECRET)}`,
  },
  {
    name: 'token_type missing',
    make: async (c) => `Bearer ${await sign(claims(c, { token_type: undefined }), SECRET)}`,
  },
  {
    name: 'token_type ACCESS',
    make: async (c) => `Bearer ${await sign(claims(c, { token_type: 'ACCESS' }), SECRET)}`,
  },
  {
    name: 'token_type as a list',
    make: async (c) => `Bearer ${await sign(claims(c, { token_type: ['access'] }), SECRET)}`,
  },
  { name: 'a genuine refresh token used as an access token', make: (c) => `Bearer ${c.refresh}` },
  {
    name: 'jti missing',
    make: async (c) => `Bearer ${await sign(claims(c, { jti: undefined }), SECRET)}`,
  },
  {
    name: 'exp missing',
    make: async (c) => `Bearer ${await sign(claims(c, { exp: undefined }), SECRET)}`,
  },
  {
    name: 'iat missing',
    make: async (c) => `Bearer ${await sign(claims(c, { iat: undefined }), SECRET)}`,
  },
  {
    name: 'user_id missing',
    make: async (c) => `Bearer ${await sign(claims(c, { user_id: undefined }), SECRET)}`,
  },
  {
    name: 'user_id as a string',
    make: async (c) => `Bearer ${await sign(claims(c, { user_id: String(c.admin.id) }), SECRET)}`,
  },
  {
    name: 'user_id as a float',
    make: async (c) => `Bearer ${await sign(claims(c, { user_id: c.admin.id + 0.5 }), SECRET)}`,
  },
  {
    name: 'user_id as a list',
    make: async (c) => `Bearer ${await sign(claims(c, { user_id: [c.admin.id] }), SECRET)}`,
  },
  {
    name: 'user_id null',
    make: async (c) => `Bearer ${await sign(claims(c, { user_id: null }), SECRET)}`,
  },
  {
    name: 'user_id true',
    make: async (c) => `Bearer ${await sign(claims(c, { user_id: true }), SECRET)}`,
  },
  {
    name: 'user_id negative',
    make: async (c) => `Bearer ${await sign(claims(c, { user_id: -c.admin.id }), SECRET)}`,
  },
  {
    name: 'user_id beyond 2^53',
    make: async (c) => `Bearer ${await sign(claims(c, { user_id: 2 ** 53 + 2 }), SECRET)}`,
  },
  {
    name: 'user_id of nobody',
    make: async (c) => `Bearer ${await sign(claims(c, { user_id: 2_000_000_000 }), SECRET)}`,
  },
  { name: 'a genuine token of a deleted user', make: (c) => `Bearer ${c.deletedUserToken}` },
  { name: 'a genuine token of a deactivated user', make: (c) => `Bearer ${c.inactiveUserToken}` },

  /* the header itself */
  { name: 'Bearer with extra parts', make: (c) => `Bearer ${c.valid} ${c.valid}` },
  { name: 'Bearer and a trailing word', make: (c) => `Bearer ${c.valid} please` },
  { name: 'Bearer alone', make: () => 'Bearer' },
  { name: 'Bearer and spaces', make: () => 'Bearer    ' },
  {
    name: 'Bearer, extra spaces, forged token',
    make: (c) => `Bearer    ${b64({ alg: 'none' })}.${b64(claims(c))}.`,
  },
  { name: 'lowercase bearer with a genuine token', scheme: true, make: (c) => `bearer ${c.valid}` },
  { name: 'uppercase BEARER with a genuine token', scheme: true, make: (c) => `BEARER ${c.valid}` },
  {
    name: 'Token scheme (DRF TokenAuthentication) with a genuine token',
    scheme: true,
    make: (c) => `Token ${c.valid}`,
  },
  { name: 'JWT scheme with a genuine token', scheme: true, make: (c) => `JWT ${c.valid}` },
  {
    name: 'Basic credentials',
    scheme: true,
    make: (c) => `Basic ${Buffer.from(`${c.admin.username}:${PASSWORD}`).toString('base64')}`,
  },
  { name: 'a bare genuine token without a scheme', scheme: true, make: (c) => c.valid },
  { name: 'a very long random token (10 kB)', make: () => `Bearer ${'A'.repeat(10_000)}` },
  {
    name: 'a very long token: 10 kB of padding claims, properly signed',
    make: async (c) => `Bearer ${await sign(claims(c, { pad: 'x'.repeat(10_000) }), SECRET)}`,
  },
  {
    name: 'a very long three-part token of junk',
    make: () => `Bearer ${'a'.repeat(3000)}.${'b'.repeat(3000)}.${'c'.repeat(3000)}`,
  },
  { name: 'not base64 at all', make: () => 'Bearer !!!.???.***' },
  {
    name: 'JSON that is not an object',
    make: () =>
      `Bearer ${base64url.encode('[1]')}.${base64url.encode('"x"')}.${base64url.encode('sig')}`,
  },
]

for (const engine of await dialects()) {
  describe(`${engine}: JWT forgery`, () => {
    let t: TestApp
    const c = {} as Ctx

    /** Protected routes where a forged admin token would matter, and a public one. */
    const routes = () => [
      { method: 'GET', url: '/api/auth/me/' },
      { method: 'GET', url: '/api/reservations/' },
      { method: 'GET', url: '/api/users/me/export/' },
      { method: 'GET', url: '/api/dashboard/stats/' },
      { method: 'GET', url: '/api/notifications/' },
      { method: 'PATCH', url: `/api/users/${c.admin.id}/`, body: { first_name: 'Pwned' } },
      {
        method: 'POST',
        url: '/api/reservations/',
        body: { start_time: at(3, '10:00'), end_time: at(3, '10:30') },
      },
    ]

    beforeAll(async () => {
      t = await startApp(engine, { jobs: false })
      expect(t.config.secretKey).toBe(SECRET_KEY)
      c.admin = await t.user({ admin: true })
      c.customer = await t.user()
      c.valid = c.admin.token
      c.customerToken = c.customer.token
      const login = await t.req('POST', '/api/auth/login/', {
        body: { username: c.admin.username, password: PASSWORD },
      })
      c.refresh = login.json<{ refresh: string }>().refresh
      const doomed = await t.user({ admin: true })
      c.deletedUserToken = doomed.token
      await t.database.db.deleteFrom('users').where('id', '=', doomed.id).execute()
      const inactive = await t.user({ admin: true })
      c.inactiveUserToken = inactive.token
      await t.database.db
        .updateTable('users')
        .set({ is_active: false })
        .where('id', '=', inactive.id)
        .execute()
      c.rsa = await generateKeyPair('RS256', { extractable: true })
      c.ec = await generateKeyPair('ES256', { extractable: true })
      c.ed = await generateKeyPair('EdDSA', { extractable: true })
    })
    afterAll(async () => t?.close())

    it('accepts the genuine token on every route (the control)', async () => {
      for (const r of routes()) {
        const res = await t.app.inject({
          method: r.method as 'GET',
          url: r.url,
          headers: { authorization: `Bearer ${c.valid}` },
          ...(r.body ? { payload: r.body } : {}),
        })
        expect(res.statusCode, `${r.method} ${r.url}: ${res.payload.slice(0, 200)}`).toBeLessThan(
          300,
        )
      }
    })

    it('splits the header on any run of whitespace, as SimpleJWT does (a genuine token still works)', async () => {
      for (const header of [`Bearer  ${c.valid}`, `Bearer\t${c.valid}`, `  Bearer ${c.valid}  `]) {
        const res = await t.app.inject({
          method: 'GET',
          url: '/api/auth/me/',
          headers: { authorization: header },
        })
        expect(res.statusCode, JSON.stringify(header.slice(0, 12))).toBe(200)
      }
    })

    it('still expires a token whose signature was checked (and cached) before', async () => {
      const me = (token: string) =>
        t.app.inject({
          method: 'GET',
          url: '/api/auth/me/',
          headers: { authorization: `Bearer ${token}` },
        })
      expect((await me(c.valid)).statusCode).toBe(200)
      t.clock.set(new Date(Date.now() + 61 * 60_000))
      try {
        const res = await me(c.valid)
        expect(res.statusCode).toBe(401)
        expect(res.json()).toMatchObject({ code: 'token_not_valid' })
      } finally {
        t.clock.real()
      }
      expect((await me(c.valid)).statusCode).toBe(200)
    })

    for (const entry of CORPUS) {
      it(`refuses: ${entry.name}`, async () => {
        const header = await entry.make(c)
        const wrong: string[] = []
        for (const r of routes()) {
          const res = await t.app.inject({
            method: r.method as 'GET',
            url: r.url,
            headers: { authorization: header },
            ...(r.body ? { payload: r.body } : {}),
          })
          const body = res.json<Record<string, unknown>>()
          const label = `${r.method} ${r.url}`
          if (res.statusCode !== 401) {
            wrong.push(
              `${label}: ${res.statusCode < 300 ? 'ACCEPTED' : 'answered'} ${res.statusCode} ${res.payload.slice(0, 120)}`,
            )
            continue
          }
          if (Object.keys(body).sort().join() !== 'code,detail')
            wrong.push(`${label}: body ${res.payload.slice(0, 120)}`)
          if (body.code !== 'token_not_valid' && body.code !== 'not_authenticated')
            wrong.push(`${label}: code ${String(body.code)}`)
          if (!res.headers['www-authenticate']) wrong.push(`${label}: 401 without WWW-Authenticate`)
        }
        // DRF authenticates on every request: a bad Bearer token is a 401 even where no login is needed.
        const open = await t.app.inject({
          method: 'GET',
          url: '/api/services/',
          headers: { authorization: header },
        })
        if (!entry.scheme && open.statusCode !== 401)
          wrong.push(`GET /api/services/ (public): ${open.statusCode}`)
        if (entry.scheme && open.statusCode !== 200)
          wrong.push(`GET /api/services/ (public, no Bearer credentials): ${open.statusCode}`)
        expect(wrong, `${entry.name}\n${wrong.join('\n')}`).toEqual([])
      })
    }

    it('refuses forged and misused refresh tokens at /refresh and /logout', async () => {
      const refreshClaims = (over: Record<string, unknown> = {}) =>
        claims(c, { token_type: 'refresh', family: 'forged-family', exp: nowS() + 86400, ...over })
      const forged: [string, string][] = [
        ['an access token', c.valid],
        ['alg none', `${b64({ alg: 'none' })}.${b64(refreshClaims())}.`],
        [
          'wrong key',
          await sign(
            refreshClaims(),
            new TextEncoder().encode('not-the-server-secret-but-long-enough-0000'),
          ),
        ],
        ['HS512 with the server key', await sign(refreshClaims(), SECRET, { alg: 'HS512' })],
        ['expired', await sign(refreshClaims({ iat: nowS() - 7200, exp: nowS() - 3600 }), SECRET)],
        [
          'user_id changed, not re-signed',
          (() => {
            const [h, p, sig] = parts(c.refresh)
            const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<
              string,
              unknown
            >
            return `${h}.${b64({ ...payload, user_id: c.customer.id })}.${sig}`
          })(),
        ],
        ['empty', ''],
        ['junk', 'a.b.c'],
      ]
      const wrong: string[] = []
      // Signed with the server's key but never issued: /refresh knows every refresh token it issued.
      const unissued = await sign(refreshClaims(), SECRET)
      const res = await t.req('POST', '/api/auth/refresh/', { body: { refresh: unissued } })
      if (res.statusCode !== 401)
        wrong.push(`/api/auth/refresh/ with an unissued token: ${res.statusCode}`)
      for (const [name, token] of forged) {
        for (const url of ['/api/auth/refresh/', '/api/auth/logout/']) {
          const res = await t.req('POST', url, { body: { refresh: token } })
          if (res.statusCode !== 401 || res.json<{ code?: string }>().code !== 'token_not_valid') {
            wrong.push(`${url} with ${name}: ${res.statusCode} ${res.payload.slice(0, 120)}`)
          }
        }
      }
      expect(wrong).toEqual([])
      // The genuine one still works afterwards: the forgeries revoked nothing.
      expect(
        (await t.req('POST', '/api/auth/refresh/', { body: { refresh: c.refresh } })).statusCode,
      ).toBe(200)
    })
  })
}
