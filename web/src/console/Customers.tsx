import { useState } from 'react'
import type { FormEvent } from 'react'
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query'
import type { Reservation, User } from '../api/client'
import { useSession } from '../auth'
import { useShop } from '../data'
import { timeOfDay, when } from '../lib/time'
import { ErrorText, Field, Loading } from '../ui'
import { ConsoleLink, useGo } from './Console'
import { personName, raw, usePerson } from './data'
import type { Person } from './data'
import { Pager, Refusal, StatusBadge } from './parts'

export default function Customers({ id }: { id: string }) {
  return id ? <Profile id={Number(id)} /> : <CustomerList />
}

function CustomerList() {
  const [term, setTerm] = useState('')
  const [page, setPage] = useState(1)
  const list = useQuery({
    queryKey: ['console', 'customers', term, page],
    queryFn: async () =>
      (
        await raw<{ count: number; results: Person[] }>(
          'GET',
          `/api/users/?${new URLSearchParams({
            ...(term ? { search: term } : {}),
            page: String(page),
            page_size: '25',
            ordering: 'username',
          })}`,
        )
      ).data,
    placeholderData: keepPreviousData,
  })
  const pages = Math.max(1, Math.ceil((list.data?.count ?? 0) / 25))
  return (
    <section aria-labelledby="cust-title">
      <h1 id="cust-title">Customers</h1>
      <form
        role="search"
        onSubmit={(e) => {
          e.preventDefault()
          setTerm(String(new FormData(e.currentTarget).get('q') ?? ''))
          setPage(1)
        }}
        className="filters"
      >
        <Field label="Name, phone or email" name="q" type="search" defaultValue={term} />
        <div className="actions">
          <button type="submit" className="accent">
            Search
          </button>
        </div>
      </form>
      {list.error && <ErrorText error={list.error} />}
      {list.isPending ? (
        <Loading what="customers" />
      ) : (
        <>
          <p role="status">{list.data?.count ?? 0} found.</p>
          <table className="table">
            <caption className="sr-only">Customers</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Phone</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
              </tr>
            </thead>
            <tbody>
              {(list.data?.results ?? []).map((p) => (
                <tr key={p.id}>
                  <td>
                    <ConsoleLink to={`customers/${p.id}`}>{personName(p, `#${p.id}`)}</ConsoleLink>
                  </td>
                  <td>{p.phone || '—'}</td>
                  <td>{p.email || '—'}</td>
                  <td>
                    {p.is_admin
                      ? 'Admin'
                      : p.is_staff_member
                        ? 'Barber'
                        : p.is_active === false
                          ? 'Customer (inactive)'
                          : 'Customer'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} pages={pages} onPage={setPage} />
        </>
      )}
    </section>
  )
}

function Profile({ id }: { id: number }) {
  const shop = useShop()
  const { user } = useSession()
  const qc = useQueryClient()
  const go = useGo()
  const person = usePerson(id)
  const [problem, setProblem] = useState<unknown>(null)
  const [saved, setSaved] = useState('')
  const [confirmDelete, setConfirmDelete] = useState(false)
  const bookings = useQuery({
    queryKey: ['console', 'customer-bookings', id],
    queryFn: async () =>
      (
        await raw<{ count: number; results: Reservation[] }>(
          'GET',
          `/api/reservations/?customer=${id}&ordering=-start_time&page_size=100`,
        )
      ).data.results.filter((r) => r.customer === id),
  })
  const isAdmin = !!user?.is_admin

  async function save(e: FormEvent<HTMLFormElement>) {
    e.preventDefault()
    const f = new FormData(e.currentTarget)
    setProblem(null)
    setSaved('')
    try {
      const { data } = await raw<User>('PATCH', `/api/users/${id}/`, {
        first_name: String(f.get('first_name') ?? ''),
        last_name: String(f.get('last_name') ?? ''),
        phone: String(f.get('phone') ?? ''),
        email: String(f.get('email') ?? ''),
        is_active: f.get('is_active') === 'on',
      })
      qc.setQueryData(['console', 'person', id], data)
      setSaved('Saved.')
    } catch (err) {
      setProblem(err)
    }
  }

  async function remove() {
    setProblem(null)
    try {
      await raw('DELETE', `/api/users/${id}/`)
      await qc.invalidateQueries({ queryKey: ['console'] })
      go('customers')
    } catch (err) {
      setProblem(err)
      setConfirmDelete(false)
    }
  }

  if (person.isPending) return <Loading what="the customer" />
  if (person.error) return <ErrorText error={person.error} />
  const p = person.data!
  const rows = bookings.data ?? []
  return (
    <section aria-labelledby="prof-title">
      <p>
        <ConsoleLink to="customers">← All customers</ConsoleLink>
      </p>
      <h1 id="prof-title">{personName(p, `Customer #${id}`)}</h1>
      <p>
        {p.phone ? <a href={`tel:${p.phone}`}>{p.phone}</a> : 'No phone'} ·{' '}
        {p.email ? <a href={`mailto:${p.email}`}>{p.email}</a> : 'No email (gets no emails)'}
      </p>
      <p>
        Visits: {rows.filter((r) => r.status === 'completed').length} completed ·{' '}
        {rows.filter((r) => r.status === 'no_show').length} no-shows ·{' '}
        {rows.filter((r) => r.status === 'cancelled').length} cancelled
      </p>
      {isAdmin && (
        <form onSubmit={(e) => void save(e)} noValidate aria-label="Edit customer">
          <h2>Details</h2>
          <div className="form-row">
            <Field
              label="First name"
              name="first_name"
              defaultValue={p.first_name}
              problem={problem}
            />
            <Field
              label="Last name"
              name="last_name"
              defaultValue={p.last_name}
              problem={problem}
            />
            <Field
              label="Phone"
              name="phone"
              type="tel"
              defaultValue={p.phone ?? ''}
              problem={problem}
            />
            <Field
              label="Email"
              name="email"
              type="email"
              defaultValue={p.email ?? ''}
              problem={problem}
            />
          </div>
          <label className="check">
            <input type="checkbox" name="is_active" defaultChecked={p.is_active !== false} />
            Active (an inactive account cannot sign in)
          </label>
          <div role="status" className="live">
            {saved}
          </div>
          <div className="actions">
            <button type="submit" className="accent">
              Save
            </button>
            {!confirmDelete ? (
              <button type="button" onClick={() => setConfirmDelete(true)}>
                Delete…
              </button>
            ) : (
              <>
                <button type="button" className="danger" onClick={() => void remove()}>
                  Delete {personName(p)} and all their bookings
                </button>
                <button type="button" onClick={() => setConfirmDelete(false)}>
                  Keep
                </button>
              </>
            )}
          </div>
          <Refusal error={problem} />
        </form>
      )}
      <h2>Bookings</h2>
      {isAdmin && (
        <p>
          <ConsoleLink to="reservations" search={{ customer: String(id), ordering: '-start_time' }}>
            All their reservations in the table (filters, CSV)
          </ConsoleLink>
        </p>
      )}
      {bookings.isPending ? (
        <Loading what="bookings" />
      ) : rows.length === 0 ? (
        <p>No bookings{isAdmin ? '' : ' with you'}.</p>
      ) : (
        <table className="table">
          <caption className="sr-only">Bookings of {personName(p)}</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id}>
                <td>
                  {when(r.start_time, shop.timezone)}–{timeOfDay(r.end_time, shop.timezone)}
                </td>
                <td>
                  <StatusBadge status={r.status} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
