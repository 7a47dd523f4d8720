import createClient from 'openapi-fetch'
import type { components, paths } from './schema'

export type User = components['schemas']['User']
export type Service = components['schemas']['Service']
export type StaffMember = components['schemas']['StaffMember']
export type Reservation = components['schemas']['Reservation']
export type Shop = components['schemas']['Shop']
export type Slot = components['schemas']['Availability']['slots'][number]

/** The access token lives here, in memory only; the refresh token is an HttpOnly cookie. */
let accessToken: string | null = null
export function setAccessToken(token: string | null): void {
  accessToken = token
}
export function getAccessToken(): string | null {
  return accessToken
}

export const api = createClient<paths>({ baseUrl: '' })
api.use({
  onRequest({ request }) {
    if (accessToken && !request.headers.has('authorization'))
      request.headers.set('authorization', `Bearer ${accessToken}`)
    return request
  },
})

/** An API answer that is not a success, in words for the person in front of the page. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Messages per field of a 400, as the API names them. */
    readonly fields: Record<string, string[]> = {},
    readonly code?: string,
  ) {
    super(message)
  }
  /** The messages for one field, or ''. */
  field(name: string): string {
    return (this.fields[name] ?? []).join(' ')
  }
}

const FALLBACK: Record<number, string> = {
  0: 'The shop could not be reached. Check your connection and try again.',
  401: 'Please sign in again.',
  403: 'You are not allowed to do that.',
  404: 'Not found.',
  409: 'That conflicts with something that just changed.',
  412: 'This booking changed in the meantime. Reload and try again.',
  429: 'Too many attempts. Please wait a little and try again.',
}

/** Reads an error body ({detail, code} or {field: [msgs]}) into a Problem. */
export function toProblem(status: number, body: unknown): Problem {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>
    if (typeof b.detail === 'string')
      return new Problem(status, b.detail, {}, typeof b.code === 'string' ? b.code : undefined)
    const fields: Record<string, string[]> = {}
    for (const [k, v] of Object.entries(b))
      if (Array.isArray(v)) fields[k] = v.map(String)
      else if (typeof v === 'string') fields[k] = [v]
    const general = fields.non_field_errors?.join(' ')
    if (Object.keys(fields).length > 0)
      return new Problem(status, general ?? 'Please correct the marked fields.', fields)
  }
  return new Problem(status, FALLBACK[status] ?? `The shop answered with an error (${status}).`)
}

/** Unwraps an openapi-fetch result: the data, or a thrown Problem. */
export async function ok<T>(
  p: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<{ data: T; response: Response }> {
  let r: { data?: T; error?: unknown; response: Response }
  try {
    r = await p
  } catch {
    throw new Problem(0, FALLBACK[0]!)
  }
  if (!r.response.ok) throw toProblem(r.response.status, r.error)
  return { data: r.data as T, response: r.response }
}

/** A fresh idempotency key (crypto.randomUUID needs a secure context; this does not). */
export function newKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}

/** Saves a response body as a file the browser downloads. */
export async function download(response: Response, filename: string): Promise<void> {
  const url = URL.createObjectURL(await response.blob())
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
