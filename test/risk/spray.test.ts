/** Password spray: a correct password from a source that just failed for many usernames is high risk. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresFailureCounters } from '../../src/risk/signals/postgres-failure-counters.ts';
import { SUCCESS_KEY } from '../../src/risk/signals/success-tally.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';
import { context, createFixture, establish, insertUser, MINUTE, setPolicy, type Fixture } from './fixture.ts';

let m: MigratedDatabase;
let f: Fixture;
const T = 'spray';

beforeAll(async () => {
  m = await createMigratedDatabase();
  await insertTenant(m.db, T);
  f = createFixture(m.db);
});

afterAll(async () => {
  await f?.audit.close();
  await m?.close();
});

describe('password spray', () => {
  it('a spray over 20 usernames from one /24 makes a later correct password high risk', async () => {
    const user = await insertUser(m.db, T, 'dave');
    const device = await establish(f, T, user, 'dave');
    for (let i = 0; i < 20; i++) {
      await f.engine.recordFailure({ tenantId: T, username: `staff${i}`, ip: `88.162.7.${10 + i}`, device: { status: 'absent' }, userAgent: 'Mozilla/5.0' });
    }
    f.clock.advance(5 * MINUTE);
    // dave's own browser, a fresh address in the same /24, the right password.
    const a = await f.engine.assess(context(T, user, 'dave', { device, ip: '88.162.7.200' }));
    expect(a.hardRule).toEqual({ code: 'spray_source_success', effect: 'high' });
    expect(a.level).toBe('high');
    expect(a.contributions.find((c) => c.code === 'spray_source_success')?.details).toMatchObject({
      source: 'net:88.162.7.0/24',
      distinctUsernamesFailed: 20,
    });
    expect(a.decision.computed).toEqual({ outcome: 'step-up', factor: 'phishing-resistant', acr: 'phr' });

    // The same password from dave's usual network is unaffected.
    const home = await f.engine.assess(context(T, user, 'dave', { device }));
    expect(home.level).toBe('low');

    // An hour later the window has moved on.
    f.clock.advance(61 * MINUTE);
    const later = await f.engine.assess(context(T, user, 'dave', { device, ip: '88.162.7.200' }));
    expect(later.hardRule).toBeUndefined();
  });

  it('a source failing most of its attempts suggests credential stuffing', async () => {
    const user = await insertUser(m.db, T, 'erin');
    const device = await establish(f, T, user, 'erin');
    // Stuffing: many tries for few usernames (below the spray threshold), nearly all failing.
    for (let i = 0; i < 24; i++) {
      await f.engine.recordFailure({ tenantId: T, username: `known${i % 5}`, ip: '93.184.1.1', device: { status: 'absent' } });
      f.clock.advance(1000 * 70);
    }
    const a = await f.engine.assess(context(T, user, 'erin', { device, ip: '93.184.1.1' }));
    expect(a.contributions.find((c) => c.code === 'stuffing_source')).toMatchObject({ points: 25, details: { source: 'ip:93.184.1.1', failures: 24 } });
  });

  it("counts every success behind a busy NAT in one unnamed row a minute, and still flags the NAT's spray", async () => {
    const nat = '203.0.113.77';
    const sources = [`ip:${nat}`, 'net:203.0.113.0/24'];
    // Forty people sign in behind one office address within the same minute.
    for (let i = 0; i < 40; i++) {
      const id = await insertUser(m.db, T, `office${i}`);
      await f.engine.assess(context(T, id, `office${i}`, { ip: nat }));
    }
    await f.successes.flush();
    const rows = await m.db.selectFrom('source_attempts').select(['source', 'username', 'successes', 'failures']).where('tenant_id', '=', T).where('source', 'in', sources).execute();
    expect(rows.every((r) => r.username === SUCCESS_KEY && r.failures === 0)).toBe(true);
    for (const source of sources) {
      const ofSource = rows.filter((r) => r.source === source);
      expect(ofSource).toEqual([{ source, username: SUCCESS_KEY, successes: 40, failures: 0 }]);
    }
    // Failures stay per username: a spray from the same address is still seen, successes do not hide it.
    for (let i = 0; i < 12; i++) {
      await f.engine.recordFailure({ tenantId: T, username: `guess${i}`, ip: nat, device: { status: 'absent' } });
    }
    const victim = await insertUser(m.db, T, 'grace');
    const a = await f.engine.assess(context(T, victim, 'grace', { ip: nat }));
    expect(a.hardRule).toEqual({ code: 'spray_source_success', effect: 'high' });
    expect(a.contributions.find((c) => c.code === 'spray_source_success')?.details).toMatchObject({ distinctUsernamesFailed: 12 });
    await f.successes.flush();
    const [stats] = await new PostgresFailureCounters(m.db).sources(T, [`ip:${nat}`], { spraySince: new Date(0), throttleSince: new Date(0) });
    expect(stats).toMatchObject({ failures: 12, successes: 41, distinctUsernamesFailed: 12 });
  });

  it('trusted networks are neither counted nor flagged', async () => {
    await setPolicy(f, T, { trustedNetworks: ['10.20.0.0/16'] });
    const user = await insertUser(m.db, T, 'frank');
    for (let i = 0; i < 30; i++) {
      await f.engine.recordFailure({ tenantId: T, username: `typo${i}`, ip: '10.20.3.4', device: { status: 'absent' } });
    }
    const a = await f.engine.assess(context(T, user, 'frank', { ip: '10.20.3.4' }));
    expect(a.hardRule).toBeUndefined();
    expect(a.contributions.map((c) => c.code)).toContain('trusted_network');
    await setPolicy(f, T, {});
  });
});
