import { useState } from 'react'
import type { FormEvent } from 'react'
import { Link, useNavigate } from '@tanstack/react-router'
import { Problem, toProblem } from '../api/client'
import { register, signIn } from '../auth'
import { ErrorText, Field, StepHeading } from '../ui'

/** Sign in or create an account, inline wherever the flow needs it. */
export function AuthPanel({ onDone }: { onDone?: () => void }) {
  const [mode, setMode] = useState<'signin' | 'register'>('signin')
  return (
    <div className="auth">
      <div className="tabs" role="group" aria-label="Account">
        <button type="button" aria-pressed={mode === 'signin'} onClick={() => setMode('signin')}>
          I have an account
        </button>
        <button
          type="button"
          aria-pressed={mode === 'register'}
          onClick={() => setMode('register')}
        >
          I&apos;m new here
        </button>
      </div>
      {mode === 'signin' ? <SignInForm onDone={onDone} /> : <RegisterForm onDone={onDone} />}
    </div>
  )
}

function SignInForm({ onDone }: { onDone?: () => void }) {
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    const f = new FormData(e.currentTarget)
    setBusy(true)
    setError(null)
    try {
      await signIn(String(f.get('username')), String(f.get('password')))
      onDone?.()
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form onSubmit={(e) => void submit(e)} aria-label="Sign in" noValidate>
      <Field
        label="Email or username"
        name="username"
        autoComplete="username"
        required
        problem={error}
      />
      <Field
        label="Password"
        name="password"
        type="password"
        autoComplete="current-password"
        required
        problem={error}
      />
      <ErrorText error={error} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
    </form>
  )
}

function RegisterForm({ onDone }: { onDone?: () => void }) {
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    const f = new FormData(e.currentTarget)
    const email = String(f.get('email')).trim()
    setBusy(true)
    setError(null)
    try {
      await register({
        username: email,
        email,
        password: String(f.get('password')),
        first_name: String(f.get('first_name')).trim(),
        last_name: String(f.get('last_name')).trim(),
        phone: String(f.get('phone')).trim(),
      })
      onDone?.()
    } catch (err) {
      // The email is the username here: say its problems under the email.
      const p = err as ReturnType<typeof toProblem>
      if (p.fields?.username && !p.fields.email) p.fields.email = p.fields.username
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form onSubmit={(e) => void submit(e)} aria-label="Create an account" noValidate>
      <Field label="First name" name="first_name" autoComplete="given-name" problem={error} />
      <Field label="Last name" name="last_name" autoComplete="family-name" problem={error} />
      <Field
        label="Email"
        name="email"
        type="email"
        autoComplete="email"
        required
        problem={error}
      />
      <Field
        label="Phone (optional)"
        name="phone"
        type="tel"
        autoComplete="tel"
        problem={error}
        hint="So the shop can reach you if something changes."
      />
      <Field
        label="Password"
        name="password"
        type="password"
        autoComplete="new-password"
        required
        problem={error}
        hint="At least 8 characters, not all digits, not a common password."
      />
      <ErrorText error={error} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Creating your account…' : 'Create account'}
      </button>
    </form>
  )
}

export function SignInPage({ next }: { next?: string }) {
  const navigate = useNavigate()
  return (
    <section aria-labelledby="signin">
      <StepHeading id="signin">Sign in</StepHeading>
      <AuthPanel onDone={() => void navigate({ to: next === '/me' || !next ? '/me' : '/' })} />
    </section>
  )
}

async function postJson(path: string, body: unknown): Promise<void> {
  let r: Response
  try {
    r = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  } catch {
    throw toProblem(0, null)
  }
  if (!r.ok) throw toProblem(r.status, await r.json().catch(() => null))
}

export function ForgotPasswordPage() {
  const [sent, setSent] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    setError(null)
    try {
      await postJson('/api/auth/password/reset/', {
        email: String(new FormData(e.currentTarget).get('email')).trim(),
      })
      setSent(true)
    } catch (err) {
      setError(err)
    }
  }
  return (
    <section aria-labelledby="forgot">
      <StepHeading id="forgot">Reset your password</StepHeading>
      {sent ? (
        <p role="status">
          If an account has that address, we have sent it a link to set a new password. The link
          works for one hour.
        </p>
      ) : (
        <form onSubmit={(e) => void submit(e)} noValidate aria-label="Reset your password">
          <Field
            label="Email"
            name="email"
            type="email"
            autoComplete="email"
            required
            problem={error}
          />
          <ErrorText error={error} />
          <button type="submit" className="primary">
            Send me a link
          </button>
        </form>
      )}
    </section>
  )
}

export function ResetPasswordPage({ token }: { token?: string }) {
  const [done, setDone] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    setError(null)
    try {
      await postJson('/api/auth/password/reset/confirm/', {
        token,
        password: String(new FormData(e.currentTarget).get('password')),
      })
      setDone(true)
    } catch (err) {
      setError(err)
    }
  }
  if (!token)
    return (
      <section aria-labelledby="reset">
        <StepHeading id="reset">Set a new password</StepHeading>
        <p>
          This link is incomplete. <Link to="/forgot-password">Ask for a new one</Link>.
        </p>
      </section>
    )
  return (
    <section aria-labelledby="reset">
      <StepHeading id="reset">Set a new password</StepHeading>
      {done ? (
        <p role="status">
          Your password is changed and you were signed out everywhere.{' '}
          <Link to="/signin">Sign in with the new password</Link>.
        </p>
      ) : (
        <form onSubmit={(e) => void submit(e)} noValidate aria-label="Set a new password">
          <Field
            label="New password"
            name="password"
            type="password"
            autoComplete="new-password"
            required
            problem={error}
            hint="At least 8 characters, not all digits, not a common password."
          />
          {error instanceof Problem && error.field('token') && (
            <p className="error" role="alert">
              {error.field('token')} <Link to="/forgot-password">Ask for a new link</Link>.
            </p>
          )}
          <ErrorText error={error} />
          <button type="submit" className="primary">
            Save the new password
          </button>
        </form>
      )}
    </section>
  )
}
