import { join } from 'node:path'

export const PORT = Number(process.env.E2E_PORT ?? 8765)
export const BASE_URL = `http://127.0.0.1:${PORT}`
export const RESULTS = join(import.meta.dirname, 'results')
export const MAIL_DIR = join(RESULTS, 'mail')
export const SEED_FILE = join(RESULTS, 'seed.json')
export const SHOTS = join(import.meta.dirname, '..', 'docs', 'screenshots')
export const ADMIN = { username: 'owner', email: 'owner@fade.test', password: 'Owner-Pass-2026!' }
export const SHOP = {
  name: 'Fade District Sofia',
  phone: '+359 2 555 0101',
  address: '12 Vitosha Blvd, Sofia',
  timezone: 'Europe/Sofia',
}
