import { describe, expect, it } from 'vitest';
import { generateSecret, hashSecret, verifySecret } from './secrets.ts';

describe('secrets', () => {
  it('verifies the secret it hashed and nothing else', () => {
    const secret = generateSecret();
    const stored = hashSecret(secret);
    expect(stored).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    expect(stored).not.toContain(secret);
    expect(verifySecret(stored, secret)).toBe(true);
    expect(verifySecret(stored, secret + 'x')).toBe(false);
    expect(verifySecret(stored, '')).toBe(false);
  });

  it('refuses stored values that are not digests (a clear-text secret never matches itself)', () => {
    expect(verifySecret('plain-secret', 'plain-secret')).toBe(false);
    expect(verifySecret('sha256:short', 'anything')).toBe(false);
  });

  it('makes 256-bit secrets', () => {
    expect(Buffer.from(generateSecret(), 'base64url')).toHaveLength(32);
    expect(generateSecret()).not.toBe(generateSecret());
  });
});
