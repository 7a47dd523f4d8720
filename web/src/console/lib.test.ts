import { describe, expect, it } from 'vitest'
import { parseHours as serverParseHours } from '../../../src/shop/hours'
import {
  addDays,
  atMinutes,
  checkWeekForm,
  dayBounds,
  formatHours,
  gaps,
  intersect,
  minutesInto,
  parseHours,
  toCsv,
  todayIn,
  weekToForm,
} from './lib'

describe('weekly hours in the API syntax', () => {
  const specs = [
    'mon-sat 09:00-19:00',
    'mon-fri 09:00-13:00,14:00-19:00; sat 10:00-16:00',
    'mon,wed,fri 08:00-12:00; sun 10:00-24:00',
    'sat-mon 10:00-14:00',
    'tue 09:00-12:00; tue 11:00-15:00',
    '',
  ]
  it('reads every spec as the server does', () => {
    for (const spec of specs)
      expect(parseHours(spec)).toEqual(serverParseHours(spec).map((d) => d.map((r) => ({ ...r }))))
  })
  it('writes a week back so the server reads the same week', () => {
    for (const spec of specs) {
      const week = parseHours(spec)
      expect(serverParseHours(formatHours(week)).map((d) => d.map((r) => ({ ...r })))).toEqual(week)
    }
    expect(formatHours(parseHours('mon 09:00-17:00; tue-fri 09:00-17:00'))).toBe(
      'mon-fri 09:00-17:00',
    )
  })
  it('refuses what the server refuses', () => {
    for (const bad of ['mon 10:00-09:00', 'funday 09:00-10:00', 'mon 24:00-24:00', 'mon 9-17'])
      expect(() => parseHours(bad)).toThrow()
  })
  it('checks the form in words, per day', () => {
    const form = weekToForm(parseHours('mon-fri 09:00-17:00'))
    form[0] = { open: true, ranges: [{ start: '12:00', end: '10:00' }] }
    form[1] = {
      open: true,
      ranges: [
        { start: '09:00', end: '13:00' },
        { start: '12:00', end: '15:00' },
      ],
    }
    form[6] = { open: true, ranges: [] }
    const r = checkWeekForm(form)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.errors[0]).toMatch(/12:00 must be before 10:00/)
      expect(r.errors[1]).toMatch(/overlaps/)
      expect(r.errors[6]).toMatch(/closed/)
      expect(r.errors[2]).toBeUndefined()
    }
    const fine = checkWeekForm(weekToForm(parseHours('mon 09:00-12:00,13:00-24:00')))
    expect(fine.ok && formatHours(fine.week)).toBe('mon 09:00-12:00,13:00-24:00')
  })
})

describe('the day grid in the shop zone', () => {
  const zone = 'Europe/Sofia'
  it('places instants on the shop day, whatever the device zone', () => {
    expect(minutesInto('2026-12-08', '2026-12-08T08:30:00Z', zone)).toBe(10 * 60 + 30)
    expect(atMinutes('2026-12-08', 10 * 60 + 30, zone)).toBe('2026-12-08T10:30:00.000+02:00')
    // The day summer time ends has 25 hours: the grid speaks wall-clock time (09:00Z is 11:00).
    expect(minutesInto('2026-10-25', '2026-10-25T09:00:00Z', zone)).toBe(11 * 60)
    expect(atMinutes('2026-10-25', 11 * 60, zone)).toBe('2026-10-25T11:00:00.000+02:00')
    // An end on the next day is past 24:00 on this day's grid.
    expect(minutesInto('2026-12-08', '2026-12-08T22:30:00Z', zone)).toBe(24 * 60 + 30)
    expect(atMinutes('2026-12-08', 24 * 60 + 30, zone)).toBe('2026-12-09T00:30:00.000+02:00')
    expect(atMinutes('2026-12-08', 600, 'America/New_York')).toBe('2026-12-08T10:00:00.000-05:00')
    expect(atMinutes('2026-07-08', 600, zone)).toBe('2026-07-08T10:00:00.000+03:00')
    // 22:30 UTC on the 8th is already the 9th in Sofia.
    expect(todayIn(zone, new Date('2026-12-08T22:30:00Z'))).toBe('2026-12-09')
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01')
    expect(addDays('2026-03-29', -1)).toBe('2026-03-28')
  })
  it('bounds the rows by the day hours, stretched to bookings outside them', () => {
    const hours = parseHours('mon-fri 09:00-19:00; sat 10:00-14:00')
    expect(dayBounds(hours, '2026-12-08', 15, [])).toEqual({ start: 540, end: 1140 })
    expect(dayBounds(hours, '2026-12-12', 15, [])).toEqual({ start: 600, end: 840 })
    // Sunday is closed: the week's span.
    expect(dayBounds(hours, '2026-12-13', 15, [])).toEqual({ start: 540, end: 1140 })
    expect(dayBounds(hours, '2026-12-08', 15, [{ start: 500, end: 1150 }])).toEqual({
      start: 495,
      end: 1155,
    })
  })
  it('intersects the shop hours with a barber hours', () => {
    expect(
      intersect(
        [{ start: 540, end: 1140 }],
        [
          { start: 480, end: 720 },
          { start: 780, end: 1200 },
        ],
      ),
    ).toEqual([
      { start: 540, end: 720 },
      { start: 780, end: 1140 },
    ])
  })
  it('draws closed time as the gaps between open ranges', () => {
    expect(gaps(540, 1140, [{ start: 600, end: 780 }])).toEqual([
      { start: 540, end: 600 },
      { start: 780, end: 1140 },
    ])
  })
})

describe('CSV', () => {
  it('quotes separators and defuses formulas', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['x,y', '=1+1'],
          ['say "hi"', null],
        ],
      ),
    ).toBe('a,b\r\n"x,y",\'=1+1\r\n"say ""hi""",\r\n')
  })
})
