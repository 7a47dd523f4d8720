import { mkdirSync } from 'node:fs'
import type { Page } from '@playwright/test'
import { SHOP, SHOTS } from './env'
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

const shots = process.env.E2E_SCREENSHOTS === '1'
async function shot(page: Page, project: string, wanted: string, name: string): Promise<void> {
  if (!shots || project !== wanted) return
  mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: `${SHOTS}/${name}.png`, animations: 'disabled' })
}

const heading = (page: Page, name: string | RegExp) => page.getByRole('heading', { name })

/** From the service list to the free times of a day with a barber chosen by name. */
async function toSlots(page: Page, barber: string | RegExp): Promise<void> {
  await page.goto('/')
  await page.getByRole('link', { name: /Classic cut/ }).click()
  await expect(heading(page, 'Choose a barber')).toBeVisible()
  await page.getByRole('link', { name: barber }).click()
  await expect(heading(page, 'Choose a day and time')).toBeVisible()
  await expect(page.locator('.slot').first()).toBeVisible()
  await pickRoomyDay(page)
}

/**
 * The page opens on the first day with free times, which late in the day is today with only
 * a few left: the tests pick up to the 6th slot (apart from one another's), so they move on to
 * the first day with at least 8.
 */
async function pickRoomyDay(page: Page): Promise<void> {
  const days = page.getByRole('list', { name: 'Days' }).getByRole('button')
  const labels = await days.evaluateAll((buttons) =>
    buttons.map((b) => b.getAttribute('aria-label') ?? b.textContent ?? ''),
  )
  const roomy = labels.findIndex((l) => Number(/(\d+) free times?/.exec(l)?.[1] ?? 0) >= 8)
  expect(roomy, `a day with 8 free times among: ${labels.join('; ')}`).toBeGreaterThanOrEqual(0)
  const day = days.nth(roomy)
  if ((await day.getAttribute('aria-pressed')) !== 'true') {
    await day.click()
    await expect(day).toHaveAttribute('aria-pressed', 'true')
  }
  await expect(page.locator('.slot').nth(7)).toBeVisible()
}

async function signInInline(page: Page, email: string): Promise<void> {
  await page.getByRole('button', { name: 'I have an account' }).click()
  await page.getByLabel('Email or username').fill(email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

test('a new customer books: service, any barber, day and time, register, confirm, done', async ({
  page,
}, info) => {
  const project = info.project.name
  await page.goto('/')
  await expect(heading(page, 'Choose a service')).toBeVisible()
  await expect(page.getByRole('link', { name: /Classic cut/ })).toContainText('30 min · €25.00')
  await expectAccessible(page, 'services')
  await shot(page, project, 'phone', 'phone-services')

  await page.getByRole('link', { name: /Classic cut/ }).click()
  await expect(heading(page, 'Choose a barber')).toBeVisible()
  const barbers = page.locator('.cards a')
  await expect(barbers.first()).toContainText('Any barber')
  await expect(barbers.nth(1)).toContainText('Niko Petrov')
  await expectAccessible(page, 'barbers')
  await page.getByRole('link', { name: /Any barber/ }).click()

  await expect(heading(page, 'Choose a day and time')).toBeVisible()
  await expect(page.getByText("Times are in the shop's time zone: Europe/Sofia")).toBeVisible()
  // Picking a day moves the focus to its free times.
  const days = page.getByRole('list', { name: 'Days' }).getByRole('button', { disabled: false })
  await expect(days.nth(1)).toBeVisible()
  await days.nth(1).click()
  await expect(page.locator('.slots')).toBeFocused()
  await expect(page.getByRole('heading', { name: 'Morning' })).toBeVisible()
  const slot = page.locator('.slot').first()
  const label = (await slot.getAttribute('aria-label')) ?? ''
  expect(label).toMatch(/^[A-Z][a-z]+day \d{1,2} [A-Z][a-z]+, \d\d:\d\d, any barber$/)
  await expectAccessible(page, 'day and time')
  await shot(page, project, 'phone', 'phone-slots')
  await slot.click()

  // Only now: an account.
  await expect(heading(page, 'Sign in to book')).toBeVisible()
  await expectAccessible(page, 'sign in (inline)')
  await page.getByRole('button', { name: "I'm new here" }).click()
  await expect(page.getByLabel('Email')).toHaveAttribute('autocomplete', 'email')
  await expectAccessible(page, 'register (inline)')
  const email = newEmail()
  await page.getByLabel('First name').fill('Ana')
  await page.getByLabel('Last name').fill('Georgieva')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Phone (optional)').fill('+359 888 123 456')
  // A password the API refuses is said next to the field.
  await page.getByLabel('Password').fill('12345678')
  await page.getByRole('button', { name: 'Create account' }).click()
  await expect(page.locator('.field .error').first()).toBeVisible()
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Create account' }).click()

  await expect(heading(page, 'Check and confirm')).toBeVisible()
  await expect(page.getByText('until 2 hours before it starts')).toBeVisible()
  await expect(page.getByText(`call the shop at ${SHOP.phone}`)).toBeVisible()
  await page.getByLabel('Notes for the barber (optional)').fill('Short on the sides, please.')
  await expectAccessible(page, 'review')
  await page.getByRole('button', { name: 'Confirm booking' }).click()

  await expect(heading(page, 'Booking received')).toBeVisible()
  await expect(page.getByText('Pending — the shop will confirm it')).toBeVisible()
  await expectAccessible(page, 'done')
  await shot(page, project, 'phone', 'phone-done')

  await page.getByRole('link', { name: 'My bookings' }).last().click()
  await expect(heading(page, 'My bookings')).toBeVisible()
  await expect(page.locator('.booking')).toHaveCount(1)
  await expect(page.locator('.booking')).toContainText('Classic cut')
  await expectAccessible(page, 'my bookings')

  // The emails: a welcome for the customer, a new reservation for the shop.
  await expect.poll(() => mailsTo(email).length, { timeout: 15_000 }).toBeGreaterThan(0)
})

test('an existing customer signs in only after choosing a time', async ({ page }) => {
  const { email } = await registerCustomer()
  await toSlots(page, /Maria Ivanova/)
  const slot = page.locator('.slot').first()
  const label = (await slot.getAttribute('aria-label')) ?? ''
  expect(label).toMatch(/, Maria Ivanova$/)
  await slot.click()
  await signInInline(page, email)
  await expect(heading(page, 'Check and confirm')).toBeVisible()
  await expect(page.locator('.review')).toContainText('Maria Ivanova')
  await page.getByRole('button', { name: 'Confirm booking' }).click()
  await expect(heading(page, 'Booking received')).toBeVisible()
})

test('a wrong password is said next to the form', async ({ page }) => {
  const { email } = await registerCustomer()
  await page.goto('/me')
  await page.getByLabel('Email or username').fill(email)
  await page.getByLabel('Password').fill('not-the-password')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('alert')).toContainText('No active account found')
  await expectAccessible(page, 'sign in error')
})

test('a time taken meanwhile is answered "just taken" with fresh times', async ({ page }) => {
  const { email } = await registerCustomer()
  const rival = await registerCustomer()
  const { barbers, services } = seed()
  await toSlots(page, /Niko Petrov/)
  const slot = page.locator('.slot').nth(2)
  const label = (await slot.getAttribute('aria-label')) ?? ''
  await slot.click()
  await signInInline(page, email)
  await expect(heading(page, 'Check and confirm')).toBeVisible()
  // Someone else books that very time with that barber.
  const time = new URL(page.url()).searchParams.get('time')!
  await api(
    'POST',
    '/api/reservations/',
    { start_time: time, service: services[0], staff: barbers[0] },
    rival.token,
  )
  await page.getByRole('button', { name: 'Confirm booking' }).click()
  await expect(page.getByRole('alert')).toContainText('that time was just taken')
  await expect(heading(page, 'Choose a day and time')).toBeVisible()
  await expect(page.locator('.slot').first()).toBeVisible()
  await expect(page.getByRole('button', { name: label, exact: true })).toHaveCount(0)
  await expectAccessible(page, 'just taken')
  await page.locator('.slot').first().click()
  await page.getByRole('button', { name: 'Confirm booking' }).click()
  await expect(heading(page, 'Booking received')).toBeVisible()
})

test('"Add to calendar" on the done page downloads the booking as an .ics', async ({ page }) => {
  const { email } = await registerCustomer()
  await toSlots(page, /Any barber/)
  await page.locator('.slot').nth(5).click()
  await signInInline(page, email)
  await page.getByRole('button', { name: 'Confirm booking' }).click()
  await expect(heading(page, 'Booking received')).toBeVisible()
  const calendar = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Add to calendar' }).click()
  const file = await calendar
  expect(file.suggestedFilename()).toMatch(/\.ics$/)
  const { readFileSync } = await import('node:fs')
  expect(readFileSync(await file.path(), 'utf8')).toContain('BEGIN:VEVENT')
})

test('the whole booking works with the keyboard alone', async ({ page }) => {
  const { email } = await registerCustomer()
  const press = async (locator: ReturnType<Page['locator']>, key = 'Enter') => {
    await locator.focus()
    await expect(locator).toBeFocused()
    await page.keyboard.press(key)
  }
  await page.goto('/')
  // Each step's heading takes the focus, so the next Tab is the step's first choice.
  await expect(heading(page, 'Choose a service')).toBeFocused()
  await page.keyboard.press('Tab')
  await expect(page.locator('.cards a').first()).toBeFocused()
  await press(page.getByRole('link', { name: /Beard trim/ }))
  await press(page.getByRole('link', { name: /Any barber/ }))
  const days = page.getByRole('list', { name: 'Days' }).getByRole('button', { disabled: false })
  await press(days.nth(2), 'Space')
  await expect(page.locator('.slots')).toBeFocused()
  // From the focused list, Tab goes to its first time.
  await page.keyboard.press('Tab')
  await expect(page.locator('.slot').first()).toBeFocused()
  await page.keyboard.press('Enter')
  await press(page.getByRole('button', { name: 'I have an account' }))
  await page.getByLabel('Email or username').focus()
  await page.keyboard.type(email)
  await page.keyboard.press('Tab')
  await page.keyboard.type(PASSWORD)
  await page.keyboard.press('Enter')
  await expect(heading(page, 'Check and confirm')).toBeVisible()
  await press(page.getByRole('button', { name: 'Confirm booking' }))
  await expect(heading(page, 'Booking received')).toBeVisible()
})
