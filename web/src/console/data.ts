import { queryOptions, useQueries, useQuery } from '@tanstack/react-query'
import { api, getAccessToken, ok } from '../api/client'
import type { Reservation, Service, User } from '../api/client'
import type { components } from '../api/schema'
import { call } from '../auth'

export type TimeOff = components['schemas']['TimeOff']
export type Notification = components['schemas']['Notification']
export type Stats = components['schemas']['DashboardStats']
export type HistoryEntry = components['schemas']['ReservationHistoryEntry']
/** What a staff member may see of a customer (GET /api/users/ for staff). */
export type Person = Pick<User, 'id' | 'first_name' | 'last_name' | 'phone' | 'email'> &
  Partial<User>

export const POLL_MS = 10_000

/**
 * A JSON call outside the generated client (an endpoint newer than the checked-in schema),
 * still through `call` so an expired access token is refreshed.
 */
export function raw<T>(method: string, path: string, body?: unknown, headers?: HeadersInit) {
  return call<T>(async () => {
    const token = getAccessToken()
    const response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    const data = text ? (JSON.parse(text) as T) : undefined
    return { data, error: data, response }
  })
}

interface Page<T> {
  count: number
  next?: string | null
  results: T[]
}

/** Every page of a list (100 a page), for a day's bookings or a CSV export. */
export async function fetchAll<T>(path: string, query: Record<string, string | undefined>) {
  const out: T[] = []
  for (let page = 1; page < 200; page++) {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, v)
    q.set('page', String(page))
    q.set('page_size', '100')
    const { data } = await raw<Page<T>>('GET', `${path}?${q}`)
    out.push(...data.results)
    if (!data.next) break
  }
  return out
}

export function dayReservationsQuery(from: string, to: string, staff?: number) {
  return queryOptions({
    queryKey: ['console', 'reservations', 'day', from, to, staff ?? 'all'],
    queryFn: () =>
      fetchAll<Reservation>('/api/reservations/', {
        start_after: from,
        start_before: to,
        staff: staff === undefined ? undefined : String(staff),
      }),
    refetchInterval: POLL_MS,
  })
}

export const timeOffQuery = queryOptions({
  queryKey: ['console', 'time-off'],
  queryFn: () => fetchAll<TimeOff>('/api/time-off/', {}),
  refetchInterval: POLL_MS,
})

export const allServicesQuery = queryOptions({
  queryKey: ['console', 'services'],
  queryFn: () => fetchAll<Service>('/api/services/', {}),
  staleTime: 60_000,
})

export const barbersQuery = queryOptions({
  queryKey: ['console', 'barbers'],
  queryFn: async () =>
    (await ok(api.GET('/api/staff/', { params: { query: { page_size: '100' } } }))).data.results,
  staleTime: 60_000,
})

export function personQuery(id: number) {
  return queryOptions({
    queryKey: ['console', 'person', id],
    queryFn: async () => (await raw<Person>('GET', `/api/users/${id}/`)).data,
    staleTime: 5 * 60_000,
    retry: false,
  })
}

/** The people behind a set of ids (customers of the day), each fetched once and cached. */
export function usePeople(ids: number[]): Map<number, Person> {
  const unique = [...new Set(ids)]
  const results = useQueries({ queries: unique.map((id) => personQuery(id)) })
  const map = new Map<number, Person>()
  results.forEach((r, i) => {
    if (r.data) map.set(unique[i]!, r.data)
  })
  return map
}

export function usePerson(id: number | null | undefined) {
  return useQuery({ ...personQuery(id ?? 0), enabled: !!id })
}

export function personName(p: Partial<Person> | undefined, fallback = 'Customer'): string {
  if (!p) return fallback
  return `${p.first_name ?? ''} ${p.last_name ?? ''}`.trim() || p.username || fallback
}

/** One reservation with its ETag, for a PATCH with If-Match. */
export async function getReservation(id: number): Promise<{ r: Reservation; etag: string }> {
  const { data, response } = await raw<Reservation>('GET', `/api/reservations/${id}/`)
  return { r: data, etag: response.headers.get('etag') ?? '*' }
}

export async function patchReservation(
  id: number,
  etag: string,
  body: Record<string, unknown>,
): Promise<{ r: Reservation; etag: string }> {
  const { data, response } = await raw<Reservation>('PATCH', `/api/reservations/${id}/`, body, {
    'if-match': etag,
  })
  return { r: data, etag: response.headers.get('etag') ?? '*' }
}

export const STATUSES = ['pending', 'confirmed', 'completed', 'cancelled', 'no_show'] as const
export type Status = (typeof STATUSES)[number]
export const STATUS_LABEL: Record<string, string> = {
  pending: 'Pending',
  confirmed: 'Confirmed',
  completed: 'Completed',
  cancelled: 'Cancelled',
  no_show: 'No-show',
}

export function money(amount: string | number, currency: string): string {
  return new Intl.NumberFormat('en-GB', { style: 'currency', currency }).format(Number(amount))
}
