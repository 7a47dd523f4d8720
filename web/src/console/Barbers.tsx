import { useState } from 'react'
import type { FormEvent } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import type { User } from '../api/client'
import { useSession } from '../auth'
import { staffName, useShop } from '../data'
import { ErrorText, Field, Loading } from '../ui'
import { personName, raw } from './data'
import type { Person } from './data'
import { checkWeekForm, clock, DAY_LABELS, formatHours, parseHours, weekToForm } from './lib'
import type { DayForm } from './lib'
import { Modal, Refusal } from './parts'

export default function Barbers() {
  const { user } = useSession()
  if (!user) return null
  if (!user.is_admin)
    return (
      <section aria-labelledby="bar-title">
        <h1 id="bar-title">My working hours</h1>
        <HoursForm staff={user.id} name={staffName(user)} />
      </section>
    )
  return <BarberAdmin />
}

function BarberAdmin() {
  const qc = useQueryClient()
  const [hoursFor, setHoursFor] = useState<User | null>(null)
  const [problem, setProblem] = useState<unknown>(null)
  const [note, setNote] = useState('')
  const [term, setTerm] = useState('')
  const list = useQuery({
    queryKey: ['console', 'barber-users'],
    queryFn: async () =>
      (
        await raw<{ results: User[] }>(
          'GET',
          '/api/users/?is_staff_member=true&page_size=100&ordering=username',
        )
      ).data.results,
  })
  const found = useQuery({
    queryKey: ['console', 'make-barber', term],
    queryFn: async () =>
      (
        await raw<{ results: User[] }>(
          'GET',
          `/api/users/?${new URLSearchParams({ search: term, is_staff_member: 'false', page_size: '10' })}`,
        )
      ).data.results,
    enabled: term.length >= 2,
  })

  async function patch(u: Pick<User, 'id'>, body: Partial<User>, done: string) {
    setProblem(null)
    setNote('')
    try {
      await raw('PATCH', `/api/users/${u.id}/`, body)
      await qc.invalidateQueries({ queryKey: ['console'] })
      await qc.invalidateQueries({ queryKey: ['staff'] })
      setNote(done)
    } catch (e) {
      setProblem(e)
    }
  }

  return (
    <section aria-labelledby="bar-title">
      <h1 id="bar-title">Barbers</h1>
      <div className="live" role="status">
        {note}
      </div>
      <Refusal error={problem} />
      {list.error && <ErrorText error={list.error} />}
      {list.isPending ? (
        <Loading what="barbers" />
      ) : (
        <table className="table">
          <caption className="sr-only">Barbers</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Contact</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(list.data ?? []).map((b) => (
              <tr key={b.id}>
                <td>{staffName(b)}</td>
                <td>
                  {b.phone || '—'}
                  <br />
                  {b.email || '—'}
                </td>
                <td>{b.is_active ? 'Active' : 'Deactivated'}</td>
                <td>
                  <div className="actions">
                    <button type="button" onClick={() => setHoursFor(b)}>
                      Hours<span className="sr-only"> of {staffName(b)}</span>
                    </button>
                    <button
                      type="button"
                      onClick={() =>
                        void patch(
                          b,
                          { is_active: !b.is_active },
                          `${staffName(b)} ${b.is_active ? 'deactivated' : 'reactivated'}.`,
                        )
                      }
                    >
                      {b.is_active ? 'Deactivate' : 'Reactivate'}
                      <span className="sr-only"> {staffName(b)}</span>
                    </button>
                    <button
                      type="button"
                      onClick={() =>
                        void patch(
                          b,
                          { is_staff_member: false },
                          `${staffName(b)} is no longer a barber.`,
                        )
                      }
                    >
                      No longer a barber<span className="sr-only">: {staffName(b)}</span>
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Make someone a barber</h2>
      <p className="hint">
        They need an account: they register on the booking page, or you add them as a customer
        first.
      </p>
      <form
        role="search"
        className="filters"
        onSubmit={(e) => {
          e.preventDefault()
          setTerm(String(new FormData(e.currentTarget).get('q') ?? ''))
        }}
      >
        <Field label="Find by name, phone or email" name="q" type="search" />
        <div className="actions">
          <button type="submit">Find</button>
        </div>
      </form>
      {found.data && found.data.length === 0 && <p role="status">Nobody matches.</p>}
      {found.data && found.data.length > 0 && (
        <ul className="choices">
          {found.data.map((u: Person) => (
            <li key={u.id}>
              {personName(u)} {u.email ? `· ${u.email}` : ''}{' '}
              <button
                type="button"
                onClick={() =>
                  void patch(u, { is_staff_member: true }, `${personName(u)} is now a barber.`)
                }
              >
                Make barber<span className="sr-only">: {personName(u)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {hoursFor && (
        <Modal
          title={`Working hours · ${staffName(hoursFor)}`}
          onClose={() => setHoursFor(null)}
          wide
        >
          <HoursForm staff={hoursFor.id} name={staffName(hoursFor)} />
        </Modal>
      )}
    </section>
  )
}

/** Weekly working hours as a form (days, ranges), written in the API's syntax on save. */
export function HoursForm({ staff, name }: { staff: number; name: string }) {
  const shop = useShop()
  const current = useQuery({
    queryKey: ['console', 'hours', staff],
    queryFn: async () =>
      (await raw<{ hours: string | null }>('GET', `/api/staff/${staff}/hours/`)).data,
  })
  if (current.isPending) return <Loading what="the hours" />
  if (current.error) return <ErrorText error={current.error} />
  return (
    <HoursEditor
      staff={staff}
      name={name}
      initial={current.data?.hours ?? null}
      shopHours={shop.opening_hours}
      step={shop.slot_minutes}
    />
  )
}

function HoursEditor({
  staff,
  name,
  initial,
  shopHours,
  step,
}: {
  staff: number
  name: string
  initial: string | null
  shopHours: string
  step: number
}) {
  const qc = useQueryClient()
  const [useShopHours, setUseShopHours] = useState(initial === null)
  const [days, setDays] = useState<DayForm[]>(() => weekToForm(parseHours(initial ?? shopHours)))
  const [errors, setErrors] = useState<Record<number, string>>({})
  const [problem, setProblem] = useState<unknown>(null)
  const [note, setNote] = useState('')
  const options: number[] = []
  for (let m = 0; m <= 24 * 60; m += Math.min(step, 30)) options.push(m)

  const update = (i: number, next: DayForm) => setDays(days.map((d, k) => (k === i ? next : d)))

  async function submit(e: FormEvent) {
    e.preventDefault()
    setProblem(null)
    setNote('')
    let hours: string | null = null
    if (!useShopHours) {
      const checked = checkWeekForm(days)
      if (!checked.ok) {
        setErrors(checked.errors)
        return
      }
      hours = formatHours(checked.week)
    }
    setErrors({})
    try {
      const { data } = await raw<{ hours: string | null }>('PUT', `/api/staff/${staff}/hours/`, {
        hours,
      })
      await qc.invalidateQueries({ queryKey: ['console', 'hours', staff] })
      setNote(data.hours === null ? "Saved: the shop's hours." : `Saved: ${data.hours}`)
    } catch (err) {
      setProblem(err)
    }
  }

  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-label={`Working hours of ${name}`}>
      <label className="check">
        <input
          type="checkbox"
          checked={useShopHours}
          onChange={(e) => setUseShopHours(e.target.checked)}
        />
        Same as the shop&apos;s hours ({shopHours})
      </label>
      {!useShopHours && (
        <table className="table hours">
          <caption className="sr-only">Hours per day</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Works</th>
              <th scope="col">Times</th>
            </tr>
          </thead>
          <tbody>
            {days.map((d, i) => (
              <tr key={DAY_LABELS[i]}>
                <th scope="row">{DAY_LABELS[i]}</th>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Works on ${DAY_LABELS[i]}`}
                    checked={d.open}
                    onChange={(e) =>
                      update(i, {
                        open: e.target.checked,
                        ranges:
                          e.target.checked && d.ranges.length === 0
                            ? [{ start: '09:00', end: '17:00' }]
                            : d.ranges,
                      })
                    }
                  />
                </td>
                <td>
                  {d.open ? (
                    <>
                      {d.ranges.map((r, k) => (
                        <div className="range" key={k}>
                          <select
                            aria-label={`${DAY_LABELS[i]}, range ${k + 1}, from`}
                            value={r.start}
                            aria-invalid={errors[i] ? true : undefined}
                            aria-describedby={errors[i] ? `hours-err-${i}` : undefined}
                            onChange={(e) =>
                              update(i, {
                                ...d,
                                ranges: d.ranges.map((x, j) =>
                                  j === k ? { ...x, start: e.target.value } : x,
                                ),
                              })
                            }
                          >
                            {options.slice(0, -1).map((m) => (
                              <option key={m}>{clock(m)}</option>
                            ))}
                          </select>{' '}
                          to{' '}
                          <select
                            aria-label={`${DAY_LABELS[i]}, range ${k + 1}, until`}
                            value={r.end}
                            aria-invalid={errors[i] ? true : undefined}
                            aria-describedby={errors[i] ? `hours-err-${i}` : undefined}
                            onChange={(e) =>
                              update(i, {
                                ...d,
                                ranges: d.ranges.map((x, j) =>
                                  j === k ? { ...x, end: e.target.value } : x,
                                ),
                              })
                            }
                          >
                            {options.slice(1).map((m) => (
                              <option key={m}>{clock(m)}</option>
                            ))}
                          </select>{' '}
                          <button
                            type="button"
                            onClick={() =>
                              update(i, { ...d, ranges: d.ranges.filter((_, j) => j !== k) })
                            }
                          >
                            Remove<span className="sr-only"> this range of {DAY_LABELS[i]}</span>
                          </button>
                        </div>
                      ))}
                      <button
                        type="button"
                        onClick={() =>
                          update(i, {
                            ...d,
                            ranges: [...d.ranges, { start: '14:00', end: '18:00' }],
                          })
                        }
                      >
                        Add a range<span className="sr-only"> to {DAY_LABELS[i]}</span>
                      </button>
                    </>
                  ) : (
                    'Off'
                  )}
                  {errors[i] && (
                    <p className="error" id={`hours-err-${i}`}>
                      {errors[i]}
                    </p>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {Object.keys(errors).length > 0 && (
        <p className="error" role="alert">
          Some days need correcting (marked above).
        </p>
      )}
      <Refusal error={problem} />
      <div className="live" role="status">
        {note}
      </div>
      <div className="actions">
        <button type="submit" className="accent">
          Save hours
        </button>
      </div>
    </form>
  )
}
