import { z } from 'zod'
import type { FieldErrors } from '../http/errors.js'

const USERNAME = /^[\p{L}\p{N}@.+\-_]{1,150}$/u
const emailSchema = z.email()

/**
 * A username as stored: NFKC-normalised, as Django's AbstractBaseUser.normalize_username does,
 * so compatibility forms (fullwidth `ａｌｉｃｅ`, ligatures) become their plain letters.
 */
export function normalizeUsername(value: string): string {
  return value.trim().normalize('NFKC')
}

/** The case-insensitive key a username is unique by and looked up with. */
export function usernameKey(value: string): string {
  return normalizeUsername(value).toLowerCase()
}

/**
 * Scripts whose letters pass for each other (а/a, о/o, ο/o, р/p …). NFKC does not fold them,
 * so a name mixing them could pose as another user's: such names are refused.
 */
const CONFUSABLE_SCRIPTS = [
  ['Latin', /\p{Script=Latin}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Greek', /\p{Script=Greek}/u],
] as const

/** The confusable scripts a name's letters come from. */
export function scriptsOf(value: string): string[] {
  return CONFUSABLE_SCRIPTS.filter(([, re]) => re.test(value)).map(([name]) => name)
}

/**
 * Django's UnicodeUsernameValidator (1–150 of letters, digits and @.+-_) over the NFKC form,
 * and no mixing of Latin, Cyrillic and Greek letters. Returns the normalised name.
 */
export function checkUsername(errors: FieldErrors, value: string): string | undefined {
  // Length first, on the raw input: nothing below runs over an oversized value.
  const v = value.length > 1000 ? value : normalizeUsername(value)
  if (v.length === 0) errors.add('username', 'This field may not be blank.')
  else if (v.length > 150)
    errors.add('username', 'Ensure this field has no more than 150 characters.')
  else if (!USERNAME.test(v)) {
    errors.add(
      'username',
      'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.',
    )
  } else if (scriptsOf(v).length > 1) {
    errors.add(
      'username',
      `Enter a valid username. It may not mix letters of different scripts (here: ${scriptsOf(v).join(' and ')}), as look-alike letters could pose as another user's name.`,
    )
  } else return v
  return undefined
}

/**
 * email_key of a customer without an address: this prefix and a UUID. Unique, and with no '@'
 * it never equals a (validated) address.
 */
export const NO_EMAIL_KEY_PREFIX = 'no-email:'

export function checkEmail(errors: FieldErrors, value: string): string | undefined {
  const v = value.trim()
  if (v.length === 0) errors.add('email', 'This field may not be blank.')
  else if (v.length > 254 || !emailSchema.safeParse(v).success)
    errors.add('email', 'Enter a valid email address.')
  else return v
  return undefined
}

/** Spaces, dashes and brackets are dropped; then an optional + and 7–15 digits. */
export function checkPhone(
  errors: FieldErrors,
  value: string | null | undefined,
): string | undefined {
  if (value == null) return ''
  const v = value.replace(/[\s\-()[\]]/g, '')
  if (v === '') return ''
  if (!/^\+?\d{7,15}$/.test(v)) {
    errors.add('phone', 'Enter a valid phone number: an optional + and 7 to 15 digits.')
    return undefined
  }
  return v
}

export function checkName(
  errors: FieldErrors,
  field: 'first_name' | 'last_name',
  value: string | undefined,
): string {
  const v = (value ?? '').trim()
  if (v.length > 150) errors.add(field, 'Ensure this field has no more than 150 characters.')
  return v
}
