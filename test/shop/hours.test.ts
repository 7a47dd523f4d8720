import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import {
  HoursSyntaxError,
  addDays,
  formatLocal,
  intersectHours,
  isOpen,
  isValidDate,
  isValidTimeZone,
  localDate,
  openIntervals,
  parseDateTime,
  parseHours,
  startOfLocalDay,
} from '../../src/shop/hours.js'
import type { WeeklyHours } from '../../src/shop/hours.js'

const SOFIA = 'Europe/Sofia'
const NEW_YORK = 'America/New_York'
const SANTIAGO = 'America/Santiago'
const HOUR = 3_600_000

const d = (iso: string): Date => new Date(iso)
const mins = (h: number, m = 0): number => h * 60 + m

/** Intervals as ISO strings, so failures read well. */
function iso(hours: WeeklyHours, date: string, zone: string): [string, string][] {
  return openIntervals(hours, date, zone).map((i) => [i.start.toISOString(), i.end.toISOString()])
}

function totalHours(hours: WeeklyHours, date: string, zone: string): number {
  return openIntervals(hours, date, zone).reduce(
    (sum, i) => sum + (i.end.getTime() - i.start.getTime()) / HOUR,
    0,
  )
}

const ALL_DAY = parseHours('mon-sun 00:00-24:00')
const NINE_TO_SEVEN = parseHours('mon-sun 09:00-19:00')

describe('parseHours', () => {
  it('parses the default spec', () => {
    const h = parseHours('mon-sat 09:00-19:00')
    expect(h).toHaveLength(7)
    for (let i = 0; i < 6; i++) expect(h[i]).toEqual([{ start: mins(9), end: mins(19) }])
    expect(h[6]).toEqual([])
  })

  it('parses several entries with several ranges', () => {
    const h = parseHours('mon-fri 09:00-13:00,14:00-19:00; sat 10:00-16:00')
    expect(h[0]).toEqual([
      { start: mins(9), end: mins(13) },
      { start: mins(14), end: mins(19) },
    ])
    expect(h[4]).toEqual(h[0])
    expect(h[5]).toEqual([{ start: mins(10), end: mins(16) }])
    expect(h[6]).toEqual([])
  })

  it('tolerates whitespace, upper case and empty entries', () => {
    const h = parseHours('  MON - Fri\t09:00 - 13:00 ,  14:00-19:00 ;; \n Sat  10:00-16:00 ; ')
    expect(h).toEqual(parseHours('mon-fri 09:00-13:00,14:00-19:00; sat 10:00-16:00'))
  })

  it('accepts day lists, ranges inside lists and wrap-around ranges', () => {
    const list = parseHours('mon,wed,fri 08:00-09:00')
    expect(list.map((r) => r.length)).toEqual([1, 0, 1, 0, 1, 0, 0])
    const mixed = parseHours('mon-wed,fri 08:00-09:00')
    expect(mixed.map((r) => r.length)).toEqual([1, 1, 1, 0, 1, 0, 0])
    const wrap = parseHours('sat-mon 08:00-09:00')
    expect(wrap.map((r) => r.length)).toEqual([1, 0, 0, 0, 0, 1, 1])
    const wrapLong = parseHours('fri-tue 08:00-09:00')
    expect(wrapLong.map((r) => r.length)).toEqual([1, 1, 0, 0, 1, 1, 1])
    const single = parseHours('wed-wed 08:00-09:00')
    expect(single.map((r) => r.length)).toEqual([0, 0, 1, 0, 0, 0, 0])
  })

  it('allows 00:00 as a start and 24:00 as an end', () => {
    expect(parseHours('sun 00:00-24:00')[6]).toEqual([{ start: 0, end: 1440 }])
    expect(parseHours('sun 23:59-24:00')[6]).toEqual([{ start: 1439, end: 1440 }])
  })

  it('sorts and merges overlapping and touching ranges, also across entries', () => {
    const h = parseHours(
      'mon 15:00-16:00,09:00-12:00,11:00-13:00; mon 13:00-14:00; mon-tue 10:00-11:00',
    )
    expect(h[0]).toEqual([
      { start: mins(9), end: mins(14) },
      { start: mins(15), end: mins(16) },
    ])
    expect(h[1]).toEqual([{ start: mins(10), end: mins(11) }])
  })

  it('treats an empty spec as closed all week', () => {
    expect(parseHours('')).toEqual([[], [], [], [], [], [], []])
    expect(parseHours(' ; ;')).toEqual([[], [], [], [], [], [], []])
  })

  it('returns a frozen schedule', () => {
    const h = parseHours('mon 09:00-10:00')
    expect(Object.isFrozen(h)).toBe(true)
    expect(Object.isFrozen(h[0])).toBe(true)
    expect(Object.isFrozen(h[0]?.[0])).toBe(true)
  })

  it.each([
    ['mun 09:00-10:00', 'unknown day "mun"'],
    ['monday 09:00-10:00', 'unknown day "monday"'],
    ['mon-sum 09:00-10:00', 'unknown day "sum"'],
    ['m0n 09:00-10:00', 'unknown day "m0n"'],
    ['mon-fri', 'missing opening times after "mon-fri"'],
    ['09:00-10:00', 'malformed entry'],
    ['mon fri 09:00-10:00', 'malformed entry'],
    ['mon-fri09:00-10:00', 'malformed entry'],
    ['mon,,fri 09:00-10:00', 'malformed days "mon,,fri"'],
    ['mon, 09:00-10:00', 'malformed'],
    ['mon-tue-wed 09:00-10:00', 'malformed days "mon-tue-wed"'],
    ['mon 9:00-10:00', 'malformed time range "9:00-10:00"'],
    ['mon 09:00', 'malformed time range "09:00"'],
    ['mon 09h00-10h00', 'malformed time range'],
    ['mon 09:00-10:00,', 'malformed time range ""'],
    ['mon 09:00-10:00 11:00-12:00', 'malformed entry'],
    ['mon 25:00-26:00', 'invalid time "25:00"'],
    ['mon 09:00-24:30', 'invalid time "24:30"'],
    ['mon 09:60-10:00', 'invalid time "09:60"'],
    ['mon 24:00-24:00', '24:00 can only end a range'],
    ['mon 10:00-09:00', 'start must be before end in "10:00-09:00"'],
    ['mon 10:00-10:00', 'start must be before end'],
    ['mon 22:00-02:00', 'start must be before end'],
    ['mon 09:00-10:00; tue', 'missing opening times after "tue"'],
  ])('rejects %j', (spec, message) => {
    let caught: unknown
    try {
      parseHours(spec)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(HoursSyntaxError)
    expect(caught).toBeInstanceOf(Error)
    expect((caught as Error).name).toBe('HoursSyntaxError')
    expect((caught as Error).message).toContain(message)
  })
})

describe('openIntervals', () => {
  it('converts a normal day to UTC instants', () => {
    const h = parseHours('mon-fri 09:00-13:00,14:00-19:00; sat 10:00-16:00')
    // 2026-03-02 is a Monday; Sofia is UTC+2 in winter.
    expect(iso(h, '2026-03-02', SOFIA)).toEqual([
      ['2026-03-02T07:00:00.000Z', '2026-03-02T11:00:00.000Z'],
      ['2026-03-02T12:00:00.000Z', '2026-03-02T17:00:00.000Z'],
    ])
    expect(iso(h, '2026-03-07', 'UTC')).toEqual([
      ['2026-03-07T10:00:00.000Z', '2026-03-07T16:00:00.000Z'],
    ])
    expect(iso(h, '2026-07-07', NEW_YORK)).toEqual([
      ['2026-07-07T13:00:00.000Z', '2026-07-07T17:00:00.000Z'],
      ['2026-07-07T18:00:00.000Z', '2026-07-07T23:00:00.000Z'],
    ])
  })

  it('returns nothing on a closed day or an empty schedule', () => {
    expect(openIntervals(parseHours('mon-sat 09:00-19:00'), '2026-03-01', SOFIA)).toEqual([])
    // Config uses [] as a placeholder when OPENING_HOURS is broken.
    expect(openIntervals([], '2026-03-02', SOFIA)).toEqual([])
  })

  it('merges touching ranges into one interval', () => {
    const h: WeeklyHours = [
      [
        { start: mins(9), end: mins(13) },
        { start: mins(13), end: mins(19) },
      ],
    ]
    expect(iso(h, '2026-03-02', 'UTC')).toEqual([
      ['2026-03-02T09:00:00.000Z', '2026-03-02T19:00:00.000Z'],
    ])
  })

  it('hands out fresh Date objects each time', () => {
    const first = openIntervals(NINE_TO_SEVEN, '2026-03-02', SOFIA)
    first[0]?.start.setTime(0)
    expect(iso(NINE_TO_SEVEN, '2026-03-02', SOFIA)[0]?.[0]).toBe('2026-03-02T07:00:00.000Z')
  })

  it('rejects bad dates and zones', () => {
    expect(() => openIntervals(NINE_TO_SEVEN, '2026-02-30', SOFIA)).toThrow(RangeError)
    expect(() => openIntervals(NINE_TO_SEVEN, '2026-03-02', 'Mars/Olympus')).toThrow(RangeError)
  })

  describe('Europe/Sofia spring forward (2026-03-29, 03:00 → 04:00)', () => {
    const day = '2026-03-29'
    it('a whole day is 23 hours', () => {
      expect(iso(ALL_DAY, day, SOFIA)).toEqual([
        ['2026-03-28T22:00:00.000Z', '2026-03-29T21:00:00.000Z'],
      ])
      expect(totalHours(ALL_DAY, day, SOFIA)).toBe(23)
    })
    it('09:00-19:00 is still 10 hours', () => {
      expect(iso(NINE_TO_SEVEN, day, SOFIA)).toEqual([
        ['2026-03-29T06:00:00.000Z', '2026-03-29T16:00:00.000Z'],
      ])
    })
    it('01:00-05:00 is 3 real hours', () => {
      const h = parseHours('sun 01:00-05:00')
      expect(iso(h, day, SOFIA)).toEqual([['2026-03-28T23:00:00.000Z', '2026-03-29T02:00:00.000Z']])
    })
    it('a start inside the gap means the moment the clocks jump', () => {
      const h = parseHours('sun 03:30-05:00')
      expect(iso(h, day, SOFIA)).toEqual([['2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z']])
    })
    it('a range wholly inside the gap disappears', () => {
      expect(openIntervals(parseHours('sun 03:15-03:45'), day, SOFIA)).toEqual([])
    })
    it('ranges either side of the gap become one continuous interval', () => {
      const h = parseHours('sun 02:00-03:00,04:00-06:00')
      expect(iso(h, day, SOFIA)).toEqual([['2026-03-29T00:00:00.000Z', '2026-03-29T03:00:00.000Z']])
    })
  })

  describe('Europe/Sofia fall back (2026-10-25, 04:00 → 03:00)', () => {
    const day = '2026-10-25'
    it('a whole day is 25 hours', () => {
      expect(iso(ALL_DAY, day, SOFIA)).toEqual([
        ['2026-10-24T21:00:00.000Z', '2026-10-25T22:00:00.000Z'],
      ])
      expect(totalHours(ALL_DAY, day, SOFIA)).toBe(25)
    })
    it('09:00-19:00 is still 10 hours', () => {
      expect(iso(NINE_TO_SEVEN, day, SOFIA)).toEqual([
        ['2026-10-25T07:00:00.000Z', '2026-10-25T17:00:00.000Z'],
      ])
    })
    it('a range over the repeated hour includes both copies of it', () => {
      // 02:00 EEST (23:00Z) to 05:00 EET (03:00Z).
      expect(totalHours(parseHours('sun 02:00-05:00'), day, SOFIA)).toBe(4)
    })
    it('a repeated wall time means its first occurrence', () => {
      // 03:30 first happens at 03:30 EEST = 00:30Z (and again at 03:30 EET = 01:30Z).
      expect(iso(parseHours('sun 03:30-05:00'), day, SOFIA)).toEqual([
        ['2026-10-25T00:30:00.000Z', '2026-10-25T03:00:00.000Z'],
      ])
    })
  })

  describe('America/New_York spring forward (2026-03-08, 02:00 → 03:00)', () => {
    const day = '2026-03-08'
    it('a whole day is 23 hours', () => {
      expect(iso(ALL_DAY, day, NEW_YORK)).toEqual([
        ['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z'],
      ])
    })
    it('09:00-19:00 is 10 hours in EDT', () => {
      expect(iso(NINE_TO_SEVEN, day, NEW_YORK)).toEqual([
        ['2026-03-08T13:00:00.000Z', '2026-03-08T23:00:00.000Z'],
      ])
    })
    it('01:00-05:00 is 3 real hours', () => {
      expect(iso(parseHours('sun 01:00-05:00'), day, NEW_YORK)).toEqual([
        ['2026-03-08T06:00:00.000Z', '2026-03-08T09:00:00.000Z'],
      ])
    })
  })

  describe('America/New_York fall back (2026-11-01, 02:00 → 01:00)', () => {
    const day = '2026-11-01'
    it('a whole day is 25 hours', () => {
      expect(iso(ALL_DAY, day, NEW_YORK)).toEqual([
        ['2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z'],
      ])
    })
    it('09:00-19:00 is 10 hours in EST', () => {
      expect(iso(NINE_TO_SEVEN, day, NEW_YORK)).toEqual([
        ['2026-11-01T14:00:00.000Z', '2026-11-02T00:00:00.000Z'],
      ])
    })
    it('01:00-05:00 is 5 real hours', () => {
      expect(totalHours(parseHours('sun 01:00-05:00'), day, NEW_YORK)).toBe(5)
    })
    it('an end inside the repeated hour is its first occurrence', () => {
      expect(iso(parseHours('sun 00:00-01:30'), day, NEW_YORK)).toEqual([
        ['2026-11-01T04:00:00.000Z', '2026-11-01T05:30:00.000Z'],
      ])
    })
  })

  it('handles a zone whose midnight is skipped (America/Santiago, 2026-09-06)', () => {
    expect(startOfLocalDay('2026-09-06', SANTIAGO).toISOString()).toBe('2026-09-06T04:00:00.000Z')
    expect(iso(ALL_DAY, '2026-09-06', SANTIAGO)).toEqual([
      ['2026-09-06T04:00:00.000Z', '2026-09-07T03:00:00.000Z'],
    ])
    // Saturday ends where Sunday starts, so the two days still touch.
    expect(iso(ALL_DAY, '2026-09-05', SANTIAGO)[0]?.[1]).toBe('2026-09-06T04:00:00.000Z')
  })

  it('gives nothing on a calendar day the zone skipped entirely (Pacific/Apia, 2011-12-30)', () => {
    expect(openIntervals(ALL_DAY, '2011-12-30', 'Pacific/Apia')).toEqual([])
    expect(totalHours(ALL_DAY, '2011-12-29', 'Pacific/Apia')).toBe(24)
    expect(totalHours(ALL_DAY, '2011-12-31', 'Pacific/Apia')).toBe(24)
  })
})

describe('isOpen', () => {
  const split = parseHours('mon-fri 09:00-13:00,14:00-19:00')
  // Monday 2026-03-02, Sofia UTC+2: 09:00 = 07:00Z, 13:00 = 11:00Z, 14:00 = 12:00Z, 19:00 = 17:00Z.
  const open = (s: string, e: string, h: WeeklyHours = split, zone = SOFIA): boolean =>
    isOpen(h, d(s), d(e), zone)

  it('accepts reservations inside one range, including its exact bounds', () => {
    expect(open('2026-03-02T07:00:00Z', '2026-03-02T07:30:00Z')).toBe(true)
    expect(open('2026-03-02T07:00:00Z', '2026-03-02T11:00:00Z')).toBe(true)
    expect(open('2026-03-02T16:30:00Z', '2026-03-02T17:00:00Z')).toBe(true)
  })

  it('rejects reservations that leave the open hours', () => {
    expect(open('2026-03-02T06:59:00Z', '2026-03-02T07:30:00Z')).toBe(false)
    expect(open('2026-03-02T16:30:00Z', '2026-03-02T17:00:01Z')).toBe(false)
    expect(open('2026-03-02T17:00:00Z', '2026-03-02T17:30:00Z')).toBe(false)
    expect(open('2026-03-01T08:00:00Z', '2026-03-01T09:00:00Z')).toBe(false) // Sunday
  })

  it('rejects a reservation over the lunch break', () => {
    expect(open('2026-03-02T10:30:00Z', '2026-03-02T12:30:00Z')).toBe(false)
    expect(open('2026-03-02T11:00:00Z', '2026-03-02T11:30:00Z')).toBe(false)
  })

  it('treats touching ranges as continuous', () => {
    const h = parseHours('mon 09:00-13:00; mon 13:00-19:00')
    expect(open('2026-03-02T10:30:00Z', '2026-03-02T11:30:00Z', h)).toBe(true)
    const raw: WeeklyHours = [
      [
        { start: mins(9), end: mins(13) },
        { start: mins(13), end: mins(19) },
      ],
    ]
    expect(open('2026-03-02T10:30:00Z', '2026-03-02T11:30:00Z', raw)).toBe(true)
  })

  it('crosses midnight only when one day ends at 24:00 and the next starts at 00:00', () => {
    const late = parseHours('mon 20:00-24:00; tue 00:00-02:00')
    // Mon 23:00 → Tue 01:00 Sofia time.
    expect(open('2026-03-02T21:00:00Z', '2026-03-02T23:00:00Z', late)).toBe(true)
    expect(open('2026-03-02T21:00:00Z', '2026-03-03T00:00:00Z', late)).toBe(true)
    expect(open('2026-03-02T21:00:00Z', '2026-03-03T00:00:01Z', late)).toBe(false)
    // Starting after midnight works too.
    expect(open('2026-03-02T22:00:00Z', '2026-03-02T23:00:00Z', late)).toBe(true)

    const gap = parseHours('mon 20:00-24:00; tue 00:30-02:00')
    expect(open('2026-03-02T21:00:00Z', '2026-03-02T23:00:00Z', gap)).toBe(false)
    const early = parseHours('mon 20:00-23:59; tue 00:00-02:00')
    expect(open('2026-03-02T21:00:00Z', '2026-03-02T23:00:00Z', early)).toBe(false)
  })

  it('crosses from Sunday into Monday', () => {
    const h = parseHours('sun 20:00-24:00; mon 00:00-02:00')
    expect(open('2026-03-01T21:00:00Z', '2026-03-01T23:00:00Z', h)).toBe(true)
  })

  it('follows a round-the-clock schedule across several days and DST changes', () => {
    expect(open('2026-03-27T10:00:00Z', '2026-03-31T10:00:00Z', ALL_DAY)).toBe(true)
    expect(open('2026-10-24T10:00:00Z', '2026-10-26T10:00:00Z', ALL_DAY, NEW_YORK)).toBe(true)
    const weekdays = parseHours('mon-fri 00:00-24:00')
    expect(open('2026-03-05T10:00:00Z', '2026-03-06T10:00:00Z', weekdays)).toBe(true)
    expect(open('2026-03-05T10:00:00Z', '2026-03-07T10:00:00Z', weekdays)).toBe(false)
  })

  it('reports whether an instant is open when start equals end', () => {
    expect(open('2026-03-02T07:00:00Z', '2026-03-02T07:00:00Z')).toBe(true)
    expect(open('2026-03-02T17:00:00Z', '2026-03-02T17:00:00Z')).toBe(false)
  })

  it('rejects reversed and invalid ranges', () => {
    expect(open('2026-03-02T08:00:00Z', '2026-03-02T07:30:00Z')).toBe(false)
    expect(isOpen(split, new Date(Number.NaN), d('2026-03-02T08:00:00Z'), SOFIA)).toBe(false)
  })

  it('is right around the spring-forward gap', () => {
    const h = parseHours('sun 02:00-03:00,04:00-06:00')
    // 02:30 EET (00:30Z) → 04:30 EEST (01:30Z): one real hour with no closed instant in between.
    expect(open('2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z', h)).toBe(true)
    expect(open('2026-03-29T02:30:00Z', '2026-03-29T03:00:00Z', h)).toBe(true)
    expect(open('2026-03-29T02:30:00Z', '2026-03-29T03:00:01Z', h)).toBe(false)
  })

  it('is right in the repeated hour', () => {
    const h = parseHours('sun 00:00-01:30')
    // 01:00-01:30 EDT is open; the second 01:00-01:30 (EST) is after closing.
    expect(open('2026-11-01T05:00:00Z', '2026-11-01T05:30:00Z', h, NEW_YORK)).toBe(true)
    expect(open('2026-11-01T06:00:00Z', '2026-11-01T06:15:00Z', h, NEW_YORK)).toBe(false)
  })

  it('uses the shop zone to pick the day', () => {
    const monday = parseHours('mon 00:00-03:00')
    // 2026-03-01T23:00Z is Sunday in UTC but Monday 01:00 in Sofia.
    expect(open('2026-03-01T23:00:00Z', '2026-03-01T23:30:00Z', monday)).toBe(true)
    expect(open('2026-03-01T23:00:00Z', '2026-03-01T23:30:00Z', monday, 'UTC')).toBe(false)
  })
})

describe('intersectHours', () => {
  it('intersects shop and barber hours day by day', () => {
    const shop = parseHours('mon-sat 09:00-19:00')
    const barber = parseHours('mon-fri 08:00-12:00,13:00-20:00; sun 10:00-14:00')
    const both = intersectHours(shop, barber)
    for (let i = 0; i < 5; i++) {
      expect(both[i]).toEqual([
        { start: mins(9), end: mins(12) },
        { start: mins(13), end: mins(19) },
      ])
    }
    expect(both[5]).toEqual([])
    expect(both[6]).toEqual([])
    expect(Object.isFrozen(both)).toBe(true)
  })

  it('merges pieces that end up touching', () => {
    const a: WeeklyHours = [[{ start: 0, end: 1440 }]]
    const b: WeeklyHours = [
      [
        { start: mins(12), end: mins(13) },
        { start: mins(9), end: mins(12) },
      ],
    ]
    expect(intersectHours(a, b)[0]).toEqual([{ start: mins(9), end: mins(13) }])
  })

  it('treats missing days as closed', () => {
    expect(intersectHours([], ALL_DAY)).toEqual([[], [], [], [], [], [], []])
  })

  const rangeArb = fc
    .tuple(fc.integer({ min: 0, max: 1440 }), fc.integer({ min: 0, max: 1440 }))
    .filter(([x, y]) => x !== y)
    .map(([x, y]) => `${hhmm(Math.min(x, y))}-${hhmm(Math.max(x, y))}`)
  const specArb = fc
    .array(
      fc.tuple(
        fc.constantFrom('mon', 'tue', 'sun', 'sat-mon', 'mon-fri', 'wed,fri'),
        fc.array(rangeArb, { minLength: 1, maxLength: 3 }),
      ),
      { maxLength: 4 },
    )
    .map((entries) => entries.map(([days, ranges]) => `${days} ${ranges.join(',')}`).join('; '))

  function minutesOpen(h: WeeklyHours, day: number, minute: number): boolean {
    return (h[day] ?? []).some((r) => r.start <= minute && minute < r.end)
  }

  it('is the set intersection (property)', () => {
    fc.assert(
      fc.property(specArb, specArb, (x, y) => {
        const a = parseHours(x)
        const b = parseHours(y)
        const both = intersectHours(a, b)
        expect(intersectHours(b, a)).toEqual(both)
        for (let day = 0; day < 7; day++) {
          const ranges = both[day] ?? []
          // Sorted, non-empty and merged (a gap between consecutive ranges).
          for (let i = 0; i < ranges.length; i++) {
            const r = ranges[i]!
            expect(r.start).toBeLessThan(r.end)
            if (i > 0) expect(ranges[i - 1]!.end).toBeLessThan(r.start)
          }
          for (let m = 0; m < 1440; m++) {
            const expected = minutesOpen(a, day, m) && minutesOpen(b, day, m)
            if (minutesOpen(both, day, m) !== expected) {
              throw new Error(`day ${day} minute ${m}: expected open=${expected}`)
            }
          }
        }
      }),
      { numRuns: 200 },
    )
  })
})

function hhmm(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`
}

describe('parseDateTime', () => {
  const p = (input: string, zone = SOFIA, dateOnly = false): string | null =>
    parseDateTime(input, zone, dateOnly)?.toISOString() ?? null

  it('reads Z and explicit offsets as given, whatever the zone', () => {
    expect(p('2026-03-01T10:00:00Z')).toBe('2026-03-01T10:00:00.000Z')
    expect(p('2026-03-01T10:00:00z')).toBe('2026-03-01T10:00:00.000Z')
    expect(p('2026-03-01T10:00Z')).toBe('2026-03-01T10:00:00.000Z')
    expect(p('2026-03-01T10:00:00+02:00', NEW_YORK)).toBe('2026-03-01T08:00:00.000Z')
    expect(p('2026-03-01T10:00:00-05:30')).toBe('2026-03-01T15:30:00.000Z')
    expect(p('2026-03-01T10:00:00+0200')).toBe('2026-03-01T08:00:00.000Z')
    expect(p('2026-03-01T10:00:00+02')).toBe('2026-03-01T08:00:00.000Z')
    expect(p('2026-03-01 10:00:00Z')).toBe('2026-03-01T10:00:00.000Z')
  })

  it('keeps fractional seconds to the millisecond', () => {
    expect(p('2026-03-01T10:00:00.5Z')).toBe('2026-03-01T10:00:00.500Z')
    expect(p('2026-03-01T10:00:00.123456789Z')).toBe('2026-03-01T10:00:00.123Z')
    expect(p('2026-03-01T10:00:00.250+01:00')).toBe('2026-03-01T09:00:00.250Z')
  })

  it('reads a time without an offset as wall time in the zone', () => {
    expect(p('2026-03-01T10:00')).toBe('2026-03-01T08:00:00.000Z')
    expect(p('2026-03-01 10:00:00')).toBe('2026-03-01T08:00:00.000Z')
    expect(p('2026-07-01T10:00', SOFIA)).toBe('2026-07-01T07:00:00.000Z')
    expect(p('2026-07-01T10:00', NEW_YORK)).toBe('2026-07-01T14:00:00.000Z')
    expect(p('2026-07-01T10:00:30.75', 'UTC')).toBe('2026-07-01T10:00:30.750Z')
    expect(p('  2026-07-01T10:00  ', 'UTC')).toBe('2026-07-01T10:00:00.000Z')
  })

  it('maps a wall time in a spring-forward gap to the moment the clocks jump', () => {
    expect(p('2026-03-29T03:30', SOFIA)).toBe('2026-03-29T01:00:00.000Z')
    expect(p('2026-03-29T03:00', SOFIA)).toBe('2026-03-29T01:00:00.000Z')
    expect(p('2026-03-29T04:00', SOFIA)).toBe('2026-03-29T01:00:00.000Z')
    expect(p('2026-03-29T02:59:59.999', SOFIA)).toBe('2026-03-29T00:59:59.999Z')
    expect(p('2026-03-08T02:30', NEW_YORK)).toBe('2026-03-08T07:00:00.000Z')
  })

  it('maps a repeated wall time to its first occurrence unless an offset says otherwise', () => {
    expect(p('2026-11-01T01:30', NEW_YORK)).toBe('2026-11-01T05:30:00.000Z')
    expect(p('2026-11-01T01:30-05:00', NEW_YORK)).toBe('2026-11-01T06:30:00.000Z')
    expect(p('2026-10-25T03:30', SOFIA)).toBe('2026-10-25T00:30:00.000Z')
  })

  it('accepts a bare date only when asked, as local midnight', () => {
    expect(p('2026-03-01')).toBeNull()
    expect(p('2026-03-01', SOFIA, true)).toBe('2026-02-28T22:00:00.000Z')
    expect(p('2026-09-06', SANTIAGO, true)).toBe('2026-09-06T04:00:00.000Z')
  })

  it('accepts leap days only in leap years', () => {
    expect(p('2028-02-29T10:00Z')).toBe('2028-02-29T10:00:00.000Z')
    expect(p('2026-02-29T10:00Z')).toBeNull()
    expect(p('2100-02-29T10:00Z')).toBeNull()
    expect(p('2000-02-29T10:00Z')).toBe('2000-02-29T10:00:00.000Z')
  })

  it.each([
    '',
    'nonsense',
    'now',
    '1772359200000',
    '2026-13-01T10:00:00Z',
    '2026-00-10T10:00:00Z',
    '2026-02-30T10:00',
    '2026-04-31T10:00',
    '2026-03-00T10:00',
    '2026-03-01T25:00',
    '2026-03-01T24:00',
    '2026-03-01T10:60',
    '2026-03-01T10:00:60',
    '2026-03-01T10',
    '2026-03-01T1:00',
    '2026-3-1T10:00',
    '26-03-01T10:00',
    '1899-12-31T23:59:59Z',
    '10000-01-01T00:00:00Z',
    '+002026-03-01T10:00:00Z',
    '2026-03-01T10:00:00+25:00',
    '2026-03-01T10:00:00+02:60',
    '2026-03-01T10:00:00Zjunk',
    '2026-03-01T10:00:00 Z',
    '2026-03-01Z',
    '2026-03-01T10:00:00.Z',
    '2026-03-01X10:00',
    '2026-03-01T10:00:00.1234567890Z',
  ])('rejects %j', (input) => {
    expect(parseDateTime(input, SOFIA)).toBeNull()
    expect(parseDateTime(input, SOFIA, true)).toBeNull()
  })

  it('accepts the year range bounds', () => {
    expect(p('1900-01-01T00:00:00Z')).toBe('1900-01-01T00:00:00.000Z')
    expect(p('9999-12-31T23:59:59Z')).toBe('9999-12-31T23:59:59.000Z')
  })

  it('throws for an invalid zone, which is a configuration bug', () => {
    expect(() => parseDateTime('2026-03-01T10:00Z', 'Nowhere/Special')).toThrow(RangeError)
  })

  it('round-trips any instant written with Z or as local wall time plus offset (property)', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1950-01-01T00:00:00Z'),
          max: new Date('2200-01-01T00:00:00Z'),
          noInvalidDate: true,
        }),
        fc.constantFrom(SOFIA, NEW_YORK, SANTIAGO, 'UTC', 'Asia/Kolkata'),
        (at, zone) => {
          expect(parseDateTime(at.toISOString(), zone)?.getTime()).toBe(at.getTime())
        },
      ),
    )
  })
})

describe('calendar helpers', () => {
  it('localDate uses the shop zone', () => {
    expect(localDate(d('2026-03-01T22:30:00Z'), SOFIA)).toBe('2026-03-02')
    expect(localDate(d('2026-03-01T22:30:00Z'), NEW_YORK)).toBe('2026-03-01')
    expect(localDate(d('2026-03-02T03:00:00Z'), NEW_YORK)).toBe('2026-03-01')
    expect(localDate(d('2026-03-01T00:00:00Z'), 'UTC')).toBe('2026-03-01')
    expect(() => localDate(new Date(Number.NaN), 'UTC')).toThrow(RangeError)
  })

  it('startOfLocalDay is local midnight', () => {
    expect(startOfLocalDay('2026-03-02', SOFIA).toISOString()).toBe('2026-03-01T22:00:00.000Z')
    expect(startOfLocalDay('2026-07-02', NEW_YORK).toISOString()).toBe('2026-07-02T04:00:00.000Z')
    expect(startOfLocalDay('2026-03-29', SOFIA).toISOString()).toBe('2026-03-28T22:00:00.000Z')
    expect(startOfLocalDay('2026-03-30', SOFIA).toISOString()).toBe('2026-03-29T21:00:00.000Z')
    expect(() => startOfLocalDay('2026-02-30', SOFIA)).toThrow(RangeError)
  })

  it('addDays moves across months, years and leap days', () => {
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01')
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29')
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01')
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28')
    expect(addDays('2026-03-29', 0)).toBe('2026-03-29')
    expect(addDays('2026-01-01', 365)).toBe('2027-01-01')
    expect(() => addDays('2026-02-30', 1)).toThrow(RangeError)
    expect(() => addDays('2026-02-01', 1.5)).toThrow(RangeError)
  })

  it('isValidDate is strict', () => {
    for (const ok of ['2026-03-01', '2024-02-29', '2000-02-29', '1900-01-01', '9999-12-31']) {
      expect(isValidDate(ok)).toBe(true)
    }
    for (const bad of [
      '2026-02-30',
      '2026-02-29',
      '2100-02-29',
      '2026-04-31',
      '2026-13-01',
      '2026-00-01',
      '2026-01-00',
      '2026-3-01',
      '2026-03-1',
      '2026/03/01',
      ' 2026-03-01',
      '2026-03-01T00:00',
      '1899-12-31',
      '',
    ]) {
      expect(isValidDate(bad)).toBe(false)
    }
  })

  it('isValidTimeZone accepts IANA names only', () => {
    for (const ok of ['UTC', SOFIA, NEW_YORK, SANTIAGO, 'Asia/Kolkata', 'Etc/GMT+2']) {
      expect(isValidTimeZone(ok)).toBe(true)
    }
    for (const bad of ['', 'Mars/Olympus', 'local', '+02:00', 'UTC+2', 'Europe/Sofia ']) {
      expect(isValidTimeZone(bad)).toBe(false)
    }
  })

  it('formatLocal writes the local time for people', () => {
    expect(formatLocal(d('2026-03-02T08:00:00Z'), SOFIA)).toBe('Mon 2 Mar 2026, 10:00')
    expect(formatLocal(d('2026-09-13T23:05:00Z'), NEW_YORK)).toBe('Sun 13 Sep 2026, 19:05')
    expect(formatLocal(d('2026-11-01T05:30:00Z'), NEW_YORK)).toBe('Sun 1 Nov 2026, 01:30')
    expect(formatLocal(d('2026-11-01T06:30:00Z'), NEW_YORK)).toBe('Sun 1 Nov 2026, 01:30')
    expect(formatLocal(d('2026-12-31T23:59:00Z'), 'UTC')).toBe('Thu 31 Dec 2026, 23:59')
  })
})

describe('properties over dates and zones', () => {
  const zones = [
    'UTC',
    SOFIA,
    NEW_YORK,
    SANTIAGO,
    'Australia/Lord_Howe', // 30-minute DST shift
    'Asia/Kolkata',
    'America/St_Johns',
    'Europe/London',
    'Asia/Tehran',
  ]
  const dateArb = fc
    .date({
      min: new Date('1970-01-01T00:00:00Z'),
      max: new Date('2099-12-31T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((at) => at.toISOString().slice(0, 10))
  const zoneArb = fc.constantFrom(...zones)

  it('localDate(startOfLocalDay(d)) === d', () => {
    fc.assert(
      fc.property(dateArb, zoneArb, (date, zone) => {
        expect(localDate(startOfLocalDay(date, zone), zone)).toBe(date)
        // And the instant just before belongs to the previous day.
        const before = new Date(startOfLocalDay(date, zone).getTime() - 1)
        expect(localDate(before, zone)).toBe(addDays(date, -1))
      }),
      { numRuns: 500 },
    )
  })

  it('a whole-day schedule covers exactly the local day', () => {
    fc.assert(
      fc.property(dateArb, zoneArb, (date, zone) => {
        const intervals = openIntervals(ALL_DAY, date, zone)
        expect(intervals).toHaveLength(1)
        expect(intervals[0]?.start.getTime()).toBe(startOfLocalDay(date, zone).getTime())
        expect(intervals[0]?.end.getTime()).toBe(startOfLocalDay(addDays(date, 1), zone).getTime())
      }),
      { numRuns: 300 },
    )
  })

  it('isOpen agrees with openIntervals, and intervals stay inside their day', () => {
    const h = parseHours(
      'mon-fri 09:00-13:00,14:00-19:00; sat 00:00-03:00,10:00-24:00; sun 00:00-02:00',
    )
    fc.assert(
      fc.property(
        dateArb,
        zoneArb,
        fc.integer({ min: 0, max: 26 * 60 - 1 }),
        fc.integer({ min: 0, max: 180 }),
        (date, zone, offsetMin, lengthMin) => {
          const dayStart = startOfLocalDay(date, zone).getTime()
          const dayEnd = startOfLocalDay(addDays(date, 1), zone).getTime()
          const intervals = openIntervals(h, date, zone)
          let previousEnd = dayStart - 1
          for (const i of intervals) {
            expect(i.start.getTime()).toBeGreaterThan(previousEnd)
            expect(i.end.getTime()).toBeGreaterThan(i.start.getTime())
            expect(i.end.getTime()).toBeLessThanOrEqual(dayEnd)
            previousEnd = i.end.getTime()
          }
          const s = dayStart + offsetMin * 60_000
          const e = s + lengthMin * 60_000
          if (s >= dayEnd) return
          const inside = intervals.some(
            (i) => i.start.getTime() <= s && s < i.end.getTime() && e <= i.end.getTime(),
          )
          const result = isOpen(h, new Date(s), new Date(e), zone)
          if (e <= dayEnd) {
            // Within a day, the only way to be open is to fit one interval (s === e included).
            expect(result).toBe(inside)
          } else if (result) {
            // Past midnight it must run to the end of the day and on into the next one.
            expect(intervals.at(-1)?.end.getTime()).toBe(dayEnd)
            expect(openIntervals(h, addDays(date, 1), zone)[0]?.start.getTime()).toBe(dayEnd)
          }
        },
      ),
      { numRuns: 500 },
    )
  })
})
