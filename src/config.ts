import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { z } from 'zod'
import { HoursSyntaxError, isValidTimeZone, parseHours } from './shop/hours.js'
import type { WeeklyHours } from './shop/hours.js'

/** The seed's example secret: never acceptable in production. */
const EXAMPLE_SECRET = 'your-secret-key'
const DEV_SECRET = 'insecure-development-key-do-not-use-in-production!'

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(v), {
    message: 'must be true or false',
  })
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v))

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))

const num = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, 'must be a number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))

const optionalString = z
  .string()
  .transform((v) => (v.trim() === '' ? undefined : v))
  .optional()

const EnvSchema = z.object({
  SECRET_KEY: optionalString,
  DEBUG: bool.default(true),
  NODE_ENV: optionalString,
  DB_ENGINE: z.enum(['sqlite', 'mysql', 'postgres']).optional(),
  DB_NAME: optionalString,
  DB_USER: optionalString,
  DB_PASSWORD: optionalString,
  DB_HOST: optionalString,
  DB_PORT: int(1, 65535).optional(),
  DATABASE_URL: optionalString,
  REDIS_URL: optionalString,
  EMAIL_BACKEND: z.enum(['smtp', 'file', 'console']).optional(),
  EMAIL_HOST: optionalString,
  EMAIL_PORT: int(1, 65535).default(587),
  EMAIL_USE_TLS: bool.default(true),
  EMAIL_HOST_USER: optionalString,
  EMAIL_HOST_PASSWORD: optionalString,
  EMAIL_FILE_PATH: optionalString,
  DEFAULT_FROM_EMAIL: optionalString,
  ADMIN_EMAIL: z.string().trim().pipe(z.email('must be an email address')).optional(),
  PORT: int(0, 65535).default(8000),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  CORS_ALLOWED_ORIGINS: optionalString,
  SHOP_TIMEZONE: z
    .string()
    .trim()
    .default('UTC')
    .refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Sofia'),
  OPENING_HOURS: z.string().default('mon-sat 09:00-19:00'),
  SLOT_MINUTES: int(5, 240).default(15),
  AUTO_CONFIRM: bool.default(false),
  CANCELLATION_CUTOFF_HOURS: num(0, 8760).default(2),
  REMINDER_HOURS_BEFORE: num(0, 8760).default(24),
  STATUS_SWEEP_SECONDS: int(1, 86400).default(60),
  ACCESS_TOKEN_MINUTES: int(1, 7 * 24 * 60).default(15),
  REFRESH_TOKEN_DAYS: int(1, 365).default(7),
  BOOKING_HORIZON_DAYS: int(1, 3650).default(90),
  REGISTER_PER_HOUR: int(1, 1_000_000).default(30),
  LOGIN_MAX_FAILURES: int(1, 1000).default(5),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: bool.default(false),
  OUTBOX_LEASE_SECONDS: int(5, 3600).default(60),
  SHOP_NAME: z.string().trim().min(1).max(100).default('Fade District'),
  SHOP_PHONE: optionalString,
  SHOP_ADDRESS: optionalString,
  CURRENCY: z
    .string()
    .trim()
    .toUpperCase()
    .refine((c) => /^[A-Z]{3}$/.test(c) && Intl.supportedValuesOf('currency').includes(c), {
      message: 'must be an ISO 4217 currency code such as EUR or USD',
    })
    .default('EUR'),
  PUBLIC_URL: optionalString,
  REFRESH_REUSE_GRACE_SECONDS: int(0, 3600).default(30),
  WEB_CONCURRENCY: int(1, 256).optional(),
  ALLOWED_HOSTS: optionalString,
  MAX_ACTIVE_BOOKINGS: int(1, 10_000).default(5),
})

export type DbEngine = 'sqlite' | 'mysql' | 'postgres'

export interface DatabaseConfig {
  engine: DbEngine
  /** sqlite: a file path or ':memory:'; others: a connection URL. */
  url: string
}

export interface Config {
  debug: boolean
  production: boolean
  secretKey: string
  /** Set when the development key replaced a missing SECRET_KEY. */
  usingDevSecret: boolean
  database: DatabaseConfig
  redisUrl: string | undefined
  email: {
    backend: 'smtp' | 'file' | 'console'
    host: string
    port: number
    useTls: boolean
    user: string | undefined
    password: string | undefined
    from: string
    fileDir: string
  }
  adminEmail: string | undefined
  port: number
  host: string
  corsOrigins: string[]
  timezone: string
  openingHours: WeeklyHours
  openingHoursSpec: string
  slotMinutes: number
  autoConfirm: boolean
  cancellationCutoffHours: number
  reminderHoursBefore: number
  statusSweepSeconds: number
  accessTokenMinutes: number
  refreshTokenDays: number
  bookingHorizonDays: number
  registerPerHour: number
  loginMaxFailures: number
  logLevel: string
  trustProxy: boolean
  /** How long a worker owns a notification it is sending before another may take it over. */
  outboxLeaseSeconds: number
  shop: {
    name: string
    phone: string | null
    address: string | null
    /** ISO 4217, upper case. */
    currency: string
  }
  /** The address people open, without a trailing slash (links in emails, pagination). */
  publicUrl: string
  /** Whether PUBLIC_URL was set explicitly (then links never come from the Host header). */
  publicUrlExplicit: boolean
  /**
   * Host names (lower case, without port) a request may name in `Host`; `*` allows any.
   * Django's ALLOWED_HOSTS: a leading dot matches the domain and its subdomains.
   */
  allowedHosts: string[]
  refreshReuseGraceSeconds: number
  /** How many HTTP processes serve (default: the cores available). */
  webConcurrency: number
  /** How many pending or confirmed future reservations one customer may hold. */
  maxActiveBookings: number
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'))
    this.name = 'ConfigError'
  }
}

function databaseFrom(env: z.infer<typeof EnvSchema>, problems: string[]): DatabaseConfig {
  if (env.DATABASE_URL) {
    const url = env.DATABASE_URL
    if (/^(mysql|mariadb):\/\//i.test(url))
      return { engine: 'mysql', url: url.replace(/^mariadb:/i, 'mysql:') }
    if (/^postgres(ql)?:\/\//i.test(url)) return { engine: 'postgres', url }
    if (/^sqlite:/i.test(url))
      return { engine: 'sqlite', url: url.replace(/^sqlite:(\/\/)?/i, '') || ':memory:' }
    problems.push('DATABASE_URL: must start with mysql://, mariadb://, postgres:// or sqlite:')
    return { engine: 'sqlite', url: ':memory:' }
  }
  const engine: DbEngine = env.DB_ENGINE ?? (env.DB_HOST ? 'mysql' : 'sqlite')
  if (engine === 'sqlite')
    return { engine, url: env.DB_NAME ? sqlitePath(env.DB_NAME) : 'data/db.sqlite3' }
  const u = new URL(`${engine === 'mysql' ? 'mysql' : 'postgres'}://placeholder`)
  u.hostname = env.DB_HOST ?? '127.0.0.1'
  u.port = String(env.DB_PORT ?? (engine === 'mysql' ? 3306 : 5432))
  u.username = env.DB_USER ?? (engine === 'mysql' ? 'root' : 'postgres')
  if (env.DB_PASSWORD) u.password = env.DB_PASSWORD
  u.pathname = `/${env.DB_NAME ?? 'fade_district'}`
  return { engine, url: u.toString() }
}

function sqlitePath(name: string): string {
  if (
    name === ':memory:' ||
    name.includes('/') ||
    name.endsWith('.sqlite3') ||
    name.endsWith('.db')
  )
    return name
  return `data/${name}.sqlite3`
}

/** Parses the environment once; throws ConfigError naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // An empty value means unset (compose's `FOO: ${FOO}` gives one when FOO is not defined).
  const present = Object.fromEntries(
    Object.entries(source).filter(([, v]) => v !== undefined && v.trim() !== ''),
  )
  const parsed = EnvSchema.safeParse(present)
  const problems: string[] = []
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${issue.path.join('.')}: ${issue.message}`)
    }
    throw new ConfigError(problems)
  }
  const env = parsed.data

  let openingHours: WeeklyHours = []
  try {
    openingHours = parseHours(env.OPENING_HOURS)
  } catch (err) {
    problems.push(`OPENING_HOURS: ${err instanceof HoursSyntaxError ? err.message : String(err)}`)
  }

  let secretKey = env.SECRET_KEY
  let usingDevSecret = false
  if (!env.DEBUG) {
    if (!secretKey) problems.push('SECRET_KEY: is required when DEBUG=false')
    else if (secretKey === EXAMPLE_SECRET)
      problems.push('SECRET_KEY: the example value cannot be used when DEBUG=false')
    else if (secretKey.length < 32)
      problems.push('SECRET_KEY: must be at least 32 characters when DEBUG=false')
  } else if (!secretKey) {
    secretKey = DEV_SECRET
    usingDevSecret = true
  }

  const database = databaseFrom(env, problems)
  const emailBackend =
    env.EMAIL_BACKEND ?? (env.EMAIL_HOST_USER || env.EMAIL_HOST ? 'smtp' : 'file')
  const corsOrigins = (env.CORS_ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      problems.push(`CORS_ALLOWED_ORIGINS: "${origin}" is not an origin like https://example.com`)
    }
  }
  if (env.REDIS_URL && !/^rediss?:\/\//.test(env.REDIS_URL)) {
    problems.push('REDIS_URL: must start with redis:// or rediss://')
  }
  let publicUrl = `http://localhost:${env.PORT}`
  if (env.PUBLIC_URL) {
    try {
      const u = new URL(env.PUBLIC_URL)
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme')
      publicUrl = `${u.origin}${u.pathname.replace(/\/+$/, '')}`
    } catch {
      problems.push(
        'PUBLIC_URL: must be an http:// or https:// address like https://book.example.com',
      )
    }
  }
  let allowedHosts: string[]
  if (env.ALLOWED_HOSTS) {
    allowedHosts = env.ALLOWED_HOSTS.split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean)
    for (const h of allowedHosts) {
      if (h !== '*' && !/^\.?[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/.test(h))
        problems.push(`ALLOWED_HOSTS: "${h}" is not a host name (no scheme or port)`)
    }
  } else if (env.DEBUG) {
    allowedHosts = ['*']
  } else {
    // Django's default in production is nothing; ours is the public address plus loopback,
    // so health checks and a reverse proxy on the same machine keep working.
    const own = URL.canParse(publicUrl) ? new URL(publicUrl).hostname.toLowerCase() : 'localhost'
    allowedHosts = [...new Set([own, 'localhost', '127.0.0.1', '[::1]'])]
  }
  if (problems.length > 0) throw new ConfigError(problems)

  return {
    debug: env.DEBUG,
    production: env.NODE_ENV === 'production',
    secretKey: secretKey ?? DEV_SECRET,
    usingDevSecret,
    database,
    redisUrl: env.REDIS_URL,
    email: {
      backend: emailBackend,
      host: env.EMAIL_HOST ?? 'smtp.gmail.com',
      port: env.EMAIL_PORT,
      useTls: env.EMAIL_USE_TLS,
      user: env.EMAIL_HOST_USER,
      password: env.EMAIL_HOST_PASSWORD,
      from:
        env.DEFAULT_FROM_EMAIL ??
        env.EMAIL_HOST_USER ??
        'Fade District <no-reply@fade-district.local>',
      fileDir: env.EMAIL_FILE_PATH ?? 'data/emails',
    },
    adminEmail: env.ADMIN_EMAIL,
    port: env.PORT,
    host: env.HOST,
    corsOrigins,
    timezone: env.SHOP_TIMEZONE,
    openingHours,
    openingHoursSpec: env.OPENING_HOURS,
    slotMinutes: env.SLOT_MINUTES,
    autoConfirm: env.AUTO_CONFIRM,
    cancellationCutoffHours: env.CANCELLATION_CUTOFF_HOURS,
    reminderHoursBefore: env.REMINDER_HOURS_BEFORE,
    statusSweepSeconds: env.STATUS_SWEEP_SECONDS,
    accessTokenMinutes: env.ACCESS_TOKEN_MINUTES,
    refreshTokenDays: env.REFRESH_TOKEN_DAYS,
    bookingHorizonDays: env.BOOKING_HORIZON_DAYS,
    registerPerHour: env.REGISTER_PER_HOUR,
    loginMaxFailures: env.LOGIN_MAX_FAILURES,
    logLevel: env.LOG_LEVEL,
    trustProxy: env.TRUST_PROXY,
    outboxLeaseSeconds: env.OUTBOX_LEASE_SECONDS,
    shop: {
      name: env.SHOP_NAME,
      phone: env.SHOP_PHONE?.trim() ?? null,
      address: env.SHOP_ADDRESS?.trim() ?? null,
      currency: env.CURRENCY,
    },
    publicUrl,
    publicUrlExplicit: env.PUBLIC_URL !== undefined,
    allowedHosts,
    refreshReuseGraceSeconds: env.REFRESH_REUSE_GRACE_SECONDS,
    webConcurrency: env.WEB_CONCURRENCY ?? availableParallelism(),
    maxActiveBookings: env.MAX_ACTIVE_BOOKINGS,
  }
}

/** Loads `.env` (when present) into process.env without overriding what is already set. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path)
}

/** For entry points: parse or print one line per problem and exit. */
export function loadConfigOrExit(): Config {
  loadDotEnv()
  try {
    return loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`Configuration error: ${p}\n`)
      process.exit(1)
    }
    throw err
  }
}
