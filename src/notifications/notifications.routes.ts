import { z } from 'zod'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { AppContext } from '../context.js'
import { toDate } from '../db/database.js'
import type { OutboxRow } from '../db/types.js'
import { adminOnly } from '../http/auth.js'
import { iso, isoOrNull } from '../http/datetime.js'
import { NotFound } from '../http/errors.js'
import { pageWindow, paginate, PageQuery } from '../http/pagination.js'
import { errorResponses, IdParams, paginated } from '../http/schemas.js'

const Notification = z
  .object({
    id: z.number().int(),
    kind: z.string(),
    status: z.enum(['pending', 'queued', 'sending', 'done', 'failed']),
    attempts: z.number().int(),
    last_error: z.string(),
    payload: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    available_at: z.string(),
    sent_at: z.string().nullable(),
  })
  .meta({ id: 'Notification' })

const NotificationQuery = PageQuery.extend({
  status: z
    .enum(['pending', 'queued', 'sending', 'done', 'failed'], { error: 'Select a valid choice.' })
    .optional(),
})

function toNotification(row: OutboxRow) {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    attempts: row.attempts,
    last_error: row.last_error,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    created_at: iso(row.created_at),
    available_at: iso(row.available_at),
    sent_at: isoOrNull(row.sent_at ? toDate(row.sent_at) : null),
  }
}

/** Admin view of the outbox: see failed notifications and send them again. */
export function notificationsRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    const security = [{ bearerAuth: [] }]
    app.get(
      '/api/notifications/',
      {
        schema: {
          tags: ['notifications'],
          summary:
            'Outbox notifications, newest first (admin); ?status=failed lists the ones that gave up',
          security,
          querystring: NotificationQuery,
          response: { 200: paginated(Notification), ...errorResponses },
        },
        onRequest: adminOnly,
      },
      async (req) => {
        let base = ctx.database.db.selectFrom('outbox')
        if (req.query.status) base = base.where('status', '=', req.query.status)
        const { limit, offset } = pageWindow(req.query)
        const [c, rows] = await Promise.all([
          base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
          base.selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute(),
        ])
        return paginate(req, req.query, Number(c.n), rows.map(toNotification))
      },
    )
    app.post(
      '/api/notifications/:id/retry/',
      {
        schema: {
          tags: ['notifications'],
          summary: 'Send a failed (or pending) notification again now (admin)',
          security,
          params: IdParams,
          response: { 200: Notification, ...errorResponses },
        },
        onRequest: adminOnly,
      },
      async (req) => {
        const { db } = ctx.database
        const row = await db
          .selectFrom('outbox')
          .selectAll()
          .where('id', '=', req.params.id)
          .executeTakeFirst()
        if (!row) throw NotFound()
        await db
          .updateTable('outbox')
          .set({ status: 'pending', attempts: 0, available_at: ctx.now(), locked_until: null })
          .where('id', '=', row.id)
          .where('status', 'in', ['failed', 'pending'])
          .execute()
        ctx.wakeOutbox()
        return toNotification(
          (await db.selectFrom('outbox').selectAll().where('id', '=', row.id).executeTakeFirst())!,
        )
      },
    )
  }
}
