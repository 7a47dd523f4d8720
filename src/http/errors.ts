import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { isConnectionError, isExclusionViolation } from '../db/database.js'

/** A failure with a place in the contract: status, `detail`, stable `code`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly detail: string,
    readonly code: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail)
    this.name = 'ApiError'
  }
}

export const NotFound = (detail = 'Not found.') => new ApiError(404, detail, 'not_found')
export const Forbidden = (
  detail = 'You do not have permission to perform this action.',
  code = 'permission_denied',
) => new ApiError(403, detail, code)
export const NotAuthenticated = () =>
  new ApiError(401, 'Authentication credentials were not provided.', 'not_authenticated', {
    'www-authenticate': 'Bearer realm="api"',
  })
export const TokenNotValid = (detail = 'Given token not valid for any token type') =>
  new ApiError(401, detail, 'token_not_valid', { 'www-authenticate': 'Bearer realm="api"' })
export const Conflict = (code: string, detail: string) => new ApiError(409, detail, code)
export const SlotUnavailable = (detail = 'The requested time slot is not available.') =>
  Conflict('slot_unavailable', detail)
export const PreconditionFailed = () =>
  new ApiError(
    412,
    'The resource has changed since it was read (If-Match does not match).',
    'precondition_failed',
  )
export const Unprocessable = (detail: string, code = 'unprocessable') =>
  new ApiError(422, detail, code)
export const Throttled = (retryAfterSeconds: number) => {
  const wait = Math.max(1, Math.ceil(retryAfterSeconds))
  return new ApiError(
    429,
    `Request was throttled. Expected available in ${wait} seconds.`,
    'throttled',
    {
      'retry-after': String(wait),
    },
  )
}
export const ServiceUnavailable = (
  detail = 'Service temporarily unavailable, try again shortly.',
) => new ApiError(503, detail, 'service_unavailable', { 'retry-after': '5' })

/** DRF's 400: one list of messages per field, `non_field_errors` for the body as a whole. */
export class ValidationFailed extends Error {
  constructor(readonly fields: Record<string, string[]>) {
    super('Validation failed')
    this.name = 'ValidationFailed'
  }
}

/** Collects field errors so a request reports every problem at once. */
export class FieldErrors {
  readonly fields: Record<string, string[]> = {}
  add(field: string, message: string): void {
    ;(this.fields[field] ??= []).push(message)
  }
  static single(field: string, message: string): ValidationFailed {
    return new ValidationFailed({ [field]: [message] })
  }
  get empty(): boolean {
    return Object.keys(this.fields).length === 0
  }
  throwIfAny(): void {
    if (!this.empty) throw new ValidationFailed(this.fields)
  }
}

function send(
  reply: FastifyReply,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  for (const [k, v] of Object.entries(headers)) void reply.header(k, v)
  return reply.code(status).type('application/json; charset=utf-8').send(body)
}

const GENERIC_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'not_authenticated',
  403: 'permission_denied',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  411: 'length_required',
  412: 'precondition_failed',
  413: 'request_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'throttled',
  431: 'headers_too_large',
}

function fieldsFromValidation(err: FastifyError): Record<string, string[]> {
  const fields: Record<string, string[]> = {}
  for (const v of err.validation ?? []) {
    const path = v.instancePath.replace(/^\//, '').split('/').filter(Boolean)
    const field = path.length === 0 ? 'non_field_errors' : path.join('.')
    ;(fields[field] ??= []).push(v.message ?? 'Invalid value.')
  }
  return fields
}

/** What an error line names besides the request id: method, route pattern, status. */
function where(request: FastifyRequest, status?: number) {
  return {
    method: request.method,
    route: request.routeOptions.url ?? null,
    ...(status !== undefined ? { status } : {}),
  }
}

/**
 * The client's own socket is gone (Node's "aborted" while the body was read, or closed
 * since): not a dependency being down. Under app.inject there is no socket to lose.
 */
function clientGone(request: FastifyRequest, error: FastifyError): boolean {
  const socket = request.raw.socket as { destroyed?: boolean } | null | undefined
  return (
    (error.code === 'ECONNRESET' && error.message === 'aborted') ||
    (socket?.destroyed === true && isConnectionError(error))
  )
}

/** The one place where errors become responses. Never a stack trace in a body. */
export const errorHandling = fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      if (error instanceof ApiError) {
        return send(
          reply,
          error.statusCode,
          { detail: error.detail, code: error.code },
          error.headers,
        )
      }
      if (error instanceof ValidationFailed) return send(reply, 400, error.fields)
      if (hasZodFastifySchemaValidationErrors(error)) {
        // A path that does not parse (`/api/users/abc/`) names no object: 404, as Django's URL patterns do.
        if (error.validationContext === 'params')
          return send(reply, 404, { detail: 'Not found.', code: 'not_found' })
        return send(reply, 400, fieldsFromValidation(error))
      }
      if (isExclusionViolation(error)) {
        return send(reply, 409, {
          detail: 'The requested time slot is not available.',
          code: 'slot_unavailable',
        })
      }
      if (clientGone(request, error)) {
        // The client hung up (mid-body, or before the answer): nothing is wrong here, and
        // nobody is left to answer.
        request.log.info(
          { ...where(request), reason: error.message },
          'client closed the connection before the answer',
        )
        return send(reply, 400, { detail: 'Client closed the connection.', code: 'aborted' })
      }
      if (isConnectionError(error)) {
        request.log.warn({ err: error, ...where(request, 503) }, 'dependency unavailable')
        return send(
          reply,
          503,
          {
            detail: 'Service temporarily unavailable, try again shortly.',
            code: 'service_unavailable',
          },
          { 'retry-after': '5' },
        )
      }
      const status = error.statusCode ?? 500
      if (status >= 400 && status < 500) {
        let detail = error.message
        let code = GENERIC_CODES[status] ?? 'error'
        if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
          detail = `Unsupported media type "${request.headers['content-type'] ?? ''}" in request.`
        } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
          detail = 'Request body is larger than 1 MiB.'
        } else if (
          status === 400 &&
          (error instanceof SyntaxError || error.code?.startsWith('FST_ERR_CTP'))
        ) {
          detail = `JSON parse error - ${error.message}`
          code = 'parse_error'
        } else if (status === 429) {
          code = 'throttled'
        }
        return send(reply, status, { detail, code }, status === 429 ? { 'retry-after': '60' } : {})
      }
      request.log.error({ err: error, ...where(request, 500) }, 'unhandled error')
      return send(reply, 500, { detail: 'A server error occurred.', code: 'server_error' })
    })
  },
  { name: 'error-handling' },
)
