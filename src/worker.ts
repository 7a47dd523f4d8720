import { loadConfigOrExit } from './config.js'
import { migrateToLatest } from './db/migrator.js'
import { createLogger } from './logger.js'
import { createRuntime } from './runtime.js'
import { exitOnSignals } from './shutdown.js'

/** `npm run worker`: BullMQ consumers, the outbox relay and the sweep schedule (needs REDIS_URL). */
async function main(): Promise<void> {
  const config = loadConfigOrExit()
  const log = createLogger(config).child({ proc: 'worker' })
  const runtime = createRuntime(config, { role: 'worker', log })
  await migrateToLatest(runtime.ctx.database.db, runtime.ctx.database.engine)
  await runtime.runner.start()
  log.info('worker started')
  exitOnSignals(log, 'finishing running jobs', () => runtime.close())
}

main().catch((err: unknown) => {
  process.stderr.write(
    `worker failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  )
  process.exit(1)
})
