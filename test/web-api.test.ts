import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { API_TYPES_FILE, renderApiTypes } from '../scripts/web-api.js'

describe('the web app API client', () => {
  it('is generated from the current /api/schema/ (run npm run web:api after changing the API)', async () => {
    expect(readFileSync(API_TYPES_FILE, 'utf8')).toBe(await renderApiTypes())
  })
})
