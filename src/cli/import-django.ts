import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { loadConfigOrExit } from '../config.js'
import { createDatabase } from '../db/database.js'
import { migrateToLatest } from '../db/migrator.js'
import type { ReservationStatus } from '../db/types.js'
import { importDjango } from '../importer/importer.js'
import { formatReport, progressPrinter } from '../importer/report.js'
import { readSource, SourceError } from '../importer/source.js'

const USAGE = `usage: npm run import:django -- --from SOURCE [--dry-run] [--source-timezone ZONE]
       [--map-status OLD=NEW ...] [--no-reminders] [--report FILE]
SOURCE: mysql://user:pass@host/db | postgres://… | sqlite:PATH | dumpdata.json
`

const STATUSES = ['pending', 'confirmed', 'completed', 'cancelled', 'no_show']

/** `npm run import:django -- --from SOURCE`: the Django original's data into our database. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'source-timezone': { type: 'string', default: 'UTC' },
      'map-status': { type: 'string', multiple: true, default: [] },
      'no-reminders': { type: 'boolean', default: false },
      report: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help || !values.from) {
    process.stderr.write(USAGE)
    process.exit(values.help ? 0 : 2)
  }
  const statusMap: Record<string, ReservationStatus> = {}
  for (const m of values['map-status']) {
    const [from, to] = m.split('=')
    if (!from || !to || !STATUSES.includes(to)) {
      process.stderr.write(
        `--map-status ${m}: expected OLD=NEW with NEW one of ${STATUSES.join(', ')}\n`,
      )
      process.exit(2)
    }
    statusMap[from.trim().toLowerCase()] = to as ReservationStatus
  }
  const config = loadConfigOrExit()
  process.stderr.write(`Reading ${values.from} …\n`)
  const source = await readSource(values.from, values['source-timezone'])
  process.stderr.write(
    `Read ${source.users.length} users and ${source.reservations.length} reservations.\n`,
  )
  const database = createDatabase(config.database)
  try {
    if (!values['dry-run']) await migrateToLatest(database.db, database.engine)
    const report = await importDjango(database, source, {
      dryRun: values['dry-run'],
      reminderHoursBefore: config.reminderHoursBefore,
      noReminders: values['no-reminders'],
      statusMap,
      progress: progressPrinter(process.stderr),
    })
    process.stdout.write(formatReport(report))
    if (values.report) writeFileSync(values.report, `${JSON.stringify(report, null, 2)}\n`)
  } finally {
    await database.close()
  }
}

main().catch((err: unknown) => {
  if (err instanceof SourceError) {
    process.stderr.write(`Nothing was imported:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`)
    process.exit(1)
  }
  process.stderr.write(
    `import failed: ${err instanceof Error ? err.message : String(err)}\n` +
      'What was committed before the failure stays; run the same command again to resume.\n',
  )
  process.exit(1)
})
