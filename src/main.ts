import { buildApp } from './app.js'
import { loadConfigOrExit } from './config.js'
import { migrateToLatest } from './db/migrator.js'
import { createLogger } from './logger.js'
import { createRuntime } from './runtime.js'
import { exitOnSignals } from './shutdown.js'

/** `npm start`: migrate, then serve; without REDIS_URL the jobs run in this process too. */
async function main(): Promise<void> {
  const config = loadConfigOrExit()
  const log = createLogger(config)
  if (config.usingDevSecret)
    log.warn(
      'SECRET_KEY is not set: using a development key (DEBUG=true). Never do this in production.',
    )
  const runtime = createRuntime(config, { role: 'api', log })
  const { database } = runtime.ctx
  await migrateToLatest(database.db, database.engine)
  const app = await buildApp(runtime.ctx, { loggerInstance: log, readiness: runtime.readiness })
  await runtime.runner.start()
  await app.listen({ port: config.port, host: config.host })
  log.info(
    `Fade District ready — database ${database.engine}, jobs ${config.redisUrl ? 'on BullMQ (run npm run worker)' : 'in-process'}, email ${config.email.backend}`,
  )

  // Stop intake and drain requests, then jobs, then connections: reverse order of opening.
  exitOnSignals(log, 'finishing in-flight requests', async () => {
    // close() only ends keep-alive sockets idle at that moment; sockets whose request is still
    // running go idle later and would hold the server open for keepAliveTimeout.
    const reap = setInterval(() => app.server.closeIdleConnections(), 200)
    try {
      await app.close()
    } finally {
      clearInterval(reap)
    }
    await runtime.close()
  })
}

main().catch((err: unknown) => {
  process.stderr.write(
    `Fade District failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  )
  process.exit(1)
})
