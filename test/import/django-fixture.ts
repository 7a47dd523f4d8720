import { createHash, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { hash as argon2Hash } from '@node-rs/argon2'
import SQLite from 'better-sqlite3'
import bcrypt from 'bcryptjs'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { MYSQL_URL, POSTGRES_URL } from '../helpers.js'

/** Django's get_random_string alphabet, as its hashers make salts. */
function salt(): string {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
  return [...randomBytes(22)].map((b) => chars[b % chars.length]).join('')
}

/** Password hashes as Django's hashers write them (django.contrib.auth.hashers). */
export const django = {
  pbkdf2_sha256(password: string, iterations = 600_000): string {
    const s = salt()
    const h = pbkdf2Sync(password, s, iterations, 32, 'sha256').toString('base64')
    return `pbkdf2_sha256$${iterations}$${s}$${h}`
  },
  pbkdf2_sha1(password: string, iterations = 600_000): string {
    const s = salt()
    const h = pbkdf2Sync(password, s, iterations, 20, 'sha1').toString('base64')
    return `pbkdf2_sha1$${iterations}$${s}$${h}`
  },
  /** Argon2PasswordHasher: argon2-cffi's defaults (argon2id, t=2, m=102400, p=8) behind "argon2". */
  async argon2(password: string): Promise<string> {
    return `argon2${await argon2Hash(password, { algorithm: 2, timeCost: 2, memoryCost: 102400, parallelism: 8 })}`
  },
  /** BCryptSHA256PasswordHasher: bcrypt (here 10 rounds; Django's default is 12) of the hex SHA-256 of the password. */
  bcrypt_sha256(password: string): string {
    const hex = createHash('sha256').update(password).digest('hex')
    return `bcrypt_sha256$${bcrypt.hashSync(hex, bcrypt.genSaltSync(10)).replace(/^\$2a\$/, '$2b$')}`
  },
  /** ScryptPasswordHasher (Django 4.2): n=2**14, r=8, p=1, 64 bytes. */
  scrypt(password: string): string {
    const s = salt()
    const h = scryptSync(password, s, 64, { N: 2 ** 14, r: 8, p: 1 }).toString('base64')
    return `scrypt$${2 ** 14}$${s}$8$1$${h}`
  },
}

export interface DjangoUser {
  id: number
  password: string
  last_login: string | null
  is_superuser: boolean
  username: string
  first_name: string
  last_name: string
  email: string
  is_staff: boolean
  is_active: boolean
  date_joined: string
  phone: string
  is_admin: boolean
  is_staff_member: boolean
}

export interface DjangoReservation {
  id: number
  customer_id: number
  staff_id?: number | null
  start_time: string
  end_time: string
  status: string
  notes: string
  created_at: string
}

export interface DjangoData {
  users: DjangoUser[]
  reservations: DjangoReservation[]
  /** username → the password in clear, for logging in afterwards. */
  passwords: Record<string, string>
}

/** A UTC datetime as Django stores it in MySQL/SQLite (naive, microseconds). */
export function naive(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '000')
}

const HOUR = 3_600_000

/**
 * The Django original's data: users with each kind of hash Django writes, a superuser, an
 * unusable password, phones to normalise; reservations past and future, two that overlap,
 * one with a status we do not know.
 */
export async function djangoData(now = Date.now()): Promise<DjangoData> {
  const passwords: Record<string, string> = {
    alice: 'Alice-Fade-2019!',
    bob: 'B0b-the-Barber#',
    carol: 'Carol-Shave-77',
    dave: 'Dave-Trim-Line9',
    erin: 'Erin-Beard-Oil5',
  }
  const joined = naive(new Date(now - 400 * 24 * HOUR))
  const user = (
    id: number,
    username: string,
    password: string,
    extra: Partial<DjangoUser> = {},
  ): DjangoUser => ({
    id,
    password,
    last_login: null,
    is_superuser: false,
    username,
    first_name: username[0]!.toUpperCase() + username.slice(1),
    last_name: 'Client',
    email: `${username}@example.com`,
    is_staff: false,
    is_active: true,
    date_joined: joined,
    phone: '',
    is_admin: false,
    is_staff_member: false,
    ...extra,
  })
  const users = [
    user(1, 'owner', django.pbkdf2_sha256('Owner-Pass-123'), {
      is_superuser: true,
      is_staff: true,
      last_login: naive(new Date(now - 24 * HOUR)),
    }),
    user(2, 'alice', django.pbkdf2_sha256(passwords.alice!), { phone: '(555) 123-4567' }),
    user(3, 'bob', django.pbkdf2_sha1(passwords.bob!), {
      phone: 'call after 5',
      is_staff_member: true,
    }),
    user(5, 'carol', await django.argon2(passwords.carol!), { phone: '+44 7946 095812' }),
    user(6, 'dave', django.bcrypt_sha256(passwords.dave!)),
    user(7, 'erin', django.scrypt(passwords.erin!)),
    user(8, 'ghost', '!Xq2aZ8pLk1mN0bV4cR7tY9uI3oP6sD5fG8hJ2kL', { email: '' }),
  ]
  passwords.owner = 'Owner-Pass-123'
  const t = (hours: number) => naive(new Date(now + hours * HOUR))
  const reservations: DjangoReservation[] = [
    // past, done
    {
      id: 10,
      customer_id: 2,
      start_time: t(-72),
      end_time: t(-71.5),
      status: 'completed',
      notes: 'fade',
      created_at: t(-100),
    },
    // past and still confirmed / pending: the sweep would complete / expire them
    {
      id: 11,
      customer_id: 2,
      start_time: t(-48),
      end_time: t(-47.5),
      status: 'confirmed',
      notes: '',
      created_at: t(-90),
    },
    {
      id: 12,
      customer_id: 3,
      start_time: t(-24),
      end_time: t(-23.5),
      status: 'pending',
      notes: '',
      created_at: t(-80),
    },
    {
      id: 13,
      customer_id: 5,
      start_time: t(-30),
      end_time: t(-29.5),
      status: 'cancelled',
      notes: 'ill',
      created_at: t(-70),
    },
    // future, overlapping each other (the original allowed it)
    // (with bob as their barber where the source has a staff column)
    {
      id: 20,
      customer_id: 5,
      staff_id: 3,
      start_time: t(72),
      end_time: t(73),
      status: 'confirmed',
      notes: 'beard',
      created_at: t(-5),
    },
    {
      id: 21,
      customer_id: 6,
      staff_id: 3,
      start_time: t(72.5),
      end_time: t(73.5),
      status: 'pending',
      notes: '',
      created_at: t(-4),
    },
    // future, on its own
    {
      id: 22,
      customer_id: 7,
      start_time: t(100),
      end_time: t(100.5),
      status: 'confirmed',
      notes: '',
      created_at: t(-3),
    },
    // a status we do not know
    {
      id: 23,
      customer_id: 2,
      start_time: t(120),
      end_time: t(120.5),
      status: 'waitlist',
      notes: '',
      created_at: t(-2),
    },
  ]
  return { users, reservations, passwords }
}

/** Tables as Django's migrations create them on SQLite, filled with `data`. */
export function writeSqliteSource(
  path: string,
  data: DjangoData,
  opts: { staff?: boolean } = {},
): void {
  const db = new SQLite(path)
  db.exec(`
    CREATE TABLE "api_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL,
      "last_login" datetime NULL, "is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE,
      "first_name" varchar(150) NOT NULL, "last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL,
      "is_staff" bool NOT NULL, "is_active" bool NOT NULL, "date_joined" datetime NOT NULL,
      "phone" varchar(15) NOT NULL, "is_admin" bool NOT NULL, "is_staff_member" bool NOT NULL);
    CREATE TABLE "api_reservation" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
      "start_time" datetime NOT NULL, "end_time" datetime NOT NULL, "status" varchar(20) NOT NULL,
      "notes" text NOT NULL, "created_at" datetime NOT NULL,
      "customer_id" bigint NOT NULL REFERENCES "api_user" ("id") DEFERRABLE INITIALLY DEFERRED
      ${opts.staff ? ', "staff_id" bigint NULL REFERENCES "api_user" ("id") DEFERRABLE INITIALLY DEFERRED' : ''});
    CREATE INDEX "api_reservation_customer_id_idx" ON "api_reservation" ("customer_id");
  `)
  const insertUser = db.prepare(
    `insert into api_user values (@id, @password, @last_login, @is_superuser, @username, @first_name,
     @last_name, @email, @is_staff, @is_active, @date_joined, @phone, @is_admin, @is_staff_member)`,
  )
  const insertRes = db.prepare(
    `insert into api_reservation (id, start_time, end_time, status, notes, created_at, customer_id
     ${opts.staff ? ', staff_id' : ''})
     values (@id, @start_time, @end_time, @status, @notes, @created_at, @customer_id
     ${opts.staff ? ', @staff_id' : ''})`,
  )
  db.transaction(() => {
    for (const u of data.users)
      insertUser.run(
        Object.fromEntries(
          Object.entries(u).map(([k, v]) => [k, typeof v === 'boolean' ? Number(v) : v]),
        ),
      )
    for (const { staff_id, ...r } of data.reservations)
      insertRes.run(opts.staff ? { ...r, staff_id: staff_id ?? null } : r)
  })()
  db.close()
}

/**
 * A MariaDB database as Django's migrations create it (BigAutoField ids, datetime(6)),
 * here with the extra `staff` foreign key a later version of the original has.
 */
export async function createMysqlSource(
  data: DjangoData,
  opts: { staff?: boolean } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `django_src_${randomBytes(4).toString('hex')}`
  const admin = await mysql.createConnection({ uri: MYSQL_URL })
  await admin.query(`create database ${name} character set utf8mb4`)
  await admin.end()
  const url = new URL(MYSQL_URL)
  url.pathname = `/${name}`
  const c = await mysql.createConnection({ uri: url.toString() })
  await c.query(`CREATE TABLE \`api_user\` (\`id\` bigint AUTO_INCREMENT NOT NULL PRIMARY KEY,
    \`password\` varchar(128) NOT NULL, \`last_login\` datetime(6) NULL, \`is_superuser\` bool NOT NULL,
    \`username\` varchar(150) NOT NULL UNIQUE, \`first_name\` varchar(150) NOT NULL,
    \`last_name\` varchar(150) NOT NULL, \`email\` varchar(254) NOT NULL, \`is_staff\` bool NOT NULL,
    \`is_active\` bool NOT NULL, \`date_joined\` datetime(6) NOT NULL, \`phone\` varchar(15) NOT NULL,
    \`is_admin\` bool NOT NULL, \`is_staff_member\` bool NOT NULL)`)
  await c.query(`CREATE TABLE \`api_reservation\` (\`id\` bigint AUTO_INCREMENT NOT NULL PRIMARY KEY,
    \`start_time\` datetime(6) NOT NULL, \`end_time\` datetime(6) NOT NULL, \`status\` varchar(20) NOT NULL,
    \`notes\` longtext NOT NULL, \`created_at\` datetime(6) NOT NULL, \`customer_id\` bigint NOT NULL
    ${opts.staff ? ', `staff_id` bigint NULL' : ''})`)
  await c.query(`ALTER TABLE \`api_reservation\` ADD CONSTRAINT \`api_reservation_customer_id_fk_api_user_id\`
    FOREIGN KEY (\`customer_id\`) REFERENCES \`api_user\` (\`id\`)`)
  for (const u of data.users) await c.query('insert into api_user set ?', [u])
  for (const r of data.reservations) {
    const { staff_id, ...rest } = r
    await c.query('insert into api_reservation set ?', [
      opts.staff ? { ...rest, staff_id: staff_id ?? null } : rest,
    ])
  }
  await c.end()
  return {
    url: url.toString(),
    drop: async () => {
      const a = await mysql.createConnection({ uri: MYSQL_URL })
      await a.query(`drop database if exists ${name}`)
      await a.end()
    },
  }
}

/** `python manage.py dumpdata api --indent 2` of `data` (USE_TZ=True: ISO with Z). */
export function writeDumpdata(path: string, data: DjangoData): void {
  const iso = (s: string | null) => (s === null ? null : `${s.replace(' ', 'T').slice(0, 23)}Z`)
  const out = [
    ...data.users.map(({ id, ...f }) => ({
      model: 'api.user',
      pk: id,
      fields: {
        ...f,
        last_login: iso(f.last_login),
        date_joined: iso(f.date_joined),
        groups: [],
        user_permissions: [],
      },
    })),
    ...data.reservations.map(({ id, customer_id, staff_id: _s, ...f }) => ({
      model: 'api.reservation',
      pk: id,
      fields: {
        customer: customer_id,
        start_time: iso(f.start_time),
        end_time: iso(f.end_time),
        status: f.status,
        notes: f.notes,
        created_at: iso(f.created_at),
      },
    })),
  ]
  writeFileSync(path, JSON.stringify(out, null, 2))
}

/** A PostgreSQL database as Django's migrations create it (identity ids, timestamptz). */
export async function createPostgresSource(
  data: DjangoData,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `django_src_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: POSTGRES_URL })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  const c = new pg.Client({ connectionString: url.toString() })
  await c.connect()
  await c.query(`CREATE TABLE "api_user" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
    "password" varchar(128) NOT NULL, "last_login" timestamp with time zone NULL, "is_superuser" boolean NOT NULL,
    "username" varchar(150) NOT NULL UNIQUE, "first_name" varchar(150) NOT NULL, "last_name" varchar(150) NOT NULL,
    "email" varchar(254) NOT NULL, "is_staff" boolean NOT NULL, "is_active" boolean NOT NULL,
    "date_joined" timestamp with time zone NOT NULL, "phone" varchar(15) NOT NULL, "is_admin" boolean NOT NULL,
    "is_staff_member" boolean NOT NULL)`)
  await c.query(`CREATE TABLE "api_reservation" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
    "start_time" timestamp with time zone NOT NULL, "end_time" timestamp with time zone NOT NULL,
    "status" varchar(20) NOT NULL, "notes" text NOT NULL, "created_at" timestamp with time zone NOT NULL,
    "customer_id" bigint NOT NULL REFERENCES "api_user" ("id") DEFERRABLE INITIALLY DEFERRED)`)
  // A server in another zone: the values are instants all the same.
  await c.query(`set time zone 'America/New_York'`)
  const utc = (s: string | null) => (s === null ? null : `${s}+00`)
  for (const u of data.users)
    await c.query(`insert into api_user values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`, [
      u.id,
      u.password,
      utc(u.last_login),
      u.is_superuser,
      u.username,
      u.first_name,
      u.last_name,
      u.email,
      u.is_staff,
      u.is_active,
      utc(u.date_joined),
      u.phone,
      u.is_admin,
      u.is_staff_member,
    ])
  for (const r of data.reservations)
    await c.query(
      `insert into api_reservation (id, start_time, end_time, status, notes, created_at, customer_id)
       values ($1,$2,$3,$4,$5,$6,$7)`,
      [
        r.id,
        utc(r.start_time),
        utc(r.end_time),
        r.status,
        r.notes,
        utc(r.created_at),
        r.customer_id,
      ],
    )
  await c.end()
  return {
    url: url.toString(),
    drop: async () => {
      const a = new pg.Client({ connectionString: POSTGRES_URL })
      await a.connect()
      await a.query(`drop database if exists ${name} with (force)`)
      await a.end()
    },
  }
}
