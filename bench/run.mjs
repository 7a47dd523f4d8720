// Fade District load benchmark. `npm run bench` builds, then runs this file:
//   node bench/run.mjs [--db sqlite|mysql|postgres] [--duration 10] [--quick]
//                      [--connections 50] [--only key,key] [--cpu-prof] [--no-save]
// It seeds a fresh database through the compiled domain code, starts the production
// build as a child process, drives it with autocannon from another child process, and
// writes bench/results/<date>-<db>.{json,md} and bench/results/latest-<db>.md.
/* global fetch, performance */
import { fork, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { setInterval, setTimeout as sleep } from 'node:timers/promises'
import { clearTimeout, setTimeout } from 'node:timers'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createBenchDatabase } from './lib/databases.mjs'
import { formatSummary, summariseProfile } from './lib/profile-summary.mjs'
import { DB_TITLE, comparisonRows, consoleTable, markdown, rate } from './lib/report.mjs'
import { dayStart, OPEN_FROM, OPEN_TO, seed } from './lib/seed.mjs'

const BENCH = dirname(fileURLToPath(import.meta.url))
const ROOT = dirname(BENCH)
const OPENING_HOURS = `mon-sun ${hhmm(OPEN_FROM)}-${hhmm(OPEN_TO)}`
const STORM = 200
const RATIO_ROUNDS = 5

function median(xs) {
  const v = [...xs].sort((a, b) => a - b)
  const m = Math.floor(v.length / 2)
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}

function hhmm(min) {
  return `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`
}

const HELP = `usage: node bench/run.mjs [options]   (npm run bench -- [options])
  --db sqlite|mysql|postgres   database (default sqlite: a fresh temp file; mysql/postgres:
                               a throwaway database on 127.0.0.1, BENCH_MYSQL_URL / BENCH_POSTGRES_URL)
  --duration N                 seconds per scenario (default 10)
  --quick                      3 s per scenario
  --connections N              concurrent connections (default 50)
  --only a,b                   only these scenarios (${'health,bare,login,list-admin,list-customer,availability,dashboard,create,storm'})
  --cpu-prof                   profile the server (node --cpu-prof) into bench/profiles/ and summarise it
  --create-staff mixed|named|auto
                               create scenario: half name a barber (default), all do, or none do
  --no-save                    do not write bench/results/ (implied by --only, --cpu-prof
                               and a non-default --create-staff)`

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    duration: { type: 'string' },
    quick: { type: 'boolean', default: false },
    connections: { type: 'string', default: '50' },
    only: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'no-save': { type: 'boolean', default: false },
    'create-staff': { type: 'string', default: 'mixed' },
    help: { type: 'boolean', default: false },
  },
})
if (args.help) {
  console.log(HELP)
  process.exit(0)
}
const engine = args.db === 'mariadb' ? 'mysql' : args.db
if (!['sqlite', 'mysql', 'postgres'].includes(engine)) {
  console.error(`--db: expected sqlite, mysql or postgres, got ${args.db}`)
  process.exit(2)
}
const duration = Number(args.duration ?? (args.quick ? 3 : 10))
const connections = Number(args.connections)
const warmup = duration >= 5 ? 2 : 1
if (!(duration > 0) || !(connections > 0)) {
  console.error('--duration and --connections must be positive numbers')
  process.exit(2)
}
const only = args.only ? new Set(args.only.split(',').map((s) => s.trim())) : null
if (!['mixed', 'named', 'auto'].includes(args['create-staff'])) {
  console.error('--create-staff: expected mixed, named or auto')
  process.exit(2)
}
const save = !args['no-save'] && !only && !args['cpu-prof'] && args['create-staff'] === 'mixed'

const log = (msg) => console.log(msg)

/* ---------- small process helpers ---------- */

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function readStatusKb(pid, field) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}

/** Samples VmRSS of pid every 100 ms until stopped; resolves to the maximum (kB). */
function rssSampler(pid) {
  let peak = null
  let stopped = false
  const loop = (async () => {
    for await (const _ of setInterval(100)) {
      void _
      const kb = readStatusKb(pid, 'VmRSS')
      if (kb != null && (peak == null || kb > peak)) peak = kb
      if (stopped) break
    }
  })()
  return async () => {
    stopped = true
    await loop
    return peak
  }
}

function waitExit(child, ms) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(true)
    const t = setTimeout(() => resolve(false), ms)
    child.once('exit', () => {
      clearTimeout(t)
      resolve(true)
    })
  })
}

async function stopChild(child, name) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  if (!(await waitExit(child, 30_000))) {
    log(`${name} did not stop within 30 s: killing pid ${child.pid}`)
    child.kill('SIGKILL')
    await waitExit(child, 5000)
  }
}

async function waitHttp(url, child, logFile, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (child.exitCode !== null) {
      throw new Error(`server exited with code ${child.exitCode}:\n${tail(logFile)}`)
    }
    try {
      const res = await fetch(url)
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  throw new Error(`server not ready after ${timeoutMs / 1000} s:\n${tail(logFile)}`)
}

function tail(file, n = 30) {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n')
  } catch {
    return '(no log)'
  }
}

/**
 * Waits until the server has worked off requests that autocannon abandoned when a run
 * ended (the server still answers them): /health/ready/ goes through the database
 * pool, so it is slow while a backlog is queued there or on the event loop.
 */
async function drain(base, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs
  let fast = 0
  while (Date.now() < until) {
    const t0 = performance.now()
    try {
      await fetch(`${base}/health/ready/`)
    } catch {
      // keep trying
    }
    fast = performance.now() - t0 < 15 ? fast + 1 : 0
    if (fast >= 3) return true
    await sleep(50)
  }
  log(`    (server still busy after ${timeoutMs / 1000} s)`)
  return false
}

function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version
  } catch {
    return 'unknown'
  }
}

/* ---------- the load-generator child ---------- */

function startLoad() {
  const child = fork(join(BENCH, 'lib', 'load.mjs'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const waiting = new Map()
  let onReady
  const ready = new Promise((r) => (onReady = r))
  child.on('message', (msg) => {
    if (msg.type === 'ready') onReady()
    else if (msg.type === 'result' || msg.type === 'error') {
      const w = waiting.get(msg.name)
      waiting.delete(msg.name)
      if (msg.type === 'result') w?.resolve(msg.result)
      else w?.reject(new Error(`load generator failed on ${msg.name}: ${msg.error}`))
    }
  })
  child.on('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`load generator exited (${code})`))
    waiting.clear()
  })
  return {
    ready,
    child,
    run(scenario, phase) {
      return new Promise((resolve, reject) => {
        waiting.set(scenario.name, { resolve, reject })
        child.send({ type: 'run', scenario, phase })
      })
    },
    async stop() {
      if (child.connected) child.send({ type: 'exit' })
      await waitExit(child, 5000)
      if (child.exitCode === null) child.kill('SIGTERM')
    },
  }
}

/* ---------- main ---------- */

async function main() {
  const started = Date.now()
  const loadAtStart = os.loadavg()[0]
  if (loadAtStart > os.cpus().length * 0.25) {
    log(
      `note: load average is ${loadAtStart.toFixed(2)} on ${os.cpus().length} cores: other work on this machine will skew the figures`,
    )
  }
  const workDir = mkdtempSync(join(os.tmpdir(), 'fade-bench-'))
  const cleanups = []
  let server
  let bare
  let load
  let profileDir
  try {
    log(
      `Fade District benchmark: ${DB_TITLE[engine]}, ${connections} connections, ${duration} s per scenario`,
    )
    const database = await createBenchDatabase(engine, workDir)
    cleanups.push(() => database.drop())
    const port = await freePort()
    const emailDir = join(workDir, 'emails')
    mkdirSync(emailDir)
    // Built from scratch (not inherited) so a shell's or .env's settings cannot change the
    // run; the empty values keep a .env from filling them in.
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? workDir,
      TMPDIR: os.tmpdir(),
      NODE_ENV: 'production',
      DEBUG: 'false',
      SECRET_KEY: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'warn',
      ...database.env,
      DB_HOST: '',
      DB_NAME: '',
      REDIS_URL: '',
      EMAIL_HOST: '',
      EMAIL_HOST_USER: '',
      EMAIL_BACKEND: 'file',
      EMAIL_FILE_PATH: emailDir,
      ADMIN_EMAIL: 'owner@fade-district.test',
      SHOP_TIMEZONE: 'UTC',
      OPENING_HOURS,
      REGISTER_PER_HOUR: '1000000',
      // The load books many slots for each seeded customer.
      MAX_ACTIVE_BOOKINGS: '1000000',
      LOGIN_MAX_FAILURES: '1000',
      ACCESS_TOKEN_MINUTES: '240',
      CORS_ALLOWED_ORIGINS: '',
      PORT: String(port),
      HOST: '127.0.0.1',
    }

    log(`seeding ${database.label} …`)
    await database.beforeSeeding?.()
    const fixture = await seed({ root: ROOT, env, log })
    await database.afterSeeding?.()
    log(
      `  seeded in ${(fixture.seedMs / 1000).toFixed(1)} s: ${fixture.customers.length} customers, ${fixture.staffIds.length} barbers, ` +
        `${Object.keys(fixture.services).length} services, reservations ${JSON.stringify(fixture.counts)}; busy day ${fixture.busyDay} (${fixture.busyDayReservations})`,
    )

    // ---- the server under test ----
    const logFile = join(workDir, 'server.log')
    const serverLog = createWriteStream(logFile)
    const nodeArgs = []
    if (args['cpu-prof']) {
      profileDir = join(BENCH, 'profiles')
      mkdirSync(profileDir, { recursive: true })
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`)
    }
    server = spawn(process.execPath, [...nodeArgs, join(ROOT, 'dist', 'src', 'main.js')], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    server.stdout.pipe(serverLog)
    server.stderr.pipe(serverLog)
    const base = `http://127.0.0.1:${port}`
    await waitHttp(`${base}/health/ready/`, server, logFile)
    await sleep(500)
    const serverIdleRssKb = readStatusKb(server.pid, 'VmRSS')
    log(
      `server pid ${server.pid} ready on ${base}, idle RSS ${serverIdleRssKb ? Math.round(serverIdleRssKb / 1024) : '?'} MiB`,
    )

    load = startLoad()
    await load.ready

    // ---- scenarios ----
    const admin = { authorization: `Bearer ${fixture.adminToken}` }
    const customerTokens = fixture.customers.map((c) => c.token)
    const stormStart = new Date(dayStart(364) + 12 * 3600_000)
    const stormEnd = new Date(stormStart.getTime() + 15 * 60_000)
    const scenarios = [
      {
        key: 'health',
        name: 'GET /health/',
        describe:
          'liveness route of the full app (security headers, CORS, auth and body hooks; no database)',
        kind: 'static',
        path: '/health/',
      },
      {
        key: 'bare',
        name: 'bare Fastify {"status":"ok"}',
        describe: 'one route on a bare Fastify in its own process: the HTTP ceiling',
        target: 'bare',
        kind: 'static',
        path: '/health/',
      },
      {
        key: 'login',
        name: 'POST /api/auth/login/',
        describe:
          'argon2id verify (19 MiB, t=2) + refresh token insert; bounded by argon2 by design',
        kind: 'login',
        method: 'POST',
        path: '/api/auth/login/',
        usernames: fixture.customers.map((c) => c.username),
        password: fixture.password,
      },
      {
        key: 'list-admin',
        name: 'reservations list (admin)',
        describe: `GET /api/reservations/ as admin: first page of 20 of all ${Object.values(
          fixture.counts,
        )
          .reduce((a, b) => a + b, 0)
          .toLocaleString('en-US')} (count + page)`,
        kind: 'static',
        path: '/api/reservations/',
        headers: admin,
      },
      {
        key: 'list-customer',
        name: 'reservations list (customer)',
        describe: `GET /api/reservations/ as each of the ${customerTokens.length} customers in turn (own reservations, page of 20)`,
        kind: 'rotate-token',
        path: '/api/reservations/',
        tokens: customerTokens,
      },
      {
        key: 'availability',
        name: 'availability (busy day)',
        describe: `GET /api/availability/?date=${fixture.busyDay} (${fixture.busyDayReservations} reservations that day, 3 barbers, 15-min slots)`,
        kind: 'static',
        path: `/api/availability/?date=${fixture.busyDay}`,
      },
      {
        key: 'dashboard',
        name: 'dashboard stats (admin)',
        describe: 'GET /api/dashboard/stats/ as admin: aggregates over all reservations',
        kind: 'static',
        path: '/api/dashboard/stats/',
        headers: admin,
      },
      {
        key: 'create',
        name: 'create (free slots)',
        describe: `POST /api/reservations/ by customers in turn, each request a different free 15-min slot a year ahead; ${
          {
            mixed: 'half name a barber, half let the server assign one',
            named: 'each names a barber',
            auto: 'the server assigns the barber',
          }[args['create-staff']]
        }`,
        kind: 'create',
        method: 'POST',
        path: '/api/reservations/',
        tokens: customerTokens,
        create: {
          baseDayMs: dayStart(365),
          staffIds: fixture.staffIds,
          serviceId: fixture.services.trim,
          mode: args['create-staff'],
        },
      },
      {
        key: 'storm',
        name: `conflict storm (${STORM} → 1 slot)`,
        describe: `${STORM} concurrent POSTs for the same barber and slot (${stormStart.toISOString()}), from ${customerTokens.length} customers in turn: exactly one 201 expected`,
        kind: 'rotate-token',
        method: 'POST',
        path: '/api/reservations/',
        tokens: customerTokens,
        body: {
          start_time: stormStart.toISOString(),
          staff: fixture.staffIds[0],
          service: fixture.services.trim,
        },
        connections: STORM,
        amount: STORM,
      },
    ].filter((s) => !only || only.has(s.key))

    const startBare = async () => {
      const barePort = await freePort()
      bare = fork(join(BENCH, 'lib', 'bare-server.mjs'), [], {
        env: { ...env, PORT: String(barePort) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      await new Promise((resolve, reject) => {
        bare.once('message', resolve)
        bare.once('exit', (c) => reject(new Error(`bare server exited (${c})`)))
      })
      return { url: `http://127.0.0.1:${barePort}`, pid: bare.pid }
    }

    // The health/bare ratio from one pair of runs minutes apart moves with whatever else the
    // machine does; alternate short runs of the two and take the median of the ratios.
    // Run right after the two scenarios, before any write fills the outbox the in-process
    // runner then works through.
    const healthScenario = scenarios.find((s) => s.key === 'health')
    const bareScenario = scenarios.find((s) => s.key === 'bare')
    const ratioRounds = []
    const runRatioRounds = async () => {
      const { url: bareUrl } = await startBare()
      const roundSeconds = Math.min(duration, 3)
      process.stdout.write(
        `  health/bare ratio, ${RATIO_ROUNDS} alternating ${roundSeconds}-s rounds: `,
      )
      for (let i = 0; i < RATIO_ROUNDS; i++) {
        const spec = { connections, duration: roundSeconds, warmup: 0 }
        const h = await load.run({ ...healthScenario, ...spec, url: base }, 'measure')
        const b = await load.run({ ...bareScenario, ...spec, url: bareUrl }, 'measure')
        ratioRounds.push(h.reqPerSec / b.reqPerSec)
        process.stdout.write(`${(100 * ratioRounds.at(-1)).toFixed(0)} % `)
      }
      process.stdout.write('\n')
      await stopChild(bare, 'bare server')
      bare = undefined
    }

    const rows = []
    let storm
    for (const s of scenarios) {
      let url = base
      let pid = server.pid
      if (s.target === 'bare') {
        ;({ url, pid } = await startBare())
      }
      if (s.kind !== 'create' && s.method !== 'POST') {
        // Preflight: one request must answer 200, or the figures would measure an error path.
        const res = await fetch(`${url}${s.path}`, {
          headers: s.headers ?? (s.tokens ? { authorization: `Bearer ${s.tokens[0]}` } : {}),
        })
        if (res.status !== 200)
          throw new Error(
            `${s.name}: preflight answered ${res.status}: ${(await res.text()).slice(0, 300)}`,
          )
      }
      process.stdout.write(`  ${s.name} … `)
      const spec = { ...s, url, connections: s.connections ?? connections, duration, warmup }
      if (!s.amount) {
        await load.run(spec, 'warmup')
        await drain(base)
      }
      const stopRss = rssSampler(pid)
      const result = await load.run(spec, 'measure')
      const peakRssKb = await stopRss()
      const row = { ...s, result, peakRssKb }
      delete row.tokens
      delete row.usernames
      delete row.password
      delete row.headers
      rows.push(row)
      process.stdout.write(
        `${Math.round(rate(row))} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, codes ${JSON.stringify(result.statusCodes)}` +
          `${result.errors ? `, ${result.errors} errors` : ''}${result.timeouts ? `, ${result.timeouts} timeouts` : ''}\n`,
      )
      if (s.target === 'bare') {
        await stopChild(bare, 'bare server')
        bare = undefined
        if (healthScenario) await runRatioRounds()
      }
      await drain(base)
      if (s.key === 'storm') {
        const res = await fetch(
          `${base}/api/reservations/?status=pending,confirmed&staff=${fixture.staffIds[0]}&start_after=${encodeURIComponent(
            new Date(stormStart.getTime() - 3600_000).toISOString(),
          )}&start_before=${encodeURIComponent(stormEnd.toISOString())}`,
          { headers: admin },
        )
        const page = await res.json()
        const created = result.statusCodes['201'] ?? 0
        const conflicts = result.statusCodes['409'] ?? 0
        storm = {
          sent: STORM,
          created,
          conflicts,
          other: result.requests - created - conflicts + result.errors + result.timeouts,
          activeAfter: page.count,
          ok: created === 1 && conflicts === STORM - 1 && page.count === 1,
        }
        log(
          `    storm check: ${created} × 201, ${conflicts} × 409, ${storm.other} other; ${page.count} active in the slot → ${storm.ok ? 'OK' : 'FAILED'}`,
        )
      } else if (result.non2xx || result.errors || result.timeouts) {
        log(
          `    WARNING: ${s.name} had failures: ${JSON.stringify(result.statusCodes)}, ${result.errors} errors, ${result.timeouts} timeouts`,
        )
      }
    }

    const serverPeakRssKb = readStatusKb(server.pid, 'VmHWM')
    await load.stop()
    load = undefined
    await stopChild(server, 'server')
    serverLog.end()
    const serverWarnings = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
    server = undefined

    const health = rows.find((r) => r.key === 'health')
    const bareRow = rows.find((r) => r.key === 'bare')
    const cpus = os.cpus()
    const report = {
      date: new Date().toISOString(),
      machine: {
        cpu: cpus[0]?.model?.trim() ?? 'unknown',
        cores: cpus.length,
        ramGiB: (os.totalmem() / 2 ** 30).toFixed(1),
        os: `${os.type()} ${os.release()} ${os.arch()}`,
        loadAvgAtStart: Number(loadAtStart.toFixed(2)),
        loadAvgAtEnd: Number(os.loadavg()[0].toFixed(2)),
      },
      versions: {
        node: process.version,
        fastify: versionOf('fastify'),
        kysely: versionOf('kysely'),
        autocannon: versionOf('autocannon'),
      },
      db: {
        engine,
        version: fixture.dbVersion,
        where:
          engine === 'sqlite'
            ? 'fresh temp file, WAL'
            : `throwaway database on ${database.label.split('/')[0]}`,
      },
      settings: { connections, duration, warmup, stormSize: STORM, openingHours: OPENING_HOURS },
      fixture: {
        customers: fixture.customers.length,
        barbers: fixture.staffIds.length,
        services: Object.keys(fixture.services).length,
        reservations: Object.values(fixture.counts).reduce((a, b) => a + b, 0),
        counts: fixture.counts,
        firstDay: fixture.firstDay,
        lastDay: fixture.lastDay,
        busyDay: fixture.busyDay,
        seedMs: fixture.seedMs,
      },
      scenarios: rows,
      healthVsBare: ratioRounds.length
        ? median(ratioRounds)
        : health && bareRow
          ? rate(health) / rate(bareRow)
          : null,
      healthVsBareRounds: ratioRounds,
      storm,
      serverIdleRssKb,
      serverPeakRssKb,
      serverWarnings,
      totalSeconds: (Date.now() - started) / 1000,
    }
    report.comparison = comparisonRows(report)

    log('')
    log(consoleTable(rows))
    log('')
    if (report.healthVsBare != null)
      log(`GET /health/ = ${(100 * report.healthVsBare).toFixed(0)} % of the bare Fastify route`)
    if (storm)
      log(
        `conflict storm: ${storm.created} × 201, ${storm.conflicts} × 409 → ${storm.ok ? 'OK' : 'FAILED'}`,
      )
    for (const c of report.comparison) {
      log(`vs Django ${c.name}: ${Math.round(c.ours)} / ${c.django} req/s = ${c.ratio.toFixed(1)}×`)
    }
    if (serverWarnings.length) {
      log(
        `server logged ${serverWarnings.length} warning/error line(s); first: ${serverWarnings[0].slice(0, 300)}`,
      )
    }
    log(
      `server peak RSS (VmHWM): ${serverPeakRssKb ? (serverPeakRssKb / 1024).toFixed(0) : '?'} MiB; total ${report.totalSeconds.toFixed(0)} s`,
    )

    if (save) {
      const dir = join(BENCH, 'results')
      mkdirSync(dir, { recursive: true })
      const stem = `${report.date.slice(0, 10)}-${engine}`
      const md = markdown(report)
      writeFileSync(join(dir, `${stem}.json`), `${JSON.stringify(report, null, 2)}\n`)
      writeFileSync(join(dir, `${stem}.md`), md)
      writeFileSync(join(dir, `latest-${engine}.md`), md)
      log(`wrote bench/results/${stem}.json, ${stem}.md and latest-${engine}.md`)
    } else {
      log('results not saved (--only, --cpu-prof or --no-save)')
    }

    if (profileDir) {
      const newest = readdirSync(profileDir)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(profileDir, f))
        .sort()
        .pop()
      if (newest && existsSync(newest)) {
        log(`\nCPU profile of the server: ${newest}`)
        log(formatSummary(summariseProfile(newest, 25)))
      }
    }
    if (storm && !storm.ok) process.exitCode = 1
  } finally {
    if (load) await load.stop()
    if (bare) await stopChild(bare, 'bare server')
    if (server) await stopChild(server, 'server')
    for (const c of cleanups.reverse()) {
      try {
        await c()
      } catch (err) {
        log(`cleanup failed: ${err.message}`)
      }
    }
    rmSync(workDir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err?.stack ?? String(err))
  process.exit(1)
})
