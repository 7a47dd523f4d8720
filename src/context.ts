import type { Config } from './config.js'
import type { DatabaseHandle } from './db/database.js'
import type { TokenService } from './auth/tokens.js'
import type { ThrottleStore } from './auth/throttle.js'

/**
 * What the domain needs from the outside world, handed in by the entry point
 * (or a test), so the same code runs on any database, queue and clock.
 */
export interface AppContext {
  config: Config
  database: DatabaseHandle
  tokens: TokenService
  throttle: ThrottleStore
  /** Called after a transaction that wrote outbox rows commits: deliver soon. */
  wakeOutbox: () => void
  now: () => Date
}
