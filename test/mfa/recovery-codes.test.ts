/** Recovery codes: ten, shown once, stored hashed, each usable once (also under concurrency); admin reset. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditRepository } from '../../src/audit/audit-repository.ts';
import { insertUser } from '../risk/fixture.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';
import { ACTOR, createMfaFixture, oathtool, type MfaFixture } from './fixture.ts';

let m: MigratedDatabase;
let f: MfaFixture;
const T = 'rc';

beforeAll(async () => {
  m = await createMigratedDatabase();
  await insertTenant(m.db, T);
  f = createMfaFixture(m.db);
});

afterAll(async () => {
  await f?.audit.close();
  await m?.close();
});

describe('recovery codes', () => {
  it('are ten distinct codes of 80 bits, stored only as digests', async () => {
    const user = await insertUser(m.db, T, 'peggy');
    const codes = await f.recovery.regenerate(T, user, ACTOR);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    const rows = await m.db.selectFrom('mfa_recovery_codes').select('code_hash').where('tenant_id', '=', T).where('user_id', '=', user).execute();
    expect(rows).toHaveLength(10);
    const stored = JSON.stringify(rows);
    for (const c of codes) expect(stored).not.toContain(c.replace(/-/g, ''));
    expect(await f.recovery.remaining(T, user)).toBe(10);
  });

  it('work once each, typed loosely (lower case, no dashes)', async () => {
    const user = await insertUser(m.db, T, 'quinn');
    const [first = '', second = ''] = await f.recovery.regenerate(T, user, ACTOR);
    expect(await f.recovery.consume(T, user, first)).toBe(true);
    expect(await f.recovery.consume(T, user, first)).toBe(false);
    expect(await f.recovery.consume(T, user, second.replace(/-/g, '').toLowerCase())).toBe(true);
    expect(await f.recovery.consume(T, user, 'AAAA-BBBB-CCCC-DDDD')).toBe(false);
    expect(await f.recovery.consume(T, user, 'short')).toBe(false);
    expect(await f.recovery.remaining(T, user)).toBe(8);
  });

  it('work only once when used concurrently', async () => {
    const user = await insertUser(m.db, T, 'rupert');
    const [code = ''] = await f.recovery.regenerate(T, user, ACTOR);
    const results = await Promise.all(Array.from({ length: 12 }, () => f.recovery.consume(T, user, code)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('regenerating voids the old codes', async () => {
    const user = await insertUser(m.db, T, 'sybil');
    const old = await f.recovery.regenerate(T, user, ACTOR);
    const fresh = await f.recovery.regenerate(T, user, ACTOR);
    expect(await f.recovery.consume(T, user, old[0] ?? '')).toBe(false);
    expect(await f.recovery.consume(T, user, fresh[0] ?? '')).toBe(true);
  });

  it("are bound to their user and tenant", async () => {
    const a = await insertUser(m.db, T, 'trent');
    const b = await insertUser(m.db, T, 'uma');
    const [code = ''] = await f.recovery.regenerate(T, a, ACTOR);
    expect(await f.recovery.consume(T, b, code)).toBe(false);
    await insertTenant(m.db, 'rc-other');
    expect(await f.recovery.consume('rc-other', a, code)).toBe(false);
    expect(await f.recovery.consume(T, a, code)).toBe(true);
  });
});

describe('admin reset', () => {
  it("removes the user's TOTP factor and recovery codes, and audits it", async () => {
    const user = await insertUser(m.db, T, 'victor');
    const e = await f.totp.enrol(T, user, { issuer: 'Acme', label: 'victor' });
    await f.totp.confirm(T, user, e.factorId, oathtool(e.secret, f.clock.now()), ACTOR);
    await f.recovery.regenerate(T, user, ACTOR);
    const other = await insertUser(m.db, T, 'walter');
    await f.recovery.regenerate(T, other, ACTOR);

    expect(await f.reset.reset(T, user, { actor: 'admin:bootstrap' })).toEqual({ factorsRemoved: 1, recoveryCodesRemoved: 10 });
    f.clock.advance(30_000);
    expect(await f.totp.verify(T, user, oathtool(e.secret, f.clock.now()))).toEqual({ ok: false, reason: 'not_enrolled' });
    expect(await f.recovery.remaining(T, user)).toBe(0);
    expect(await f.recovery.remaining(T, other)).toBe(10);
    const events = await new AuditRepository(m.db).list(T, { type: 'mfa.reset', limit: 10 });
    expect(events.items[0]).toMatchObject({ actor: 'admin:bootstrap', subject: `user:${user}`, details: { factorsRemoved: 1, recoveryCodesRemoved: 10 } });
  });
});
