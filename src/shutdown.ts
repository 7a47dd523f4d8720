import type { Logger } from 'pino'

/**
 * On SIGTERM/SIGINT (or a call of the returned function, e.g. on the cluster primary's
 * order): run `close` once (stop intake, drain, close connections in reverse order of
 * opening), then exit 0; exit 1 if it fails or takes longer than `graceMs`.
 */
export function exitOnSignals(
  log: Logger,
  what: string,
  close: () => Promise<void>,
  graceMs = 25_000,
  signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
): (reason: string) => void {
  let closing = false
  const shutdown = async (reason: string) => {
    if (closing) return
    closing = true
    log.info(`${reason}: ${what}, then stopping`)
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting')
      process.exit(1)
    }, graceMs)
    force.unref()
    try {
      await close()
      process.exit(0)
    } catch (err) {
      log.error({ err }, 'shutdown failed')
      process.exit(1)
    }
  }
  for (const signal of signals) process.on(signal, () => void shutdown(signal))
  return (reason) => void shutdown(reason)
}
