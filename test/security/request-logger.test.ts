import { Writable } from 'node:stream'
import { pino } from 'pino'
import type { Logger } from 'pino'
import { describe, expect, it } from 'vitest'
import { requestLogger } from '../../src/http/request-logger.js'

/** The per-request logger builds pino's child only for a line its level lets through. */
describe('requestLogger', () => {
  const capture = (level: string) => {
    const lines: Record<string, unknown>[] = []
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
        done()
      },
    })
    return { root: pino({ level, base: { app: 'fade' } }, sink), lines }
  }
  const flush = () => new Promise((r) => setImmediate(r))

  it('drops lines below the level and writes the others with the request id and the base bindings', async () => {
    const { root, lines } = capture('warn')
    const log = requestLogger(root, { reqId: 'req-7' }, {}) as Logger
    log.info('not written')
    log.debug({ x: 1 }, 'nor this')
    log.warn({ route: '/health/' }, 'slow')
    log.error(new Error('boom'))
    await flush()
    expect(lines.map((l) => l.msg)).toEqual(['slow', 'boom'])
    expect(lines[0]).toMatchObject({ reqId: 'req-7', app: 'fade', route: '/health/', level: 40 })
    expect(lines[1]).toMatchObject({ reqId: 'req-7', level: 50 })
    expect(log.level).toBe('warn')
    expect(log.isLevelEnabled('info')).toBe(false)
    expect(log.isLevelEnabled('error')).toBe(true)
  })

  it('has children that keep the request id, and a level of its own when set', async () => {
    const { root, lines } = capture('info')
    const log = requestLogger(root, { reqId: 'req-8' }, {})
    log.child({ job: 'email' }).info('sent')
    log.level = 'error'
    log.warn('hidden now')
    log.error('shown')
    expect(root.level).toBe('info')
    await flush()
    expect(lines).toEqual([
      expect.objectContaining({ reqId: 'req-8', job: 'email', msg: 'sent' }),
      expect.objectContaining({ reqId: 'req-8', msg: 'shown' }),
    ])
  })
})
