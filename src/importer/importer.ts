import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import type { Insertable } from 'kysely'
import type { DatabaseHandle } from '../db/database.js'
import { inTransaction, toBool, toDate } from '../db/database.js'
import type { ReservationStatus, ReservationTable, UserTable } from '../db/types.js'
import { FieldErrors } from '../http/errors.js'
import { checkPhone, NO_EMAIL_KEY_PREFIX } from '../users/users.validation.js'
import type { SourceData, SourceReservation, SourceUser } from './source.js'
import type { ImportExecutor } from './tables.js'
import { withImportTables } from './tables.js'

export interface ImportOptions {
  dryRun?: boolean
  /** The import's "now": past pending/confirmed reservations are settled against it. */
  now?: Date
  /** REMINDER_HOURS_BEFORE: a confirmed reservation whose reminder is already due is marked sent. */
  reminderHoursBefore?: number
  /** Mark every imported confirmed reservation as reminded (no reminder emails at all). */
  noReminders?: boolean
  /** Extra status mappings (source value → ours), from `--map-status old=new`. */
  statusMap?: Record<string, ReservationStatus>
  /** Rows per transaction. */
  batchSize?: number
  progress?: (table: string, done: number, total: number) => void
}

export interface TableCounts {
  read: number
  created: number
  updated: number
  /** Unchanged since the last import. */
  unchanged: number
  /** Not imported: listed in problems. */
  skipped: number
}

export interface Overlap {
  staff: number | null
  reservations: {
    id: number
    source_id: number
    start_time: string
    end_time: string
    status: string
  }[]
  /** Overlaps a reservation made in this system (not imported), by id. */
  with_existing?: number
}

export interface ImportReport {
  source: string
  dry_run: boolean
  keep_ids: boolean
  tables: { api_user: TableCounts; api_reservation: TableCounts }
  /** Every row skipped or changed on the way, naming source, table, row and field. */
  problems: string[]
  /** Active reservations of one barber (or of the single chair) that overlap. */
  overlaps: Overlap[]
  /** Ended reservations that overlapped (history; nothing to sort out). */
  past_overlaps: number
  /** Past pending/confirmed reservations imported in the state the sweep would give them. */
  settled: { completed: number; expired: number }
  unknown_statuses: Record<string, number>
  notes: string[]
  duration_ms: number
}

const STATUS_MAP: Record<string, ReservationStatus> = {
  pending: 'pending',
  confirmed: 'confirmed',
  completed: 'completed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
  no_show: 'no_show',
  'no-show': 'no_show',
}
const ACTIVE = new Set<ReservationStatus>(['pending', 'confirmed'])
const EXPIRED_REASON = 'Expired: not confirmed before the start time.'
const DJANGO_HASHERS = [
  'pbkdf2_sha256',
  'pbkdf2_sha1',
  'argon2',
  'bcrypt_sha256',
  'bcrypt',
  'scrypt',
]
const T_USER = 'api_user'
const T_RES = 'api_reservation'

const digest = (v: unknown): string =>
  createHash('sha256').update(JSON.stringify(v)).digest('base64url').slice(0, 32)

type UserValues = Omit<Insertable<UserTable>, 'id'>
type ResValues = Omit<Insertable<ReservationTable>, 'id'>

interface UserPlan {
  src: SourceUser
  action: 'create' | 'update' | 'unchanged'
  targetId: number
  values: UserValues
  fingerprint: string
  passwordChanged: boolean
}

interface TargetRes {
  id: number
  customer_id: number
  staff_id: number | null
  status: ReservationStatus
  start: number
  end: number
  hold: number
}

interface ResPlan {
  src: SourceReservation
  action: 'create' | 'update' | 'unchanged'
  targetId: number
  values: ResValues
  fingerprint: string
  /** The status the source gave, before settling. */
  sourceStatus: ReservationStatus
  settled: boolean
  current?: TargetRes
  /** Set when the hold differs from what is stored (a create, an update, or a hold fix). */
  hold?: Date
  holdChanged?: boolean
}

/** The table may not exist yet (a dry run on a target not migrated): read as empty. */
async function orEmpty<T>(dryRun: boolean, q: () => Promise<T[]>): Promise<T[]> {
  if (!dryRun) return q()
  try {
    return await q()
  } catch {
    return []
  }
}

/**
 * Imports the Django original's users and reservations into our database. Plans
 * everything first (a dry run stops there), then writes in bounded transactions, each
 * with its bookkeeping rows, so a re-run skips what is done and updates what changed.
 */
export async function importDjango(
  database: DatabaseHandle,
  source: SourceData,
  opts: ImportOptions = {},
): Promise<ImportReport> {
  const started = performance.now()
  const now = opts.now ?? new Date()
  const dryRun = opts.dryRun ?? false
  const batchSize = opts.batchSize ?? 1000
  const db = withImportTables(database.db)
  const problems: string[] = []
  const report: ImportReport = {
    source: source.label,
    dry_run: dryRun,
    keep_ids: false,
    tables: {
      api_user: { read: source.users.length, created: 0, updated: 0, unchanged: 0, skipped: 0 },
      api_reservation: {
        read: source.reservations.length,
        created: 0,
        updated: 0,
        unchanged: 0,
        skipped: 0,
      },
    },
    problems,
    overlaps: [],
    past_overlaps: 0,
    settled: { completed: 0, expired: 0 },
    unknown_statuses: {},
    notes: [...source.notes],
    duration_ms: 0,
  }

  /* ---------- what the target holds ---------- */
  const firstRun = (
    await orEmpty(dryRun, () =>
      db.selectFrom('import_runs').select('keep_ids').orderBy('id').limit(1).execute(),
    )
  )[0]
  const mappings = new Map<string, Map<number, { target: number; fingerprint: string }>>([
    [T_USER, new Map()],
    [T_RES, new Map()],
  ])
  for (const m of await orEmpty(dryRun, () =>
    db
      .selectFrom('import_rows')
      .select(['source_table', 'source_id', 'target_id', 'fingerprint'])
      .execute(),
  ))
    mappings.get(m.source_table)?.set(Number(m.source_id), {
      target: m.target_id,
      fingerprint: m.fingerprint,
    })
  const targetUsers = await orEmpty(dryRun, () =>
    db.selectFrom('users').select(['id', 'username_key', 'email_key']).execute(),
  )
  const targetRes = new Map<number, TargetRes>()
  for (const r of await orEmpty(dryRun, () =>
    db
      .selectFrom('reservations')
      .select(['id', 'customer_id', 'staff_id', 'status', 'start_time', 'end_time', 'hold_until'])
      .execute(),
  ))
    targetRes.set(r.id, {
      id: r.id,
      customer_id: r.customer_id,
      staff_id: r.staff_id,
      status: r.status,
      start: toDate(r.start_time).getTime(),
      end: toDate(r.end_time).getTime(),
      hold: toDate(r.hold_until).getTime(),
    })
  // Ids are kept when the first import finds the target empty (links stay valid); later
  // runs follow that first decision.
  const keepIds = firstRun
    ? toBool(firstRun.keep_ids)
    : targetUsers.length === 0 && targetRes.size === 0
  report.keep_ids = keepIds

  /* ---------- users ---------- */
  const userIds = new Set(targetUsers.map((u) => u.id))
  let nextUserId =
    maxOf(
      userIds,
      source.users.map((u) => u.id),
    ) + 1
  const usernameOwner = new Map(targetUsers.map((u) => [u.username_key, u.id]))
  const emailOwner = new Map(targetUsers.map((u) => [u.email_key, u.id]))
  const keysOf = new Map(targetUsers.map((u) => [u.id, [u.username_key, u.email_key] as const]))
  const userTarget = new Map<number, number>()
  const sourceUserIds = new Set<number>()
  const userPlans: UserPlan[] = []
  const skipUser = (u: SourceUser, why: string) => {
    problems.push(`${u.where}: ${why}; not imported (nor their reservations)`)
    report.tables.api_user.skipped++
  }
  for (const u of source.users) {
    if (sourceUserIds.has(u.id)) {
      skipUser(u, 'field id: the same id twice')
      continue
    }
    sourceUserIds.add(u.id)
    const { where: _w, password, ...rest } = u
    void _w
    const fingerprint = `${digest(rest)}:${digest(password)}`
    const mapped = mappings.get(T_USER)!.get(u.id)
    if (mapped && !userIds.has(mapped.target)) {
      skipUser(u, `deleted here (user ${mapped.target}) since the last import`)
      continue
    }
    if (mapped && mapped.fingerprint === fingerprint) {
      userTarget.set(u.id, mapped.target)
      report.tables.api_user.unchanged++
      continue
    }
    const username = u.username.trim()
    const usernameKey = username.toLowerCase()
    if (!username) {
      skipUser(u, 'field username: empty')
      continue
    }
    const owner = usernameOwner.get(usernameKey)
    if (owner !== undefined && owner !== mapped?.target) {
      skipUser(
        u,
        `field username: "${username}" is already taken here (user ${owner}; usernames are case-insensitive here)`,
      )
      continue
    }
    let email = u.email.trim()
    let emailKey = email.toLowerCase()
    if (email) {
      const emailHolder = emailOwner.get(emailKey)
      if (emailHolder !== undefined && emailHolder !== mapped?.target) {
        problems.push(
          `${u.where}, field email: "${email}" is already used by user ${emailHolder}; imported without an email (log in by username)`,
        )
        email = ''
      }
    }
    // No email: the shop-made customers' convention (no '@', so no address can take it),
    // from the username so that a re-run computes the same key.
    if (!email) emailKey = `${NO_EMAIL_KEY_PREFIX}${usernameKey}`
    const phoneErrors = new FieldErrors()
    let phone = checkPhone(phoneErrors, u.phone)
    if (phone === undefined) {
      problems.push(
        `${u.where}, field phone: "${u.phone}" cannot be normalised (an optional + and 7 to 15 digits); kept as given`,
      )
      phone = u.phone.slice(0, 20)
    }
    if (u.is_staff && !u.is_superuser && !u.is_admin)
      problems.push(
        `${u.where}, field is_staff: Django admin-site access is not carried over (not a superuser nor is_admin); imported without admin rights`,
      )
    const targetId = mapped?.target ?? (keepIds && !userIds.has(u.id) ? u.id : nextUserId++)
    if (!mapped && keepIds && targetId !== u.id)
      problems.push(`${u.where}, field id: id ${u.id} is taken here; imported as user ${targetId}`)
    const old = keysOf.get(targetId)
    if (old) {
      usernameOwner.delete(old[0])
      emailOwner.delete(old[1])
    }
    usernameOwner.set(usernameKey, targetId)
    emailOwner.set(emailKey, targetId)
    keysOf.set(targetId, [usernameKey, emailKey])
    userIds.add(targetId)
    userTarget.set(u.id, targetId)
    userPlans.push({
      src: u,
      action: mapped ? 'update' : 'create',
      targetId,
      fingerprint,
      passwordChanged: !mapped || mapped.fingerprint.split(':')[1] !== fingerprint.split(':')[1],
      values: {
        username,
        username_key: usernameKey,
        email,
        email_key: emailKey,
        password: u.password,
        first_name: u.first_name.slice(0, 150),
        last_name: u.last_name.slice(0, 150),
        phone,
        // A Django superuser is an admin here.
        is_admin: u.is_admin || u.is_superuser,
        is_staff_member: u.is_staff_member,
        is_active: u.is_active,
        working_hours: null,
        date_joined: u.date_joined,
        last_login: u.last_login,
      },
    })
    if (mapped) report.tables.api_user.updated++
    else report.tables.api_user.created++
  }
  const unsupported = source.users.filter(
    (u) => !u.password.startsWith('!') && !DJANGO_HASHERS.includes(u.password.split('$')[0] ?? ''),
  )
  for (const u of unsupported)
    problems.push(
      `${u.where}, field password: ${u.password.includes('$') ? `hasher "${u.password.split('$')[0]}"` : 'a value in no hash format'} is not supported (pbkdf2_sha256, pbkdf2_sha1, argon2, bcrypt_sha256, bcrypt, scrypt are); imported, but the user must reset the password`,
    )

  /* ---------- reservations ---------- */
  const statusMap = { ...STATUS_MAP, ...opts.statusMap }
  const reminderHorizon = now.getTime() + (opts.reminderHoursBefore ?? 24) * 3_600_000
  const importedTargets = new Set<number>()
  for (const m of mappings.get(T_RES)!.values()) importedTargets.add(m.target)
  const resIds = new Set(targetRes.keys())
  let nextResId =
    maxOf(
      resIds,
      source.reservations.map((r) => r.id),
    ) + 1
  const resPlans: ResPlan[] = []
  const seen = new Set<number>()
  const skipRes = (r: SourceReservation, why: string) => {
    problems.push(`${r.where}: ${why}; not imported`)
    report.tables.api_reservation.skipped++
  }
  for (const r of source.reservations) {
    if (seen.has(r.id)) {
      skipRes(r, 'field id: the same id twice')
      continue
    }
    seen.add(r.id)
    const customer = userTarget.get(r.customer_id)
    if (customer === undefined) {
      skipRes(
        r,
        sourceUserIds.has(r.customer_id)
          ? `field customer: user ${r.customer_id} was not imported`
          : `field customer: no api_user row with id ${r.customer_id}`,
      )
      continue
    }
    let staff: number | null = null
    if (r.staff_id !== null) {
      staff = userTarget.get(r.staff_id) ?? null
      if (staff === null)
        problems.push(
          `${r.where}, field staff: user ${r.staff_id} was not imported; imported without a barber`,
        )
    }
    const mappedStatus = statusMap[r.status.trim().toLowerCase()] ?? statusMap[r.status]
    if (!mappedStatus) {
      report.unknown_statuses[r.status] = (report.unknown_statuses[r.status] ?? 0) + 1
      skipRes(r, `field status: unknown status "${r.status}" (map it with --map-status)`)
      continue
    }
    const start = r.start_time
    const end = r.end_time
    if (end.getTime() <= start.getTime()) {
      skipRes(
        r,
        `field end_time: ${end.toISOString()} is not after start_time ${start.toISOString()}`,
      )
      continue
    }
    const { where: _w, ...rest } = r
    void _w
    const fingerprint = digest(rest)
    const mapped = mappings.get(T_RES)!.get(r.id)
    const current = mapped ? targetRes.get(mapped.target) : undefined
    if (mapped && !current) {
      skipRes(r, `deleted here (reservation ${mapped.target}) since the last import`)
      continue
    }
    // Past pending/confirmed: imported in the state the sweep would give them now, so the
    // sweep finds nothing to do and sends no email about the past.
    let status = mappedStatus
    let settled = false
    const values: ResValues = {
      customer_id: customer,
      staff_id: staff,
      service_id: null,
      start_time: start,
      end_time: end,
      hold_until: end,
      status,
      notes: r.notes,
      created_at: r.created_at,
      updated_at: r.updated_at ?? r.created_at,
      confirmed_at: null,
      completed_at: null,
      cancelled_at: null,
      cancelled_by: null,
      cancellation_reason: '',
      version: 1,
      reminder_sent_for: null,
    }
    if (status === 'confirmed' && end.getTime() <= now.getTime()) {
      status = 'completed'
      values.completed_at = end
      settled = true
    } else if (status === 'pending' && start.getTime() <= now.getTime()) {
      status = 'cancelled'
      values.cancelled_at = start
      values.cancelled_by = 'system'
      values.cancellation_reason = EXPIRED_REASON
      settled = true
    }
    values.status = status
    if (status === 'confirmed' && (opts.noReminders || start.getTime() <= reminderHorizon))
      values.reminder_sent_for = start
    if (mapped && mapped.fingerprint === fingerprint) {
      report.tables.api_reservation.unchanged++
      resPlans.push({
        src: r,
        action: 'unchanged',
        targetId: mapped.target,
        values,
        fingerprint,
        sourceStatus: mappedStatus,
        settled,
        current,
      })
      continue
    }
    if (settled) report.settled[status === 'completed' ? 'completed' : 'expired']++
    const targetId = mapped?.target ?? (keepIds && !resIds.has(r.id) ? r.id : nextResId++)
    if (!mapped && keepIds && targetId !== r.id)
      problems.push(
        `${r.where}, field id: id ${r.id} is taken here; imported as reservation ${targetId}`,
      )
    resIds.add(targetId)
    importedTargets.add(targetId)
    resPlans.push({
      src: r,
      action: mapped ? 'update' : 'create',
      targetId,
      values,
      fingerprint,
      sourceStatus: mappedStatus,
      settled,
      current,
    })
    if (mapped) report.tables.api_reservation.updated++
    else report.tables.api_reservation.created++
  }
  for (const [status, n] of Object.entries(report.unknown_statuses))
    report.notes.push(`status "${status}": ${n} reservations not imported (unknown status)`)

  planHolds(resPlans, targetRes, importedTargets, report)

  if (dryRun) {
    report.duration_ms = Math.round(performance.now() - started)
    return report
  }

  /* ---------- writes, in bounded transactions ---------- */
  const runId = await insertRun(database, db, source.label, keepIds, now)
  const progress = opts.progress ?? (() => undefined)
  const userWrites = userPlans
  for (let i = 0; i < userWrites.length; i += batchSize) {
    const batch = userWrites.slice(i, i + batchSize)
    await inTransaction(database, async (trx) => {
      const t = withImportTables(trx)
      const creates = batch.filter((p) => p.action === 'create')
      if (creates.length)
        await chunked(creates, 200, (part) =>
          t
            .insertInto('users')
            .values(part.map((p) => ({ id: p.targetId, ...p.values })))
            .execute(),
        )
      for (const p of batch.filter((b) => b.action === 'update')) {
        const { password, working_hours: _wh, ...values } = p.values
        void _wh
        await t
          .updateTable('users')
          .set({ ...values, ...(p.passwordChanged ? { password } : {}) })
          .where('id', '=', p.targetId)
          .execute()
      }
      await recordRows(database.engine, t, T_USER, batch, now)
    })
    progress(T_USER, Math.min(i + batchSize, userWrites.length), userWrites.length)
  }
  await fixSequence(database, 'users')

  // A reservation about to change first gives up its hold (an empty range conflicts with
  // nothing), so that no intermediate state trips PostgreSQL's exclusion constraint.
  const releasing = resPlans
    .filter(
      (p) =>
        p.current &&
        (p.holdChanged || p.action === 'update') &&
        ACTIVE.has(p.current.status) &&
        p.current.hold > p.current.start,
    )
    .map((p) => p.targetId)
  for (let i = 0; i < releasing.length; i += batchSize) {
    const ids = releasing.slice(i, i + batchSize)
    await inTransaction(database, (trx) =>
      trx
        .updateTable('reservations')
        .set({ hold_until: sql<Date>`start_time` })
        .where('id', 'in', ids)
        .execute(),
    )
  }
  const resWrites = resPlans.filter((p) => p.action !== 'unchanged' || p.holdChanged)
  for (let i = 0; i < resWrites.length; i += batchSize) {
    const batch = resWrites.slice(i, i + batchSize)
    await inTransaction(database, async (trx) => {
      const t = withImportTables(trx)
      const creates = batch.filter((p) => p.action === 'create')
      if (creates.length) {
        await chunked(creates, 500, (part) =>
          t
            .insertInto('reservations')
            .values(
              part.map((p) => ({
                id: p.targetId,
                ...p.values,
                hold_until: p.hold ?? p.values.hold_until,
              })),
            )
            .execute(),
        )
        // History starts with the import: the source's status at its created_at, by nobody;
        // a reservation settled on the way gets that change too.
        const history = creates.flatMap((p) => [
          {
            reservation_id: p.targetId,
            at: p.src.created_at,
            actor_id: null,
            from_status: null,
            to_status: p.sourceStatus,
            start_time: p.src.start_time,
            end_time: p.src.end_time,
          },
          ...(p.settled
            ? [
                {
                  reservation_id: p.targetId,
                  at: (p.values.completed_at ?? p.values.cancelled_at) as Date,
                  actor_id: null,
                  from_status: p.sourceStatus,
                  to_status: p.values.status as ReservationStatus,
                  start_time: p.src.start_time,
                  end_time: p.src.end_time,
                },
              ]
            : []),
        ])
        await chunked(history, 1000, (part) =>
          t.insertInto('reservation_history').values(part).execute(),
        )
      }
      for (const p of batch.filter((b) => b.action === 'update')) {
        const { version: _v, created_at: _c, reminder_sent_for, ...values } = p.values
        void _v
        void _c
        await t
          .updateTable('reservations')
          .set((eb) => ({
            ...values,
            hold_until: p.hold ?? values.hold_until,
            ...(reminder_sent_for ? { reminder_sent_for } : {}),
            version: eb('version', '+', 1),
          }))
          .where('id', '=', p.targetId)
          .execute()
        const cur = p.current!
        if (
          cur.status !== values.status ||
          cur.start !== p.src.start_time.getTime() ||
          cur.end !== p.src.end_time.getTime()
        )
          await t
            .insertInto('reservation_history')
            .values({
              reservation_id: p.targetId,
              at: p.src.updated_at ?? now,
              actor_id: null,
              from_status: cur.status,
              to_status: values.status as ReservationStatus,
              start_time: p.src.start_time,
              end_time: p.src.end_time,
            })
            .execute()
      }
      for (const p of batch.filter((b) => b.action === 'unchanged'))
        await t
          .updateTable('reservations')
          .set({ hold_until: p.hold! })
          .where('id', '=', p.targetId)
          .execute()
      await recordRows(
        database.engine,
        t,
        T_RES,
        batch.filter((p) => p.action !== 'unchanged'),
        now,
      )
    })
    progress(T_RES, Math.min(i + batchSize, resWrites.length), resWrites.length)
  }
  await fixSequence(database, 'reservations')

  report.duration_ms = Math.round(performance.now() - started)
  await db
    .updateTable('import_runs')
    .set({
      finished_at: new Date(),
      // Counts only: the lists can be long (the CLI's --report FILE has them).
      summary: JSON.stringify({
        tables: report.tables,
        settled: report.settled,
        problems: problems.length,
        overlaps: report.overlaps.length,
        duration_ms: report.duration_ms,
      }),
    })
    .where('id', '=', runId)
    .execute()
  return report
}

/**
 * The barber's hold (`hold_until`) of each active imported reservation. The original
 * allowed overlaps; ours stores none among active reservations (PostgreSQL's exclusion
 * constraint refuses them). So within a group of overlapping active reservations of one
 * barber, the first holds the whole group's time and the others hold nothing (an empty
 * range): every one is imported with its real times, no new booking can land in that
 * time, and every overlap is listed. An imported one that overlaps a reservation made in
 * this system holds nothing either.
 */
function planHolds(
  plans: ResPlan[],
  targetRes: Map<number, TargetRes>,
  importedTargets: Set<number>,
  report: ImportReport,
): void {
  type Item = { plan: ResPlan; staff: number | null; start: number; end: number }
  const active = new Map<string, Item[]>()
  const ended = new Map<string, { start: number; end: number }[]>()
  for (const plan of plans) {
    // An unchanged row keeps what is stored (it may have moved on here since).
    const status =
      plan.action === 'unchanged' ? plan.current!.status : (plan.values.status as ReservationStatus)
    const staff =
      plan.action === 'unchanged' ? plan.current!.staff_id : (plan.values.staff_id ?? null)
    const start = plan.action === 'unchanged' ? plan.current!.start : plan.src.start_time.getTime()
    const end = plan.action === 'unchanged' ? plan.current!.end : plan.src.end_time.getTime()
    const key = String(staff)
    if (ACTIVE.has(status)) {
      if (!active.has(key)) active.set(key, [])
      active.get(key)!.push({ plan, staff, start, end })
    } else if (status !== 'cancelled') {
      if (!ended.has(key)) ended.set(key, [])
      ended.get(key)!.push({ start, end })
    }
  }
  const existing = new Map<string, TargetRes[]>()
  for (const r of targetRes.values()) {
    if (importedTargets.has(r.id) || !ACTIVE.has(r.status) || r.hold <= r.start) continue
    const key = String(r.staff_id)
    if (!existing.has(key)) existing.set(key, [])
    existing.get(key)!.push(r)
  }
  const setHold = (item: Item, hold: number) => {
    const { plan } = item
    plan.hold = new Date(hold)
    plan.holdChanged = plan.action !== 'unchanged' || plan.current!.hold !== hold
  }
  const describe = (i: Item) => ({
    id: i.plan.targetId,
    source_id: i.plan.src.id,
    start_time: new Date(i.start).toISOString(),
    end_time: new Date(i.end).toISOString(),
    status: String(i.plan.action === 'unchanged' ? i.plan.current!.status : i.plan.values.status),
  })
  for (const [key, items] of active) {
    items.sort((a, b) => a.start - b.start || a.plan.src.id - b.plan.src.id)
    const others = existing.get(key) ?? []
    let group: Item[] = []
    let groupEnd = -Infinity
    const close = () => {
      if (group.length === 0) return
      setHold(group[0]!, groupEnd)
      for (const other of group.slice(1)) setHold(other, other.start)
      if (group.length > 1)
        report.overlaps.push({ staff: group[0]!.staff, reservations: group.map(describe) })
      group = []
      groupEnd = -Infinity
    }
    for (const item of items) {
      const clash = others.find((o) => o.start < item.end && item.start < o.hold)
      if (clash) {
        setHold(item, item.start)
        report.overlaps.push({
          staff: item.staff,
          reservations: [describe(item)],
          with_existing: clash.id,
        })
        continue
      }
      if (group.length && item.start < groupEnd) {
        group.push(item)
        groupEnd = Math.max(groupEnd, item.end)
      } else {
        close()
        group = [item]
        groupEnd = item.end
      }
    }
    close()
  }
  for (const items of ended.values()) {
    items.sort((a, b) => a.start - b.start)
    let end = -Infinity
    for (const i of items) {
      if (i.start < end) report.past_overlaps++
      end = Math.max(end, i.end)
    }
  }
}

/** The largest id of both (a loop: spreading 100,000 ids overflows the call stack). */
function maxOf(a: Iterable<number>, b: Iterable<number>): number {
  let max = 0
  for (const v of a) if (v > max) max = v
  for (const v of b) if (v > max) max = v
  return max
}

async function chunked<T>(
  items: T[],
  size: number,
  fn: (part: T[]) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await fn(items.slice(i, i + size))
}

/** The bookkeeping of a batch, in the batch's transaction: upsert per (table, source id). */
async function recordRows(
  engine: DatabaseHandle['engine'],
  t: ImportExecutor,
  table: string,
  plans: { src: { id: number }; targetId: number; fingerprint: string }[],
  now: Date,
): Promise<void> {
  await chunked(plans, 500, async (part) => {
    const q = t.insertInto('import_rows').values(
      part.map((p) => ({
        source_table: table,
        source_id: p.src.id,
        target_id: p.targetId,
        fingerprint: p.fingerprint,
        imported_at: now,
      })),
    )
    await (
      engine === 'mysql'
        ? q.onDuplicateKeyUpdate({
            target_id: sql`values(target_id)`,
            fingerprint: sql`values(fingerprint)`,
            imported_at: sql`values(imported_at)`,
          })
        : q.onConflict((oc) =>
            oc.columns(['source_table', 'source_id']).doUpdateSet((eb) => ({
              target_id: eb.ref('excluded.target_id'),
              fingerprint: eb.ref('excluded.fingerprint'),
              imported_at: eb.ref('excluded.imported_at'),
            })),
          )
    ).execute()
  })
}

async function insertRun(
  database: DatabaseHandle,
  db: ImportExecutor,
  label: string,
  keepIds: boolean,
  now: Date,
): Promise<number> {
  const q = db.insertInto('import_runs').values({
    source: label.slice(0, 500),
    keep_ids: keepIds,
    started_at: now,
    finished_at: null,
    summary: '',
  })
  if (database.engine === 'mysql') return Number((await q.executeTakeFirstOrThrow()).insertId)
  return (await q.returning('id').executeTakeFirstOrThrow()).id
}

/** PostgreSQL's serial sequence does not follow explicit ids (MySQL and SQLite do). */
async function fixSequence(
  database: DatabaseHandle,
  table: 'users' | 'reservations',
): Promise<void> {
  if (database.engine !== 'postgres') return
  await sql`select setval(pg_get_serial_sequence(${table}, 'id'), greatest((select coalesce(max(id), 0) from ${sql.table(table)}), 1))`.execute(
    database.db,
  )
}
