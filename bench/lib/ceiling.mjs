// The physical limit a booking's commit is measured against: how many one-row write
// transactions per second the database sustains on this machine, through the same driver
// and at the same concurrency as the create scenario, with nothing else in them (no HTTP, no
// validation, no reads). Run while the app is stopped, on the run's own database.
import Database from 'better-sqlite3'
import mysql from 'mysql2/promise'
import pg from 'pg'

const TABLE = 'bench_commit_probe'

/**
 * @param {{ engine: 'sqlite'|'mysql'|'postgres', env: { DATABASE_URL: string } }} database
 * @param {{ connections: number, seconds: number }} opts
 * @returns {Promise<{ perSecond: number, connections: number, statement: string }>}
 */
export async function commitCeiling(database, { connections, seconds }) {
  const url = database.env.DATABASE_URL
  const until = Date.now() + seconds * 1000
  let commits = 0
  if (database.engine === 'sqlite') {
    // One writer at a time is SQLite's model: one connection, as the app's write lock allows.
    const c = new Database(url.replace(/^sqlite:/, ''))
    c.pragma('journal_mode = WAL')
    c.pragma('synchronous = NORMAL')
    c.exec(`create table if not exists ${TABLE} (id integer primary key, v integer, at text)`)
    const begin = c.prepare('begin immediate')
    const insert = c.prepare(`insert into ${TABLE} (v, at) values (?, ?)`)
    const commit = c.prepare('commit')
    const started = Date.now()
    while (Date.now() < until) {
      for (let i = 0; i < 100; i++) {
        begin.run()
        insert.run(i, new Date().toISOString())
        commit.run()
      }
      commits += 100
    }
    const elapsed = (Date.now() - started) / 1000
    c.exec(`drop table ${TABLE}`)
    c.close()
    return {
      perSecond: commits / elapsed,
      connections: 1,
      statement: 'BEGIN IMMEDIATE; INSERT one row; COMMIT (WAL, synchronous=NORMAL)',
    }
  }
  if (database.engine === 'mysql') {
    const pool = mysql.createPool({ uri: url, connectionLimit: connections })
    await pool.query(
      `create table if not exists ${TABLE} (id bigint auto_increment primary key, v int, at datetime(6)) engine=InnoDB`,
    )
    const started = Date.now()
    await Promise.all(
      Array.from({ length: connections }, async () => {
        const c = await pool.getConnection()
        try {
          while (Date.now() < until) {
            await c.query('begin')
            await c.query(`insert into ${TABLE} (v, at) values (?, ?)`, [1, new Date()])
            await c.query('commit')
            commits += 1
          }
        } finally {
          c.release()
        }
      }),
    )
    const elapsed = (Date.now() - started) / 1000
    await pool.query(`drop table ${TABLE}`)
    await pool.end()
    return {
      perSecond: commits / elapsed,
      connections,
      statement: 'BEGIN; INSERT one row; COMMIT (InnoDB, the server’s own durability settings)',
    }
  }
  const pool = new pg.Pool({ connectionString: url, max: connections })
  // An idle client still closing when the bench drops the database (DROP … WITH (FORCE))
  // gets "terminating connection": nothing to measure any more, and not worth a crash.
  pool.on('error', () => {})
  await pool.query(
    `create table if not exists ${TABLE} (id bigserial primary key, v int, at timestamptz)`,
  )
  const started = Date.now()
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = await pool.connect()
      try {
        while (Date.now() < until) {
          await c.query('begin')
          await c.query(`insert into ${TABLE} (v, at) values ($1, $2)`, [1, new Date()])
          await c.query('commit')
          commits += 1
        }
      } finally {
        c.release()
      }
    }),
  )
  const elapsed = (Date.now() - started) / 1000
  await pool.query(`drop table ${TABLE}`)
  await pool.end()
  return {
    perSecond: commits / elapsed,
    connections,
    statement: 'BEGIN; INSERT one row; COMMIT (the server’s own durability settings)',
  }
}
