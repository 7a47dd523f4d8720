import { useState } from 'react'
import type { FormEvent } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { Link } from '@tanstack/react-router'
import { api, download, getAccessToken, Problem } from '../api/client'
import type { Reservation, User } from '../api/client'
import { call, setUser, useSession } from '../auth'
import { staffName, useServices, useShop, useStaff } from '../data'
import { canChange, isUpcoming, STATUS_TEXT } from '../lib/policy'
import { when } from '../lib/time'
import { ErrorText, Field, Loading, StepHeading } from '../ui'
import { AuthPanel } from './Auth'

function useNames() {
  const services = useServices()
  const staff = useStaff()
  return {
    service: (id: number | null) => services.data?.find((s) => s.id === id)?.name ?? 'Booking',
    barber: (id: number | null) => {
      const s = staff.data?.find((b) => b.id === id)
      return s ? staffName(s) : 'Any barber'
    },
  }
}

export async function addToCalendar(id: number): Promise<void> {
  const { response } = await call(async () => {
    const token = getAccessToken()
    const response = await fetch(`/api/reservations/${id}/calendar.ics`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    })
    const error: unknown = response.ok ? undefined : await response.json().catch(() => null)
    return { data: response, error, response }
  })
  await download(response, `fade-district-${id}.ics`)
}

export function DonePage({ id }: { id: number }) {
  const shop = useShop()
  const names = useNames()
  const [error, setError] = useState<unknown>(null)
  const booking = useQuery({
    queryKey: ['reservation', id],
    queryFn: async () =>
      (await call(() => api.GET('/api/reservations/{id}/', { params: { path: { id } } }))).data,
  })
  if (booking.error) return <ErrorText error={booking.error} />
  if (!booking.data) return <Loading what="your booking" />
  const b = booking.data
  return (
    <section aria-labelledby="done">
      <StepHeading id="done">
        {b.status === 'confirmed' ? 'You are booked' : 'Booking received'}
      </StepHeading>
      <dl className="review">
        <dt>Service</dt>
        <dd>{names.service(b.service)}</dd>
        <dt>Barber</dt>
        <dd>{names.barber(b.staff)}</dd>
        <dt>When</dt>
        <dd>{when(b.start_time, shop.timezone)}</dd>
        <dt>Status</dt>
        <dd>
          <span className={`status status-${b.status}`}>{STATUS_TEXT[b.status]}</span>
        </dd>
      </dl>
      {b.status === 'pending' && <p>We will email you when the shop confirms it.</p>}
      <div className="actions">
        <button
          type="button"
          onClick={() => {
            setError(null)
            addToCalendar(b.id).catch(setError)
          }}
        >
          Add to calendar
        </button>
        <Link className="button" to="/me">
          My bookings
        </Link>
      </div>
      <ErrorText error={error} />
    </section>
  )
}

export function MePage() {
  const { user, ready } = useSession()
  if (!ready) return <Loading what="your account" />
  if (!user)
    return (
      <section aria-labelledby="me-signin">
        <StepHeading id="me-signin">Sign in to see your bookings</StepHeading>
        <AuthPanel />
      </section>
    )
  return (
    <>
      <Bookings />
      <Profile user={user} />
    </>
  )
}

function Bookings() {
  const bookings = useQuery({
    queryKey: ['reservations'],
    queryFn: async () =>
      (
        await call(() =>
          api.GET('/api/reservations/', {
            params: { query: { ordering: 'start_time', page_size: '100' } },
          }),
        )
      ).data.results,
  })
  const now = new Date()
  const upcoming = bookings.data?.filter((b) => isUpcoming(b, now)) ?? []
  const past = bookings.data?.filter((b) => !isUpcoming(b, now)).reverse() ?? []
  return (
    <section aria-labelledby="my-bookings">
      <StepHeading id="my-bookings">My bookings</StepHeading>
      <ErrorText error={bookings.error} />
      {!bookings.data && !bookings.error && <Loading what="your bookings" />}
      {bookings.data && (
        <>
          <h3>Upcoming</h3>
          {upcoming.length === 0 ? (
            <p>
              Nothing booked. <Link to="/">Book a visit</Link>.
            </p>
          ) : (
            <ul className="bookings">
              {upcoming.map((b) => (
                <BookingItem key={b.id} b={b} />
              ))}
            </ul>
          )}
          <h3>Past and cancelled</h3>
          {past.length === 0 ? (
            <p>None yet.</p>
          ) : (
            <ul className="bookings">
              {past.map((b) => (
                <BookingItem key={b.id} b={b} />
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  )
}

function BookingItem({ b }: { b: Reservation }) {
  const shop = useShop()
  const names = useNames()
  const queryClient = useQueryClient()
  const [cancelling, setCancelling] = useState(false)
  const [reason, setReason] = useState('')
  const [error, setError] = useState<unknown>(null)
  const changeable = canChange(b, shop.cancellation_cutoff_hours, new Date())
  const title = `${names.service(b.service)}, ${when(b.start_time, shop.timezone)}`
  const cancel = async () => {
    setError(null)
    try {
      const current = await call(() =>
        api.GET('/api/reservations/{id}/', { params: { path: { id: b.id } } }),
      )
      await call(() =>
        api.PATCH('/api/reservations/{id}/', {
          params: { path: { id: b.id } },
          headers: { 'If-Match': current.response.headers.get('etag') ?? '*' },
          body: {
            status: 'cancelled',
            ...(reason.trim() ? { cancellation_reason: reason.trim() } : {}),
          },
        }),
      )
      setCancelling(false)
      await queryClient.invalidateQueries({ queryKey: ['reservations'] })
    } catch (e) {
      setError(e)
    }
  }
  return (
    <li className="booking">
      <h4>{title}</h4>
      <p>
        {names.barber(b.staff)} ·{' '}
        <span className={`status status-${b.status}`}>{STATUS_TEXT[b.status]}</span>
      </p>
      {b.cancellation_reason && <p className="hint">Reason: {b.cancellation_reason}</p>}
      {isUpcoming(b, new Date()) &&
        (changeable ? (
          cancelling ? (
            <div className="cancel-form">
              <div className="field">
                <label htmlFor={`reason-${b.id}`}>Reason (optional)</label>
                <input
                  id={`reason-${b.id}`}
                  value={reason}
                  maxLength={500}
                  onChange={(e) => setReason(e.target.value)}
                />
              </div>
              <div className="actions">
                <button type="button" className="danger" onClick={() => void cancel()}>
                  Cancel this booking
                </button>
                <button type="button" onClick={() => setCancelling(false)}>
                  Keep it
                </button>
              </div>
            </div>
          ) : (
            <div className="actions">
              <button
                type="button"
                aria-label={`Cancel ${title}`}
                onClick={() => setCancelling(true)}
              >
                Cancel
              </button>
              <Link
                className="button"
                aria-label={`Reschedule ${title}`}
                to="/book"
                search={{
                  reschedule: b.id,
                  service: b.service ?? undefined,
                  barber: b.staff ?? 'any',
                }}
              >
                Reschedule
              </Link>
            </div>
          )
        ) : (
          <p className="hint">
            It starts soon: to change it, call the shop
            {shop.phone ? (
              <>
                {' '}
                at <a href={`tel:${shop.phone.replace(/[^+\d]/g, '')}`}>{shop.phone}</a>
              </>
            ) : null}
            .
          </p>
        ))}
      <ErrorText error={error} />
    </li>
  )
}

function Profile({ user }: { user: User }) {
  const [error, setError] = useState<unknown>(null)
  const [saved, setSaved] = useState('')
  const save = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    const f = new FormData(e.currentTarget)
    setError(null)
    setSaved('')
    const password = String(f.get('password') ?? '')
    try {
      const { data } = await call(() =>
        api.PATCH('/api/users/{id}/', {
          params: { path: { id: user.id } },
          body: {
            first_name: String(f.get('first_name')).trim(),
            last_name: String(f.get('last_name')).trim(),
            phone: String(f.get('phone')).trim(),
            ...(password
              ? { password, current_password: String(f.get('current_password') ?? '') }
              : {}),
          },
        }),
      )
      setUser(data)
      setSaved('Saved.')
    } catch (err) {
      setError(err)
    }
  }
  const [exportError, setExportError] = useState<unknown>(null)
  const exportData = async () => {
    setExportError(null)
    try {
      const { response } = await call(() => api.GET('/api/users/me/export/', { parseAs: 'stream' }))
      await download(response, 'fade-district-my-data.json')
    } catch (e) {
      setExportError(e instanceof Problem ? e : new Problem(0, String(e)))
    }
  }
  return (
    <section aria-labelledby="profile">
      <h2 id="profile">Profile</h2>
      <form onSubmit={(e) => void save(e)} noValidate aria-label="Profile">
        <p>Signed in as {user.email}</p>
        <Field
          label="First name"
          name="first_name"
          autoComplete="given-name"
          defaultValue={user.first_name}
          problem={error}
        />
        <Field
          label="Last name"
          name="last_name"
          autoComplete="family-name"
          defaultValue={user.last_name}
          problem={error}
        />
        <Field
          label="Phone"
          name="phone"
          type="tel"
          autoComplete="tel"
          defaultValue={user.phone}
          problem={error}
        />
        <fieldset>
          <legend>Change password (optional)</legend>
          <Field
            label="Current password"
            name="current_password"
            type="password"
            autoComplete="current-password"
            problem={error}
          />
          <Field
            label="New password"
            name="password"
            type="password"
            autoComplete="new-password"
            problem={error}
          />
        </fieldset>
        <ErrorText error={error} />
        {saved && <p role="status">{saved}</p>}
        <button type="submit" className="primary">
          Save profile
        </button>
      </form>
      <h3>Your data</h3>
      <p>Everything the shop keeps about you and your bookings, as one JSON file.</p>
      <button type="button" onClick={() => void exportData()}>
        Download my data
      </button>
      <ErrorText error={exportError} />
    </section>
  )
}
