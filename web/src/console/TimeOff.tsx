import { useState } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useSession } from '../auth'
import { staffName, useShop } from '../data'
import { timeOfDay, when } from '../lib/time'
import { ErrorText, Loading } from '../ui'
import type { Column } from './DayView'
import { barbersQuery, raw, timeOffQuery } from './data'
import type { TimeOff } from './data'
import { todayIn } from './lib'
import { BlockTimeDialog } from './NewBooking'
import { Refusal } from './parts'

export default function TimeOffPage() {
  const shop = useShop()
  const zone = shop.timezone
  const { user } = useSession()
  const qc = useQueryClient()
  const isAdmin = !!user?.is_admin
  const list = useQuery(timeOffQuery)
  const barbers = useQuery({ ...barbersQuery, enabled: isAdmin })
  const [editing, setEditing] = useState<TimeOff | 'new' | null>(null)
  const [problem, setProblem] = useState<unknown>(null)
  const [note, setNote] = useState('')
  const [showPast, setShowPast] = useState(false)
  const columns: Column[] = isAdmin
    ? (barbers.data ?? []).map((b) => ({ key: String(b.id), staff: b.id, name: staffName(b) }))
    : user
      ? [{ key: String(user.id), staff: user.id, name: staffName(user) }]
      : []
  const who = (t: TimeOff) =>
    t.staff === null
      ? 'The whole shop'
      : (columns.find((c) => c.staff === t.staff)?.name ?? `Barber #${t.staff}`)

  async function remove(t: TimeOff) {
    setProblem(null)
    try {
      await raw('DELETE', `/api/time-off/${t.id}/`)
      await qc.invalidateQueries({ queryKey: ['console'] })
      setNote('Time off removed.')
    } catch (e) {
      setProblem(e)
    }
  }

  const now = new Date().toISOString()
  const rows = [...(list.data ?? [])]
    .filter((t) => showPast || t.end_time >= now)
    .sort((a, b) => a.start_time.localeCompare(b.start_time))
  return (
    <section aria-labelledby="off-title">
      <h1 id="off-title">Time off and closures</h1>
      <div className="actions">
        <button type="button" className="accent" onClick={() => setEditing('new')}>
          Add time off
        </button>
        <label className="check">
          <input
            type="checkbox"
            checked={showPast}
            onChange={(e) => setShowPast(e.target.checked)}
          />
          Show past ones
        </label>
      </div>
      <div className="live" role="status">
        {note}
      </div>
      <Refusal error={problem} />
      {list.error && <ErrorText error={list.error} />}
      {list.isPending ? (
        <Loading what="time off" />
      ) : rows.length === 0 ? (
        <p>No time off{showPast ? '' : ' ahead'}.</p>
      ) : (
        <table className="table">
          <caption className="sr-only">Time off</caption>
          <thead>
            <tr>
              <th scope="col">Who</th>
              <th scope="col">From</th>
              <th scope="col">Until</th>
              <th scope="col">Reason</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.id}>
                <td>{who(t)}</td>
                <td>{when(t.start_time, zone)}</td>
                <td>
                  {t.end_time.slice(0, 10) === t.start_time.slice(0, 10)
                    ? timeOfDay(t.end_time, zone)
                    : when(t.end_time, zone)}
                </td>
                <td>{t.reason || '—'}</td>
                <td>
                  <div className="actions">
                    <button type="button" onClick={() => setEditing(t)}>
                      Change
                      <span className="sr-only"> time off from {when(t.start_time, zone)}</span>
                    </button>
                    <button type="button" onClick={() => void remove(t)}>
                      Remove
                      <span className="sr-only"> time off from {when(t.start_time, zone)}</span>
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <BlockTimeDialog
          date={todayIn(zone)}
          columns={columns}
          bounds={{ start: 0, end: 24 * 60 }}
          existing={editing === 'new' ? undefined : editing}
          onClose={() => setEditing(null)}
          onDone={(text) => {
            setEditing(null)
            setNote(text)
          }}
        />
      )}
    </section>
  )
}
