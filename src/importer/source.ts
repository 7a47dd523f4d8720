import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import SQLite from 'better-sqlite3'
import { DateTime } from 'luxon'
import mysql from 'mysql2/promise'
import pg from 'pg'

/** A user of the Django original (`api_user`, the seed's `User(AbstractUser)`). */
export interface SourceUser {
  id: number
  password: string
  last_login: Date | null
  is_superuser: boolean
  username: string
  first_name: string
  last_name: string
  email: string
  is_staff: boolean
  is_active: boolean
  date_joined: Date
  phone: string
  is_admin: boolean
  is_staff_member: boolean
  /** Where the row came from, for messages: `table api_user, row id=5`. */
  where: string
}

/** A reservation of the Django original (`api_reservation`). */
export interface SourceReservation {
  id: number
  customer_id: number
  /** Only when the source has a `staff` foreign key. */
  staff_id: number | null
  start_time: Date
  end_time: Date
  status: string
  notes: string
  created_at: Date
  /** Only when the source has `updated_at`. */
  updated_at: Date | null
  where: string
}

export interface SourceData {
  /** How the source was named, passwords removed. */
  label: string
  users: SourceUser[]
  reservations: SourceReservation[]
  /** Optional columns the source turned out to have. */
  has: { staff: boolean; updatedAt: boolean }
  /** Things of the source that are not imported (other tables or models), for the report. */
  notes: string[]
}

/** A source that cannot be imported: nothing has been written. */
export class SourceError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems in the source`)
  }
}

const USER_COLUMNS = [
  'id',
  'password',
  'last_login',
  'is_superuser',
  'username',
  'first_name',
  'last_name',
  'email',
  'is_staff',
  'is_active',
  'date_joined',
  'phone',
  'is_admin',
  'is_staff_member',
] as const
const RESERVATION_COLUMNS = [
  'id',
  'customer_id',
  'start_time',
  'end_time',
  'status',
  'notes',
  'created_at',
] as const

/* ---------- value readers: every bad value is named by row and field ---------- */

type Raw = Record<string, unknown>

class RowReader {
  constructor(
    private readonly problems: string[],
    private readonly zone: string,
  ) {}

  private bad(where: string, field: string, value: unknown, expected: string): void {
    if (this.problems.length < 200)
      this.problems.push(`${where}, field ${field}: ${JSON.stringify(value)} is not ${expected}`)
    else if (this.problems.length === 200) this.problems.push('… (further problems not listed)')
  }

  int(where: string, row: Raw, field: string): number {
    const v = row[field]
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v
    if (typeof v === 'bigint') return Number(v)
    if (typeof v === 'string' && /^-?\d{1,15}$/.test(v)) return Number(v)
    this.bad(where, field, v, 'an integer')
    return 0
  }

  intOrNull(where: string, row: Raw, field: string): number | null {
    return row[field] == null ? null : this.int(where, row, field)
  }

  text(where: string, row: Raw, field: string, opts: { nullable?: boolean } = {}): string {
    const v = row[field]
    if (typeof v === 'string') return v
    if (v == null && opts.nullable) return ''
    if (Buffer.isBuffer(v)) return v.toString('utf8')
    this.bad(where, field, v, 'a text')
    return ''
  }

  bool(where: string, row: Raw, field: string): boolean {
    const v = row[field]
    if (v === true || v === 1 || v === '1' || v === 't' || v === 'true') return true
    if (v === false || v === 0 || v === '0' || v === 'f' || v === 'false') return false
    if (Buffer.isBuffer(v) && v.length === 1) return v[0] === 1
    this.bad(where, field, v, 'a boolean')
    return false
  }

  date(where: string, row: Raw, field: string): Date {
    const d = this.dateOrNull(where, row, field)
    if (d) return d
    if (row[field] == null) this.bad(where, field, null, 'a date and time')
    return new Date(0)
  }

  /**
   * Django's datetimes: aware ones (an offset or Z: USE_TZ=True in JSON and PostgreSQL) as
   * they are; naive ones (MySQL and SQLite columns, USE_TZ=False dumps) in the source's zone.
   */
  dateOrNull(where: string, row: Raw, field: string): Date | null {
    const v = row[field]
    if (v == null) return null
    if (v instanceof Date && !Number.isNaN(v.getTime())) return v
    if (typeof v === 'string') {
      const d = parseDjangoDateTime(v, this.zone)
      if (d) return d
    }
    this.bad(where, field, v, 'a date and time (YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM])')
    return null
  }
}

const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/

/** Parses Django's text datetimes; a naive one is read in `zone`. Null when malformed. */
export function parseDjangoDateTime(text: string, zone: string): Date | null {
  const m = DATETIME.exec(text.trim())
  if (!m) return null
  const [, y, mo, d, h, mi, s = '0', frac = '0', offset] = m
  const ms = Math.floor(Number(`0.${frac}`) * 1000)
  const parts = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s)] as const
  if (parts[1] < 1 || parts[1] > 12 || parts[2] < 1 || parts[2] > 31 || parts[3] > 23) return null
  if (parts[4] > 59 || parts[5] > 59) return null
  if (offset || zone === 'UTC') {
    let t = Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5], ms)
    if (offset && offset !== 'Z') {
      const sign = offset[0] === '-' ? -1 : 1
      const digits = offset.slice(1).replace(':', '')
      t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0')) * 60_000
    }
    const date = new Date(t)
    return date.getUTCDate() === parts[2] || offset ? date : null
  }
  const dt = DateTime.fromObject(
    {
      year: parts[0],
      month: parts[1],
      day: parts[2],
      hour: parts[3],
      minute: parts[4],
      second: parts[5],
      millisecond: ms,
    },
    { zone },
  )
  return dt.isValid ? dt.toJSDate() : null
}

function readUsers(rows: Raw[], reader: RowReader, where: (r: Raw, i: number) => string) {
  return rows.map((r, i): SourceUser => {
    const w = where(r, i)
    return {
      id: reader.int(w, r, 'id'),
      password: reader.text(w, r, 'password'),
      last_login: reader.dateOrNull(w, r, 'last_login'),
      is_superuser: reader.bool(w, r, 'is_superuser'),
      username: reader.text(w, r, 'username'),
      first_name: reader.text(w, r, 'first_name', { nullable: true }),
      last_name: reader.text(w, r, 'last_name', { nullable: true }),
      email: reader.text(w, r, 'email', { nullable: true }),
      is_staff: reader.bool(w, r, 'is_staff'),
      is_active: reader.bool(w, r, 'is_active'),
      date_joined: reader.date(w, r, 'date_joined'),
      phone: reader.text(w, r, 'phone', { nullable: true }),
      is_admin: reader.bool(w, r, 'is_admin'),
      is_staff_member: reader.bool(w, r, 'is_staff_member'),
      where: w,
    }
  })
}

function readReservations(
  rows: Raw[],
  reader: RowReader,
  has: SourceData['has'],
  where: (r: Raw, i: number) => string,
) {
  return rows.map((r, i): SourceReservation => {
    const w = where(r, i)
    return {
      id: reader.int(w, r, 'id'),
      customer_id: reader.int(w, r, 'customer_id'),
      staff_id: has.staff ? reader.intOrNull(w, r, 'staff_id') : null,
      start_time: reader.date(w, r, 'start_time'),
      end_time: reader.date(w, r, 'end_time'),
      status: reader.text(w, r, 'status'),
      notes: reader.text(w, r, 'notes', { nullable: true }),
      created_at: reader.date(w, r, 'created_at'),
      updated_at: has.updatedAt ? reader.dateOrNull(w, r, 'updated_at') : null,
      where: w,
    }
  })
}

/** Checks the tables against the seed's models; problems stop the import before any write. */
function checkShape(columns: Map<string, Set<string>>, label: string): SourceData['has'] {
  const problems: string[] = []
  for (const [table, wanted] of [
    ['api_user', USER_COLUMNS],
    ['api_reservation', RESERVATION_COLUMNS],
  ] as const) {
    const have = columns.get(table)
    if (!have) {
      problems.push(`${label}: table ${table} not found: not the Django original's database`)
      continue
    }
    const missing = wanted.filter((c) => !have.has(c))
    if (missing.length)
      problems.push(
        `${label}: table ${table} has no column ${missing.join(', ')}: not the seed's shape`,
      )
  }
  if (problems.length) throw new SourceError(problems)
  const res = columns.get('api_reservation')!
  return { staff: res.has('staff_id'), updatedAt: res.has('updated_at') }
}

function finish(
  label: string,
  problems: string[],
  users: SourceUser[],
  reservations: SourceReservation[],
  has: SourceData['has'],
  notes: string[],
): SourceData {
  if (problems.length) throw new SourceError(problems)
  return { label, users, reservations, has, notes }
}

const sqlCols = (has: SourceData['has']) =>
  [
    ...RESERVATION_COLUMNS,
    ...(has.staff ? ['staff_id'] : []),
    ...(has.updatedAt ? ['updated_at'] : []),
  ]
    .map((c) => `"${c}"`)
    .join(', ')

/* ---------- the four kinds of source ---------- */

async function readSqlite(path: string, zone: string): Promise<SourceData> {
  const label = `sqlite:${path}`
  let db: SQLite.Database
  try {
    db = new SQLite(path, { readonly: true, fileMustExist: true })
  } catch (err) {
    throw new SourceError([`${label}: cannot open: ${(err as Error).message}`])
  }
  try {
    const columns = new Map<string, Set<string>>()
    for (const table of ['api_user', 'api_reservation']) {
      const info = db.prepare(`pragma table_info("${table}")`).all() as { name: string }[]
      if (info.length) columns.set(table, new Set(info.map((c) => c.name)))
    }
    const has = checkShape(columns, label)
    const problems: string[] = []
    const reader = new RowReader(problems, zone)
    const users = readUsers(
      db
        .prepare(`select ${USER_COLUMNS.map((c) => `"${c}"`).join(', ')} from api_user order by id`)
        .all() as Raw[],
      reader,
      (r) => `${label}: table api_user, row id=${String(r.id)}`,
    )
    const reservations = readReservations(
      db.prepare(`select ${sqlCols(has)} from api_reservation order by id`).all() as Raw[],
      reader,
      has,
      (r) => `${label}: table api_reservation, row id=${String(r.id)}`,
    )
    return finish(label, problems, users, reservations, has, [])
  } finally {
    db.close()
  }
}

async function readMysql(url: string, zone: string): Promise<SourceData> {
  const label = redact(url)
  let conn: mysql.Connection
  try {
    // Text datetimes: Django wrote UTC (USE_TZ=True) or local time (USE_TZ=False) into
    // naive DATETIME columns; we decide how to read them, not the driver.
    conn = await mysql.createConnection({
      uri: url,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
    })
  } catch (err) {
    throw new SourceError([`${label}: cannot connect: ${(err as Error).message}`])
  }
  try {
    const [cols] = await conn.query(
      `select table_name as t, column_name as c from information_schema.columns
       where table_schema = database() and table_name in ('api_user', 'api_reservation')`,
    )
    const columns = new Map<string, Set<string>>()
    for (const { t, c } of cols as { t: string; c: string }[]) {
      if (!columns.has(t)) columns.set(t, new Set())
      columns.get(t)!.add(c)
    }
    const has = checkShape(columns, label)
    const problems: string[] = []
    const reader = new RowReader(problems, zone)
    const q = (s: string) => s.replace(/"/g, '`')
    const [u] = await conn.query(
      q(`select ${USER_COLUMNS.map((c) => `"${c}"`).join(', ')} from api_user order by id`),
    )
    const [r] = await conn.query(q(`select ${sqlCols(has)} from api_reservation order by id`))
    const users = readUsers(
      u as Raw[],
      reader,
      (row) => `${label}: table api_user, row id=${String(row.id)}`,
    )
    const reservations = readReservations(
      r as Raw[],
      reader,
      has,
      (row) => `${label}: table api_reservation, row id=${String(row.id)}`,
    )
    return finish(label, problems, users, reservations, has, [])
  } finally {
    await conn.end()
  }
}

async function readPostgres(url: string, zone: string): Promise<SourceData> {
  const label = redact(url)
  // Every value as text: timestamptz comes with its offset (aware), timestamp without it.
  const client = new pg.Client({
    connectionString: url,
    types: { getTypeParser: () => (v: string) => v },
  })
  try {
    await client.connect()
  } catch (err) {
    throw new SourceError([`${label}: cannot connect: ${(err as Error).message}`])
  }
  try {
    await client.query(`set time zone 'UTC'`)
    const cols = await client.query<{ t: string; c: string }>(
      `select table_name as t, column_name as c from information_schema.columns
       where table_schema = current_schema() and table_name in ('api_user', 'api_reservation')`,
    )
    const columns = new Map<string, Set<string>>()
    for (const { t, c } of cols.rows) {
      if (!columns.has(t)) columns.set(t, new Set())
      columns.get(t)!.add(c)
    }
    const has = checkShape(columns, label)
    const problems: string[] = []
    const reader = new RowReader(problems, zone)
    const u = await client.query(
      `select ${USER_COLUMNS.map((c) => `"${c}"`).join(', ')} from api_user order by id`,
    )
    const r = await client.query(`select ${sqlCols(has)} from api_reservation order by id`)
    const users = readUsers(
      u.rows as Raw[],
      reader,
      (row) => `${label}: table api_user, row id=${String(row.id)}`,
    )
    const reservations = readReservations(
      r.rows as Raw[],
      reader,
      has,
      (row) => `${label}: table api_reservation, row id=${String(row.id)}`,
    )
    return finish(label, problems, users, reservations, has, [])
  } finally {
    await client.end()
  }
}

/** `python manage.py dumpdata api --indent 2`: [{model, pk, fields}, …]. */
function readDumpdata(path: string, zone: string): SourceData {
  const label = basename(path)
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new SourceError([`${path}: not a readable JSON file: ${(err as Error).message}`])
  }
  if (!Array.isArray(parsed))
    throw new SourceError([`${path}: not a dumpdata file (a JSON list of {model, pk, fields})`])
  const problems: string[] = []
  const userRows: Raw[] = []
  const reservationRows: Raw[] = []
  const whereOf = new WeakMap<Raw, string>()
  const other = new Map<string, number>()
  const resFields = new Set<string>()
  parsed.forEach((item: unknown, i) => {
    const obj = item as { model?: unknown; pk?: unknown; fields?: unknown } | null
    const w = `${label}: object #${i + 1}`
    if (!obj || typeof obj.model !== 'string' || typeof obj.fields !== 'object' || !obj.fields) {
      problems.push(`${w}: not a dumpdata object ({"model", "pk", "fields"})`)
      return
    }
    const model = obj.model.toLowerCase()
    const fields = obj.fields as Raw
    const row: Raw = { id: obj.pk, ...fields }
    const where = `${w} (${model} pk=${String(obj.pk)})`
    if (model === 'api.user') {
      for (const c of USER_COLUMNS)
        if (c !== 'id' && !(c in fields))
          problems.push(`${where}: field ${c} missing: not the seed's shape`)
      userRows.push(row)
    } else if (model === 'api.reservation') {
      for (const c of RESERVATION_COLUMNS) {
        const f = c === 'customer_id' ? 'customer' : c
        if (c !== 'id' && !(f in fields))
          problems.push(`${where}: field ${f} missing: not the seed's shape`)
      }
      for (const f of Object.keys(fields)) resFields.add(f)
      reservationRows.push(row)
    } else other.set(model, (other.get(model) ?? 0) + 1)
    whereOf.set(row, where)
  })
  if (userRows.length === 0 && problems.length === 0)
    problems.push(`${label}: no api.user objects: not a dumpdata of the Django original's api app`)
  if (problems.length) throw new SourceError(problems.slice(0, 200))

  // Foreign keys: an id, or a natural key (--natural-foreign): ["username"].
  const byUsername = new Map(userRows.map((u) => [String(u.username), u.id]))
  const fk = (v: unknown): unknown =>
    Array.isArray(v) && v.length === 1 && byUsername.has(String(v[0]))
      ? byUsername.get(String(v[0]))
      : v
  const has = { staff: resFields.has('staff'), updatedAt: resFields.has('updated_at') }
  for (const r of reservationRows) {
    r.customer_id = fk(r.customer)
    if (has.staff) r.staff_id = fk(r.staff)
  }
  const reader = new RowReader(problems, zone)
  const where = (r: Raw) => whereOf.get(r) ?? label
  const users = readUsers(userRows, reader, where)
  const reservations = readReservations(reservationRows, reader, has, where)
  const notes = [...other].map(([m, n]) => `${n} ${m} objects in ${label} are not imported`)
  return finish(label, problems, users, reservations, has, notes)
}

/** A URL without its password, for messages and the report. */
export function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return url
  }
}

/**
 * Reads the whole Django source: `mysql://…`, `postgres://…`, `sqlite:path`, or a dumpdata
 * JSON file. Naive datetimes are read in `zone` (Django's TIME_ZONE with USE_TZ=False;
 * UTC otherwise). Throws SourceError, naming table, row and field, before anything is written.
 */
export async function readSource(spec: string, zone = 'UTC'): Promise<SourceData> {
  if (!DateTime.local().setZone(zone).isValid)
    throw new SourceError([`--source-timezone: unknown time zone "${zone}"`])
  if (/^mysql:\/\/|^mariadb:\/\//.test(spec))
    return readMysql(spec.replace(/^mariadb:/, 'mysql:'), zone)
  if (/^postgres(ql)?:\/\//.test(spec)) return readPostgres(spec, zone)
  if (spec.startsWith('sqlite:'))
    return readSqlite(spec.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''), zone)
  if (/\.json$/i.test(spec) || spec === '-')
    return readDumpdata(spec === '-' ? '/dev/stdin' : spec, zone)
  throw new SourceError([
    `--from ${spec}: expected mysql://…, postgres://…, sqlite:PATH or a dumpdata .json file`,
  ])
}
