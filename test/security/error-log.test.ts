/**
 * Error lines in the log name their request: request id, method, route pattern and status.
 * A client that hangs up mid-request is an info line, not a "dependency unavailable" warning.
 * Runs once, on SQLite (the log lines do not depend on the database).
 */
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { sql } from 'kysely'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { startApp } from '../helpers.js'
import type { TestApp } from '../helpers.js'

interface Line {
  level: number
  msg: string
  reqId?: string
  method?: string
  route?: string
  status?: number
}

describe('error lines in the log', () => {
  let t: TestApp
  const lines: Line[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Line)
      cb()
    },
  })

  beforeAll(async () => {
    t = await startApp('sqlite', { jobs: false })
  })
  afterAll(async () => t?.close())

  it('carries request id, method, route pattern and status on an unhandled error', async () => {
    const app = await buildApp(t.runtime.ctx, {
      loggerInstance: pino({ level: 'info' }, sink),
    })
    try {
      // A table gone from under the app: a real 500 through HTTP.
      await sql`alter table services rename to services_gone`.execute(t.database.db)
      const res = await app.inject({ url: '/api/services/?page_size=5' })
      expect(res.statusCode).toBe(500)
      const errors = lines.filter((l) => l.level >= 50)
      expect(errors.length).toBe(1)
      expect(errors[0]).toMatchObject({
        method: 'GET',
        route: '/api/services/',
        status: 500,
        reqId: expect.any(String) as string,
      })
    } finally {
      await sql`alter table services_gone rename to services`.execute(t.database.db)
      await app.close()
    }
  })

  it('logs a client that aborts mid-body at info, not as a dependency warning', async () => {
    lines.length = 0
    const app = await buildApp(t.runtime.ctx, {
      loggerInstance: pino({ level: 'info' }, sink),
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const { port } = app.server.address() as AddressInfo
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.write(
              'POST /api/auth/login/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"username": "a',
              () => setTimeout(() => socket.destroy(), 50),
            )
          })
          socket.on('close', () => resolve())
          socket.on('error', () => undefined)
        })
      }
      await new Promise((r) => setTimeout(r, 200))
      const warnings = lines.filter((l) => l.level >= 40)
      expect(warnings, JSON.stringify(warnings)).toEqual([])
      const aborted = lines.filter((l) => /abort|closed/i.test(l.msg) && l.level === 30)
      expect(aborted.length, JSON.stringify(lines)).toBe(3)
      expect(aborted[0]).toMatchObject({ method: 'POST', route: '/api/auth/login/' })
    } finally {
      await app.close()
    }
  })
})
