import { describe, expect, it } from 'vitest'
import {
  burnVerifyTime,
  hashKind,
  hashPassword,
  needsRehash,
  verifyPassword,
} from '../../src/auth/passwords.js'

/**
 * Hashes made outside Node, as Django's hashers make them: Python's hashlib.pbkdf2_hmac and
 * hashlib.scrypt, and libxcrypt's bcrypt, with Django's encode() formats. They check our
 * verifiers against independent implementations, not against themselves.
 */
const FROM_PYTHON: [string, string][] = [
  [
    'pbkdf2_sha256$600000$aXq3ZkP0mW2yRt8uVb1cDe$124kEoovPqDjca34z71w3i84PcAVavftA35dmNiAWZk=',
    'Bl4ck-Fade-Sunday',
  ],
  ['pbkdf2_sha1$100000$Qw9eRt7yUi5oPa3sDf1gHj$FhlmeZvouFIEQwIUoPevWaSCR6c=', 'Sh4rp-Line-Monday'],
  [
    'scrypt$16384$Zx8cVb6nMa4sDf2gHj0kLq$8$1$jwHbTStsKbTTtfAMpkSyt8WWQM4mpPK12H+/XOwtkDk2glHuZQnUwMQFnVM9C/c3ALddZN60S1MaNL3Xu2dxvw==',
    'Cl3an-Shave-Friday',
  ],
  [
    'bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuuzZN.RXx5l6PPnSm1easjxqkK5ekCVFa',
    'T0p-Knot-Saturday',
  ],
]

describe("Django's password hashes", () => {
  it.each(FROM_PYTHON)('%s verifies, and only with its password', async (stored, password) => {
    expect(await verifyPassword(stored, password)).toBe(true)
    expect(await verifyPassword(stored, `${password} `)).toBe(false)
    expect(needsRehash(stored)).toBe(true)
  })

  it('never matches an unusable, unknown or malformed hash', async () => {
    for (const stored of [
      '!Xq2aZ8pLk1mN0bV4cR7tY9uI3oP6sD5fG8hJ2kL',
      '',
      'md5$salt$1b2c3d',
      'pbkdf2_sha256$99999999999$salt$abc',
      'pbkdf2_sha256$600000$aXq3ZkP0mW2yRt8uVb1cDe$',
      'scrypt$16385$salt$8$1$AAAA',
      'bcrypt_sha256$$2b$99$abcdefghijklmnopqrstuuzZN.RXx5l6PPnSm1easjxqkK5ekCVFa',
    ])
      expect(await verifyPassword(stored, 'anything'), stored).toBe(false)
    expect(hashKind('!abc')).toBe('unusable')
    expect(needsRehash('!abc')).toBe(false)
    expect(hashKind('md5$salt$1b2c3d')).toBe('unsupported')
  })

  it('takes as long for our hash or an unknown user as for a costly Django hash', async () => {
    const [pbkdf2, password] = FROM_PYTHON[0]!
    const t0 = performance.now()
    expect(await verifyPassword(pbkdf2, password)).toBe(true)
    const django = performance.now() - t0
    const ours = await hashPassword('Our-0wn-Hash')
    const t1 = performance.now()
    await verifyPassword(ours, 'wrong')
    const oursMs = performance.now() - t1
    const t2 = performance.now()
    await burnVerifyTime('anything')
    const unknownMs = performance.now() - t2
    // PBKDF2 with 600,000 rounds costs many times our argon2id; the floor evens them out.
    expect(oursMs).toBeGreaterThan(django * 0.8)
    expect(unknownMs).toBeGreaterThan(django * 0.8)
  })
})
