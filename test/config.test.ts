import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env)
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
}

describe('configuration', () => {
  it('defaults to SQLite, file email, in-process jobs and the seed names', () => {
    const c = loadConfig({})
    expect(c.database).toEqual({ engine: 'sqlite', url: 'data/db.sqlite3' })
    expect(c.email.backend).toBe('file')
    expect(c.email.fileDir).toBe('data/emails')
    expect(c.redisUrl).toBeUndefined()
    expect(c.port).toBe(8000)
    expect(c.debug).toBe(true)
    expect(c.usingDevSecret).toBe(true)
    expect(c.timezone).toBe('UTC')
    expect(c.slotMinutes).toBe(15)
    expect(c.cancellationCutoffHours).toBe(2)
    expect(c.reminderHoursBefore).toBe(24)
    expect(c.accessTokenMinutes).toBe(15)
    expect(c.refreshTokenDays).toBe(7)
    expect(c.bookingHorizonDays).toBe(90)
    expect(c.registerPerHour).toBe(30)
    expect(c.loginMaxFailures).toBe(5)
  })

  it('chooses the database from DB_HOST / DB_ENGINE / DATABASE_URL', () => {
    expect(
      loadConfig({ DB_HOST: 'db', DB_NAME: 'fade', DB_USER: 'u', DB_PASSWORD: 'p@ss' }).database,
    ).toEqual({ engine: 'mysql', url: 'mysql://u:p%40ss@db:3306/fade' })
    expect(loadConfig({ DB_ENGINE: 'postgres', DB_HOST: 'pg' }).database.url).toBe(
      'postgres://postgres@pg:5432/fade_district',
    )
    expect(loadConfig({ DATABASE_URL: 'postgresql://a@b/c', DB_HOST: 'ignored' }).database).toEqual(
      { engine: 'postgres', url: 'postgresql://a@b/c' },
    )
    expect(loadConfig({ DATABASE_URL: 'mariadb://a@b/c' }).database.engine).toBe('mysql')
  })

  it('chooses SMTP when a mail host or user is set', () => {
    expect(
      loadConfig({ EMAIL_HOST_USER: 'me@gmail.com', EMAIL_HOST_PASSWORD: 'app-pass' }).email,
    ).toMatchObject({
      backend: 'smtp',
      host: 'smtp.gmail.com',
      port: 587,
      useTls: true,
      from: 'me@gmail.com',
    })
  })

  it('names every bad variable at once', () => {
    const p = problems({
      PORT: 'eighty',
      SHOP_TIMEZONE: 'Mars/Base',
      DB_ENGINE: 'oracle',
      AUTO_CONFIRM: 'perhaps',
    })
    expect(p.map((x) => x.split(':')[0]).sort()).toEqual([
      'AUTO_CONFIRM',
      'DB_ENGINE',
      'PORT',
      'SHOP_TIMEZONE',
    ])
    expect(problems({ OPENING_HOURS: 'mon-fri 9-5' })[0]).toMatch(/^OPENING_HOURS: /)
    expect(problems({ CORS_ALLOWED_ORIGINS: 'not a url' })[0]).toMatch(/^CORS_ALLOWED_ORIGINS: /)
  })

  it('refuses to start in production without a real SECRET_KEY', () => {
    expect(problems({ DEBUG: 'false' })).toEqual(['SECRET_KEY: is required when DEBUG=false'])
    expect(problems({ DEBUG: 'False', SECRET_KEY: 'your-secret-key' })[0]).toMatch(/example value/)
    expect(problems({ DEBUG: 'false', SECRET_KEY: 'short' })[0]).toMatch(/at least 32/)
    expect(problems({ DEBUG: 'false', SECRET_KEY: 'x'.repeat(40) })).toEqual([])
  })

  it('stops the process with one line per problem', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, PORT: 'nope', DEBUG: 'false' },
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(r.status).toBe(1)
    const lines = r.stderr.trim().split('\n')
    expect(lines).toEqual(
      expect.arrayContaining(['Configuration error: PORT: must be a whole number']),
    )
    expect(lines.every((l) => l.startsWith('Configuration error: '))).toBe(true)
  })
})

describe('configuration with empty values', () => {
  it('treats an empty variable as unset', () => {
    const c = loadConfig({
      ADMIN_EMAIL: '',
      DB_PORT: ' ',
      EMAIL_PORT: '',
      DB_ENGINE: '',
      EMAIL_BACKEND: '',
      LOG_LEVEL: '',
      DATABASE_URL: '',
    })
    expect(c.adminEmail).toBeUndefined()
    expect(c.database.engine).toBe('sqlite')
    expect(c.email.port).toBe(587)
    expect(c.logLevel).toBe('info')
  })
})
