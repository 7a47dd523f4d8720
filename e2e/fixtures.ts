import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import AxeBuilder from '@axe-core/playwright'
import { test as base, expect } from '@playwright/test'
import type { Page } from '@playwright/test'
import { BASE_URL, MAIL_DIR, SEED_FILE } from './env'

export { expect }

export interface Seed {
  adminToken: string
  barbers: number[]
  services: number[]
}
export const seed = (): Seed => JSON.parse(readFileSync(SEED_FILE, 'utf8')) as Seed

let counter = 0
export function newEmail(): string {
  counter += 1
  return `c${Date.now().toString(36)}${process.pid}${counter}@example.com`
}
export const PASSWORD = 'Sharp-Fade-2026'

/** The API, for arranging what a test needs (another customer, a booking soon). */
export async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const res = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return (text ? JSON.parse(text) : {}) as T
}

export async function registerCustomer(): Promise<{ email: string; id: number; token: string }> {
  const email = newEmail()
  const r = await api<{ user: { id: number }; access: string }>('POST', '/api/auth/register/', {
    username: email,
    email,
    password: PASSWORD,
    first_name: 'Api',
    last_name: 'Customer',
  })
  return { email, id: r.user.id, token: r.access }
}

/** Emails the SMTP server accepted for an address, oldest first. */
export function mailsTo(address: string): { subject: string; text: string }[] {
  return readdirSync(MAIL_DIR)
    .sort()
    .map(
      (f) =>
        JSON.parse(readFileSync(join(MAIL_DIR, f), 'utf8')) as {
          to: string[]
          subject: string
          text: string
        },
    )
    .filter((m) => m.to.includes(address))
}

/** No WCAG 2.2 A/AA violation on the page as it is now. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
    .analyze()
  const found = result.violations.map(
    (v) =>
      `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  )
  expect(found, `axe on ${screen}`).toEqual([])
  axeScreens.add(screen)
}
export const axeScreens = new Set<string>()

/**
 * Every page fails its test on a console error, an uncaught exception or a CSP violation.
 * The browser's own "Failed to load resource" line for an HTTP 4xx the test provokes on
 * purpose (a wrong password, a taken slot) is an answer the page shows, not an error; a 5xx is.
 */
export const test = base.extend<{ problems: string[] }>({
  problems: [
    async ({ page }, use) => {
      const problems: string[] = []
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => {
          console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)
        })
      })
      page.on('console', (m) => {
        if (m.type() !== 'error') return
        const text = m.text()
        if (/Failed to load resource: the server responded with a status of 4\d\d/.test(text))
          return
        problems.push(text)
      })
      page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`))
      await use(problems)
      expect(problems, 'console errors or CSP violations').toEqual([])
    },
    { auto: true },
  ],
})
