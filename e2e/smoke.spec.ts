import { expect, test } from './fixtures'

// Playwright 1.65 drives Debian's Chromium 156 (it is built for 159): if a bump of either
// breaks the pairing, this fails first and says which versions met.
test('Playwright drives the installed Chromium', async ({ page, browser }) => {
  const version = browser.version()
  console.log(`chromium ${version}`)
  expect(Number(version.split('.')[0])).toBeGreaterThanOrEqual(120)
  await page.goto('/health/')
  await expect(page.locator('body')).toContainText('"status":"ok"')
})
