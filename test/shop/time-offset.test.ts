import fc from 'fast-check'
import { DateTime } from 'luxon'
import { describe, expect, it } from 'vitest'
import { formatLocal, localDate } from '../../src/shop/time.js'

/**
 * time.ts keeps a zone's offset per 15-minute bucket whose two ends agree. Against luxon's own
 * answer for every instant, in zones with DST, half-hour DST (Lord Howe), odd offsets
 * (Kathmandu, St John's) and historic second-precision offsets (Amsterdam before 1937).
 */
const ZONES = [
  'Europe/London',
  'America/New_York',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'America/St_Johns',
  'Europe/Amsterdam',
  'UTC',
]
const FROM = Date.UTC(1900, 0, 1)
const TO = Date.UTC(2100, 0, 1)

describe('offsets from the 15-minute cache', () => {
  it('agree with luxon at random instants and around every transition', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: FROM, max: TO }), (zone, t) => {
        const at = new Date(t)
        const ref = DateTime.fromMillis(t, { zone })
        expect(localDate(at, zone)).toBe(ref.toISODate())
        expect(formatLocal(at, zone).slice(-5)).toBe(ref.toFormat('HH:mm'))
      }),
      { numRuns: 5000 },
    )
  })

  it('agree with luxon minute by minute across the 2026 DST changes', () => {
    const cases: [string, number][] = [
      ['Europe/London', Date.UTC(2026, 2, 29, 0)],
      ['Europe/London', Date.UTC(2026, 9, 25, 0)],
      ['America/New_York', Date.UTC(2026, 2, 8, 6)],
      ['Australia/Lord_Howe', Date.UTC(2026, 3, 4, 14)],
    ]
    for (const [zone, around] of cases) {
      // Twice over: the second pass answers from the cache the first one filled.
      for (let pass = 0; pass < 2; pass++) {
        for (let t = around - 3 * 3600_000; t <= around + 3 * 3600_000; t += 60_000 + 7_000) {
          const ref = DateTime.fromMillis(t, { zone })
          expect(formatLocal(new Date(t), zone).slice(-5)).toBe(ref.toFormat('HH:mm'))
        }
      }
    }
  })
})
