import { describe, expect, it } from 'vitest';
import { newRecoveryCode, normalizeRecoveryCode } from './recovery-codes.ts';

describe('recovery code format', () => {
  it('is 16 Crockford base32 characters in groups of four', () => {
    const codes = Array.from({ length: 200 }, newRecoveryCode);
    for (const c of codes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(new Set(codes).size).toBe(200);
  });

  it('normalises what people type', () => {
    expect(normalizeRecoveryCode(' abcd-efgh-jkmn-pqrs ')).toBe('ABCDEFGHJKMNPQRS');
    expect(normalizeRecoveryCode('O0IL-0000-0000-0000')).toBe('0011000000000000');
    expect(normalizeRecoveryCode('ABCD-EFGH-JKMN-PQRU')).toBeUndefined();
    expect(normalizeRecoveryCode('ABCD')).toBeUndefined();
  });
});
