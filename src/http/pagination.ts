import { z } from 'zod'
import type { FastifyRequest } from 'fastify'
import { NotFound } from './errors.js'

export const PAGE_SIZE_DEFAULT = 20
export const PAGE_SIZE_MAX = 100

/** The last of a repeated query parameter, as Django's QueryDict.get gives it. */
const lastValue = (v: string | string[] | undefined) => (Array.isArray(v) ? v.at(-1) : v)
const QueryValue = z.union([z.string(), z.array(z.string())]).optional()

/**
 * `?page=` from 1, `?page_size=` capped at 100, as DRF's PageNumberPagination reads them: a
 * page that is not a positive integer is 404 "Invalid page." (`pageWindow` throws it), and a
 * page_size that is not a positive integer falls back to the default; neither is a 400.
 */
export const PageQuery = z.object({
  page: QueryValue.transform((v) => {
    const s = lastValue(v)
    if (s === undefined) return 1
    return /^\d+$/.test(s) && Number(s) >= 1 ? Number(s) : 0
  }),
  page_size: QueryValue.transform((v) => {
    const s = lastValue(v)
    const n = s !== undefined && /^\d+$/.test(s) ? Number(s) : 0
    return n >= 1 ? Math.min(n, PAGE_SIZE_MAX) : PAGE_SIZE_DEFAULT
  }),
})

/**
 * `?ordering=` as DRF's OrderingFilter reads it: the first allowed term of a comma-separated
 * list; terms it does not know are dropped (no 400), leaving the default order.
 */
export function orderingParam<const T extends readonly [string, ...string[]]>(allowed: T) {
  return QueryValue.transform((v): T[number] | undefined =>
    lastValue(v)
      ?.split(',')
      .map((t) => t.trim())
      .find((t): t is T[number] => (allowed as readonly string[]).includes(t)),
  )
}

export interface Page<T> {
  count: number
  next: string | null
  previous: string | null
  results: T[]
}

/**
 * LIMIT/OFFSET for a page. A page whose offset is not an exact integer (past 2^53, far
 * beyond any table here) cannot be on the list: 404 "Invalid page." before the database
 * sees a number it would refuse (PostgreSQL reads 1e+21 as bad bigint syntax, SQLite
 * overflows past 2^63-1).
 */
export function pageWindow(q: { page: number; page_size: number }) {
  const offset = (q.page - 1) * q.page_size
  if (!(q.page >= 1) || !Number.isSafeInteger(offset)) throw NotFound('Invalid page.')
  return { limit: q.page_size, offset }
}

/**
 * Builds DRF's absolute next/previous links from the request's own path and query, on
 * PUBLIC_URL or the validated Host (`req.linkBase`, set by the host check), never on an
 * unchecked Host header.
 */
export function paginate<T>(
  req: FastifyRequest,
  q: { page: number; page_size: number },
  count: number,
  results: T[],
): Page<T> {
  const base = new URL(`${req.linkBase}${req.url}`)
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
