import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AddressInfo } from 'node:net'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { dialects, json, PASSWORD, startApp, unique } from './helpers.js'
import type { TestApp } from './helpers.js'

/**
 * A separate process sending `count` oversized registrations at once for each line on stdin,
 * answering their statuses and bodies as one JSON line.
 */
const ATTACKERS = `
const [base, count] = [process.argv[1], Number(process.argv[2])]
const bodies = Array.from({ length: count }, (_, i) =>
  JSON.stringify({
    username: ('u' + i).repeat(20000),
    email: 'victim' + i + '@example.com',
    password: 'p'.repeat(900000),
    first_name: 'f'.repeat(40000),
    last_name: 'l'.repeat(40000),
  }),
)
require('node:readline').createInterface({ input: process.stdin }).on('line', async () => {
  const answers = await Promise.all(
    bodies.map(async (body) => {
      const res = await fetch(base + '/api/auth/register/', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      return { status: res.status, body: await res.json() }
    }),
  )
  process.stdout.write(JSON.stringify(answers) + '\\n')
})
`
type Answer = { status: number; body: Record<string, unknown> }

for (const engine of await dialects()) {
  describe(`${engine}: registration work is bounded (issue 11, item 1)`, () => {
    let t: TestApp
    beforeAll(async () => {
      t = await startApp(engine)
    })
    afterAll(async () => t?.close())

    it('refuses an oversized password at once, before any validator', async () => {
      const username = unique('big')
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/register/',
        payload: { username, email: `${username}@example.com`, password: 'a'.repeat(5000) },
      })
      expect(res.statusCode).toBe(400)
      expect(json(res)).toEqual({
        password: ['Ensure this field has no more than 4096 characters.'],
      })
    })

    it('8 parallel registrations with a ~1 MB password leave /health/ answering in under 100 ms', async () => {
      await t.app.listen({ port: 0, host: '127.0.0.1' })
      const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
      // The attackers are another process: this one is the server (and a health check).
      const attackers = spawn(process.execPath, ['-e', ATTACKERS, base, '8'], {
        stdio: ['pipe', 'pipe', 'inherit'],
      })
      const lines = createInterface({ input: attackers.stdout })[Symbol.asyncIterator]()
      const attack = async (): Promise<Answer[]> => {
        attackers.stdin.write('go\n')
        const line = await lines.next()
        return JSON.parse(line.value as string) as Answer[]
      }
      const health = async () => {
        const started = performance.now()
        const res = await fetch(`${base}/health/`)
        await res.text()
        expect(res.status).toBe(200)
        return performance.now() - started
      }
      try {
        // Warm up as a running server is (JIT, lazily loaded code): the first requests of a
        // fresh process measure the compiler, not the request.
        await attack()
        await health()
        // Wall-clock latency on a shared CI box also measures the neighbours (load averages of
        // 10+ on 2 cores here), so the attack is repeated and the best round counts: a server
        // whose event loop the attack blocks (before the fix each request held it for about a
        // second) fails every round; preemption by other processes does not recur every round.
        const rounds: number[][] = []
        for (let round = 0; round < 5; round++) {
          let done = false
          const attacks = attack().finally(() => {
            done = true
          })
          const latencies: number[] = []
          while (!done) {
            latencies.push(await health())
            await new Promise((r) => setTimeout(r, 5))
          }
          const answers = await attacks
          expect(answers).toHaveLength(8)
          for (const a of answers)
            expect(a).toEqual({
              status: 400,
              body: expect.objectContaining({
                password: ['Ensure this field has no more than 4096 characters.'],
              }) as unknown,
            })
          latencies.push(await health())
          rounds.push(latencies)
          if (Math.max(...latencies) < 100) break
        }
        const best = Math.min(...rounds.map((l) => Math.max(...l)))
        expect(
          best,
          `health latencies (ms) per round: ${rounds.map((l) => l.map(Math.round).join(' ')).join(' | ')}`,
        ).toBeLessThan(100)
      } finally {
        attackers.kill()
      }
    })

    it('counts failed registrations toward REGISTER_PER_HOUR', async () => {
      const limited = await startApp(engine, { env: { REGISTER_PER_HOUR: '2' } })
      try {
        const reg = (body: Record<string, unknown>) =>
          limited.app.inject({
            method: 'POST',
            url: '/api/auth/register/',
            payload: body,
            remoteAddress: '10.55.5.5',
          })
        const bad = { username: 'bad name!', email: 'x', password: '1' }
        expect((await reg(bad)).statusCode).toBe(400)
        expect((await reg(bad)).statusCode).toBe(400)
        // Over the limit: refused before its body is even looked at, valid or not.
        const third = await reg({ ...bad, password: 'p'.repeat(4000) })
        expect(third.statusCode).toBe(429)
        expect(Number(third.headers['retry-after'])).toBeGreaterThan(0)
        const name = unique('ok')
        const valid = await reg({ username: name, email: `${name}@x.io`, password: PASSWORD })
        expect(valid.statusCode).toBe(429)
      } finally {
        await limited.close()
      }
    })
  })
}
