import { useEffect, useId, useRef } from 'react'
import type { InputHTMLAttributes, ReactNode } from 'react'
import { Problem } from './api/client'

/** An error said in words, announced to screen readers, next to what caused it. */
export function ErrorText({ error, id }: { error: unknown; id?: string }) {
  if (!error) return null
  const text =
    error instanceof Problem
      ? error.message
      : error instanceof Error
        ? error.message
        : String(error)
  return (
    <p className="error" role="alert" id={id}>
      {text}
    </p>
  )
}

/** A labelled input whose API error (400 per field) sits under it and describes it. */
export function Field({
  label,
  name,
  problem,
  hint,
  ...input
}: {
  label: string
  name: string
  problem?: unknown
  hint?: ReactNode
} & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId()
  const message = problem instanceof Problem ? problem.field(name) : ''
  const described = [hint ? `${id}-hint` : '', message ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ')
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <input
        id={id}
        name={name}
        aria-invalid={message ? true : undefined}
        aria-describedby={described || undefined}
        {...input}
      />
      {message && (
        <p className="error" id={`${id}-error`}>
          {message}
        </p>
      )}
    </div>
  )
}

/** A heading that takes focus when it appears, so each step is announced. */
export function StepHeading({ children, id }: { children: ReactNode; id?: string }) {
  const ref = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    ref.current?.focus()
  }, [])
  return (
    <h2 ref={ref} tabIndex={-1} id={id}>
      {children}
    </h2>
  )
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  )
}
