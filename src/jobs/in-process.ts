import type { FastifyBaseLogger } from 'fastify'
import { deliverMany, dueOutbox } from '../notifications/delivery.js'
import type { Delivery } from '../notifications/delivery.js'
import { jobLag } from '../metrics/metrics.js'
import type { JobRunner } from './runner.js'
import { runSweep } from './sweep.js'

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())

/** Outbox rows one pass delivers at once. */
const BATCH = 20
/**
 * Under steady load a pass starts at most this often: a booking's email waits up to this
 * long so that one claim and one outcome write (each a commit) serve every row due by then,
 * rather than one pass, and two commits, per booking. An idle runner starts at once.
 */
const GATHER_MS = 50

/**
 * The jobs inside the API process (no Redis): a poller over the outbox, woken at once
 * after each commit, and a timer for the status sweep.
 */
export class InProcessRunner implements JobRunner {
  #timer: NodeJS.Timeout | undefined
  #sweepTimer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #again = false
  #stopped = true
  #lastPass = 0

  constructor(
    private readonly delivery: Delivery,
    private readonly log: FastifyBaseLogger,
    private readonly opts: { pollMs?: number; sweepSeconds: number },
  ) {}

  async start(): Promise<void> {
    this.#stopped = false
    this.#timer = setInterval(() => this.wake(), this.opts.pollMs ?? 1000)
    this.#sweepTimer = setInterval(() => void this.#sweep(), this.opts.sweepSeconds * 1000)
    this.#timer.unref()
    this.#sweepTimer.unref()
    this.wake()
    await this.#sweep()
  }

  wake(): void {
    if (this.#stopped) return
    if (this.#running) {
      this.#again = true
      return
    }
    const wait = this.#lastPass + GATHER_MS - Date.now()
    this.#running = (wait > 0 ? delay(wait) : Promise.resolve())
      .then(() => this.#drain())
      .finally(() => {
        this.#running = undefined
        if (this.#again) {
          this.#again = false
          this.wake()
        }
      })
  }

  /** Waits until nothing is due (tests use it to await delivery). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running
  }

  async #drain(): Promise<void> {
    this.#again = false
    this.#lastPass = Date.now()
    try {
      for (;;) {
        if (this.#stopped) return
        const { db } = this.delivery.ctx.database
        const now = this.delivery.ctx.now()
        const due = await dueOutbox(db, now, BATCH)
        if (due.length === 0) return
        // Job lag: how long each row has been due when this pass picks it up.
        for (const r of due)
          jobLag.observe(
            { job: `outbox.${r.kind}` },
            Math.max(0, (now.getTime() - r.available_at.getTime()) / 1000),
          )
        await deliverMany(
          this.delivery,
          due.map((r) => r.id),
        )
        // Rows that failed are rescheduled in the future, so the loop ends. A pass that found
        // fewer than it could take found everything due then: rows committed since woke the
        // runner (`#again`), so no query just to find nothing (one per email under steady load).
        if (due.length < BATCH) return
      }
    } catch (err) {
      this.log.warn({ err }, 'outbox delivery pass failed; will retry')
    }
  }

  async #sweep(): Promise<void> {
    if (this.#stopped) return
    try {
      await runSweep(this.delivery.ctx)
    } catch (err) {
      this.log.warn({ err }, 'status sweep failed; will retry')
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    clearInterval(this.#sweepTimer)
    await this.idle()
  }
}
