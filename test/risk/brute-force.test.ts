/**
 * Brute force on an account (progressive delay, lockout that spares a known device, hard cap) and
 * per-IP / per-network failure throttles (429), with counters in PostgreSQL and the clock moved by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignInAttempt } from '../../src/risk/types.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';
import { context, createFixture, establish, insertUser, MINUTE, type Fixture } from './fixture.ts';

let m: MigratedDatabase;
let f: Fixture;
const T = 'bf';
const ATTACKER = '198.51.100.7';

beforeAll(async () => {
  m = await createMigratedDatabase();
  await insertTenant(m.db, T);
  f = createFixture(m.db);
});

afterAll(async () => {
  await f?.audit.close();
  await m?.close();
});

const attempt = (username: string, over: Partial<SignInAttempt> = {}): SignInAttempt => ({
  tenantId: T,
  username,
  ip: ATTACKER,
  userAgent: 'Mozilla/5.0',
  device: { status: 'absent' },
  ...over,
});

/** `n` failures one minute apart (past any progressive delay). */
async function fail(username: string, n: number, over: Partial<SignInAttempt> = {}): Promise<number> {
  let last = 0;
  for (let i = 0; i < n; i++) {
    last = (await f.engine.recordFailure(attempt(username, over))).consecutiveFailures;
    f.clock.advance(MINUTE);
  }
  return last;
}

describe('account brute force', () => {
  it('delays progressively after three consecutive failures', async () => {
    const r1 = await f.engine.recordFailure(attempt('delayed'));
    await f.engine.recordFailure(attempt('delayed'));
    expect(r1.next).toEqual({ kind: 'proceed' });
    const third = await f.engine.recordFailure(attempt('delayed'));
    expect(third).toEqual({ consecutiveFailures: 3, next: { kind: 'delayed', retryAfterSeconds: 1 } });
    expect(await f.engine.precheck(attempt('delayed'))).toEqual({ kind: 'delayed', retryAfterSeconds: 1 });
    f.clock.advance(1000);
    expect(await f.engine.precheck(attempt('delayed'))).toEqual({ kind: 'proceed' });
    const fourth = await f.engine.recordFailure(attempt('delayed'));
    expect(fourth.next).toEqual({ kind: 'delayed', retryAfterSeconds: 2 });
  });

  it('locks the account after ten failures but spares a browser holding a valid device cookie', async () => {
    const user = await insertUser(m.db, T, 'alice');
    const device = await establish(f, T, user, 'alice');
    const result = await fail('alice', 10);
    expect(result).toBe(10);
    f.clock.advance(-MINUTE);

    const stranger = await f.engine.precheck(attempt('alice', { userId: user }));
    expect(stranger).toMatchObject({ kind: 'locked', hardCap: false });
    expect(stranger.kind === 'locked' && stranger.retryAfterSeconds).toBe(15 * 60);
    expect(await f.engine.precheck(attempt('alice', { userId: user, device }))).toEqual({ kind: 'proceed' });
    // A cookie that fails its signature, or a valid cookie of a device alice never used, spares nothing.
    expect(await f.engine.precheck(attempt('alice', { userId: user, device: { status: 'invalid' } }))).toMatchObject({ kind: 'locked' });
    const other = f.cookies.verify(T, f.cookies.issue(T, f.cookies.newDeviceId()));
    expect(await f.engine.precheck(attempt('alice', { userId: user, device: other }))).toMatchObject({ kind: 'locked' });
    // As the login form asks, before the password check: only the typed username is known (any case).
    expect((await f.engine.precheckSignIn(attempt('ALICE', { device }))).gate).toEqual({ kind: 'proceed' });
    expect((await f.engine.precheckSignIn(attempt('alice', { device: other }))).gate).toMatchObject({ kind: 'locked' });
    expect((await f.engine.precheckSignIn(attempt('alice'))).gate).toMatchObject({ kind: 'locked' });
    // The plain gate by the typed username alone (its read finds the device's owner by username).
    expect(await f.engine.precheck(attempt('Alice', { device }))).toEqual({ kind: 'proceed' });
    expect(await f.engine.precheck(attempt('alice', { device: other }))).toMatchObject({ kind: 'locked' });

    // The device holder signs in: the failures count against this success, and completion resets them.
    const a = await f.engine.assess(context(T, user, 'alice', { device }));
    expect(a.contributions.find((c) => c.signal === 'brute-force')).toMatchObject({ code: 'many_failures', points: 30, details: { consecutiveFailures: 10 } });
    await f.engine.complete(a);
    expect(await f.engine.precheck(attempt('alice', { userId: user }))).toEqual({ kind: 'proceed' });
  });

  it('unlocks after the lockout period', async () => {
    await fail('bob', 10);
    expect(await f.engine.precheck(attempt('bob'))).toMatchObject({ kind: 'locked' });
    f.clock.advance(15 * MINUTE);
    expect(await f.engine.precheck(attempt('bob'))).toEqual({ kind: 'proceed' });
  });

  it('locks everyone, device holders too, at the hard cap', async () => {
    const user = await insertUser(m.db, T, 'carol');
    const device = await establish(f, T, user, 'carol');
    // Failures from carol's own browser are allowed through the temporary lockout, and still count.
    await fail('carol', 50, { userId: user, device, ip: '192.0.2.50' });
    f.clock.advance(-MINUTE);
    expect(await f.engine.precheck(attempt('carol', { userId: user, device }))).toMatchObject({ kind: 'locked', hardCap: true });
    f.clock.advance(61 * MINUTE);
    expect(await f.engine.precheck(attempt('carol', { userId: user, device }))).toEqual({ kind: 'proceed' });
  });

  it('treats usernames case-insensitively, whether or not the account exists', async () => {
    await fail('Nobody', 5);
    const r = await f.engine.recordFailure(attempt('NOBODY'));
    expect(r.consecutiveFailures).toBe(6);
  });
});

describe('per-IP and per-network throttles', () => {
  it('answers 429 for an IP past 50 failures in 15 minutes, not for its neighbours', async () => {
    const ip = '203.0.113.9';
    for (let i = 0; i < 50; i++) await f.engine.recordFailure(attempt(`victim${i}`, { ip }));
    expect(await f.engine.precheck(attempt('anyone', { ip }))).toEqual({ kind: 'throttled', scope: 'ip', retryAfterSeconds: 60 });
    expect(await f.engine.precheck(attempt('anyone', { ip: '203.0.113.10' }))).toEqual({ kind: 'proceed' });
    f.clock.advance(16 * MINUTE);
    expect(await f.engine.precheck(attempt('anyone', { ip }))).toEqual({ kind: 'proceed' });
  });

  it('answers 429 for a /24 past 200 failures spread over its addresses', async () => {
    const failures = Array.from({ length: 200 }, (_, i) => attempt(`user${i}`, { ip: `203.0.114.${i % 50}` }));
    for (const a of failures) await f.engine.recordFailure(a);
    expect(await f.engine.precheck(attempt('anyone', { ip: '203.0.114.250' }))).toEqual({ kind: 'throttled', scope: 'network', retryAfterSeconds: 60 });
  });
});
