import { z } from 'zod'
import { orderingParam, PageQuery } from '../http/pagination.js'
import { QueryBool } from '../http/schemas.js'

export const User = z
  .object({
    id: z.number().int(),
    username: z.string(),
    email: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    phone: z.string(),
    is_admin: z.boolean(),
    is_staff_member: z.boolean(),
    is_active: z.boolean(),
    date_joined: z.string().meta({ format: 'date-time' }),
  })
  .meta({ id: 'User' })
export type User = z.infer<typeof User>

const str = z.string()

export const UpdateUserBody = z
  .object({
    username: str,
    email: str,
    first_name: str,
    last_name: str,
    phone: str.nullable(),
    password: str,
    current_password: str,
    is_admin: z.boolean(),
    is_staff_member: z.boolean(),
    is_active: z.boolean(),
  })
  .partial()
  .meta({ id: 'UpdateUser' })
export type UpdateUserBody = z.infer<typeof UpdateUserBody>

export const CreateCustomerBody = z
  .object({
    first_name: str,
    last_name: str.optional(),
    phone: str,
    email: str.nullable().optional().meta({
      description: 'Optional; without one no email is ever sent to this customer.',
    }),
    username: str.optional().meta({ description: 'Made from the name when left out.' }),
  })
  .meta({
    id: 'CreateCustomer',
    description:
      'A customer the shop adds (walk-in, phone booking), without a password: they log in after setting one by a password reset.',
  })
export type CreateCustomerBody = z.infer<typeof CreateCustomerBody>

export const UserListQuery = PageQuery.extend({
  search: z.string().max(200).optional(),
  is_staff_member: QueryBool.optional(),
  is_admin: QueryBool.optional(),
  is_active: QueryBool.optional(),
  ordering: orderingParam([
    'date_joined',
    '-date_joined',
    'username',
    '-username',
    'id',
    '-id',
  ] as const),
})
export type UserListQuery = z.infer<typeof UserListQuery>
