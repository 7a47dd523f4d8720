import { z } from 'zod'
import type { FastifyRequest } from 'fastify'
import { NotFound } from './errors.js'

export const PAGE_SIZE_DEFAULT = 20
export const PAGE_SIZE_MAX = 100

/** `?page=` from 1, `?page_size=` capped at 100 (DRF's max_page_size clamps, it does not refuse). */
export const PageQuery = z.object({
  page: z.coerce
    .number({ error: 'A valid integer is required.' })
    .int('A valid integer is required.')
    .min(1, 'Invalid page.')
    .default(1),
  page_size: z.coerce
    .number({ error: 'A valid integer is required.' })
    .int('A valid integer is required.')
    .min(1, 'Ensure this value is greater than or equal to 1.')
    .default(PAGE_SIZE_DEFAULT)
    .transform((n) => Math.min(n, PAGE_SIZE_MAX)),
})

export interface Page<T> {
  count: number
  next: string | null
  previous: string | null
  results: T[]
}

export function pageWindow(q: { page: number; page_size: number }) {
  return { limit: q.page_size, offset: (q.page - 1) * q.page_size }
}

/** Builds DRF's absolute next/previous links from the request's own URL. */
export function paginate<T>(
  req: FastifyRequest,
  q: { page: number; page_size: number },
  count: number,
  results: T[],
): Page<T> {
  const base = new URL(req.url, `${req.protocol}://${req.host}`)
  const link = (page: number) => {
    const u = new URL(base)
    if (page === 1) u.searchParams.delete('page')
    else u.searchParams.set('page', String(page))
    return u.toString()
  }
  const lastPage = Math.max(1, Math.ceil(count / q.page_size))
  // DRF answers a page past the end with 404 "Invalid page."
  if (q.page > lastPage) throw NotFound('Invalid page.')
  return {
    count,
    next: q.page < lastPage ? link(q.page + 1) : null,
    previous: q.page > 1 ? link(Math.min(q.page - 1, lastPage)) : null,
    results,
  }
}
