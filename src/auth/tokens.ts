import { randomUUID } from 'node:crypto'
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose'

export type TokenType = 'access' | 'refresh'

export interface TokenClaims {
  token_type: TokenType
  user_id: number
  jti: string
  iat: number
  exp: number
  /** Refresh tokens only: the login (family) this token belongs to. */
  family?: string
}

export interface IssuedToken {
  token: string
  jti: string
  expiresAt: Date
}

/** HS256 JWTs in SimpleJWT's shape; verification pins the algorithm list. */
export class TokenService {
  readonly #key: Uint8Array
  constructor(
    secret: string,
    private readonly accessMinutes: number,
    private readonly refreshDays: number,
  ) {
    this.#key = new TextEncoder().encode(secret)
  }

  async issue(type: TokenType, userId: number, now: Date, family?: string): Promise<IssuedToken> {
    const jti = randomUUID().replaceAll('-', '')
    const iat = Math.floor(now.getTime() / 1000)
    const lifetime = type === 'access' ? this.accessMinutes * 60 : this.refreshDays * 86400
    const exp = iat + lifetime
    const claims: Record<string, unknown> = { token_type: type, user_id: userId }
    if (family) claims.family = family
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.#key)
    return { token, jti, expiresAt: new Date(exp * 1000) }
  }

  /** Returns the claims, or null when the token is malformed, forged, expired or of another type. */
  async verify(token: string, type: TokenType, now: Date): Promise<TokenClaims | null> {
    if (token.length > 4096) return null
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: ['HS256'],
        currentDate: now,
        requiredClaims: ['exp', 'iat', 'jti'],
      })
      if (payload.token_type !== type) return null
      // Issued in the future (beyond a minute of clock skew): not ours.
      if (typeof payload.iat !== 'number' || payload.iat * 1000 > now.getTime() + 60_000)
        return null
      const userId = payload.user_id
      if (typeof userId !== 'number' || !Number.isSafeInteger(userId)) return null
      if (type === 'refresh' && typeof payload.family !== 'string') return null
      return payload as unknown as TokenClaims
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return null
      throw err
    }
  }
}
