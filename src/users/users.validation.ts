import { z } from 'zod'
import type { FieldErrors } from '../http/errors.js'

const USERNAME = /^[\p{L}\p{N}@.+\-_]{1,150}$/u
const emailSchema = z.email()

/** Django's UnicodeUsernameValidator: 1–150 of letters, digits and @.+-_ */
export function checkUsername(errors: FieldErrors, value: string): string | undefined {
  const v = value.trim()
  if (v.length === 0) errors.add('username', 'This field may not be blank.')
  else if (v.length > 150)
    errors.add('username', 'Ensure this field has no more than 150 characters.')
  else if (!USERNAME.test(v)) {
    errors.add(
      'username',
      'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.',
    )
  } else return v
  return undefined
}

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
