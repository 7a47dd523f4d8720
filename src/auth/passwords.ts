import { createHash, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { hash, verify } from '@node-rs/argon2'
import bcrypt from 'bcryptjs'
import type { FieldErrors } from '../http/errors.js'
import { COMMON_PASSWORDS } from './common-passwords.js'

/**
 * The longest password accepted. Checked before any other validator or hash runs, so the
 * work a request can cause is bounded by this, not by the 1 MiB body limit.
 */
export const MAX_PASSWORD_LENGTH = 4096

/** The password if its length is within bounds; else the field error, and undefined. */
export function boundPassword(
  errors: FieldErrors,
  password: string,
  field = 'password',
): string | undefined {
  if (password.length > MAX_PASSWORD_LENGTH) {
    errors.add(field, `Ensure this field has no more than ${MAX_PASSWORD_LENGTH} characters.`)
    return undefined
  }
  return password
}

/** OWASP's argon2id parameters; the PHC string stores them, so they can rise later. */
// algorithm 2 = Argon2id (the package's const enum cannot be imported under verbatimModuleSyntax).
const OPTIONS = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const

export async function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS)
}

/**
 * A password nothing verifies against, as Django's set_unusable_password(): for customers the
 * shop adds, who cannot log in until they set one by a password reset.
 */
export function unusablePassword(): string {
  return `${UNUSABLE_PREFIX}${randomBytes(30).toString('base64url')}`
}
const UNUSABLE_PREFIX = '!'

/**
 * True when the stored hash is not ours (a Django hash brought in by the importer): the
 * login that proves the password rehashes it to argon2id. An unusable one (`!…`) stays.
 */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith('$argon2') && !stored.startsWith('!') && stored !== ''
}

/** Which verifier a stored hash needs: ours (PHC argon2) or one of Django's hashers. */
export type HashKind =
  | 'argon2'
  | 'pbkdf2_sha256'
  | 'pbkdf2_sha1'
  | 'django_argon2'
  | 'bcrypt_sha256'
  | 'bcrypt'
  | 'scrypt'
  | 'unusable'
  | 'unsupported'

export function hashKind(stored: string): HashKind {
  if (stored.startsWith('$argon2')) return 'argon2'
  if (stored === '' || stored.startsWith('!')) return 'unusable'
  const algorithm = stored.slice(0, stored.indexOf('$'))
  switch (algorithm) {
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1':
    case 'bcrypt_sha256':
    case 'bcrypt':
    case 'scrypt':
      return algorithm
    case 'argon2':
      return 'django_argon2'
    default:
      return 'unsupported'
  }
}

const pbkdf2Async = promisify(pbkdf2)
const scryptAsync = promisify(scrypt) as (
  password: Buffer,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** A decimal integer field of a hash string, within bounds (a hostile hash must not stall us). */
function intField(v: string | undefined, min: number, max: number): number | null {
  if (!v || !/^\d{1,10}$/.test(v)) return null
  const n = Number(v)
  return n >= min && n <= max ? n : null
}

/**
 * Django's hashers (django.contrib.auth.hashers), verified as Django does: recompute with
 * the stored parameters and compare in constant time.
 */
async function verifyDjango(kind: HashKind, stored: string, password: string): Promise<boolean> {
  const pw = Buffer.from(password, 'utf8')
  switch (kind) {
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1': {
      // pbkdf2_sha256$<iterations>$<salt>$<base64 hash>; dklen = the digest's size.
      const [, iter, salt, b64] = stored.split('$')
      const iterations = intField(iter, 1, 10_000_000)
      if (iterations === null || salt === undefined || !b64) return false
      const digest = kind === 'pbkdf2_sha256' ? 'sha256' : 'sha1'
      const keylen = digest === 'sha256' ? 32 : 20
      const got = await pbkdf2Async(pw, Buffer.from(salt, 'utf8'), iterations, keylen, digest)
      return sameBytes(got, Buffer.from(b64, 'base64'))
    }
    case 'django_argon2':
      // argon2$argon2id$v=19$m=…,t=…,p=…$salt$hash: the PHC string after Django's prefix.
      return verify(stored.slice('argon2'.length), password)
    case 'bcrypt_sha256':
    case 'bcrypt': {
      // bcrypt_sha256$$2b$12$…: bcrypt over the hex SHA-256 of the password (no 72-byte cut).
      const bhash = stored.slice(kind.length + 1)
      if (!/^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$/.test(bhash)) return false
      const rounds = Number(bhash.split('$')[2])
      if (rounds < 4 || rounds > 16) return false
      const input =
        kind === 'bcrypt_sha256' ? createHash('sha256').update(pw).digest('hex') : password
      const got = await bcrypt.hash(input, bhash.slice(0, 29))
      // Compare salt and digest (the last 53 characters): the version letter may differ.
      return sameBytes(Buffer.from(got.slice(-53)), Buffer.from(bhash.slice(-53)))
    }
    case 'scrypt': {
      // Django 4.2: scrypt$<n>$<salt>$<r>$<p>$<base64 hash> (64 bytes). Also read with the
      // salt first (scrypt$<salt>$<n>$…), which some write-ups give.
      const [, a, b, rs, ps, b64] = stored.split('$')
      const nFirst = a !== undefined && /^\d+$/.test(a) && !/^\d+$/.test(b ?? '')
      const N = intField(nFirst ? a : b, 2, 2 ** 20)
      const salt = nFirst ? b : a
      const r = intField(rs, 1, 64)
      const p = intField(ps, 1, 64)
      if (N === null || r === null || p === null || salt === undefined || !b64) return false
      if ((N & (N - 1)) !== 0) return false
      const expected = Buffer.from(b64, 'base64')
      if (expected.length === 0 || expected.length > 256) return false
      const got = await scryptAsync(pw, Buffer.from(salt, 'utf8'), expected.length, {
        N,
        r,
        p,
        maxmem: 256 * N * r + 1024 * 1024,
      })
      return sameBytes(got, expected)
    }
    default:
      return false
  }
}

/**
 * Login time must not tell one account from another, whichever hash it has (Django's
 * PBKDF2 with 600,000 rounds costs far more than our argon2id) or whether it exists. Each
 * verification kind keeps a running average of its cost; every verification then lasts at
 * least the highest average of the kinds seen in the last hour (a wait, not work).
 */
const costs = new Map<string, { ms: number; seen: number }>()
const COST_WINDOW_MS = 3_600_000
const MAX_FLOOR_MS = 1_000

async function timed<T>(kind: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now()
  try {
    return await work()
  } finally {
    const spent = performance.now() - start
    const prev = costs.get(kind)
    costs.set(kind, {
      ms: prev ? prev.ms * 0.8 + spent * 0.2 : spent,
      seen: Date.now(),
    })
    let floor = 0
    for (const [k, c] of costs) {
      if (Date.now() - c.seen > COST_WINDOW_MS) costs.delete(k)
      else floor = Math.max(floor, c.ms)
    }
    const wait = Math.min(floor, MAX_FLOOR_MS) - (performance.now() - start)
    if (wait > 1) await sleep(wait)
  }
}

/**
 * Checks a password against a stored hash: ours (argon2id PHC string) or one of Django's
 * (pbkdf2_sha256, pbkdf2_sha1, argon2, bcrypt_sha256, bcrypt, scrypt) brought in by the
 * importer. An unusable password (`!…`) or an unknown algorithm never matches.
 */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const kind = hashKind(stored)
  return timed(kind === 'unsupported' || kind === 'unusable' ? 'argon2' : kind, async () => {
    try {
      if (kind === 'argon2') return await verify(stored, password)
      if (kind === 'unusable' || kind === 'unsupported') {
        await burnArgon2(password)
        return false
      }
      return await verifyDjango(kind, stored, password)
    } catch {
      return false
    }
  })
}

let dummy: Promise<string> | undefined
async function burnArgon2(password: string): Promise<void> {
  dummy ??= hashPassword('not-a-real-password-0')
  try {
    await verify(await dummy, password)
  } catch {
    // the dummy is ours and well formed: nothing to report
  }
}

/**
 * Verifies against a throwaway hash so that a login for an unknown user costs the same
 * time as one with a wrong password (no user enumeration by timing).
 */
export async function burnVerifyTime(password: string): Promise<void> {
  await timed('argon2', () => burnArgon2(password))
}

/** Ratcliff/Obershelp similarity, as Python's difflib.SequenceMatcher.ratio() (Django's check). */
function similarity(a: string, b: string): number {
  if (a.length + b.length === 0) return 1
  const matches = (x: string, y: string): number => {
    if (!x || !y) return 0
    let best = 0
    let bi = 0
    let bj = 0
    const prev = new Array<number>(y.length + 1).fill(0)
    for (let i = 1; i <= x.length; i++) {
      let diag = 0
      for (let j = 1; j <= y.length; j++) {
        const tmp = prev[j]!
        prev[j] = x[i - 1] === y[j - 1] ? diag + 1 : 0
        if (prev[j]! > best) {
          best = prev[j]!
          bi = i - best
          bj = j - best
        }
        diag = tmp
      }
    }
    if (best === 0) return 0
    return (
      best +
      matches(x.slice(0, bi), y.slice(0, bj)) +
      matches(x.slice(bi + best), y.slice(bj + best))
    )
  }
  return (2 * matches(a, b)) / (a.length + b.length)
}

const MAX_SIMILARITY = 0.7

/**
 * similarity(a, b) >= max, skipping the quadratic comparison when the lengths alone rule it
 * out: the ratio is at most 2·min/(len a + len b) (difflib's real_quick_ratio; Django skips
 * the same way since 4.2). With the attribute at most 254 characters, a compared password is
 * then at most ~470, whatever was sent.
 */
function similarEnough(a: string, b: string, max: number): boolean {
  const upperBound = (2 * Math.min(a.length, b.length)) / (a.length + b.length)
  if (upperBound < max) return false
  return similarity(a, b) >= max
}

/** Django's validators: length, numeric, common, similar to username/email. */
export function passwordProblems(
  password: string,
  attrs: { username?: string; email?: string },
): string[] {
  const problems: string[] = []
  // Callers bound the length first (boundPassword); this is the last line of defence.
  if (password.length > MAX_PASSWORD_LENGTH) return ['This password is too long.']
  if (password.length < 8)
    problems.push('This password is too short. It must contain at least 8 characters.')
  const lower = password.toLowerCase()
  for (const [name, label] of [
    ['username', 'username'],
    ['email', 'email address'],
  ] as const) {
    const value = attrs[name]?.toLowerCase()
    if (!value) continue
    const parts = [value, ...value.split(/\W+/)].filter((p) => p.length > 0)
    if (parts.some((p) => similarEnough(lower, p, MAX_SIMILARITY))) {
      problems.push(`The password is too similar to the ${label}.`)
      break
    }
  }
  if (COMMON_PASSWORDS.has(lower.trim())) problems.push('This password is too common.')
  if (/^\d+$/.test(password)) problems.push('This password is entirely numeric.')
  return problems
}
