/**
 * Delivers rendered emails: over SMTP in production, into `.eml` files or the console in
 * development. Every backend builds the same RFC 822 message through Nodemailer, so what a
 * developer opens from the file backend is what a customer would receive.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import nodemailer from 'nodemailer'
import type { SendMailOptions, SMTPPoolOptions } from 'nodemailer'

export interface OutgoingEmail {
  to: string
  subject: string
  html: string
  text: string
  /** Becomes the Message-ID header, so a retried delivery is recognisable as a duplicate. */
  messageId?: string
  attachments?: { filename: string; content: string; contentType: string }[]
}

export interface Mailer {
  /** Resolves once the message is handed over (SMTP accepted it, file written); rejects otherwise. */
  send(mail: OutgoingEmail): Promise<void>
  close(): void
}

export interface MailerConfig {
  backend: 'smtp' | 'file' | 'console'
  from: string
  smtp: {
    host: string
    port: number
    useTls: boolean
    user?: string
    password?: string
    timeoutMs?: number
  }
  fileDir: string
  log?: (msg: string) => void
}

const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000
const DEFAULT_GREETING_TIMEOUT_MS = 10_000
const DEFAULT_SOCKET_TIMEOUT_MS = 20_000

export function createMailer(cfg: MailerConfig): Mailer {
  switch (cfg.backend) {
    case 'smtp':
      return smtpMailer(cfg)
    case 'file':
      return fileMailer(cfg)
    case 'console':
      return consoleMailer(cfg)
  }
}

/**
 * How the SMTP settings map onto Nodemailer. Exported so the mapping (notably the TLS mode, which
 * a loopback test server cannot exercise for port 465) can be checked directly.
 */
export function smtpTransportOptions(smtp: MailerConfig['smtp']): SMTPPoolOptions & { pool: true } {
  const implicitTls = smtp.port === 465
  return {
    pool: true,
    host: smtp.host,
    port: smtp.port,
    // 465 is SMTPS: TLS from the first byte. Anything else starts in plain text and upgrades with
    // STARTTLS; requireTLS makes a server that does not offer it an error instead of silently
    // sending the password and the mail in the clear.
    secure: implicitTls,
    requireTLS: !implicitTls && smtp.useTls,
    // Without TLS (a local relay, the test server) never attempt the upgrade, even if advertised.
    ignoreTLS: !implicitTls && !smtp.useTls,
    ...(smtp.user !== undefined && smtp.user !== ''
      ? { auth: { user: smtp.user, pass: smtp.password ?? '' } }
      : {}),
    // Nodemailer's defaults (2 min connect, 10 min socket) would hold a worker for minutes on a
    // dead server; failing fast lets the job queue retry instead.
    connectionTimeout: smtp.timeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    greetingTimeout: smtp.timeoutMs ?? DEFAULT_GREETING_TIMEOUT_MS,
    socketTimeout: smtp.timeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
  }
}

function smtpMailer(cfg: MailerConfig): Mailer {
  const transport = nodemailer.createTransport(smtpTransportOptions(cfg.smtp))
  return {
    async send(mail) {
      const info = await transport.sendMail(toNodemailer(cfg.from, mail))
      // Nodemailer resolves when at least one recipient was accepted; any refusal must still
      // reach the caller so it can retry or report.
      if (info.rejected.length > 0) {
        throw new Error(`SMTP server rejected recipient(s): ${info.rejected.join(', ')}`)
      }
    },
    close() {
      transport.close()
    },
  }
}

function fileMailer(cfg: MailerConfig): Mailer {
  // SMTP delivery turns the bare LFs of the text part into CRLF on the wire; a file needs the
  // same conversion to be a valid RFC 822 message that any mail client opens.
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
  })
  // Written synchronously, one file at a time: the file backend runs in the job process (or a
  // development server), where no request waits on this event loop, and a synchronous write
  // costs a third of the CPU of one through the thread pool (the benchmark's job process).
  // Writers in parallel would also contend for the directory's lock, on which the kernel
  // spins. The directory is made once, and again if it was removed.
  let dirMade = false
  const write = (message: Buffer) => {
    const name = emlFileName(new Date())
    const final = path.join(cfg.fileDir, name)
    // Written under a dot-name first: a reader listing *.eml never sees a half-written message.
    const tmp = path.join(cfg.fileDir, `.${name}.tmp`)
    try {
      for (let attempt = 1; ; attempt++) {
        if (!dirMade) {
          mkdirSync(cfg.fileDir, { recursive: true })
          dirMade = true
        }
        try {
          writeFileSync(tmp, message, { flag: 'wx' })
          break
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 1) throw err
          dirMade = false
        }
      }
      renameSync(tmp, final)
    } catch (err) {
      rmSync(tmp, { force: true })
      throw err
    }
  }
  return {
    async send(mail) {
      const info = await transport.sendMail(toNodemailer(cfg.from, mail))
      if (!Buffer.isBuffer(info.message)) {
        throw new Error('Nodemailer stream transport did not return a buffer')
      }
      write(info.message)
    },
    close() {},
  }
}

function consoleMailer(cfg: MailerConfig): Mailer {
  const log = cfg.log ?? ((msg: string) => void process.stdout.write(msg + '\n'))
  return {
    async send(mail) {
      assertRecipient(mail)
      // A summary plus the text part: the raw source would be mostly base64 and boundaries.
      const lines = [
        '---------- email (console backend, not sent) ----------',
        `From: ${cfg.from}`,
        `To: ${mail.to}`,
        `Subject: ${mail.subject}`,
        ...(mail.messageId === undefined ? [] : [`Message-ID: ${mail.messageId}`]),
        ...(mail.attachments ?? []).map(
          (a) =>
            `Attachment: ${a.filename} (${a.contentType}, ${Buffer.byteLength(a.content)} bytes)`,
        ),
        '',
        mail.text.trimEnd(),
        '--------------------------------------------------------',
      ]
      log(lines.join('\n'))
    },
    close() {},
  }
}

function toNodemailer(from: string, mail: OutgoingEmail): SendMailOptions {
  assertRecipient(mail)
  return {
    from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    ...(mail.messageId === undefined ? {} : { messageId: mail.messageId }),
    attachments: (mail.attachments ?? []).map((a) => ({
      filename: a.filename,
      content: a.content,
      // Passed through verbatim: the `method=` parameter of text/calendar is what makes mail
      // apps treat an .ics as an invitation or cancellation rather than a plain file.
      contentType: a.contentType,
      contentDisposition: 'attachment',
    })),
  }
}

function assertRecipient(mail: OutgoingEmail): void {
  // The file and console backends would happily "deliver" to nobody; fail like SMTP would.
  if (mail.to.trim() === '') throw new Error('Email has no recipient')
}

/** `20260301-101500-123-3f9a1c2b7d4e.eml`: UTC, so names sort by time; random, so never collide. */
export function emlFileName(now: Date): string {
  const iso = now.toISOString() // 2026-03-01T10:15:00.123Z
  const stamp = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${iso.slice(20, 23)}`
  return `${stamp}-${randomBytes(6).toString('hex')}.eml`
}
