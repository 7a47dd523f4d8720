import { z } from 'zod'

// DRF's wording for the two most common problems, so front ends show familiar messages.
z.config({
  customError: (issue) => {
    if (issue.code === 'invalid_type') {
      if (issue.input === undefined) return 'This field is required.'
      if (issue.input === null) return 'This field may not be null.'
      if (issue.expected === 'object' && issue.path?.length === 0) {
        return `Invalid data. Expected a dictionary, but got ${Array.isArray(issue.input) ? 'list' : typeof issue.input}.`
      }
      if (issue.expected === 'string') return 'Not a valid string.'
      if (issue.expected === 'number' || issue.expected === 'int')
        return 'A valid integer is required.'
      if (issue.expected === 'boolean') return 'Must be a valid boolean.'
    }
    return undefined
  },
})

/**
 * An id in a path: ASCII decimal digits, as Django's `int` path converter (`[0-9]+`) reads
 * it; anything else (`0x1`, `1e0`, `1.0`, ` 1`, `+1`, fullwidth digits) names no object and
 * is a 404 (the error handler's answer to a params error). `Number()` alone would accept
 * all of those. Documented as the integer it is.
 */
export const IdParams = z.object({
  id: z.preprocess(
    (v) => (typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v),
    z.number({ error: 'A valid integer is required.' }).int().positive().max(2147483647),
  ),
})

/** `true|false|1|0` in a query string, as DRF's BooleanFilter reads it. */
export const QueryBool = z
  .enum(['true', 'false', 'True', 'False', '1', '0'], {
    error: 'Select a valid choice: true or false.',
  })
  .transform((v) => v === 'true' || v === 'True' || v === '1')

/** An id in a query string. */
export const QueryId = z.coerce
  .number({ error: 'Select a valid choice.' })
  .int('Select a valid choice.')
  .positive('Select a valid choice.')
  .max(2147483647, 'Select a valid choice.')

export const ErrorBody = z
  .object({ detail: z.string(), code: z.string() })
  .meta({ id: 'Error', description: 'Error shape for 401/403/404/405/409/412/413/415/422/429' })

export const ValidationErrorBody = z.record(z.string(), z.array(z.string())).meta({
  id: 'ValidationError',
  description: 'One list of messages per field; non_field_errors for the body as a whole.',
})

export const paginated = <T extends z.ZodType>(item: T) =>
  z.object({
    count: z.number().int(),
    next: z.string().nullable(),
    previous: z.string().nullable(),
    results: z.array(item),
  })

/** Standard error responses for the OpenAPI document. */
export const errorResponses = {
  400: ValidationErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
} as const
