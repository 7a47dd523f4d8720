import type { FastifyBaseLogger } from 'fastify'
import type { Logger } from 'pino'

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
type LogFn = FastifyBaseLogger['info']

/**
 * Fastify gives every request a child logger bound to its request id. pino builds a child
 * by serialising its bindings (and re-running redaction) — on a health check at
 * LOG_LEVEL=warn that was most of the logging cost, for a logger nothing wrote to. This one
 * builds the child on its first line that the level lets through, so a request that logs
 * nothing costs an object.
 */
class RequestLogger {
  #child: Logger | undefined
  readonly #parent: Logger
  readonly #bindings: Record<string, unknown>
  constructor(parent: Logger, bindings: Record<string, unknown>) {
    this.#parent = parent
    this.#bindings = bindings
  }

  #real(): Logger {
    return (this.#child ??= this.#parent.child(this.#bindings))
  }

  #at(level: Level): LogFn {
    return ((...args: Parameters<LogFn>) => {
      if ((this.#child ?? this.#parent).isLevelEnabled(level)) this.#real()[level](...args)
    }) as LogFn
  }

  readonly fatal = this.#at('fatal')
  readonly error = this.#at('error')
  readonly warn = this.#at('warn')
  readonly info = this.#at('info')
  readonly debug = this.#at('debug')
  readonly trace = this.#at('trace')
  readonly silent: LogFn = () => undefined

  get level(): string {
    return this.#child?.level ?? this.#parent.level
  }
  set level(level: string) {
    this.#real().level = level
  }
  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level)
  }
  child(bindings: Record<string, unknown>, options?: { level?: string }): Logger {
    return this.#real().child(bindings, options)
  }
  bindings(): Record<string, unknown> {
    return { ...this.#parent.bindings(), ...this.#bindings }
  }
}

/** Fastify's childLoggerFactory: per-route log levels or serializers get pino's own child. */
export function requestLogger(
  logger: FastifyBaseLogger,
  bindings: Record<string, unknown>,
  opts: { level?: string; serializers?: unknown },
): FastifyBaseLogger {
  if (opts.level || opts.serializers) return logger.child(bindings, opts as never)
  return new RequestLogger(logger as Logger, bindings) as unknown as FastifyBaseLogger
}
