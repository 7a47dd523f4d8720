import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { simpleParser } from 'mailparser'
import type { ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import type { SMTPServerOptions } from 'smtp-server'
import { afterAll, describe, expect, it } from 'vitest'
import { buildIcs } from '../../src/notifications/ics.js'
import { createMailer, emlFileName, smtpTransportOptions } from '../../src/notifications/mailer.js'
import type { Mailer, MailerConfig, OutgoingEmail } from '../../src/notifications/mailer.js'

const FROM = 'Fade District <noreply@fade.example>'

const ics = buildIcs({
  method: 'REQUEST',
  uid: 'reservation-42@fade-district',
  sequence: 0,
  start: new Date('2026-03-02T08:00:00Z'),
  end: new Date('2026-03-02T08:30:00Z'),
  stamp: new Date('2026-02-20T17:05:09Z'),
  summary: 'Skin fade at Fade District – Подстригване '.repeat(3),
  organizer: { email: 'noreply@fade.example', name: 'Fade District' },
  attendee: { email: 'ivan@example.com', name: 'Ivan Petrov' },
})

const mail: OutgoingEmail = {
  to: 'Ivan Petrov <ivan@example.com>',
  subject: 'Your appointment on Mon 2 Mar 2026 at 10:00 is confirmed ✂',
  html: '<p>Hi Ivan, see you <strong>Mon 2 Mar 2026, 10:00</strong> &amp; bring a friend.</p>',
  text: 'Hi Ivan, see you Mon 2 Mar 2026, 10:00 & bring a friend.\n<b>raw</b>\n',
  messageId: '<email.reservation_status.42.1@fade-district>',
  attachments: [
    {
      filename: 'reservation-42.ics',
      content: ics,
      contentType: 'text/calendar; method=REQUEST; charset=UTF-8',
    },
  ],
}

// Everything opened by a test is closed in afterAll, even when the test failed half-way.
const cleanups: (() => Promise<void> | void)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

interface Received {
  raw: Buffer
  from: string | undefined
  to: string[]
}

async function startServer(
  options: SMTPServerOptions = {},
): Promise<{ port: number; received: Received[] }> {
  const received: Received[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        received.push({
          raw: Buffer.concat(chunks),
          from: session.envelope.mailFrom === false ? undefined : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
        })
        callback()
      })
    },
    ...options,
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { port: (server.server.address() as AddressInfo).port, received }
}

function smtpMailer(port: number, smtp: Partial<MailerConfig['smtp']> = {}): Mailer {
  const mailer = createMailer({
    backend: 'smtp',
    from: FROM,
    smtp: { host: '127.0.0.1', port, useTls: false, timeoutMs: 2_000, ...smtp },
    fileDir: '/nonexistent',
  })
  cleanups.push(() => mailer.close())
  return mailer
}

/** The parts a customer's mail app would show, checked the same way for every backend. */
function expectSameMail(parsed: ParsedMail): void {
  expect(parsed.from?.value).toEqual([{ address: 'noreply@fade.example', name: 'Fade District' }])
  const to = Array.isArray(parsed.to) ? parsed.to : [parsed.to]
  expect(to.flatMap((a) => a?.value ?? [])).toEqual([
    { address: 'ivan@example.com', name: 'Ivan Petrov' },
  ])
  expect(parsed.subject).toBe(mail.subject)
  expect(parsed.messageId).toBe('<email.reservation_status.42.1@fade-district>')
  expect(parsed.html).toContain('<strong>Mon 2 Mar 2026, 10:00</strong> &amp; bring a friend.')
  expect(parsed.text).toBe(mail.text)

  expect(parsed.attachments).toHaveLength(1)
  const [attachment] = parsed.attachments
  expect(attachment?.filename).toBe('reservation-42.ics')
  expect(attachment?.contentType).toBe('text/calendar')
  expect(attachment?.contentDisposition).toBe('attachment')
  expect(attachment?.headers.get('content-type')).toMatchObject({
    value: 'text/calendar',
    params: { method: 'REQUEST', charset: 'UTF-8' },
  })
  // Byte for byte, CRLFs and folded multi-byte lines included.
  expect(attachment?.content.toString('utf8')).toBe(ics)
}

describe('smtp backend', () => {
  it('delivers html, text and the calendar attachment to a real SMTP server', async () => {
    const { port, received } = await startServer()
    await smtpMailer(port).send(mail)

    expect(received).toHaveLength(1)
    const [msg] = received
    expect(msg?.from).toBe('noreply@fade.example')
    expect(msg?.to).toEqual(['ivan@example.com'])
    const raw = msg?.raw.toString('utf8') ?? ''
    expect(raw).toMatch(/^Content-Type: text\/calendar; method=REQUEST; charset=UTF-8/im)
    expectSameMail(await simpleParser(msg?.raw ?? Buffer.alloc(0)))
  })

  it('reuses one pooled connection for consecutive mails', async () => {
    let connections = 0
    const { port, received } = await startServer({
      onConnect(_session, callback) {
        connections++
        callback()
      },
    })
    const mailer = smtpMailer(port)
    await mailer.send({ ...mail, messageId: undefined })
    await mailer.send({ ...mail, messageId: undefined })
    expect(received).toHaveLength(2)
    expect(connections).toBe(1)
  })

  it('authenticates with user and password when a user is configured', async () => {
    const logins: string[] = []
    const { port, received } = await startServer({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        logins.push(`${auth.username}:${auth.password}`)
        if (auth.username === 'shop@gmail.example' && auth.password === 'app pass word') {
          callback(null, { user: auth.username })
        } else {
          callback(new Error('Invalid username or password'))
        }
      },
    })

    await smtpMailer(port, { user: 'shop@gmail.example', password: 'app pass word' }).send(mail)
    expect(received).toHaveLength(1)

    await expect(
      smtpMailer(port, { user: 'shop@gmail.example', password: 'wrong' }).send(mail),
    ).rejects.toThrow(/Invalid username or password|auth/i)
    // Without a user no AUTH is attempted, and this server requires it.
    await expect(smtpMailer(port).send(mail)).rejects.toThrow(/authentication required/i)
    expect(received).toHaveLength(1)
    expect(logins).toEqual(['shop@gmail.example:app pass word', 'shop@gmail.example:wrong'])
  })

  it('rejects when the server refuses the recipient', async () => {
    const { port, received } = await startServer({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error('No such user here'), { responseCode: 550 }))
      },
    })
    await expect(smtpMailer(port).send(mail)).rejects.toThrow(/No such user here|recipients/)
    expect(received).toHaveLength(0)
  })

  it('rejects when the server refuses the message', async () => {
    const { port } = await startServer({
      onData(stream, _session, callback) {
        stream.on('end', () =>
          callback(Object.assign(new Error('Message looks like spam'), { responseCode: 554 })),
        )
        stream.resume()
      },
    })
    await expect(smtpMailer(port).send(mail)).rejects.toThrow(/Message looks like spam/)
  })

  it('refuses to send in the clear when TLS is required but not offered', async () => {
    const { port, received } = await startServer()
    await expect(smtpMailer(port, { useTls: true }).send(mail)).rejects.toThrow(/STARTTLS|TLS/i)
    expect(received).toHaveLength(0)
  })

  it('gives up on a server that never answers within timeoutMs', async () => {
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((socket) => sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy()
          silent.close(() => resolve())
        }),
    )
    const port = (silent.address() as AddressInfo).port
    const started = Date.now()
    await expect(smtpMailer(port, { timeoutMs: 300 }).send(mail)).rejects.toThrow(/greeting|time/i)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('rejects when nothing listens on the port', async () => {
    const probe = net.createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    await expect(smtpMailer(port).send(mail)).rejects.toThrow(/ECONNREFUSED|connect/i)
  })

  it('maps ports and TLS settings onto Nodemailer options', () => {
    const smtps = smtpTransportOptions({ host: 'smtp.example', port: 465, useTls: true })
    expect(smtps).toMatchObject({ pool: true, secure: true, requireTLS: false, ignoreTLS: false })
    expect(smtps.auth).toBeUndefined()

    const gmail = smtpTransportOptions({
      host: 'smtp.gmail.com',
      port: 587,
      useTls: true,
      user: 'shop@gmail.com',
      password: 'abcd efgh ijkl mnop',
    })
    expect(gmail).toMatchObject({
      secure: false,
      requireTLS: true,
      ignoreTLS: false,
      auth: { user: 'shop@gmail.com', pass: 'abcd efgh ijkl mnop' },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    })

    const relay = smtpTransportOptions({
      host: 'localhost',
      port: 25,
      useTls: false,
      timeoutMs: 50,
    })
    expect(relay).toMatchObject({
      secure: false,
      requireTLS: false,
      ignoreTLS: true,
      connectionTimeout: 50,
      greetingTimeout: 50,
      socketTimeout: 50,
    })
    expect(smtpTransportOptions({ host: 'h', port: 25, useTls: false, user: '' }).auth).toBe(
      undefined,
    )
  })
})

describe('file backend', () => {
  it('writes one complete .eml per message that parses back to the same mail', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'fade-mail-'))
    cleanups.push(() => rm(root, { recursive: true, force: true }))
    const dir = path.join(root, 'nested', 'outbox')
    const mailer = createMailer({
      backend: 'file',
      from: FROM,
      smtp: { host: 'unused', port: 25, useTls: false },
      fileDir: dir,
    })
    cleanups.push(() => mailer.close())

    await mailer.send(mail)
    await Promise.all([mailer.send(mail), mailer.send(mail)])

    const files = await readdir(dir)
    // No temp files left behind, and three distinct names.
    expect(files).toHaveLength(3)
    for (const file of files) expect(file).toMatch(/^\d{8}-\d{6}-\d{3}-[0-9a-f]{12}\.eml$/)

    const raw = await readFile(path.join(dir, files.sort()[0] ?? ''))
    // An RFC 822 message uses CRLF line endings throughout.
    expect(raw.toString('latin1').replace(/\r\n/g, '')).not.toMatch(/[\r\n]/)
    expect(raw.toString('latin1')).toMatch(/^Date: /m)
    expectSameMail(await simpleParser(raw))
  })

  it('makes the directory again when it is removed between messages', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'fade-mail-'))
    cleanups.push(() => rm(root, { recursive: true, force: true }))
    const dir = path.join(root, 'outbox')
    const mailer = createMailer({
      backend: 'file',
      from: FROM,
      smtp: { host: 'unused', port: 25, useTls: false },
      fileDir: dir,
    })
    await mailer.send(mail)
    await rm(dir, { recursive: true })
    await Promise.all([mailer.send(mail), mailer.send(mail)])
    expect(await readdir(dir)).toHaveLength(2)
  })

  it('names files so they sort by time', () => {
    const a = emlFileName(new Date('2026-03-01T10:15:00.123Z'))
    const b = emlFileName(new Date('2026-03-01T10:15:00.124Z'))
    const c = emlFileName(new Date('2026-12-31T23:59:59.999Z'))
    expect(a).toMatch(/^20260301-101500-123-[0-9a-f]{12}\.eml$/)
    expect([c, b, a].sort()).toEqual([a, b, c])
    expect(emlFileName(new Date(0))).not.toBe(emlFileName(new Date(0)))
  })

  it('rejects when the directory cannot be written', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'fade-mail-'))
    cleanups.push(() => rm(root, { recursive: true, force: true }))
    const blocker = path.join(root, 'a-file')
    // A regular file where a directory is needed: mkdir fails like on a read-only disk.
    await writeFile(blocker, 'x')
    const mailer = createMailer({
      backend: 'file',
      from: FROM,
      smtp: { host: 'unused', port: 25, useTls: false },
      fileDir: path.join(blocker, 'sub'),
    })
    await expect(mailer.send(mail)).rejects.toThrow()
  })
})

describe('console backend', () => {
  it('logs a readable summary with the text part', async () => {
    const logged: string[] = []
    const mailer = createMailer({
      backend: 'console',
      from: FROM,
      smtp: { host: 'unused', port: 25, useTls: false },
      fileDir: '/nonexistent',
      log: (m) => logged.push(m),
    })
    await mailer.send(mail)
    mailer.close()
    expect(logged).toHaveLength(1)
    const out = logged[0] ?? ''
    expect(out).toContain(`From: ${FROM}`)
    expect(out).toContain('To: Ivan Petrov <ivan@example.com>')
    expect(out).toContain(`Subject: ${mail.subject}`)
    expect(out).toContain('Message-ID: <email.reservation_status.42.1@fade-district>')
    expect(out).toContain('Attachment: reservation-42.ics (text/calendar; method=REQUEST')
    expect(out).toContain('<b>raw</b>')
  })

  it('rejects a mail without recipient like SMTP would', async () => {
    const mailer = createMailer({
      backend: 'console',
      from: FROM,
      smtp: { host: 'unused', port: 25, useTls: false },
      fileDir: '/nonexistent',
      log: () => {},
    })
    await expect(mailer.send({ ...mail, to: ' ' })).rejects.toThrow(/recipient/)
  })
})
