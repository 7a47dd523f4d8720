// `npm run dev`: the API (tsx watch) and the web app (Vite, hot reload, /api proxied to the API).
import { spawn } from 'node:child_process'

const apiPort = process.env.PORT ?? '8000'
const children = [
  spawn('npx', ['tsx', 'watch', 'src/main.ts'], {
    stdio: 'inherit',
    env: { ...process.env, PORT: apiPort },
  }),
  spawn('npx', ['vite', '--config', 'web/vite.config.ts'], {
    stdio: 'inherit',
    env: { ...process.env, API_PORT: apiPort },
  }),
]
const stop = () => {
  for (const c of children) c.kill('SIGTERM')
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
for (const c of children)
  c.on('exit', (code) => {
    stop()
    process.exitCode = code ?? 0
  })
