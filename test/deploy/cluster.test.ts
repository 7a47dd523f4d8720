/**
 * `npm start` with WEB_CONCURRENCY=2, as a real child process (node --import tsx src/main.ts):
 * requests are served by both HTTP processes; a write served by one is seen at once by a
 * read served by the other (the dashboard's and availability's per-process caches); the jobs
 * run once (each email sent exactly once); GET /metrics merges every process; a SIGKILLed
 * HTTP process is replaced while the other keeps answering; SIGTERM with logins in flight
 * answers them all and exits 0. On the databases of TEST_DB (default SQLite).
 */
import { spawnSync } from 'node:child_process'
import http from 'node:http'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  ADMIN,
  faultFixture,
  faultLifecycle,
  gate,
  must,
  register,
  ROOT,
  sleep,
  slot,
  spawnChild,
  baseEnv,
  startApi,
} from '../faults/harness.js'
import { JOBS_NICENESS } from '../../src/cluster/jobs.js'
import type { ApiProcess } from '../faults/harness.js'
import { testDialects } from '../helpers.js'

interface Answer {
  status: number
  body: string
  error?: string
}

/** One request on a connection of its own (no keep-alive), so the primary hands each out anew. */
function fresh(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<Answer> {
  const url = new URL(path, base)
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body)
  return new Promise((resolve) => {
    const req = http.request(
      url,
      {
        method,
        agent: false,
        timeout: 30_000,
        headers: {
          connection: 'close',
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ status: 0, body: '', error: err.code ?? err.message }),
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.end(payload)
  })
}

interface LogLine {
  msg?: string
  proc?: string
  pid?: number
  time?: number
  req?: { url?: string }
}

function logLines(api: ApiProcess): LogLine[] {
  return api.child.lines.flatMap((l) => {
    if (!l.startsWith('{')) return []
    try {
      return [JSON.parse(l) as LogLine]
    } catch {
      return []
    }
  })
}

/** pid of each HTTP process that answered a request, by its name (web-1, web-2). */
function servedBy(api: ApiProcess): Map<number, string> {
  const out = new Map<number, string>()
  for (const l of logLines(api))
    if (l.msg === 'request completed' && l.pid && l.proc) out.set(l.pid, l.proc)
  return out
}

const engines = testDialects()

for (const engine of engines) {
  const skip = await gate(`cluster (${engine})`, [engine])
  describe.skipIf(skip !== null)(`npm start with WEB_CONCURRENCY=2 (${engine})`, () => {
    const { defer } = faultLifecycle(60)

    it('serves from both processes, keeps caches coherent, sends each email once, survives a crash and drains on SIGTERM', async () => {
      const { mail, url, db } = await faultFixture(engine, defer)
      const api = await startApi({
        DATABASE_URL: url,
        EMAIL_PORT: String(mail.port),
        LOG_LEVEL: 'info',
        WEB_CONCURRENCY: '2',
        STATUS_SWEEP_SECONDS: '1',
      })
      await api.child.waitForLine(/Fade District ready.*2 HTTP process/, 40_000)
      const base = api.base

      // Every log line is JSON and names its process. The processes write to one stdout on
      // their own: the job process's first line may follow the primary's "ready".
      await api.child.waitForLine(/"proc":"jobs"/, 20_000)
      const procs = new Set(logLines(api).map((l) => l.proc))
      expect([...procs].sort()).toEqual(expect.arrayContaining(['jobs', 'primary']))

      // Served by more than one process.
      for (let i = 0; i < 12; i++) expect((await fresh(base, 'GET', '/health/')).status).toBe(200)
      await sleep(200)
      expect(new Set(servedBy(api).values())).toEqual(new Set(['web-1', 'web-2']))

      // A write served by one process, then reads over fresh connections (so from both):
      // every read has the new figure.
      const admin = (
        await must<{ access: string }>(base, 'POST', '/api/auth/login/', 200, {
          body: { username: ADMIN.username, password: ADMIN.password },
        })
      ).access
      const service = (
        await must<{ id: number }>(base, 'POST', '/api/services/', 201, {
          token: admin,
          body: { name: 'Cut', duration_minutes: 30, price: '20.00' },
        })
      ).id
      const customer = await register(base, 'clu')
      const stale: string[] = []
      const BOOKINGS = 4
      // How many can take a start (one chair: 1 while free), as availability says.
      const takers = async (start: string): Promise<number> => {
        const r = await fresh(base, 'GET', `/api/availability/?date=${start.slice(0, 10)}`)
        expect(r.status, r.body).toBe(200)
        const { slots } = JSON.parse(r.body) as {
          slots: { start_time: string; staff: number[] }[]
        }
        const found = slots.find((x) => x.start_time === start)
        return found ? found.staff.length || 1 : 0
      }
      for (let k = 0; k < BOOKINGS; k++) {
        const start = slot(2, k * 2).start_time
        // Warm both processes' caches with the figures before the write (consecutive reads
        // of one kind, so that both processes serve some of each).
        for (let i = 0; i < 4; i++)
          await fresh(base, 'GET', '/api/dashboard/stats/', { token: admin })
        let free = 0
        for (let i = 0; i < 4; i++) free = await takers(start)
        expect(free).toBeGreaterThan(0)
        const made = await fresh(base, 'POST', '/api/reservations/', {
          token: customer.token,
          body: { service, start_time: start },
        })
        expect(made.status, made.body).toBe(201)
        for (let i = 0; i < 8; i++) {
          const r = await fresh(base, 'GET', '/api/dashboard/stats/', { token: admin })
          const total = (JSON.parse(r.body) as { reservations: { total: number } }).reservations
            .total
          if (total !== k + 1) stale.push(`after booking ${k + 1}, read ${i + 1}: total ${total}`)
        }
        for (let i = 0; i < 8; i++) {
          const left = await takers(start)
          if (left !== free - 1)
            stale.push(`after booking ${k + 1}, read ${i + 1}: ${left} free at ${start}`)
        }
      }
      expect(stale).toEqual([])

      // The jobs ran in one place: every email delivered exactly once.
      const deadline = Date.now() + 20_000
      for (;;) {
        const open = await db.db
          .selectFrom('outbox')
          .select('id')
          .where('status', 'in', ['pending', 'queued', 'sending'])
          .execute()
        if (open.length === 0) break
        if (Date.now() > deadline) throw new Error(`${open.length} outbox rows still undelivered`)
        await sleep(200)
      }
      await sleep(1500) // a second runner, if there were one, would have sent them again by now
      const done = await db.db
        .selectFrom('outbox')
        .select('id')
        .where('status', '=', 'done')
        .execute()
      expect(done.length).toBeGreaterThanOrEqual(1 + BOOKINGS) // welcome + each booking's
      expect([...mail.accepted.values()].filter((n) => n !== 1)).toEqual([])
      expect(mail.accepted.size).toBe(done.length)

      // One scrape merges every process: the requests of both, the jobs' lag, each event loop.
      const scrape = await fresh(base, 'GET', '/metrics', { token: admin })
      expect(scrape.status).toBe(200)
      const text = scrape.body
      const count = (name: string) =>
        Number(
          text
            .split('\n')
            .find((l) => l.startsWith(`${name} `))
            ?.split(' ')[1] ?? NaN,
        )
      expect(
        count(
          'http_request_duration_seconds_count{route="/api/reservations/",method="POST",status_class="2xx"}',
        ),
      ).toBe(BOOKINGS)
      expect(
        count(
          'http_request_duration_seconds_count{route="/health/",method="GET",status_class="2xx"}',
        ),
      ).toBeGreaterThanOrEqual(12)
      for (const proc of ['primary', 'web-1', 'web-2', 'jobs'])
        expect(count(`nodejs_eventloop_lag_p99_seconds{proc="${proc}"}`)).toBeGreaterThanOrEqual(0)
      expect(text).toMatch(/^fade_job_lag_seconds_count\{job="outbox\.[a-z_.]+"\} [1-9]/m)
      expect(count('fade_outbox_pending')).toBe(0)

      // kill -9 one HTTP process: the other keeps answering, and it is replaced.
      const victim = [...servedBy(api)].find(([, name]) => name === 'web-1')![0]
      process.kill(victim, 'SIGKILL')
      // (A connection the primary hands to it in the instant before it learns of the death is
      // lost with it — Node's round-robin cannot take it back; from then on the other answers.)
      await api.child.waitForLine(
        /"proc":"primary".*web-1 \(pid \d+\) exited \(signal SIGKILL\); replacing it/,
        10_000,
      )
      const during = await Promise.all(
        Array.from({ length: 10 }, () => fresh(base, 'GET', '/health/')),
      )
      expect(during.map((r) => r.status || r.error)).toEqual(Array(10).fill(200))
      const replaced = async () =>
        logLines(api).some(
          (l) => l.proc === 'web-1' && l.pid !== victim && /Server listening/.test(l.msg ?? ''),
        )
      const until = Date.now() + 40_000
      while (!(await replaced())) {
        if (Date.now() > until) throw new Error('web-1 was not replaced within 40 s')
        await sleep(200)
      }
      for (let i = 0; i < 12; i++) expect((await fresh(base, 'GET', '/health/')).status).toBe(200)
      await sleep(200)
      const names = [...servedBy(api)].filter(([pid]) => pid !== victim).map(([, n]) => n)
      expect(new Set(names)).toEqual(new Set(['web-1', 'web-2']))

      // SIGTERM with 24 logins in flight (argon2 keeps them busy): all answered, exit 0.
      const loginsSeen = () =>
        logLines(api).filter(
          (l) => l.msg === 'incoming request' && l.req?.url === '/api/auth/login/',
        ).length
      const before = loginsSeen()
      const N = 24
      const inFlight = Array.from({ length: N }, (_, i) =>
        fresh(base, 'POST', '/api/auth/login/', {
          body:
            i % 3 === 0
              ? { username: `nobody${i}`, password: 'Wrong-Pass-1' }
              : { username: ADMIN.username, password: ADMIN.password },
        }),
      )
      const seenBy = Date.now() + 20_000
      while (loginsSeen() < before + N && Date.now() < seenBy) await sleep(10)
      api.child.proc.kill('SIGTERM')
      const answers = await Promise.all(inFlight)
      const exit = await Promise.race([api.child.exited, sleep(30_000).then(() => null)])
      expect(answers.map((a) => a.status || a.error).filter((s) => s !== 200 && s !== 401)).toEqual(
        [],
      )
      expect(exit).toEqual({ code: 0, signal: null })
      const lines = logLines(api)
      const at = lines.findIndex((l) => /^SIGTERM/.test(l.msg ?? ''))
      expect(at).toBeGreaterThanOrEqual(0)
      expect(lines.slice(at).filter((l) => l.msg === 'request completed').length).toBeGreaterThan(0)
      // Requests drained before the jobs stopped (by time: each process writes its own lines).
      const jobsStop = lines.find((l) => l.proc === 'jobs' && /stopping/.test(l.msg ?? ''))
      const webExits = lines.filter((l) => /^web-\d .*exited \(code 0\)/.test(l.msg ?? ''))
      expect(webExits.length).toBe(2)
      expect(jobsStop?.time).toBeGreaterThanOrEqual(Math.max(...webExits.map((l) => l.time ?? 0)))
    })
  })
}

describe.skipIf((await gate('cluster (sqlite)', ['sqlite'])) !== null)(
  'npm start with WEB_CONCURRENCY=1 (sqlite)',
  () => {
    const { defer } = faultLifecycle(60)

    it('serves from one HTTP process while the jobs run in their own, and stops with exit 0', async () => {
      const { mail, url, db } = await faultFixture('sqlite', defer)
      const api = await startApi({
        DATABASE_URL: url,
        EMAIL_PORT: String(mail.port),
        LOG_LEVEL: 'info',
        WEB_CONCURRENCY: '1',
      })
      await api.child.waitForLine(/Fade District ready.*1 HTTP process/, 40_000)
      await register(api.base, 'one')
      for (let i = 0; i < 6; i++)
        expect((await fresh(api.base, 'GET', '/health/')).status).toBe(200)
      await sleep(200)
      expect([...new Set(servedBy(api).values())]).toEqual(['web-1'])
      // The welcome email is sent by the job process, not by the one that served the request.
      const deadline = Date.now() + 20_000
      while (mail.accepted.size === 0 && Date.now() < deadline) await sleep(100)
      expect(mail.accepted.size).toBe(1)
      const sent = await db.db.selectFrom('outbox').select('status').execute()
      expect(sent.map((r) => r.status)).toEqual(['done'])
      const http = new Set(
        logLines(api)
          .filter((l) => l.proc === 'web-1')
          .map((l) => l.pid),
      )
      const jobs = new Set(
        logLines(api)
          .filter((l) => l.proc === 'jobs')
          .map((l) => l.pid),
      )
      expect(http.size).toBe(1)
      expect(jobs.size).toBe(1)
      expect([...jobs][0]).not.toBe([...http][0])
      // The job process yields the CPU to the HTTP processes (nice), which keep the normal priority.
      const niceness = (pid: number | undefined) =>
        Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16])
      expect(niceness([...jobs][0])).toBe(JOBS_NICENESS)
      expect(niceness([...http][0])).toBe(0)
      api.child.proc.kill('SIGTERM')
      expect(await api.child.exited).toEqual({ code: 0, signal: null })
    })

    it('stops with one line and exit 1 when an HTTP process cannot start (port taken)', async () => {
      const { url } = await faultFixture('sqlite', defer)
      const blocker = http.createServer()
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
      defer(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
      const port = (blocker.address() as { port: number }).port
      const child = spawnChild(
        'api',
        ['--import', 'tsx', 'src/main.ts'],
        baseEnv({ DATABASE_URL: url, PORT: String(port), WEB_CONCURRENCY: '2', LOG_LEVEL: 'info' }),
      )
      const exit = await Promise.race([child.exited, sleep(40_000).then(() => null)])
      expect(exit).toEqual({ code: 1, signal: null })
      expect(child.lines.some((l) => /EADDRINUSE/.test(l))).toBe(true)
      expect(child.lines.some((l) => /exited during start .*; stopping/.test(l))).toBe(true)
    })
  },
)

describe('npm start with an in-memory SQLite database', () => {
  it('refuses with one line and exit 1 (each process would have a database of its own)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: baseEnv({ DATABASE_URL: 'sqlite::memory:' }),
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(r.status).toBe(1)
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^Configuration error: DATABASE_URL: an in-memory SQLite database/),
    ])
  })
})
