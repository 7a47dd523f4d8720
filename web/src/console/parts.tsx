import { useEffect, useId, useRef } from 'react'
import type { ReactNode, SelectHTMLAttributes } from 'react'
import { Problem } from '../api/client'
import { STATUS_LABEL } from './data'

/** A modal dialog (the platform's <dialog>: focus kept inside, Escape closes, focus returns). */
export function Modal({
  title,
  onClose,
  children,
  wide,
}: {
  title: string
  onClose: () => void
  children: ReactNode
  wide?: boolean
}) {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  const close = useRef(onClose)
  close.current = onClose
  useEffect(() => {
    const d = ref.current
    if (!d) return
    const opener = document.activeElement as HTMLElement | null
    if (!d.open) d.showModal()
    const onCloseEvent = () => close.current()
    d.addEventListener('close', onCloseEvent)
    return () => {
      d.removeEventListener('close', onCloseEvent)
      if (d.open) d.close()
      if (opener?.isConnected) opener.focus()
    }
  }, [])
  return (
    <dialog ref={ref} aria-labelledby={titleId} className={wide ? 'modal wide' : 'modal'}>
      <div className="modal-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="close" onClick={() => ref.current?.close()}>
          Close
        </button>
      </div>
      {children}
    </dialog>
  )
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge st-${status}`}>{STATUS_LABEL[status] ?? status}</span>
}

export function Legend() {
  return (
    <ul className="legend" aria-label="Legend">
      {['pending', 'confirmed', 'completed', 'no_show', 'cancelled'].map((s) => (
        <li key={s}>
          <span className={`swatch st-${s}`} aria-hidden="true" />
          {STATUS_LABEL[s]}
        </li>
      ))}
      <li>
        <span className="swatch tail" aria-hidden="true" />
        Clean-up buffer
      </li>
      <li>
        <span className="swatch blocked" aria-hidden="true" />
        Closed or time off
      </li>
    </ul>
  )
}

/** A labelled select whose API error (400 per field) sits under it. */
export function SelectField({
  label,
  name,
  problem,
  children,
  ...select
}: {
  label: string
  name: string
  problem?: unknown
  children: ReactNode
} & SelectHTMLAttributes<HTMLSelectElement>) {
  const id = useId()
  const message = problem instanceof Problem ? problem.field(name) : ''
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        name={name}
        aria-invalid={message ? true : undefined}
        aria-describedby={message ? `${id}-error` : undefined}
        {...select}
      >
        {children}
      </select>
      {message && (
        <p className="error" id={`${id}-error`}>
          {message}
        </p>
      )}
    </div>
  )
}

/** The general part of an API refusal in words (field messages sit next to their fields). */
export function refusal(error: unknown): string | null {
  if (!error) return null
  if (!(error instanceof Problem)) return error instanceof Error ? error.message : String(error)
  if (error.status === 409)
    return `${error.message} That time overlaps another booking or time off for this barber. Pick another time or barber.`
  if (error.status === 412)
    return 'Someone else changed this booking in the meantime. It has been reloaded: check it and try again.'
  const fields = Object.entries(error.fields)
    .filter(([k]) => k !== 'non_field_errors')
    .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${v.join(' ')}`)
  return fields.length && error.message === 'Please correct the marked fields.'
    ? `Please correct: ${fields.join('; ')}`
    : error.message
}

export function Refusal({ error }: { error: unknown }) {
  const text = refusal(error)
  if (!text) return null
  return (
    <p className="error" role="alert">
      {text}
    </p>
  )
}

/** Previous / next page buttons under a paged table (the API's ?page=, from 1). */
export function Pager({
  page,
  pages,
  onPage,
}: {
  page: number
  pages: number
  onPage: (page: number) => void
}) {
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous page
      </button>
      <span>
        Page {page} of {pages}
      </span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next page
      </button>
    </nav>
  )
}
