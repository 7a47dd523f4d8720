import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import type { Config, DatabaseConfig, DbEngine } from '../src/config.js'
import { createDatabase, insertReturningId } from '../src/db/database.js'
import type { DatabaseHandle } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { hashPassword } from '../src/auth/passwords.js'
import type { Mailer } from '../src/notifications/mailer.js'
import { createRuntime } from '../src/runtime.js'
import type { Runtime } from '../src/runtime.js'
import { InProcessRunner } from '../src/jobs/in-process.js'

export const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306'
export const POSTGRES_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * The databases this run covers: TEST_DB=sqlite,mysql,postgres (default sqlite).
 * A server that cannot be reached fails the run in CI and is skipped, loudly, elsewhere.
 */
export function testDialects(): DbEngine[] {
  const wanted = (process.env.TEST_DB ?? 'sqlite')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  return wanted.map((w) => {
    if (w === 'mariadb') return 'mysql'
    if (w === 'sqlite' || w === 'mysql' || w === 'postgres') return w
    throw new Error(`TEST_DB: unknown database "${w}"`)
  })
}

const reachable = new Map<DbEngine, Promise<string | null>>()

/** null when reachable, else the reason. */
/**
 * For suites that need Redis: null when it answers at REDIS_URL; else the reason, which
 * fails loudly in CI (where Redis must run) and is printed as the reason to skip elsewhere.
 */
export async function redisProblem(suite: string): Promise<string | null> {
  const r = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
  })
  r.on('error', () => undefined)
  let problem: string | null = null
  try {
    await r.connect()
    await r.ping()
  } catch (err) {
    problem = `Redis at ${REDIS_URL} unreachable: ${(err as Error).message}`
  } finally {
    r.disconnect()
  }
  if (problem && process.env.CI) throw new Error(`${problem} (CI must reach Redis)`)
  if (problem) process.stderr.write(`SKIPPING ${suite}: ${problem}\n`)
  return problem
}

export function serverProblem(engine: DbEngine): Promise<string | null> {
  let p = reachable.get(engine)
  if (!p) {
    p = (async () => {
      try {
        if (engine === 'mysql') {
          const c = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 3000 })
          await c.end()
        } else if (engine === 'postgres') {
          const c = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 })
          await c.connect()
          await c.end()
        }
        return null
      } catch (err) {
        return `${engine} at ${engine === 'mysql' ? MYSQL_URL : POSTGRES_URL} unreachable: ${(err as Error).message}`
      }
    })()
    reachable.set(engine, p)
  }
  return p
}

export interface TestDatabase {
  config: DatabaseConfig
  drop(): Promise<void>
}

/** A throwaway database per test file, on a real server. */
export async function createTestDatabase(engine: DbEngine): Promise<TestDatabase> {
  const name = `fade_test_${randomBytes(5).toString('hex')}`
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'fade-'))
    return {
      config: { engine, url: join(dir, 'test.sqlite3') },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    }
  }
  const problem = await serverProblem(engine)
  if (problem) throw new Error(problem)
  if (engine === 'mysql') {
    const admin = await mysql.createConnection({ uri: MYSQL_URL })
    await admin.query(`create database ${name} character set utf8mb4 collate utf8mb4_unicode_ci`)
    await admin.end()
    const url = new URL(MYSQL_URL)
    url.pathname = `/${name}`
    return {
      config: { engine, url: url.toString() },
      drop: async () => {
        const c = await mysql.createConnection({ uri: MYSQL_URL })
        await c.query(`drop database if exists ${name}`)
        await c.end()
      },
    }
  }
  const admin = new pg.Client({ connectionString: POSTGRES_URL })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  return {
    config: { engine, url: url.toString() },
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_URL })
      await c.connect()
      await c.query(`drop database if exists ${name} with (force)`)
      await c.end()
    },
  }
}

/** A clock tests can move; real time unless set. */
export class TestClock {
  #offset = 0
  #fixed: number | null = null
  now = (): Date => new Date(this.#fixed ?? Date.now() + this.#offset)
  set(d: Date | string): void {
    this.#fixed = new Date(d).getTime()
  }
  advance(ms: number): void {
    if (this.#fixed !== null) this.#fixed += ms
    else this.#offset += ms
  }
  real(): void {
    this.#fixed = null
    this.#offset = 0
  }
}

export interface TestUser {
  id: number
  username: string
  email: string
  password: string
  token: string
}

export interface TestApp {
  engine: DbEngine
  app: FastifyInstance
  runtime: Runtime
  database: DatabaseHandle
  config: Config
  clock: TestClock
  emailDir: string
  close(): Promise<void>
  /** Inserts a user directly (fast) and signs an access token for them. */
  user(opts?: {
    admin?: boolean
    staff?: boolean
    active?: boolean
    password?: string
    email?: string
    username?: string
    hours?: string | null
  }): Promise<TestUser>
  service(opts?: {
    duration?: number
    buffer?: number
    price?: string
    active?: boolean
    name?: string
  }): Promise<number>
  req(
    method: string,
    url: string,
    opts?: { user?: TestUser | string; body?: unknown; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>
  /** Waits until the in-process runner has nothing left to deliver. */
  drain(): Promise<void>
}

export const PASSWORD = 'Corr3ct-Horse-Battery'
let passwordHash: Promise<string> | undefined
let counter = 0
export function unique(prefix: string): string {
  counter += 1
  return `${prefix}${process.pid}x${counter}x${randomBytes(2).toString('hex')}`
}

export interface StartOptions {
  env?: Record<string, string>
  mailer?: Mailer
  redis?: boolean
  leaseMs?: number
  /** Start the in-process runner (default true). */
  jobs?: boolean
  database?: TestDatabase
}

/** Builds the whole app on a fresh database of the given engine, as `npm start` would. */
export async function startApp(engine: DbEngine, opts: StartOptions = {}): Promise<TestApp> {
  const testDb = opts.database ?? (await createTestDatabase(engine))
  const emailDir = mkdtempSync(join(tmpdir(), 'fade-mail-'))
  const config = loadConfig({
    DEBUG: 'true',
    SECRET_KEY: 'test-secret-key-that-is-long-enough-0123456789',
    OPENING_HOURS: 'mon-sun 00:00-24:00',
    EMAIL_BACKEND: 'file',
    EMAIL_FILE_PATH: emailDir,
    ADMIN_EMAIL: 'owner@fade.test',
    LOG_LEVEL: 'silent',
    REGISTER_PER_HOUR: '100000',
    // Tests book many slots for one customer; the limit's own test sets it back.
    MAX_ACTIVE_BOOKINGS: '10000',
    ...(opts.redis ? { REDIS_URL: REDIS_URL } : {}),
    ...opts.env,
  })
  const database = createDatabase(testDb.config)
  await migrateToLatest(database.db, database.engine)
  const clock = new TestClock()
  const log = pino({ level: 'silent' })
  const runtime = createRuntime(config, {
    role: 'api',
    log,
    database,
    mailer: opts.mailer,
    now: clock.now,
    leaseMs: opts.leaseMs,
    pollMs: 200,
  })
  const app = await buildApp(runtime.ctx, { readiness: runtime.readiness })
  if (opts.jobs !== false) await runtime.runner.start()
  passwordHash ??= hashPassword(PASSWORD)

  const t: TestApp = {
    engine,
    app,
    runtime,
    database,
    config,
    clock,
    emailDir,
    async close() {
      await app.close()
      await runtime.close()
      await testDb.drop()
      rmSync(emailDir, { recursive: true, force: true })
    },
    async user(o = {}) {
      const username = o.username ?? unique('u')
      const email = o.email ?? `${username}@example.com`
      const id = await insertReturningId(database.engine, database.db, 'users', {
        username,
        username_key: username.toLowerCase(),
        email,
        email_key: email.toLowerCase(),
        password: o.password ? await hashPassword(o.password) : await passwordHash!,
        first_name: 'First',
        last_name: 'Last',
        phone: '',
        is_admin: o.admin ?? false,
        is_staff_member: o.staff ?? false,
        is_active: o.active ?? true,
        working_hours: o.hours ?? null,
        date_joined: clock.now(),
        last_login: null,
      })
      const { token } = await runtime.ctx.tokens.issue('access', id, clock.now())
      return { id, username, email, password: o.password ?? PASSWORD, token }
    },
    async service(o = {}) {
      const [units, cents = '00'] = (o.price ?? '25.00').split('.')
      return insertReturningId(database.engine, database.db, 'services', {
        name: o.name ?? unique('Cut '),
        description: '',
        duration_minutes: o.duration ?? 30,
        buffer_after_minutes: o.buffer ?? 0,
        price_cents: Number(units) * 100 + Number(cents.padEnd(2, '0')),
        is_active: o.active ?? true,
        created_at: clock.now(),
      })
    },
    async req(method, url, o = {}) {
      const headers: Record<string, string> = { ...o.headers }
      const token = typeof o.user === 'string' ? o.user : o.user?.token
      if (token) headers.authorization = `Bearer ${token}`
      return app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(o.body !== undefined ? { payload: o.body as Record<string, unknown> } : {}),
      })
    },
    async drain() {
      const r = runtime.runner
      if (r instanceof InProcessRunner) {
        r.wake()
        await r.idle()
      }
    },
  }
  return t
}

/** An ISO instant `days` ahead at HH:MM UTC (tests run with the shop open around the clock). */
export function at(days: number, hhmm: string, base = new Date()): string {
  const d = new Date(Date.UTC(base.getUTCFullYear(), base.getUTCMonth(), base.getUTCDate() + days))
  const [h, m] = hhmm.split(':').map(Number)
  d.setUTCHours(h!, m!, 0, 0)
  return d.toISOString().replace('.000Z', 'Z')
}

export function json<T = Record<string, unknown>>(res: LightMyRequestResponse): T {
  return res.json() as T
}

/**
 * The databases to run against, reachable ones only: an unreachable server fails the
 * run in CI and is skipped with a printed reason elsewhere. Use with top-level await:
 * `for (const engine of await dialects()) describe(engine, ...)`.
 */
export async function dialects(): Promise<DbEngine[]> {
  const out: DbEngine[] = []
  for (const engine of testDialects()) {
    const problem = engine === 'sqlite' ? null : await serverProblem(engine)
    if (problem && process.env.CI)
      throw new Error(`${problem} (CI must reach every database it tests)`)
    if (problem) process.stderr.write(`SKIPPING ${engine}: ${problem}\n`)
    else out.push(engine)
  }
  return out
}
