import cluster from 'node:cluster'
import type { Worker } from 'node:cluster'
import type { Logger } from 'pino'
import { AggregatorRegistry, register } from 'prom-client'
import type { Config } from '../config.js'
import { createDatabase } from '../db/database.js'
import { migrateToLatest } from '../db/migrator.js'
import { collectProcessMetrics } from '../metrics/metrics.js'
import type { Role, ToPrimary, ToWorker } from './ipc.js'
import { describeJobs } from './process.js'

/** A place in the cluster: web-1 … web-N, and `jobs` (no Redis). Replaced when it dies. */
interface Slot {
  name: string
  role: Role
  env: Record<string, string>
  worker?: Worker
  ready: boolean
  /** Exit times (ms) in the last minute: the replacement waits longer each time. */
  exits: number[]
  timer?: NodeJS.Timeout
  /** Stopped before it was ready (it cannot take the order yet): its exit code is moot. */
  killed?: boolean
}

/** One process's metrics, as prom-client's getMetricsAsJSON gives them. */
type Json = Awaited<ReturnType<typeof register.getMetricsAsJSON>>

const RESTART_WINDOW_MS = 60_000
const MAX_RESTART_DELAY_MS = 30_000
/** Longer than a process's own 25 s drain limit, so that one reports first. */
const GRACE_MS = 28_000

export function restartDelay(recentExits: number): number {
  return Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** Math.max(0, recentExits - 1))
}

/**
 * `npm start`: migrate once, then fork WEB_CONCURRENCY HTTP processes sharing the port, and
 * (without Redis) one job process. This process answers no request: it supervises (replaces
 * a process that dies, with backoff), relays messages (outbox wake-ups, cache
 * announcements, metric scrapes) and orders the shutdown: requests, then jobs.
 */
export async function runPrimary(config: Config, log: Logger): Promise<void> {
  const database = createDatabase(config.database)
  try {
    await migrateToLatest(database.db, database.engine)
  } finally {
    await database.close()
  }
  collectProcessMetrics('primary')
  new Supervisor(config, log).start()
}

class Supervisor {
  readonly #slots: Slot[] = []
  #everReady = false
  #stopping = false
  #clean = true
  #nextId = 1
  readonly #acks = new Map<
    number,
    { waiting: Set<number>; origin: Worker; originId: number; timer: NodeJS.Timeout }
  >()
  readonly #scrapes = new Map<number, { waiting: Set<number>; got: Json[]; finish: () => void }>()

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    if (!config.redisUrl) this.#slots.push(this.#slot('jobs', 'jobs'))
    for (let k = 1; k <= config.webConcurrency; k++) this.#slots.push(this.#slot(`web-${k}`, 'web'))
  }

  #slot(name: string, role: Role): Slot {
    const slot = name.startsWith('web-') ? name.slice(4) : ''
    return { name, role, env: { FADE_ROLE: role, FADE_SLOT: slot }, ready: false, exits: [] }
  }

  start(): void {
    cluster.on('exit', (worker, code, signal) => this.#exited(worker, code, signal))
    cluster.on('message', (worker, msg: ToPrimary) => this.#message(worker, msg))
    for (const s of this.#slots) this.#fork(s)
    process.on('SIGTERM', () => this.stop('SIGTERM'))
    process.on('SIGINT', () => this.stop('SIGINT'))
  }

  #fork(slot: Slot): void {
    slot.timer = undefined
    slot.ready = false
    slot.killed = false
    slot.worker = cluster.fork(slot.env)
    // A channel that breaks while a message is on its way (a process exiting) must not
    // become an unhandled 'error' event that ends the primary; its exit is handled anyway.
    slot.worker.on('error', (err) => this.log.debug({ err }, `${slot.name}: IPC error`))
  }

  #slotOf(worker: Worker): Slot | undefined {
    return this.#slots.find((s) => s.worker === worker)
  }

  #live(): Worker[] {
    return this.#slots.flatMap((s) => (s.worker?.isConnected() ? [s.worker] : []))
  }

  #send(worker: Worker | undefined, msg: ToWorker): void {
    // With a callback, a failed send (EPIPE: the process is exiting) is reported there, not
    // as an 'error' event; the process's exit is what the supervisor acts on.
    if (worker?.isConnected()) worker.send(msg, undefined, undefined, () => undefined)
  }

  #message(worker: Worker, msg: ToPrimary): void {
    if (!msg || typeof msg !== 'object' || typeof msg.fd !== 'string') return
    const slot = this.#slotOf(worker)
    switch (msg.fd) {
      case 'ready':
        if (!slot) return
        slot.ready = true
        if (!this.#everReady && this.#slots.every((s) => s.ready)) {
          this.#everReady = true
          this.log.info(
            `Fade District ready — database ${this.config.database.engine}, jobs ${describeJobs(this.config)}, email ${this.config.email.backend}, ${this.config.webConcurrency} HTTP process(es)`,
          )
        }
        return
      case 'outbox.wake':
        this.#send(this.#slots.find((s) => s.role === 'jobs')?.worker, { fd: 'outbox.wake' })
        return
      case 'cache.changed': {
        // The HTTP processes, which keep cached reads; the job process serves no request and
        // reads nothing through a cache (delivery and the sweep ask the database each time).
        const others = this.#live().filter((w) => w !== worker && this.#slotOf(w)?.role === 'web')
        if (others.length === 0) return this.#send(worker, { fd: 'cache.done', id: msg.id })
        const id = this.#nextId++
        const done = () => {
          const entry = this.#acks.get(id)
          if (!entry) return
          clearTimeout(entry.timer)
          this.#acks.delete(id)
          this.#send(entry.origin, { fd: 'cache.done', id: entry.originId })
        }
        this.#acks.set(id, {
          waiting: new Set(others.map((w) => w.id)),
          origin: worker,
          originId: msg.id,
          timer: setTimeout(done, 1000),
        })
        for (const w of others) this.#send(w, { fd: 'cache.changed', id })
        return
      }
      case 'cache.ack': {
        const entry = this.#acks.get(msg.id)
        if (!entry) return
        entry.waiting.delete(worker.id)
        if (entry.waiting.size === 0) {
          clearTimeout(entry.timer)
          this.#acks.delete(msg.id)
          this.#send(entry.origin, { fd: 'cache.done', id: entry.originId })
        }
        return
      }
      case 'metrics.scrape':
        void this.#scrape().then(
          (text) => this.#send(worker, { fd: 'metrics.text', id: msg.id, text }),
          (err: unknown) =>
            this.#send(worker, { fd: 'metrics.text', id: msg.id, text: '', error: String(err) }),
        )
        return
      case 'metrics.json': {
        const entry = this.#scrapes.get(msg.id)
        if (!entry) return
        entry.got.push(msg.metrics as Json)
        entry.waiting.delete(worker.id)
        if (entry.waiting.size === 0) entry.finish()
        return
      }
    }
  }

  /** Every process's metrics (and this one's), merged: sums, or per process where labelled. */
  async #scrape(): Promise<string> {
    const id = this.#nextId++
    const workers = this.#live()
    const got: Json[] = [(await register.getMetricsAsJSON()) as Json]
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish(), 2000)
      const finish = () => {
        clearTimeout(timer)
        this.#scrapes.delete(id)
        resolve()
      }
      this.#scrapes.set(id, { waiting: new Set(workers.map((w) => w.id)), got, finish })
      if (workers.length === 0) finish()
      for (const w of workers) this.#send(w, { fd: 'metrics.collect', id })
    })
    return AggregatorRegistry.aggregate(got).metrics()
  }

  #exited(worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.#slotOf(worker)
    // A process that went away no longer holds up an announcement or a scrape.
    for (const [id, entry] of this.#acks) {
      entry.waiting.delete(worker.id)
      if (entry.waiting.size === 0) {
        clearTimeout(entry.timer)
        this.#acks.delete(id)
        this.#send(entry.origin, { fd: 'cache.done', id: entry.originId })
      }
    }
    for (const entry of this.#scrapes.values()) {
      entry.waiting.delete(worker.id)
      if (entry.waiting.size === 0) entry.finish()
    }
    if (!slot) return
    slot.worker = undefined
    slot.ready = false
    const how = signal ? `signal ${signal}` : `code ${code}`
    if (this.#stopping) {
      if (code !== 0 && !slot.killed) this.#clean = false
      this.log.info(`${slot.name} (pid ${worker.process.pid}) exited (${how})`)
      this.#afterExit()
      return
    }
    if (!this.#everReady) {
      // It failed while starting (its own message says why): starting again would fail again.
      this.log.error(`${slot.name} exited during start (${how}); stopping`)
      this.#clean = false
      this.stop('start failed')
      return
    }
    const now = Date.now()
    slot.exits = [...slot.exits.filter((t) => now - t < RESTART_WINDOW_MS), now]
    const delay = restartDelay(slot.exits.length)
    this.log.error(
      `${slot.name} (pid ${worker.process.pid}) exited (${how}); replacing it in ${delay} ms`,
    )
    slot.timer = setTimeout(() => this.#fork(slot), delay)
  }

  /** Requests first (the HTTP processes drain), then the jobs, then this process. */
  stop(reason: string): void {
    if (this.#stopping) return
    this.#stopping = true
    this.log.info(`${reason}: finishing in-flight requests, then jobs, then stopping`)
    const force = setTimeout(() => {
      this.log.error('shutdown took too long; exiting')
      for (const s of this.#slots) s.worker?.process.kill('SIGKILL')
      process.exit(1)
    }, GRACE_MS)
    force.unref()
    for (const s of this.#slots) clearTimeout(s.timer)
    this.#afterExit()
  }

  #afterExit(): void {
    if (!this.#stopping) return
    const web = this.#slots.filter((s) => s.role === 'web' && s.worker)
    if (web.length > 0) {
      for (const s of web) this.#order(s)
      return
    }
    const jobs = this.#slots.find((s) => s.role === 'jobs' && s.worker)
    if (jobs) {
      this.#order(jobs)
      return
    }
    process.exit(this.#clean ? 0 : 1)
  }

  /** A ready process drains on our message; one still starting is simply ended. */
  #order(slot: Slot): void {
    if (slot.ready) this.#send(slot.worker, { fd: 'shutdown' })
    else if (!slot.killed) {
      slot.killed = true
      slot.worker?.process.kill('SIGTERM')
    }
  }
}
