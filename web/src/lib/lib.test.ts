import { describe, expect, it } from 'vitest'
import { canChange, cutoffText, isUpcoming, money } from './policy'
import { dayPart, groupByDayPart, longDay, shopDays, timeOfDay, when, zoneLabel } from './time'

describe('times in the shop zone', () => {
  const zone = 'Europe/Sofia'
  it('shows instants in the shop zone, whatever the device zone', () => {
    // 08:30Z is 10:30 in Sofia in winter.
    expect(timeOfDay('2026-12-08T08:30:00Z', zone)).toBe('10:30')
    expect(when('2026-12-08T08:30:00Z', zone)).toBe('Tuesday 8 December, 10:30')
    expect(when('2026-12-08T08:30:00Z', 'America/New_York')).toBe('Tuesday 8 December, 03:30')
    // Late UTC evening is already tomorrow in Sofia.
    expect(longDay('2026-12-08T22:30:00Z', zone)).toBe('Wednesday 9 December')
    expect(zoneLabel(zone, new Date('2026-12-08T00:00:00Z'))).toBe('Europe/Sofia (UTC+2)')
    expect(zoneLabel('UTC', new Date('2026-12-08T00:00:00Z'))).toBe('UTC')
    expect(zoneLabel(zone, new Date('2026-07-08T00:00:00Z'))).toBe('Europe/Sofia (UTC+3)')
    expect(zoneLabel('America/St_Johns', new Date('2026-12-08T00:00:00Z'))).toBe(
      'America/St_Johns (UTC−3:30)',
    )
    expect(zoneLabel('Asia/Kolkata', new Date('2026-12-08T00:00:00Z'))).toBe(
      'Asia/Kolkata (UTC+5:30)',
    )
  })

  it('groups slots into morning, afternoon and evening by the shop clock', () => {
    expect(dayPart('2026-12-08T09:59:00Z', zone)).toBe('morning') // 11:59
    expect(dayPart('2026-12-08T10:00:00Z', zone)).toBe('afternoon') // 12:00
    expect(dayPart('2026-12-08T15:00:00Z', zone)).toBe('evening') // 17:00
    const groups = groupByDayPart(
      [
        { start_time: '2026-12-08T07:00:00Z' },
        { start_time: '2026-12-08T16:00:00Z' },
        { start_time: '2026-12-08T16:30:00Z' },
      ],
      zone,
    )
    expect(groups.map((g) => [g.label, g.slots.length])).toEqual([
      ['Morning', 1],
      ['Evening', 2],
    ])
  })

  it('counts days from the shop date, across a DST change and a month end', () => {
    expect(shopDays(zone, new Date('2026-12-30T12:00:00Z'), 1, 3)).toEqual([
      '2026-12-31',
      '2027-01-01',
      '2027-01-02',
    ])
    // 23:30Z on 7 Dec is already 8 Dec in Sofia.
    expect(shopDays(zone, new Date('2026-12-07T23:30:00Z'), 0, 2)).toEqual([
      '2026-12-08',
      '2026-12-09',
    ])
    expect(shopDays(zone, new Date('2026-03-28T12:00:00Z'), 0, 3)).toEqual([
      '2026-03-28',
      '2026-03-29',
      '2026-03-30',
    ])
  })
})

describe('the cancellation policy', () => {
  const now = new Date('2026-12-08T10:00:00Z')
  it('lets a customer change a booking only while the start is beyond the cutoff', () => {
    const b = (start: string, status = 'confirmed') => ({ start_time: start, status })
    expect(canChange(b('2026-12-08T12:00:01Z'), 2, now)).toBe(true)
    expect(canChange(b('2026-12-08T12:00:00Z'), 2, now)).toBe(false)
    expect(canChange(b('2026-12-08T11:00:00Z'), 0.5, now)).toBe(true)
    expect(canChange(b('2026-12-09T12:00:00Z', 'cancelled'), 2, now)).toBe(false)
    expect(canChange(b('2026-12-09T12:00:00Z', 'pending'), 2, now)).toBe(true)
    expect(isUpcoming(b('2026-12-08T09:00:00Z'), now)).toBe(false)
  })

  it('says the cutoff in words and prices in the shop currency', () => {
    expect(cutoffText(2)).toBe('2 hours')
    expect(cutoffText(1)).toBe('1 hour')
    expect(cutoffText(48)).toBe('2 days')
    expect(cutoffText(1.5)).toBe('90 minutes')
    expect(money('25.00', 'EUR')).toBe('€25.00')
    expect(money('40.50', 'USD')).toBe('US$40.50')
  })
})
