/**
 * OpenAPI-driven fuzzing, Schemathesis-style: for every operation in GET /api/schema/,
 * fast-check generates requests from the documented schemas (valid-ish values, wrong
 * types, missing and extra fields, huge and unicode strings, odd numbers, junk path ids
 * and query strings) as anonymous, admin, customer, staff and a bad token, and every
 * response is checked against the contract:
 *   - never a 5xx;
 *   - a JSON body (204: none);
 *   - 4xx: `{detail, code}`, or for 400 a field → [messages] map naming request fields;
 *   - 429 carries Retry-After;
 *   - 2xx: a documented status, and the body conforms to its documented schema;
 *   - a protected operation without a token: 401 not_authenticated; a bad token: 401 token_not_valid.
 * Violations are collected (first example of each kind) so one run reports every problem.
 *
 * FUZZ_RUNS sets the number of requests per operation (default 1000 on SQLite, 300 on the
 * server databases); FUZZ_SEED replays a run.
 */
import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { toBool } from '../../src/db/database.js'
import { MAX_JSON_DEPTH, MAX_JSON_VALUES } from '../../src/http/body.js'
import { hostAllowed, hostOf } from '../../src/http/hosts.js'
import { dialects, PASSWORD, startApp, unique } from '../helpers.js'
import type { TestApp, TestUser } from '../helpers.js'
import { deref, isErrorBody, isFieldErrors, operationsOf, validate } from './openapi.js'
import type { JsonSchema, OpenApiDoc, Operation, Parameter } from './openapi.js'

const SEED = process.env.FUZZ_SEED
  ? Number(process.env.FUZZ_SEED)
  : process.env.CI
    ? 300577537 // CI gates on a reproducible corpus; local runs explore new seeds
    : Math.floor(Math.random() * 2 ** 31)
const BODY_LIMIT = 1024 * 1024
/** A single request taking longer than this (in process, no network) is reported. */
const SLOW_MS = Number(process.env.FUZZ_SLOW_MS) || 5000
const MISSING = Symbol('missing')

function runsFor(engine: string): number {
  const env = Number(process.env.FUZZ_RUNS)
  if (Number.isInteger(env) && env > 0) return env
  return engine === 'sqlite' ? 1000 : 300
}

/** The document is the same on every engine; read once to name one test per operation. */
async function loadDoc(): Promise<OpenApiDoc> {
  const t = await startApp('sqlite', { jobs: false })
  try {
    return (await t.req('GET', '/api/schema/')).json<OpenApiDoc>()
  } finally {
    await t.close()
  }
}

const doc = await loadDoc()
const operations = operationsOf(doc)

/* ---------------------------------------------------------------- values */

const SPECIAL_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  "' OR '1'='1' --",
  '"; DROP TABLE users; --',
  '%',
  '_',
  '\\',
  '!',
  '%_!\\\'"',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '${7*7}{{7*7}}',
  '\u202eevil',
  '\ud800',
  '\udfff\ud800',
  'İstanbul',
  'ß',
  'ﬀ',
  '😀👨‍👩‍👧',
  'null',
  'true',
  '0',
  '-1',
  '1e309',
  'NaN',
  '\r\nX-Injected: 1',
  '\t',
  '__proto__',
  'constructor',
]
const HUGE = 'x'.repeat(100_000)
const OVER_LIMIT = 'y'.repeat(BODY_LIMIT + 16)
const DEEP = (() => {
  let v: unknown = 1
  for (let i = 0; i < 2000; i++) v = [v]
  return v
})()

/** Deterministic nasty values, put into every field in turn (the fuzz may or may not draw them). */
const EDGE_VALUES: unknown[] = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  HUGE,
  '',
  ' ',
  2 ** 31,
  2 ** 53 - 1,
  -1,
  0,
  1.5,
  1e308,
  null,
  true,
  [],
  {},
  '9999-12-31T23:59:59-23:59',
  '1900-01-01T00:00:00+23:59',
  '2147483648',
]
const EDGE_QUERY = [
  '\u0000',
  'a\u0000b',
  '9999-12-31',
  '1900-01-01',
  '2147483648',
  '9007199254740993',
  '9999-12-31T23:59:59-23:59',
  '1900-01-01T00:00:00+23:59',
  'x'.repeat(5000),
  '-1',
  '0',
  '',
]
const EDGE_IDS = ['2147483648', '9007199254740993', '-1', '0', '\u0000', '1e3', '1.0', ' 1']
/** Start/end pairs at the edges of the calendar the API accepts. */
const TIME_PAIRS = [
  ['9999-12-31T23:00:00-23:00', '9999-12-31T23:30:00-23:00'],
  ['9999-12-31T23:00:00Z', '9999-12-31T23:30:00Z'],
  ['1900-01-01T00:00:00+23:00', '1900-01-01T00:30:00+23:00'],
]

const stringArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
  { weight: 1, arbitrary: fc.integer({ min: 140, max: 6000 }).map((n) => 'z'.repeat(n)) },
  { weight: 1, arbitrary: fc.constant(HUGE) },
)

const INT_EDGES = [
  0,
  -1,
  1,
  5,
  480,
  481,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53 - 1,
  -(2 ** 53) + 1,
  1e15,
  1.5,
  -0.5,
  1e308,
  -1e308,
]
const intArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -10, max: 1000 }) },
  { weight: 2, arbitrary: fc.constantFrom(...INT_EDGES) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.maxSafeInteger() },
)

const junkArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 2, arbitrary: stringArb },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(
      [],
      {},
      [[[]]],
      { a: { b: { c: {} } } },
      true,
      false,
      null,
      -0,
      1e308,
      DEEP,
    ),
  },
)

/** Instants around now (past and future, on quarter hours), in the formats clients send. */
const nearInstant = fc
  .tuple(fc.integer({ min: -60, max: 200 }), fc.integer({ min: 0, max: 95 }))
  .map(([days, q]) => {
    const d = new Date()
    d.setUTCHours(0, 0, 0, 0)
    return new Date(d.getTime() + days * 86_400_000 + q * 15 * 60_000)
  })

const dateTimeArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: nearInstant.map((d) => d.toISOString().replace('.000Z', 'Z')) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(nearInstant, fc.constantFrom('local', 'space', 'offset', 'micro', 'date', 'minutes'))
      .map(([d, f]) => {
        const s = d.toISOString()
        switch (f) {
          case 'local':
            return s.slice(0, 19)
          case 'space':
            return `${s.slice(0, 10)} ${s.slice(11, 19)}`
          case 'offset':
            return `${s.slice(0, 19)}+02:00`
          case 'micro':
            return `${s.slice(0, 19)}.123456Z`
          case 'date':
            return s.slice(0, 10)
          default:
            return s.slice(0, 16)
        }
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .date({
        min: new Date('1900-01-01T00:00:00Z'),
        max: new Date('9999-12-31T23:59:59Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString()),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '9999-12-31T23:59:59-23:59',
      '9999-12-31T23:30:00Z',
      '9999-12-31T23:45:00',
      '1900-01-01T00:00:00+23:59',
      '1000-01-01T00:00:00Z',
      '0001-01-01T00:00:00Z',
      '2026-02-30T10:00:00Z',
      '2028-02-29T10:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T23:59:60Z',
      '2026-03-29T02:30:00',
      '2026-01-01T10:00:00+24:00',
      '2026-01-01T10:00:00+23:59',
      'tomorrow',
      'T',
      '2026-01-01T10:00:00ZZ',
      '+275760-09-13T00:00:00Z',
      '2026-W01-1',
      '20260101T100000Z',
      '1767225600',
      '2026-01-01t10:00:00z',
      '２０２６-01-01T10:00:00Z',
    ),
  },
  { weight: 1, arbitrary: stringArb },
)

const dateArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: nearInstant.map((d) => d.toISOString().slice(0, 10)) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 85, max: 95 })
      .map((n) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '1900-01-01',
      '9999-12-31',
      '2026-02-29',
      '2028-02-29',
      '2026-02-30',
      '0000-00-00',
      '2026-1-1',
      '2026-01-01T00:00:00Z',
      'today',
    ),
  },
  { weight: 1, arbitrary: dateTimeArb },
)

const hoursArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'mon-fri 09:00-17:00',
      'mon-sun 00:00-24:00',
      'mon-fri 09:00-13:00,14:00-19:00; sat 10:00-16:00',
      'mon,wed,fri 10:00-12:00',
      'sun 25:00-26:00',
      'mon-sun 09:00-08:00',
      'fri-mon 09:00-10:00',
      'mon 09:00-17:00;',
      ';;;',
      'MON 09:00-17:00',
      'mon 9-17',
      '',
      ' ',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 400, max: 600 })
      .map((n) => 'mon 09:00-10:00; '.repeat(n).slice(0, n)),
  },
  { weight: 1, arbitrary: stringArb },
)

const priceArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    '25.00',
    '25',
    '25.5',
    '0',
    '0.00',
    '-1',
    '1.999',
    '1e5',
    '99999999.99',
    '100000000',
    ' 12.50 ',
    '12,50',
    '١٢',
    'Infinity',
  ),
  fc.double({ min: -1e9, max: 1e9, noNaN: true }),
  fc.integer({ min: -1, max: 1000 }),
  stringArb,
)

const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c))
const headerValueArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: printable, maxLength: 40 }),
  fc.string({ unit: printable, minLength: 250, maxLength: 300 }),
  fc.uuid(),
  fc.constantFrom('*', '"abc"', 'W/"abc"', '"a", "b"', '', ' '),
)

const ipArb = fc
  .tuple(fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 }))
  .map(([a, b, c]) => `10.${a}.${b}.${c}`)

/* ---------------------------------------------------------------- requests */

type Who = 'anonymous' | 'admin' | 'customer' | 'staff' | 'bad-token'

interface FuzzRequest {
  who: Who
  url: string
  /** The raw path segment put in place of `{id}`, if any. */
  id?: string
  headers: Record<string, string>
  body: unknown
  remoteAddress: string
}

/** Live pools of ids and tokens: fixtures that come and go during the run. */
class Pools {
  ids: number[] = []
  refresh: string[] = []
  usernames: string[] = []
  staff: number[] = []
  services: number[] = []
  pick = (i: number) => this.ids[i % Math.max(1, this.ids.length)] ?? 1
}

function makeArbitraries(op: Operation, pools: Pools) {
  const idArb: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 4, arbitrary: fc.nat().map(pools.pick) },
    { weight: 2, arbitrary: intArb },
    { weight: 1, arbitrary: junkArb },
  )

  const hinted = (name: string): fc.Arbitrary<unknown> | undefined => {
    if (/^(start_time|end_time)$/.test(name)) return dateTimeArb
    if (/^(staff|service|customer)$/.test(name)) return idArb
    if (name === 'hours') return hoursArb
    if (name === 'price') return priceArb
    if (name === 'status') {
      return fc.oneof(
        fc.constantFrom(
          'pending',
          'confirmed',
          'completed',
          'cancelled',
          'no_show',
          'CONFIRMED',
          'deleted',
        ),
        stringArb,
      )
    }
    if (name === 'email') {
      return fc.oneof(
        { weight: 4, arbitrary: fc.constant(null).map(() => `${unique('e')}@example.com`) },
        { weight: 1, arbitrary: fc.emailAddress() },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            'a@b',
            'no-at-sign',
            '@x.com',
            'x@.com',
            `${'e'.repeat(250)}@x.com`,
            'ü@ü.de',
            'A@EXAMPLE.COM',
          ),
        },
        { weight: 1, arbitrary: stringArb },
      )
    }
    if (name === 'username') {
      return fc.oneof(
        { weight: 4, arbitrary: fc.constant(null).map(() => unique('fz')) },
        {
          weight: 2,
          arbitrary: fc
            .nat()
            .map((i) => pools.usernames[i % Math.max(1, pools.usernames.length)] ?? 'x'),
        },
        { weight: 1, arbitrary: fc.string({ maxLength: 160 }) },
        { weight: 1, arbitrary: stringArb },
      )
    }
    if (name === 'password' || name === 'current_password') {
      return fc.oneof(
        { weight: 4, arbitrary: fc.constant(null).map(() => `Pw-${unique('x')}-9z`) },
        { weight: 2, arbitrary: fc.constant(PASSWORD) },
        { weight: 1, arbitrary: fc.constantFrom('password', '12345678', 'short') },
        { weight: 1, arbitrary: stringArb },
      )
    }
    if (name === 'phone')
      return fc.oneof(
        fc.constantFrom('+1 (555) 123-4567', '555-1234', '+', '+1234567890123456', '[0]1234567'),
        stringArb,
      )
    if (name === 'refresh')
      return fc.oneof(
        fc.nat().map((i) => pools.refresh[i % Math.max(1, pools.refresh.length)] ?? 'x'),
        fc.constantFrom('a.b.c', ''),
        stringArb,
      )
    if (/minutes$/.test(name)) return fc.oneof(fc.integer({ min: -5, max: 600 }), intArb)
    return undefined
  }

  const valueArb = (raw: JsonSchema, name: string, depth: number): fc.Arbitrary<unknown> => {
    const s = deref(doc, raw)
    let base: fc.Arbitrary<unknown> = hinted(name) ?? typedArb(s, name, depth)
    if (s.nullable)
      base = fc.oneof({ weight: 6, arbitrary: base }, { weight: 1, arbitrary: fc.constant(null) })
    return fc.oneof({ weight: 8, arbitrary: base }, { weight: 1, arbitrary: junkArb })
  }

  const typedArb = (s: JsonSchema, name: string, depth: number): fc.Arbitrary<unknown> => {
    if (s.enum) return fc.constantFrom(...s.enum)
    if (s.anyOf) return fc.oneof(...s.anyOf.map((b) => valueArb(b, name, depth + 1)))
    switch (s.type) {
      case 'string':
        return s.format === 'date-time' ? dateTimeArb : stringArb
      case 'integer':
        return intArb
      case 'number':
        return fc.oneof(intArb, fc.double({ noNaN: true, noDefaultInfinity: true }))
      case 'boolean':
        return fc.oneof(
          { weight: 4, arbitrary: fc.boolean() },
          { weight: 1, arbitrary: fc.constantFrom<unknown>('true', 0, 1, 'false') },
        )
      case 'array':
        return depth > 3
          ? fc.constant([])
          : fc.array(valueArb(s.items ?? {}, name, depth + 1), { maxLength: 4 })
      case 'object':
        return depth > 3 ? fc.constant({}) : objectArb(s, depth + 1)
      default:
        return junkArb
    }
  }

  const objectArb = (s: JsonSchema, depth: number): fc.Arbitrary<Record<string, unknown>> => {
    const props = Object.entries(s.properties ?? {})
    const required = new Set(s.required ?? [])
    const fields = props.map(([k, p]) =>
      fc.option(valueArb(p, k, depth), { nil: MISSING, freq: required.has(k) ? 12 : 2 }),
    )
    const extra = fc.option(fc.dictionary(fc.string({ maxLength: 12 }), junkArb, { maxKeys: 3 }), {
      nil: undefined,
      freq: 3,
    })
    return fc.tuple(fc.tuple(...fields), extra).map(([values, more]) => {
      const o: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(more ?? {}))
        Object.defineProperty(o, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        })
      props.forEach(([k], i) => {
        if (values[i] !== MISSING)
          Object.defineProperty(o, k, {
            value: values[i],
            enumerable: true,
            writable: true,
            configurable: true,
          })
      })
      return o
    })
  }

  /**
   * Half the time, a plausible booking: a future start, an end a sensible length after it,
   * a real barber and service; so requests get past validation into the deeper code.
   */
  const cohere = (a: fc.Arbitrary<Record<string, unknown>>) =>
    fc
      .tuple(
        a,
        fc.boolean(),
        fc.constantFrom(15, 30, 45, 60, 4, 481, -30),
        nearInstant,
        fc.nat(),
        fc.nat(),
        fc.nat(3),
      )
      .map(([o, fix, minutes, at, si, vi, mode]) => {
        if (!fix || !('start_time' in o)) return o
        const start = at.getTime() + 7 * 86_400_000
        o.start_time = new Date(start).toISOString()
        if ('end_time' in o || mode === 0)
          o.end_time = new Date(start + minutes * 60_000).toISOString()
        if ('staff' in o && pools.staff.length) o.staff = pools.staff[si % pools.staff.length]
        if ('service' in o)
          o.service =
            mode === 1 ? null : (pools.services[vi % Math.max(1, pools.services.length)] ?? null)
        return o
      })

  const bodyArb: fc.Arbitrary<unknown> = op.body
    ? fc.oneof(
        { weight: 60, arbitrary: cohere(objectArb(deref(doc, op.body), 0)) },
        { weight: 5, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constant({ notes: OVER_LIMIT, name: OVER_LIMIT }) },
      )
    : fc.constant(undefined)

  const queryValueArb = (p: Parameter): fc.Arbitrary<string | string[]> => {
    const s = deref(doc, p.schema)
    if (/^(date|from|to|start_after|start_before)$/.test(p.name))
      return fc.oneof(dateArb, dateTimeArb)
    if (p.name === 'status' && s.anyOf) {
      const one = fc.oneof(
        fc.constantFrom(
          'pending',
          'confirmed',
          'completed',
          'cancelled',
          'no_show',
          'pending,confirmed',
          'pending,,x',
        ),
        stringArb,
      )
      return fc.oneof(one, fc.array(one, { minLength: 1, maxLength: 4 }))
    }
    const asInt = fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: -2, max: 300 }).map(String) },
      { weight: 2, arbitrary: fc.nat().map((i) => String(pools.pick(i))) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          '0',
          '-1',
          '1.5',
          '1e3',
          '1e400',
          '2147483648',
          '9007199254740991',
          '9007199254740993',
          '99999999999999999999',
          'abc',
          '',
          ' 1',
          '0x10',
          'Infinity',
          '١',
        ),
      },
    )
    if (s.enum)
      return fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...s.enum.map(String)) },
        { weight: 1, arbitrary: stringArb },
      )
    if (s.type === 'integer' || s.type === 'number')
      return fc.oneof({ weight: 4, arbitrary: asInt }, { weight: 1, arbitrary: stringArb })
    if (s.type === 'boolean') return fc.constantFrom('true', 'false', 'True', '1', '0', 'yes', '')
    return stringArb
  }

  const queryParams = op.parameters.filter((p) => p.in === 'query')
  const rawQueries = [
    '%',
    'a=%zz',
    'page=1&page=2',
    '&&&',
    '=',
    'page[]=1',
    'page[a]=1',
    '__proto__[x]=1',
    'constructor[prototype][x]=1',
    'page_size=100&page=999999999',
  ]
  const queryArb: fc.Arbitrary<string> = fc.oneof(
    {
      weight: 12,
      arbitrary: fc
        .tuple(
          fc.tuple(
            ...queryParams.map((p) =>
              fc.option(queryValueArb(p), { nil: undefined, freq: p.required ? 12 : 2 }),
            ),
          ),
          fc.option(
            fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 2 }),
            { nil: undefined, freq: 4 },
          ),
        )
        .map(([values, extra]) => {
          const q = new URLSearchParams()
          queryParams.forEach((p, i) => {
            const v = values[i]
            if (v === undefined) return
            for (const one of Array.isArray(v) ? v : [v]) q.append(p.name, one)
          })
          for (const [k, v] of Object.entries(extra ?? {})) q.append(k, v)
          const s = q.toString()
          return s ? `?${s}` : ''
        }),
    },
    { weight: 1, arbitrary: fc.constantFrom(...rawQueries).map((q) => `?${q}`) },
  )

  const pathIdArb: fc.Arbitrary<string> = fc
    .oneof(
      { weight: 6, arbitrary: fc.nat().map((i) => String(pools.pick(i))) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 300 }).map(String) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          '0',
          '-1',
          '2147483647',
          '2147483648',
          '4294967296',
          '9007199254740993',
          '1e3',
          '1.5',
          '0x1f',
          '01',
          ' 1',
          '1 ',
          '+1',
          'abc',
          'null',
          'NaN',
          'Infinity',
          '%00',
          'me',
          '[]',
          '{}',
          'true',
          '١٢٣',
          '１',
          '1;DROP',
          "1' OR '1'='1",
        ),
      },
      { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }) },
      { weight: 1, arbitrary: fc.integer({ min: 190, max: 400 }).map((n) => '9'.repeat(n)) },
    )
    .map((s) => encodeURIComponent(s))
  /** Segments sent as they are: bad percent-encoding and the like (not dot segments: those name another route). */
  const rawPathIdArb = fc.constantFrom(
    '%zz',
    '%',
    '1%',
    '%E0%A4%A',
    '%C0%AF',
    '%00',
    '%FF',
    '1;x=y',
    '1,2',
    '%2F',
  )

  const headerParams = op.parameters.filter((p) => p.in === 'header')
  const headersArb = fc
    .tuple(...headerParams.map(() => fc.option(headerValueArb, { nil: undefined, freq: 2 })))
    .map((values) => {
      const h: Record<string, string> = {}
      headerParams.forEach((p, i) => {
        if (values[i] !== undefined) h[p.name] = values[i]
      })
      return h
    })

  const whoArb = fc.oneof(
    { weight: 3, arbitrary: fc.constant<Who>('anonymous') },
    { weight: 4, arbitrary: fc.constant<Who>('admin') },
    { weight: 4, arbitrary: fc.constant<Who>('customer') },
    { weight: 2, arbitrary: fc.constant<Who>('staff') },
    { weight: 1, arbitrary: fc.constant<Who>('bad-token') },
  )

  const hasId = op.path.includes('{id}')
  return fc
    .record({
      who: whoArb,
      id: hasId
        ? fc.oneof({ weight: 20, arbitrary: pathIdArb }, { weight: 1, arbitrary: rawPathIdArb })
        : fc.constant(undefined),
      query: queryArb,
      headers: headersArb,
      body: bodyArb,
      remoteAddress: ipArb,
    })
    .map(({ who, id, query, headers, body, remoteAddress }): FuzzRequest => ({
      who,
      id,
      url: op.path.replace('{id}', id ?? '') + query,
      headers,
      body,
      remoteAddress,
    }))
}

/* ---------------------------------------------------------------- checks */

function describeRequest(op: Operation, r: FuzzRequest): string {
  const body = r.body === undefined ? '' : JSON.stringify(r.body)
  const headers = Object.keys(r.headers).length ? ` headers=${JSON.stringify(r.headers)}` : ''
  return `${op.method} ${r.url.length > 200 ? `${r.url.slice(0, 200)}…` : r.url} as ${r.who}${headers} body=${body.length > 300 ? `${body.slice(0, 300)}… (${body.length} chars)` : body}`
}

/** A body the server can parse (so authentication is the first thing that can fail). */
function parseableBody(body: unknown): boolean {
  if (body === undefined) return true
  const text = JSON.stringify(body)
  if (text.length > BODY_LIMIT) return false
  return !/"(__proto__|constructor)"\s*:/.test(text)
}

/** The path reaches the documented route (empty, dot and over-long segments do not). */
function routable(r: FuzzRequest): boolean {
  if (r.id === undefined) return true
  let decoded: string
  try {
    decoded = decodeURIComponent(r.id)
  } catch {
    return false
  }
  return (
    r.id.length > 0 &&
    r.id.length <= 200 &&
    decoded !== '.' &&
    decoded !== '..' &&
    r.id !== '.' &&
    r.id !== '..'
  )
}

function fieldNames(op: Operation): Set<string> {
  const names = new Set(['non_field_errors'])
  for (const p of op.parameters) names.add(p.name)
  names.add('Idempotency-Key')
  if (op.body) for (const k of Object.keys(deref(doc, op.body).properties ?? {})) names.add(k)
  return names
}

function checkResponse(op: Operation, r: FuzzRequest, res: LightMyRequestResponse): string[] {
  const problems: string[] = []
  const status = res.statusCode
  if (status >= 500) problems.push(`server error ${status}`)
  let body: unknown
  const documented = op.mediaTypes[String(status)] ?? []
  if (status === 204) {
    if (res.payload !== '') problems.push('204 with a body')
  } else if (status < 300 && documented.length > 0 && !documented.includes('application/json')) {
    // A success documented as another media type (calendar.ics): that type, and no JSON.
    const type = String(res.headers['content-type'] ?? '')
    if (!documented.some((m) => type.startsWith(m)))
      problems.push(`content-type "${type}" on ${status}, documented ${documented.join(', ')}`)
  } else {
    const type = String(res.headers['content-type'] ?? '')
    if (!type.startsWith('application/json')) problems.push(`content-type "${type}" on ${status}`)
    try {
      body = JSON.parse(res.payload)
    } catch {
      problems.push(`body of ${status} is not JSON`)
      return problems
    }
  }
  if (status >= 400 && status < 500) {
    if (status === 400) {
      if (isFieldErrors(body)) {
        const known = fieldNames(op)
        const unknownKeys = Object.keys(body as object).filter((k) => !known.has(k.split('.')[0]!))
        if (unknownKeys.length)
          problems.push(`400 names fields the request does not have: ${unknownKeys.join(', ')}`)
      } else if (!isErrorBody(body)) {
        problems.push('400 body is neither {detail, code} nor a field → [messages] map')
      }
    } else if (!isErrorBody(body)) {
      problems.push(`${status} body is not exactly {detail, code}`)
    }
    if (status === 429 && !/^[1-9]\d*$/.test(String(res.headers['retry-after'] ?? '')))
      problems.push('429 without a valid Retry-After')
  }
  if (status >= 200 && status < 300) {
    if (!(String(status) in op.responses)) problems.push(`undocumented success status ${status}`)
    else {
      const schema = op.responses[String(status)]
      if (schema && status !== 204) {
        const errs = validate(doc, schema, body)
        if (errs.length)
          problems.push(`${status} body does not match its schema: ${errs.slice(0, 3).join('; ')}`)
      }
    }
  }
  // A URL the router cannot even decode is refused (400) before any route, token or not.
  // Health probes never look at credentials (API.md, Operations).
  if (
    r.who === 'bad-token' &&
    routable(r) &&
    !op.path.startsWith('/health/') &&
    (status !== 401 || (body as { code?: string })?.code !== 'token_not_valid')
  ) {
    problems.push(
      `a bad token got ${status} ${(body as { code?: string })?.code ?? ''} instead of 401 token_not_valid`,
    )
  }
  if (op.secured && r.who === 'anonymous' && routable(r) && parseableBody(r.body)) {
    if (status !== 401 || (body as { code?: string })?.code !== 'not_authenticated') {
      problems.push(
        `protected operation answered ${status} without a token (expected 401 not_authenticated)`,
      )
    }
  }
  return problems
}

interface Violation {
  count: number
  example: string
  status: number
  response: string
}

/* ---------------------------------------------------------------- the run */

for (const engine of await dialects()) {
  describe(`${engine}: OpenAPI fuzz (seed ${SEED})`, () => {
    const runs = runsFor(engine)
    let t: TestApp
    const pools = new Pools()
    const who: Record<'admin' | 'customer' | 'staff', TestUser> = {} as never
    const histograms: Record<string, Record<number, number>> = {}
    let reservationDay = 0
    let refreshUses = 0
    const fixtures = { reservation: 0, timeOff: 0, service: 0, outbox: 0 }

    async function reservationFixture(): Promise<void> {
      const barber = await t.user({ staff: true })
      for (let attempt = 0; attempt < 5; attempt++) {
        reservationDay += 1
        const start = new Date(Date.now() + (2 + (reservationDay % 80)) * 86_400_000)
        start.setUTCHours(8 + (reservationDay % 10), 0, 0, 0)
        const res = await t.req('POST', '/api/reservations/', {
          user: who.admin,
          body: {
            customer: who.customer.id,
            staff: barber.id,
            start_time: start.toISOString(),
            end_time: new Date(start.getTime() + 30 * 60_000).toISOString(),
          },
        })
        if (res.statusCode === 201) {
          const id = res.json<{ id: number }>().id
          pools.ids.push(id, barber.id)
          pools.staff.push(barber.id)
          fixtures.reservation ||= id
          return
        }
      }
    }

    async function timeOffFixture(): Promise<void> {
      const start = new Date(Date.now() - (5 + pools.ids.length) * 86_400_000)
      const res = await t.req('POST', '/api/time-off/', {
        user: who.admin,
        body: {
          staff: who.staff.id,
          start_time: start.toISOString(),
          end_time: new Date(start.getTime() + 3600_000).toISOString(),
          reason: 'fixture',
        },
      })
      if (res.statusCode === 201) {
        const id = res.json<{ id: number }>().id
        pools.ids.push(id)
        fixtures.timeOff ||= id
      }
    }

    /** The fuzz may delete, deactivate or demote the accounts it runs as: put them back. */
    async function repairIdentities(): Promise<void> {
      const ids = [who.admin.id, who.customer.id, who.staff.id]
      const rows = await t.database.db
        .selectFrom('users')
        .select(['id', 'is_admin', 'is_staff_member', 'is_active'])
        .where('id', 'in', ids)
        .execute()
      const fine = (u: TestUser, admin: boolean, staff: boolean) => {
        const r = rows.find((x) => x.id === u.id)
        return (
          r !== undefined &&
          toBool(r.is_active) &&
          toBool(r.is_admin) === admin &&
          toBool(r.is_staff_member) === staff
        )
      }
      const replace = async (role: 'admin' | 'customer' | 'staff') => {
        who[role] = await t.user({ admin: role === 'admin', staff: role === 'staff' })
        pools.ids.push(who[role].id)
        pools.usernames.push(who[role].username)
        if (role === 'staff') pools.staff.push(who[role].id)
      }
      if (!fine(who.admin, true, false)) await replace('admin')
      if (!fine(who.customer, false, false)) await replace('customer')
      if (!fine(who.staff, false, true)) await replace('staff')
    }

    async function replenish(): Promise<void> {
      if (pools.ids.length > 400) pools.ids.splice(0, 100)
      await reservationFixture()
      const service = await t.service()
      pools.ids.push(service)
      pools.services.push(service)
    }

    const tokenOf = (w: Who): string | undefined =>
      w === 'anonymous' ? undefined : w === 'bad-token' ? 'not.a.valid-token' : who[w].token

    /** How long each response took (a request that ties the server up is a finding too). */
    const elapsed = new WeakMap<LightMyRequestResponse, number>()

    async function send(op: Operation, r: FuzzRequest): Promise<LightMyRequestResponse> {
      const headers: Record<string, string> = { ...r.headers }
      const token = tokenOf(r.who)
      if (token) headers.authorization = `Bearer ${token}`
      if (r.body !== undefined) headers['content-type'] = 'application/json'
      const started = performance.now()
      const res = await t.app.inject({
        method: op.method as 'GET',
        url: r.url,
        headers,
        remoteAddress: r.remoteAddress,
        ...(r.body !== undefined ? { payload: JSON.stringify(r.body) } : {}),
      })
      elapsed.set(res, performance.now() - started)
      return res
    }

    /** Checks a response, records what is wrong, and puts back what the request broke. */
    async function afterRequest(
      op: Operation,
      r: FuzzRequest,
      res: LightMyRequestResponse,
      violations: Map<string, Violation>,
    ) {
      const problems = checkResponse(op, r, res)
      const ms = elapsed.get(res) ?? 0
      if (ms > SLOW_MS) problems.push(`slow response: over ${SLOW_MS / 1000} s`)
      for (const problem of problems) {
        const kind = `${op.key}: ${problem}`.slice(0, 240)
        const v = violations.get(kind)
        if (v) v.count += 1
        else
          violations.set(kind, {
            count: 1,
            example: `${describeRequest(op, r)} (${Math.round(ms)} ms)`,
            status: res.statusCode,
            response: res.payload.slice(0, 300),
          })
      }
      if (op.path.startsWith('/api/users/') && op.method !== 'GET') await repairIdentities()
      if (op.method === 'DELETE' && res.statusCode === 204) await replenish()
      // Refresh tokens get spent and revoked: keep a few live ones in the pool.
      if (
        (op.key === 'POST /api/auth/refresh/' || op.key === 'POST /api/auth/logout/') &&
        ++refreshUses % 10 === 0
      ) {
        const login = await t.req('POST', '/api/auth/login/', {
          body: { username: who.customer.username, password: who.customer.password },
        })
        if (login.statusCode === 200) pools.refresh.push(login.json<{ refresh: string }>().refresh)
        if (pools.refresh.length > 50) pools.refresh.splice(0, 25)
      }
      if (op.key === 'POST /api/auth/refresh/' && res.statusCode === 200)
        pools.refresh.push(res.json<{ refresh: string }>().refresh)
    }

    function reportOf(violations: Map<string, Violation>): string[] {
      return [...violations.entries()].map(
        ([kind, v]) =>
          `${kind} (×${v.count})\n    e.g. ${v.example}\n    → ${v.status} ${v.response}`,
      )
    }

    beforeAll(async () => {
      t = await startApp(engine, { jobs: false })
      const served = (await t.req('GET', '/api/schema/')).json<OpenApiDoc>()
      expect(served, 'the document differs between engines').toEqual(doc)
      who.admin = await t.user({ admin: true })
      who.customer = await t.user()
      who.staff = await t.user({ staff: true })
      pools.ids.push(who.admin.id, who.customer.id, who.staff.id)
      pools.usernames.push(who.admin.username, who.customer.username, who.staff.username)
      for (let i = 0; i < 3; i++) {
        const service = await t.service({ active: i !== 2 })
        pools.ids.push(service)
        pools.services.push(service)
      }
      pools.staff.push(who.staff.id)
      fixtures.service = pools.services[0]!
      for (let i = 0; i < 5; i++) await reservationFixture()
      for (let i = 0; i < 3; i++) await timeOffFixture()
      const outbox = await t.database.db.selectFrom('outbox').select('id').execute()
      pools.ids.push(...outbox.map((o) => o.id))
      fixtures.outbox = outbox[0]?.id ?? 1
      for (let i = 0; i < 4; i++) {
        const login = await t.req('POST', '/api/auth/login/', {
          body: { username: who.customer.username, password: who.customer.password },
        })
        pools.refresh.push(login.json<{ refresh: string }>().refresh)
      }
    }, 120_000)

    afterAll(async () => {
      const lines = Object.entries(histograms).map(
        ([op, h]) =>
          `  ${op.padEnd(42)} ${Object.entries(h)
            .map(([s, n]) => `${s}×${n}`)
            .join(' ')}`,
      )
      console.log(
        `${engine}: responses per operation (${runs} requests each, seed ${SEED})\n${lines.join('\n')}`,
      )
      await t?.close()
    })

    it('covers every documented operation', () => {
      expect(operations.length).toBeGreaterThan(30)
      for (const op of operations) expect(op.responses, op.key).not.toEqual({})
    })

    it('answers 401 not_authenticated to every protected operation without a token', async () => {
      const wrong: string[] = []
      for (const op of operations.filter((o) => o.secured)) {
        const url = op.path.replace('{id}', String(who.customer.id))
        const res = await t.req(op.method, url, op.body ? { body: {} } : {})
        const body = res.json<{ code?: string }>()
        if (res.statusCode !== 401 || body.code !== 'not_authenticated')
          wrong.push(`${op.key} → ${res.statusCode} ${res.payload}`)
        else if (!res.headers['www-authenticate'])
          wrong.push(`${op.key} → 401 without WWW-Authenticate`)
      }
      expect(wrong).toEqual([])
    })

    it('authenticates before reading the body: no token is 401 even with a malformed, non-JSON or oversized body (DRF order)', async () => {
      const payloads: [string, string, string][] = [
        ['malformed JSON', 'application/json', '{"start_time": '],
        ['text/plain', 'text/plain', 'hello'],
        ['form', 'application/x-www-form-urlencoded', 'a=b'],
        ['prototype key', 'application/json', '{"__proto__": {"x": 1}}'],
        ['over 1 MiB', 'application/json', JSON.stringify({ notes: OVER_LIMIT })],
      ]
      const wrong: string[] = []
      for (const op of operations.filter((o) => o.secured && o.body)) {
        const url = op.path.replace('{id}', String(who.customer.id))
        for (const [label, type, payload] of payloads) {
          const res = await t.app.inject({
            method: op.method as 'POST',
            url,
            headers: { 'content-type': type },
            payload,
          })
          if (res.statusCode !== 401)
            wrong.push(`${op.key} with ${label} → ${res.statusCode} ${res.payload.slice(0, 120)}`)
        }
      }
      expect(wrong).toEqual([])
    })

    it('survives the edge-case corpus in every body field, query parameter and path id', async () => {
      const violations = new Map<string, Violation>()
      const idFor = (path: string): number => {
        if (path.startsWith('/api/users/')) return who.customer.id
        if (path.startsWith('/api/staff/')) return who.staff.id
        if (path.startsWith('/api/services/')) return fixtures.service
        if (path.startsWith('/api/time-off/')) return fixtures.timeOff
        if (path.startsWith('/api/notifications/')) return fixtures.outbox
        return fixtures.reservation
      }
      const future = () => {
        reservationDay += 1
        const start = new Date(Date.now() + (3 + (reservationDay % 80)) * 86_400_000)
        start.setUTCHours(reservationDay % 24, 0, 0, 0)
        return start
      }
      const plausible = (name: string, start: Date): unknown => {
        switch (name) {
          case 'start_time':
            return start.toISOString()
          case 'end_time':
            return new Date(start.getTime() + 30 * 60_000).toISOString()
          case 'username':
            return unique('edge')
          case 'email':
            return `${unique('edge')}@example.com`
          case 'password':
            return `Pw-${unique('x')}-9z`
          case 'refresh':
            return pools.refresh[0] ?? 'x'
          case 'name':
            return 'Edge cut'
          case 'duration_minutes':
            return 30
          case 'price':
            return '25.00'
          case 'hours':
            return 'mon-fri 09:00-17:00'
          default:
            return 'x'
        }
      }
      const run = async (op: Operation, r: FuzzRequest) =>
        afterRequest(op, r, await send(op, r), violations)
      for (const op of operations) {
        const caller: Who =
          op.path.startsWith('/api/auth/') && op.path !== '/api/auth/me/' ? 'anonymous' : 'admin'
        const base = { who: caller, headers: {}, remoteAddress: '10.0.0.1' }
        const hasId = op.path.includes('{id}')
        const path = op.path.replace('{id}', String(idFor(op.path)))
        if (hasId) {
          for (const id of EDGE_IDS) {
            const enc = encodeURIComponent(id)
            await run(op, {
              ...base,
              id: enc,
              url: op.path.replace('{id}', enc),
              body: op.body ? {} : undefined,
            })
          }
        }
        const queryParams = op.parameters.filter((p) => p.in === 'query')
        const required = queryParams
          .filter((p) => p.required)
          .map((p): [string, string] => [p.name, new Date().toISOString().slice(0, 10)])
        for (const p of queryParams) {
          for (const value of EDGE_QUERY) {
            const q = new URLSearchParams([
              ...required.filter(([n]) => n !== p.name),
              [p.name, value],
            ])
            await run(op, {
              ...base,
              id: hasId ? '1' : undefined,
              url: `${path}?${q}`,
              body: op.body ? {} : undefined,
            })
          }
        }
        if (!op.body || op.method === 'DELETE') continue
        const schema = deref(doc, op.body)
        const props = Object.keys(schema.properties ?? {})
        const requiredBody = (start: Date) =>
          Object.fromEntries((schema.required ?? []).map((k) => [k, plausible(k, start)]))
        for (const field of props) {
          for (const value of EDGE_VALUES) {
            const body = { ...requiredBody(future()), [field]: value }
            await run(op, { ...base, id: hasId ? '1' : undefined, url: path, body })
          }
        }
        if (props.includes('start_time') && props.includes('end_time')) {
          for (const [start_time, end_time] of TIME_PAIRS) {
            await run(op, {
              ...base,
              id: hasId ? '1' : undefined,
              url: path,
              body: { ...requiredBody(future()), start_time, end_time },
            })
          }
        }
      }
      const report = reportOf(violations)
      expect(report, `edge-case corpus: contract violations\n${report.join('\n')}`).toEqual([])
    }, 300_000)

    for (const op of operations) {
      it(`${op.key}`, async () => {
        const violations = new Map<string, Violation>()
        const histogram: Record<number, number> = (histograms[op.key] = {})
        await fc.assert(
          fc.asyncProperty(makeArbitraries(op, pools), async (r) => {
            const res = await send(op, r)
            histogram[res.statusCode] = (histogram[res.statusCode] ?? 0) + 1
            await afterRequest(op, r, res, violations)
          }),
          { numRuns: runs, seed: SEED, endOnFailure: true },
        )
        const report = reportOf(violations)
        expect(
          report,
          `${op.key}: contract violations (FUZZ_SEED=${SEED})\n${report.join('\n')}`,
        ).toEqual([])
        if (op.secured) {
          const reached = Object.keys(histogram).some((s) => s !== '401')
          expect(reached, `${op.key}: no authenticated request got past authentication`).toBe(true)
        }
      }, 600_000)
    }
  })
}

/* ---------------------------------------------------------------- the HTTP edge */

/**
 * The edge a request crosses before any domain code: the Host header, the id in a path, the
 * query string, and the body's size and nesting, fuzzed across every route. Each answer is
 * checked (never a 5xx; 4xx in the contract's shapes; a Host that is not allowed is 400
 * bad_host and never appears in a link; an id that is not ASCII digits is 404), and so is
 * the event-loop time each request takes: a request that holds the loop for
 * EDGE_LOOP_BUDGET_MS stalls every other client of the process.
 *
 * Event-loop time is measured around each app.inject as the smaller of the loop's busy time
 * (performance.eventLoopUtilization: not time spent waiting for a database or a hashing
 * thread, but time the OS gave to other processes while busy) and the process's CPU time
 * (process.cpuUsage: not time descheduled, but other threads' work). A request over budget
 * is sent twice more and judged by its fastest run: one that really holds the loop is slow
 * every time, a machine's hiccup is not.
 */
const EDGE_RUNS = Number(process.env.FUZZ_EDGE_RUNS) || 150
const EDGE_LOOP_BUDGET_MS = 100

const charsIn = (min: number, max: number) =>
  fc
    .array(fc.integer({ min, max }), { maxLength: 40 })
    .map((codes) => String.fromCharCode(...codes))

const hostArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'localhost',
      'localhost:8000',
      'LOCALHOST.',
      '127.0.0.1',
      '127.0.0.1:65535',
      '[::1]',
      '[::1]:8000',
      'book.shop.test',
      'shop.test',
      'evil.test',
      'shop.test.evil.test',
      'evilshop.test',
      ' ',
      'a b',
      'localhost:99999',
      'localhost:-1',
      'localhost:80:80',
      'localhost:',
      ':80',
      '[::1',
      '[::g]',
      '999999999999',
      '1.2.3.256',
      'user@localhost',
      'localhost/x',
      'localhost?x',
      'localhost#x',
      '%6cocalhost',
      'xn--nxasmq6b.test',
      '.',
      '..',
      '-',
      '_',
      'a'.repeat(300),
      `${'a.'.repeat(2000)}test`,
    ),
  },
  { weight: 2, arbitrary: fc.domain() },
  { weight: 1, arbitrary: fc.ipV4() },
  { weight: 1, arbitrary: fc.ipV6().map((ip) => `[${ip}]`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('localhost', 'shop.test', 'evil.test'),
        fc.integer({ min: 0, max: 200_000 }),
      )
      .map(([h, p]) => `${h}:${p}`),
  },
  { weight: 2, arbitrary: charsIn(0x21, 0x7e) },
  { weight: 1, arbitrary: charsIn(0x80, 0xff) },
)

const edgeIdArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 40 }).map(String) },
  { weight: 2, arbitrary: fc.stringMatching(/^[0-9]{1,40}$/) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom('0x', '0b', '0o', '+', '-', ' ', '\t', '00', ''),
        fc.constantFrom('', 'e0', '.0', '.', ' ', 'n', '_0', '%00'),
      )
      .map(([n, pre, post]) =>
        pre === '0x'
          ? `0x${n.toString(16)}${post}`
          : pre === '0b'
            ? `0b${n.toString(2)}${post}`
            : `${pre}${n}${post}`,
      ),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 40 })
      .map((n) => [...String(n)].map((d) => String.fromCharCode(0xff10 + Number(d))).join('')),
  },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }) },
)

const queryValueArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: -5, max: 200 }).map(String) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '100000000000000000000',
      '461168601842738790',
      '9223372036854775807',
      '9223372036854775808',
      '18446744073709551616',
      '1e400',
      '-0',
      '0x10',
      '１',
      '\u0000',
      '%',
      '',
      'true',
      'name,-name,id',
      '-start_time',
      'x'.repeat(5000),
      '9'.repeat(400),
      '9999-12-31',
      '0001-01-01',
    ),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
)

/** A JSON text of a chosen shape and size: the body's bytes, built directly (fast). */
type BodyShape =
  | { kind: 'nested'; depth: number; open: '[' | '{"a":'; field: string | null }
  | { kind: 'string'; size: number; field: string }
  | { kind: 'keys'; count: number }
  | { kind: 'array'; count: number; field: string | null }
  | { kind: 'number'; digits: number; field: string }

function bodyText(shape: BodyShape): string {
  const wrap = (field: string | null, value: string) =>
    field === null ? value : `{${JSON.stringify(field)}: ${value}}`
  switch (shape.kind) {
    case 'nested': {
      const close = shape.open === '[' ? ']' : '}'
      return wrap(shape.field, `${shape.open.repeat(shape.depth)}1${close.repeat(shape.depth)}`)
    }
    case 'string':
      return wrap(shape.field, `"${'s'.repeat(shape.size)}"`)
    case 'keys':
      return `{${Array.from({ length: shape.count }, (_, i) => `"k${i}":0`).join(',')}}`
    case 'array':
      return wrap(shape.field, `[${'0,'.repeat(Math.max(0, shape.count - 1))}0]`)
    case 'number':
      return wrap(shape.field, '9'.repeat(shape.digits))
  }
}

const sizeArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 2000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 2000, max: 200_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 200_000, max: BODY_LIMIT + 1000 }) },
  { weight: 1, arbitrary: fc.constantFrom(BODY_LIMIT - 40, BODY_LIMIT - 10, BODY_LIMIT + 1) },
)

function bodyShapeArb(fields: string[]): fc.Arbitrary<BodyShape> {
  const field = fc.constantFrom(...fields, 'unknown_field')
  return fc.oneof(
    fc.record({
      kind: fc.constant('nested' as const),
      depth: fc.oneof(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 70, max: 300_000 }),
        fc.constantFrom(63, 64, 65, 100_000),
      ),
      open: fc.constantFrom('[' as const, '{"a":' as const),
      field: fc.option(field, { nil: null }),
    }),
    fc.record({ kind: fc.constant('string' as const), size: sizeArb, field }),
    fc.record({
      kind: fc.constant('keys' as const),
      count: sizeArb.map((n) => Math.ceil(n / 6)),
    }),
    fc.record({
      kind: fc.constant('array' as const),
      count: sizeArb.map((n) => Math.ceil(n / 2)),
      field: fc.option(field, { nil: null }),
    }),
    fc.record({
      kind: fc.constant('number' as const),
      digits: fc.integer({ min: 1, max: 5000 }),
      field,
    }),
  )
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor(s.length / 2)]! : 0
}

for (const engine of await dialects()) {
  describe(`${engine}: edge fuzz — Host, path ids, query, body size and nesting (seed ${SEED})`, () => {
    let t: TestApp
    let app: Awaited<ReturnType<typeof buildApp>>
    let admin: TestUser
    let customer: TestUser
    const allowedHosts = ['localhost', '127.0.0.1', '[::1]', '.shop.test']
    /** Event-loop time of every request (fastest of its runs), per property. */
    const loop: Record<string, number[]> = {}

    beforeAll(async () => {
      t = await startApp(engine, { jobs: false })
      // The production rule (an explicit list), so foreign hosts are refused.
      app = await buildApp({ ...t.runtime.ctx, config: { ...t.config, allowedHosts } })
      admin = await t.user({ admin: true })
      customer = await t.user()
      for (let i = 0; i < 3; i++) await t.user({ staff: true })
      for (let i = 0; i < 3; i++) await t.service()
    }, 120_000)

    afterAll(async () => {
      const lines = Object.entries(loop).map(
        ([name, ms]) =>
          `  ${name.padEnd(12)} ${ms.length} requests, event-loop time median ${median(ms).toFixed(2)} ms, max ${Math.max(...ms).toFixed(1)} ms`,
      )
      console.log(
        `${engine}: edge fuzz (budget ${EDGE_LOOP_BUDGET_MS} ms per request)\n${lines.join('\n')}`,
      )
      await app?.close()
      await t?.close()
    })

    interface EdgeRequest {
      method: string
      url: string
      headers: Record<string, string>
      payload?: string
    }

    async function loopTimed(r: EdgeRequest): Promise<{ res: LightMyRequestResponse; ms: number }> {
      const busy = performance.eventLoopUtilization()
      const cpu = process.cpuUsage()
      const res = await app.inject({
        method: r.method as 'GET',
        url: r.url,
        headers: r.headers,
        ...(r.payload !== undefined ? { payload: r.payload } : {}),
      })
      const used = process.cpuUsage(cpu)
      // Each bounds the loop's own time from above: busy time also counts moments the OS
      // ran other processes (a loaded machine), CPU time also counts other threads'.
      return {
        res,
        ms: Math.min(
          performance.eventLoopUtilization(busy).active,
          (used.user + used.system) / 1000,
        ),
      }
    }

    /** Sends, checks the contract's shapes, and records the event-loop time. */
    async function edgeSend(
      name: string,
      r: EdgeRequest,
      problems: Map<string, string>,
      expectStatus?: (status: number, body: unknown) => string | null,
    ): Promise<LightMyRequestResponse> {
      const first = await loopTimed(r)
      const res = first.res
      let ms = first.ms
      for (let retry = 0; retry < 2 && ms > EDGE_LOOP_BUDGET_MS; retry++)
        ms = Math.min(ms, (await loopTimed(r)).ms)
      ;(loop[name] ??= []).push(ms)
      const what = `${r.method} ${r.url.slice(0, 120)} host=${JSON.stringify(r.headers.host?.slice(0, 60))} body=${r.payload?.slice(0, 60) ?? ''}${(r.payload?.length ?? 0) > 60 ? `… (${r.payload!.length} chars)` : ''}`
      const problem = (kind: string) => {
        if (!problems.has(kind))
          problems.set(kind, `${what} → ${res.statusCode} ${res.payload.slice(0, 200)}`)
      }
      if (ms > EDGE_LOOP_BUDGET_MS)
        problem(`${name}: over ${EDGE_LOOP_BUDGET_MS} ms of event-loop time (${ms.toFixed(0)} ms)`)
      if (res.statusCode >= 500) problem(`${name}: ${res.statusCode}`)
      let body: unknown
      // A success documented as another type (GET /metrics' Prometheus text, calendar.ics):
      // nothing to parse; errors are JSON everywhere.
      const json = String(res.headers['content-type'] ?? '').startsWith('application/json')
      if (res.statusCode < 300 && !json && res.statusCode !== 204) return res
      if (res.statusCode !== 204) {
        try {
          body = JSON.parse(res.payload)
        } catch {
          problem(`${name}: body of ${res.statusCode} is not JSON`)
          return res
        }
      }
      if (res.statusCode >= 400 && res.statusCode < 500 && !isErrorBody(body)) {
        if (!(res.statusCode === 400 && isFieldErrors(body)))
          problem(`${name}: ${res.statusCode} not in the contract's error shape`)
      }
      const wrong = expectStatus?.(res.statusCode, body)
      if (wrong) problem(`${name}: ${wrong}`)
      return res
    }

    const report = (problems: Map<string, string>) =>
      [...problems.entries()].map(([kind, example]) => `${kind}\n    e.g. ${example}`)

    const auth = (who: 'admin' | 'customer' | 'anonymous'): Record<string, string> =>
      who === 'anonymous'
        ? {}
        : { authorization: `Bearer ${(who === 'admin' ? admin : customer).token}` }

    it('Host: malformed or foreign is 400 bad_host on every route and never named in a link; probes answer', async () => {
      const problems = new Map<string, string>()
      const ops = operations.filter((op) => op.method === 'GET')
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...ops),
          hostArb,
          fc.constantFrom('admin' as const, 'anonymous' as const),
          async (op, host, who) => {
            const url = `${op.path.replace('{id}', String(customer.id))}?page_size=1`
            const res = await edgeSend(
              'host',
              { method: 'GET', url, headers: { host, ...auth(who) } },
              problems,
              (status, body) => {
                const parsed = hostOf(host)
                const allowed = host !== '' && parsed !== null && hostAllowed(parsed, allowedHosts)
                if (op.path.startsWith('/health/'))
                  return status === 200 ? null : `probe answered ${status}`
                if (!allowed && host !== '')
                  return status === 400 && (body as { code?: string }).code === 'bad_host'
                    ? null
                    : `host not allowed, answered ${status}`
                if (status === 400 && (body as { code?: string }).code === 'bad_host')
                  return 'an allowed host was refused'
                return null
              },
            )
            if (!String(res.headers['content-type'] ?? '').startsWith('application/json')) return
            const page = JSON.parse(res.payload) as { next?: unknown; previous?: unknown }
            for (const link of [page.next, page.previous]) {
              if (typeof link !== 'string') continue
              const linkHost = new URL(link).hostname
              if (!hostAllowed(linkHost.replace(/\.$/, ''), allowedHosts))
                problems.set('host: a link names a host that is not allowed', link)
            }
          },
        ),
        { numRuns: EDGE_RUNS * 2, seed: SEED },
      )
      const r = report(problems)
      expect(r, r.join('\n')).toEqual([])
    }, 300_000)

    it('path ids: anything but ASCII digits is 404 on every route with an id', async () => {
      const problems = new Map<string, string>()
      const ops = operations.filter((op) => op.path.includes('{id}'))
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...ops), edgeIdArb, async (op, id) => {
          const url = op.path.replace('{id}', encodeURIComponent(id))
          await edgeSend(
            'path ids',
            {
              method: op.method,
              url,
              headers: {
                ...auth('admin'),
                ...(op.body ? { 'content-type': 'application/json' } : {}),
              },
              ...(op.body ? { payload: '{}' } : {}),
            },
            problems,
            (status) =>
              // `.` and `..` are dot segments: the URL resolves them away before any route.
              /^[0-9]+$/.test(id) ||
              id === '.' ||
              id === '..' ||
              status === 404 ||
              (status === 400 && id.includes('\u0000'))
                ? null
                : `id ${JSON.stringify(id)} answered ${status}`,
          )
        }),
        { numRuns: EDGE_RUNS * 2, seed: SEED },
      )
      const r = report(problems)
      expect(r, r.join('\n')).toEqual([])
    }, 300_000)

    it('query parameters: documented and unknown names, huge and odd values, repeats', async () => {
      const problems = new Map<string, string>()
      const ops = operations.filter((op) => op.method === 'GET')
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...ops),
          fc.array(
            fc.tuple(
              fc.oneof(
                fc.constantFrom(
                  'page',
                  'page_size',
                  'ordering',
                  'staff',
                  'service',
                  'customer',
                  'status',
                  'date',
                  'is_active',
                  'search',
                ),
                fc.string({ minLength: 1, maxLength: 12 }),
              ),
              queryValueArb,
            ),
            { maxLength: 6 },
          ),
          fc.constantFrom('admin' as const, 'customer' as const, 'anonymous' as const),
          async (op, params, who) => {
            const query = new URLSearchParams(params).toString()
            const url = `${op.path.replace('{id}', String(customer.id))}${query ? `?${query}` : ''}`
            await edgeSend('query', { method: 'GET', url, headers: auth(who) }, problems)
          },
        ),
        { numRuns: EDGE_RUNS * 2, seed: SEED },
      )
      const r = report(problems)
      expect(r, r.join('\n')).toEqual([])
    }, 300_000)

    it('bodies: sizes up to past 1 MiB and nesting up to 300 000 levels, on every write', async () => {
      const problems = new Map<string, string>()
      const ops = operations.filter((op) => op.body && op.method !== 'DELETE')
      const arb = fc
        .constantFrom(...ops)
        .chain((op) =>
          fc.tuple(
            fc.constant(op),
            bodyShapeArb(Object.keys(deref(doc, op.body!).properties ?? {})),
            fc.constantFrom('admin' as const, 'anonymous' as const),
          ),
        )
      await fc.assert(
        fc.asyncProperty(arb, async ([op, shape, who]) => {
          const payload = bodyText(shape)
          const url = op.path.replace('{id}', String(customer.id))
          await edgeSend(
            'bodies',
            {
              method: op.method,
              url,
              headers: { ...auth(who), 'content-type': 'application/json' },
              payload,
            },
            problems,
            (status) => {
              if (op.secured && who === 'anonymous')
                return status === 401 ? null : `anonymous got ${status}`
              if (Buffer.byteLength(payload) > BODY_LIMIT)
                return status === 413 ? null : `over 1 MiB answered ${status}`
              if (shape.kind === 'nested' && shape.depth + (shape.field ? 1 : 0) > MAX_JSON_DEPTH)
                return status === 400 ? null : `nesting ${shape.depth} answered ${status}`
              if (
                (shape.kind === 'keys' || shape.kind === 'array') &&
                shape.count > MAX_JSON_VALUES
              )
                return status === 400 ? null : `${shape.count} values answered ${status}`
              return null
            },
          )
        }),
        { numRuns: EDGE_RUNS, seed: SEED },
      )
      const r = report(problems)
      expect(r, r.join('\n')).toEqual([])
    }, 600_000)
  })
}
