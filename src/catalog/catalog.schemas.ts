import { z } from 'zod'
import { PageQuery } from '../http/pagination.js'
import { QueryBool, QueryId } from '../http/schemas.js'

export const Service = z
  .object({
    id: z.number().int(),
    name: z.string(),
    description: z.string(),
    duration_minutes: z.number().int(),
    buffer_after_minutes: z.number().int(),
    price: z.string().meta({ description: 'Decimal with two places, e.g. "25.00"' }),
    is_active: z.boolean(),
  })
  .meta({ id: 'Service' })
export type Service = z.infer<typeof Service>

const price = z.union([z.string(), z.number()], { error: 'A valid number is required.' })

export const CreateServiceBody = z
  .object({
    name: z.string(),
    description: z.string().optional(),
    duration_minutes: z.number().int('A valid integer is required.'),
    buffer_after_minutes: z.number().int('A valid integer is required.').optional(),
    price,
    is_active: z.boolean().optional(),
  })
  .meta({ id: 'CreateService' })
export type CreateServiceBody = z.infer<typeof CreateServiceBody>

export const UpdateServiceBody = CreateServiceBody.partial().meta({ id: 'UpdateService' })
export type UpdateServiceBody = z.infer<typeof UpdateServiceBody>

export const ServiceListQuery = PageQuery.extend({ is_active: QueryBool.optional() })

export const StaffMember = z
  .object({
    id: z.number().int(),
    first_name: z.string(),
    last_name: z.string(),
    username: z.string(),
  })
  .meta({ id: 'StaffMember' })

export const Hours = z.object({ hours: z.string().nullable() }).meta({ id: 'WorkingHours' })

export const TimeOff = z
  .object({
    id: z.number().int(),
    staff: z.number().int().nullable(),
    start_time: z.string(),
    end_time: z.string(),
    reason: z.string(),
  })
  .meta({ id: 'TimeOff' })
export type TimeOff = z.infer<typeof TimeOff>

export const CreateTimeOffBody = z
  .object({
    staff: z
      .number()
      .int('A valid integer is required.')
      .min(1)
      .max(2147483647, 'Invalid pk - object does not exist.')
      .nullable()
      .optional(),
    start_time: z.string(),
    end_time: z.string(),
    reason: z.string().optional(),
  })
  .meta({ id: 'CreateTimeOff' })
export type CreateTimeOffBody = z.infer<typeof CreateTimeOffBody>
export const UpdateTimeOffBody = CreateTimeOffBody.partial().meta({ id: 'UpdateTimeOff' })
export type UpdateTimeOffBody = z.infer<typeof UpdateTimeOffBody>

export const TimeOffListQuery = PageQuery.extend({ staff: QueryId.optional() })
