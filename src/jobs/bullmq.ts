import { Worker } from 'bullmq'
import type { Job, Queue } from 'bullmq'
import { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { AppContext } from '../context.js'
import { deliver, dueOutbox } from '../notifications/delivery.js'
import type { Delivery } from '../notifications/delivery.js'
import type { JobName, JobRunner, Jobs } from './runner.js'
import { JOB_NAMES } from './runner.js'
import { runSweep } from './sweep.js'
import { jobLag } from '../metrics/metrics.js'

export const QUEUE_NAME = 'fade-district'

/**
 * A producer connection fails fast while Redis is down: rows stay in the outbox. The command
 * timeout covers a Redis that accepts the connection but stops answering.
 */
export function producerConnection(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: false,
    commandTimeout: 5_000,
  })
}

/**
 * Resolves true once the connection is ready, false after `ms` without it. BullMQ waits for a
 * connection that never came up without any limit, so a relay must not call it before then.
 */
export function whenReady(connection: Redis, ms: number): Promise<boolean> {
  if (connection.status === 'ready') return Promise.resolve(true)
  if (connection.status === 'end' || connection.status === 'close') return Promise.resolve(false)
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer)
      connection.off('ready', onReady)
      resolve(ready)
    }
    const onReady = () => done(true)
    const timer = setTimeout(() => done(false), ms)
    connection.once('ready', onReady)
  })
}

/**
 * Moves due outbox rows into BullMQ. Each hand-over bumps `relays` and leases the row,
 * so the job id `outbox-<id>-<relays>` is new for every hand-over (a lost job is replaced
 * after the lease), while the claim in `deliver` keeps two jobs from both sending.
 */
export class OutboxRelay {
  #busy: Promise<void> | undefined
  #again = false

  constructor(
    private readonly ctx: AppContext,
    private readonly queue: Queue,
    /** The queue's connection: a pass is skipped while it is not ready (rows wait in the outbox). */
    private readonly connection: Redis,
    private readonly leaseMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  wake(): void {
    if (this.#busy) {
      this.#again = true
      return
    }
    this.#busy = this.#relay()
      .catch((err: unknown) =>
        this.log.warn({ err }, 'outbox relay failed; rows wait in the outbox'),
      )
      .finally(() => {
        this.#busy = undefined
        if (this.#again) {
          this.#again = false
          this.wake()
        }
      })
  }

  async idle(): Promise<void> {
    while (this.#busy) await this.#busy
  }

  async #relay(): Promise<void> {
    const { db } = this.ctx.database
    // Without this, queue.add on a connection that never came up waits forever: the relay would
    // hang (and with it shutdown) instead of leaving the rows for a later pass.
    if (!(await whenReady(this.connection, 1_000))) {
      this.log.debug('Redis is not connected: outbox rows wait for a later relay pass')
      return
    }
    for (;;) {
      const now = this.ctx.now()
      const ids = (await dueOutbox(db, now, 100)).map((r) => r.id)
      if (ids.length === 0) return
      let moved = 0
      for (const id of ids) {
        const lease = new Date(now.getTime() + this.leaseMs)
        const r = await db
          .updateTable('outbox')
          .set((eb) => ({ status: 'queued', locked_until: lease, relays: eb('relays', '+', 1) }))
          .where('id', '=', id)
          .where((eb) =>
            eb.or([
              eb.and([eb('status', '=', 'pending'), eb('available_at', '<=', now)]),
              eb.and([eb('status', 'in', ['queued', 'sending']), eb('locked_until', '<', now)]),
            ]),
          )
          .executeTakeFirst()
        if (Number(r.numUpdatedRows) === 0) continue
        const row = await db
          .selectFrom('outbox')
          .select(['relays', 'status'])
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
        try {
          await this.queue.add(
            'outbox.deliver',
            { outboxId: id } satisfies Jobs['outbox.deliver'],
            {
              jobId: `outbox-${id}-${row.relays}`,
              removeOnComplete: { age: 3600, count: 10_000 },
              removeOnFail: { age: 24 * 3600 },
            },
          )
          moved++
        } catch (err) {
          // Redis is down: hand the row back so the next pass (or the in-DB lease) retries it.
          await db
            .updateTable('outbox')
            .set({ status: 'pending', locked_until: null })
            .where('id', '=', id)
            .where('status', '=', 'queued')
            .where('relays', '=', row.relays)
            .execute()
          throw err
        }
      }
      if (moved === 0) return
    }
  }
}

/** API side with Redis: after a commit, hand the new rows to the queue at once. */
export class ProducerRunner implements JobRunner {
  readonly #relay: OutboxRelay
  constructor(
    ctx: AppContext,
    private readonly queue: Queue,
    connection: Redis,
    leaseMs: number,
    log: FastifyBaseLogger,
  ) {
    this.#relay = new OutboxRelay(ctx, queue, connection, leaseMs, log)
  }
  async start(): Promise<void> {}
  wake(): void {
    this.#relay.wake()
  }
  async stop(): Promise<void> {
    await this.#relay.idle()
    await this.queue.close()
  }
}

/**
 * The worker process: consumes jobs, runs the relay as a safety net every second (rows
 * written while Redis was down, or whose job Redis lost), and keeps the sweep scheduled.
 */
export class WorkerRunner implements JobRunner {
  #worker: Worker | undefined
  #connection: Redis | undefined
  #timer: NodeJS.Timeout | undefined
  #lastSchedule = 0
  readonly #relay: OutboxRelay
  readonly #handlers: { [K in JobName]: (job: Job<Jobs[K]>) => Promise<unknown> }

  constructor(
    private readonly delivery: Delivery,
    private readonly redisUrl: string,
    private readonly queue: Queue,
    queueConnection: Redis,
    private readonly log: FastifyBaseLogger,
    private readonly opts: { sweepSeconds: number; concurrency?: number },
  ) {
    this.#relay = new OutboxRelay(delivery.ctx, queue, queueConnection, delivery.leaseMs, log)
    this.#handlers = {
      'outbox.deliver': (job) => deliver(this.delivery, job.data.outboxId),
      'reservations.sweep': () => runSweep(this.delivery.ctx),
    }
    for (const name of JOB_NAMES) {
      if (!this.#handlers[name]) throw new Error(`job "${name}" has no handler`)
    }
  }

  async start(): Promise<void> {
    const connection = new Redis(this.redisUrl, { maxRetriesPerRequest: null })
    connection.on('error', () => undefined) // reported by the worker's own 'error' event
    this.#connection = connection
    // The queue's name, not the default: a worker consumes the queue its relay fills.
    this.#worker = new Worker(
      this.queue.name,
      async (job: Job) => {
        const handler = this.#handlers[job.name as JobName] as
          ((j: Job) => Promise<unknown>) | undefined
        if (!handler) throw new Error(`unknown job "${job.name}"`)
        jobLag.observe(
          { job: job.name },
          (Date.now() - job.timestamp - (job.opts.delay ?? 0)) / 1000,
        )
        return handler(job)
      },
      { connection, concurrency: this.opts.concurrency ?? 8, autorun: true },
    )
    this.#worker.on('error', (err) => this.log.warn({ err }, 'worker connection problem'))
    // A job that threw (the database went away mid-delivery, say): the outbox row keeps its
    // lease and is relayed again when it runs out, but the failure should not pass unseen.
    this.#worker.on('failed', (job, err) =>
      this.log.warn({ err, job: job?.id }, 'job failed; its outbox row is retried after the lease'),
    )
    this.#timer = setInterval(() => this.#tick(), 1000)
    this.#tick()
  }

  #tick(): void {
    this.#relay.wake()
    // Redis keeps nothing on disk here: re-declare the schedule now and then (idempotent).
    const now = Date.now()
    if (now - this.#lastSchedule > 30_000) {
      this.#lastSchedule = now
      this.queue
        .upsertJobScheduler(
          'status-sweep',
          { every: this.opts.sweepSeconds * 1000 },
          {
            name: 'reservations.sweep',
            data: {},
            opts: { removeOnComplete: 100, removeOnFail: 100 },
          },
        )
        .catch((err: unknown) => {
          this.#lastSchedule = 0
          this.log.warn({ err }, 'could not schedule the sweep; will retry')
        })
    }
  }

  wake(): void {
    this.#relay.wake()
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#relay.idle()
    await this.#worker?.close()
    await this.queue.close()
    // BullMQ never closes a connection it was handed: without this each stop leaks one.
    this.#connection?.disconnect()
  }
}
