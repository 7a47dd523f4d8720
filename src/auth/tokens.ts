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

  /**
   * Tokens whose signature and shape were already checked, with their claims: the same
   * string always verifies the same way, so every later request skips the HMAC (WebCrypto
   * is asynchronous and costs more than the rest of a cheap request). Time-dependent
   * checks (exp, iat) still run on every call. Bounded: the oldest entry goes first.
   */
  readonly #verified = new Map<string, TokenClaims>()
  static readonly CACHE_SIZE = 10_000

  /** Returns the claims, or null when the token is malformed, forged, expired or of another type. */
  async verify(token: string, type: TokenType, now: Date): Promise<TokenClaims | null> {
    if (token.length > 4096) return null
    let claims = this.#verified.get(token)
    if (!claims) {
      const checked = await this.#check(token)
      if (!checked) return null
      claims = checked
      if (this.#verified.size >= TokenService.CACHE_SIZE)
        this.#verified.delete(this.#verified.keys().next().value!)
      this.#verified.set(token, claims)
    }
    if (claims.token_type !== type) return null
    const nowSeconds = now.getTime() / 1000
    // Expired (jose's rule: exp <= now), or issued in the future beyond a minute of skew.
    if (claims.exp <= Math.floor(nowSeconds)) return null
    if (claims.iat > nowSeconds + 60) return null
    return claims
  }

  /** Signature, algorithm and the claims' types; null when any is wrong. */
  async #check(token: string): Promise<TokenClaims | null> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'iat', 'jti'],
        // Time is checked by the caller on every use, cached or not.
        currentDate: new Date(0),
        clockTolerance: 0,
      })
      if (payload.token_type !== 'access' && payload.token_type !== 'refresh') return null
      if (typeof payload.iat !== 'number' || typeof payload.exp !== 'number') return null
      if (typeof payload.jti !== 'string') return null
      const userId = payload.user_id
      if (typeof userId !== 'number' || !Number.isSafeInteger(userId)) return null
      if (payload.token_type === 'refresh' && typeof payload.family !== 'string') return null
      return payload as unknown as TokenClaims
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return null
      throw err
    }
  }
}
