import { describe, expect, it } from 'vitest'
import type { FastifyRequest } from 'fastify'
import { DerivedCache, INEXACT_TTL_MS, readChange, requestChange } from '../src/cache/derived.js'
import type { DatabaseHandle } from '../src/db/database.js'

/*
 * The cache's own rules, on a stand-in database handle whose token the test moves: what a
 * request may be answered with when the data changes under it.
 */

function fakeDatabase(exact = true) {
  let version = 0
  const handle = {
    changeToken: async () => ({ token: `v${version}`, exact }),
  } as unknown as DatabaseHandle
  return {
    handle,
    write: () => void version++,
    get version() {
      return version
    },
  }
}

function deferred() {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

describe('DerivedCache', () => {
  it('answers from the entry while the token and the span hold, and computes again otherwise', async () => {
    const db = fakeDatabase()
    const cache = new DerivedCache<string>()
    let computed = 0
    const get = async (now: number) =>
      cache.get(db.handle, await readChange(db.handle), 'k', now, async () => {
        computed++
        return { value: `${db.version}@${computed}`, validFrom: 100, validUntil: 200 }
      })
    expect(await get(150)).toBe('0@1')
    expect(await get(199)).toBe('0@1')
    expect(await get(100)).toBe('0@1')
    expect(await get(200)).toBe('0@2')
    expect(await get(99)).toBe('0@3')
    db.write()
    expect(await get(150)).toBe('1@4')
    expect(await get(150)).toBe('1@4')
  })

  it('bounds an entry under an inexact token by real time', async () => {
    const db = fakeDatabase(false)
    const cache = new DerivedCache<number>()
    let computed = 0
    const get = async () =>
      cache.get(db.handle, await readChange(db.handle), 'k', 0, async () => ({
        value: ++computed,
        validUntil: Infinity,
      }))
    expect(await get()).toBe(1)
    expect(await get()).toBe(1)
    await new Promise((r) => setTimeout(r, INEXACT_TTL_MS + 50))
    expect(await get()).toBe(2)
  })

  it('never answers a request with a computation that started before it under another token', async () => {
    const db = fakeDatabase()
    const cache = new DerivedCache<number>()
    const gates: ReturnType<typeof deferred>[] = []
    const started: number[] = []
    const get = async () =>
      cache.get(db.handle, await readChange(db.handle), 'k', 0, async () => {
        const version = db.version
        started.push(version)
        const gate = deferred()
        gates.push(gate)
        await gate.promise
        return { value: version, validUntil: Infinity }
      })
    const first = get()
    await new Promise((r) => setTimeout(r, 5))
    expect(started).toEqual([0])
    // A write lands while the first computation runs; requests that arrive after it must
    // see it, and they share one computation that starts once the first is done.
    db.write()
    const later = [get(), get(), get(), get()]
    await new Promise((r) => setTimeout(r, 5))
    expect(started).toEqual([0])
    gates[0]!.resolve()
    expect(await first).toBe(0)
    await new Promise((r) => setTimeout(r, 5))
    expect(started).toEqual([0, 1])
    gates[1]!.resolve()
    expect(await Promise.all(later)).toEqual([1, 1, 1, 1])
    // Same token as the entry: served from it.
    expect(await get()).toBe(1)
    expect(started).toEqual([0, 1])
  })

  it('lets requests under the same token join the computation running for it', async () => {
    const db = fakeDatabase()
    const cache = new DerivedCache<number>()
    let computed = 0
    const gate = deferred()
    const get = async () =>
      cache.get(db.handle, await readChange(db.handle), 'k', 0, async () => {
        computed++
        await gate.promise
        return { value: computed, validUntil: Infinity }
      })
    const all = [get(), get(), get()]
    await new Promise((r) => setTimeout(r, 5))
    gate.resolve()
    expect(await Promise.all(all)).toEqual([1, 1, 1])
    expect(computed).toBe(1)
  })

  it('shares a token read among the requests that arrived before it started, never earlier ones', async () => {
    let version = 0
    const gates: ReturnType<typeof deferred>[] = []
    const handle = {
      changeToken: async () => {
        const seen = version
        const gate = deferred()
        gates.push(gate)
        await gate.promise
        return { token: `v${seen}`, exact: true }
      },
    } as unknown as DatabaseHandle
    const first = readChange(handle)
    await new Promise((r) => setTimeout(r, 5))
    expect(gates).toHaveLength(1)
    version++
    const later = [readChange(handle), readChange(handle), readChange(handle)]
    await new Promise((r) => setTimeout(r, 5))
    expect(gates).toHaveLength(1)
    gates[0]!.resolve()
    expect((await first).token).toBe('v0')
    await new Promise((r) => setTimeout(r, 5))
    expect(gates).toHaveLength(2)
    gates[1]!.resolve()
    const tokens = await Promise.all(later)
    expect(tokens.map((c) => c.token)).toEqual(['v1', 'v1', 'v1'])
    // Each keeps its own ticket, taken when it asked.
    expect(new Set(tokens.map((c) => c.seq)).size).toBe(3)
    expect(Math.min(...tokens.map((c) => c.seq))).toBeGreaterThan((await first).seq)
  })
  it('stays within its size, dropping the oldest first, and keeps no failed computation', async () => {
    const db = fakeDatabase()
    const cache = new DerivedCache<string>({ maxEntries: 3 })
    let computed = 0
    const get = async (key: string) =>
      cache.get(db.handle, await readChange(db.handle), key, 0, async () => {
        computed++
        return { value: key, validUntil: Infinity }
      })
    for (const k of ['a', 'b', 'c', 'd']) await get(k)
    expect(computed).toBe(4)
    await get('d')
    expect(computed).toBe(4)
    await get('a')
    expect(computed).toBe(5)
    await expect(
      cache.get(db.handle, await readChange(db.handle), 'x', 0, async () => {
        throw new Error('database down')
      }),
    ).rejects.toThrow('database down')
    expect(await get('x')).toBe('x')
  })

  it('gives a request the change token it read first', async () => {
    const db = fakeDatabase()
    const req = {} as FastifyRequest
    const first = await requestChange(db.handle, req)
    db.write()
    expect((await requestChange(db.handle, req)).token).toBe(first.token)
    const other = {} as FastifyRequest
    expect((await requestChange(db.handle, other)).token).not.toBe(first.token)
  })
})
