import type { Logger } from 'pino'
import { register } from 'prom-client'
import { buildApp } from '../app.js'
import type { Config } from '../config.js'
import { useScrapeSource } from '../metrics/metrics.plugin.js'
import { createRuntime } from '../runtime.js'
import { exitOnSignals } from '../shutdown.js'
import type { PrimaryChannel } from './ipc.js'
import { joinCluster } from './process.js'

/**
 * One HTTP process of the cluster: serves the API on the shared port; the job runner is
 * elsewhere (the job process without Redis, `npm run worker` with it).
 */
export async function runWeb(config: Config, log: Logger, channel: PrimaryChannel): Promise<void> {
  const runtime = createRuntime(config, {
    role: 'api',
    log,
    ...joinCluster(channel),
    wakeJobsElsewhere: config.redisUrl ? undefined : () => channel.send({ fd: 'outbox.wake' }),
  })
  useScrapeSource(async () => {
    const answer = await channel.request<{ fd: 'metrics.text'; id: number; text: string }>(
      (id) => ({ fd: 'metrics.scrape', id }),
      5000,
    )
    if (!answer) throw new Error('the cluster primary did not answer the metrics scrape')
    return { text: answer.text, contentType: register.contentType }
  })
  const app = await buildApp(runtime.ctx, { loggerInstance: log, readiness: runtime.readiness })
  await runtime.runner.start()
  await app.listen({ port: config.port, host: config.host })

  // Stop intake and drain requests, then connections. The primary stops the jobs after.
  const stop = exitOnSignals(log, 'finishing in-flight requests', async () => {
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
  channel.on('shutdown', () => stop('stopping on the primary’s order'))
  channel.send({ fd: 'ready' })
}
