// The ceiling: the same Fastify version with one route and nothing else (no hooks,
// no security headers or CORS, no auth lookup, no database). Run as its own child process.
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/health/', async () => ({ status: 'ok' }))

const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
process.send?.({ type: 'ready', port: new URL(address).port })
process.on('SIGTERM', () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
})
