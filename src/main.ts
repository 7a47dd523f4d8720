import { loadConfigOrExit } from './config.js'
import { createLogger } from './logger.js'
import { PrimaryChannel, workerIdentity } from './cluster/ipc.js'

/**
 * `npm start`: the cluster's primary migrates, then forks WEB_CONCURRENCY HTTP processes
 * and, without REDIS_URL, one process for the jobs (src/cluster/primary.ts). The same file
 * is each forked process's entry: FADE_ROLE says which. Every log line names its process
 * (`proc`: primary, web-N, jobs; and `pid`).
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit()
  const identity = workerIdentity()
  const log = createLogger(config).child({ proc: identity?.name ?? 'primary' })
  if (!identity) {
    if (config.database.engine === 'sqlite' && config.database.url === ':memory:') {
      process.stderr.write(
        'Configuration error: DATABASE_URL: an in-memory SQLite database cannot be shared by the server’s processes; use a file (sqlite:data/db.sqlite3)\n',
      )
      process.exit(1)
    }
    if (config.usingDevSecret)
      log.warn(
        'SECRET_KEY is not set: using a development key (DEBUG=true). Never do this in production.',
      )
    const { runPrimary } = await import('./cluster/primary.js')
    await runPrimary(config, log)
    return
  }
  const channel = new PrimaryChannel()
  if (identity.role === 'jobs') {
    const { runJobs } = await import('./cluster/jobs.js')
    await runJobs(config, log, channel)
  } else {
    const { runWeb } = await import('./cluster/web.js')
    await runWeb(config, log, channel)
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `Fade District failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  )
  process.exit(1)
})
