/**
 * A real SMTP server on loopback for delivery tests: it records every message it accepts (parsed
 * with mailparser) and can be told to refuse at RCPT or DATA, to never answer DATA, or to go away
 * altogether and come back on the same port.
 */
import type { AddressInfo } from 'node:net'
import { simpleParser } from 'mailparser'
import type { ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { expect } from 'vitest'
import { createMailer } from '../../src/notifications/mailer.js'
import type { Mailer } from '../../src/notifications/mailer.js'
import type { TestApp } from '../helpers.js'

export interface ReceivedMail {
  messageId: string
  /** Envelope recipients (RCPT TO). */
  to: string[]
  subject: string
  parsed: ParsedMail
}

type Behaviour =
  | { kind: 'accept' }
  | { kind: 'refuse'; stage: 'rcpt' | 'data'; code: number; times: number }
  | { kind: 'hang' }

export interface SmtpSink {
  readonly port: number
  /** Every accepted message, in arrival order. */
  readonly received: ReceivedMail[]
  /** Every RCPT TO address the server answered with an error. */
  readonly refusedRcpt: string[]
  /** How many DATA commands were answered with an error. */
  readonly refusedData: number
  /** Messages whose DATA arrived but was never answered (`hang`). */
  readonly hanging: number
  accept(): void
  /** Answer `code` at RCPT TO or after DATA, `times` times (default: until told otherwise). */
  refuse(stage: 'rcpt' | 'data', code: number, times?: number): void
  /** Take the message at DATA and never answer: a server (or network) that stalls mid-send. */
  hang(): void
  /** Stop listening and drop every connection: connects are refused until `start()`. */
  stop(): Promise<void>
  /** Listen again on the same port (no-op while listening). */
  start(): Promise<void>
  mailsTo(address: string): ReceivedMail[]
  close(): Promise<void>
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const received: ReceivedMail[] = []
  const refusedRcpt: string[] = []
  let refusedData = 0
  let hanging = 0
  let behaviour: Behaviour = { kind: 'accept' }
  let server: SMTPServer | undefined
  let port = 0

  /** One refusal used up, or null when this stage passes. */
  const refusal = (stage: 'rcpt' | 'data'): Error | null => {
    if (behaviour.kind !== 'refuse' || behaviour.stage !== stage) return null
    const code = behaviour.code
    behaviour.times -= 1
    if (behaviour.times <= 0) behaviour = { kind: 'accept' }
    const err = new Error(`${code >= 500 ? 'Refused' : 'Try again later'} (test server)`)
    ;(err as Error & { responseCode: number }).responseCode = code
    return err
  }

  const create = () =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      // stop() must not wait 30 s for the client's pooled connections to go.
      closeTimeout: 50,
      onRcptTo(address, _session, callback) {
        const err = refusal('rcpt')
        if (err) refusedRcpt.push(address.address)
        callback(err ?? undefined)
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = []
        stream.on('data', (c: Buffer) => chunks.push(c))
        stream.on('end', () => {
          if (behaviour.kind === 'hang') {
            hanging += 1
            return
          }
          const err = refusal('data')
          if (err) {
            refusedData += 1
            callback(err)
            return
          }
          // Recorded before the 250 goes out: once the client hears "accepted", the test sees it.
          simpleParser(Buffer.concat(chunks))
            .then((parsed) => {
              received.push({
                messageId: parsed.messageId ?? '',
                to: session.envelope.rcptTo.map((r) => r.address),
                subject: parsed.subject ?? '',
                parsed,
              })
              callback()
            })
            .catch((e: unknown) => callback(e as Error))
        })
      },
    })

  const listen = async () => {
    if (server) return
    const s = create()
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject)
        // A client that drops its socket (a killed worker) is part of these tests, not an error.
        s.on('error', () => undefined)
        resolve()
      })
    })
    server = s
    port = (s.server.address() as AddressInfo).port
  }
  const shutdown = async () => {
    const s = server
    server = undefined
    if (!s) return
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  await listen()
  return {
    get port() {
      return port
    },
    received,
    refusedRcpt,
    get refusedData() {
      return refusedData
    },
    get hanging() {
      return hanging
    },
    accept() {
      behaviour = { kind: 'accept' }
    },
    refuse(stage, code, times = Number.POSITIVE_INFINITY) {
      behaviour = { kind: 'refuse', stage, code, times }
    },
    hang() {
      behaviour = { kind: 'hang' }
    },
    stop: shutdown,
    start: listen,
    mailsTo(address) {
      return received.filter((m) => m.to.includes(address))
    },
    close: shutdown,
  }
}

export const FROM = 'Fade District <noreply@fade.test>'

/** The production SMTP mailer, pointed at the sink. */
export function smtpMailer(port: number, timeoutMs = 2_000): Mailer {
  return createMailer({
    backend: 'smtp',
    from: FROM,
    smtp: { host: '127.0.0.1', port, useTls: false, timeoutMs },
    fileDir: '/nonexistent',
  })
}

/** Polls until `check` returns something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/**
 * Nothing arrived twice: one message per Message-ID, and one per recipient and subject (the
 * subjects a test produces are distinct, so a second one would be a duplicate with a new id).
 */
export function expectNoDuplicates(mails: ReceivedMail[]): void {
  const ids = mails.map((m) => m.messageId)
  expect(new Set(ids).size, `duplicate Message-IDs in ${ids.join(' ')}`).toBe(ids.length)
  const keys = mails.map((m) => `${m.to.join(',')} | ${m.subject}`)
  expect(new Set(keys).size, `duplicate mails: ${keys.join('\n')}`).toBe(keys.length)
}

export interface OutboxView {
  id: number
  kind: string
  status: string
  attempts: number
  relays: number
  last_error: string
  available_at: Date
  locked_until: Date | null
  payload: Record<string, unknown>
}

export async function outboxRows(t: Pick<TestApp, 'database'>): Promise<OutboxView[]> {
  const rows = await t.database.db.selectFrom('outbox').selectAll().orderBy('id').execute()
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    status: r.status,
    attempts: Number(r.attempts),
    relays: Number(r.relays),
    last_error: r.last_error,
    available_at: new Date(r.available_at),
    locked_until: r.locked_until === null ? null : new Date(r.locked_until),
    payload: JSON.parse(r.payload) as Record<string, unknown>,
  }))
}

export async function outboxRow(t: Pick<TestApp, 'database'>, id: number): Promise<OutboxView> {
  const row = (await outboxRows(t)).find((r) => r.id === id)
  if (!row) throw new Error(`no outbox row ${id}`)
  return row
}

export function messageIdOf(outboxId: number): string {
  return `<outbox-${outboxId}@fade-district>`
}

/** The one text/calendar attachment of a mail, unfolded into its properties. */
export function calendarOf(mail: ReceivedMail): { method: string; props: Record<string, string> } {
  const ics = mail.parsed.attachments.filter((a) => a.contentType === 'text/calendar')
  expect(ics, `calendar attachments of "${mail.subject}"`).toHaveLength(1)
  const att = ics[0]!
  const params = (att.headers.get('content-type') as { params?: Record<string, string> }).params
  const text = att.content.toString('utf8').replace(/\r\n[ \t]/g, '')
  const props: Record<string, string> = {}
  for (const line of text.split('\r\n')) {
    const m = /^([A-Z-]+)[:;](.*)$/.exec(line)
    if (m && !(m[1]! in props)) props[m[1]!] = m[2]!
  }
  expect(params?.method, 'the method= of the text/calendar part').toBe(props.METHOD)
  return { method: props.METHOD ?? '', props }
}
