import type { FormEvent } from 'react'
import { useQuery } from '@tanstack/react-query'
import { useShop } from '../data'
import { when } from '../lib/time'
import { ErrorText, Field, Loading } from '../ui'
import { useGo } from './Console'
import type { Search } from './Console'
import { money, POLL_MS, raw, STATUS_LABEL, STATUSES } from './data'
import type { Stats } from './data'
import { addDays, todayIn } from './lib'

/*
 * Charts are plain SVG drawn by React (no library injecting <style>, so the CSP's
 * style-src 'self' holds), each with the same figures as a table beside it.
 */

interface Bar {
  label: string
  value: number
  className?: string
}

function BarChart({ title, bars, unit }: { title: string; bars: Bar[]; unit: string }) {
  const max = Math.max(1, ...bars.map((b) => b.value))
  const rowH = 26
  const labelW = 90
  const width = 420
  const height = bars.length * rowH + 8
  return (
    <svg
      className="chart"
      viewBox={`0 0 ${width} ${height}`}
      width="100%"
      role="img"
      aria-label={`${title}: ${bars.map((b) => `${b.label} ${b.value} ${unit}`).join(', ')}`}
    >
      {bars.map((b, i) => {
        const w = ((width - labelW - 50) * b.value) / max
        return (
          <g key={b.label} transform={`translate(0 ${i * rowH + 4})`}>
            <text x={labelW - 6} y={rowH / 2 + 4} textAnchor="end">
              {b.label}
            </text>
            <rect
              x={labelW}
              y={3}
              width={Math.max(w, b.value ? 2 : 0)}
              height={rowH - 8}
              className={`bar ${b.className ?? ''}`}
            />
            <text x={labelW + w + 6} y={rowH / 2 + 4}>
              {b.value}
            </text>
          </g>
        )
      })}
    </svg>
  )
}

function DataTable({
  caption,
  head,
  rows,
}: {
  caption: string
  head: [string, string]
  rows: [string, string | number][]
}) {
  return (
    <table className="table">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{head[0]}</th>
          <th scope="col" className="num">
            {head[1]}
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td className="num">{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export default function Dashboard({ search }: { search: Search }) {
  const shop = useShop()
  const go = useGo()
  const zone = shop.timezone
  const from = search.from ?? addDays(todayIn(zone), -29, zone)
  const to = search.to ?? addDays(todayIn(zone), 30, zone)
  const stats = useQuery({
    queryKey: ['console', 'stats', from, to],
    queryFn: async () =>
      (await raw<Stats>('GET', `/api/dashboard/stats/?${new URLSearchParams({ from, to })}`)).data,
    refetchInterval: POLL_MS * 3,
  })

  function apply(e: FormEvent<HTMLFormElement>) {
    e.preventDefault()
    const f = new FormData(e.currentTarget)
    go('dashboard', { from: String(f.get('from') || from), to: String(f.get('to') || to) })
  }

  const s = stats.data
  const rate = s?.reservations.completion_rate
  const byStatus: Bar[] = s
    ? STATUSES.map((k) => ({
        label: STATUS_LABEL[k]!,
        value: s.reservations.by_status[k],
        className: `st-${k}`,
      }))
    : []
  const hours: Bar[] = s
    ? [...s.busiest_hours]
        .sort((a, b) => a.hour - b.hour)
        .map((h) => ({ label: `${String(h.hour).padStart(2, '0')}:00`, value: h.count }))
    : []
  return (
    <section aria-labelledby="dash-title">
      <h1 id="dash-title">Dashboard</h1>
      <form className="filters" onSubmit={apply} aria-label="Range">
        <Field label="From day" name="from" type="date" defaultValue={from} />
        <Field label="To day (included)" name="to" type="date" defaultValue={to} />
        <div className="actions">
          <button type="submit" className="accent">
            Show
          </button>
        </div>
      </form>
      {stats.error && <ErrorText error={stats.error} />}
      {!s ? (
        <Loading what="the figures" />
      ) : (
        <>
          <ul className="stat-cards" aria-label="Figures">
            <li>
              Bookings in range <span className="value">{s.reservations.total}</span>
            </li>
            <li>
              Today <span className="value">{s.reservations.today}</span>
            </li>
            <li>
              Upcoming <span className="value">{s.reservations.upcoming}</span>
            </li>
            <li>
              Completion rate{' '}
              <span className="value">{rate == null ? '—' : `${Math.round(rate * 100)} %`}</span>
            </li>
            <li>
              Revenue, completed{' '}
              <span className="value">{money(s.revenue.completed, shop.currency)}</span>
            </li>
            <li>
              Revenue, expected{' '}
              <span className="value">{money(s.revenue.expected, shop.currency)}</span>
            </li>
            <li>
              Customers <span className="value">{s.users.customers}</span>
            </li>
            <li>
              New customers, 30 days <span className="value">{s.users.new_last_30_days}</span>
            </li>
          </ul>
          <h2>Bookings by status</h2>
          <div className="chart-pair">
            <figure>
              <BarChart title="Bookings by status" bars={byStatus} unit="bookings" />
            </figure>
            <DataTable
              caption="Bookings by status"
              head={['Status', 'Bookings']}
              rows={byStatus.map((b) => [b.label, b.value])}
            />
          </div>
          <h2>Busiest hours</h2>
          <div className="chart-pair">
            <figure>
              {hours.length ? (
                <BarChart title="Bookings by starting hour" bars={hours} unit="bookings" />
              ) : (
                <p>No bookings in the range.</p>
              )}
            </figure>
            <DataTable
              caption="Bookings by starting hour (shop time)"
              head={['Hour', 'Bookings']}
              rows={hours.map((b) => [b.label, b.value])}
            />
          </div>
          <p className="hint">Figures of {when(s.generated_at, zone)}.</p>
        </>
      )}
    </section>
  )
}
