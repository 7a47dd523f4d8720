#!/usr/bin/env node
// `npm start` / `npm run worker` run this first: it builds (npm run build) only when dist/ is
// missing or the sources changed since the last build, so a second start takes as long as
// the compiled server does instead of a full compile. What counts as a change: a file under
// the inputs below added, removed, resized or touched (a fingerprint of paths, sizes and
// modification times, written to dist/ after a successful build; a stat per file, no reads).
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const INPUTS = [
  'src',
  'web',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
]
/** Build outputs and tool caches inside the inputs: never part of the fingerprint. */
const SKIP = new Set(['node_modules', 'dist', 'test-results', 'playwright-report', '.vite'])
const STAMP = join('dist', '.build-fingerprint')
/** The file whose absence means "never built". */
const ENTRY = join('dist', 'src', 'main.js')

function fingerprint(root) {
  const rows = []
  const walk = (rel) => {
    const path = join(root, rel)
    if (!existsSync(path)) return
    const st = statSync(path)
    if (st.isDirectory()) {
      for (const name of readdirSync(path).sort()) if (!SKIP.has(name)) walk(join(rel, name))
    } else rows.push(`${rel}\t${st.size}\t${st.mtimeMs}`)
  }
  for (const input of INPUTS) walk(input)
  return createHash('sha256').update(rows.join('\n')).digest('hex')
}

const root = process.cwd()
const current = fingerprint(root)
const stampPath = join(root, STAMP)
const built = existsSync(join(root, ENTRY)) && existsSync(stampPath)
if (built && readFileSync(stampPath, 'utf8').trim() === current) process.exit(0)

process.stderr.write(built ? 'Sources changed: building…\n' : 'First start: building…\n')
const npm = process.env.npm_execpath
const result = npm
  ? spawnSync(process.execPath, [npm, 'run', 'build'], { stdio: 'inherit' })
  : spawnSync('npm', ['run', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' })
if (result.status !== 0) process.exit(result.status ?? 1)
// The fingerprint taken before the build: a file edited while it ran triggers the next one.
mkdirSync(join(root, 'dist'), { recursive: true })
writeFileSync(stampPath, `${current}\n`)
