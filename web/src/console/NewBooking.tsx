import { useRef, useState } from 'react'
import type { FormEvent } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { newKey, Problem } from '../api/client'
import type { Reservation, User } from '../api/client'
import { useSession } from '../auth'
import { useShop } from '../data'
import { longDay, shopDate } from '../lib/time'
import { Field } from '../ui'
import type { Column } from './DayView'
import { allServicesQuery, personName, raw } from './data'
import type { Person, TimeOff } from './data'
import { atMinutes, clock, minutesInto } from './lib'
import { Modal, Refusal, SelectField } from './parts'

/** Start times on the grid across the day shown (and the whole day when needed). */
export function timeOptions(slot: number, from: number, to: number): number[] {
  const out: number[] = []
  for (let m = from; m < to; m += slot) out.push(m)
  return out
}

export function NewBookingDialog({
  date,
  staff,
  minutes,
  columns,
  bounds,
  onClose,
  onDone,
}: {
  date: string
  staff: number | null
  minutes: number
  columns: Column[]
  bounds: { start: number; end: number }
  onClose: () => void
  onDone: (message: string) => void
}) {
  const shop = useShop()
  const { user } = useSession()
  const qc = useQueryClient()
  const services = useQuery(allServicesQuery)
  const active = (services.data ?? []).filter((s) => s.is_active)
  const [mode, setMode] = useState<'find' | 'new'>('find')
  const [term, setTerm] = useState('')
  const [customer, setCustomer] = useState<Person | null>(null)
  const [problem, setProblem] = useState<unknown>(null)
  const [customerProblem, setCustomerProblem] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  // One key per attempt at this booking: a retry after a lost answer books once.
  const key = useRef(newKey())
  const made = useRef<Person | null>(null)

  const found = useQuery({
    queryKey: ['console', 'find-customer', term],
    queryFn: async () =>
      (
        await raw<{ results: Person[] }>(
          'GET',
          `/api/users/?${new URLSearchParams({ search: term, page_size: '8' })}`,
        )
      ).data.results,
    enabled: mode === 'find' && term.trim().length >= 2,
    staleTime: 30_000,
  })

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault()
    const f = new FormData(e.currentTarget)
    setProblem(null)
    setCustomerProblem(null)
    let who = customer
    if (mode === 'new') {
      who = made.current
      if (!who) {
        if (!String(f.get('first_name') ?? '').trim() || !String(f.get('phone') ?? '').trim()) {
          setCustomerProblem(
            new Problem(400, 'A walk-in or phone customer needs a first name and a phone.', {
              ...(String(f.get('first_name') ?? '').trim()
                ? {}
                : { first_name: ['Enter the first name.'] }),
              ...(String(f.get('phone') ?? '').trim() ? {} : { phone: ['Enter a phone number.'] }),
            }),
          )
          return
        }
        setBusy(true)
        try {
          who = (
            await raw<User>('POST', '/api/users/', {
              first_name: String(f.get('first_name')).trim(),
              last_name: String(f.get('last_name') ?? '').trim(),
              phone: String(f.get('phone')).trim(),
            })
          ).data
          made.current = who
        } catch (err) {
          setCustomerProblem(err)
          setBusy(false)
          return
        }
      }
    }
    if (!who) {
      setCustomerProblem(new Problem(400, 'Choose a customer, or add a walk-in or phone customer.'))
      return
    }
    const staffValue = String(f.get('staff'))
    const start = Number(f.get('start'))
    const service = Number(f.get('service'))
    const notes = String(f.get('notes') ?? '')
    setBusy(true)
    try {
      const { data } = await raw<Reservation>(
        'POST',
        '/api/reservations/',
        {
          customer: who.id,
          ...(staffValue === 'any' ? {} : { staff: Number(staffValue) }),
          service,
          start_time: atMinutes(date, start, shop.timezone),
          ...(notes ? { notes } : {}),
        },
        { 'idempotency-key': key.current },
      )
      await qc.invalidateQueries({ queryKey: ['console'] })
      onDone(
        `Booked ${personName(who)} at ${clock(minutesInto(date, data.start_time, shop.timezone))} (${data.status}).`,
      )
    } catch (err) {
      // A different body next time is a new attempt: a new key.
      key.current = newKey()
      setProblem(err)
    } finally {
      setBusy(false)
    }
  }

  const times = timeOptions(shop.slot_minutes, Math.min(bounds.start, minutes), bounds.end)
  return (
    <Modal title={`New booking · ${longDay(date, shop.timezone)}`} onClose={onClose} wide>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <div className="form-row">
          <SelectField label="Barber" name="staff" defaultValue={staff ?? 'any'} problem={problem}>
            {columns
              .filter((c) => c.staff !== null)
              .map((c) => (
                <option key={c.key} value={String(c.staff)}>
                  {c.name}
                </option>
              ))}
            {user?.is_admin && <option value="any">Any free barber</option>}
          </SelectField>
          <SelectField label="Time" name="start" defaultValue={minutes} problem={problem}>
            {times.map((m) => (
              <option key={m} value={m}>
                {clock(m)}
              </option>
            ))}
          </SelectField>
          <SelectField
            label="Service"
            name="service"
            problem={problem}
            defaultValue={active[0]?.id}
          >
            {active.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} ({s.duration_minutes} min)
              </option>
            ))}
          </SelectField>
        </div>
        <fieldset>
          <legend>Customer</legend>
          <div className="tabs" role="group" aria-label="Customer">
            <button type="button" aria-pressed={mode === 'find'} onClick={() => setMode('find')}>
              Find a regular
            </button>
            <button type="button" aria-pressed={mode === 'new'} onClick={() => setMode('new')}>
              Walk-in or phone customer
            </button>
          </div>
          {mode === 'find' ? (
            <>
              <Field
                label="Name, phone or email"
                name="search"
                type="search"
                value={term}
                autoComplete="off"
                onChange={(e) => setTerm(e.target.value)}
                hint="Type at least two letters."
              />
              {found.isFetching && <p role="status">Searching…</p>}
              {found.data && found.data.length === 0 && (
                <p role="status">No customer matches. Add them as a walk-in or phone customer.</p>
              )}
              {found.data && found.data.length > 0 && (
                <ul className="choices" aria-label="Matching customers">
                  {found.data.map((p) => (
                    <li key={p.id}>
                      <label>
                        <input
                          type="radio"
                          name="customer"
                          checked={customer?.id === p.id}
                          onChange={() => setCustomer(p)}
                        />
                        {personName(p)}
                        {p.phone ? ` · ${p.phone}` : ''}
                        {p.email ? ` · ${p.email}` : ''}
                      </label>
                    </li>
                  ))}
                </ul>
              )}
              {customer && <p>Booking for {personName(customer)}.</p>}
            </>
          ) : made.current ? (
            <p>
              {personName(made.current)} ({made.current.phone}) has been added as a customer.
            </p>
          ) : (
            <div className="form-row">
              <Field
                label="First name"
                name="first_name"
                autoComplete="off"
                problem={customerProblem}
              />
              <Field
                label="Last name (optional)"
                name="last_name"
                autoComplete="off"
                problem={customerProblem}
              />
              <Field
                label="Phone"
                name="phone"
                type="tel"
                autoComplete="off"
                problem={customerProblem}
              />
            </div>
          )}
          <Refusal error={customerProblem} />
        </fieldset>
        <div className="field">
          <label htmlFor="nb-notes">Notes (optional)</label>
          <textarea id="nb-notes" name="notes" rows={2} maxLength={1000} />
        </div>
        <Refusal error={problem} />
        <div className="actions">
          <button type="submit" className="accent" disabled={busy}>
            {busy ? 'Booking…' : 'Book'}
          </button>
        </div>
      </form>
    </Modal>
  )
}

export function BlockTimeDialog({
  date,
  columns,
  bounds,
  onClose,
  onDone,
  existing,
}: {
  date: string
  columns: Column[]
  bounds: { start: number; end: number }
  onClose: () => void
  onDone: (message: string) => void
  existing?: TimeOff
}) {
  const shop = useShop()
  const { user } = useSession()
  const qc = useQueryClient()
  const [problem, setProblem] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const zone = shop.timezone
  const times = timeOptions(shop.slot_minutes, 0, 24 * 60 + shop.slot_minutes)
  const startDay = existing ? shopDate(existing.start_time, zone) : date
  const endDay = existing ? shopDate(existing.end_time, zone) : date
  const startDefault = existing ? minutesInto(startDay, existing.start_time, zone) : 12 * 60
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault()
    const f = new FormData(e.currentTarget)
    const day = String(f.get('date') || date)
    const untilDay = String(f.get('end_date') || day)
    const staff = String(f.get('staff'))
    setProblem(null)
    setBusy(true)
    try {
      const body = {
        staff: staff === 'shop' ? null : Number(staff),
        start_time: atMinutes(day, Number(f.get('start')), zone),
        end_time: atMinutes(untilDay, Number(f.get('end')), zone),
        reason: String(f.get('reason') ?? ''),
      }
      if (existing) await raw('PATCH', `/api/time-off/${existing.id}/`, body)
      else await raw('POST', '/api/time-off/', body)
      await qc.invalidateQueries({ queryKey: ['console'] })
      onDone(existing ? 'Time off changed.' : 'Time blocked.')
    } catch (err) {
      setProblem(err)
    } finally {
      setBusy(false)
    }
  }
  const endDefault = existing ? minutesInto(endDay, existing.end_time, zone) : 13 * 60
  return (
    <Modal title={existing ? 'Change time off' : 'Block time'} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <SelectField
          label="For"
          name="staff"
          problem={problem}
          defaultValue={
            existing
              ? existing.staff === null
                ? 'shop'
                : String(existing.staff)
              : user?.is_admin
                ? (columns[0]?.staff ?? 'shop')
                : String(user?.id)
          }
        >
          {columns
            .filter((c) => c.staff !== null)
            .map((c) => (
              <option key={c.key} value={String(c.staff)}>
                {c.name}
              </option>
            ))}
          {user?.is_admin && <option value="shop">The whole shop (closure)</option>}
        </SelectField>
        <div className="form-row">
          <Field
            label="From day"
            name="date"
            type="date"
            defaultValue={startDay}
            problem={problem}
          />
          <SelectField label="From" name="start" defaultValue={startDefault} problem={problem}>
            {times.slice(0, -1).map((m) => (
              <option key={m} value={m}>
                {clock(m)}
              </option>
            ))}
          </SelectField>
          <Field
            label="Until day"
            name="end_date"
            type="date"
            defaultValue={endDay}
            problem={problem}
          />
          <SelectField label="Until" name="end" defaultValue={endDefault} problem={problem}>
            {[...times.slice(1), ...(endDefault === 0 ? [0] : [])].map((m) => (
              <option key={m} value={m}>
                {clock(m)}
              </option>
            ))}
          </SelectField>
        </div>
        <Field
          label="Reason (optional)"
          name="reason"
          defaultValue={existing?.reason ?? ''}
          problem={problem}
          hint="Lunch, an errand, a day off…"
        />
        <p className="hint">Existing bookings inside it stay; new ones cannot be made.</p>
        <Refusal error={problem} />
        <div className="actions">
          <button type="submit" className="accent" disabled={busy || bounds.end < 0}>
            {existing ? 'Save' : 'Block time'}
          </button>
        </div>
      </form>
    </Modal>
  )
}
