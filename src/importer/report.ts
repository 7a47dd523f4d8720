import type { ImportReport } from './importer.js'

/** A progress bar on a terminal; otherwise one line per thousand rows. */
export function progressPrinter(
  out: NodeJS.WriteStream,
): (table: string, done: number, total: number) => void {
  let lastLine = new Map<string, number>()
  return (table, done, total) => {
    if (out.isTTY) {
      const width = 30
      const filled = total ? Math.round((done / total) * width) : width
      out.write(
        `\r${table.padEnd(16)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`,
      )
      if (done >= total) out.write('\n')
      return
    }
    const step = Math.floor(done / 1000)
    if (step > (lastLine.get(table) ?? 0) || done >= total) {
      out.write(`${table}: ${done}/${total} rows\n`)
      lastLine = new Map(lastLine).set(table, step)
    }
  }
}

const LIST_LIMIT = 100

/** The report as text: counts per table, problems, overlaps, duration. */
export function formatReport(r: ImportReport): string {
  const lines: string[] = []
  lines.push(`${r.dry_run ? 'DRY RUN (nothing written): ' : ''}import from ${r.source}`)
  lines.push(
    r.keep_ids
      ? 'Ids: kept (the target was empty at the first import).'
      : 'Ids: new ones given (the target was not empty at the first import).',
  )
  lines.push('')
  lines.push('table             read  created  updated  unchanged  skipped')
  for (const [name, c] of Object.entries(r.tables))
    lines.push(
      `${name.padEnd(16)}${String(c.read).padStart(6)}${String(c.created).padStart(9)}${String(c.updated).padStart(9)}${String(c.unchanged).padStart(11)}${String(c.skipped).padStart(9)}`,
    )
  lines.push('')
  if (r.settled.completed || r.settled.expired)
    lines.push(
      `Past reservations imported in the state the sweep would give them: ${r.settled.completed} confirmed → completed, ${r.settled.expired} pending → cancelled (expired). No email is sent for them.`,
    )
  for (const n of r.notes) lines.push(n)
  if (r.overlaps.length) {
    lines.push('')
    lines.push(
      `Overlapping active reservations (${r.overlaps.length} group${r.overlaps.length === 1 ? '' : 's'}; imported as they are, the first of each group holds the barber's time — sort these out):`,
    )
    for (const o of r.overlaps.slice(0, LIST_LIMIT))
      lines.push(
        `  ${o.staff === null ? 'no barber' : `barber ${o.staff}`}: ${o.reservations
          .map((x) => `#${x.id} ${x.start_time}–${x.end_time} (${x.status})`)
          .join(', ')}${o.with_existing ? ` overlaps #${o.with_existing} made here` : ''}`,
      )
    if (r.overlaps.length > LIST_LIMIT)
      lines.push(`  … and ${r.overlaps.length - LIST_LIMIT} more (all in --report FILE)`)
  }
  if (r.past_overlaps)
    lines.push(`Ended reservations that overlapped (history only): ${r.past_overlaps}`)
  if (r.problems.length) {
    lines.push('')
    lines.push(`Problems (${r.problems.length}):`)
    for (const p of r.problems.slice(0, LIST_LIMIT)) lines.push(`  ${p}`)
    if (r.problems.length > LIST_LIMIT)
      lines.push(`  … and ${r.problems.length - LIST_LIMIT} more (all in --report FILE)`)
  } else lines.push('No problems found.')
  lines.push('')
  lines.push(`Took ${(r.duration_ms / 1000).toFixed(1)} s.`)
  return `${lines.join('\n')}\n`
}
