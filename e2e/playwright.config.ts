import { defineConfig, devices } from '@playwright/test'
import { BASE_URL, RESULTS } from './env'

/** Debian's Chromium (apt-get install chromium): no browser is ever downloaded. */
const launchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--disable-dev-shm-usage',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
}

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  outputDir: `${RESULTS}/artifacts`,
  globalSetup: './global-setup.ts',
  // Two cores shared with other work: one browser at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    baseURL: BASE_URL,
    // The phone is in another zone than the shop: every time must still be the shop's.
    timezoneId: 'America/New_York',
    locale: 'en-GB',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions,
  },
  projects: [
    {
      name: 'phone',
      use: { ...devices['Pixel 7'], launchOptions },
      // The console's desktop and tablet tests (@wide) need a wide screen.
      grepInvert: /@wide/,
    },
    {
      name: 'desktop',
      use: { ...devices['Desktop Chrome'], launchOptions },
      // The slow-phone benchmark is measured once, on the phone, as are the console's
      // phone tests (@phone).
      grepInvert: /slow phone|@phone/,
    },
  ],
})
