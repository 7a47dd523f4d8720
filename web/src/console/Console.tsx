import { Suspense, useEffect, useRef, useState } from 'react'
import type { FormEvent, ReactNode } from 'react'
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router'
import { signIn, signOut, useSession } from '../auth'
import { useShop } from '../data'
import { ErrorText, Field, Loading } from '../ui'
import { DayView } from './DayView'
// Linked rather than imported: the booking page's chunk then needs no CSS preloading helper.
import cssHref from './console.css?url'

/*
 * The shop's console (/console/…): its own chunk and its own small route table under the
 * /console/$ splat, so the booking page's bundle does not grow.
 */

import Reservations from './Reservations'
import Customers from './Customers'
import Barbers from './Barbers'
import Services from './Services'
import TimeOffPage from './TimeOff'
import Emails from './Emails'
import Dashboard from './Dashboard'

export type Search = Record<string, string | undefined>

interface Screen {
  path: string
  label: string
  admin?: boolean
  render: (rest: string, search: Search) => ReactNode
}

const SCREENS: Screen[] = [
  { path: '', label: 'Day', render: (_, s) => <DayView search={s} /> },
  { path: 'reservations', label: 'Reservations', render: (_, s) => <Reservations search={s} /> },
  { path: 'customers', label: 'Customers', render: (rest) => <Customers id={rest} /> },
  { path: 'barbers', label: 'Barbers', render: () => <Barbers /> },
  { path: 'services', label: 'Services', admin: true, render: () => <Services /> },
  { path: 'time-off', label: 'Time off', render: () => <TimeOffPage /> },
  { path: 'emails', label: 'Failed emails', admin: true, render: () => <Emails /> },
  { path: 'dashboard', label: 'Dashboard', render: (_, s) => <Dashboard search={s} /> },
]

/** Moves within the console: `go('reservations', {status: 'pending'})`. */
export function useGo() {
  const navigate = useNavigate()
  return (path: string, search: Search = {}, replace = false) =>
    void navigate({ to: '/console/$', params: { _splat: path }, search, replace })
}

export function ConsoleLink({
  to,
  search,
  children,
  className,
}: {
  to: string
  search?: Search
  children: ReactNode
  className?: string
}) {
  return (
    <Link
      to="/console/$"
      params={{ _splat: to }}
      search={search ?? {}}
      className={className}
      activeOptions={{ exact: true, includeSearch: false }}
    >
      {children}
    </Link>
  )
}

export default function ConsolePage() {
  const { user, ready } = useSession()
  const shop = useShop()
  const splat = useParams({ from: '/console/$' })._splat ?? ''
  const search = useSearch({ from: '/console/$' })
  const [first = '', ...restParts] = splat.split('/').filter(Boolean)
  const rest = restParts.join('/')

  useEffect(() => {
    document.title = `Console · ${shop.name}`
  }, [shop.name])

  if (!ready) return <Loading what="the console" />
  if (!user) return <StaffSignIn shopName={shop.name} />
  if (!user.is_admin && !user.is_staff_member) return <NotForCustomers shopName={shop.name} />

  const screens = SCREENS.filter((s) => !s.admin || user.is_admin)
  const screen = screens.find((s) => s.path === first)
  return (
    <div className="console">
      <link rel="stylesheet" href={cssHref} precedence="console" />
      <a className="skip" href="#console-main">
        Skip to content
      </a>
      <header className="console-top">
        <span className="brand">{shop.name} · Console</span>
        <nav aria-label="Console">
          <ul>
            {screens.map((s) => (
              <li key={s.path}>
                <ConsoleLink to={s.path}>{s.label}</ConsoleLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span>
            {`${user.first_name} ${user.last_name}`.trim() || user.username}
            {user.is_admin ? ' (admin)' : ' (barber)'}
          </span>
          <button type="button" className="link" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="console-main" className="console-main">
        <Suspense fallback={<Loading what="the screen" />}>
          {screen ? (
            screen.render(rest, search)
          ) : (
            <section>
              <h1>Not found</h1>
              <p>
                <ConsoleLink to="">Back to the day</ConsoleLink>
              </p>
            </section>
          )}
        </Suspense>
      </main>
    </div>
  )
}

function StaffSignIn({ shopName }: { shopName: string }) {
  const [problem, setProblem] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => heading.current?.focus(), [])
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault()
    const f = new FormData(e.currentTarget)
    setBusy(true)
    setProblem(null)
    try {
      await signIn(String(f.get('username')), String(f.get('password')))
    } catch (err) {
      setProblem(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <main className="console-signin" id="console-main">
      <h1 ref={heading} tabIndex={-1}>
        {shopName} · Console
      </h1>
      <p>For the shop&apos;s barbers and owner. Sign in with your staff account.</p>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Field
          label="Username or email"
          name="username"
          autoComplete="username"
          required
          problem={problem}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          problem={problem}
        />
        <ErrorText error={problem} />
        <button type="submit" className="primary" disabled={busy}>
          Sign in
        </button>
      </form>
      <p>
        <a href="/forgot-password">Forgot your password?</a> · <a href="/">Book a visit instead</a>
      </p>
    </main>
  )
}

function NotForCustomers({ shopName }: { shopName: string }) {
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => heading.current?.focus(), [])
  return (
    <main className="console-signin" id="console-main">
      <h1 ref={heading} tabIndex={-1}>
        This is the shop&apos;s console
      </h1>
      <p>
        It is for the barbers and the owner of {shopName}. Your bookings are on the booking page.
      </p>
      <p>
        <a className="button primary-link" href="/">
          Go to the booking page
        </a>
      </p>
      <button type="button" className="link" onClick={() => void signOut()}>
        Sign in as someone else
      </button>
    </main>
  )
}
