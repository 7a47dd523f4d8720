// What the benchmark reads of processes from /proc (Linux): process trees, their memory, and
// where the CPU of a scenario went — the server's HTTP processes, its job process, the
// database server, the load generator and the rest of the machine.
import { readdirSync, readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { setInterval } from 'node:timers/promises'

/** /proc's clock ticks (USER_HZ: 100 on Linux) in milliseconds. */
const TICK_MS = 10

function readStatusKb(pid, field) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}

/** pid and all its descendants (the server may run several HTTP processes and a job runner). */
export function processTree(pid) {
  const out = []
  const walk = (p) => {
    out.push(p)
    let tasks
    try {
      tasks = readdirSync(`/proc/${p}/task`)
    } catch {
      return
    }
    for (const t of tasks) {
      let kids
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8')
      } catch {
        continue
      }
      for (const k of kids.trim().split(/\s+/).filter(Boolean)) walk(Number(k))
    }
  }
  walk(pid)
  return out
}

/** The sum of a status field (kB) over pid's process tree. */
export function treeKb(pid, field) {
  let sum = null
  for (const p of processTree(pid)) {
    const kb = readStatusKb(p, field)
    if (kb != null) sum = (sum ?? 0) + kb
  }
  return sum
}

/** Samples the VmRSS of pid's process tree every 100 ms until stopped; resolves to the maximum (kB). */
export function rssSampler(pid) {
  let peak = null
  let stopped = false
  const loop = (async () => {
    for await (const _ of setInterval(100)) {
      void _
      const kb = treeKb(pid, 'VmRSS')
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

/** utime + stime, and the same of its reaped children, in ms; null once the process is gone. */
function cpuMs(pid) {
  let stat
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // After the command name in parentheses: state, ppid, … utime (14th field), stime, cutime, cstime.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS
}

function fadeRole(pid) {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8')
    return /(?:^|\0)FADE_ROLE=([^\0]*)/.exec(env)?.[1] ?? null
  } catch {
    return null
  }
}

function comm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return ''
  }
}

/** The machine's busy and stolen time (ms, all cores) from /proc/stat's first line. */
function machineMs() {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number)
  return { busy: (user + nice + system + irq + softirq) * TICK_MS, steal: steal * TICK_MS }
}

/** Process names of the database servers (SQLite runs inside the server under test). */
export const DATABASE_PROCESSES = {
  sqlite: [],
  mysql: ['mariadbd', 'mysqld'],
  postgres: ['postgres'],
}

/**
 * A reading of the CPU time so far: `server` is the process tree under test (its processes
 * grouped by FADE_ROLE: web, jobs, and the primary), `load` the load generator's tree,
 * `databaseNames` the database server's process names. Subtract two with `cpuBetween`.
 */
export function cpuReading({ server, load, databaseNames }) {
  const groups = { http: 0, jobs: 0, primary: 0, database: 0, load: 0 }
  const tree = processTree(server)
  for (const pid of tree) {
    const role = fadeRole(pid)
    // A lone process (the bare route) is all HTTP.
    const group =
      role === 'web' || tree.length === 1 ? 'http' : role === 'jobs' ? 'jobs' : 'primary'
    groups[group] += cpuMs(pid) ?? 0
  }
  for (const pid of processTree(load)) groups.load += cpuMs(pid) ?? 0
  if (databaseNames.length) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || !databaseNames.includes(comm(entry))) continue
      // PostgreSQL's backends come and go; the postmaster's cutime holds the ones that ended.
      groups.database += cpuMs(entry) ?? 0
    }
  }
  return { at: performance.now(), groups, machine: machineMs() }
}

/** ms of CPU per group between two readings, the rest of the machine, steal, and wall time. */
export function cpuBetween(a, b) {
  const groups = {}
  let sum = 0
  for (const k of Object.keys(a.groups)) {
    groups[k] = Math.max(0, b.groups[k] - a.groups[k])
    sum += groups[k]
  }
  return {
    wallMs: b.at - a.at,
    groups,
    rest: Math.max(0, b.machine.busy - a.machine.busy - sum),
    steal: b.machine.steal - a.machine.steal,
  }
}
