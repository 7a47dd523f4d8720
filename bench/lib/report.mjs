// Formatting and judging: the console tables, the Markdown report, the targets of issue 14
// and the comparison with the original Django figures (bench/baseline-issue-14.json).
import { readFileSync } from 'node:fs'

/** The original's figures, ours when issue 14 was filed, and the issue's targets. */
export const BASELINE = JSON.parse(
  readFileSync(new URL('../baseline-issue-14.json', import.meta.url), 'utf8'),
)

export const DB_TITLE = { sqlite: 'SQLite', mysql: 'MariaDB/MySQL', postgres: 'PostgreSQL' }

const int = (n) => (n == null || Number.isNaN(n) ? '—' : Math.round(n).toLocaleString('en-US'))
const ms = (n) =>
  n == null
    ? '—'
    : n < 1
      ? '<1'
      : Number.isInteger(n) || n >= 100
        ? String(Math.round(n))
        : n.toFixed(1)
/** req/s: whole numbers, but one decimal below 100 (login runs at tens per second). */
const rps = (n) => (n == null || Number.isNaN(n) ? '—' : n < 100 ? n.toFixed(1) : int(n))
const mib = (kb) => (kb == null ? '—' : (kb / 1024).toFixed(0))
const pct = (x) => (x == null ? '—' : `${(100 * x).toFixed(x < 0.1 ? 1 : 0)} %`)

/** The figure we report as req/s: autocannon's per-second average, or total/wall for fixed-count runs. */
export function rate(row) {
  return row.amount ? row.result.reqPerSecTotal : row.result.reqPerSec
}

/** The original's figures for this engine (PostgreSQL is held against its MariaDB figures). */
function djangoFor(engine) {
  const d = BASELINE.django
  return d[engine === 'postgres' ? d.postgresComparesWith : engine] ?? {}
}

/** A row's share of the bare route of the same run (`/health/`: the median of alternating rounds). */
export function shareOf(report, row) {
  const bare = report.scenarios.find((r) => r.key === 'bare')
  if (row.key === 'bare') return bare ? 1 : null
  if (row.key === 'health' && report.healthVsBare != null) return report.healthVsBare
  return bare ? rate(row) / rate(bare) : null
}

/** The checks issue 14 sets for one scenario on one engine. */
function checksFor(report, row) {
  const engine = report.db.engine
  const t = BASELINE.targets
  const checks = []
  const minShare = t.share[row.key]?.[engine]
  if (minShare != null) {
    const share = shareOf(report, row)
    checks.push({
      what: `≥ ${pct(minShare)} of bare`,
      ok: share != null && share >= minShare,
      measurable: share != null,
    })
  }
  const maxP99 = t.p99MaxMs[row.key]
  if (maxP99 != null) {
    checks.push({
      what: `p99 < ${maxP99} ms`,
      ok: row.result.latency.p99 < maxP99,
      measurable: true,
    })
  }
  if (row.result.requests === 0) {
    // Nothing came back within the run (e.g. every login slower than a --quick run): no figure.
    checks.push({ what: 'answers within the run', ok: false, measurable: false })
  }
  if (row.key !== 'bare') {
    checks.push({
      what: row.key === 'storm' ? 'only 1 × 201 + 409s' : '0 non-2xx',
      ok: row.key === 'storm' ? Boolean(report.storm?.ok) : row.unexpected === 0,
      measurable: true,
    })
  }
  return checks
}

/** Every target of issue 14 this run can judge: per scenario, plus the double-booking check. */
export function assess(report) {
  const rows = {}
  const failed = []
  let met = 0
  let notMet = 0
  for (const row of report.scenarios) {
    const checks = checksFor(report, row)
    for (const c of checks) {
      if (c.ok) met++
      else {
        notMet++
        failed.push(`${row.key} ${c.what}`)
      }
    }
    rows[row.key] = {
      share: row.amount ? null : shareOf(report, row),
      checks,
      ok: checks.every((c) => c.ok),
    }
  }
  if (report.doubleBooking) {
    if (report.doubleBooking.overlappingPairs === 0) met++
    else {
      notMet++
      failed.push(`${report.doubleBooking.overlappingPairs} double booking(s)`)
    }
  }
  return { rows, met, notMet, failed }
}

function targetText(a) {
  if (!a || a.checks.length === 0) return ['—', '—']
  return [
    a.checks.map((c) => c.what).join(', '),
    a.checks.every((c) => c.ok)
      ? 'met'
      : `not met (${a.checks
          .filter((c) => !c.ok)
          .map((c) => c.what)
          .join(', ')})`,
  ]
}

function djangoRatio(report, row) {
  const d = djangoFor(report.db.engine)[row.key]
  return d ? rate(row) / d.reqPerSec : null
}

const HEAD = [
  'scenario',
  'req/s',
  'p50 ms',
  'p99 ms',
  '% of bare',
  'target (issue 14)',
  'met?',
  '× Django',
  'non-2xx (unexpected)',
  'peak RSS MiB',
]

export function tableRows(report) {
  const assessment = report.assessment ?? assess(report)
  return report.scenarios.map((r) => {
    const [target, verdict] = targetText(assessment.rows[r.key])
    const x = djangoRatio(report, r)
    return [
      r.name,
      rps(rate(r)),
      ms(r.result.latency.p50),
      ms(r.result.latency.p99),
      pct(r.amount ? null : shareOf(report, r)),
      target,
      verdict,
      x == null ? '—' : `${x.toFixed(1)}×`,
      `${int(r.result.non2xx + r.result.errors + r.result.timeouts)} (${int(r.unexpected)})`,
      mib(r.peakRssKb),
    ]
  })
}

function textTable(head, body) {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => String(r[i]).length)))
  const fmt = (cells) =>
    cells
      .map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
      .join('  ')
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n')
}

const CPU_HEAD = [
  'scenario',
  'HTTP',
  'jobs',
  'primary',
  'database',
  'load gen.',
  'rest',
  'all',
  'ceiling req/s',
  'measured ÷ ceiling',
  'target needs all ≤',
]

/**
 * Where the CPU went (µs per request, all cores): the server's HTTP processes, its job
 * process (a booking's emails included), its primary, the database server, the load
 * generator, the rest of the machine. The ceiling is the rate at which that CPU would fill
 * every core; a scenario running near it is bound by the CPU of this machine, and the rate
 * its share-of-bare target asks for fits in the cores only with "all" at most the budget.
 */
export function cpuRows(report) {
  const cores = report.machine.cores
  const bare = report.scenarios.find((r) => r.key === 'bare')
  return report.scenarios
    .filter((r) => r.cpu?.requests)
    .map((r) => {
      const per = (msTotal) => (1000 * msTotal) / r.cpu.requests
      const g = r.cpu.groups
      const all = per(Object.values(g).reduce((a, b) => a + b, 0) + r.cpu.rest)
      const ceiling = (cores * 1e6) / all
      const minShare = BASELINE.targets.share[r.key]?.[report.db.engine]
      const budget = minShare != null && bare ? (cores * 1e6) / (minShare * rate(bare)) : null
      return [
        r.name,
        int(per(g.http)),
        int(per(g.jobs)),
        int(per(g.primary)),
        int(per(g.database)),
        int(per(g.load)),
        int(per(r.cpu.rest)),
        int(all),
        int(ceiling),
        pct(rate(r) / ceiling),
        budget == null ? '—' : int(budget),
      ]
    })
}

export function cpuTable(report, { markdown: md = false } = {}) {
  const rows = cpuRows(report)
  if (!rows.length) return ''
  const legend = `CPU per request, µs (from /proc, all ${report.machine.cores} cores; from the start of the measured run until the server was idle and the outbox empty)`
  return md ? `${legend}\n\n${mdTable(CPU_HEAD, rows)}` : `${legend}\n${textTable(CPU_HEAD, rows)}`
}

export function consoleTable(report) {
  return textTable(HEAD, tableRows(report))
}

function mdTable(head, rows) {
  const sep = head.map((_, i) => (i === 0 ? '---' : '---:'))
  return [head, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')
}

/** One line per scenario, one column per database: req/s (p99) share, met or not. */
export function summaryTable(reports, { markdown: md = false } = {}) {
  const keys = []
  for (const r of reports) for (const s of r.scenarios) if (!keys.includes(s.key)) keys.push(s.key)
  const head = ['scenario', ...reports.map((r) => DB_TITLE[r.db.engine])]
  const body = keys.map((k) => {
    const name = reports.flatMap((r) => r.scenarios).find((s) => s.key === k).name
    return [
      name,
      ...reports.map((r) => {
        const row = r.scenarios.find((s) => s.key === k)
        if (!row) return '—'
        const a = (r.assessment ?? assess(r)).rows[k]
        const x = djangoRatio(r, row)
        const verdict = a.checks.length ? (a.ok ? ' met' : ' NOT met') : ''
        return `${rps(rate(row))} (${ms(row.result.latency.p99)}) ${pct(a.share)}${x == null ? '' : ` ${x.toFixed(1)}×`}${verdict}`
      }),
    ]
  })
  body.push([
    'double bookings',
    ...reports.map((r) => String(r.doubleBooking?.overlappingPairs ?? '—')),
  ])
  body.push([
    'HTTP processes (WEB_CONCURRENCY)',
    ...reports.map(
      (r) =>
        `${r.server.processes} (${String(r.server.webConcurrency).startsWith('unset') ? 'unset' : r.server.webConcurrency})`,
    ),
  ])
  const legend =
    'req/s (p99 ms) % of the bare route of the same run, × the original Django figure (issue 14), target met or not'
  return md ? `${legend}\n\n${mdTable(head, body)}` : `${legend}\n${textTable(head, body)}`
}

export function comparisonRows(report) {
  const theirs = djangoFor(report.db.engine)
  const filed = BASELINE.oursWhenFiled[report.db.engine] ?? {}
  const out = []
  for (const row of report.scenarios) {
    const d = theirs[row.key]
    const before = filed[row.key]
    if (!d && !before) continue
    const ours = rate(row)
    out.push({
      key: row.key,
      name: row.name,
      django: d?.reqPerSec ?? null,
      djangoNote: d?.note,
      ratio: d ? ours / d.reqPerSec : null,
      filed: before?.reqPerSec ?? null,
      filedP99: before?.p99 ?? null,
      ours,
      oursP99: row.result.latency.p99,
      ourUnexpected: row.unexpected,
    })
  }
  return out
}

export function markdown(report) {
  const m = report.machine
  const s = report.settings
  const f = report.fixture
  const sv = report.server
  const lines = []
  lines.push(
    `# Fade District benchmark — ${report.date.slice(0, 10)}, ${DB_TITLE[report.db.engine]}${s.quick ? ' (--quick)' : ''}`,
  )
  lines.push('')
  lines.push(`- Date: ${report.date}`)
  lines.push(
    `- Machine: ${m.cpu}, ${m.cores} cores (${m.availableParallelism} available), ${m.ramGiB} GiB RAM, ${m.os}; 1-min load average ${m.loadAvgAtStart} before, ${m.loadAvgAtEnd} after the run`,
  )
  lines.push(
    `- Node ${report.versions.node}; fastify ${report.versions.fastify}, kysely ${report.versions.kysely}, autocannon ${report.versions.autocannon}`,
  )
  lines.push(`- Database: ${report.db.version} (${report.db.where})`)
  lines.push(
    `- Server: \`${sv.command}\` (as \`npm start\`), ${sv.processes} process(es), WEB_CONCURRENCY ${sv.webConcurrency}; NODE_ENV=production, DEBUG=false, LOG_LEVEL=warn, jobs in-process (no Redis), EMAIL_BACKEND=file, ADMIN_EMAIL set (each booking queues an email), SHOP_TIMEZONE=UTC, OPENING_HOURS=\`${s.openingHours}\`, MAX_ACTIVE_BOOKINGS=${sv.env.MAX_ACTIVE_BOOKINGS}, BOOKING_HORIZON_DAYS=${sv.env.BOOKING_HORIZON_DAYS}`,
  )
  lines.push(
    `- Load: autocannon in its own process, ${s.connections} connections, ${s.duration} s per scenario after a ${s.warmup} s warm-up; storm: ${s.stormSize} connections × 1 request`,
  )
  lines.push(
    `- Data (seeded through ${f.seededThrough} in ${(f.seedMs / 1000).toFixed(1)} s, then the server restarted): ${f.customers} customers, ${f.barbers} barbers, ${f.services} services, ${int(f.reservations)} reservations over ${f.weekdays} weekdays ${f.firstDay} … ${f.lastDay} (${Object.entries(
      f.counts,
    )
      .map(([k, v]) => `${k} ${int(v)}`)
      .join(', ')}); ${int(f.seededEmails)} emails in the outbox (marked sent)`,
  )
  lines.push('')
  lines.push(mdTable(HEAD, tableRows(report)))
  lines.push('')
  const cpu = cpuTable(report, { markdown: true })
  if (cpu) lines.push(cpu, '')
  lines.push(
    `"% of bare": the scenario's req/s over the bare Fastify route's in this run; for \`GET /health/\` the median of alternating rounds. "× Django": over the original's figure on the same engine (PostgreSQL against MariaDB), from \`bench/baseline-issue-14.json\` (${BASELINE.provenance.split(':')[0]}). "non-2xx (unexpected)": all non-2xx answers, errors and timeouts, and those of them not designed (the storm's 409s are).`,
  )
  lines.push('')
  lines.push('Scenarios:')
  for (const row of report.scenarios) lines.push(`- **${row.name}** — ${row.describe}`)
  lines.push('')
  if (report.healthVsBare != null) {
    lines.push(
      `\`GET /health/\` of the app runs at **${pct(report.healthVsBare)}** of the bare Fastify route${
        report.healthVsBareRounds?.length
          ? `: the median of ${report.healthVsBareRounds.length} alternating rounds (${report.healthVsBareRounds.map((r) => pct(r)).join(', ')})`
          : ''
      }.`,
    )
  }
  if (report.backlog) {
    const b = report.backlog
    lines.push(
      `Backlog: ${int(b.queued)} emails put back in the outbox; ${int(b.atStart)} undelivered when the measured run started, ${int(b.atEnd)} at its end${b.atEnd === 0 ? ' (the runner finished first: part of the run measured no backlog)' : ''}; the rest was then taken out of the outbox.`,
    )
  }
  if (report.storm) {
    const st = report.storm
    lines.push(
      `Conflict storm: ${st.sent} concurrent requests for one slot → ${st.created} × 201, ${st.conflicts} × 409, ${st.other} other; ${st.activeAfter} active reservation(s) in the slot afterwards — **${st.ok ? 'OK' : 'FAILED'}**.`,
    )
  }
  if (report.doubleBooking) {
    const d = report.doubleBooking
    lines.push(
      `Double bookings after the run (every pair of active reservations of one barber whose held times overlap, over the whole database): **${d.overlappingPairs}** among ${int(d.active)} active reservations.`,
    )
  }
  if (report.commitCeiling) {
    const c = report.commitCeiling
    const create = report.scenarios.find((r) => r.key === 'create')
    lines.push(
      `Commit ceiling (what a booking is measured against): **${int(c.perSecond)}** one-row write transactions/s at ${c.connections} connection(s) — ${c.statement}, the same driver, nothing else in the transaction${create ? `; create ran at ${((100 * rate(create)) / c.perSecond).toFixed(1)} % of it` : ''}.`,
    )
  }
  if (report.serverPeakRssKb) {
    lines.push(
      `Server RSS (summed over its processes): ${mib(report.serverIdleRssKb)} MiB idle after start, ${mib(report.serverPeakRssKb)} MiB peak (VmHWM).`,
    )
  }
  if (report.serverWarnings?.length) {
    lines.push('')
    lines.push(
      `Server warnings/errors logged during the run: ${report.serverWarnings.length} (first: \`${report.serverWarnings[0].slice(0, 200)}\`)`,
    )
  }
  const a = report.assessment ?? assess(report)
  lines.push('')
  lines.push(
    `Targets of issue 14: ${a.met} met, ${a.notMet} not met${a.notMet ? ` (${a.failed.join('; ')})` : ''}.`,
  )
  lines.push('')
  lines.push(`## Against the original (${BASELINE.original}) and ours when issue 14 was filed`)
  lines.push('')
  lines.push(
    `Figures: ${BASELINE.provenance}. Bare Fastify route then: ${int(BASELINE.bareFastifyReqPerSec)} req/s.`,
  )
  lines.push('')
  const comp = report.comparison ?? comparisonRows(report)
  const theirsTitle =
    report.db.engine === 'postgres' ? 'Django MariaDB' : `Django ${DB_TITLE[report.db.engine]}`
  lines.push(
    mdTable(
      [
        'scenario',
        `${theirsTitle} req/s`,
        'ours when filed req/s (p99)',
        'ours now req/s (p99)',
        'now ÷ Django',
      ],
      comp.map((c) => [
        c.name,
        c.django == null ? '—' : `${rps(c.django)}${c.djangoNote ? ` (${c.djangoNote})` : ''}`,
        c.filed == null ? '—' : `${rps(c.filed)}${c.filedP99 == null ? '' : ` (${c.filedP99})`}`,
        `${rps(c.ours)} (${ms(c.oursP99)})${c.ourUnexpected ? `, ${int(c.ourUnexpected)} unexpected non-2xx` : ''}`,
        c.ratio == null ? '—' : `${c.ratio.toFixed(1)}×`,
      ]),
    ),
  )
  lines.push('')
  return lines.join('\n')
}
