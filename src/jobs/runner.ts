/**
 * Background work behind one interface: the in-process runner (no Redis) and the
 * BullMQ runner do the same jobs from the same outbox with the same retry rules.
 */
export interface JobRunner {
  start(): Promise<void>
  /** New outbox rows were committed: deliver them soon. */
  wake(): void
  /** Stop taking work, finish what is running. */
  stop(): Promise<void>
}

/** Every job name and its payload; each has exactly one handler (checked at start). */
export interface Jobs {
  'outbox.deliver': { outboxId: number }
  'reservations.sweep': Record<string, never>
}
export type JobName = keyof Jobs
export const JOB_NAMES: readonly JobName[] = ['outbox.deliver', 'reservations.sweep']
