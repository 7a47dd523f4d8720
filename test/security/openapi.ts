/**
 * The OpenAPI document as the security tests read it: its operations, and a small
 * JSON-schema validator for the subset @fastify/swagger emits from our zod schemas
 * (OpenAPI 3.0: `nullable`, boolean `exclusiveMinimum`). The ajv at the top of
 * node_modules is eslint's ajv 6, not fastify's ajv 8, so it is not used; a keyword this
 * validator does not know is reported as a problem instead of being skipped silently.
 */

export interface JsonSchema {
  $ref?: string
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null'
  nullable?: boolean
  enum?: unknown[]
  anyOf?: JsonSchema[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  items?: JsonSchema
  minimum?: number
  maximum?: number
  exclusiveMinimum?: boolean | number
  exclusiveMaximum?: boolean | number
  minLength?: number
  maxLength?: number
  format?: string
  default?: unknown
  description?: string
}

export interface Parameter {
  name: string
  in: 'query' | 'path' | 'header' | 'cookie'
  required?: boolean
  schema: JsonSchema
}

interface MediaType {
  schema?: JsonSchema
}

interface RawOperation {
  parameters?: Parameter[]
  requestBody?: { required?: boolean; content?: Record<string, MediaType> }
  security?: Record<string, string[]>[]
  responses?: Record<string, { content?: Record<string, MediaType> }>
}

export interface OpenApiDoc {
  openapi: string
  paths: Record<string, Record<string, RawOperation>>
  components?: { schemas?: Record<string, JsonSchema> }
}

export interface Operation {
  /** `GET /api/users/{id}/` */
  key: string
  method: string
  path: string
  parameters: Parameter[]
  body?: JsonSchema
  bodyRequired: boolean
  /** Documented as needing a bearer token. */
  secured: boolean
  /** Documented responses by status code ('default' included if present). */
  responses: Record<string, JsonSchema | null>
  /** Documented media types by status code (a few answers are not JSON: GET /metrics). */
  mediaTypes: Record<string, string[]>
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options']

export function operationsOf(doc: OpenApiDoc): Operation[] {
  const ops: Operation[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [m, raw] of Object.entries(item)) {
      if (!METHODS.includes(m)) continue
      const method = m.toUpperCase()
      const responses: Record<string, JsonSchema | null> = {}
      const mediaTypes: Record<string, string[]> = {}
      for (const [code, r] of Object.entries(raw.responses ?? {})) {
        responses[code] = r.content?.['application/json']?.schema ?? null
        mediaTypes[code] = Object.keys(r.content ?? {})
      }
      ops.push({
        key: `${method} ${path}`,
        method,
        path,
        parameters: raw.parameters ?? [],
        body: raw.requestBody?.content?.['application/json']?.schema,
        bodyRequired: raw.requestBody?.required ?? false,
        secured: (raw.security ?? []).some((s) => 'bearerAuth' in s),
        responses,
        mediaTypes,
      })
    }
  }
  return ops
}

/** Follows `$ref`s into `#/components/schemas`. */
export function deref(doc: OpenApiDoc, schema: JsonSchema): JsonSchema {
  let s = schema
  for (let i = 0; s.$ref !== undefined; i++) {
    const m = /^#\/components\/schemas\/(.+)$/.exec(s.$ref)
    const target = m ? doc.components?.schemas?.[m[1]!] : undefined
    if (!target || i > 20) throw new Error(`unresolvable $ref ${s.$ref}`)
    s = target
  }
  return s
}

const KNOWN = new Set([
  '$ref',
  'type',
  'nullable',
  'enum',
  'anyOf',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'format',
  'default',
  'description',
  'title',
  'example',
  'examples',
])

/** The contract's timestamp output: ISO 8601 in UTC with `Z`. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/

function typeOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  return typeof v
}

/** Every way `value` fails `schema`, as `path: problem` lines; empty when it conforms. */
export function validate(
  doc: OpenApiDoc,
  schema: JsonSchema,
  value: unknown,
  path = '$',
): string[] {
  const problems: string[] = []
  const s = deref(doc, schema)
  for (const k of Object.keys(s)) {
    if (!KNOWN.has(k))
      problems.push(`${path}: schema keyword "${k}" is not supported by this validator`)
  }
  if (value === null && (s.nullable || s.type === 'null' || s.enum?.includes(null))) return problems
  if (s.anyOf) {
    const branches = s.anyOf.map((b) => validate(doc, b, value, path))
    if (!branches.some((b) => b.length === 0)) {
      problems.push(`${path}: matches no anyOf branch (${branches.map((b) => b[0]).join(' | ')})`)
    }
  }
  if (s.enum && !s.enum.some((e) => e === value)) {
    problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`)
  }
  const t = typeOf(value)
  switch (s.type) {
    case undefined:
      break
    case 'integer':
      if (t !== 'number' || !Number.isInteger(value))
        problems.push(`${path}: expected integer, got ${t}`)
      break
    case 'number':
      if (t !== 'number' || !Number.isFinite(value))
        problems.push(`${path}: expected number, got ${t}`)
      break
    case 'object':
      if (t !== 'object') problems.push(`${path}: expected object, got ${t}`)
      break
    default:
      if (t !== s.type) problems.push(`${path}: expected ${s.type}, got ${t}`)
  }
  if (problems.length > 0) return problems

  if (typeof value === 'number') {
    const exMin =
      s.exclusiveMinimum === true
        ? s.minimum
        : typeof s.exclusiveMinimum === 'number'
          ? s.exclusiveMinimum
          : undefined
    const exMax =
      s.exclusiveMaximum === true
        ? s.maximum
        : typeof s.exclusiveMaximum === 'number'
          ? s.exclusiveMaximum
          : undefined
    if (exMin !== undefined && !(value > exMin))
      problems.push(`${path}: ${value} is not > ${exMin}`)
    else if (s.minimum !== undefined && s.exclusiveMinimum !== true && value < s.minimum) {
      problems.push(`${path}: ${value} is below ${s.minimum}`)
    }
    if (exMax !== undefined && !(value < exMax))
      problems.push(`${path}: ${value} is not < ${exMax}`)
    else if (s.maximum !== undefined && s.exclusiveMaximum !== true && value > s.maximum) {
      problems.push(`${path}: ${value} is above ${s.maximum}`)
    }
  }
  if (typeof value === 'string') {
    const len = [...value].length
    if (s.minLength !== undefined && len < s.minLength)
      problems.push(`${path}: shorter than ${s.minLength}`)
    if (s.maxLength !== undefined && len > s.maxLength)
      problems.push(`${path}: longer than ${s.maxLength}`)
    if (s.format === 'date-time' && !DATE_TIME.test(value)) {
      problems.push(
        `${path}: ${JSON.stringify(value)} is not an ISO 8601 UTC timestamp ending in Z`,
      )
    }
  }
  if (Array.isArray(value) && s.items) {
    value.forEach((item, i) => problems.push(...validate(doc, s.items!, item, `${path}[${i}]`)))
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>
    for (const r of s.required ?? []) {
      if (!(r in obj)) problems.push(`${path}: missing required property "${r}"`)
    }
    for (const [k, v] of Object.entries(obj)) {
      const prop = s.properties?.[k]
      if (prop) problems.push(...validate(doc, prop, v, `${path}.${k}`))
      else if (s.additionalProperties === false)
        problems.push(`${path}: undocumented property "${k}"`)
      else if (typeof s.additionalProperties === 'object') {
        problems.push(...validate(doc, s.additionalProperties, v, `${path}.${k}`))
      }
    }
  }
  return problems
}

/** `{detail, code}`, both strings and nothing else: the contract's error body. */
export function isErrorBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false
  const keys = Object.keys(body).sort()
  const b = body as Record<string, unknown>
  return (
    keys.length === 2 &&
    keys[0] === 'code' &&
    keys[1] === 'detail' &&
    typeof b.detail === 'string' &&
    typeof b.code === 'string' &&
    b.detail !== '' &&
    b.code !== ''
  )
}

/** DRF's 400: `{field: ["message", ...], ...}`, at least one field, every list non-empty. */
export function isFieldErrors(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false
  const entries = Object.entries(body)
  return (
    entries.length > 0 &&
    entries.every(
      ([, v]) =>
        Array.isArray(v) && v.length > 0 && v.every((m) => typeof m === 'string' && m !== ''),
    )
  )
}
