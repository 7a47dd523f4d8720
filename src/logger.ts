import { pino } from 'pino'
import type { Logger, LoggerOptions } from 'pino'
import type { Config } from './config.js'

function prettyAvailable(): boolean {
  try {
    import.meta.resolve('pino-pretty')
    return true
  } catch {
    return false
  }
}

/** pino options: structured JSON, secrets redacted, pretty only on a terminal. */
export function createLogger(config: Config): Logger {
  const pretty = process.stdout.isTTY && !config.production && prettyAvailable()
  const options: LoggerOptions = {
    level: config.logLevel,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        '*.password',
        '*.current_password',
        '*.refresh',
        '*.access',
      ],
      censor: '[redacted]',
    },
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' },
          },
        }
      : {}),
  }
  return pino(options)
}
