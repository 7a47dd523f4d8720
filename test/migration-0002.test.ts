import { describe, expect, it } from 'vitest'
import { createDatabase, insertReturningId } from '../src/db/database.js'
import { createMigrator } from '../src/db/migrator.js'
import { createTestDatabase, dialects } from './helpers.js'

for (const engine of await dialects()) {
  describe(`${engine}: migration 0002`, () => {
    it('creates password_reset_tokens and recomputes username keys in NFKC form', async () => {
      const testDb = await createTestDatabase(engine)
      const database = createDatabase(testDb.config)
      try {
        const migrator = createMigrator(database.db, database.engine)
        const first = await migrator.migrateTo('0001_initial')
        expect(first.error).toBeUndefined()
        const insert = (username: string) =>
          insertReturningId(database.engine, database.db, 'users', {
            username,
            // As 0001 computed it: lower case only.
            username_key: username.toLowerCase(),
            email: `${username.length}-${Math.random()}@example.com`,
            email_key: `${username.length}-${Math.random()}@example.com`,
            password: 'x',
            first_name: '',
            last_name: '',
            phone: '',
            is_admin: false,
            is_staff_member: false,
            is_active: true,
            working_hours: null,
            date_joined: new Date(),
            last_login: null,
          })
        const wide = await insert('\uff4d\uff49\uff47\uff52\uff41\uff54\uff45') // ｍｉｇｒａｔｅ
        const plain = await insert('Plain')
        const latest = await migrator.migrateToLatest()
        expect(latest.error).toBeUndefined()
        const rows = await database.db
          .selectFrom('users')
          .select(['id', 'username', 'username_key'])
          .orderBy('id')
          .execute()
        expect(rows).toEqual([
          { id: wide, username: 'ｍｉｇｒａｔｅ', username_key: 'migrate' },
          { id: plain, username: 'Plain', username_key: 'plain' },
        ])
        expect(await database.db.selectFrom('password_reset_tokens').selectAll().execute()).toEqual(
          [],
        )
      } finally {
        await database.close()
        await testDb.drop()
      }
    })
  })
}
