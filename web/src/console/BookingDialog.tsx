import { useCallback, useEffect, useState } from 'react'
import type { FormEvent } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { Problem } from '../api/client'
import type { Reservation } from '../api/client'
import { useSession } from '../auth'
import { useShop } from '../data'
import { shopDate, timeOfDay, when } from '../lib/time'
import type { Column } from './DayView'
import {
  allServicesQuery,
  getReservation,
  patchReservation,
  personName,
  raw,
  STATUS_LABEL,
  usePerson,
} from './data'
import type { HistoryEntry } from './data'
import { atMinutes, clock, minutesInto } from './lib'
import { timeOptions } from './NewBooking'
import { Modal, Refusal, SelectField, StatusBadge } from './parts'
import { Field } from '../ui'

const ACTIONS: Record<string, { to: string; label: string }[]> = {
  pending: [{ to: 'confirmed', label: 'Confirm' }],
  confirmed: [
    { to: 'completed', label: 'Complete' },
    { to: 'no_show', label: 'No-show' },
  ],
}

/** One booking: its workflow (with If-Match), "Change time", history, the customer. */
export function BookingDialog({
  reservation,
  columns,
  onClose,
  onDone,
}: {
  reservation: Reservation
  columns: Column[]
  onClose: () => void
  onDone: (message: string) => void
}) {
  const shop = useShop()
  const zone = shop.timezone
  const { user } = useSession()
  const qc = useQueryClient()
  const [current, setCurrent] = useState<{ r: Reservation; etag: string } | null>(null)
  const [problem, setProblem] = useState<unknown>(null)
  const [note, setNote] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [cancelling, setCancelling] = useState(false)
  const services = useQuery(allServicesQuery)
  const person = usePerson(reservation.customer)

  const load = useCallback(async () => {
    try {
      setCurrent(await getReservation(reservation.id))
    } catch (e) {
      setProblem(e)
    }
  }, [reservation.id])
  useEffect(() => {
    void load()
  }, [load])

  const history = useQuery({
    queryKey: ['console', 'history', reservation.id, current?.etag],
    queryFn: async () =>
      (await raw<HistoryEntry[]>('GET', `/api/reservations/${reservation.id}/history/`)).data,
    enabled: !!current,
  })
  const visits = useQuery({
    queryKey: ['console', 'visits', reservation.customer],
    queryFn: async () =>
      (
        await raw<{ count: number; results: Reservation[] }>(
          'GET',
          `/api/reservations/?customer=${reservation.customer}&ordering=-start_time&page_size=100`,
        )
      ).data.results.filter((r) => r.customer === reservation.customer),
    retry: false,
  })

  const r = current?.r ?? reservation
  const service = (services.data ?? []).find((s) => s.id === r.service)

  async function change(body: Record<string, unknown>, done: string) {
    if (!current) return
    setBusy(true)
    setProblem(null)
    setNote(null)
    try {
      const next = await patchReservation(r.id, current.etag, body)
      setCurrent(next)
      setCancelling(false)
      setNote(done)
      onDone(done)
    } catch (e) {
      setProblem(e)
      if (e instanceof Problem && e.status === 412) await load()
    } finally {
      setBusy(false)
      await qc.invalidateQueries({ queryKey: ['console'] })
    }
  }

  function moveSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault()
    const f = new FormData(e.currentTarget)
    const day = String(f.get('date'))
    const start = Number(f.get('start'))
    const staffValue = String(f.get('staff'))
    const length =
      minutesInto(shopDate(r.start_time, zone), r.end_time, zone) -
      minutesInto(shopDate(r.start_time, zone), r.start_time, zone)
    if (!day) {
      setProblem(new Problem(400, 'Choose a day.', { date: ['Choose a day.'] }))
      return
    }
    const staff = staffValue === 'none' ? null : Number(staffValue)
    void change(
      {
        start_time: atMinutes(day, start, zone),
        end_time: atMinutes(day, start + length, zone),
        staff,
      },
      `Moved to ${when(atMinutes(day, start, zone), zone)}${
        staff !== null
          ? ` with ${columns.find((c) => c.staff === staff)?.name ?? 'the barber'}`
          : ''
      }.`,
    )
  }

  const day = shopDate(r.start_time, zone)
  const startMin = minutesInto(day, r.start_time, zone)
  const active = r.status === 'pending' || r.status === 'confirmed'
  const started = Date.parse(r.start_time) <= Date.now()
  const p = person.data
  const ended = (visits.data ?? []).filter((v) => v.id !== r.id)
  const completed = ended.filter((v) => v.status === 'completed').length
  const noShows = ended.filter((v) => v.status === 'no_show').length

  return (
    <Modal
      title={`${personName(p)} · ${timeOfDay(r.start_time, zone)}–${timeOfDay(r.end_time, zone)}`}
      onClose={onClose}
      wide
    >
      <dl className="review">
        <dt>When</dt>
        <dd>
          {when(r.start_time, zone)}–{timeOfDay(r.end_time, zone)}
        </dd>
        <dt>Barber</dt>
        <dd>{columns.find((c) => c.staff === (r.staff ?? null))?.name ?? 'No barber'}</dd>
        <dt>Service</dt>
        <dd>
          {service
            ? `${service.name} (${service.duration_minutes} min${
                service.buffer_after_minutes
                  ? ` + ${service.buffer_after_minutes} min clean-up`
                  : ''
              })`
            : '—'}
        </dd>
        <dt>Status</dt>
        <dd>
          <StatusBadge status={r.status} />
          {r.cancellation_reason ? ` — ${r.cancellation_reason}` : ''}
        </dd>
        {r.notes && (
          <>
            <dt>Notes</dt>
            <dd>{r.notes}</dd>
          </>
        )}
      </dl>
      <div className="live" role="status">
        {note}
      </div>
      <Refusal error={problem} />
      {!current && !problem && <p role="status">Loading the latest version…</p>}
      {current && (
        <div className="actions">
          {(ACTIONS[r.status] ?? [])
            // A visit is completed or a no-show only once it has started (the API's rule).
            .filter((a) => started || (a.to !== 'completed' && a.to !== 'no_show'))
            .map((a) => (
              <button
                key={a.to}
                type="button"
                className="accent"
                disabled={busy}
                onClick={() =>
                  void change({ status: a.to }, `Booking ${STATUS_LABEL[a.to]?.toLowerCase()}.`)
                }
              >
                {a.label}
              </button>
            ))}
          {r.status === 'confirmed' && !started && (
            <p className="hint">
              Complete and No-show are offered once the visit has started (
              {timeOfDay(r.start_time, zone)}).
            </p>
          )}
          {active && !cancelling && (
            <button type="button" disabled={busy} onClick={() => setCancelling(true)}>
              Cancel booking…
            </button>
          )}
        </div>
      )}
      {cancelling && (
        <form
          className="subform"
          onSubmit={(e) => {
            e.preventDefault()
            const reason = String(new FormData(e.currentTarget).get('reason') ?? '')
            void change(
              { status: 'cancelled', ...(reason ? { cancellation_reason: reason } : {}) },
              'Booking cancelled.',
            )
          }}
        >
          <Field label="Reason (optional, the customer sees it)" name="reason" maxLength={500} />
          <div className="actions">
            <button type="submit" className="danger" disabled={busy}>
              Cancel the booking
            </button>
            <button type="button" onClick={() => setCancelling(false)}>
              Keep it
            </button>
          </div>
        </form>
      )}
      {current && active && (
        <details className="subform">
          <summary>Change time or barber</summary>
          <form onSubmit={moveSubmit} noValidate>
            <div className="form-row">
              <Field label="Day" name="date" type="date" defaultValue={day} problem={problem} />
              <SelectField label="Time" name="start" defaultValue={startMin} problem={problem}>
                {timeOptions(shop.slot_minutes, 0, 24 * 60).map((m) => (
                  <option key={m} value={m}>
                    {clock(m)}
                  </option>
                ))}
              </SelectField>
              <SelectField
                label="Barber"
                name="staff"
                defaultValue={r.staff == null ? 'none' : String(r.staff)}
                problem={problem}
              >
                {columns
                  .filter((c) => c.staff !== null)
                  .map((c) => (
                    <option key={c.key} value={String(c.staff)}>
                      {c.name}
                    </option>
                  ))}
                {r.staff == null && <option value="none">No barber</option>}
              </SelectField>
            </div>
            <button type="submit" className="accent" disabled={busy}>
              Move the booking
            </button>
          </form>
        </details>
      )}
      <h3>Customer</h3>
      {p ? (
        <p>
          {personName(p)}
          {p.phone && (
            <>
              {' '}
              · <a href={`tel:${p.phone}`}>{p.phone}</a>
            </>
          )}
          {p.email && (
            <>
              {' '}
              · <a href={`mailto:${p.email}`}>{p.email}</a>
            </>
          )}
        </p>
      ) : (
        <p>{person.isPending ? 'Loading…' : 'Not available.'}</p>
      )}
      {visits.data && (
        <p>
          Other bookings{user?.is_admin ? '' : ' with you'}: {ended.length} · completed {completed}{' '}
          · no-shows {noShows}
        </p>
      )}
      {ended.length > 0 && (
        <ul className="plain">
          {ended.slice(0, 5).map((v) => (
            <li key={v.id}>
              {when(v.start_time, zone)} — {STATUS_LABEL[v.status]}
            </li>
          ))}
        </ul>
      )}
      <h3>History</h3>
      {history.data ? (
        <ol className="plain">
          {history.data.map((h, i) => (
            <HistoryLine key={i} h={h} zone={zone} />
          ))}
        </ol>
      ) : (
        <p>{history.isError ? 'The history could not be loaded.' : 'Loading…'}</p>
      )}
    </Modal>
  )
}

function HistoryLine({ h, zone }: { h: HistoryEntry; zone: string }) {
  const actor = usePerson(h.actor)
  const who = h.actor === null ? 'the system' : personName(actor.data, `user #${h.actor}`)
  const what =
    h.from_status === null
      ? `made it (${STATUS_LABEL[h.to_status]})`
      : h.from_status === h.to_status
        ? `moved it (${STATUS_LABEL[h.to_status]})`
        : `${STATUS_LABEL[h.from_status]} → ${STATUS_LABEL[h.to_status]}`
  return (
    <li>
      {when(h.at, zone)}: {who} {what}, for {when(h.start_time, zone)}–{timeOfDay(h.end_time, zone)}
    </li>
  )
}
