import { useSyncExternalStore } from 'react'
import { api, getAccessToken, ok, Problem, setAccessToken, toProblem } from './api/client'
import type { User } from './api/client'

/**
 * Browser sessions (API.md "Browser sessions"): the access token in memory, the refresh token
 * in an HttpOnly cookie the server sets in cookie mode. Refreshes are serialised across tabs
 * with a Web Lock and the new access token is shared with the other tabs over a
 * BroadcastChannel, so two tabs never spend the same refresh token.
 */
const LOCK = 'fade-district-refresh'
/** Says only that this browser has signed in (no token): worth trying a refresh on load. */
const FLAG = 'fade-district-signed-in'

interface State {
  user: User | null
  ready: boolean
}
let state: State = { user: null, ready: false }
const listeners = new Set<() => void>()
function set(next: Partial<State>): void {
  state = { ...state, ...next }
  for (const l of listeners) l()
}

type Message =
  | { type: 'token'; access: string }
  | { type: 'signed-in'; access: string; user: User }
  | { type: 'signed-out' }
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(LOCK) : null
channel?.addEventListener('message', (e: MessageEvent<Message>) => {
  const m = e.data
  if (m.type === 'token') setAccessToken(m.access)
  else if (m.type === 'signed-in') {
    setAccessToken(m.access)
    set({ user: m.user })
  } else {
    setAccessToken(null)
    set({ user: null })
  }
})

function post(path: string, body: unknown): Promise<Response> {
  return fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-auth-transport': 'cookie' },
    body: JSON.stringify(body),
  })
}

async function answer<T>(res: Promise<Response>): Promise<T> {
  let r: Response
  try {
    r = await res
  } catch {
    throw toProblem(0, null)
  }
  const text = await r.text()
  const body: unknown = text ? JSON.parse(text) : null
  if (!r.ok) throw toProblem(r.status, body)
  return body as T
}

function signedIn(access: string, user: User): void {
  setAccessToken(access)
  localStorage.setItem(FLAG, '1')
  set({ user, ready: true })
  channel?.postMessage({ type: 'signed-in', access, user } satisfies Message)
}

function signedOut(): void {
  setAccessToken(null)
  localStorage.removeItem(FLAG)
  set({ user: null, ready: true })
}

export async function signIn(username: string, password: string): Promise<User> {
  const r = await answer<{ access: string; user: User }>(
    post('/api/auth/login/', { username, password }),
  )
  signedIn(r.access, r.user)
  return r.user
}

export interface Registration {
  username: string
  email: string
  password: string
  first_name?: string
  last_name?: string
  phone?: string
}
export async function register(fields: Registration): Promise<User> {
  const r = await answer<{ access: string; user: User }>(post('/api/auth/register/', fields))
  signedIn(r.access, r.user)
  return r.user
}

let inFlight: Promise<boolean> | null = null

/** A new access token from the cookie; false when the session is over. */
export function refresh(): Promise<boolean> {
  inFlight ??= (async () => {
    const before = getAccessToken()
    const run = async (): Promise<boolean> => {
      // Another tab refreshed while this one waited for the lock: its token is ours too.
      if (getAccessToken() && getAccessToken() !== before) return true
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const r = await answer<{ access: string }>(post('/api/auth/refresh/', {}))
          setAccessToken(r.access)
          channel?.postMessage({ type: 'token', access: r.access } satisfies Message)
          return true
        } catch (e) {
          // Spent a moment ago by another tab: the cookie now holds the newer token.
          if (e instanceof Problem && e.code === 'token_rotated') continue
          if (e instanceof Problem && e.status === 0) throw e
          return false
        }
      }
      return false
    }
    try {
      const done = navigator.locks ? await navigator.locks.request(LOCK, run) : await run()
      if (!done) signedOut()
      return done
    } finally {
      inFlight = null
    }
  })()
  return inFlight
}

/** On load: a browser that signed in before gets its session back from the cookie. */
export async function restore(): Promise<void> {
  if (!localStorage.getItem(FLAG)) {
    set({ ready: true })
    return
  }
  try {
    if (await refresh()) {
      const { data } = await call(() => api.GET('/api/auth/me/'))
      set({ user: data, ready: true })
      return
    }
  } catch {
    // Offline: stay signed out for now; the next call tries again.
  }
  set({ ready: true })
}

export async function signOut(): Promise<void> {
  try {
    await post('/api/auth/logout/', {})
  } finally {
    signedOut()
    channel?.postMessage({ type: 'signed-out' } satisfies Message)
  }
}

export function setUser(user: User): void {
  set({ user })
}

/** An API call with the access token, refreshed once when it has expired. */
export async function call<T>(
  fn: () => Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<{ data: T; response: Response }> {
  try {
    return await ok(fn())
  } catch (e) {
    if (e instanceof Problem && e.status === 401 && state.user && (await refresh())) return ok(fn())
    throw e
  }
}

export function useSession(): State {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    () => state,
  )
}
