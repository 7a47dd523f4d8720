import fp from 'fastify-plugin'
import { ValidationFailed } from './errors.js'

/**
 * Request bodies and query strings as DRF reads them: JSON only, an empty body is `{}`,
 * an empty filter is no filter, and NUL characters are refused anywhere.
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
      if (text === '') done(null, undefined)
      else void parseJson(req, text, done)
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
      // NUL cannot be stored in PostgreSQL text and is never meaningful here (DRF refuses it too).
      if (
        req.url.includes('%00') ||
        (req.body !== undefined && JSON.stringify(req.body).includes('\\u0000'))
      ) {
        done(new ValidationFailed({ non_field_errors: ['Null characters are not allowed.'] }))
        return
      }
      done()
    })
  },
  { name: 'json-bodies' },
)
