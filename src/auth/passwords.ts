import { randomBytes } from 'node:crypto'
import { hash, verify } from '@node-rs/argon2'
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

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  // The same time as a wrong password: an unusable one must not be told apart by timing.
  if (stored.startsWith(UNUSABLE_PREFIX)) return (await burnVerifyTime(password), false)
  try {
    return await verify(stored, password)
  } catch {
    return false
  }
}

let dummy: Promise<string> | undefined
/**
 * Verifies against a throwaway hash so that a login for an unknown user costs the same
 * time as one with a wrong password (no user enumeration by timing).
 */
export async function burnVerifyTime(password: string): Promise<void> {
  dummy ??= hashPassword('not-a-real-password-0')
  await verifyPassword(await dummy, password)
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
