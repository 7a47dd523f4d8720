import { createInterface } from 'node:readline/promises'
import { Writable } from 'node:stream'
import { parseArgs } from 'node:util'
import { loadConfigOrExit } from '../config.js'
import { createDatabase, insertReturningId } from '../db/database.js'
import { migrateToLatest } from '../db/migrator.js'
import { hashPassword, passwordProblems } from '../auth/passwords.js'
import { FieldErrors } from '../http/errors.js'
import { emailTaken, usernameTaken } from '../users/users.repository.js'
import { checkEmail, checkUsername } from '../users/users.validation.js'

/** Reads a line without echoing it (passwords). */
async function askHidden(question: string): Promise<string> {
  let muted = false
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!muted) process.stdout.write(chunk)
      cb()
    },
  })
  const rl = createInterface({ input: process.stdin, output: out, terminal: true })
  const answer = rl.question(question)
  muted = true
  const value = await answer
  rl.close()
  process.stdout.write('\n')
  return value
}

/** `npm run createsuperuser` — interactive, or `-- --no-input --username U --email E` with SUPERUSER_PASSWORD. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'no-input': { type: 'boolean', default: false },
      username: { type: 'string' },
      email: { type: 'string' },
    },
  })
  const config = loadConfigOrExit()
  const database = createDatabase(config.database)
  try {
    await migrateToLatest(database.db, database.engine)
    let username = values.username
    let email = values.email
    let password: string | undefined
    if (values['no-input']) {
      password = process.env.SUPERUSER_PASSWORD
      const missing = [
        !username && '--username',
        !email && '--email',
        !password && 'SUPERUSER_PASSWORD',
      ].filter(Boolean)
      if (missing.length) throw new Error(`--no-input needs ${missing.join(', ')}`)
    } else {
      const rl = createInterface({ input: process.stdin, output: process.stdout })
      username ||= (await rl.question('Username: ')).trim()
      email ||= (await rl.question('Email address: ')).trim()
      rl.close()
      password = await askHidden('Password: ')
      const again = await askHidden('Password (again): ')
      if (password !== again) throw new Error("Error: Your passwords didn't match.")
    }
    const errors = new FieldErrors()
    const u = checkUsername(errors, username ?? '')
    const e = checkEmail(errors, email ?? '')
    if (u && (await usernameTaken(database.db, u)))
      errors.add('username', 'That username is already taken.')
    if (e && (await emailTaken(database.db, e)))
      errors.add('email', 'A user with that email already exists.')
    for (const p of passwordProblems(password!, { username: u, email: e }))
      errors.add('password', p)
    if (!errors.empty)
      throw new Error(
        Object.entries(errors.fields)
          .map(([f, m]) => `${f}: ${m.join(' ')}`)
          .join('\n'),
      )
    await insertReturningId(database.engine, database.db, 'users', {
      username: u!,
      username_key: u!.toLowerCase(),
      email: e!,
      email_key: e!.toLowerCase(),
      password: await hashPassword(password!),
      first_name: '',
      last_name: '',
      phone: '',
      is_admin: true,
      is_staff_member: false,
      is_active: true,
      working_hours: null,
      date_joined: new Date(),
      last_login: null,
    })
    process.stdout.write('Superuser created successfully.\n')
  } finally {
    await database.close()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
