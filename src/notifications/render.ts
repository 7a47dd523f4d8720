/**
 * Turns an email name plus its data into subject, HTML and plain text, using the Eta templates in
 * `email_templates/` so the shop owner can reword mails without touching code.
 *
 * Template conventions (see email_templates/README.md):
 * - `<name>.html.eta` is the HTML body, wrapped by render.ts in `layout.html.eta`; values printed
 *   with `<%= %>` are HTML-escaped.
 * - `<name>.txt.eta` is the plain-text alternative, wrapped in `layout.txt.eta`, never escaped.
 *   Its first line is `Subject: ...`, which becomes the subject and is not part of the text.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
import type { TemplateFunction } from 'eta'
import { DateTime, IANAZone } from 'luxon'

export type EmailName =
  | 'welcome'
  | 'reservation_created'
  | 'reservation_confirmed'
  | 'reservation_cancelled'
  | 'reservation_completed'
  | 'reservation_no_show'
  | 'reservation_reminder'
  | 'password_reset'

export const EMAIL_NAMES: readonly EmailName[] = [
  'welcome',
  'reservation_created',
  'reservation_confirmed',
  'reservation_cancelled',
  'reservation_completed',
  'reservation_no_show',
  'reservation_reminder',
  'password_reset',
]

export interface PersonView {
  username: string
  first_name: string
  last_name: string
  email: string
}

export interface ReservationView {
  id: number
  start_time: Date
  end_time: Date
  status: string
  notes: string
  cancelled_by: string | null
  cancellation_reason: string
}

/** What every reservation mail gets, whether it goes to the admin or to the customer. */
export interface ReservationEmailProps {
  customer: PersonView
  reservation: ReservationView
  service: { name: string; price: string } | null
  staff: PersonView | null
}

export interface EmailProps {
  welcome: { user: PersonView }
  reservation_created: ReservationEmailProps
  reservation_confirmed: ReservationEmailProps
  reservation_cancelled: ReservationEmailProps
  reservation_completed: ReservationEmailProps
  reservation_no_show: ReservationEmailProps
  reservation_reminder: ReservationEmailProps
  /** `link` opens the page that sets the new password; it works for `validMinutes`. */
  password_reset: { user: PersonView; link: string; validMinutes: number }
}

export interface RenderedEmail {
  subject: string
  html: string
  text: string
}

export interface Renderer {
  render<N extends EmailName>(name: N, props: EmailProps[N]): RenderedEmail
}

export interface RendererOptions {
  /** IANA zone of the shop; customers need the wall-clock time of the shop, not UTC. */
  timezone: string
  shopName?: string
  templatesDir?: string
}

const DEFAULT_SHOP_NAME = 'Fade District'
const SUBJECT_LINE = /^Subject:[ \t]*(.*)(?:\r?\n|$)/

/**
 * `<repo>/email_templates`. Found by walking up from this file because the file runs both as
 * src/notifications/render.ts (tsx, vitest) and as dist/src/notifications/render.js (after tsc),
 * which sit at different depths below the repository root.
 */
export function defaultTemplatesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = path.join(dir, 'email_templates')
    if (existsSync(path.join(candidate, 'layout.html.eta'))) return candidate
    const parent = path.dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  throw new Error(
    `email_templates/ not found in any parent directory of ${fileURLToPath(import.meta.url)}`,
  )
}

/**
 * Loads and compiles every template once, up front, and renders each mail once with sample data:
 * a broken or missing template (the owner may have edited one) then stops the process at start-up
 * instead of failing each send later. Template edits therefore need a restart.
 */
export function createRenderer(opts: RendererOptions): Renderer {
  const timezone = opts.timezone
  if (!IANAZone.isValidZone(timezone)) {
    throw new RangeError(`Unknown time zone ${JSON.stringify(timezone)}`)
  }
  const shopName = opts.shopName ?? DEFAULT_SHOP_NAME
  const dir = path.resolve(opts.templatesDir ?? defaultTemplatesDir())

  // Two engines because escaping is an engine setting: HTML must escape every `<%= %>`, while
  // the text part must keep `<b>` as `<b>`. `views` lets templates include partials; `cache`
  // keeps those partials compiled too. `debug` puts the template line into runtime errors.
  const common = {
    views: dir,
    cache: true,
    debug: true,
    autoTrim: false as const,
    plugins: [{ processTemplate: dropStandaloneTagLines }],
  }
  const htmlEta = new Eta({ ...common, autoEscape: true })
  const textEta = new Eta({ ...common, autoEscape: false })

  const read = (file: string): { source: string; filepath: string } => {
    const filepath = path.join(dir, file)
    try {
      // A BOM (some Windows editors add one) would hide the Subject: line.
      return { source: readFileSync(filepath, 'utf8').replace(/^\uFEFF/, ''), filepath }
    } catch (err) {
      throw new Error(`Email template ${filepath} cannot be read`, { cause: err })
    }
  }
  const compile = (eta: Eta, filepath: string, source: string): CompiledTemplate => {
    try {
      return { fn: eta.compile(source, { filepath }), filepath, eta }
    } catch (err) {
      throw new Error(`Email template ${filepath} does not compile`, { cause: err })
    }
  }
  const compileFile = (eta: Eta, file: string): CompiledTemplate => {
    const { source, filepath } = read(file)
    return compile(eta, filepath, source)
  }
  /**
   * The subject line is compiled on its own, before rendering: a value containing a line break
   * then cannot push part of the subject into the body, it is just folded into one line.
   */
  const compileText = (file: string): { subject: CompiledTemplate; body: CompiledTemplate } => {
    const { source, filepath } = read(file)
    const match = SUBJECT_LINE.exec(source)
    if (match === null) {
      throw new Error(`Email template ${filepath} must start with a "Subject: ..." line`)
    }
    return {
      subject: compile(textEta, filepath, match[1] ?? ''),
      // The blank first line keeps Eta's error line numbers matching the file.
      body: compile(textEta, filepath, '\n' + source.slice(match[0].length)),
    }
  }

  const htmlLayout = compileFile(htmlEta, 'layout.html.eta')
  const textLayout = compileFile(textEta, 'layout.txt.eta')
  const templates = new Map<
    EmailName,
    { html: CompiledTemplate; subject: CompiledTemplate; text: CompiledTemplate }
  >()
  for (const name of EMAIL_NAMES) {
    const { subject, body } = compileText(`${name}.txt.eta`)
    templates.set(name, { html: compileFile(htmlEta, `${name}.html.eta`), subject, text: body })
  }

  const fmt = formatters(timezone)

  const renderer: Renderer = {
    render<N extends EmailName>(name: N, props: EmailProps[N]): RenderedEmail {
      const pair = templates.get(name)
      if (pair === undefined) throw new RangeError(`Unknown email ${JSON.stringify(name)}`)

      const data: Record<string, unknown> = {
        ...props,
        ...fmt,
        ...(isReservationProps(props) ? reservationExtras(props, fmt) : {}),
        shopName,
        timezone,
        emailName: name,
      }

      // A subject is one header line: collapse anything (a newline in a name) that would break it.
      const subject = run(pair.subject, data).replace(/\s+/g, ' ').trim()
      if (subject === '') {
        throw new Error(`Email template ${pair.subject.filepath} renders an empty subject`)
      }
      const textBody = run(pair.text, data).replace(/^(?:[ \t]*\r?\n)+/, '')
      const htmlBody = run(pair.html, data)
      const withLayout = { ...data, subject }
      return {
        subject,
        html: run(htmlLayout, { ...withLayout, body: htmlBody }),
        text: normalizeText(run(textLayout, { ...withLayout, body: textBody })),
      }
    },
  }

  // Compiling catches syntax errors only; a typo such as `it.resevation.id` or a broken partial
  // shows up when rendering. Rendering each mail once with sample data moves that to start-up too.
  for (const name of EMAIL_NAMES) {
    try {
      renderer.render(name, SAMPLE_PROPS[name])
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err)
      throw new Error(`Email templates for "${name}" in ${dir} fail to render: ${detail}`, {
        cause: err,
      })
    }
  }
  return renderer
}

const SAMPLE_PERSON: PersonView = {
  username: 'sample',
  first_name: 'Sam',
  last_name: 'Ple',
  email: 'sample@example.com',
}
const SAMPLE_RESERVATION: ReservationEmailProps = {
  customer: SAMPLE_PERSON,
  reservation: {
    id: 1,
    start_time: new Date('2026-01-05T10:00:00Z'),
    end_time: new Date('2026-01-05T10:30:00Z'),
    status: 'confirmed',
    notes: 'Sample notes',
    cancelled_by: 'customer',
    cancellation_reason: 'Sample reason',
  },
  service: { name: 'Sample service', price: '10.00' },
  staff: SAMPLE_PERSON,
}
const SAMPLE_PROPS: EmailProps = {
  welcome: { user: SAMPLE_PERSON },
  reservation_created: SAMPLE_RESERVATION,
  reservation_confirmed: SAMPLE_RESERVATION,
  reservation_cancelled: SAMPLE_RESERVATION,
  reservation_completed: SAMPLE_RESERVATION,
  reservation_no_show: SAMPLE_RESERVATION,
  reservation_reminder: SAMPLE_RESERVATION,
  password_reset: {
    user: SAMPLE_PERSON,
    link: 'https://book.example.com/reset-password?token=sample',
    validMinutes: 60,
  },
}

interface CompiledTemplate {
  fn: TemplateFunction
  filepath: string
  eta: Eta
}

function run(t: CompiledTemplate, data: object): string {
  // filepath lets `include('./partials/...')` resolve next to the template, and names the file
  // in Eta's error messages.
  return t.fn.call(t.eta, data, { filepath: t.filepath })
}

/**
 * Eta's default trimming eats the newline after *every* tag, so `Name: <%= it.name %>` would glue
 * itself to the next line of a text mail. Instead trimming is off and, like Mustache's standalone
 * tags, a line holding nothing but a control tag (`<% if (...) { %>`, `<% } %>`) disappears with
 * its line break. Owners can then write the text part the way it should look.
 */
export function dropStandaloneTagLines(source: string): string {
  return source.replace(STANDALONE_TAG_LINE, '$1')
}
const STANDALONE_TAG_LINE = /^[ \t]*(<%[-_]?(?![-_]?\s*[=~])(?:(?!%>)[\s\S])*%>)[ \t]*\r?\n/gm

/** Template conditionals leave blank-line runs behind; mail clients show them verbatim. */
function normalizeText(text: string): string {
  return (
    text
      .replace(/\r\n/g, '\n')
      .replace(/[ \t]+$/gm, '')
      .replace(/\n{3,}/g, '\n\n')
      .trim() + '\n'
  )
}

function isReservationProps(props: object): props is ReservationEmailProps {
  return 'reservation' in props
}

type Formatters = ReturnType<typeof formatters>

/** Helpers exposed to templates as `it.formatDateTime(date)` etc. */
function formatters(zone: string) {
  const inZone = (date: Date, what = 'date'): DateTime => {
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
      // Better no mail than one that says "Invalid DateTime" to a customer.
      throw new TypeError(`Cannot render ${what}: not a valid Date`)
    }
    // en-US only for the month/day names: the token order is fixed below, and en-GB would
    // print "Sept" for September.
    return DateTime.fromJSDate(date, { zone }).setLocale('en-US')
  }
  return {
    /** "Mon 2 Mar 2026, 10:00 (Europe/Sofia)" */
    formatDateTime: (date: Date): string =>
      `${inZone(date).toFormat('ccc d LLL yyyy, HH:mm')} (${zone})`,
    /** "Mon 2 Mar 2026" */
    formatDate: (date: Date): string => inZone(date).toFormat('ccc d LLL yyyy'),
    /** "10:00" */
    formatTime: (date: Date): string => inZone(date).toFormat('HH:mm'),
    /** "First Last", or the username when the profile has no name. */
    fullName: (p: PersonView | null | undefined): string => {
      if (p === null || p === undefined) return ''
      const name = `${p.first_name} ${p.last_name}`.replace(/\s+/g, ' ').trim()
      return name === '' ? p.username : name
    },
    inZone,
  }
}

/** Precomputed strings so templates stay readable: `<%= it.when %>` instead of helper calls. */
function reservationExtras(props: ReservationEmailProps, fmt: Formatters) {
  const { reservation } = props
  fmt.inZone(reservation.start_time, `reservation ${reservation.id} start_time`)
  fmt.inZone(reservation.end_time, `reservation ${reservation.id} end_time`)
  return {
    when: fmt.formatDateTime(reservation.start_time),
    date: fmt.formatDate(reservation.start_time),
    startTime: fmt.formatTime(reservation.start_time),
    endTime: fmt.formatTime(reservation.end_time),
    customerName: fmt.fullName(props.customer),
    staffName: fmt.fullName(props.staff),
  }
}
