import { lazy, Suspense } from 'react'
import type { QueryClient } from '@tanstack/react-query'
import { useSuspenseQuery } from '@tanstack/react-query'
import {
  createRootRouteWithContext,
  createRoute,
  createRouter,
  Link,
  Outlet,
  useRouterState,
} from '@tanstack/react-router'
import { signOut, useSession } from './auth'
import { shopQuery } from './data'
import { ForgotPasswordPage, ResetPasswordPage, SignInPage } from './pages/Auth'
import { BookPage, validateBookSearch } from './pages/Book'
import { DonePage, MePage } from './pages/Me'
import { ErrorText, Loading } from './ui'

function Layout() {
  return (
    <Suspense fallback={<Loading what="the shop" />}>
      <Shell />
    </Suspense>
  )
}

function Shell() {
  const shop = useSuspenseQuery(shopQuery).data
  const { user } = useSession()
  // The shop's console (/console/) has a layout of its own, loaded with its chunk.
  const inConsole = useRouterState({ select: (s) => s.location.pathname.startsWith('/console') })
  if (inConsole) return <Outlet />
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand">
          {shop.name}
        </Link>
        <nav aria-label="Main">
          <Link to="/me">My bookings</Link>
          {user && (
            <button type="button" className="link" onClick={() => void signOut()}>
              Sign out
            </button>
          )}
        </nav>
      </header>
      <main id="main">
        <Outlet />
      </main>
      <footer className="bottom">
        <p>
          {shop.name}
          {shop.address && <> · {shop.address}</>}
          {shop.phone && (
            <>
              {' '}
              · <a href={`tel:${shop.phone.replace(/[^+\d]/g, '')}`}>{shop.phone}</a>
            </>
          )}
        </p>
      </footer>
    </>
  )
}

const rootRoute = createRootRouteWithContext<{ queryClient: QueryClient }>()({
  component: Layout,
  notFoundComponent: () => (
    <section>
      <h2>Page not found</h2>
      <p>
        <Link to="/">Book a visit</Link>
      </p>
    </section>
  ),
  errorComponent: ({ error }) => <ErrorText error={error} />,
})

const indexRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/',
  validateSearch: validateBookSearch,
  component: function Index() {
    return <BookPage search={indexRoute.useSearch()} />
  },
})

const bookRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/book',
  validateSearch: validateBookSearch,
  component: function Book() {
    return <BookPage search={bookRoute.useSearch()} />
  },
})

const bookedRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/booked/$id',
  component: function Booked() {
    const { id } = bookedRoute.useParams()
    const { user, ready } = useSession()
    if (!ready) return <Loading what="your booking" />
    if (!user) return <SignInPage next="/me" />
    return <DonePage id={Number(id)} />
  },
})

const meRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/me',
  component: MePage,
})

const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/signin',
  component: () => <SignInPage next="/me" />,
})

const forgotRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/forgot-password',
  component: ForgotPasswordPage,
})

const resetRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/reset-password',
  validateSearch: (s: Record<string, unknown>): { token?: string } => ({
    token: typeof s.token === 'string' && s.token ? s.token : undefined,
  }),
  component: function Reset() {
    return <ResetPasswordPage token={resetRoute.useSearch().token} />
  },
})

/** The shop's console: its own chunk, loaded only when /console/ is opened. */
const consoleRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/console/$',
  validateSearch: (s: Record<string, unknown>): Record<string, string | undefined> =>
    Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v == null ? undefined : String(v)])),
  component: lazy(() => import('./console/Console')),
})

const routeTree = rootRoute.addChildren([
  indexRoute,
  bookRoute,
  bookedRoute,
  meRoute,
  signInRoute,
  forgotRoute,
  resetRoute,
  consoleRoute,
])

export const router = createRouter({
  routeTree,
  context: { queryClient: undefined! },
  defaultPreload: 'intent',
})

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router
  }
}
