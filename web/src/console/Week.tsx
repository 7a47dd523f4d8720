import { useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import type { Service } from '../api/client'
import { useShop } from '../data'
import { longDay, shopDate, timeOfDay } from '../lib/time'
import { ErrorText, Loading } from '../ui'
import { BookingDialog } from './BookingDialog'
import type { Column } from './DayView'
import { dayReservationsQuery, personName, STATUS_LABEL, usePeople } from './data'
import { addDays, weekdayOf } from './lib'
import { StatusBadge } from './parts'

/** One barber's week, Monday to Sunday: each day's bookings in time order. */
export function WeekView({
  date,
  barber,
  columns,
  services,
}: {
  date: string
  barber: Column
  columns: Column[]
  services: Map<number, Service>
}) {
  const shop = useShop()
  const zone = shop.timezone
  const monday = addDays(date, -weekdayOf(date))
  const days = Array.from({ length: 7 }, (_, i) => addDays(monday, i))
  const week = useQuery(dayReservationsQuery(monday, addDays(monday, 7), barber.staff ?? undefined))
  const rows = (week.data ?? []).filter((r) => (r.staff ?? null) === barber.staff)
  const people = usePeople(rows.map((r) => r.customer))
  const [openId, setOpenId] = useState<number | null>(null)
  const opened = rows.find((r) => r.id === openId)
  if (week.isPending) return <Loading what="the week" />
  if (week.error) return <ErrorText error={week.error} />
  return (
    <>
      <h2 className="week-title">
        {barber.name}: week of {longDay(monday, zone)}
      </h2>
      <div className="week">
        {days.map((d) => {
          const today = rows
            .filter((r) => shopDate(r.start_time, zone) === d)
            .sort((a, b) => a.start_time.localeCompare(b.start_time))
          return (
            <section key={d} className="week-day" aria-label={longDay(d, zone)}>
              <h3>{longDay(d, zone)}</h3>
              {today.length === 0 ? (
                <p className="hint">No bookings.</p>
              ) : (
                <ol className="day-list">
                  {today.map((r) => {
                    const p = people.get(r.customer)
                    const s = r.service ? services.get(r.service) : undefined
                    return (
                      <li key={r.id} className={`day-item st-${r.status}`}>
                        <span className="b-time">
                          {timeOfDay(r.start_time, zone)}–{timeOfDay(r.end_time, zone)}
                        </span>
                        <span>{personName(p)}</span>
                        <span>{s?.name ?? 'No service'}</span>
                        <StatusBadge status={r.status} />
                        <button
                          type="button"
                          onClick={() => setOpenId(r.id)}
                          aria-label={`Open ${longDay(d, zone)} ${timeOfDay(r.start_time, zone)}, ${personName(p)}, ${STATUS_LABEL[r.status]}`}
                        >
                          Open
                        </button>
                      </li>
                    )
                  })}
                </ol>
              )}
            </section>
          )
        })}
      </div>
      {opened && (
        <BookingDialog
          reservation={opened}
          columns={columns}
          onClose={() => setOpenId(null)}
          onDone={() => undefined}
        />
      )}
    </>
  )
}
