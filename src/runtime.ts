import type { FastifyBaseLogger } from 'fastify'
import { Queue } from 'bullmq'
import type { Config } from './config.js'
import type { AppContext } from './context.js'
import { createDatabase } from './db/database.js'
import type { DatabaseHandle } from './db/database.js'
import { TokenService } from './auth/tokens.js'
import { DbThrottleStore, RedisThrottleStore } from './auth/throttle.js'
import { createMailer } from './notifications/mailer.js'
import type { Mailer } from './notifications/mailer.js'
import { createRenderer } from './notifications/render.js'
import { DEFAULT_MAX_ATTEMPTS } from './notifications/delivery.js'
import type { Delivery } from './notifications/delivery.js'
import { InProcessRunner } from './jobs/in-process.js'
import { ProducerRunner, producerConnection, QUEUE_NAME, WorkerRunner } from './jobs/bullmq.js'
import type { JobRunner } from './jobs/runner.js'

export interface Runtime {
  ctx: AppContext
  delivery: Delivery
  runner: JobRunner
  readiness: Record<string, () => Promise<unknown>>
  close(): Promise<void>
}

export interface RuntimeOptions {
  /** 'api': serve (jobs in-process without Redis); 'worker': consume jobs from Redis. */
  role: 'api' | 'worker'
  log: FastifyBaseLogger
  database?: DatabaseHandle
  mailer?: Mailer
  now?: () => Date
  /** Defaults to OUTBOX_LEASE_SECONDS. */
  leaseMs?: number
  pollMs?: number
  /** The BullMQ queue (default `fade-district`); API and workers must agree. Tests use their own. */
  queueName?: string
  /**
   * A cluster's HTTP process without Redis: the in-process runner lives in the cluster's job
   * process, and this wakes it (through the primary) after a commit that wrote outbox rows.
   */
  wakeJobsElsewhere?: () => void
  /** A cluster process: wraps the database handle (src/cluster/coherence.ts). */
  wrapDatabase?: (database: DatabaseHandle) => DatabaseHandle
}

/** Wires config into a context, a mailer and the right job runner. Close in reverse order. */
export function createRuntime(config: Config, opts: RuntimeOptions): Runtime {
  const opened = opts.database ?? createDatabase(config.database)
  const database = opts.wrapDatabase ? opts.wrapDatabase(opened) : opened
  const mailer =
    opts.mailer ??
    createMailer({
      backend: config.email.backend,
      from: config.email.from,
      smtp: {
        host: config.email.host,
        port: config.email.port,
        useTls: config.email.useTls,
        user: config.email.user,
        password: config.email.password,
      },
      fileDir: config.email.fileDir,
      log: (msg) => opts.log.info(msg),
    })
  let runner: JobRunner | undefined
  // One small Redis connection for readiness and the login/registration limits.
  const redisForReadiness = config.redisUrl ? producerConnection(config.redisUrl) : undefined
  redisForReadiness?.on('error', () => undefined)
  const dbThrottle = new DbThrottleStore(database)
  const ctx: AppContext = {
    config,
    database,
    tokens: new TokenService(config.secretKey, config.accessTokenMinutes, config.refreshTokenDays),
    throttle: redisForReadiness
      ? new RedisThrottleStore(redisForReadiness, dbThrottle)
      : dbThrottle,
    wakeOutbox: () => runner?.wake(),
    now: opts.now ?? (() => new Date()),
  }
  const delivery: Delivery = {
    ctx,
    mailer,
    renderer: createRenderer({ timezone: config.timezone, shopName: config.shop.name }),
    leaseMs: opts.leaseMs ?? config.outboxLeaseSeconds * 1000,
    maxAttempts: DEFAULT_MAX_ATTEMPTS,
  }
  const readiness: Record<string, () => Promise<unknown>> = {}
  let producer: ReturnType<typeof producerConnection> | undefined
  if (config.redisUrl) {
    producer = producerConnection(config.redisUrl)
    const queue = new Queue(opts.queueName ?? QUEUE_NAME, { connection: producer })
    queue.on('error', (err) => opts.log.warn({ err }, 'queue connection problem'))
    runner =
      opts.role === 'worker'
        ? new WorkerRunner(delivery, config.redisUrl, queue, producer, opts.log, {
            sweepSeconds: config.statusSweepSeconds,
          })
        : new ProducerRunner(ctx, queue, producer, delivery.leaseMs, opts.log)
    const r = redisForReadiness!
    readiness.redis = () => r.ping()
  } else {
    if (opts.role === 'worker')
      throw new Error('npm run worker needs REDIS_URL (without it, npm start runs the jobs itself)')
    const wake = opts.wakeJobsElsewhere
    runner = wake
      ? { start: async () => undefined, wake, stop: async () => undefined }
      : new InProcessRunner(delivery, opts.log, {
          sweepSeconds: config.statusSweepSeconds,
          pollMs: opts.pollMs,
        })
  }
  const theRunner = runner
  return {
    ctx,
    delivery,
    runner: theRunner,
    readiness,
    async close() {
      await theRunner.stop()
      // BullMQ leaves the connection it was handed open; closing it is ours to do.
      producer?.disconnect()
      redisForReadiness?.disconnect()
      mailer.close()
      await database.close()
    },
  }
}
