import fp from 'fastify-plugin'
import { ValidationFailed } from './errors.js'

/** Deeper than any body of the contract by far; deeper would only feed recursion further on. */
export const MAX_JSON_DEPTH = 64

const NUL_REFUSED = () =>
  new ValidationFailed({ non_field_errors: ['Null characters are not allowed.'] })

/**
 * One linear pass over a JSON text, before it is parsed: how deep it nests (`too_deep` as
 * soon as it passes MAX_JSON_DEPTH, so the walk stops early too) and whether a string (value
 * or key) holds an escaped NUL (`\u0000`). A raw NUL is no valid JSON: the parser refuses it.
 * Brackets and backslashes inside strings are skipped, so `"\\u0000"` (an escaped backslash,
 * then `u0000`) is six ordinary characters.
 */
export function inspectJson(text: string): 'too_deep' | 'nul' | 'ok' {
  let depth = 0
  let nul = false
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      // A string: jump from backslash to backslash up to its closing quote.
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i)
        if (d === 34) break
        if (d === 92 /* \ */) {
          if (
            text.charCodeAt(i + 1) === 117 /* u */ &&
            text.charCodeAt(i + 2) === 48 &&
            text.charCodeAt(i + 3) === 48 &&
            text.charCodeAt(i + 4) === 48 &&
            text.charCodeAt(i + 5) === 48
          )
            nul = true
          i++
        }
      }
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > MAX_JSON_DEPTH) return 'too_deep'
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--
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
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8')
      if (text === '') {
        done(null, undefined)
        return
      }
      const found = inspectJson(text)
      if (found === 'too_deep') {
        const err = new SyntaxError(`nesting deeper than ${MAX_JSON_DEPTH} levels`)
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
