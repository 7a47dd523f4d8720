// The load generator: a child process of run.mjs, so autocannon never shares an event
// loop (or a CPU-time account) with the server under test. It receives one scenario at a
// time over IPC and answers with a compact result.
import autocannon from 'autocannon'

const SLOT_MS = 15 * 60_000
const SLOTS_PER_DAY = 64 // 06:00-22:00 in quarter hours
const OPEN_FROM_MS = 6 * 3600_000

/** Per-scenario counters survive the warm-up, so the measured run never reuses a slot. */
const counters = new Map()
function nextIndex(name) {
  const i = counters.get(name) ?? 0
  counters.set(name, i + 1)
  return i
}

/**
 * Slot i of the "free far future": each quarter hour gets exactly as many requests as
 * there are barbers; in mode 'mixed' even quarter hours name each barber once and odd ones
 * let the server pick (auto-assignment); 'named' and 'auto' do only one or the other.
 * Either way every request should get a 201.
 */
function freeSlot(spec, i) {
  const nStaff = spec.staffIds.length
  const quarter = Math.floor(i / nStaff)
  const k = i % nStaff
  const day = Math.floor(quarter / SLOTS_PER_DAY)
  const start =
    spec.baseDayMs + day * 86_400_000 + OPEN_FROM_MS + (quarter % SLOTS_PER_DAY) * SLOT_MS
  const body = { start_time: new Date(start).toISOString(), service: spec.serviceId }
  const named = spec.mode === 'named' || (spec.mode !== 'auto' && quarter % 2 === 0)
  if (named) body.staff = spec.staffIds[k]
  return body
}

function buildRequests(s) {
  const base = { method: s.method ?? 'GET', path: s.path, headers: { ...s.headers } }
  if (s.body !== undefined) {
    base.body = JSON.stringify(s.body)
    base.headers['content-type'] = 'application/json'
  }
  switch (s.kind) {
    case 'static':
      return [base]
    case 'rotate-token':
      // One customer after another (each connection walks the list from its own point).
      return [
        {
          ...base,
          setupRequest: (req) => {
            const t = s.tokens[nextIndex(s.name) % s.tokens.length]
            req.headers = { ...req.headers, authorization: `Bearer ${t}` }
            return req
          },
        },
      ]
    case 'login':
      return [
        {
          ...base,
          headers: { ...base.headers, 'content-type': 'application/json' },
          setupRequest: (req) => {
            const username = s.usernames[nextIndex(s.name) % s.usernames.length]
            req.body = JSON.stringify({ username, password: s.password })
            return req
          },
        },
      ]
    case 'create':
      return [
        {
          ...base,
          method: 'POST',
          headers: { ...base.headers, 'content-type': 'application/json' },
          setupRequest: (req) => {
            const i = nextIndex(s.name)
            req.headers = {
              ...req.headers,
              authorization: `Bearer ${s.tokens[i % s.tokens.length]}`,
            }
            req.body = JSON.stringify(freeSlot(s.create, i))
            return req
          },
        },
      ]
    default:
      throw new Error(`unknown scenario kind ${s.kind}`)
  }
}

function summarise(r, wallMs) {
  const codes = Object.fromEntries(
    Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]),
  )
  const total = Object.values(codes).reduce((a, b) => a + b, 0)
  return {
    requests: total,
    reqPerSec: r.requests.average,
    reqPerSecTotal: total / (wallMs / 1000),
    latency: {
      mean: r.latency.mean,
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
    },
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: codes,
    durationSec: r.duration,
    wallMs,
  }
}

/** One phase of a scenario: the warm-up (not reported) or the measured run. */
async function runScenario(s, phase) {
  const opts = {
    url: s.url,
    connections: s.connections,
    pipelining: 1,
    timeout: s.timeoutSec ?? 30,
    requests: buildRequests(s),
  }
  if (s.amount) opts.amount = s.amount
  else opts.duration = phase === 'warmup' ? s.warmup : s.duration
  const t0 = Date.now()
  const result = await autocannon(opts)
  return summarise(result, Date.now() - t0)
}

process.on('message', (msg) => {
  if (msg?.type === 'run') {
    runScenario(msg.scenario, msg.phase).then(
      (result) => process.send?.({ type: 'result', name: msg.scenario.name, result }),
      (err) =>
        process.send?.({
          type: 'error',
          name: msg.scenario.name,
          error: String(err?.stack ?? err),
        }),
    )
  } else if (msg?.type === 'exit') {
    process.exit(0)
  }
})
process.send?.({ type: 'ready' })
