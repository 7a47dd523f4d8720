import { queryOptions, useQuery, useSuspenseQuery } from '@tanstack/react-query'
import { api, ok } from './api/client'

export const shopQuery = queryOptions({
  queryKey: ['shop'],
  queryFn: async () => (await ok(api.GET('/api/shop/'))).data,
  staleTime: Infinity,
})

export const servicesQuery = queryOptions({
  queryKey: ['services'],
  queryFn: async () =>
    (await ok(api.GET('/api/services/', { params: { query: { page_size: '100' } } }))).data.results,
  staleTime: 5 * 60_000,
})

export const staffQuery = queryOptions({
  queryKey: ['staff'],
  queryFn: async () =>
    (await ok(api.GET('/api/staff/', { params: { query: { page_size: '100' } } }))).data.results,
  staleTime: 5 * 60_000,
})

export function availabilityQuery(date: string, service: number, barber: number | 'any') {
  return queryOptions({
    queryKey: ['availability', date, service, barber],
    queryFn: async () =>
      (
        await ok(
          api.GET('/api/availability/', {
            params: {
              query: { date, service, ...(barber === 'any' ? {} : { staff: barber }) },
            },
          }),
        )
      ).data,
    staleTime: 30_000,
  })
}

export const useShop = () => useSuspenseQuery(shopQuery).data
export const useServices = () => useQuery(servicesQuery)
export const useStaff = () => useQuery(staffQuery)

export function staffName(s: { first_name: string; last_name: string; username: string }): string {
  return `${s.first_name} ${s.last_name}`.trim() || s.username
}
