// Formatting: the console table, the Markdown report and the comparison with the seed.

/** The seed (Django 3.2 + DRF + gunicorn, 5 sync workers), measured on this machine. */
export const DJANGO = {
  setup: 'Django 3.2 + DRF + gunicorn, 5 sync workers',
  sqlite: {
    health: { reqPerSec: 3955 },
    'list-admin': { reqPerSec: 514 },
    'list-customer': { reqPerSec: 458 },
    create: { reqPerSec: 189, note: 'plus 462 "database is locked" 500s' },
    dashboard: { reqPerSec: 427 },
  },
  mysql: {
    'list-admin': { reqPerSec: 451 },
    create: { reqPerSec: 368 },
    dashboard: { reqPerSec: 261 },
  },
  postgres: {},
}

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
const mib = (kb) => (kb == null ? '—' : (kb / 1024).toFixed(0))

/** The figure we report as req/s: autocannon's per-second average, or total/wall for fixed-count runs. */
export function rate(row) {
  return row.amount ? row.result.reqPerSecTotal : row.result.reqPerSec
}

export function tableRows(rows) {
  return rows.map((r) => [
    r.name,
    int(rate(r)),
    ms(r.result.latency.p50),
    ms(r.result.latency.p99),
    int(r.result.non2xx + r.result.errors + r.result.timeouts),
    mib(r.peakRssKb),
  ])
}

const HEAD = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'peak RSS MiB']

export function consoleTable(rows) {
  const body = tableRows(rows)
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((r) => String(r[i]).length)))
  const fmt = (cells) =>
    cells
      .map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
      .join('  ')
  return [fmt(HEAD), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n')
}

function mdTable(head, rows, alignRight = true) {
  const sep = head.map((_, i) => (i === 0 || !alignRight ? '---' : '---:'))
  return [head, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')
}

export function comparisonRows(report) {
  const theirs = DJANGO[report.db.engine] ?? {}
  const out = []
  for (const row of report.scenarios) {
    const d = theirs[row.key]
    if (!d) continue
    const ours = rate(row)
    out.push({
      key: row.key,
      name: row.name,
      django: d.reqPerSec,
      djangoNote: d.note,
      ours,
      ratio: ours / d.reqPerSec,
      ourNon2xx: row.result.non2xx,
    })
  }
  return out
}

export function markdown(report) {
  const m = report.machine
  const s = report.settings
  const f = report.fixture
  const lines = []
  lines.push(
    `# Fade District benchmark — ${report.date.slice(0, 10)}, ${DB_TITLE[report.db.engine]}`,
  )
  lines.push('')
  lines.push(`- Date: ${report.date}`)
  lines.push(
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}; 1-min load average ${m.loadAvgAtStart} before, ${m.loadAvgAtEnd} after the run`,
  )
  lines.push(
    `- Node ${report.versions.node}; fastify ${report.versions.fastify}, kysely ${report.versions.kysely}, autocannon ${report.versions.autocannon}`,
  )
  lines.push(`- Database: ${report.db.version} (${report.db.where})`)
  lines.push(
    `- Server: \`node dist/src/main.js\`, NODE_ENV=production, DEBUG=false, LOG_LEVEL=warn, jobs in-process (no Redis), EMAIL_BACKEND=file, OPENING_HOURS=\`${s.openingHours}\``,
  )
  lines.push(
    `- Load: autocannon in its own process, ${s.connections} connections, ${s.duration} s per scenario after a ${s.warmup} s warm-up; storm: ${s.stormSize} connections × 1 request`,
  )
  lines.push(
    `- Data (seeded through the domain code in ${(f.seedMs / 1000).toFixed(1)} s): ${f.customers} customers, ${f.barbers} barbers, ${f.services} services, ${int(f.reservations)} reservations ${f.firstDay} … ${f.lastDay} (${Object.entries(
      f.counts,
    )
      .map(([k, v]) => `${k} ${int(v)}`)
      .join(', ')})`,
  )
  lines.push('')
  lines.push(mdTable(HEAD, tableRows(report.scenarios)))
  lines.push('')
  lines.push('Scenarios:')
  for (const row of report.scenarios) lines.push(`- **${row.name}** — ${row.describe}`)
  lines.push('')
  if (report.healthVsBare != null) {
    lines.push(
      `\`GET /health/\` of the app runs at **${(100 * report.healthVsBare).toFixed(0)} %** of the bare Fastify route (the HTTP stack's ceiling on this machine)${
        report.healthVsBareRounds?.length
          ? `: the median of ${report.healthVsBareRounds.length} alternating rounds (${report.healthVsBareRounds.map((r) => `${(100 * r).toFixed(0)} %`).join(', ')}), which a single pair of runs minutes apart on a shared machine cannot give`
          : ''
      }.`,
    )
  }
  if (report.storm) {
    const st = report.storm
    lines.push(
      `Conflict storm: ${st.sent} concurrent requests for one slot → ${st.created} × 201, ${st.conflicts} × 409, ${st.other} other; ${st.activeAfter} active reservation(s) in the slot afterwards — **${st.ok ? 'OK' : 'FAILED'}**.`,
    )
  }
  if (report.serverPeakRssKb) {
    lines.push(
      `Server RSS: ${mib(report.serverIdleRssKb)} MiB idle after start, ${mib(report.serverPeakRssKb)} MiB peak over the whole run (VmHWM).`,
    )
  }
  if (report.serverWarnings?.length) {
    lines.push('')
    lines.push(
      `Server warnings/errors logged during the run: ${report.serverWarnings.length} (first: \`${report.serverWarnings[0].slice(0, 200)}\`)`,
    )
  }
  lines.push('')
  lines.push(`## Against the seed (${DJANGO.setup}, same machine)`)
  lines.push('')
  const comp = comparisonRows(report)
  if (comp.length === 0) {
    lines.push(`No seed figures were measured on ${DB_TITLE[report.db.engine]}.`)
  } else {
    lines.push(
      mdTable(
        ['scenario', 'Django req/s', 'ours req/s', 'ours / Django'],
        comp.map((c) => [
          c.name,
          `${int(c.django)}${c.djangoNote ? ` (${c.djangoNote})` : ''}`,
          `${int(c.ours)}${c.ourNon2xx ? ` (${int(c.ourNon2xx)} non-2xx)` : ''}`,
          `${c.ratio.toFixed(1)}×`,
        ]),
      ),
    )
  }
  lines.push('')
  return lines.join('\n')
}
