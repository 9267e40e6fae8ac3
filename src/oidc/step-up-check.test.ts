import { describe, expect, it } from 'vitest';
import { requestedAcr, sessionAcrNow, strongest } from './step-up-check.ts';

const MFA = 'urn:portcullis:acr:mfa';
const ONE = 'urn:portcullis:acr:1fa';

describe('requestedAcr', () => {
  it('takes the weakest value Portcullis knows, and ignores unknown ones', () => {
    expect(requestedAcr(`phr ${MFA}`)).toBe(MFA);
    expect(requestedAcr('urn:other:gold phr')).toBe('phr');
    expect(requestedAcr('urn:other:gold')).toBeUndefined();
    expect(requestedAcr(undefined)).toBeUndefined();
  });

  it('strongest picks the highest requirement', () => {
    expect(strongest(undefined, ONE, MFA)).toBe(MFA);
    expect(strongest(undefined)).toBeUndefined();
  });
});

describe('sessionAcrNow', () => {
  const loginTs = 1_000_000;
  it('keeps a step-up for stepUpMaxAgeSeconds, then falls back to the password alone', () => {
    const session = { acr: MFA, amr: ['pwd', 'otp', 'mfa'], loginTs };
    expect(sessionAcrNow(session, 1800, (loginTs + 1800) * 1000)).toBe(MFA);
    expect(sessionAcrNow(session, 1800, (loginTs + 1801) * 1000)).toBe(ONE);
  });

  it('never raises what a session proves, and treats an unknown acr as single-factor', () => {
    expect(sessionAcrNow({ acr: ONE, amr: ['pwd'], loginTs }, 60, loginTs * 1000)).toBe(ONE);
    expect(sessionAcrNow({ acr: 'urn:portcullis:acr:password', amr: ['pwd'], loginTs }, 60, loginTs * 1000)).toBe(ONE);
  });

  it('keeps a passkey-first level for the session', () => {
    expect(sessionAcrNow({ acr: 'phr', amr: ['swk', 'user', 'mfa'], loginTs }, 60, (loginTs + 86_400) * 1000)).toBe('phr');
  });
});
