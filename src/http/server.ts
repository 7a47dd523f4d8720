import { createServer } from 'node:http'
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'
import type { Config } from '../config.js'
import { requestLogger } from './request-logger.js'

/** The largest request body read (the contract's 413 beyond). */
export const BODY_LIMIT = 1024 * 1024
/** Longer than the usual proxy/load-balancer idle timeout (60 s), so the proxy closes first. */
const KEEP_ALIVE_MS = 72_000

export interface ServerOptions {
  /** A pino logger shared with the job runner (none in tests unless given). */
  loggerInstance?: FastifyBaseLogger
  /** How long a client may take to send a whole request (default 30 s). */
  requestTimeoutMs?: number
}

/**
 * Fastify's options: the HTTP server, its timeouts, and the answers given before any route
 * runs (unparseable requests, malformed URLs), all in the contract's error shape.
 */
export function serverOptions(config: Config, opts: ServerOptions): FastifyServerOptions {
  const requestTimeout = opts.requestTimeoutMs ?? 30_000
  return {
    ...(opts.loggerInstance
      ? { loggerInstance: opts.loggerInstance, childLoggerFactory: requestLogger }
      : { logger: false }),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
    bodyLimit: BODY_LIMIT,
    trustProxy: config.trustProxy,
    // A client that trickles its body is cut off instead of holding a socket forever.
    // Node checks request timeouts every connectionsCheckingInterval (30 s by default): check
    // every second so a client trickling its body is cut off close to the limit.
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout,
          connectionsCheckingInterval: 1000,
          // Fastify's keepAliveTimeout does not reach a server it did not create.
          keepAliveTimeout: KEEP_ALIVE_MS,
          // A request without Host is answered by the host check (400 in the contract's
          // shape; probes still 200), not by Node's bare 400.
          requireHostHeader: false,
        },
        handler,
      ),
    requestTimeout,
    // Errors the HTTP parser meets before any route (slow body, oversized headers, garbage):
    // answered on the socket, still in the contract's shape.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      const [status, text, code, detail] =
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'request_timeout', 'The request was not received in time.']
          : err.code === 'HPE_HEADER_OVERFLOW'
            ? [
                431,
                'Request Header Fields Too Large',
                'headers_too_large',
                'Request headers are too large.',
              ]
            : [400, 'Bad Request', 'bad_request', 'Malformed HTTP request.']
      if (socket.writable) {
        const body = JSON.stringify({ detail, code })
        socket.end(
          `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        )
      } else socket.destroy()
    },
    // Malformed URLs and the like: the contract's error shape, not Fastify's.
    frameworkErrors: (error, _req, reply) => {
      const status = (error as { statusCode?: number }).statusCode ?? 400
      void reply
        .code(status as never)
        .type('application/json; charset=utf-8')
        .send(
          JSON.stringify({
            detail: error.message,
            code: status === 414 ? 'uri_too_long' : 'bad_request',
          }) as never,
        )
    },
    connectionTimeout: 60_000,
    keepAliveTimeout: KEEP_ALIVE_MS,
    requestIdHeader: 'x-request-id',
    // Requests already on an open connection while closing are served (with Connection: close)
    // instead of Fastify's own 503 body, which is not the contract's shape.
    return503OnClosing: false,
  }
}
