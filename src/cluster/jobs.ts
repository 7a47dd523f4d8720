import { setPriority } from 'node:os'
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { collectProcessMetrics, watchDatabase } from '../metrics/metrics.js'
import { createRuntime } from '../runtime.js'
import { exitOnSignals } from '../shutdown.js'
import type { PrimaryChannel } from './ipc.js'
import { joinCluster } from './process.js'

/** The job process's niceness (0 normal … 19 lowest): below the HTTP processes. */
export const JOBS_NICENESS = 10

/**
 * The cluster's job process (no Redis): the outbox relay, email delivery and the status
 * sweep, in exactly one process and on an event loop that answers no request. HTTP
 * processes wake it through the primary after each commit that wrote outbox rows.
 */
export async function runJobs(config: Config, log: Logger, channel: PrimaryChannel): Promise<void> {
  const runtime = createRuntime(config, { role: 'api', log, ...joinCluster(channel) })
  collectProcessMetrics('jobs')
  watchDatabase(runtime.ctx.database)
  channel.on('outbox.wake', () => runtime.runner.wake())
  await runtime.runner.start()
  // Ctrl-C reaches every process of the terminal's group: the primary orders the stop, after
  // the HTTP processes have drained (their requests may still write outbox rows).
  process.on('SIGINT', () => undefined)
  const stop = exitOnSignals(log, 'finishing running jobs', () => runtime.close(), 25_000, [
    'SIGTERM',
  ])
  channel.on('shutdown', () => stop('stopping on the primary’s order'))
  log.info('job runner started: outbox delivery and the status sweep run here')
  channel.send({ fd: 'ready' })
  // Requests first: when the machine is busy, rendering and sending emails waits for the CPU
  // the HTTP processes leave (a /health/ check kept 37 % of the bare route's rate while a
  // backlog drained at the same priority). Nothing is lost: the outbox keeps what waits.
  // Lowered once started, so a busy machine does not delay the server's start.
  try {
    setPriority(JOBS_NICENESS)
  } catch (err) {
    log.warn({ err }, 'could not lower the job process priority')
  }
}
