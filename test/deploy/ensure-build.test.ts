import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const SCRIPT = resolve('scripts/ensure-build.mjs')

/**
 * `npm start` builds only when the sources changed (issue: every start recompiled the whole
 * project, 11 s to healthy). A throwaway project whose `build` counts its runs stands in for
 * tsc + vite, so the test measures the decision, not the compiler.
 */
describe('ensure-build: build once, not at every start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fade-build-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'src'))
  writeFileSync(join(dir, 'src', 'main.ts'), 'export {}\n')
  writeFileSync(
    join(dir, 'build.mjs'),
    `import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs'
     const n = existsSync('builds') ? Number(readFileSync('builds', 'utf8')) : 0
     writeFileSync('builds', String(n + 1))
     mkdirSync('dist/src', { recursive: true })
     writeFileSync('dist/src/main.js', '')`,
  )
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'x', private: true, scripts: { build: 'node build.mjs' } }),
  )
  const start = () => execFileSync(process.execPath, [SCRIPT], { cwd: dir, stdio: 'pipe' })
  const builds = () => Number(readFileSync(join(dir, 'builds'), 'utf8'))

  it('builds on the first start, then not again while nothing changed', () => {
    start()
    expect(builds()).toBe(1)
    start()
    start()
    expect(builds()).toBe(1)
  })

  it('rebuilds when a source is edited, added or removed', () => {
    const later = new Date(Date.now() + 5000)
    utimesSync(join(dir, 'src', 'main.ts'), later, later)
    start()
    expect(builds()).toBe(2)
    writeFileSync(join(dir, 'src', 'extra.ts'), 'export {}\n')
    start()
    expect(builds()).toBe(3)
    rmSync(join(dir, 'src', 'extra.ts'))
    start()
    expect(builds()).toBe(4)
    start()
    expect(builds()).toBe(4)
  })

  it('rebuilds when the build output is gone', () => {
    rmSync(join(dir, 'dist', 'src', 'main.js'))
    start()
    expect(builds()).toBe(5)
  })

  it('a failed build fails the start and is retried next time', () => {
    utimesSync(join(dir, 'src', 'main.ts'), new Date(), new Date(Date.now() + 9000))
    writeFileSync(join(dir, 'build.mjs'), 'process.exit(3)')
    expect(start).toThrow()
    writeFileSync(
      join(dir, 'build.mjs'),
      `import { writeFileSync } from 'node:fs'; writeFileSync('builds', '100')`,
    )
    start()
    expect(builds()).toBe(100)
  })

  it('npm start and npm run worker go through it (not through a full build)', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      scripts: Record<string, string>
    }
    expect(pkg.scripts.prestart).toBe('node scripts/ensure-build.mjs')
    expect(pkg.scripts.preworker).toBe('node scripts/ensure-build.mjs')
  })
})
