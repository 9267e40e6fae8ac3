import { describe, expect, it } from 'vitest';
import { acrSatisfies, authenticationContext, type AuthenticationEvent } from './amr.ts';

const t0 = new Date('2026-11-26T12:00:00Z');
const at = (s: number): Date => new Date(t0.getTime() + s * 1000);
const opts = (nowS: number, riskAssessed = true) => ({ now: at(nowS), stepUpMaxAgeSeconds: 900, riskAssessed });
const pwd: AuthenticationEvent = { method: 'password', at: t0 };

describe('authenticationContext', () => {
  it('password alone: 1fa, pwd (+ rba when the risk engine decided)', () => {
    expect(authenticationContext([pwd], opts(0))).toEqual({ acr: 'urn:portcullis:acr:1fa', amr: ['pwd', 'rba'], elevatedUntil: undefined });
    expect(authenticationContext([pwd], opts(0, false)).amr).toEqual(['pwd']);
  });

  it('password + TOTP: mfa, pwd otp mfa, elevated until the TOTP ages out', () => {
    const ctx = authenticationContext([pwd, { method: 'totp', at: at(10) }], opts(20));
    expect(ctx).toEqual({ acr: 'urn:portcullis:acr:mfa', amr: ['pwd', 'otp', 'mfa', 'rba'], elevatedUntil: at(910) });
    expect(authenticationContext([pwd, { method: 'totp', at: at(10) }], opts(911))).toMatchObject({ acr: 'urn:portcullis:acr:1fa', amr: ['pwd', 'rba'] });
  });

  it('a recovery code counts as a one-time code', () => {
    expect(authenticationContext([pwd, { method: 'recovery-code', at: t0 }], opts(0, false)).amr).toEqual(['pwd', 'otp', 'mfa']);
  });

  it('passkeys: synced with user verification is phr (swk), device-bound is phrh (hwk)', () => {
    expect(authenticationContext([{ method: 'passkey', at: t0, hardwareBound: false, userVerified: true }], opts(0, false))).toEqual({
      acr: 'phr',
      amr: ['swk', 'user', 'mfa'],
      elevatedUntil: undefined,
    });
    expect(authenticationContext([pwd, { method: 'passkey', at: at(5), hardwareBound: true, userVerified: true }], opts(5, false))).toMatchObject({
      acr: 'phrh',
      amr: ['pwd', 'hwk', 'user', 'mfa'],
      elevatedUntil: at(905),
    });
  });

  it('a passkey without user verification is one possession factor', () => {
    expect(authenticationContext([{ method: 'passkey', at: t0, hardwareBound: true, userVerified: false }], opts(0, false))).toMatchObject({
      acr: 'urn:portcullis:acr:1fa',
      amr: ['hwk'],
    });
  });

  it('orders acr values for requirements', () => {
    expect(acrSatisfies('phr', 'urn:portcullis:acr:mfa')).toBe(true);
    expect(acrSatisfies('urn:portcullis:acr:mfa', 'phr')).toBe(false);
    expect(acrSatisfies('phrh', 'phrh')).toBe(true);
  });

  it('needs a factor', () => {
    expect(() => authenticationContext([], opts(0))).toThrow(TypeError);
  });
});
