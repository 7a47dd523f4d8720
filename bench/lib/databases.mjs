// Throwaway databases for one benchmark run: a temp SQLite file, or a database created on
// the local MariaDB/MySQL or PostgreSQL server and dropped afterwards.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import mysql from 'mysql2/promise'
import pg from 'pg'

export const MYSQL_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306'
export const POSTGRES_URL =
  process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/**
 * Creates an empty database and returns the environment that points the app at it
 * (DATABASE_URL), a query(sql) for the few statements the bench runs beside the app
 * (version, outbox, the double-booking check), and a drop() that removes it.
 * @param {'sqlite'|'mysql'|'postgres'} engine
 * @param {string} workDir a temp directory owned by this run
 */
export async function createBenchDatabase(engine, workDir) {
  const name = `fade_bench_${randomBytes(4).toString('hex')}`
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(workDir ?? tmpdir(), 'db-'))
    const file = join(dir, 'bench.sqlite3')
    return {
      engine,
      label: file,
      env: { DATABASE_URL: `sqlite:${file}` },
      query: async (text) => {
        const c = new Database(file)
        try {
          c.pragma('busy_timeout = 10000')
          const st = c.prepare(text)
          return st.reader ? st.all() : (st.run(), [])
        } finally {
          c.close()
        }
      },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    }
  }
  if (engine === 'mysql') {
    const admin = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 5000 })
    await admin.query(`create database ${name} character set utf8mb4 collate utf8mb4_unicode_ci`)
    await admin.end()
    const url = new URL(MYSQL_URL)
    url.pathname = `/${name}`
    return {
      engine,
      label: `${url.host}/${name}`,
      env: { DATABASE_URL: url.toString() },
      query: async (text) => {
        const c = await mysql.createConnection({ uri: url.toString() })
        try {
          const [rows] = await c.query(text)
          return Array.isArray(rows) ? rows : []
        } finally {
          await c.end()
        }
      },
      drop: async () => {
        const c = await mysql.createConnection({ uri: MYSQL_URL })
        await c.query(`drop database if exists ${name}`)
        await c.end()
      },
    }
  }
  const admin = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  const alter = async (statement) => {
    const c = new pg.Client({ connectionString: POSTGRES_URL })
    await c.connect()
    await c.query(`alter database ${name} ${statement}`)
    await c.end()
  }
  return {
    engine,
    label: `${url.host}/${name}`,
    env: { DATABASE_URL: url.toString() },
    query: async (text) => {
      const c = new pg.Client({ connectionString: url.toString() })
      await c.connect()
      try {
        return (await c.query(text)).rows
      } finally {
        await c.end()
      }
    },
    // Seeding commits ~8,000 small transactions: without waiting for each WAL flush it
    // takes a fraction of the time. Connections opened while this is set keep it, so the
    // server is restarted after the reset (run.mjs), to measure durable commits.
    // Then the seeding's own aftermath is done before any measured run: its tables analysed
    // and vacuumed (else autovacuum starts mid-run) and its WAL checkpointed (else a
    // checkpoint's writes and fsyncs stall commits for seconds in whichever run it lands).
    beforeSeeding: () => alter('set synchronous_commit = off'),
    afterSeeding: async () => {
      await alter('reset synchronous_commit')
      const c = new pg.Client({ connectionString: url.toString() })
      await c.connect()
      try {
        await c.query('vacuum analyze')
        await c.query('checkpoint')
      } finally {
        await c.end()
      }
    },
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_URL })
      await c.connect()
      await c.query(`drop database if exists ${name} with (force)`)
      await c.end()
    },
  }
}
