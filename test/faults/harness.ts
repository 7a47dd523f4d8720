/**
 * The fault suite's toolbox: real child processes (API, worker, redis-server), a real SMTP
 * server and a TCP proxy in this process, and the checks every scenario ends with.
 * Everything started here is registered and killed by `killAll()`, even when a test fails.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { SMTPServer } from 'smtp-server'
import { afterAll, afterEach } from 'vitest'
import type { DatabaseConfig, DbEngine } from '../../src/config.js'
import { createDatabase } from '../../src/db/database.js'
import type { DatabaseHandle, Db } from '../../src/db/database.js'
import { createTestDatabase, MYSQL_URL, POSTGRES_URL, serverProblem } from '../helpers.js'
import type { TestDatabase } from '../helpers.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const ADMIN = { username: 'admin', email: 'a@x.io', password: 'Fade-Admin-Pass-2026!' }
export const PASSWORD = 'Corr3ct-Horse-Battery'
export const ADMIN_EMAIL = 'owner@fade.test'

/** The first `n` entries and how many more: keeps a failure message readable. */
export function sample(list: string[], n = 15): string[] {
  return list.length <= n ? list : [...list.slice(0, n), `… and ${list.length - n} more`]
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/* ------------------------------------------------------------------ gating */

export type Need = DbEngine | 'redis-server'

/**
 * null when every service the scenario needs is there; otherwise the reason, printed.
 * In CI a missing service fails the run instead (like test/helpers.ts dialects()).
 */
export async function gate(scenario: string, needs: Need[]): Promise<string | null> {
  for (const need of needs) {
    let problem: string | null = null
    if (need === 'redis-server') {
      const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
      if (r.error || r.status !== 0)
        problem = `redis-server binary not runnable: ${r.error?.message ?? r.stderr}`
    } else if (need !== 'sqlite') {
      problem = await serverProblem(need)
    }
    if (problem) {
      if (process.env.CI)
        throw new Error(`${scenario}: ${problem} (CI must run every fault scenario)`)
      process.stderr.write(`SKIPPING fault scenario "${scenario}": ${problem}\n`)
      return problem
    }
  }
  return null
}

/** The database scenarios 1–3 run on: FAULT_DB (sqlite | mysql | mariadb | postgres), default postgres. */
export function faultEngine(): DbEngine {
  const v = (process.env.FAULT_DB ?? 'postgres').trim()
  if (v === 'mariadb' || v === 'mysql') return 'mysql'
  if (v === 'sqlite' || v === 'postgres') return v
  throw new Error(`FAULT_DB: unknown database "${v}"`)
}

/* --------------------------------------------------------------- processes */

export interface Child {
  name: string
  proc: ChildProcess
  lines: string[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  alive(): boolean
  waitForLine(re: RegExp, timeoutMs: number): Promise<string>
}

const children = new Set<Child>()
// Last resort if the test process itself goes down: no child outlives it.
process.once('exit', () => {
  for (const c of children) if (c.alive()) c.proc.kill('SIGKILL')
})
const MAX_LINES = 20_000

export function spawnChild(
  name: string,
  args: string[],
  env: Record<string, string>,
  cmd = process.execPath,
): Child {
  const proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  const waiters = new Set<(line: string) => void>()
  let done = false
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      done = true
      resolve({ code, signal })
    })
    proc.once('error', (err) => {
      lines.push(`[spawn error] ${err.message}`)
      done = true
      resolve({ code: null, signal: null })
    })
  })
  for (const stream of [proc.stdout, proc.stderr]) {
    if (!stream) continue
    createInterface({ input: stream }).on('line', (line) => {
      if (lines.length < MAX_LINES) lines.push(line)
      for (const w of waiters) w(line)
    })
  }
  const child: Child = {
    name,
    proc,
    lines,
    exited,
    alive: () => !done,
    waitForLine(re, timeoutMs) {
      const seen = lines.find((l) => re.test(l))
      if (seen) return Promise.resolve(seen)
      return new Promise<string>((resolve, reject) => {
        const finish = (err: Error | null, line = '') => {
          clearTimeout(timer)
          waiters.delete(onLine)
          if (err) reject(err)
          else resolve(line)
        }
        const onLine = (line: string) => {
          if (re.test(line)) finish(null, line)
        }
        const timer = setTimeout(
          () =>
            finish(
              new Error(
                `${name}: no line matching ${re} within ${timeoutMs} ms\n${tail(child, 30)}`,
              ),
            ),
          timeoutMs,
        )
        waiters.add(onLine)
        void exited.then(({ code, signal }) => {
          if (waiters.has(onLine))
            finish(new Error(`${name} exited (${code ?? signal}) before ${re}\n${tail(child, 30)}`))
        })
      })
    },
  }
  children.add(child)
  return child
}

export function tail(child: Child, n: number): string {
  return child.lines
    .slice(-n)
    .map((l) => `  [${child.name}] ${l}`)
    .join('\n')
}

/** Prints the end of every child's output (called after a failed test). */
export function dumpLogs(n = 60): void {
  for (const child of children)
    process.stderr.write(`--- ${child.name} (last ${n} lines) ---\n${tail(child, n)}\n`)
}

/** SIGKILLs every child still running and forgets them all. */
export async function killAll(): Promise<void> {
  const all = [...children]
  children.clear()
  await Promise.all(
    all.map(async (c) => {
      if (c.alive()) c.proc.kill('SIGKILL')
      await Promise.race([c.exited, sleep(5000)])
    }),
  )
}

/**
 * The lifecycle every scenario shares, registered in the calling describe block: the child
 * processes are killed after each test (their logs printed first when it failed), and what
 * was handed to `defer` is undone, last first, when the block ends.
 */
export function faultLifecycle(logLines = 60): { defer: (undo: () => Promise<void>) => void } {
  const undo: (() => Promise<void>)[] = []
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') dumpLogs(logLines)
    await killAll()
  })
  afterAll(async () => {
    await killAll()
    for (const u of undo.reverse()) await u().catch(() => undefined)
  })
  return { defer: (u) => undo.push(u) }
}

export interface FaultFixture {
  mail: MailServer
  testDb: TestDatabase
  /** DATABASE_URL of the test database. */
  url: string
  /** A connection of the test's own, for the checks. */
  db: DatabaseHandle
}

/** What every scenario starts from: an SMTP server, a fresh database with its admin. */
export async function faultFixture(
  engine: DbEngine,
  defer: (undo: () => Promise<void>) => void,
): Promise<FaultFixture> {
  const mail = new MailServer()
  await mail.start()
  defer(() => mail.stop())
  const testDb = await createTestDatabase(engine)
  defer(() => testDb.drop())
  const db = openDb(testDb.config)
  defer(() => db.close())
  const url = databaseUrl(testDb.config)
  await createSuperuser(url)
  return { mail, testDb, url, db }
}

/**
 * A port nothing listens on, taken below the kernel's ephemeral range (32768–60999 here):
 * a port the kernel hands out for `listen(0)` is also one it hands to the next outgoing
 * connection of any test running beside this one, and a child told to listen on it a moment
 * later then fails with EADDRINUSE. Random within 20000–32767, checked by listening on it.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768)
    const srv = net.createServer()
    const ok = await new Promise<boolean>((resolve) => {
      srv.once('error', () => resolve(false))
      srv.listen(port, '127.0.0.1', () => resolve(true))
    })
    if (ok) {
      await new Promise<void>((resolve) => srv.close(() => resolve()))
      return port
    }
    if (attempt > 50) throw new Error('no free port in 20000–32767')
  }
}

/** The environment every API/worker child gets: nothing inherited but PATH and HOME. */
export function baseEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    DEBUG: 'true',
    SECRET_KEY: 'fault-suite-secret-key-0123456789abcdef-xyz',
    HOST: '127.0.0.1',
    OPENING_HOURS: 'mon-sun 00:00-24:00',
    LOG_LEVEL: 'warn',
    STATUS_SWEEP_SECONDS: '600',
    REGISTER_PER_HOUR: '100000',
    // The load books many slots for few customers.
    MAX_ACTIVE_BOOKINGS: '10000',
    ADMIN_EMAIL,
    // Set (empty = unset) so that a developer's .env cannot change the mode under test.
    REDIS_URL: '',
    NODE_ENV: '',
    AUTO_CONFIRM: 'false',
    SHOP_TIMEZONE: 'UTC',
    BOOKING_HORIZON_DAYS: '90',
    EMAIL_HOST_USER: '',
    EMAIL_HOST_PASSWORD: '',
    EMAIL_BACKEND: 'smtp',
    EMAIL_HOST: '127.0.0.1',
    EMAIL_USE_TLS: 'false',
    // The default is the cores available: bounded so a many-core CI box starts few processes.
    WEB_CONCURRENCY: '2',
    ...extra,
  }
}

const TSX = ['--import', 'tsx']

export async function createSuperuser(databaseUrl: string): Promise<void> {
  const child = spawnChild(
    'createsuperuser',
    [
      ...TSX,
      'src/cli/createsuperuser.ts',
      '--no-input',
      '--username',
      ADMIN.username,
      '--email',
      ADMIN.email,
    ],
    baseEnv({ DATABASE_URL: databaseUrl, SUPERUSER_PASSWORD: ADMIN.password }),
  )
  const { code } = await child.exited
  if (code !== 0) throw new Error(`createsuperuser exited ${code}\n${tail(child, 30)}`)
}

export interface ApiProcess {
  child: Child
  base: string
  port: number
}

/** `node --import tsx src/main.ts` on a free port; resolves once /health/ answers. */
export async function startApi(env: Record<string, string>, name = 'api'): Promise<ApiProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startApiOnce(env, name)
    } catch (error) {
      // Another test's server took the port between the check and the child's listen.
      if (attempt < 3 && error instanceof PortTaken) continue
      throw error
    }
  }
}

class PortTaken extends Error {}

async function startApiOnce(env: Record<string, string>, name: string): Promise<ApiProcess> {
  const port = await freePort()
  const child = spawnChild(name, [...TSX, 'src/main.ts'], baseEnv({ ...env, PORT: String(port) }))
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 40_000
  for (;;) {
    if (!child.alive()) {
      const message = `${name} exited before it was ready\n${tail(child, 40)}`
      if (child.lines.some((l) => l.includes(`EADDRINUSE 127.0.0.1:${port}`))) {
        throw new PortTaken(message)
      }
      throw new Error(message)
    }
    try {
      const r = await fetch(`${base}/health/`, { signal: AbortSignal.timeout(1000) })
      if (r.ok) return { child, base, port }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} not ready within 40 s\n${tail(child, 40)}`)
    await sleep(100)
  }
}

/** `node --import tsx src/worker.ts`; resolves once it logs that it started. */
export async function startWorker(env: Record<string, string>, name = 'worker'): Promise<Child> {
  const child = spawnChild(name, [...TSX, 'src/worker.ts'], baseEnv({ ...env, LOG_LEVEL: 'info' }))
  await child.waitForLine(/"msg":"worker started"/, 40_000)
  return child
}

/* ------------------------------------------------------------------- redis */

/** A private redis-server on its own port, with nothing on disk: kill it and its data is gone. */
export class RedisServer {
  child: Child | undefined
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    this.child = spawnChild(
      `redis:${this.port}`,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      'redis-server',
    )
    const deadline = Date.now() + 10_000
    while (!(await redisPing(this.port))) {
      if (!this.child.alive()) throw new Error(`redis-server exited\n${tail(this.child, 20)}`)
      if (Date.now() > deadline)
        throw new Error(`redis-server on ${this.port} not answering\n${tail(this.child, 20)}`)
      await sleep(50)
    }
  }

  /** A crash: SIGKILL, no goodbye to clients. */
  async kill(): Promise<void> {
    const c = this.child
    if (!c) return
    c.proc.kill('SIGKILL')
    await c.exited
    this.child = undefined
  }
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    let buf = ''
    const done = (ok: boolean) => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(500, () => done(false))
    s.on('error', () => done(false))
    s.on('connect', () => s.write('PING\r\n'))
    s.on('data', (d) => {
      buf += d.toString()
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'))
    })
  })
}

/* -------------------------------------------------------------------- smtp */

export type Verdict = 'accept' | 'refuse' | 'hang'

export interface Attempt {
  messageId: string
  at: number
  verdict: Verdict
}

/**
 * A real SMTP server on loopback. `decide` says per message what happens at the end of
 * DATA: accept (250), refuse (451, a temporary failure) or hang (never answer). Messages
 * are told apart by their Message-ID header; `accepted` counts how often each got a 250.
 */
export class MailServer {
  port = 0
  readonly accepted = new Map<string, number>()
  readonly attempts: Attempt[] = []
  decide: (messageId: string) => Verdict = () => 'accept'
  #server: SMTPServer | undefined

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      closeTimeout: 200,
      onData: (stream, _session, callback) => {
        const chunks: Buffer[] = []
        stream.on('data', (c: Buffer) => chunks.push(c))
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8')
          const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? ''
          const messageId = /^message-id:\s*(<[^>\r\n]+>)/im.exec(head)?.[1] ?? '(none)'
          const verdict = this.decide(messageId)
          this.attempts.push({ messageId, at: Date.now(), verdict })
          if (verdict === 'accept') {
            this.accepted.set(messageId, (this.accepted.get(messageId) ?? 0) + 1)
            callback()
          } else if (verdict === 'refuse') {
            callback(
              Object.assign(new Error('Mailbox busy, try again later'), { responseCode: 451 }),
            )
          }
          // 'hang': never answer; the client is left waiting for the 250.
        })
      },
    })
    server.on('error', () => undefined)
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.port = (server.server.address() as AddressInfo).port
    this.#server = server
  }

  /** Stops listening (new connections are refused) and drops open sessions. */
  async stop(): Promise<void> {
    const server = this.#server
    if (!server) return
    this.#server = undefined
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  count(messageId: string): number {
    return this.accepted.get(messageId) ?? 0
  }

  attemptsFor(messageId: string): Attempt[] {
    return this.attempts.filter((a) => a.messageId === messageId)
  }
}

export const messageIdOf = (outboxId: number) => `<outbox-${outboxId}@fade-district>`

/* ------------------------------------------------------------------- proxy */

/**
 * A TCP proxy in front of the database. `cut()` drops every proxied connection and stops
 * listening (new connections are refused), as a database restart does; `resume()` listens
 * again on the same port.
 */
export class TcpProxy {
  port = 0
  #server: net.Server | undefined
  readonly #sockets = new Set<net.Socket>()

  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost)
      this.#sockets.add(client)
      this.#sockets.add(upstream)
      const drop = () => {
        client.destroy()
        upstream.destroy()
        this.#sockets.delete(client)
        this.#sockets.delete(upstream)
      }
      client.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
      client.pipe(upstream)
      upstream.pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as AddressInfo).port
    this.#server = server
  }

  async cut(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    const closed = server
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : Promise.resolve()
    for (const s of this.#sockets) s.destroy()
    this.#sockets.clear()
    await closed
  }

  async resume(): Promise<void> {
    await this.start()
  }

  async close(): Promise<void> {
    await this.cut()
  }
}

/** Where the test database server listens (for the proxy's target). */
export function serverAddress(engine: 'mysql' | 'postgres'): { host: string; port: number } {
  const u = new URL(engine === 'mysql' ? MYSQL_URL : POSTGRES_URL)
  return { host: u.hostname, port: Number(u.port || (engine === 'mysql' ? 3306 : 5432)) }
}

export function viaProxy(url: string, port: number): string {
  const u = new URL(url)
  u.hostname = '127.0.0.1'
  u.port = String(port)
  return u.toString()
}

/** DATABASE_URL for a test database config. */
export function databaseUrl(config: DatabaseConfig): string {
  return config.engine === 'sqlite' ? `sqlite:${config.url}` : config.url
}

/* -------------------------------------------------------------------- http */

export interface HttpResult {
  method: string
  path: string
  reqId: string
  startedAt: number
  endedAt: number
  status: number
  headers: Record<string, string>
  text: string
  body: unknown
  /** Set when no HTTP answer came (refused, reset, timeout). */
  error?: string
}

let reqCounter = 0

/** One request; never throws: a missing answer is recorded in `error`. */
export async function http(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; timeoutMs?: number; reqId?: string } = {},
): Promise<HttpResult> {
  const reqId = opts.reqId ?? `f${process.pid}-${++reqCounter}`
  const headers: Record<string, string> = { 'x-request-id': reqId }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  const startedAt = Date.now()
  const result: HttpResult = {
    method,
    path,
    reqId,
    startedAt,
    endedAt: 0,
    status: 0,
    headers: {},
    text: '',
    body: undefined,
  }
  try {
    const r = await fetch(base + path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 20_000),
    })
    result.status = r.status
    r.headers.forEach((v, k) => (result.headers[k] = v))
    result.text = await r.text()
    try {
      result.body = JSON.parse(result.text) as unknown
    } catch {
      result.body = undefined
    }
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } }
    result.error = e.cause?.code ?? e.cause?.message ?? e.name + ': ' + e.message
  }
  result.endedAt = Date.now()
  return result
}

/** A request that must succeed with `status` (seeding); throws with the answer otherwise. */
export async function must<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  status: number,
  opts: { token?: string; body?: unknown } = {},
): Promise<T> {
  const r = await http(base, method, path, opts)
  if (r.status !== status) {
    throw new Error(
      `${method} ${path}: expected ${status}, got ${r.status || r.error} ${r.text.slice(0, 500)}`,
    )
  }
  return r.body as T
}

/* ------------------------------------------------------------------- seeds */

export interface Customer {
  id: number
  token: string
}

export interface Shop {
  admin: string
  barbers: number[]
  service: number
  customers: Customer[]
}

const tag = () => randomBytes(3).toString('hex')

export async function register(base: string, prefix: string): Promise<Customer> {
  const username = `${prefix}${tag()}`
  const r = await must<{ user: { id: number }; access: string }>(
    base,
    'POST',
    '/api/auth/register/',
    201,
    {
      body: {
        username,
        email: `${username}@example.com`,
        password: PASSWORD,
        first_name: 'Fault',
        last_name: 'Test',
      },
    },
  )
  return { id: r.user.id, token: r.access }
}

/**
 * The admin (made by createsuperuser) logs in over the API; barbers and customers register
 * over the API (each gets a welcome email); the admin makes the barbers staff and adds a service.
 */
export async function seedShop(
  base: string,
  opts: { barbers: number; customers: number },
): Promise<Shop> {
  const login = await must<{ access: string }>(base, 'POST', '/api/auth/login/', 200, {
    body: { username: ADMIN.username, password: ADMIN.password },
  })
  const admin = login.access
  const barbers: number[] = []
  for (let i = 0; i < opts.barbers; i++) {
    const b = await register(base, `barber${i}x`)
    await must(base, 'PATCH', `/api/users/${b.id}/`, 200, {
      token: admin,
      body: { is_staff_member: true },
    })
    barbers.push(b.id)
  }
  const service = await must<{ id: number }>(base, 'POST', '/api/services/', 201, {
    token: admin,
    body: { name: `Skin fade ${tag()}`, duration_minutes: 30, price: '25.00' },
  })
  const customers: Customer[] = []
  for (let i = 0; i < opts.customers; i++) customers.push(await register(base, `cust${i}x`))
  return { admin, barbers, service: service.id, customers }
}

/** Slot `index` (of `minutes` each) on the day `day` days ahead, UTC; the shop is open all day. */
export function slot(
  day: number,
  index: number,
  minutes = 30,
): { start_time: string; end_time: string } {
  const now = new Date()
  const start =
    Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + day) +
    index * minutes * 60_000
  return {
    start_time: new Date(start).toISOString().replace('.000Z', 'Z'),
    end_time: new Date(start + minutes * 60_000).toISOString().replace('.000Z', 'Z'),
  }
}

/* ------------------------------------------------------------------ checks */

export function openDb(config: DatabaseConfig): DatabaseHandle {
  return createDatabase(config, { poolSize: 2 })
}

const ACTIVE = ['pending', 'confirmed'] as const

/** Pairs of active reservations of one barber whose held times overlap: must be empty. */
export async function overlappingPairs(db: Db): Promise<{ a: number; b: number }[]> {
  return db
    .selectFrom('reservations as a')
    .innerJoin('reservations as b', (j) =>
      j.onRef('a.staff_id', '=', 'b.staff_id').onRef('a.id', '<', 'b.id'),
    )
    .select(['a.id as a', 'b.id as b'])
    .where('a.status', 'in', ACTIVE)
    .where('b.status', 'in', ACTIVE)
    .whereRef('a.start_time', '<', 'b.hold_until')
    .whereRef('b.start_time', '<', 'a.hold_until')
    .execute()
}

/**
 * Half-written state: a reservation without its creation history row or its
 * 'email.reservation_created' outbox row (ADMIN_EMAIL is set), or a history/outbox row
 * whose reservation does not exist. Returns one line per problem.
 */
export async function integrityProblems(db: Db): Promise<string[]> {
  const problems: string[] = []
  const reservations = new Set(
    (await db.selectFrom('reservations').select('id').execute()).map((r) => r.id),
  )
  const history = await db
    .selectFrom('reservation_history')
    .select(['reservation_id', 'from_status'])
    .execute()
  const outbox = await db.selectFrom('outbox').select(['id', 'kind', 'payload']).execute()
  const created = new Set(
    history.filter((h) => h.from_status === null).map((h) => h.reservation_id),
  )
  const announced = new Map<number, number>()
  for (const row of outbox) {
    if (!row.kind.startsWith('email.reservation_')) continue
    const { reservationId } = JSON.parse(row.payload) as { reservationId: number }
    if (!reservations.has(reservationId))
      problems.push(`outbox ${row.id} (${row.kind}) names missing reservation ${reservationId}`)
    if (row.kind === 'email.reservation_created')
      announced.set(reservationId, (announced.get(reservationId) ?? 0) + 1)
  }
  for (const h of history) {
    if (!reservations.has(h.reservation_id))
      problems.push(`history row of missing reservation ${h.reservation_id}`)
  }
  for (const id of reservations) {
    if (!created.has(id)) problems.push(`reservation ${id} has no creation history row`)
    const n = announced.get(id) ?? 0
    if (n !== 1) problems.push(`reservation ${id} has ${n} 'email.reservation_created' outbox rows`)
  }
  return problems
}

export interface OutboxState {
  id: number
  kind: string
  status: string
  attempts: number
  relays: number
  last_error: string
}

export async function outboxRows(db: Db): Promise<OutboxState[]> {
  return db
    .selectFrom('outbox')
    .select(['id', 'kind', 'status', 'attempts', 'relays', 'last_error'])
    .orderBy('id')
    .execute()
}

/**
 * Waits until every outbox row is done and its mail reached the SMTP server, then a little
 * longer so that a late duplicate would show; returns the rows. Throws with the state on timeout.
 */
export async function waitForAllMail(
  db: Db,
  mail: MailServer,
  timeoutMs: number,
): Promise<OutboxState[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const rows = await outboxRows(db)
    const pending = rows.filter((r) => r.status !== 'done' || mail.count(messageIdOf(r.id)) === 0)
    if (rows.length > 0 && pending.length === 0) {
      await sleep(2500)
      return outboxRows(db)
    }
    if (Date.now() > deadline) {
      const summary = pending
        .slice(0, 20)
        .map(
          (r) =>
            `  outbox ${r.id} ${r.kind} ${r.status} attempts=${r.attempts} relays=${r.relays} received=${mail.count(messageIdOf(r.id))} ${r.last_error.slice(0, 200)}`,
        )
        .join('\n')
      throw new Error(
        `${pending.length} of ${rows.length} outbox rows not delivered within ${timeoutMs} ms:\n${summary}`,
      )
    }
    await sleep(250)
  }
}

/** Each outbox row's mail arrived exactly once, and nothing else arrived. */
export function deliveryProblems(rows: OutboxState[], mail: MailServer): string[] {
  const problems: string[] = []
  const expected = new Set(rows.map((r) => messageIdOf(r.id)))
  for (const r of rows) {
    const n = mail.count(messageIdOf(r.id))
    if (r.status !== 'done') problems.push(`outbox ${r.id} is ${r.status}`)
    if (n !== 1) problems.push(`outbox ${r.id} (${r.kind}) arrived ${n} times`)
  }
  for (const [id, n] of mail.accepted)
    if (!expected.has(id)) problems.push(`unexpected mail ${id} (${n}x)`)
  return problems
}
