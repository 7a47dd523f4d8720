// Fade District load benchmark (the workload of issue 14). `npm run bench` builds, then runs:
//   node bench/run.mjs [--db sqlite|mysql|postgres|all] [--duration 10] [--quick]
//                      [--connections 50] [--only key,key] [--cpu-prof] [--no-save]
// Per database: an empty database, the production build started as `npm start` would,
// seeded through the HTTP API (16 barbers, 50 customers, 5,000 reservations over the
// coming weekdays), then restarted and driven by autocannon from another child process.
// Writes bench/results/<date>-<db>.{json,md} and bench/results/latest-<db>.md; exits
// non-zero on a double booking or a failed conflict storm.
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
import { setTimeout as sleep } from 'node:timers/promises'
import { clearTimeout, setTimeout } from 'node:timers'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { commitCeiling } from './lib/ceiling.mjs'
import { createBenchDatabase } from './lib/databases.mjs'
import {
  cpuBetween,
  cpuReading,
  DATABASE_PROCESSES,
  processTree,
  rssSampler,
  treeKb,
} from './lib/procfs.mjs'
import { formatSummary, summariseProfile } from './lib/profile-summary.mjs'
import {
  DB_TITLE,
  assess,
  comparisonRows,
  consoleTable,
  cpuTable,
  markdown,
  rate,
  summaryTable,
} from './lib/report.mjs'
import { createAdmin, databaseVersion, dayStart, OPEN_FROM, OPEN_TO, seed } from './lib/seed.mjs'

const BENCH = dirname(fileURLToPath(import.meta.url))
const ROOT = dirname(BENCH)
const OPENING_HOURS = `mon-sun ${hhmm(OPEN_FROM)}-${hhmm(OPEN_TO)}`
const STORM = 200
const RATIO_ROUNDS = 5
/** Creates are spread over this many of the barbers (issue 14's workload). */
const CREATE_BARBERS = 10
const SCENARIO_KEYS =
  'health,bare,health-backlog,login,list-admin,list-customer,availability,dashboard,create,storm'

function median(xs) {
  const v = [...xs].sort((a, b) => a - b)
  const m = Math.floor(v.length / 2)
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}

function hhmm(min) {
  return `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`
}

const HELP = `usage: node bench/run.mjs [options]   (npm run bench -- [options])
  --db sqlite|mysql|postgres|all
                               database (default sqlite: a fresh temp file; mysql/postgres:
                               a throwaway database on 127.0.0.1, BENCH_MYSQL_URL / BENCH_POSTGRES_URL);
                               all: the three, one after the other, and a summary at the end
  --duration N                 seconds per scenario (default 10)
  --quick                      3 s per scenario
  --connections N              concurrent connections (default 50)
  --only a,b                   only these scenarios (${SCENARIO_KEYS})
  --cpu-prof                   profile the server (node --cpu-prof) into bench/profiles/ and summarise it
  --create-staff mixed|named|auto
                               create scenario: half name a barber (default), all do, or none do
  --no-save                    do not write bench/results/ (implied by --only, --cpu-prof
                               and a non-default --create-staff)
WEB_CONCURRENCY from the environment is passed to the server (unset: the server's own
default, as with npm start) and recorded in the results.`

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
const ENGINES = ['sqlite', 'mysql', 'postgres']
const engines = args.db === 'all' ? ENGINES : [args.db === 'mariadb' ? 'mysql' : args.db]
if (!engines.every((e) => ENGINES.includes(e))) {
  console.error(`--db: expected sqlite, mysql, postgres or all, got ${args.db}`)
  process.exit(2)
}
const webConcurrency = process.env.WEB_CONCURRENCY?.trim() || null
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

/* ---------- the server under test ---------- */

/** The entry point `npm start` runs (package.json "start": "node <file>"). */
function startEntry() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  const m = /^node\s+(\S+)$/.exec(pkg.scripts?.start?.trim() ?? '')
  return join(ROOT, m ? m[1] : join('dist', 'src', 'main.js'))
}

async function startServer({ env, workDir, name, nodeArgs = [] }) {
  const logFile = join(workDir, `${name}.log`)
  const serverLog = createWriteStream(logFile)
  const child = spawn(process.execPath, [...nodeArgs, startEntry()], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.pipe(serverLog)
  child.stderr.pipe(serverLog)
  const base = `http://${env.HOST}:${env.PORT}`
  await waitHttp(`${base}/health/ready/`, child, logFile)
  // Several HTTP processes may still be starting: wait until the process tree stops growing.
  let processes = processTree(child.pid).length
  for (let stable = 0, i = 0; stable < 5 && i < 100; i++) {
    await sleep(200)
    const n = processTree(child.pid).length
    stable = n === processes ? stable + 1 : 0
    processes = n
  }
  return {
    child,
    base,
    logFile,
    processes,
    async stop() {
      await stopChild(child, name)
      await new Promise((r) => serverLog.end(r))
    },
  }
}

/* ---------- database checks beside the app ---------- */

const ACTIVE = "('pending', 'confirmed')"

/** Pairs of active reservations of one barber whose held times overlap: must be 0. */
async function doubleBookings(database) {
  const q = (until) =>
    `select count(*) as n from reservations a join reservations b
       on a.staff_id = b.staff_id and a.id < b.id
      and a.start_time < b.${until} and b.start_time < a.${until}
    where a.status in ${ACTIVE} and b.status in ${ACTIVE}`
  let rows
  try {
    rows = await database.query(q('hold_until'))
  } catch {
    rows = await database.query(q('end_time'))
  }
  return Number(rows[0]?.n ?? rows[0]?.N ?? 0)
}

/** Waits (up to 60 s) until no email is waiting in the outbox. */
async function outboxSettled(database) {
  const until = Date.now() + 60_000
  while (Date.now() < until && (await outboxCount(database, `status <> 'done'`)) > 0)
    await sleep(100)
}

async function outboxCount(database, where) {
  const rows = await database.query(`select count(*) as n from outbox where ${where}`)
  return Number(rows[0]?.n ?? 0)
}

/* ---------- one database ---------- */

async function runOne(engine, { workDir, cleanups, handles }) {
  const started = Date.now()
  const loadAtStart = os.loadavg()[0]
  log(
    `\n=== Fade District benchmark: ${DB_TITLE[engine]}, ${connections} connections, ${duration} s per scenario, WEB_CONCURRENCY=${webConcurrency ?? '(server default)'} ===`,
  )
  const database = await createBenchDatabase(engine, workDir)
  cleanups.push(() => database.drop())
  const port = await freePort()
  const emailDir = mkdtempSync(join(workDir, `emails-${engine}-`))
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
    ADMIN_EMAIL: 'shop@fade-district.test',
    SHOP_TIMEZONE: 'UTC',
    OPENING_HOURS,
    BOOKING_HORIZON_DAYS: '730',
    MAX_ACTIVE_BOOKINGS: '10000',
    REGISTER_PER_HOUR: '1000000',
    LOGIN_MAX_FAILURES: '1000',
    ACCESS_TOKEN_MINUTES: '240',
    CORS_ALLOWED_ORIGINS: '',
    PORT: String(port),
    HOST: '127.0.0.1',
    ...(webConcurrency ? { WEB_CONCURRENCY: webConcurrency } : {}),
  }

  // ---- seeding, through the API of a first server process ----
  log(`seeding ${database.label} …`)
  await createAdmin({ root: ROOT, env })
  await database.beforeSeeding?.()
  const seeder = await startServer({ env, workDir, name: `seeding-server-${engine}` })
  handles.server = seeder
  let fixture
  try {
    fixture = await seed({
      base: seeder.base,
      env,
      log,
      concurrency: engine === 'sqlite' ? 4 : 8,
    })
  } finally {
    await seeder.stop()
    handles.server = undefined
  }
  await database.afterSeeding?.()
  // The seeded history's emails went out long ago: the measured server must not spend the
  // run delivering them (the health-backlog scenario puts them back on purpose).
  await database.query(
    `update outbox set status = 'done', locked_until = null, sent_at = created_at where status <> 'done'`,
  )
  const seededEmails = await outboxCount(database, `status = 'done'`)
  const dbVersion = await databaseVersion(database)
  log(
    `  seeded in ${(fixture.seedMs / 1000).toFixed(1)} s: ${fixture.customers.length} customers, ${fixture.staffIds.length} barbers, ` +
      `${Object.keys(fixture.services).length} services, reservations ${JSON.stringify(fixture.counts)} over ${fixture.days} weekdays ${fixture.firstDay} … ${fixture.lastDay}; ` +
      `busy day ${fixture.busyDay} (${fixture.busyDayReservations}); ${seededEmails} emails in the outbox`,
  )

  // ---- the server under test: a fresh start, as `npm start` ----
  const nodeArgs = []
  let profileDir
  if (args['cpu-prof']) {
    profileDir = join(BENCH, 'profiles')
    mkdirSync(profileDir, { recursive: true })
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`)
  }
  const srv = await startServer({ env, workDir, name: `server-${engine}`, nodeArgs })
  handles.server = srv
  const server = srv.child
  const { base } = srv
  const serverIdleRssKb = treeKb(server.pid, 'VmRSS')
  log(
    `server pid ${server.pid} ready on ${base}: ${srv.processes} process(es), idle RSS ${serverIdleRssKb ? Math.round(serverIdleRssKb / 1024) : '?'} MiB`,
  )

  const load = startLoad()
  handles.load = load
  await load.ready

  // ---- scenarios ----
  const admin = { authorization: `Bearer ${fixture.adminToken}` }
  const customerTokens = fixture.customers.map((c) => c.token)
  const stormStart = new Date(dayStart(364) + 12 * 3600_000)
  const stormEnd = new Date(stormStart.getTime() + 15 * 60_000)
  const createStaff = fixture.staffIds.slice(0, CREATE_BARBERS)
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
      key: 'health-backlog',
      name: 'GET /health/ under backlog',
      describe: `GET /health/ while the in-process job runner delivers a backlog of the ${seededEmails.toLocaleString('en-US')} seeded emails (put back in the outbox just before; no warm-up)`,
      kind: 'static',
      path: '/health/',
      backlog: true,
    },
    {
      key: 'login',
      name: 'POST /api/auth/login/',
      describe: 'argon2id verify + refresh token insert; bounded by argon2 by design',
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
      describe: `GET /api/availability/?date=${fixture.busyDay} (${fixture.busyDayReservations} reservations that day, ${fixture.staffIds.length} barbers, 15-min slots)`,
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
      describe: `POST /api/reservations/ by customers in turn, each request a different free 15-min slot a year ahead, ${CREATE_BARBERS} requests per quarter hour; ${
        {
          mixed: `half name one of ${CREATE_BARBERS} barbers, half let the server assign one`,
          named: `each names one of ${CREATE_BARBERS} barbers`,
          auto: 'the server assigns the barber',
        }[args['create-staff']]
      } (each booking queues an email to ADMIN_EMAIL)`,
      kind: 'create',
      method: 'POST',
      path: '/api/reservations/',
      tokens: customerTokens,
      create: {
        baseDayMs: dayStart(365),
        staffIds: createStaff,
        serviceId: fixture.services.trim,
        mode: args['create-staff'],
      },
    },
    {
      key: 'storm',
      name: `conflict storm (${STORM} → 1 slot)`,
      describe: `${STORM} concurrent POSTs for the same barber and slot (${stormStart.toISOString()}), from ${customerTokens.length} customers in turn: exactly one 201 and ${STORM - 1} × 409 expected`,
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
    const bare = fork(join(BENCH, 'lib', 'bare-server.mjs'), [], {
      env: { ...env, PORT: String(barePort) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    handles.bare = bare
    await new Promise((resolve, reject) => {
      bare.once('message', resolve)
      bare.once('exit', (c) => reject(new Error(`bare server exited (${c})`)))
    })
    return { url: `http://127.0.0.1:${barePort}`, pid: bare.pid }
  }
  const stopBare = async () => {
    await stopChild(handles.bare, 'bare server')
    handles.bare = undefined
  }

  // The health/bare ratio from one pair of runs minutes apart moves with whatever else the
  // machine does; alternate short runs of the two and take the median of the ratios.
  // Run right after the two scenarios, before any write fills the outbox.
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
    await stopBare()
  }

  const rows = []
  let storm
  let backlog
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
    if (s.backlog) {
      // Put the seeded emails back in the outbox and wait until the runner is on them.
      await database.query(
        `update outbox set status = 'pending', attempts = 0, locked_until = null, sent_at = null, available_at = created_at where status = 'done'`,
      )
      const queued = await outboxCount(database, `status <> 'done'`)
      let waited = 0
      while (waited < 5000 && (await outboxCount(database, `status <> 'done'`)) >= queued) {
        await sleep(100)
        waited += 100
      }
      backlog = { queued, startedAfterMs: waited }
    }
    process.stdout.write(`  ${s.name} … `)
    const spec = { ...s, url, connections: s.connections ?? connections, duration, warmup }
    if (!s.amount && !s.backlog) {
      await load.run(spec, 'warmup')
      await drain(base)
    }
    const backlogAtStart = s.backlog ? await outboxCount(database, `status <> 'done'`) : null
    const cpuOf = { server: pid, load: load.child.pid, databaseNames: DATABASE_PROCESSES[engine] }
    const cpuBefore = cpuReading(cpuOf)
    const stopRss = rssSampler(pid)
    const result = await load.run(spec, 'measure')
    const peakRssKb = await stopRss()
    const row = { ...s, result, peakRssKb }
    delete row.tokens
    delete row.usernames
    delete row.password
    delete row.headers
    const designed = s.key === 'storm' ? (result.statusCodes['409'] ?? 0) : 0
    row.unexpected = result.non2xx - designed + result.errors + result.timeouts
    rows.push(row)
    process.stdout.write(
      `${Math.round(rate(row))} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, codes ${JSON.stringify(result.statusCodes)}` +
        `${result.errors ? `, ${result.errors} errors` : ''}${result.timeouts ? `, ${result.timeouts} timeouts` : ''}\n`,
    )
    if (s.target === 'bare') {
      row.cpu = { ...cpuBetween(cpuBefore, cpuReading(cpuOf)), requests: result.requests }
      await stopBare()
      if (healthScenario) await runRatioRounds()
    }
    if (s.backlog) {
      const left = await outboxCount(database, `status <> 'done'`)
      backlog = { ...backlog, atStart: backlogAtStart, atEnd: left }
      row.backlog = backlog
      log(
        `    backlog: ${backlog.queued} emails queued, ${backlogAtStart} undelivered when the run started, ${left} at its end` +
          (left === 0
            ? ' — WARNING: the runner finished before the run did; part of it measured no backlog'
            : ''),
      )
      // The rest is not the next scenario's work: take what is still waiting out of the
      // outbox, and let the runner finish the ones it holds.
      await database.query(
        `update outbox set status = 'done', sent_at = created_at where status = 'pending'`,
      )
      const t0 = Date.now()
      while (Date.now() - t0 < 60_000 && (await outboxCount(database, `status <> 'done'`)) > 0)
        await sleep(250)
      backlog.settledAfterMs = Date.now() - t0
    }
    await drain(base)
    if (!s.backlog && s.target !== 'bare') {
      // Where the CPU went, per request: from the start of the measured run until the server
      // is idle again, the emails a booking queued delivered (they are part of its work).
      if (s.kind === 'create' || s.method === 'POST') await outboxSettled(database)
      row.cpu = { ...cpuBetween(cpuBefore, cpuReading(cpuOf)), requests: result.requests }
    }
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
    } else if (row.unexpected) {
      log(
        `    WARNING: ${s.name} had ${row.unexpected} unexpected answers: ${JSON.stringify(result.statusCodes)}, ${result.errors} errors, ${result.timeouts} timeouts`,
      )
    }
  }

  const serverPeakRssKb = treeKb(server.pid, 'VmHWM')
  await load.stop()
  handles.load = undefined
  await srv.stop()
  handles.server = undefined
  const serverWarnings = readFileSync(srv.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim())

  // Every active reservation in the database, seeded, created and stormed: no two of one
  // barber may overlap.
  const overlaps = await doubleBookings(database)
  const activeRows = await database.query(
    `select count(*) as n from reservations where status in ${ACTIVE}`,
  )
  const doubleBooking = { overlappingPairs: overlaps, active: Number(activeRows[0]?.n ?? 0) }
  log(
    `double-booking check: ${doubleBooking.overlappingPairs} overlapping pair(s) among ${doubleBooking.active} active reservations → ${overlaps === 0 ? 'OK' : 'DOUBLE BOOKING'}`,
  )

  // What a booking's commit is measured against: the database's bare one-row commit rate.
  const createRow = rows.find((r) => r.key === 'create')
  let commitLimit = null
  if (createRow) {
    commitLimit = await commitCeiling(database, { connections, seconds: Math.min(duration, 5) })
    log(
      `commit ceiling: ${commitLimit.perSecond.toFixed(0)} one-row write transactions/s at ${commitLimit.connections} connection(s) (${commitLimit.statement}); create = ${((100 * rate(createRow)) / commitLimit.perSecond).toFixed(1)} % of it`,
    )
  }

  const health = rows.find((r) => r.key === 'health')
  const bareRow = rows.find((r) => r.key === 'bare')
  const cpus = os.cpus()
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus[0]?.model?.trim() ?? 'unknown',
      cores: cpus.length,
      availableParallelism: os.availableParallelism(),
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
      version: dbVersion,
      where:
        engine === 'sqlite'
          ? 'fresh temp file'
          : `throwaway database on ${database.label.split('/')[0]}`,
    },
    server: {
      command: `node ${startEntry().slice(ROOT.length + 1)}`,
      webConcurrency:
        webConcurrency ?? `unset (server default; ${os.availableParallelism()} cores available)`,
      processes: srv.processes,
      env: {
        ADMIN_EMAIL: env.ADMIN_EMAIL,
        EMAIL_BACKEND: env.EMAIL_BACKEND,
        SHOP_TIMEZONE: env.SHOP_TIMEZONE,
        OPENING_HOURS: env.OPENING_HOURS,
        MAX_ACTIVE_BOOKINGS: env.MAX_ACTIVE_BOOKINGS,
        BOOKING_HORIZON_DAYS: env.BOOKING_HORIZON_DAYS,
        REDIS_URL: '(unset: jobs in-process)',
      },
    },
    settings: {
      connections,
      duration,
      warmup,
      stormSize: STORM,
      openingHours: OPENING_HOURS,
      createBarbers: CREATE_BARBERS,
      quick: args.quick,
    },
    fixture: {
      customers: fixture.customers.length,
      barbers: fixture.staffIds.length,
      services: Object.keys(fixture.services).length,
      reservations: Object.values(fixture.counts).reduce((a, b) => a + b, 0),
      counts: fixture.counts,
      firstDay: fixture.firstDay,
      lastDay: fixture.lastDay,
      weekdays: fixture.days,
      busyDay: fixture.busyDay,
      busyDayReservations: fixture.busyDayReservations,
      seededEmails,
      seedMs: fixture.seedMs,
      seededThrough:
        'the HTTP API of the production build (createsuperuser --no-input for the admin)',
    },
    scenarios: rows,
    healthVsBare: ratioRounds.length
      ? median(ratioRounds)
      : health && bareRow
        ? rate(health) / rate(bareRow)
        : null,
    healthVsBareRounds: ratioRounds,
    backlog,
    storm,
    doubleBooking,
    commitCeiling: commitLimit,
    serverIdleRssKb,
    serverPeakRssKb,
    serverWarnings,
    totalSeconds: (Date.now() - started) / 1000,
  }
  report.comparison = comparisonRows(report)
  report.assessment = assess(report)

  log('')
  log(consoleTable(report))
  const cpu = cpuTable(report)
  if (cpu) log(`\n${cpu}`)
  log('')
  if (report.healthVsBare != null)
    log(
      `GET /health/ = ${(100 * report.healthVsBare).toFixed(0)} % of the bare Fastify route (median of alternating rounds)`,
    )
  if (storm)
    log(
      `conflict storm: ${storm.created} × 201, ${storm.conflicts} × 409 → ${storm.ok ? 'OK' : 'FAILED'}`,
    )
  const a = report.assessment
  log(
    `targets (issue 14): ${a.met} met, ${a.notMet} not met${a.notMet ? `: ${a.failed.join('; ')}` : ''}`,
  )
  if (serverWarnings.length) {
    log(
      `server logged ${serverWarnings.length} warning/error line(s); first: ${serverWarnings[0].slice(0, 300)}`,
    )
  }
  log(
    `server peak RSS (VmHWM, summed over its ${srv.processes} process(es)): ${serverPeakRssKb ? (serverPeakRssKb / 1024).toFixed(0) : '?'} MiB; total ${report.totalSeconds.toFixed(0)} s`,
  )

  if (save) {
    const dir = join(BENCH, 'results')
    mkdirSync(dir, { recursive: true })
    const stem = `${report.date.slice(0, 10)}-${engine}${args.quick ? '-quick' : ''}`
    const md = markdown(report)
    writeFileSync(join(dir, `${stem}.json`), `${JSON.stringify(report, null, 2)}\n`)
    writeFileSync(join(dir, `${stem}.md`), md)
    if (!args.quick) writeFileSync(join(dir, `latest-${engine}.md`), md)
    log(
      `wrote bench/results/${stem}.json and ${stem}.md${args.quick ? ' (a --quick run does not replace latest-' + engine + '.md)' : ` and latest-${engine}.md`}`,
    )
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
  return report
}

/* ---------- main ---------- */

async function main() {
  const loadAtStart = os.loadavg()[0]
  if (loadAtStart > os.cpus().length * 0.25) {
    log(
      `note: load average is ${loadAtStart.toFixed(2)} on ${os.cpus().length} cores: other work on this machine will skew the figures`,
    )
  }
  const workDir = mkdtempSync(join(os.tmpdir(), 'fade-bench-'))
  const handles = {}
  const reports = []
  const failures = []
  try {
    for (const engine of engines) {
      const cleanups = []
      try {
        reports.push(await runOne(engine, { workDir, cleanups, handles }))
      } catch (err) {
        failures.push(`${DB_TITLE[engine]}: ${err?.message ?? err}`)
        console.error(`\n${DB_TITLE[engine]} run FAILED: ${err?.stack ?? err}`)
      } finally {
        if (handles.load) await handles.load.stop()
        if (handles.bare) await stopChild(handles.bare, 'bare server')
        if (handles.server) await handles.server.stop()
        Object.keys(handles).forEach((k) => delete handles[k])
        for (const c of cleanups.reverse()) {
          try {
            await c()
          } catch (err) {
            log(`cleanup failed: ${err.message}`)
          }
        }
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true })
  }

  if (reports.length > 1) {
    log('\n=== summary (issue 14 workload) ===')
    log(summaryTable(reports))
    if (save && !args.quick) {
      const stem = `${new Date().toISOString().slice(0, 10)}-all`
      const md = [
        `# Fade District benchmark — ${reports.map((r) => DB_TITLE[r.db.engine]).join(', ')}`,
        '',
        `${reports[0].date} … ${reports.at(-1).date}; details in the per-database reports (${reports.map((r) => `\`${r.date.slice(0, 10)}-${r.db.engine}.md\``).join(', ')}).`,
        '',
        summaryTable(reports, { markdown: true }),
        '',
      ].join('\n')
      writeFileSync(join(BENCH, 'results', `${stem}.md`), md)
      writeFileSync(join(BENCH, 'results', 'latest-all.md'), md)
      log(`wrote bench/results/${stem}.md and latest-all.md`)
    }
  }
  for (const r of reports) {
    if (r.doubleBooking.overlappingPairs > 0)
      failures.push(
        `${DB_TITLE[r.db.engine]}: DOUBLE BOOKING — ${r.doubleBooking.overlappingPairs} overlapping pair(s) of active reservations`,
      )
    if (r.storm && !r.storm.ok)
      failures.push(
        `${DB_TITLE[r.db.engine]}: conflict storm FAILED (${r.storm.created} × 201, ${r.storm.conflicts} × 409, ${r.storm.other} other, ${r.storm.activeAfter} active after)`,
      )
  }
  if (failures.length) {
    console.error(`\nBENCH FAILED:\n- ${failures.join('\n- ')}`)
    process.exitCode = 1
  }
}

main().catch((err) => {
  console.error(err?.stack ?? String(err))
  process.exit(1)
})
