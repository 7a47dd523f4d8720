import { useState } from 'react'
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query'
import { useShop } from '../data'
import { when } from '../lib/time'
import { ErrorText, Loading } from '../ui'
import { raw } from './data'
import type { Notification } from './data'
import { Pager, Refusal } from './parts'

const KIND: Record<string, string> = {}

/** Payloads carry ids (the sender reloads fresh state): the booking or the person it is about. */
function about(n: Notification): string {
  const p = n.payload
  if (typeof p.reservationId === 'number') return `Booking #${p.reservationId}`
  if (typeof p.userId === 'number') return `Account #${p.userId}`
  return '—'
}

export default function Emails() {
  const shop = useShop()
  const qc = useQueryClient()
  const [status, setStatus] = useState('failed')
  const [page, setPage] = useState(1)
  const [note, setNote] = useState('')
  const [problem, setProblem] = useState<unknown>(null)
  const list = useQuery({
    queryKey: ['console', 'notifications', status, page],
    queryFn: async () =>
      (
        await raw<{ count: number; results: Notification[] }>(
          'GET',
          `/api/notifications/?${new URLSearchParams({
            ...(status ? { status } : {}),
            page: String(page),
            page_size: '25',
          })}`,
        )
      ).data,
    placeholderData: keepPreviousData,
  })

  async function retry(n: Notification) {
    setProblem(null)
    setNote('')
    try {
      await raw('POST', `/api/notifications/${n.id}/retry/`, {})
      await qc.invalidateQueries({ queryKey: ['console', 'notifications'] })
      setNote(`Email #${n.id} is being sent again.`)
    } catch (e) {
      setProblem(e)
    }
  }

  const pages = Math.max(1, Math.ceil((list.data?.count ?? 0) / 25))
  return (
    <section aria-labelledby="mail-title">
      <h1 id="mail-title">Emails</h1>
      <div className="toolbar" role="group" aria-label="Show">
        {[
          ['failed', 'Failed'],
          ['pending', 'Waiting'],
          ['', 'All'],
        ].map(([v, label]) => (
          <button
            key={v}
            type="button"
            aria-pressed={status === v}
            onClick={() => {
              setStatus(v!)
              setPage(1)
            }}
          >
            {label}
          </button>
        ))}
      </div>
      <div className="live" role="status">
        {note}
      </div>
      <Refusal error={problem} />
      {list.error && <ErrorText error={list.error} />}
      {list.isPending ? (
        <Loading what="emails" />
      ) : (list.data?.results ?? []).length === 0 ? (
        <p>{status === 'failed' ? 'No email has failed.' : 'None.'}</p>
      ) : (
        <>
          <table className="table">
            <caption className="sr-only">Emails</caption>
            <thead>
              <tr>
                <th scope="col">Made</th>
                <th scope="col">Kind</th>
                <th scope="col">About</th>
                <th scope="col">State</th>
                <th scope="col">Error</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {(list.data?.results ?? []).map((n) => (
                <tr key={n.id}>
                  <td>{when(n.created_at, shop.timezone)}</td>
                  <td>{KIND[n.kind] ?? n.kind.replace(/_/g, ' ')}</td>
                  <td>{about(n)}</td>
                  <td>
                    {n.status} ({n.attempts} attempt{n.attempts === 1 ? '' : 's'})
                  </td>
                  <td>{n.last_error || '—'}</td>
                  <td>
                    {n.status === 'failed' || n.status === 'pending' ? (
                      <button type="button" onClick={() => void retry(n)}>
                        Retry<span className="sr-only"> email #{n.id}</span>
                      </button>
                    ) : (
                      '—'
                    )}
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
