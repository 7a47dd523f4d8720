import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate } from '@tanstack/react-router'
import { api, newKey, Problem } from '../api/client'
import type { Reservation, Service, Slot } from '../api/client'
import { call, useSession } from '../auth'
import { availabilityQuery, staffName, useServices, useShop, useStaff } from '../data'
import { cutoffText, money } from '../lib/policy'
import {
  groupByDayPart,
  longDay,
  shopDays,
  shortDay,
  timeOfDay,
  when,
  zoneLabel,
} from '../lib/time'
import { ErrorText, Loading, StepHeading } from '../ui'
import { AuthPanel } from './Auth'

export interface BookSearch {
  service?: number
  barber?: number | 'any'
  date?: string
  time?: string
  reschedule?: number
  taken?: boolean
}

const positive = (v: unknown): number | undefined => {
  const n = Number(v)
  return Number.isInteger(n) && n > 0 ? n : undefined
}

export function validateBookSearch(s: Record<string, unknown>): BookSearch {
  const barber = s.barber === 'any' ? 'any' : positive(s.barber)
  const date = typeof s.date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s.date) ? s.date : undefined
  const time = typeof s.time === 'string' && !Number.isNaN(Date.parse(s.time)) ? s.time : undefined
  return {
    service: positive(s.service),
    barber,
    date,
    time,
    reschedule: positive(s.reschedule),
    taken: s.taken === true || s.taken === 'true' ? true : undefined,
  }
}

const DAYS_SHOWN = 14

export function BookPage({ search }: { search: BookSearch }) {
  const services = useServices()
  const staff = useStaff()
  const { user } = useSession()
  const service = services.data?.find((s) => s.id === search.service)
  const barberName =
    search.barber === 'any'
      ? 'Any barber'
      : staff.data?.find((s) => s.id === search.barber)
        ? staffName(staff.data.find((s) => s.id === search.barber)!)
        : undefined

  if (services.error) return <ErrorText error={services.error} />
  if (!services.data) return <Loading what="services" />

  let step: 'service' | 'barber' | 'time' | 'auth' | 'review' = 'service'
  if (service) step = 'barber'
  if (service && search.barber !== undefined) step = 'time'
  if (step === 'time' && search.time) step = user ? 'review' : 'auth'

  return (
    <div className="book">
      {search.reschedule && (
        <p className="notice">Moving booking #{search.reschedule}: pick its new time.</p>
      )}
      {step !== 'service' && (
        <Summary search={search} service={service} barberName={barberName} step={step} />
      )}
      {step === 'service' && <ServiceStep services={services.data} search={search} />}
      {step === 'barber' && <BarberStep search={search} />}
      {step === 'time' && service && <TimeStep search={search} service={service} />}
      {step === 'auth' && (
        <section aria-labelledby="auth-step">
          <StepHeading id="auth-step">Sign in to book</StepHeading>
          <p>Your time is kept on this page while you sign in or create an account.</p>
          <AuthPanel />
        </section>
      )}
      {step === 'review' && service && (
        <ReviewStep search={search} service={service} barberName={barberName ?? ''} />
      )}
    </div>
  )
}

function Summary({
  search,
  service,
  barberName,
  step,
}: {
  search: BookSearch
  service?: Service
  barberName?: string
  step: string
}) {
  const shop = useShop()
  return (
    <nav aria-label="Your choices" className="summary">
      <ul>
        {service && (
          <li>
            <span>{service.name}</span>{' '}
            <Link
              to="/book"
              search={{ reschedule: search.reschedule }}
              aria-label={`Change service (${service.name})`}
            >
              Change
            </Link>
          </li>
        )}
        {barberName && step !== 'barber' && (
          <li>
            <span>{barberName}</span>{' '}
            <Link
              to="/book"
              search={{ service: search.service, reschedule: search.reschedule }}
              aria-label={`Change barber (${barberName})`}
            >
              Change
            </Link>
          </li>
        )}
        {search.time && (step === 'review' || step === 'auth') && (
          <li>
            <span>{when(search.time, shop.timezone)}</span>{' '}
            <Link
              to="/book"
              search={{ ...search, time: undefined, taken: undefined }}
              aria-label={`Change time (${when(search.time, shop.timezone)})`}
            >
              Change
            </Link>
          </li>
        )}
      </ul>
    </nav>
  )
}

function ServiceStep({ services, search }: { services: Service[]; search: BookSearch }) {
  const shop = useShop()
  return (
    <section aria-labelledby="service-step">
      <StepHeading id="service-step">Choose a service</StepHeading>
      {services.length === 0 && <p>The shop has no services to book yet.</p>}
      <ul className="cards">
        {services.map((s) => (
          <li key={s.id}>
            <Link
              className="card"
              to="/book"
              search={{ service: s.id, reschedule: search.reschedule }}
            >
              <span className="card-title">{s.name}</span>
              <span className="card-meta">
                {s.duration_minutes} min · {money(s.price, shop.currency)}
              </span>
              {s.description && <span className="card-text">{s.description}</span>}
            </Link>
          </li>
        ))}
      </ul>
    </section>
  )
}

function BarberStep({ search }: { search: BookSearch }) {
  const staff = useStaff()
  return (
    <section aria-labelledby="barber-step">
      <StepHeading id="barber-step">Choose a barber</StepHeading>
      <ErrorText error={staff.error} />
      <ul className="cards">
        <li>
          <Link className="card" to="/book" search={{ ...search, barber: 'any' }}>
            <span className="card-title">Any barber</span>
            <span className="card-meta">The most free times</span>
          </Link>
        </li>
        {staff.data?.map((b) => (
          <li key={b.id}>
            <Link className="card" to="/book" search={{ ...search, barber: b.id }}>
              <span className="card-title">{staffName(b)}</span>
            </Link>
          </li>
        ))}
      </ul>
    </section>
  )
}

function TimeStep({ search, service }: { search: BookSearch; service: Service }) {
  const shop = useShop()
  const staff = useStaff()
  const navigate = useNavigate()
  const barber = search.barber ?? 'any'
  const [offset, setOffset] = useState(0)
  const now = useMemo(() => new Date(), [])
  const days = shopDays(shop.timezone, now, offset, DAYS_SHOWN).slice(
    0,
    Math.max(0, shop.booking_horizon_days + 1 - offset),
  )
  const results = useQueries({
    queries: days.map((d) => availabilityQuery(d, service.id, barber)),
  })
  const firstFree = days.find((_, i) => (results[i]?.data?.slots.length ?? 0) > 0)
  const allLoaded = results.every((r) => r.data || r.error)
  const date = search.date ?? firstFree
  const day = date ? results[days.indexOf(date)] : undefined
  const slotsOfDay = useQuery({
    ...availabilityQuery(date ?? days[0]!, service.id, barber),
    enabled: !!date && !day,
  })
  const picked = day ?? (date ? slotsOfDay : undefined)
  const listRef = useRef<HTMLDivElement>(null)
  const movedFocus = useRef(false)
  useEffect(() => {
    if (movedFocus.current && picked?.data) {
      listRef.current?.focus()
      movedFocus.current = false
    }
  }, [picked?.data, date])

  const barberLabel =
    barber === 'any'
      ? 'any barber'
      : staffName(
          staff.data?.find((s) => s.id === barber) ?? {
            first_name: '',
            last_name: '',
            username: 'your barber',
          },
        )

  const pickDay = (d: string) => {
    movedFocus.current = true
    void navigate({ to: '/book', search: { ...search, date: d, taken: undefined }, replace: true })
  }
  const pickSlot = useCallback(
    (slot: Slot) => {
      void navigate({
        to: '/book',
        search: { ...search, date, time: slot.start_time, taken: undefined },
      })
    },
    [navigate, search, date],
  )

  return (
    <section aria-labelledby="time-step">
      <StepHeading id="time-step">Choose a day and time</StepHeading>
      {search.taken && (
        <p className="error" role="alert">
          Sorry, that time was just taken by someone else. Here are the free times now.
        </p>
      )}
      <p className="hint">
        Times are in the shop&apos;s time zone: {zoneLabel(shop.timezone, now)}.
      </p>
      <div className="day-nav">
        <button
          type="button"
          disabled={offset === 0}
          onClick={() => setOffset(Math.max(0, offset - DAYS_SHOWN))}
        >
          Earlier days
        </button>
        <button
          type="button"
          disabled={offset + DAYS_SHOWN > shop.booking_horizon_days}
          onClick={() => setOffset(offset + DAYS_SHOWN)}
        >
          Later days
        </button>
      </div>
      <ul className="days" aria-label="Days">
        {days.map((d, i) => {
          const r = results[i]
          const free = r?.data?.slots.length ?? 0
          const parts = shortDay(d, shop.timezone)
          return (
            <li key={d}>
              <button
                type="button"
                className="day"
                aria-pressed={d === date}
                disabled={!r?.data || free === 0}
                aria-label={`${longDay(d, shop.timezone)}${r?.data ? (free ? `, ${free} free times` : ', fully booked or closed') : ', loading'}`}
                onClick={() => pickDay(d)}
              >
                <span>{parts.weekday}</span>
                <strong>{parts.day}</strong>
                <span>{parts.month}</span>
              </button>
            </li>
          )
        })}
      </ul>
      {results.find((r) => r.error) && <ErrorText error={results.find((r) => r.error)?.error} />}
      {!date && allLoaded && <p>No free times in these days. Try later days.</p>}
      {!date && !allLoaded && <Loading what="free times" />}
      {date && (
        <div className="slots" ref={listRef} tabIndex={-1} aria-labelledby="slots-heading">
          <h3 id="slots-heading">Free times on {longDay(date, shop.timezone)}</h3>
          {picked?.error && <ErrorText error={picked.error} />}
          {!picked?.data && !picked?.error && <Loading what="free times" />}
          {picked?.data && picked.data.slots.length === 0 && <p>No free times on this day.</p>}
          {picked?.data && (
            <SlotList
              slots={picked.data.slots}
              zone={shop.timezone}
              barberLabel={barberLabel}
              onPick={pickSlot}
            />
          )}
        </div>
      )}
    </section>
  )
}

/** The free times of one day, grouped; rendered again only when they change. */
const SlotList = memo(function SlotList({
  slots,
  zone,
  barberLabel,
  onPick,
}: {
  slots: Slot[]
  zone: string
  barberLabel: string
  onPick: (slot: Slot) => void
}) {
  return groupByDayPart(slots, zone).map((g) => (
    <div key={g.part} className="slot-group">
      <h4 id={`part-${g.part}`}>{g.label}</h4>
      <ul aria-labelledby={`part-${g.part}`}>
        {g.slots.map((s) => (
          <li key={s.start_time}>
            <button
              type="button"
              className="slot"
              aria-label={`${when(s.start_time, zone)}, ${barberLabel}`}
              onClick={() => onPick(s)}
            >
              {timeOfDay(s.start_time, zone)}
            </button>
          </li>
        ))}
      </ul>
    </div>
  ))
})

function ReviewStep({
  search,
  service,
  barberName,
}: {
  search: BookSearch
  service: Service
  barberName: string
}) {
  const shop = useShop()
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const [notes, setNotes] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const time = search.time!
  // One key per attempt: a double tap or a retry after a network error books once.
  const key = useMemo(() => newKey(), [time, service.id, search.barber, notes])
  const original = useQuery({
    queryKey: ['reservation-with-etag', search.reschedule],
    staleTime: 0,
    gcTime: 0,
    enabled: !!search.reschedule,
    queryFn: async () => {
      const r = await call(() =>
        api.GET('/api/reservations/{id}/', { params: { path: { id: search.reschedule! } } }),
      )
      return { reservation: r.data, etag: r.response.headers.get('etag') ?? '' }
    },
  })
  const barber = search.barber ?? 'any'
  const day = useQuery(availabilityQuery(search.date ?? time.slice(0, 10), service.id, barber))
  const slot = day.data?.slots.find((s) => Date.parse(s.start_time) === Date.parse(time))

  const confirm = async () => {
    if (busy) return
    setBusy(true)
    setError(null)
    try {
      let booked: Reservation
      if (search.reschedule) {
        const o = original.data
        if (!o) throw new Problem(0, 'The booking to move is still loading. Try again.')
        const current = o.reservation.staff
        const staffId =
          barber !== 'any'
            ? barber
            : current && slot?.staff.includes(current)
              ? current
              : (slot?.staff[0] ?? current)
        booked = (
          await call(() =>
            api.PATCH('/api/reservations/{id}/', {
              params: { path: { id: search.reschedule! } },
              headers: { 'If-Match': o.etag },
              body: {
                start_time: time,
                service: service.id,
                ...(staffId ? { staff: staffId } : {}),
              },
            }),
          )
        ).data
      } else {
        booked = (
          await call(() =>
            api.POST('/api/reservations/', {
              headers: { 'Idempotency-Key': key },
              body: {
                start_time: time,
                service: service.id,
                ...(barber === 'any' ? {} : { staff: barber }),
                ...(notes.trim() ? { notes: notes.trim() } : {}),
              },
            }),
          )
        ).data
      }
      await queryClient.invalidateQueries({ queryKey: ['availability'] })
      await queryClient.invalidateQueries({ queryKey: ['reservations'] })
      void navigate({ to: '/booked/$id', params: { id: String(booked.id) } })
    } catch (e) {
      if (e instanceof Problem && e.status === 409) {
        await queryClient.invalidateQueries({ queryKey: ['availability'] })
        void navigate({ to: '/book', search: { ...search, time: undefined, taken: true } })
        return
      }
      setError(e)
    } finally {
      setBusy(false)
    }
  }

  return (
    <section aria-labelledby="review-step">
      <StepHeading id="review-step">
        {search.reschedule ? 'Check the new time' : 'Check and confirm'}
      </StepHeading>
      <dl className="review">
        <dt>Service</dt>
        <dd>
          {service.name} · {service.duration_minutes} min · {money(service.price, shop.currency)}
        </dd>
        <dt>Barber</dt>
        <dd>{barberName}</dd>
        <dt>When</dt>
        <dd>
          {when(time, shop.timezone)}{' '}
          <span className="hint">({zoneLabel(shop.timezone, new Date(time))})</span>
        </dd>
        <dt>Where</dt>
        <dd>
          {shop.name}
          {shop.address ? `, ${shop.address}` : ''}
        </dd>
      </dl>
      <p className="policy">
        You can cancel or move this booking here until {cutoffText(shop.cancellation_cutoff_hours)}{' '}
        before it starts
        {shop.phone ? `; after that, call the shop at ${shop.phone}` : ''}.
      </p>
      {!search.reschedule && (
        <div className="field">
          <label htmlFor="notes">Notes for the barber (optional)</label>
          <textarea
            id="notes"
            maxLength={1000}
            rows={3}
            value={notes}
            onChange={(e) => setNotes(e.target.value)}
            aria-describedby={
              error instanceof Problem && error.field('notes') ? 'notes-error' : undefined
            }
          />
          {error instanceof Problem && error.field('notes') && (
            <p className="error" id="notes-error">
              {error.field('notes')}
            </p>
          )}
        </div>
      )}
      <ErrorText error={error} />
      <button type="button" className="primary" onClick={() => void confirm()} disabled={busy}>
        {busy ? 'Booking…' : search.reschedule ? 'Move my booking' : 'Confirm booking'}
      </button>
    </section>
  )
}
