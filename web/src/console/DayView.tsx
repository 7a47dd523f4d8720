import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { KeyboardEvent, PointerEvent as ReactPointerEvent } from 'react'
import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query'
import type { Reservation, Service } from '../api/client'
import { useSession } from '../auth'
import { staffName, useShop } from '../data'
import { longDay, timeOfDay, zoneLabel } from '../lib/time'
import { ErrorText, Loading } from '../ui'
import { BookingDialog } from './BookingDialog'
import { useGo } from './Console'
import type { Search } from './Console'
import {
  allServicesQuery,
  barbersQuery,
  dayReservationsQuery,
  getReservation,
  patchReservation,
  personName,
  raw,
  STATUS_LABEL,
  timeOffQuery,
  usePeople,
} from './data'
import type { Person, TimeOff } from './data'
import {
  addDays,
  atMinutes,
  clock,
  dayBounds,
  gaps,
  intersect,
  minutesInto,
  parseHours,
  todayIn,
  weekdayOf,
} from './lib'
import type { Range } from './lib'
import { BlockTimeDialog, NewBookingDialog } from './NewBooking'
import { WeekView } from './Week'
import { Legend, refusal, StatusBadge } from './parts'

/** Pixels per slot row. */
const ROW = 36
export const NO_BARBER = 'none'

export interface Column {
  key: string
  staff: number | null
  name: string
}

interface Placed {
  r: Reservation
  start: number
  end: number
  tail: number
  lane: number
  lanes: number
}

/** Side by side where bookings overlap in one column (an ended one under a new one). */
function placeColumn(items: { r: Reservation; start: number; end: number; tail: number }[]) {
  const sorted = [...items].sort((a, b) => a.start - b.start || a.r.id - b.r.id)
  const out: Placed[] = []
  let cluster: Placed[] = []
  let clusterEnd = -Infinity
  const laneEnds: number[] = []
  const flush = () => {
    const lanes = Math.max(1, ...cluster.map((p) => p.lane + 1))
    for (const p of cluster) p.lanes = lanes
    out.push(...cluster)
    cluster = []
    laneEnds.length = 0
  }
  for (const it of sorted) {
    if (it.start >= clusterEnd) flush()
    let lane = laneEnds.findIndex((e) => e <= it.start)
    if (lane < 0) lane = laneEnds.length
    laneEnds[lane] = it.end + it.tail
    cluster.push({ ...it, lane, lanes: 1 })
    clusterEnd = Math.max(clusterEnd, it.end + it.tail)
  }
  flush()
  return out
}

export function DayView({ search }: { search: Search }) {
  const shop = useShop()
  const zone = shop.timezone
  const slot = shop.slot_minutes
  const { user } = useSession()
  const go = useGo()
  const qc = useQueryClient()
  const isAdmin = !!user?.is_admin
  const date = search.date && /^\d{4}-\d{2}-\d{2}$/.test(search.date) ? search.date : todayIn(zone)
  const view = search.view === 'list' || search.view === 'week' ? search.view : 'grid'
  const step = view === 'week' ? 7 : 1
  const setSearch = (next: Search) => go('', { ...search, ...next }, true)

  const hours = useMemo(() => parseHours(shop.opening_hours), [shop.opening_hours])
  const barbers = useQuery({ ...barbersQuery, enabled: isAdmin })
  const day = useQuery(
    dayReservationsQuery(date, addDays(date, 1, zone), isAdmin ? undefined : user?.id),
  )
  const services = useQuery(allServicesQuery)
  const timeOff = useQuery(timeOffQuery)
  const people = usePeople((day.data ?? []).map((r) => r.customer))

  // The booking open in the dialog: kept even when a move takes it off this day.
  const [openRes, setOpenRes] = useState<Reservation | null>(null)
  const openId = useCallback(
    (id: number) => setOpenRes((day.data ?? []).find((r) => r.id === id) ?? null),
    [day.data],
  )
  const [newAt, setNewAt] = useState<{ staff: number | null; minutes: number } | null>(null)
  const [blocking, setBlocking] = useState(false)
  const [message, setMessage] = useState<{ text: string; error?: boolean } | null>(null)

  const serviceById = useMemo(
    () => new Map((services.data ?? []).map((s) => [s.id, s] as const)),
    [services.data],
  )

  const columns: Column[] = useMemo(() => {
    if (!user) return []
    const cols: Column[] = isAdmin
      ? (barbers.data ?? []).map((b) => ({ key: String(b.id), staff: b.id, name: staffName(b) }))
      : [{ key: String(user.id), staff: user.id, name: staffName(user) }]
    const rows = day.data ?? []
    // Reservations for a barber who is no longer listed still get a column.
    if (isAdmin)
      for (const r of rows)
        if (r.staff !== null && r.staff !== undefined && !cols.some((c) => c.staff === r.staff))
          cols.push({ key: String(r.staff), staff: r.staff, name: `Barber #${r.staff}` })
    if (isAdmin && (cols.length === 0 || rows.some((r) => r.staff == null)))
      cols.push({ key: NO_BARBER, staff: null, name: 'No barber' })
    return cols
  }, [user, isAdmin, barbers.data, day.data])

  const mine = useMemo(
    () => (day.data ?? []).filter((r) => isAdmin || r.staff === user?.id || r.staff == null),
    [day.data, isAdmin, user?.id],
  )

  const dayOff = useMemo(() => {
    const out: { t: TimeOff; start: number; end: number }[] = []
    for (const t of timeOff.data ?? []) {
      const start = minutesInto(date, t.start_time, zone)
      const end = minutesInto(date, t.end_time, zone)
      if (end > 0 && start < 24 * 60) out.push({ t, start, end })
    }
    return out
  }, [timeOff.data, date, zone])

  const bounds = useMemo(
    () =>
      dayBounds(
        hours,
        date,
        slot,
        mine
          .filter((r) => r.status !== 'cancelled')
          .map((r) => ({
            start: minutesInto(date, r.start_time, zone),
            end: minutesInto(date, r.end_time, zone),
          })),
      ),
    [hours, date, slot, mine, zone],
  )

  const move = useCallback(
    async (r: Reservation, staff: number | null, minutes: number) => {
      const length = minutesInto(date, r.end_time, zone) - minutesInto(date, r.start_time, zone)
      const who = columns.find((c) => c.staff === staff)?.name ?? 'no barber'
      setMessage({ text: `Moving the booking to ${clock(minutes)} with ${who}…` })
      try {
        const fresh = await getReservation(r.id)
        if (fresh.r.updated_at !== r.updated_at) {
          await qc.invalidateQueries({ queryKey: ['console'] })
          setMessage({
            error: true,
            text: 'Someone else changed this booking in the meantime. The day has been reloaded: check it and move it again.',
          })
          return
        }
        await patchReservation(r.id, fresh.etag, {
          start_time: atMinutes(date, minutes, zone),
          end_time: atMinutes(date, minutes + length, zone),
          staff,
        })
        setMessage({ text: `Moved to ${clock(minutes)} with ${who}.` })
      } catch (e) {
        setMessage({ error: true, text: `Not moved. ${refusal(e)}` })
      } finally {
        await qc.invalidateQueries({ queryKey: ['console'] })
      }
    },
    [columns, date, qc, zone],
  )

  const onEmpty = useCallback(
    (staff: number | null, minutes: number) => setNewAt({ staff, minutes }),
    [],
  )

  // Each barber's own weekly hours (null: the shop's), for the bands where they do not work.
  const barberHours = useQueries({
    queries: columns
      .filter((c) => c.staff !== null)
      .map((c) => ({
        queryKey: ['console', 'hours', c.staff],
        queryFn: async () =>
          (await raw<{ hours: string | null }>('GET', `/api/staff/${c.staff}/hours/`)).data,
        staleTime: 60_000,
      })),
  })
  const hoursByStaff = new Map<number, Range[][]>()
  columns
    .filter((c) => c.staff !== null)
    .forEach((c, i) => {
      const h = barberHours[i]?.data?.hours
      if (h) {
        try {
          hoursByStaff.set(c.staff!, parseHours(h))
        } catch {
          // A value the API accepted always parses; ignore anything else.
        }
      }
    })

  const weekBarber =
    columns.find((c) => c.key === search.barber && c.staff !== null) ??
    columns.find((c) => c.staff !== null)

  if (!user) return null
  const loading = day.isPending || services.isPending || (isAdmin && barbers.isPending)
  const opened = (day.data ?? []).find((r) => r.id === openRes?.id) ?? openRes

  return (
    <section className="dayview" aria-labelledby="day-title">
      <div className="day-head">
        <h1 id="day-title">
          {longDay(date, zone)}
          {date === todayIn(zone) ? ' (today)' : ''}
        </h1>
        <p className="hint">Times in the shop&apos;s zone, {zoneLabel(zone, new Date())}.</p>
      </div>
      <div className="toolbar" role="group" aria-label="Day">
        <button type="button" onClick={() => setSearch({ date: addDays(date, -step, zone) })}>
          ← Previous {view === 'week' ? 'week' : 'day'}
        </button>
        <button type="button" onClick={() => setSearch({ date: todayIn(zone) })}>
          Today
        </button>
        <button type="button" onClick={() => setSearch({ date: addDays(date, step, zone) })}>
          Next {view === 'week' ? 'week' : 'day'} →
        </button>
        <label className="inline">
          Date{' '}
          <input
            type="date"
            value={date}
            onChange={(e) => e.target.value && setSearch({ date: e.target.value })}
          />
        </label>
        <span className="toolbar-gap" />
        <button
          type="button"
          aria-pressed={view === 'grid'}
          onClick={() => setSearch({ view: undefined })}
        >
          Grid
        </button>
        <button
          type="button"
          aria-pressed={view === 'list'}
          onClick={() => setSearch({ view: 'list' })}
        >
          List
        </button>
        <button
          type="button"
          aria-pressed={view === 'week'}
          onClick={() => setSearch({ view: 'week' })}
        >
          Week
        </button>
        {view === 'week' && isAdmin && (
          <label className="inline">
            Barber{' '}
            <select
              value={weekBarber?.key ?? ''}
              onChange={(e) => setSearch({ barber: e.target.value })}
            >
              {columns
                .filter((c) => c.staff !== null)
                .map((c) => (
                  <option key={c.key} value={c.key}>
                    {c.name}
                  </option>
                ))}
            </select>
          </label>
        )}
        <button
          type="button"
          className="accent"
          onClick={() => setNewAt({ staff: columns[0]?.staff ?? null, minutes: bounds.start })}
        >
          New booking
        </button>
        <button type="button" onClick={() => setBlocking(true)}>
          Block time
        </button>
      </div>
      <Legend />
      <div className="live" role="status" aria-live="polite">
        {message && !message.error && message.text}
      </div>
      {message?.error && (
        <p className="error" role="alert">
          {message.text}
        </p>
      )}
      {day.error && <ErrorText error={day.error} />}
      {loading ? (
        <Loading what="the day" />
      ) : view === 'week' ? (
        weekBarber ? (
          <WeekView date={date} barber={weekBarber} columns={columns} services={serviceById} />
        ) : (
          <p>No barber to show.</p>
        )
      ) : view === 'list' ? (
        <DayList
          rows={mine}
          zone={zone}
          people={people}
          services={serviceById}
          columns={columns}
          onOpen={openId}
        />
      ) : (
        <DayGrid
          date={date}
          zone={zone}
          slot={slot}
          bounds={bounds}
          columns={columns}
          rows={mine}
          open={hours}
          barberHours={hoursByStaff}
          off={dayOff}
          people={people}
          services={serviceById}
          onOpen={openId}
          onEmpty={onEmpty}
          onMove={(r, staff, minutes) => void move(r, staff, minutes)}
        />
      )}
      {newAt && (
        <NewBookingDialog
          date={date}
          staff={newAt.staff}
          minutes={newAt.minutes}
          columns={columns}
          bounds={bounds}
          onClose={() => setNewAt(null)}
          onDone={(text) => {
            setNewAt(null)
            setMessage({ text })
          }}
        />
      )}
      {blocking && (
        <BlockTimeDialog
          date={date}
          columns={columns}
          bounds={bounds}
          onClose={() => setBlocking(false)}
          onDone={(text) => {
            setBlocking(false)
            setMessage({ text })
          }}
        />
      )}
      {opened && (
        <BookingDialog
          reservation={opened}
          columns={columns}
          onClose={() => setOpenRes(null)}
          onDone={(text) => setMessage({ text })}
        />
      )}
    </section>
  )
}

function bookingLabel(
  r: Reservation,
  zone: string,
  person: Person | undefined,
  service: Service | undefined,
): string {
  return `${timeOfDay(r.start_time, zone)}–${timeOfDay(r.end_time, zone)}, ${personName(person)}, ${
    service?.name ?? 'no service'
  }, ${STATUS_LABEL[r.status] ?? r.status}`
}

function DayList({
  rows,
  zone,
  people,
  services,
  columns,
  onOpen,
}: {
  rows: Reservation[]
  zone: string
  people: Map<number, Person>
  services: Map<number, Service>
  columns: Column[]
  onOpen: (id: number) => void
}) {
  const sorted = [...rows].sort((a, b) => a.start_time.localeCompare(b.start_time))
  if (sorted.length === 0) return <p>No bookings this day.</p>
  return (
    <ol className="day-list" aria-label="Bookings of the day">
      {sorted.map((r) => {
        const p = people.get(r.customer)
        const service = r.service ? services.get(r.service) : undefined
        return (
          <li key={r.id} className={`day-item st-${r.status}`}>
            <span className="b-time">
              {timeOfDay(r.start_time, zone)}–{timeOfDay(r.end_time, zone)}
            </span>
            <span>{personName(p)}</span>
            {p?.phone && <a href={`tel:${p.phone}`}>{p.phone}</a>}
            <span>{service?.name ?? 'No service'}</span>
            <span>
              with {columns.find((c) => c.staff === (r.staff ?? null))?.name ?? 'no barber'}
            </span>
            <StatusBadge status={r.status} />
            <button
              type="button"
              onClick={() => onOpen(r.id)}
              aria-label={`Open ${bookingLabel(r, zone, p, service)}`}
            >
              Open
            </button>
          </li>
        )
      })}
    </ol>
  )
}

interface Drag {
  r: Reservation
  x0: number
  y0: number
  grab: number
  moved: boolean
  target?: { staff: number | null; key: string; minutes: number }
}

function DayGrid({
  date,
  zone,
  slot,
  bounds,
  columns,
  rows,
  open: open_,
  barberHours,
  off,
  people,
  services,
  onOpen,
  onEmpty,
  onMove,
}: {
  date: string
  zone: string
  slot: number
  bounds: { start: number; end: number }
  columns: Column[]
  rows: Reservation[]
  open: Range[][]
  barberHours: Map<number, Range[][]>
  off: { t: TimeOff; start: number; end: number }[]
  people: Map<number, Person>
  services: Map<number, Service>
  onOpen: (id: number) => void
  onEmpty: (staff: number | null, minutes: number) => void
  onMove: (r: Reservation, staff: number | null, minutes: number) => void
}) {
  const count = Math.max(1, (bounds.end - bounds.start) / slot)
  const times = Array.from({ length: count }, (_, i) => bounds.start + i * slot)
  const [focus, setFocus] = useState({ col: 0, row: 0 })
  const gridRef = useRef<HTMLDivElement>(null)
  const drag = useRef<Drag | null>(null)
  const [ghost, setGhost] = useState<Drag['target'] & { length: number }>()
  const suppressClick = useRef(false)

  const pick = useCallback(
    (col: number, row: number, staff: number | null, minutes: number) => {
      setFocus({ col, row })
      onEmpty(staff, minutes)
    },
    [onEmpty],
  )

  const y = (minutes: number) => ((minutes - bounds.start) / slot) * ROW

  const placed = useMemo(() => {
    const by = new Map<string, Placed[]>()
    for (const c of columns) {
      const items = rows
        .filter((r) => r.status !== 'cancelled' && (r.staff ?? null) === c.staff)
        .map((r) => ({
          r,
          start: minutesInto(date, r.start_time, zone),
          end: minutesInto(date, r.end_time, zone),
          tail:
            r.service && r.status !== 'completed' && r.status !== 'no_show'
              ? (services.get(r.service)?.buffer_after_minutes ?? 0)
              : 0,
        }))
      by.set(c.key, placeColumn(items))
    }
    return by
  }, [columns, rows, date, zone, services])

  // A new day opens at its first booking (or at opening time), not at midnight of a 24-hour shop.
  const scroller = useRef<HTMLDivElement>(null)
  const scrolledFor = useRef('')
  useEffect(() => {
    if (scrolledFor.current === date || !scroller.current) return
    scrolledFor.current = date
    const starts = [...placed.values()].flat().map((p) => p.start)
    const open = (open_[weekdayOf(date)] ?? [])[0]?.start ?? bounds.start
    const first = starts.length ? Math.min(...starts) : open
    scroller.current.scrollTop = Math.max(0, y(first - slot))
  })

  const weekday = (new Date(`${date}T12:00:00Z`).getUTCDay() + 6) % 7
  const closed = gaps(bounds.start, bounds.end, open_[weekday] ?? [])

  function onKey(e: KeyboardEvent<HTMLDivElement>) {
    const t = e.target as HTMLElement
    if (!t.dataset.cell) return
    let { col, row } = focus
    if (e.key === 'ArrowDown') row = Math.min(count - 1, row + 1)
    else if (e.key === 'ArrowUp') row = Math.max(0, row - 1)
    else if (e.key === 'ArrowRight') col = Math.min(columns.length - 1, col + 1)
    else if (e.key === 'ArrowLeft') col = Math.max(0, col - 1)
    else if (e.key === 'Home') row = 0
    else if (e.key === 'End') row = count - 1
    else return
    e.preventDefault()
    setFocus({ col, row })
    gridRef.current?.querySelector<HTMLElement>(`[data-cell="${col}-${row}"]`)?.focus()
  }

  function targetAt(x: number, yy: number, d: Drag) {
    for (const el of document.elementsFromPoint(x, yy)) {
      const h = el as HTMLElement
      if (h.dataset.colKey !== undefined) {
        const rect = h.getBoundingClientRect()
        const row = Math.round((yy - rect.top - d.grab) / ROW)
        const minutes = Math.max(
          bounds.start,
          Math.min(bounds.end - slot, bounds.start + row * slot),
        )
        const col = columns.find((c) => c.key === h.dataset.colKey)
        if (col) return { staff: col.staff, key: col.key, minutes }
      }
    }
    return undefined
  }

  function onPointerDown(e: ReactPointerEvent<HTMLButtonElement>, r: Reservation) {
    // Touch users move a booking with its "Change time" form (Fresha does the same).
    if (e.button !== 0 || e.pointerType === 'touch') return
    if (r.status !== 'pending' && r.status !== 'confirmed') return
    const rect = e.currentTarget.getBoundingClientRect()
    drag.current = { r, x0: e.clientX, y0: e.clientY, grab: e.clientY - rect.top, moved: false }
    e.currentTarget.setPointerCapture(e.pointerId)
  }
  function onPointerMove(e: ReactPointerEvent<HTMLButtonElement>) {
    const d = drag.current
    if (!d) return
    if (!d.moved && Math.hypot(e.clientX - d.x0, e.clientY - d.y0) < 6) return
    d.moved = true
    d.target = targetAt(e.clientX, e.clientY, d)
    const length = minutesInto(date, d.r.end_time, zone) - minutesInto(date, d.r.start_time, zone)
    setGhost(d.target ? { ...d.target, length } : undefined)
  }
  function onPointerUp() {
    const d = drag.current
    drag.current = null
    setGhost(undefined)
    if (!d?.moved) return
    suppressClick.current = true
    setTimeout(() => (suppressClick.current = false), 0)
    const t = d.target
    if (!t) return
    const was = minutesInto(date, d.r.start_time, zone)
    if (t.minutes === was && t.staff === (d.r.staff ?? null)) return
    onMove(d.r, t.staff, t.minutes)
  }

  return (
    <div className="grid-scroll" ref={scroller}>
      <div className="daygrid" ref={gridRef} onKeyDown={onKey} data-columns={columns.length}>
        <div className="axis" aria-hidden="true">
          <div className="col-head">&nbsp;</div>
          <div className="col-body" style={{ height: count * ROW }}>
            {times.map((m, i) => (
              <div key={m} className="tick" style={{ top: i * ROW }}>
                {clock(m)}
              </div>
            ))}
          </div>
        </div>
        {columns.map((c, ci) => (
          <section className="col" key={c.key} aria-label={c.name} data-col={c.key}>
            <h2 className="col-head">{c.name}</h2>
            <div className="col-body" data-col-key={c.key} style={{ height: count * ROW }}>
              <Cells
                col={ci}
                name={c.name}
                times={times}
                focusRow={focus.col === ci ? focus.row : -1}
                staff={c.staff}
                onPick={pick}
              />
              {closed.map((g) => (
                <div
                  key={`closed-${g.start}`}
                  className="band closed"
                  style={{ top: y(g.start), height: y(g.end) - y(g.start) }}
                >
                  <span>Closed</span>
                </div>
              ))}
              {c.staff !== null &&
                barberHours.has(c.staff) &&
                gaps(
                  bounds.start,
                  bounds.end,
                  intersect(open_[weekday] ?? [], barberHours.get(c.staff)![weekday] ?? []),
                )
                  // Only what the shop's own closed bands do not already cover.
                  .flatMap((g) => intersect([g], open_[weekday] ?? []))
                  .map((g) => (
                    <div
                      key={`notworking-${g.start}`}
                      className="band closed"
                      style={{ top: y(g.start), height: y(g.end) - y(g.start) }}
                    >
                      <span>Not working</span>
                    </div>
                  ))}
              {off
                .filter((o) => o.t.staff === null || o.t.staff === c.staff)
                .map((o) => {
                  const s = Math.max(bounds.start, o.start)
                  const e = Math.min(bounds.end, o.end)
                  if (e <= s) return null
                  return (
                    <div
                      key={`off-${o.t.id}`}
                      className="band off"
                      style={{ top: y(s), height: y(e) - y(s) }}
                    >
                      <span>
                        {o.t.staff === null ? 'Shop closed' : 'Time off'}
                        {o.t.reason ? `: ${o.t.reason}` : ''}
                      </span>
                    </div>
                  )
                })}
              {(placed.get(c.key) ?? []).map((p) => {
                const person = people.get(p.r.customer)
                const service = p.r.service ? services.get(p.r.service) : undefined
                const top = y(Math.max(bounds.start, p.start))
                const height = Math.max(ROW * 0.75, y(Math.min(bounds.end, p.end)) - top)
                const movable = p.r.status === 'pending' || p.r.status === 'confirmed'
                return (
                  <div
                    key={p.r.id}
                    className="placed"
                    style={{
                      top,
                      left: `${(p.lane / p.lanes) * 100}%`,
                      width: `${100 / p.lanes}%`,
                    }}
                  >
                    <button
                      type="button"
                      className={`booking-block st-${p.r.status}${movable ? ' movable' : ''}`}
                      style={{ height }}
                      data-booking={p.r.id}
                      aria-label={bookingLabel(p.r, zone, person, service)}
                      onClick={() => {
                        if (!suppressClick.current) onOpen(p.r.id)
                      }}
                      onPointerDown={(e) => onPointerDown(e, p.r)}
                      onPointerMove={onPointerMove}
                      onPointerUp={onPointerUp}
                      onPointerCancel={() => {
                        drag.current = null
                        setGhost(undefined)
                      }}
                    >
                      <span className="b-time">
                        {timeOfDay(p.r.start_time, zone)}–{timeOfDay(p.r.end_time, zone)}
                      </span>{' '}
                      <span className="b-who">{personName(person)}</span>{' '}
                      <span className="b-what">{service?.name ?? ''}</span>{' '}
                      <span className="b-status">{STATUS_LABEL[p.r.status]}</span>
                    </button>
                    {p.tail > 0 && (
                      <div
                        className="tail"
                        style={{ height: (p.tail / slot) * ROW }}
                        title={`Clean-up ${p.tail} min`}
                      >
                        <span className="sr-only">Clean-up {p.tail} minutes</span>
                      </div>
                    )}
                  </div>
                )
              })}
              {ghost && ghost.key === c.key && (
                <div
                  className="ghost"
                  aria-hidden="true"
                  style={{ top: y(ghost.minutes), height: (ghost.length / slot) * ROW }}
                >
                  {clock(ghost.minutes)}
                </div>
              )}
            </div>
          </section>
        ))}
      </div>
    </div>
  )
}

/** The empty cells of one column: one tab stop for the grid, arrow keys move between cells. */
const Cells = memo(function Cells({
  col,
  name,
  times,
  focusRow,
  staff,
  onPick,
}: {
  col: number
  name: string
  times: number[]
  focusRow: number
  staff: number | null
  onPick: (col: number, row: number, staff: number | null, minutes: number) => void
}) {
  return (
    <>
      {times.map((m, row) => (
        <button
          key={m}
          type="button"
          className="cell"
          style={{ top: row * ROW }}
          data-cell={`${col}-${row}`}
          tabIndex={focusRow === row ? 0 : -1}
          aria-label={`New booking with ${name} at ${clock(m)}`}
          onClick={() => onPick(col, row, staff, m)}
        />
      ))}
    </>
  )
})
