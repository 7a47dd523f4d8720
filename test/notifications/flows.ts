/** What a user does over HTTP, for the notification tests (works against any app's `req`). */
import { expect } from 'vitest'
import { PASSWORD, unique } from '../helpers.js'
import type { TestApp, TestUser } from '../helpers.js'

export type Req = TestApp['req']

export interface Registered {
  id: number
  username: string
  email: string
  token: string
}

export async function register(req: Req, first = 'Ana', last = 'Lee'): Promise<Registered> {
  const username = unique('mail')
  const email = `${username.toLowerCase()}@example.com`
  const res = await req('POST', '/api/auth/register/', {
    body: { username, email, password: PASSWORD, first_name: first, last_name: last },
  })
  expect(res.statusCode, res.body).toBe(201)
  const body = res.json() as { user: { id: number }; access: string }
  return { id: body.user.id, username, email, token: body.access }
}

export interface ReservationView {
  id: number
  status: string
  start_time: string
  end_time: string
  cancelled_by: string | null
  completed_at: string | null
}

export async function book(
  req: Req,
  customer: Registered | TestUser,
  body: { start_time: string; staff?: number; service?: number; end_time?: string },
): Promise<ReservationView> {
  const res = await req('POST', '/api/reservations/', { user: customer.token, body })
  expect(res.statusCode, res.body).toBe(201)
  return res.json() as ReservationView
}

export async function change(
  req: Req,
  who: Registered | TestUser,
  id: number,
  body: Record<string, unknown>,
): Promise<ReservationView> {
  const res = await req('PATCH', `/api/reservations/${id}/`, { user: who.token, body })
  expect(res.statusCode, res.body).toBe(200)
  return res.json() as ReservationView
}

export async function getReservation(
  req: Req,
  who: Registered | TestUser,
  id: number,
): Promise<ReservationView> {
  const res = await req('GET', `/api/reservations/${id}/`, { user: who.token })
  expect(res.statusCode, res.body).toBe(200)
  return res.json() as ReservationView
}

/** A fresh access token at the app's current (test) time: tokens issued earlier may have expired. */
export async function freshToken(t: TestApp, user: { id: number }): Promise<string> {
  return (await t.runtime.ctx.tokens.issue('access', user.id, t.clock.now())).token
}

export function isoAt(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}
