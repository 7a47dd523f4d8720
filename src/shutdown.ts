import type { Logger } from 'pino'

/**
 * On SIGTERM/SIGINT: run `close` once (stop intake, drain, close connections in reverse
 * order of opening), then exit 0; exit 1 if it fails or takes longer than `graceMs`.
 */
export function exitOnSignals(
  log: Logger,
  what: string,
  close: () => Promise<void>,
  graceMs = 25_000,
): void {
  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    log.info(`${signal}: ${what}, then stopping`)
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
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}
