import { z } from 'zod'
import { orderingParam, PageQuery } from '../http/pagination.js'
import { QueryId } from '../http/schemas.js'

export const STATUSES = ['pending', 'confirmed', 'completed', 'cancelled', 'no_show'] as const
export const ACTIVE_STATUSES = ['pending', 'confirmed'] as const

const ts = z.string().meta({ format: 'date-time' })

export const Reservation = z
  .object({
    id: z.number().int(),
    customer: z.number().int(),
    staff: z.number().int().nullable(),
    service: z.number().int().nullable(),
    start_time: ts,
    end_time: ts,
    status: z.enum(STATUSES),
    notes: z.string(),
    created_at: ts,
    updated_at: ts,
    confirmed_at: ts.nullable(),
    completed_at: ts.nullable(),
    cancelled_at: ts.nullable(),
    cancelled_by: z.enum(['customer', 'staff', 'admin', 'system']).nullable(),
    cancellation_reason: z.string(),
  })
  .meta({ id: 'Reservation' })
export type Reservation = z.infer<typeof Reservation>

export const HistoryEntry = z
  .object({
    at: ts,
    actor: z.number().int().nullable(),
    from_status: z.enum(STATUSES).nullable(),
    to_status: z.enum(STATUSES),
    start_time: ts,
    end_time: ts,
  })
  .meta({ id: 'ReservationHistoryEntry' })
export type HistoryEntry = z.infer<typeof HistoryEntry>

const optionalId = z
  .number('A valid integer is required.')
  .int('A valid integer is required.')
  .min(1, 'Invalid pk - object does not exist.')
  .max(2147483647, 'Invalid pk - object does not exist.')
  .nullable()
  .optional()

export const CreateReservationBody = z
  .object({
    start_time: z.string(),
    end_time: z.string().nullable().optional(),
    staff: optionalId,
    service: optionalId,
    notes: z.string().nullable().optional(),
    customer: optionalId,
  })
  .meta({ id: 'CreateReservation' })
export type CreateReservationBody = z.infer<typeof CreateReservationBody>

export const UpdateReservationBody = z
  .object({
    start_time: z.string(),
    end_time: z.string(),
    staff: optionalId,
    service: optionalId,
    notes: z.string().nullable(),
    status: z.string(),
    cancellation_reason: z.string().nullable(),
    customer: optionalId,
  })
  .partial()
  .meta({ id: 'UpdateReservation' })
export type UpdateReservationBody = z.infer<typeof UpdateReservationBody>

const listOf = z.union([z.string(), z.array(z.string())])

export const ReservationListQuery = PageQuery.extend({
  status: listOf.optional(),
  staff: QueryId.optional(),
  customer: QueryId.optional(),
  start_after: z.string().optional(),
  start_before: z.string().optional(),
  ordering: orderingParam(['start_time', '-start_time', 'created_at', '-created_at'] as const),
})
export type ReservationListQuery = z.infer<typeof ReservationListQuery>
