// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per
// package/file, heaviest first. Usable from run.mjs or on its own:
//   node bench/lib/profile-summary.mjs path/to/file.cpuprofile [top]
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

function shortUrl(url) {
  if (!url) return '(native)'
  const p = url.startsWith('file://') ? fileURLToPath(url) : url
  const nm = p.lastIndexOf('node_modules/')
  if (nm >= 0) return p.slice(nm + 'node_modules/'.length)
  const dist = p.indexOf('/dist/')
  if (dist >= 0) return p.slice(dist + 1)
  return p
}

function packageOf(url) {
  const s = shortUrl(url)
  if (s.startsWith('dist/')) return s
  if (s.startsWith('node:') || !s.includes('/')) return s
  const parts = s.split('/')
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
}

/** @returns {{ totalMs: number, functions: object[], packages: object[] }} */
export function summariseProfile(file, top = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map()
  const dt = profile.timeDeltas
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0))
  }
  const totalUs = dt.reduce((a, b) => a + b, 0)
  // Attribute every sample to the nearest application frame (dist/src, not counting the
  // database wrapper), so library time lands on the app function that asked for it.
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const appFrame = new Map()
  const appOf = (id) => {
    if (appFrame.has(id)) return appFrame.get(id)
    const n = byId.get(id)
    const url = n.callFrame.url ?? ''
    let out
    if (url.includes('/dist/src/') && !url.endsWith('/dist/src/db/database.js')) {
      out = `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(url)}:${n.callFrame.lineNumber + 1}`
    } else {
      const p = parent.get(id)
      out = p === undefined ? null : appOf(p)
    }
    appFrame.set(id, out)
    return out
  }
  const appTotals = new Map()
  for (const [id, us] of self) {
    const key = appOf(id)
    if (key) appTotals.set(key, (appTotals.get(key) ?? 0) + us)
  }
  const fnTotals = new Map()
  const pkgTotals = new Map()
  for (const [id, us] of self) {
    const n = byId.get(id)
    const cf = n.callFrame
    const name = cf.functionName || '(anonymous)'
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : ''
    const key = `${name} ${where}`.trim()
    fnTotals.set(key, (fnTotals.get(key) ?? 0) + us)
    const pkg = cf.url ? packageOf(cf.url) : name
    pkgTotals.set(pkg, (pkgTotals.get(pkg) ?? 0) + us)
  }
  const rank = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ name: k, ms: us / 1000, pct: (100 * us) / totalUs }))
  return {
    totalMs: totalUs / 1000,
    functions: rank(fnTotals),
    packages: rank(pkgTotals),
    appFrames: rank(appTotals).slice(0, 15),
  }
}

export function formatSummary(s) {
  const line = (r) =>
    `${r.pct.toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`
  return [
    `profile: ${(s.totalMs / 1000).toFixed(1)} s sampled`,
    'self time by function:',
    ...s.functions.map(line),
    'self time by package/file:',
    ...s.packages.map(line),
    'time under the nearest application function (its own plus the libraries it called):',
    ...s.appFrames.map(line),
  ].join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2)
  if (!file) {
    console.error('usage: node bench/lib/profile-summary.mjs FILE.cpuprofile [top]')
    process.exit(2)
  }
  console.log(formatSummary(summariseProfile(file, Number(top ?? 25))))
}
