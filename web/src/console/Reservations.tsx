import { useState } from 'react'
import type { FormEvent } from 'react'
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query'
import { download } from '../api/client'
import type { Reservation } from '../api/client'
import { useSession } from '../auth'
import { staffName, useShop } from '../data'
import { timeOfDay, when } from '../lib/time'
import { ErrorText, Loading } from '../ui'
import { BookingDialog } from './BookingDialog'
import { useGo } from './Console'
import type { Search } from './Console'
import type { Column } from './DayView'
import {
  allServicesQuery,
  barbersQuery,
  fetchAll,
  personName,
  personQuery,
  POLL_MS,
  raw,
  STATUS_LABEL,
  STATUSES,
  usePeople,
} from './data'
import { toCsv } from './lib'
import { Pager, SelectField, StatusBadge } from './parts'
import { Field } from '../ui'

const PAGE = 25

/** The API's filters from the page's search params (the same names). */
function filters(search: Search, staffOnly?: number): Record<string, string | undefined> {
  return {
    status: search.status || undefined,
    staff: staffOnly !== undefined ? String(staffOnly) : search.staff || undefined,
    customer: search.customer || undefined,
    start_after: search.from || undefined,
    // "to" is a day included: the API's start_before is exclusive.
    start_before: search.to ? nextDay(search.to) : undefined,
    ordering: search.ordering || 'start_time',
  }
}

function nextDay(date: string): string {
  const d = new Date(`${date}T12:00:00Z`)
  d.setUTCDate(d.getUTCDate() + 1)
  return d.toISOString().slice(0, 10)
}

export default function Reservations({ search }: { search: Search }) {
  const shop = useShop()
  const zone = shop.timezone
  const { user } = useSession()
  const qc = useQueryClient()
  const go = useGo()
  const isAdmin = !!user?.is_admin
  const page = Math.max(1, Number(search.page) || 1)
  const q = filters(search, isAdmin ? undefined : user?.id)
  const barbers = useQuery({ ...barbersQuery, enabled: isAdmin })
  const services = useQuery(allServicesQuery)
  const [openId, setOpenId] = useState<number | null>(null)
  const [exporting, setExporting] = useState<unknown>(null)

  const list = useQuery({
    queryKey: ['console', 'reservations', 'table', q, page],
    queryFn: async () => {
      const p = new URLSearchParams()
      for (const [k, v] of Object.entries(q)) if (v) p.set(k, v)
      p.set('page', String(page))
      p.set('page_size', String(PAGE))
      return (
        await raw<{ count: number; results: Reservation[] }>('GET', `/api/reservations/?${p}`)
      ).data
    },
    placeholderData: keepPreviousData,
    refetchInterval: POLL_MS,
  })
  const rows = list.data?.results ?? []
  const people = usePeople(rows.map((r) => r.customer))
  const columns: Column[] = isAdmin
    ? (barbers.data ?? []).map((b) => ({ key: String(b.id), staff: b.id, name: staffName(b) }))
    : user
      ? [{ key: String(user.id), staff: user.id, name: staffName(user) }]
      : []
  const barberName = (id: number | null | undefined) =>
    id == null ? 'No barber' : (columns.find((c) => c.staff === id)?.name ?? `Barber #${id}`)
  const serviceName = (id: number | null | undefined) =>
    (id != null && services.data?.find((s) => s.id === id)?.name) || '—'

  function apply(e: FormEvent<HTMLFormElement>) {
    e.preventDefault()
    const f = new FormData(e.currentTarget)
    const next: Search = {}
    for (const k of ['status', 'staff', 'customer', 'from', 'to', 'ordering']) {
      const v = String(f.get(k) ?? '')
      if (v) next[k] = v
    }
    go('reservations', next)
  }

  async function exportCsv() {
    setExporting('Exporting…')
    try {
      const all = await fetchAll<Reservation>('/api/reservations/', q)
      const ids = [...new Set(all.map((r) => r.customer))]
      const names = new Map<number, string>()
      // Each customer once (cached), six at a time; one that cannot be read stays blank.
      for (let i = 0; i < ids.length; i += 6)
        await Promise.all(
          ids.slice(i, i + 6).map(async (id) => {
            try {
              names.set(id, personName(await qc.fetchQuery(personQuery(id)), ''))
            } catch {
              names.set(id, '')
            }
          }),
        )
      const csv = toCsv(
        [
          'id',
          'start (shop time)',
          'end (shop time)',
          'status',
          'barber',
          'customer id',
          'customer',
          'service',
          'notes',
          'created_at',
          'cancellation_reason',
        ],
        all.map((r) => [
          r.id,
          when(r.start_time, zone),
          timeOfDay(r.end_time, zone),
          r.status,
          barberName(r.staff),
          r.customer,
          names.get(r.customer) ?? '',
          serviceName(r.service),
          r.notes,
          r.created_at,
          r.cancellation_reason,
        ]),
      )
      await download(
        new Response(new Blob([csv], { type: 'text/csv;charset=utf-8' })),
        'reservations.csv',
      )
      setExporting(null)
    } catch (e) {
      setExporting(e)
    }
  }

  const count = list.data?.count ?? 0
  const pages = Math.max(1, Math.ceil(count / PAGE))
  const opened = rows.find((r) => r.id === openId)
  return (
    <section aria-labelledby="res-title">
      <h1 id="res-title">Reservations</h1>
      <form className="filters" onSubmit={apply} aria-label="Filters">
        <SelectField label="Status" name="status" defaultValue={search.status ?? ''}>
          <option value="">Any</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {STATUS_LABEL[s]}
            </option>
          ))}
          <option value="pending,confirmed">Active (pending or confirmed)</option>
        </SelectField>
        {isAdmin && (
          <SelectField label="Barber" name="staff" defaultValue={search.staff ?? ''}>
            <option value="">Any</option>
            {columns.map((c) => (
              <option key={c.key} value={String(c.staff)}>
                {c.name}
              </option>
            ))}
          </SelectField>
        )}
        {isAdmin && (
          <Field
            label="Customer id"
            name="customer"
            inputMode="numeric"
            defaultValue={search.customer ?? ''}
          />
        )}
        <Field label="From day" name="from" type="date" defaultValue={search.from ?? ''} />
        <Field label="To day (included)" name="to" type="date" defaultValue={search.to ?? ''} />
        <SelectField label="Sort by" name="ordering" defaultValue={search.ordering ?? 'start_time'}>
          <option value="start_time">Start, earliest first</option>
          <option value="-start_time">Start, latest first</option>
          <option value="-created_at">Booked, newest first</option>
          <option value="created_at">Booked, oldest first</option>
        </SelectField>
        <div className="actions">
          <button type="submit" className="accent">
            Apply
          </button>
          <button type="button" onClick={() => void exportCsv()}>
            Export CSV
          </button>
        </div>
      </form>
      {typeof exporting === 'string' ? (
        <p role="status">{exporting}</p>
      ) : (
        <ErrorText error={exporting} />
      )}
      {list.error && <ErrorText error={list.error} />}
      {list.isPending ? (
        <Loading what="reservations" />
      ) : (
        <>
          <p role="status">
            {count} reservation{count === 1 ? '' : 's'} match.
          </p>
          <table className="table">
            <caption className="sr-only">
              Reservations, page {page} of {pages}
            </caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Customer</th>
                <th scope="col">Barber</th>
                <th scope="col">Service</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="sr-only">Open</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id}>
                  <td>
                    {when(r.start_time, zone)}–{timeOfDay(r.end_time, zone)}
                  </td>
                  <td>{personName(people.get(r.customer), `#${r.customer}`)}</td>
                  <td>{barberName(r.staff)}</td>
                  <td>{serviceName(r.service)}</td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td>
                    <button
                      type="button"
                      onClick={() => setOpenId(r.id)}
                      aria-label={`Open the booking of ${personName(people.get(r.customer))}, ${when(r.start_time, zone)}`}
                    >
                      Open
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager
            page={page}
            pages={pages}
            onPage={(p) => go('reservations', { ...search, page: String(p) })}
          />
        </>
      )}
      {opened && (
        <BookingDialog
          reservation={opened}
          columns={columns}
          onClose={() => setOpenId(null)}
          onDone={() => undefined}
        />
      )}
    </section>
  )
}
