/**
 * Passkey storage on a real PostgreSQL: a challenge is consumed once (also under a race) and only for its
 * purpose and binding; the sign counter only moves forward; credentials are found in their tenant only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids.ts';
import { PasskeyRepository, type NewPasskey } from '../../src/mfa/passkey-repository.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';
import { insertUser } from '../risk/fixture.ts';

const A = 'pk-a';
const B = 'pk-b';
const NOW = new Date('2026-11-26T12:00:00Z');
let m: MigratedDatabase;
let repo: PasskeyRepository;
let userA: string;

function passkey(userId: string, credentialId: string, signCount: number): NewPasskey {
  return {
    id: newId(),
    userId,
    credentialId,
    publicKey: new Uint8Array([1, 2, 3]),
    signCount,
    transports: ['internal'],
    name: 'Laptop',
    aaguid: '00000000-0000-0000-0000-000000000000',
    deviceType: 'singleDevice',
    backedUp: false,
    createdAt: NOW,
  };
}

beforeAll(async () => {
  m = await createMigratedDatabase();
  await insertTenant(m.db, A);
  await insertTenant(m.db, B);
  userA = await insertUser(m.db, A, 'ada');
  repo = new PasskeyRepository(m.db);
});

afterAll(async () => {
  await m?.close();
});

describe('webauthn challenges', () => {
  it('are consumed once, even by concurrent verifications', async () => {
    const c = { challenge: 'race-challenge', purpose: 'authentication' as const, binding: 'interaction:u1' };
    await repo.saveChallenge(A, { ...c, userId: null, expiresAt: new Date(NOW.getTime() + 60_000) });
    const results = await Promise.all(Array.from({ length: 8 }, () => repo.consumeChallenge(A, { ...c, now: NOW })));
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
  });

  it('are bound to their purpose, binding, tenant and lifetime', async () => {
    const c = { challenge: 'bound-challenge', purpose: 'registration' as const, binding: 'account:n1' };
    await repo.saveChallenge(A, { ...c, userId: userA, expiresAt: new Date(NOW.getTime() + 60_000) });
    expect(await repo.consumeChallenge(A, { ...c, purpose: 'authentication', now: NOW })).toBeUndefined();
    expect(await repo.consumeChallenge(A, { ...c, binding: 'account:other', now: NOW })).toBeUndefined();
    expect(await repo.consumeChallenge(B, { ...c, now: NOW })).toBeUndefined();
    expect(await repo.consumeChallenge(A, { ...c, now: new Date(NOW.getTime() + 61_000) })).toBeUndefined();
    expect(await repo.consumeChallenge(A, { ...c, now: NOW })).toEqual({ userId: userA });
  });
});

describe('passkeys', () => {
  it('accept a growing sign counter and refuse one that does not grow', async () => {
    await repo.insert(A, passkey(userA, 'cred-counter', 5));
    expect(await repo.recordUse(A, 'cred-counter', { signCount: 6, backedUp: false, at: NOW })).toBe('updated');
    expect(await repo.recordUse(A, 'cred-counter', { signCount: 6, backedUp: false, at: NOW })).toBe('regressed');
    expect(await repo.recordUse(A, 'cred-counter', { signCount: 0, backedUp: false, at: NOW })).toBe('regressed');
    expect((await repo.findByCredentialId(A, 'cred-counter'))?.signCount).toBe(6);
  });

  it('allow an authenticator without a counter (always zero)', async () => {
    await repo.insert(A, passkey(userA, 'cred-zero', 0));
    expect(await repo.recordUse(A, 'cred-zero', { signCount: 0, backedUp: true, at: NOW })).toBe('updated');
    expect((await repo.findByCredentialId(A, 'cred-zero'))?.backedUp).toBe(true);
  });

  it('of one tenant are invisible to another', async () => {
    await repo.insert(A, passkey(userA, 'cred-tenant', 1));
    expect(await repo.findByCredentialId(B, 'cred-tenant')).toBeUndefined();
    expect(await repo.recordUse(B, 'cred-tenant', { signCount: 2, backedUp: false, at: NOW })).toBe('missing');
  });
});
