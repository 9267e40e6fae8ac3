/**
 * The risk engine against real PostgreSQL and the bundled geo data: learning, novelty, impossible travel,
 * hard rules, per-client policy, report-only mode, and the stored and audited evidence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditRepository } from '../../src/audit/audit-repository.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';
import { context, createFixture, DAY, establish, insertUser, IPS, MINUTE, setPolicy, storedAssessment, type Fixture } from './fixture.ts';

let m: MigratedDatabase;
let f: Fixture;
const T = 'acme';

beforeAll(async () => {
  m = await createMigratedDatabase();
  await insertTenant(m.db, T);
  f = createFixture(m.db);
});

afterAll(async () => {
  await f?.audit.close();
  await m?.close();
});

function stored(id: string): Promise<Record<string, unknown> | undefined> {
  return storedAssessment(m.db, T, id);
}

/** Successes counted for an address (its `ip:` source), over every bucket, once the tally is flushed. */
async function sourceSuccesses(ip: string): Promise<number> {
  await f.successes.flush();
  const row = await m.db
    .selectFrom('source_attempts')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('successes'), eb.lit(0)).as('n'))
    .where('tenant_id', '=', T)
    .where('source', '=', `ip:${ip}`)
    .executeTakeFirstOrThrow();
  return row.n;
}

const codes = (a: { contributions: readonly { code: string; points: number }[] }): Record<string, number> =>
  Object.fromEntries(a.contributions.map((c) => [c.code, c.points]));

describe('learning period', () => {
  it('keeps novelty signals quiet for a new user (first sign-ins), with the evidence kept at 0 points', async () => {
    const user = await insertUser(m.db, T, 'newbie');
    const a = await f.engine.assess(context(T, user, 'newbie'));
    expect(a.level).toBe('low');
    expect(a.decision.computed).toEqual({ outcome: 'allow' });
    const device = a.contributions.find((c) => c.code === 'new_device');
    expect(device).toMatchObject({ points: 0, details: { suppressed: 'learning' } });
  });

  it('ends after ten sign-ins: a new device on a new network then counts', async () => {
    const user = await insertUser(m.db, T, 'settled');
    await establish(f, T, user, 'settled', { n: 10 });
    const a = await f.engine.assess(context(T, user, 'settled', { ip: IPS.paris2 }));
    expect(codes(a)).toMatchObject({ new_device: 15, new_network: 10 });
    expect(a.score).toBe(25);
    expect(a.level).toBe('low');
  });

  it('ends after fourteen days even with few sign-ins', async () => {
    const user = await insertUser(m.db, T, 'rare');
    await establish(f, T, user, 'rare', { n: 2 });
    f.clock.advance(15 * DAY);
    const a = await f.engine.assess(context(T, user, 'rare', { ip: IPS.paris2 }));
    expect(codes(a)).toMatchObject({ new_device: 15, new_network: 10 });
  });

  it('does not suppress impossible travel (not a novelty signal)', async () => {
    const user = await insertUser(m.db, T, 'jetsetter');
    await establish(f, T, user, 'jetsetter', { n: 1, gapMs: 10 * MINUTE });
    const a = await f.engine.assess(context(T, user, 'jetsetter', { ip: IPS.sydney }));
    expect(codes(a)).toMatchObject({ impossible_travel: 60, new_country: 0 });
    expect(a.level).toBe('high');
  });
});

describe('known devices and travel', () => {
  it('a known device on a known network is low risk with no points', async () => {
    const user = await insertUser(m.db, T, 'regular');
    const device = await establish(f, T, user, 'regular');
    const a = await f.engine.assess(context(T, user, 'regular', { device }));
    expect(a.score).toBe(0);
    expect(a.level).toBe('low');
    expect(a.contributions.map((c) => c.code)).toEqual(['known_device']);
  });

  it('Paris then Sydney ten minutes later is high risk, for impossible travel', async () => {
    const user = await insertUser(m.db, T, 'traveller');
    const device = await establish(f, T, user, 'traveller', { n: 10, gapMs: 10 * MINUTE });
    const a = await f.engine.assess(context(T, user, 'traveller', { ip: IPS.sydney, device }));
    expect(a.location?.country).toBe('AU');
    const travel = a.contributions.find((c) => c.signal === 'travel');
    expect(travel).toMatchObject({ code: 'impossible_travel', points: 60, details: { from: 'FR', to: 'AU', elapsedMinutes: 10 } });
    expect(travel?.details.distanceKm).toBeGreaterThan(16_000);
    expect(a.level).toBe('high');
    expect(a.decision.computed).toEqual({ outcome: 'step-up', factor: 'phishing-resistant', acr: 'phr' });
    expect(a.reason).toMatch(/too far from your last sign-in/);
    expect(a.reason).not.toMatch(/\d/);
  });

  it('grades slower journeys: Paris to Sydney in a day is substantial, in four days ordinary travel', async () => {
    const user = await insertUser(m.db, T, 'sailor');
    await establish(f, T, user, 'sailor', { n: 10, gapMs: 0 });
    f.clock.advance(24 * 60 * MINUTE);
    const day = await f.engine.assess(context(T, user, 'sailor', { ip: IPS.sydney }));
    expect(day.contributions.find((c) => c.signal === 'travel')).toMatchObject({ code: 'substantial_travel', points: 20 });
    f.clock.advance(3 * DAY);
    const days = await f.engine.assess(context(T, user, 'sailor', { ip: IPS.sydney }));
    expect(days.contributions.find((c) => c.signal === 'travel')).toMatchObject({ code: 'travel', points: 5 });
  });

  it('a passkey-bound device is strong trust evidence', async () => {
    const user = await insertUser(m.db, T, 'keyholder');
    const device = await establish(f, T, user, 'keyholder');
    const a = await f.engine.assess(context(T, user, 'keyholder', { device, passkeyBound: true, ip: IPS.paris2 }));
    expect(codes(a)).toMatchObject({ known_device: 0, passkey_bound_device: -25, new_network: 10 });
    expect(a.score).toBe(0);
  });

  it('a forged device cookie adds points and is never taken as a known device', async () => {
    const user = await insertUser(m.db, T, 'forged');
    await establish(f, T, user, 'forged');
    const verdict = f.cookies.verify(T, 'v1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(verdict).toEqual({ status: 'invalid' });
    const a = await f.engine.assess(context(T, user, 'forged', { device: verdict }));
    expect(codes(a)).toEqual({ invalid_device_cookie: 20 });
  });

  it('an automation user agent raises the risk', async () => {
    const user = await insertUser(m.db, T, 'scripted');
    const device = await establish(f, T, user, 'scripted');
    const a = await f.engine.assess(context(T, user, 'scripted', { device, userAgent: 'python-requests/2.32.3' }));
    expect(codes(a)).toMatchObject({ automation_agent: 30 });
    expect(a.level).toBe('medium');
    expect(a.decision.computed).toEqual({ outcome: 'step-up', factor: 'any', acr: 'urn:portcullis:acr:mfa' });
  });
});

describe('hard rules and lists', () => {
  it('denies a denied network before any points, naming the policy field', async () => {
    const tenant = 'lists-a';
    await insertTenant(m.db, tenant);
    await setPolicy(f, tenant, { deny: { networks: ['120.144.0.0/16'] } });
    const user = await insertUser(m.db, tenant, 'eve');
    const a = await f.engine.assess(context(tenant, user, 'eve', { ip: IPS.sydney }));
    expect(a.hardRule).toEqual({ code: 'network_denied', effect: 'deny' });
    expect(a.level).toBe('high');
    expect(a.decision).toMatchObject({ computed: { outcome: 'deny' }, effective: { outcome: 'deny' }, enforced: true, policyRule: 'deny.networks' });
    expect(a.reason).toBe('Sign-in from your network is not allowed.');
  });

  it('denies a denied country (lower case accepted, stored upper case)', async () => {
    const tenant = 'lists-b';
    await insertTenant(m.db, tenant);
    await setPolicy(f, tenant, { deny: { countries: ['au'] } });
    const user = await insertUser(m.db, tenant, 'eve');
    const a = await f.engine.assess(context(tenant, user, 'eve', { ip: IPS.brisbane }));
    expect(a.decision).toMatchObject({ computed: { outcome: 'deny' }, policyRule: 'deny.countries' });
    const fr = await f.engine.assess(context(tenant, user, 'eve', { ip: IPS.paris }));
    expect(fr.decision.computed.outcome).toBe('allow');
  });

  it('trusted networks lower the score and silence network novelty', async () => {
    const tenant = 'lists-c';
    await insertTenant(m.db, tenant);
    await setPolicy(f, tenant, { trustedNetworks: ['90.84.0.0/16'] });
    const user = await insertUser(m.db, tenant, 'staff');
    await establish(f, tenant, user, 'staff');
    const a = await f.engine.assess(context(tenant, user, 'staff', { ip: IPS.paris2 }));
    expect(codes(a)).toEqual({ new_device: 15, trusted_network: -20 });
    expect(a.score).toBe(0);
  });

  it('denies an account an administrator marked compromised', async () => {
    const user = await insertUser(m.db, T, 'pwned');
    await establish(f, T, user, 'pwned', { n: 1 });
    await f.history.markCompromised(T, user, f.clock.now(), 'credentials found in a breach');
    const a = await f.engine.assess(context(T, user, 'pwned'));
    expect(a.decision).toMatchObject({ computed: { outcome: 'deny' }, policyRule: 'hard.account_compromised' });
    await f.history.clearCompromised(T, user);
    expect((await f.engine.assess(context(T, user, 'pwned'))).decision.computed.outcome).toBe('allow');
  });
});

describe('policy', () => {
  it('report-only computes and records the outcome without enforcing it', async () => {
    const tenant = 'observe';
    await insertTenant(m.db, tenant);
    await setPolicy(f, tenant, { mode: 'report-only', actions: { low: 'allow', medium: 'step-up', high: 'deny' } });
    const user = await insertUser(m.db, tenant, 'tourist');
    await establish(f, tenant, user, 'tourist', { n: 10, gapMs: 5 * MINUTE });
    const a = await f.engine.assess(context(tenant, user, 'tourist', { ip: IPS.sydney }));
    expect(a.level).toBe('high');
    expect(a.decision).toMatchObject({ computed: { outcome: 'deny' }, effective: { outcome: 'allow' }, enforced: false, policyRule: 'actions.high' });
    expect((await f.engine.complete(a)).deviceCookie).toMatch(/^v1\./);
    expect(await storedAssessment(m.db, tenant, a.id)).toMatchObject({ outcome: 'deny', enforced: false, level: 'high', mode: 'report-only' });
  });

  it('applies per-client overrides: actions and a required acr', async () => {
    const tenant = 'apps';
    await insertTenant(m.db, tenant);
    await setPolicy(f, tenant, {
      clients: { payroll: { requiredAcr: 'phr' }, wiki: { actions: { low: 'allow', medium: 'allow', high: 'allow' } } },
    });
    const user = await insertUser(m.db, tenant, 'emp');
    const device = await establish(f, tenant, user, 'emp');
    const plain = await f.engine.assess(context(tenant, user, 'emp', { device }));
    expect(plain.decision.computed.outcome).toBe('allow');
    const payroll = await f.engine.assess(context(tenant, user, 'emp', { device, clientId: 'payroll' }));
    expect(payroll.decision).toMatchObject({
      computed: { outcome: 'step-up', factor: 'phishing-resistant', acr: 'phr' },
      policyRule: 'clients.payroll.requiredAcr',
    });
    const withPasskey = await f.engine.assess(context(tenant, user, 'emp', { device, clientId: 'payroll', firstFactor: 'passkey' }));
    expect(withPasskey.decision.computed.outcome).toBe('allow');
    const wiki = await f.engine.assess(context(tenant, user, 'emp', { clientId: 'wiki', userAgent: 'curl/8.5.0', ip: IPS.paris2 }));
    expect(wiki.level).toBe('medium');
    expect(wiki.decision).toMatchObject({ computed: { outcome: 'allow' }, policyRule: 'clients.wiki.actions.medium' });
  });

  it("one tenant's policy never applies to another", async () => {
    await insertTenant(m.db, 'strict');
    await insertTenant(m.db, 'relaxed');
    await setPolicy(f, 'strict', { deny: { countries: ['FR'] }, clients: { shared: { requiredAcr: 'phrh' } } });
    const strictUser = await insertUser(m.db, 'strict', 'same');
    const relaxedUser = await insertUser(m.db, 'relaxed', 'same');
    const s = await f.engine.assess(context('strict', strictUser, 'same', { clientId: 'shared' }));
    const r = await f.engine.assess(context('relaxed', relaxedUser, 'same', { clientId: 'shared' }));
    expect(s.decision.computed.outcome).toBe('deny');
    expect(r.decision.computed.outcome).toBe('allow');
    expect((await f.policies.get('relaxed')).deny.countries).toEqual([]);
  });
});

describe('evidence', () => {
  it('stores every assessment and audits it as risk.assessment with its contributions', async () => {
    const user = await insertUser(m.db, T, 'audited');
    await establish(f, T, user, 'audited', { n: 10, gapMs: 10 * MINUTE });
    const a = await f.engine.assess(context(T, user, 'audited', { ip: IPS.sydney }));
    const page = await new AuditRepository(m.db).list(T, { type: 'risk.assessment', subject: `user:${user}`, limit: 50 });
    expect(page.items).toHaveLength(11);
    const event = page.items.find((e) => e.details.assessmentId === a.id);
    expect(event?.details).toMatchObject({
      assessmentId: a.id,
      level: 'high',
      score: a.score,
      policyRule: 'actions.high',
      outcome: 'step-up',
      enforced: true,
    });
    expect(event?.details.contributions).toEqual(JSON.parse(JSON.stringify(a.contributions)));
    for (const c of a.contributions) expect(Object.keys(c).sort()).toEqual(['code', 'details', 'points', 'signal']);
  });

  it('a refresh assessment writes nothing by itself: no assessment event and no source success', async () => {
    const user = await insertUser(m.db, T, 'refresher');
    const device = await establish(f, T, user, 'refresher', { n: 10, gapMs: 10 * MINUTE });
    const before = await sourceSuccesses(IPS.paris);
    const a = await f.engine.assess(context(T, user, 'refresher', { device }), { purpose: 'refresh' });
    expect(a).toMatchObject({ level: 'low', decision: { computed: { outcome: 'allow' } } });
    expect(await stored(a.id)).toBeUndefined();
    const events = await new AuditRepository(m.db).list(T, { type: 'risk.assessment', subject: `user:${user}`, limit: 50 });
    expect(events.items.some((e) => e.details.assessmentId === a.id)).toBe(false);
    // A refresh proves no password: it must not dilute the stuffing ratio of its address.
    expect(await sourceSuccesses(IPS.paris)).toBe(before);
  });

  it('recordRefresh stores and audits a refresh worth keeping, still without a source success', async () => {
    const user = await insertUser(m.db, T, 'farrefresher');
    await establish(f, T, user, 'farrefresher', { n: 10, gapMs: 10 * MINUTE });
    const before = await sourceSuccesses(IPS.sydney);
    const a = await f.engine.assess(context(T, user, 'farrefresher', { ip: IPS.sydney }), { purpose: 'refresh' });
    expect(a.contributions.find((c) => c.code === 'impossible_travel')?.points).toBeGreaterThan(0);
    expect(await stored(a.id)).toBeUndefined();
    await f.engine.recordRefresh(a);
    expect(await stored(a.id)).toMatchObject({ level: a.level });
    const events = await new AuditRepository(m.db).list(T, { type: 'risk.assessment', subject: `user:${user}`, limit: 50 });
    expect(events.items.find((e) => e.details.assessmentId === a.id)?.details).toMatchObject({ mode: 'enforce', level: a.level });
    expect(await sourceSuccesses(IPS.sydney)).toBe(before);
  });

  it('lists the devices a user completed sign-ins on', async () => {
    const user = await insertUser(m.db, T, 'devices');
    const device = await establish(f, T, user, 'devices', { n: 2 });
    const list = await f.devices.list(T, user);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: device.status === 'valid' ? device.deviceId : '', userAgentFamily: 'Chrome', lastNetwork: '88.160.0.0/24', signIns: 2 });
  });
});
