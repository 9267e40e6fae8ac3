/**
 * TOTP against codes from Debian's oathtool (not our own generator): enrolment and confirmation, ±1 step,
 * single use (also under concurrency), sealed seeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUser } from '../risk/fixture.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';
import { ACTOR, createMfaFixture, oathtool, type MfaFixture } from './fixture.ts';

let m: MigratedDatabase;
let f: MfaFixture;
const T = 'mfa';
const STEP = 30_000;

beforeAll(async () => {
  m = await createMigratedDatabase();
  await insertTenant(m.db, T);
  f = createMfaFixture(m.db);
});

afterAll(async () => {
  await f?.audit.close();
  await m?.close();
});

/** A user with a confirmed TOTP factor; returns the user id and the base32 secret. */
async function enrolled(name: string): Promise<{ user: string; secret: string }> {
  const user = await insertUser(m.db, T, name);
  const e = await f.totp.enrol(T, user, { issuer: 'Acme', label: name });
  expect(await f.totp.confirm(T, user, e.factorId, oathtool(e.secret, f.clock.now()), ACTOR)).toBe(true);
  f.clock.advance(STEP);
  return { user, secret: e.secret };
}

describe('TOTP enrolment', () => {
  it('gives an otpauth URI, the secret as text and a QR code, and seals the seed', async () => {
    const user = await insertUser(m.db, T, 'grace');
    const e = await f.totp.enrol(T, user, { issuer: 'Acme Corp', label: 'grace@acme.test' });
    expect(e.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(e.otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(uri.searchParams.get('secret')).toBe(e.secret);
    expect(uri.searchParams.get('issuer')).toBe('Acme Corp');
    expect(e.qrSvg).toMatch(/^<svg[^>]*>/);
    const row = await m.db.selectFrom('mfa_factors').selectAll().where('tenant_id', '=', T).where('id', '=', e.factorId).executeTakeFirstOrThrow();
    expect(row.status).toBe('pending');
    expect(row.secret_jwe).not.toContain(e.secret);
    expect(row.secret_jwe.split('.')).toHaveLength(5);
  });

  it('a pending factor does not count until one code confirms it; a wrong code does not', async () => {
    const user = await insertUser(m.db, T, 'heidi');
    const e = await f.totp.enrol(T, user, { issuer: 'Acme', label: 'heidi' });
    const code = oathtool(e.secret, f.clock.now());
    expect(await f.totp.verify(T, user, code)).toEqual({ ok: false, reason: 'not_enrolled' });
    const wrong = code === '000000' ? '111111' : '000000';
    expect(await f.totp.confirm(T, user, e.factorId, wrong, ACTOR)).toBe(false);
    expect(await f.totp.confirm(T, user, e.factorId, code, ACTOR)).toBe(true);
    // The confirming code cannot be replayed at sign-in.
    expect(await f.totp.verify(T, user, code)).toEqual({ ok: false, reason: 'replayed' });
    expect(await f.totp.confirm(T, user, e.factorId, code, ACTOR)).toBe(false);
  });

  it('a new confirmed enrolment replaces the previous factor', async () => {
    const { user, secret: old } = await enrolled('ivan');
    const e = await f.totp.enrol(T, user, { issuer: 'Acme', label: 'ivan' });
    expect(await f.totp.confirm(T, user, e.factorId, oathtool(e.secret, f.clock.now()), ACTOR)).toBe(true);
    f.clock.advance(STEP);
    expect(await f.totp.verify(T, user, oathtool(old, f.clock.now()))).toEqual({ ok: false, reason: 'invalid' });
    expect((await f.totp.verify(T, user, oathtool(e.secret, f.clock.now()))).ok).toBe(true);
    expect((await f.factors.list(T, user)).map((x) => x.status)).toEqual(['active']);
  });
});

describe('TOTP verification', () => {
  it('accepts the current code from oathtool', async () => {
    const { user, secret } = await enrolled('judy');
    const r = await f.totp.verify(T, user, oathtool(secret, f.clock.now()));
    expect(r).toMatchObject({ ok: true, timeStep: Math.floor(f.clock.now().getTime() / STEP) });
  });

  it('accepts one step either side, not two', async () => {
    const { user, secret } = await enrolled('ken');
    // Move clear of the step the confirming code used (that one is spent).
    f.clock.advance(2 * STEP);
    const now = f.clock.now().getTime();
    expect(await f.totp.verify(T, user, oathtool(secret, new Date(now - 2 * STEP)))).toEqual({ ok: false, reason: 'invalid' });
    expect((await f.totp.verify(T, user, oathtool(secret, new Date(now - STEP)))).ok).toBe(true);
    expect((await f.totp.verify(T, user, oathtool(secret, new Date(now + STEP)))).ok).toBe(true);
    expect(await f.totp.verify(T, user, oathtool(secret, new Date(now + 2 * STEP)))).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses a replay within the window, and an older step after a newer one', async () => {
    const { user, secret } = await enrolled('leo');
    const code = oathtool(secret, f.clock.now());
    expect((await f.totp.verify(T, user, code)).ok).toBe(true);
    f.clock.advance(10_000);
    expect(await f.totp.verify(T, user, code)).toEqual({ ok: false, reason: 'replayed' });
    const previous = oathtool(secret, new Date(f.clock.now().getTime() - STEP));
    expect(await f.totp.verify(T, user, previous)).toEqual({ ok: false, reason: 'replayed' });
    f.clock.advance(STEP);
    expect((await f.totp.verify(T, user, oathtool(secret, f.clock.now()))).ok).toBe(true);
  });

  it('lets exactly one of many concurrent uses of a code through', async () => {
    const { user, secret } = await enrolled('mallory');
    const code = oathtool(secret, f.clock.now());
    const results = await Promise.all(Array.from({ length: 12 }, () => f.totp.verify(T, user, code)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.reason === 'replayed')).toHaveLength(11);
  });

  it('refuses malformed codes without looking further', async () => {
    const { user } = await enrolled('nina');
    for (const code of ['', '12345', '1234567', 'abcdef']) expect(await f.totp.verify(T, user, code)).toEqual({ ok: false, reason: 'invalid' });
  });

  it("keeps one tenant's factor out of another's reach", async () => {
    const { user, secret } = await enrolled('oscar');
    await insertTenant(m.db, 'other');
    expect(await f.totp.verify('other', user, oathtool(secret, f.clock.now()))).toEqual({ ok: false, reason: 'not_enrolled' });
  });
});
