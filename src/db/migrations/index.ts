import type { Kysely } from 'kysely'
import type { DbEngine } from '../../config.js'
import * as m0001 from './0001_initial.js'
import * as m0002 from './0002_password_reset_tokens.js'
import * as m0004 from './0004_import_django.js'
import * as m0005 from './0005_reservations_customer_status_idx.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>
export interface EngineMigration {
  up(db: AnyDb, engine: DbEngine): Promise<void>
  down?(db: AnyDb, engine: DbEngine): Promise<void>
}

/**
 * Every migration, in order. Listed statically (not read from the directory) so the
 * same list works from src/ under tsx and from dist/ after tsc. `npm run makemigration`
 * appends here.
 */
export const migrations: Record<string, EngineMigration> = {
  '0001_initial': m0001,
  '0002_password_reset_tokens': m0002,
  '0004_import_django': m0004,
  '0005_reservations_customer_status_idx': m0005,
  // makemigration: new entries above this line
}
