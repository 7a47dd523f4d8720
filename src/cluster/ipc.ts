import cluster from 'node:cluster'

/**
 * The messages between the cluster's primary and its processes (web = HTTP, jobs = the
 * in-process job runner). Every one carries `fd` (our namespace on the IPC channel, which
 * prom-client and Node itself share).
 */
export type ToPrimary =
  | { fd: 'ready' }
  /** New outbox rows were committed: the primary passes this on to the job process. */
  | { fd: 'outbox.wake' }
  /** This process committed a write: every other process must drop its cached figures. */
  | { fd: 'cache.changed'; id: number }
  | { fd: 'cache.ack'; id: number }
  /** A scrape of GET /metrics: the primary answers with every process's metrics, merged. */
  | { fd: 'metrics.scrape'; id: number }
  | { fd: 'metrics.json'; id: number; metrics: unknown[] }

export type ToWorker =
  | { fd: 'shutdown' }
  | { fd: 'outbox.wake' }
  | { fd: 'cache.changed'; id: number }
  | { fd: 'cache.done'; id: number }
  | { fd: 'metrics.collect'; id: number }
  | { fd: 'metrics.text'; id: number; text: string; error?: string }

export type Role = 'web' | 'jobs'

/** The role and name of this process when it is one of the cluster's workers. */
export function workerIdentity(): { role: Role; name: string } | null {
  if (cluster.isPrimary || !process.send) return null
  const role = process.env.FADE_ROLE === 'jobs' ? 'jobs' : 'web'
  return { role, name: role === 'jobs' ? 'jobs' : `web-${process.env.FADE_SLOT ?? '?'}` }
}

/** A worker's side of the channel to the primary. */
export class PrimaryChannel {
  #next = 1
  readonly #pending = new Map<number, (msg: ToWorker) => void>()
  readonly #handlers = new Map<string, (msg: ToWorker) => void>()

  constructor() {
    process.on('message', (raw: unknown) => {
      const msg = raw as ToWorker | null
      if (!msg || typeof msg !== 'object' || typeof msg.fd !== 'string') return
      if ((msg.fd === 'cache.done' || msg.fd === 'metrics.text') && this.#pending.has(msg.id)) {
        const resolve = this.#pending.get(msg.id)!
        this.#pending.delete(msg.id)
        resolve(msg)
        return
      }
      this.#handlers.get(msg.fd)?.(msg)
    })
  }

  on<F extends ToWorker['fd']>(fd: F, handler: (msg: Extract<ToWorker, { fd: F }>) => void): void {
    this.#handlers.set(fd, handler as (msg: ToWorker) => void)
  }

  send(msg: ToPrimary): void {
    // A worker whose primary is gone exits on 'disconnect'; until then, drop the message.
    if (process.connected) process.send!(msg)
  }

  /** Sends a message with a fresh id and waits for the answer with that id (or the timeout). */
  request<T extends ToWorker>(
    make: (id: number) => ToPrimary,
    timeoutMs: number,
  ): Promise<T | null> {
    const id = this.#next++
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        resolve(null)
      }, timeoutMs)
      this.#pending.set(id, (msg) => {
        clearTimeout(timer)
        resolve(msg as T)
      })
      this.send(make(id))
    })
  }
}
