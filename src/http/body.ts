import fp from 'fastify-plugin'
import { ValidationFailed } from './errors.js'

/** Deeper than any body of the contract by far; deeper would only feed recursion further on. */
export const MAX_JSON_DEPTH = 64
/**
 * Values a body may hold (objects, arrays and the members between commas): the contract's
 * bodies hold a few dozen. Django caps form fields at 1000 (DATA_UPLOAD_MAX_NUMBER_FIELDS) for
 * the same reason: JSON.parse of a 1 MiB text of tiny objects or distinct keys (`[{},{},…]`,
 * `{"k0":0,"k1":0,…}`) holds the event loop for 200 ms; 10 000 values take a few.
 */
export const MAX_JSON_VALUES = 10_000

const NUL_REFUSED = () =>
  new ValidationFailed({ non_field_errors: ['Null characters are not allowed.'] })

export type JsonInspection = 'ok' | 'nul' | 'too_deep' | 'too_many'

const QUOTE_OR_BACKSLASH = /["\\]/g

/**
 * One linear pass over a JSON text, before it is parsed, stopping as soon as the text nests
 * past MAX_JSON_DEPTH or holds more than MAX_JSON_VALUES values; else whether a string (value
 * or key) holds an escaped NUL (`\u0000`). A raw NUL is no valid JSON: the parser refuses it.
 * Inside strings, brackets, commas and escaped backslashes are content, so `"\\u0000"` is six
 * ordinary characters.
 */
export function inspectJson(text: string): JsonInspection {
  let depth = 0
  let values = 0
  let nul = false
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      // To the closing quote; a backslash escapes the character after it. The regular
      // expression finds the next quote or backslash in native code (a character loop here
      // took ~25 ms for a 1 MB string on a slow machine; this takes ~1); `test` with /g
      // leaves lastIndex just past the match and allocates nothing.
      for (;;) {
        QUOTE_OR_BACKSLASH.lastIndex = i + 1
        if (!QUOTE_OR_BACKSLASH.test(text)) {
          i = n
          break
        }
        i = QUOTE_OR_BACKSLASH.lastIndex - 1
        if (text.charCodeAt(i) === 34) break
        if (text.charCodeAt(i + 1) === 117 /* u */ && text.startsWith('0000', i + 2)) nul = true
        i++
      }
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > MAX_JSON_DEPTH) return 'too_deep'
      if (++values > MAX_JSON_VALUES) return 'too_many'
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--
    } else if (c === 44 /* , */) {
      if (++values > MAX_JSON_VALUES) return 'too_many'
    }
  }
  return nul ? 'nul' : 'ok'
}

/**
 * Request bodies and query strings as DRF reads them: JSON only, an empty body is `{}`,
 * an empty filter is no filter, and NUL characters are refused anywhere. The JSON is
 * checked for depth and NUL in one pass over the text it arrives as (never serialised
 * again), so nothing downstream (validation, idempotency hashing, logging) meets a body
 * deep enough to overflow the stack.
 */
export const jsonBodies = fp(
  async (app) => {
    // Bodies are JSON only: text/plain is refused with 415 like any other type.
    app.removeContentTypeParser('text/plain')
    // An empty body sent as JSON is no body (DRF reads it as {}), not a parse error; anything
    // else goes to Fastify's own parser (prototype-poisoning checks included).
    const parseJson = app.getDefaultJsonParser('error', 'error')
    app.removeContentTypeParser('application/json')
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8')
      if (text === '') {
        done(null, undefined)
        return
      }
      const found = inspectJson(text)
      if (found === 'too_deep' || found === 'too_many') {
        const err = new SyntaxError(
          found === 'too_deep'
            ? `nesting deeper than ${MAX_JSON_DEPTH} levels`
            : `more than ${MAX_JSON_VALUES} values`,
        )
        Object.assign(err, { statusCode: 400 })
        done(err, undefined)
        return
      }
      void parseJson(req, text, (err, value) => {
        // NUL cannot be stored in PostgreSQL text and is never meaningful here (DRF refuses it too).
        if (!err && found === 'nul') done(NUL_REFUSED(), undefined)
        else done(err, value)
      })
    })

    // A write without a body is an empty object, so missing fields are named one by one.
    app.addHook('preValidation', (req, _reply, done) => {
      // django-filter skips a filter given an empty value (?staff=&status=): so do we. Not
      // ?page=, which DRF answers with 404 "Invalid page.".
      const query = req.query as Record<string, unknown> | undefined
      if (query && typeof query === 'object') {
        for (const [k, v] of Object.entries(query)) if (v === '' && k !== 'page') delete query[k]
      }
      if (
        req.body === undefined &&
        (req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH')
      ) {
        req.body = {}
      }
      if (req.url.includes('%00')) {
        done(NUL_REFUSED())
        return
      }
      done()
    })
  },
  { name: 'json-bodies' },
)
