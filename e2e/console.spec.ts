/**
 * The shop's console (/console/): the owner's day, a barber's own view, a customer turned
 * away, axe on every screen, a 10-barber/150-booking day measured, the chunk's size reported.
 * The full flows run on the desktop project (and the tablet viewport); the day view and the
 * booking dialog also on the phone.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Page } from '@playwright/test'
import { ADMIN, SHOP, SHOTS } from './env'
import {
  api,
  expect,
  expectAccessible,
  mailsTo,
  newEmail,
  PASSWORD,
  registerCustomer,
  seed,
  test,
} from './fixtures'

const TABLET = { width: 820, height: 1180 }

/** A shop date (yyyy-mm-dd) `n` days from today, in the shop's zone. */
function shopDay(n: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: SHOP.timezone }).format(
    new Date(Date.now() + n * 86_400_000),
  )
}

async function signIn(page: Page, path: string, username: string, password: string) {
  await page.goto(path)
  await page.getByLabel('Username or email').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('navigation', { name: 'Console' })).toBeVisible()
}

const asOwner = (page: Page, path = '/console/') =>
  signIn(page, path, ADMIN.username, ADMIN.password)

/** A barber with a password (the seeded ones were added by the shop and have none). */
async function newBarber(first: string): Promise<{ id: number; username: string }> {
  const email = newEmail()
  const r = await api<{ user: { id: number } }>('POST', '/api/auth/register/', {
    username: email,
    email,
    password: PASSWORD,
    first_name: first,
    last_name: 'Console',
  })
  await api('PATCH', `/api/users/${r.user.id}/`, { is_staff_member: true }, seed().adminToken)
  return { id: r.user.id, username: email }
}

async function book(
  customer: { token: string },
  staff: number,
  date: string,
  time: string,
): Promise<{ id: number }> {
  return api<{ id: number }>(
    'POST',
    '/api/reservations/',
    { staff, service: seed().services[0], start_time: `${date}T${time}:00` },
    customer.token,
  )
}

async function shot(page: Page, name: string): Promise<void> {
  if (process.env.E2E_SCREENSHOTS !== '1') return
  mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: `${SHOTS}/${name}.png`, animations: 'disabled' })
}

/** A booking on the grid, by its accessible name ("10:00–10:30, Walk Inn, Classic cut, Pending"). */
const block = (page: Page, name: RegExp) => page.getByRole('button', { name })

// Which project runs which block is chosen in playwright.config.ts by these @tags.
test.describe('desktop and tablet @wide', () => {
  test('the owner runs the day: service, hours, a walk-in, a web booking confirmed, moved by form and by drag, completed, on the dashboard', async ({
    page,
  }) => {
    test.setTimeout(120_000)
    const date = shopDay(21)
    const [niko, maria] = seed().barbers as [number, number]
    await asOwner(page)

    // A service.
    await page.getByRole('link', { name: 'Services' }).click()
    await page.getByRole('button', { name: 'Add a service' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByLabel('Name').fill('Hot towel shave')
    await dialog.getByLabel('Duration (minutes)').fill('45')
    await dialog.getByLabel('Clean-up after (minutes)').fill('15')
    await dialog.getByLabel('Price').fill('abc')
    await dialog.getByRole('button', { name: 'Save' }).click()
    // The API's refusal, next to the price.
    await expect(dialog.locator('.field', { hasText: 'Price' }).locator('.error')).toBeVisible()
    await dialog.getByLabel('Price').fill('30')
    await dialog.getByRole('button', { name: 'Save' }).click()
    await expect(page.getByRole('cell', { name: 'Hot towel shave', exact: true })).toBeVisible()
    await expectAccessible(page, 'console services')

    // Hours for a new barber, with the form (a wrong range said in words first).
    const bora = await newBarber('Bora')
    await page.getByRole('link', { name: 'Barbers' }).click()
    await page.getByRole('button', { name: 'Hours of Bora Console' }).click()
    const hours = page.getByRole('dialog')
    await hours.getByLabel("Same as the shop's hours").uncheck()
    await hours.getByLabel('Works on Saturday').uncheck()
    await hours.getByLabel('Works on Sunday').uncheck()
    for (const day of ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday']) {
      await hours.getByLabel(`${day}, range 1, from`).selectOption('09:00')
      await hours.getByLabel(`${day}, range 1, until`).selectOption('18:00')
    }
    await hours.getByLabel('Monday, range 1, until').selectOption('08:00')
    await hours.getByRole('button', { name: 'Save hours' }).click()
    await expect(hours.getByText('09:00 must be before 08:00.')).toBeVisible()
    await hours.getByLabel('Monday, range 1, until').selectOption('18:00')
    await hours.getByRole('button', { name: 'Save hours' }).click()
    await expect(hours.getByText('Saved: mon-fri 09:00-18:00')).toBeVisible()
    await expectAccessible(page, 'console barbers: hours')
    await hours.getByRole('button', { name: 'Close' }).click()
    expect((await api<{ hours: string }>('GET', `/api/staff/${bora.id}/hours/`)).hours).toBe(
      'mon-fri 09:00-18:00',
    )

    // A phone booking for a walk-in: an empty cell, a name and a phone.
    await page.goto(`/console/?date=${date}`)
    // Bora's own hours are drawn as bands where Bora does not work.
    await expect(
      page.getByRole('region', { name: 'Bora Console' }).getByText('Not working').first(),
    ).toBeAttached()
    await page.getByRole('button', { name: 'New booking with Niko Petrov at 10:00' }).click()
    const nb = page.getByRole('dialog')
    await expect(nb.getByLabel('Barber')).toHaveValue(String(niko))
    await nb.getByLabel('Service').selectOption({ label: 'Classic cut (30 min)' })
    await nb.getByRole('button', { name: 'Walk-in or phone customer' }).click()
    await nb.getByLabel('First name').fill('Walk')
    await nb.getByLabel('Last name (optional)').fill('Inn')
    await nb.getByLabel('Phone').fill('+359 888 123 456')
    await expectAccessible(page, 'console new booking')
    await nb.getByRole('button', { name: 'Book', exact: true }).click()
    await expect(
      page.getByRole('status').filter({ hasText: 'Booked Walk Inn at 10:00' }),
    ).toBeVisible()
    await expect(block(page, /^10:00–10:30, Walk Inn, Classic cut, Pending/)).toBeVisible()

    // A second booking on the same time is refused in words.
    await page.getByRole('button', { name: 'New booking', exact: true }).click()
    const again = page.getByRole('dialog')
    await again.getByLabel('Barber').selectOption(String(niko))
    await again.getByLabel('Time').selectOption({ label: '10:00' })
    await again.getByLabel('Name, phone or email').fill('Walk')
    await again.getByRole('radio', { name: /Walk Inn/ }).check()
    await again.getByRole('button', { name: 'Book', exact: true }).click()
    await expect(again.getByRole('alert')).toContainText('overlaps another booking')
    await again.getByRole('button', { name: 'Close' }).click()

    // A customer books on the web: it appears by itself.
    const customer = await registerCustomer()
    const web = await book(customer, maria, date, '12:00')
    const webBlock = block(page, /^12:00–12:30, Api Customer, Classic cut, Pending/)
    await expect(webBlock).toBeVisible({ timeout: 20_000 })

    // Confirm it: the customer gets the email.
    await webBlock.click()
    const open = page.getByRole('dialog')
    await open.getByRole('button', { name: 'Confirm', exact: true }).click()
    await expect(open.getByRole('status').filter({ hasText: 'Booking confirmed.' })).toBeVisible()
    await expect
      .poll(() => mailsTo(customer.email).filter((m) => /is confirmed/.test(m.subject)).length)
      .toBe(1)
    await expect(open.getByText(/Pending → Confirmed/)).toBeVisible()
    await expectAccessible(page, 'console booking dialog')

    // Move it with the form: 13:00 with Niko.
    await open.getByText('Change time or barber').click()
    await open.getByLabel('Time').selectOption({ label: '13:00' })
    await open.locator('details').getByLabel('Barber').selectOption(String(niko))
    await open.getByRole('button', { name: 'Move the booking' }).click()
    await expect(
      open.getByRole('status').filter({ hasText: /Moved to .*13:00 with Niko/ }),
    ).toBeVisible()
    await open.getByRole('button', { name: 'Close' }).click()
    let r = await api<{ start_time: string; staff: number; status: string }>(
      'GET',
      `/api/reservations/${web.id}/`,
      undefined,
      seed().adminToken,
    )
    expect([r.staff, r.status]).toEqual([niko, 'pending'])

    // Move it by dragging to Maria at 14:00 (snapped to the grid).
    const from = block(page, /^13:00–13:30, Api Customer/)
    const to = page.getByRole('button', { name: 'New booking with Maria Ivanova at 14:00' })
    await to.evaluate((el) => el.scrollIntoView({ block: 'center' }))
    const a = (await from.boundingBox())!
    const b = (await to.boundingBox())!
    await page.mouse.move(a.x + 10, a.y + 6)
    await page.mouse.down()
    await page.mouse.move(a.x + 30, a.y + 30, { steps: 4 })
    await page.mouse.move(b.x + 12, b.y + 9, { steps: 8 })
    await expect(page.locator('.ghost')).toHaveText('14:00')
    await page.mouse.up()
    await expect(
      page.getByRole('status').filter({ hasText: 'Moved to 14:00 with Maria Ivanova.' }),
    ).toBeVisible()
    await expect(block(page, /^14:00–14:30, Api Customer/)).toBeVisible()
    r = await api('GET', `/api/reservations/${web.id}/`, undefined, seed().adminToken)
    expect(r.staff).toBe(maria)

    // Confirm it: Complete is not offered before the visit starts.
    await block(page, /^14:00–14:30, Api Customer/).click()
    const last = page.getByRole('dialog')
    await last.getByRole('button', { name: 'Confirm', exact: true }).click()
    await expect(last.getByText(/offered once the visit has started/)).toBeVisible()
    await expect(last.getByRole('button', { name: 'Complete', exact: true })).toHaveCount(0)

    // The customer came in early, today: the owner records it at the slot that has begun
    // (admins may record a visit that started), confirms and completes it.
    const today = shopDay(0)
    const nowMinutes = (() => {
      const [h, m] = new Intl.DateTimeFormat('en-GB', {
        timeZone: SHOP.timezone,
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      })
        .format(new Date())
        .split(':')
        .map(Number) as [number, number]
      return Math.floor((h * 60 + m) / 30) * 30
    })()
    const slotLabel = `${String(Math.floor(nowMinutes / 60)).padStart(2, '0')}:${String(nowMinutes % 60).padStart(2, '0')}`
    await last.getByText('Change time or barber').click()
    await last.getByLabel('Day').fill(today)
    await last.getByLabel('Time').selectOption({ label: slotLabel })
    await last.getByRole('button', { name: 'Move the booking' }).click()
    await expect(last.locator('.badge')).toHaveText('Pending')
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm', exact: true }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Complete', exact: true }).click()
    await expect(page.getByRole('dialog').locator('.badge')).toHaveText('Completed')
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click()
    await expectAccessible(page, 'console day')
    await page.getByRole('button', { name: 'List' }).click()
    await expect(page.getByRole('list', { name: 'Bookings of the day' })).toContainText('Walk Inn')
    await expectAccessible(page, 'console day list')

    // On the dashboard.
    await page.goto(`/console/dashboard?from=${today}&to=${date}`)
    const byStatus = page.getByRole('table', { name: 'Bookings by status' })
    await expect(byStatus.getByRole('row', { name: /Completed/ })).toContainText('1')
    await expect(page.getByText('Revenue, completed')).toContainText('25.00')
    await expectAccessible(page, 'console dashboard')
    await shot(page, 'console-dashboard')
  })

  test('every console screen is axe-clean, on a desktop and a tablet', async ({ page }) => {
    for (const size of [null, TABLET]) {
      if (size) await page.setViewportSize(size)
      await asOwner(page)
      for (const [link, heading] of [
        ['Reservations', 'Reservations'],
        ['Customers', 'Customers'],
        ['Barbers', 'Barbers'],
        ['Services', 'Services'],
        ['Time off', 'Time off and closures'],
        ['Failed emails', 'Emails'],
        ['Dashboard', 'Dashboard'],
        ['Day', /\d/],
      ] as const) {
        await page
          .getByRole('navigation', { name: 'Console' })
          .getByRole('link', { name: link, exact: true })
          .click()
        await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible()
        await expect(page.getByRole('status').filter({ hasText: /^Loading/ })).toHaveCount(0)
        await expectAccessible(page, `console ${link}${size ? ' (tablet)' : ''}`)
      }
      await page.getByRole('button', { name: 'Block time' }).click()
      await expectAccessible(page, `console block time${size ? ' (tablet)' : ''}`)
      await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click()
      await page.getByRole('button', { name: 'Sign out' }).click()
    }
  })

  test('reservations: filters, paging and CSV; customers: profile and the last-admin refusal; time off and emails', async ({
    page,
  }) => {
    const date = shopDay(22)
    const [niko] = seed().barbers as [number]
    const customer = await registerCustomer()
    await book(customer, niko, date, '09:00')
    await asOwner(page, `/console/reservations?from=${date}&to=${date}`)
    await expect(page.getByRole('status').filter({ hasText: '1 reservation match.' })).toBeVisible()
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Export CSV' }).click()
    const csv = readFileSync(await (await download).path(), 'utf8')
    expect(csv.split('\r\n')[0]).toContain('start (shop time)')
    expect(csv).toContain('Api Customer')
    expect(csv.trim().split('\r\n')).toHaveLength(2)

    // From a customer's profile to their reservations in the table.
    await page.goto(`/console/customers/${customer.id}`)
    await page.getByRole('link', { name: /All their reservations/ }).click()
    await expect(page.getByRole('status').filter({ hasText: '1 reservation match.' })).toBeVisible()
    await expectAccessible(page, 'console customer profile')

    // The owner cannot delete the last admin (themself): the API's reason, in words.
    const me = await api<{ id: number }>('GET', '/api/auth/me/', undefined, seed().adminToken)
    await page.goto(`/console/customers/${me.id}`)
    await page.getByRole('button', { name: 'Delete…' }).click()
    await page.getByRole('button', { name: /^Delete .* and all their bookings$/ }).click()
    await expect(page.getByRole('alert')).toContainText(/admin/i)

    // Time off: a closure added, then removed.
    await page.getByRole('link', { name: 'Time off' }).click()
    await page.getByRole('button', { name: 'Add time off' }).click()
    const d = page.getByRole('dialog')
    await d.getByLabel('For').selectOption('shop')
    await d.getByLabel('From day').fill(date)
    await d.getByLabel('Until day').fill(date)
    await d.getByLabel('Reason (optional)').fill('Inventory')
    await d.getByRole('button', { name: 'Block time' }).click()
    await expect(page.getByRole('cell', { name: 'Inventory' })).toBeVisible()
    await page
      .getByRole('button', { name: /^Remove time off/ })
      .last()
      .click()
    await expect(page.getByRole('cell', { name: 'Inventory' })).toHaveCount(0)

    await page.getByRole('link', { name: 'Failed emails' }).click()
    await expect(page.getByRole('heading', { name: 'Emails' })).toBeVisible()
  })

  test('two people on one booking: the second is told it changed (412) and sees it reloaded', async ({
    page,
  }) => {
    const date = shopDay(26)
    const [niko] = seed().barbers as [number]
    const customer = await registerCustomer()
    const r = await book(customer, niko, date, '15:00')
    await asOwner(page, `/console/?date=${date}`)
    await block(page, /^15:00–15:30, Api Customer/).click()
    const dialog = page.getByRole('dialog')
    await expect(dialog.getByRole('button', { name: 'Confirm', exact: true })).toBeVisible()
    // Someone else confirms it meanwhile.
    await api('PATCH', `/api/reservations/${r.id}/`, { status: 'confirmed' }, seed().adminToken)
    await dialog.getByRole('button', { name: 'Confirm', exact: true }).click()
    await expect(dialog.getByRole('alert')).toContainText('Someone else changed this booking')
    await expect(dialog.locator('.badge')).toHaveText('Confirmed')
    await expect(dialog.getByRole('button', { name: 'Confirm', exact: true })).toHaveCount(0)
    await expect(dialog.getByText(/offered once the visit has started/)).toBeVisible()
  })

  test('the grid works from the keyboard: arrows between free times, Enter books there', async ({
    page,
  }) => {
    const date = shopDay(27)
    await asOwner(page, `/console/?date=${date}`)
    const first = page.getByRole('button', { name: 'New booking with Niko Petrov at 00:00' })
    await first.focus()
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowRight')
    await expect(
      page.getByRole('button', { name: 'New booking with Maria Ivanova at 01:00' }),
    ).toBeFocused()
    await page.keyboard.press('Enter')
    const dialog = page.getByRole('dialog')
    await expect(dialog.getByLabel('Time')).toHaveValue(String(60))
    await expect(dialog.getByLabel('Barber')).toHaveValue(String(seed().barbers[1]))
    await page.keyboard.press('Escape')
    await expect(dialog).toHaveCount(0)
    await expect(
      page.getByRole('button', { name: 'New booking with Maria Ivanova at 01:00' }),
    ).toBeFocused()
  })

  test('a barber sees only their own column and their own bookings', async ({ page }) => {
    const date = shopDay(23)
    const [niko] = seed().barbers as [number]
    const barber = await newBarber('Vera')
    const customer = await registerCustomer()
    await book(customer, barber.id, date, '11:00')
    await book(customer, niko, date, '11:00')
    await signIn(page, `/console/?date=${date}`, barber.username, PASSWORD)
    await expect(page.locator('.col-head:not(:empty)').filter({ hasText: /\w/ })).toHaveText([
      'Vera Console',
    ])
    await expect(page.locator('.booking-block')).toHaveCount(1)
    await expect(block(page, /^11:00–11:30, Api Customer/)).toBeVisible()
    const nav = page.getByRole('navigation', { name: 'Console' })
    await expect(nav.getByRole('link', { name: 'Services' })).toHaveCount(0)
    await expect(nav.getByRole('link', { name: 'Failed emails' })).toHaveCount(0)
    await expectAccessible(page, 'console day (barber)')
    await page.getByRole('button', { name: 'Week' }).click()
    await expect(page.getByRole('heading', { name: /^Vera Console: week of/ })).toBeVisible()
    await expect(page.getByRole('button', { name: /^Open .* 11:00, Api Customer/ })).toHaveCount(1)
    await expectAccessible(page, 'console week (barber)')
    await page.getByRole('button', { name: 'Grid' }).click()
    await page.goto(`/console/reservations?from=${date}&to=${date}`)
    await expect(page.getByRole('status').filter({ hasText: '1 reservation match.' })).toBeVisible()
    // Their own hours, the same form.
    await nav.getByRole('link', { name: 'Barbers' }).click()
    await expect(page.getByRole('heading', { name: 'My working hours' })).toBeVisible()
    await expectAccessible(page, 'console my hours (barber)')
  })

  test('a customer who opens the console is told it is the shop’s and sent to the booking page', async ({
    page,
  }) => {
    const customer = await registerCustomer()
    await page.goto('/console')
    await page.getByLabel('Username or email').fill(customer.email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect(page.getByRole('heading', { name: "This is the shop's console" })).toBeVisible()
    await expectAccessible(page, 'console for a customer')
    await page.getByRole('link', { name: 'Go to the booking page' }).click()
    await expect(page).toHaveURL(/\/$/)
  })

  test('figures: a day of 10 barbers and 150 bookings, and the console chunk', async ({ page }) => {
    const date = shopDay(24)
    const customer = await registerCustomer()
    const services = seed().services
    // The API answers as a shop of 10 barbers would (the real server keeps its 2-3 barbers, so
    // the booking page tests are not changed by this one).
    const barbers = Array.from({ length: 10 }, (_, i) => ({
      id: 90_000 + i,
      first_name: `Barber${i}`,
      last_name: 'Load',
      username: `load${i}`,
    }))
    const makeRows = (date: string, base: number) =>
      Array.from({ length: 150 }, (_, i) => {
        const b = i % 10
        const slot = Math.floor(i / 10)
        const start = new Date(`${date}T07:00:00Z`).getTime() + slot * 30 * 60_000
        return {
          id: base + i,
          customer: customer.id,
          staff: barbers[b]!.id,
          service: services[i % 2],
          start_time: new Date(start).toISOString(),
          end_time: new Date(start + 30 * 60_000).toISOString(),
          status: ['pending', 'confirmed', 'completed'][i % 3],
          notes: '',
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
          confirmed_at: null,
          completed_at: null,
          cancelled_at: null,
          cancelled_by: null,
          cancellation_reason: '',
        }
      })
    await page.route(/\/api\/staff\/\?/, (route) =>
      route.fulfill({ json: { count: 10, next: null, previous: null, results: barbers } }),
    )
    const serve = (date: string, base: number) => {
      const rows = makeRows(date, base)
      return page.route(new RegExp(`/api/reservations/\\?start_after=${date}`), (route) => {
        const p = Number(new URL(route.request().url()).searchParams.get('page') ?? 1)
        const results = rows.slice((p - 1) * 100, p * 100)
        return route.fulfill({
          json: { count: 150, next: p === 1 ? 'next' : null, previous: null, results },
        })
      })
    }
    await serve(date, 900_000)
    await asOwner(page, `/console/?date=2000-01-01`)
    /** From the last answer of the day's bookings to 150 blocks in the DOM and a frame. */
    const measure = async (date: string, base: number): Promise<number> => {
      await page.evaluate((last) => {
        const w = window as unknown as { rendered?: Promise<number> }
        w.rendered = new Promise((resolve) => {
          const obs = new MutationObserver(() => {
            if (
              document.querySelector(`[data-booking="${last}"]`) &&
              document.querySelectorAll('.booking-block').length >= 150
            ) {
              obs.disconnect()
              requestAnimationFrame(() => resolve(performance.now()))
            }
          })
          obs.observe(document.body, { childList: true, subtree: true })
        })
      }, base + 149)
      const picked = await page.evaluate(() => performance.now())
      await page.getByLabel('Date').fill(date)
      const rendered = await page.evaluate(
        () => (window as unknown as { rendered: Promise<number> }).rendered,
      )
      const arrived = await page.evaluate(
        (d) =>
          Math.max(
            ...performance
              .getEntriesByType('resource')
              .filter((e) => e.name.includes(`start_after=${d}`))
              .map((e) => (e as PerformanceResourceTiming).responseEnd),
          ),
        date,
      )
      return Math.round(rendered - (Number.isFinite(arrived) ? arrived : picked))
    }
    const ms = await measure(date, 900_000)
    await expect(page.locator('.col')).toHaveCount(10)
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
    await shot(page, 'console-day')
    // The same day on a CPU slowed 4x (Playwright's CDP throttling), another date so the data
    // is fetched again.
    const slow = shopDay(28)
    await serve(slow, 901_000)
    const cdp = await page.context().newCDPSession(page)
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 })
    const msSlow = await measure(slow, 901_000)
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 })
    console.log(
      `console day view, 10 barbers and 150 bookings: rendered ${ms} ms after the data arrived (${msSlow} ms with the CPU slowed 4x)`,
    )

    const assets = join(import.meta.dirname, '..', 'web', 'dist', 'assets')
    const chunk = readdirSync(assets).find((f) => /^Console-.*\.js$/.test(f))!
    const css = readdirSync(assets).find((f) => /^console-.*\.css$/.test(f))!
    const kb = (f: string) => (gzipSync(readFileSync(join(assets, f))).length / 1024).toFixed(1)
    console.log(`console chunk: ${kb(chunk)} KB gzipped JavaScript, ${kb(css)} KB gzipped CSS`)
    expect(ms).toBeGreaterThan(0)
  })
})

test.describe('phone @phone', () => {
  test('the day view, its list and the booking dialog work on a phone', async ({ page }) => {
    const date = shopDay(25)
    const [niko] = seed().barbers as [number]
    const customer = await registerCustomer()
    await book(customer, niko, date, '10:00')
    await asOwner(page, `/console/?date=${date}`)
    await expect(block(page, /^10:00–10:30, Api Customer/)).toBeVisible()
    await expectAccessible(page, 'console day (phone)')
    await page.getByRole('button', { name: 'List' }).click()
    await page.getByRole('button', { name: /^Open 10:00–10:30, Api Customer/ }).click()
    await expect(page.getByRole('dialog')).toBeVisible()
    await expectAccessible(page, 'console booking dialog (phone)')
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click()
    await page.getByRole('button', { name: 'New booking', exact: true }).click()
    await expect(page.getByRole('dialog').getByLabel('Time')).toBeVisible()
    await expectAccessible(page, 'console new booking (phone)')
    await shot(page, 'console-phone-new-booking')
  })
})
