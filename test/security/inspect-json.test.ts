import { describe, expect, it } from 'vitest'
import { inspectJson, MAX_JSON_DEPTH, MAX_JSON_VALUES } from '../../src/http/body.js'

describe('inspectJson: one pass over a JSON text before it is parsed', () => {
  it('finds an escaped NUL in a value or a key, not a backslash followed by "u0000"', () => {
    expect(inspectJson(String.raw`{"a":"x\u0000y"}`)).toBe('nul')
    expect(inspectJson(String.raw`{"a\u0000":1}`)).toBe('nul')
    expect(inspectJson(String.raw`{"a":"\\u0000"}`)).toBe('ok')
    expect(inspectJson(String.raw`{"a":"\\\u0000"}`)).toBe('nul')
    expect(inspectJson(String.raw`{"a":"\u00000"}`)).toBe('nul')
    expect(inspectJson(String.raw`{"a":"\u0001"}`)).toBe('ok')
  })

  it('counts brackets and commas outside strings only', () => {
    const inString = `{"a":"${'['.repeat(MAX_JSON_DEPTH + 5)}${','.repeat(MAX_JSON_VALUES + 5)}"}`
    expect(inspectJson(inString)).toBe('ok')
    // An escaped quote does not end the string.
    expect(inspectJson(`{"a":"\\"${'['.repeat(MAX_JSON_DEPTH + 5)}"}`)).toBe('ok')
    expect(inspectJson('['.repeat(MAX_JSON_DEPTH + 1))).toBe('too_deep')
    expect(inspectJson('['.repeat(MAX_JSON_DEPTH))).toBe('ok')
    expect(inspectJson(`[${'0,'.repeat(MAX_JSON_VALUES + 1)}0]`)).toBe('too_many')
    // After a long string the structure is read again.
    expect(inspectJson(`["${'x'.repeat(100_000)}",${'['.repeat(MAX_JSON_DEPTH)}`)).toBe('too_deep')
  })

  it('ends on an unterminated string or a final backslash (the parser then refuses the text)', () => {
    expect(inspectJson('{"a":"abc')).toBe('ok')
    expect(inspectJson('{"a":"abc\\')).toBe('ok')
    expect(inspectJson('"\\u00')).toBe('ok')
  })
})
