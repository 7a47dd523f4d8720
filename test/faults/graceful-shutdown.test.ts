/**
 * Fault 5: SIGTERM under load. About 20 requests are in flight (bookings and reads) when the
 * API gets SIGTERM. Every request the server had taken in finishes with its normal answer
 * (no reset), the process exits 0, and nothing is half-written: each reservation has its
 * history and outbox rows, and each committed booking was answered 201.
 * "Taken in" is read from the API's own request log (LOG_LEVEL=info logs each request id as
 * it arrives), so a request the kernel refused after the listener closed is not counted.
 */
import { describe, expect, it } from 'vitest'
import type { HttpResult, Shop } from './harness.js'
import {
  faultFixture,
  faultLifecycle,
  gate,
  http,
  integrityProblems,
  overlappingPairs,
  sample,
  seedShop,
  sleep,
  slot,
  startApi,
} from './harness.js'

const engines = [
  { engine: 'sqlite', skip: await gate('SIGTERM under load (SQLite)', ['sqlite']) },
  { engine: 'mysql', skip: await gate('SIGTERM under load (MariaDB)', ['mysql']) },
  { engine: 'postgres', skip: await gate('SIGTERM under load (PostgreSQL)', ['postgres']) },
] as const

const BOOKING_LOOPS = 12
const READ_LOOPS = 8

interface LogLine {
  msg?: string
  reqId?: string
  res?: { statusCode?: number }
}

function socketErrorCounts(results: HttpResult[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const r of results) {
    const key = r.error ?? `answered ${r.status}`
    counts[key] = (counts[key] ?? 0) + 1
  }
  return counts
}

function parseLog(lines: string[]): LogLine[] {
  const out: LogLine[] = []
  for (const line of lines) {
    if (!line.startsWith('{')) continue
    try {
      out.push(JSON.parse(line) as LogLine)
    } catch {
      // not a log line
    }
  }
  return out
}

for (const { engine, skip } of engines) {
  describe.skipIf(skip !== null)(`SIGTERM under load (${engine})`, () => {
    const { defer } = faultLifecycle(40)

    it('finishes in-flight requests, exits 0 and leaves nothing half-written', async () => {
      const t0 = Date.now()
      const { mail, url, db } = await faultFixture(engine, defer)
      const api = await startApi({
        DATABASE_URL: url,
        EMAIL_PORT: String(mail.port),
        LOG_LEVEL: 'info',
      })
      const shop: Shop = await seedShop(api.base, { barbers: 3, customers: 10 })
      const today = slot(1, 0).start_time.slice(0, 10)

      const results: HttpResult[] = []
      let stop = false
      let n = 0
      const loop = async (k: number, booking: boolean) => {
        const customer = shop.customers[k % shop.customers.length]!
        while (!stop) {
          const id = `sig-${k}-${n++}`
          let r: HttpResult
          if (booking) {
            const s = slot(1 + Math.floor(Math.random() * 20), Math.floor(Math.random() * 48))
            const staff = k % 3 === 0 ? undefined : shop.barbers[k % shop.barbers.length]
            r = await http(api.base, 'POST', '/api/reservations/', {
              token: customer.token,
              body: { staff, service: shop.service, start_time: s.start_time },
              reqId: id,
            })
          } else {
            const path = [
              `/api/reservations/?page_size=20`,
              `/api/availability/?date=${today}&service=${shop.service}`,
              '/api/auth/me/',
            ][k % 3]!
            r = await http(api.base, 'GET', path, { token: customer.token, reqId: id })
          }
          results.push(r)
          // The listener is gone: this loop is done.
          if (r.error === 'ECONNREFUSED') return
        }
      }
      const loops = [
        ...Array.from({ length: BOOKING_LOOPS }, (_, k) => loop(k, true)),
        ...Array.from({ length: READ_LOOPS }, (_, k) => loop(BOOKING_LOOPS + k, false)),
      ]
      await sleep(2000)
      const signalAt = Date.now()
      api.child.proc.kill('SIGTERM')
      const exit = await Promise.race([api.child.exited, sleep(30_000).then(() => null)])
      const exitedAt = Date.now()
      stop = true
      await Promise.all(loops)

      expect(exit, 'the API did not exit within 30 s of SIGTERM').not.toBeNull()
      // Soft: the checks below still run and say what the requests saw. Exit 1 after ~25 s is
      // main.ts's forced exit: app.close() never finished draining.
      expect
        .soft(exit, `exit after ${exitedAt - signalAt} ms of SIGTERM`)
        .toEqual({ code: 0, signal: null })

      const log = parseLog(api.child.lines)
      const takenIn = new Set(
        log.filter((l) => l.msg === 'incoming request' && l.reqId).map((l) => l.reqId!),
      )
      const accepted = results.filter((r) => takenIn.has(r.reqId))
      const inFlight = accepted.filter((r) => r.startedAt < signalAt && r.endedAt > signalAt)
      // Every request the server took in got its normal answer: no reset, no 5xx.
      const broken = accepted.filter(
        (r) => r.error !== undefined || ![200, 201, 409].includes(r.status),
      )
      expect(
        sample(
          broken.map(
            (r) =>
              `${r.reqId} ${r.method} ${r.path} → ${r.status || r.error} ${r.text.slice(0, 200)}`,
          ),
        ),
      ).toEqual([])
      expect(inFlight.length).toBeGreaterThan(0)

      // Requests the server never took in: refused or reset at the socket, nothing else.
      const notTakenIn = results.filter((r) => !takenIn.has(r.reqId))
      const socketErrors = new Set([
        'ECONNREFUSED',
        'ECONNRESET',
        'UND_ERR_SOCKET',
        'EPIPE',
        'UND_ERR_CLOSED',
      ])
      const answeredWithoutLog = notTakenIn.filter((r) => r.error === undefined)
      expect(
        notTakenIn
          .filter((r) => r.error !== undefined && !socketErrors.has(r.error))
          .map((r) => r.error),
      ).toEqual([])

      // Nothing half-written; each committed booking was answered.
      expect(await integrityProblems(db.db)).toEqual([])
      expect(await overlappingPairs(db.db)).toEqual([])
      const stored = (await db.db.selectFrom('reservations').select('id').execute())
        .map((r) => r.id)
        .sort((a, b) => a - b)
      const answered = results
        .filter((r) => r.method === 'POST' && r.status === 201)
        .map((r) => (r.body as { id: number }).id)
        .sort((a, b) => a - b)
      expect(stored).toEqual(answered)

      process.stderr.write(
        `[faults] SIGTERM (${engine}): ${results.length} requests, ${accepted.length} taken in, ${inFlight.length} in flight at the signal, all answered normally; ` +
          `never taken in: ${JSON.stringify(socketErrorCounts(notTakenIn))}; ` +
          `exit ${exit?.code} after ${exitedAt - signalAt} ms; ${stored.length} reservations; total ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
      )

      // A request that reached the closing server on an open keep-alive connection is turned
      // away; that answer must still be the contract's: {detail, code} with Retry-After.
      const offContract = answeredWithoutLog.filter((r) => {
        const b = r.body as Record<string, unknown> | undefined
        return !(
          r.status === 503 &&
          b &&
          typeof b.detail === 'string' &&
          typeof b.code === 'string' &&
          r.headers['retry-after']
        )
      })
      expect(
        sample(
          offContract.map(
            (r) =>
              `${r.method} ${r.path} → ${r.status} ${r.text} retry-after=${r.headers['retry-after']}`,
          ),
          5,
        ),
      ).toEqual([])
    })
  })
}
