/**
 * The engine's database round trips: precheck one statement, assess one (the signals read; none when it reuses
 * precheckSignIn's) and its audit event (the stored assessment) in the audit batch, complete none of its own
 * when that event carries its writes (one after a step-up). The combined statements answer what the
 * single-purpose repository methods answer, and each one is all or nothing.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/schema.ts';
import { AuditRepository } from '../../src/audit/audit-repository.ts';
import { PasswordAuthenticator } from '../../src/identity/password-authenticator.ts';
import { hashPassword, PasswordVerifier } from '../../src/identity/passwords.ts';
import { UserRepository } from '../../src/identity/user-repository.ts';
import { newId } from '../../src/lib/ids.ts';
import { accountKey } from '../../src/risk/signals/failure-counters.ts';
import { PostgresFailureCounters } from '../../src/risk/signals/postgres-failure-counters.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';
import { context, createFixture, establish, geo, insertUser, IPS, MINUTE, storedAssessment, type Fixture } from './fixture.ts';

let m: MigratedDatabase;
let db: Kysely<Database>;
let f: Fixture;
const T = 'trips';
/** SQL of every statement (transaction control included) on `db`; the audit trail writes through auditDb. */
const statements: string[] = [];
let auditDb: Kysely<Database>;
/** SQL of every statement of the audit trail's writer. */
const auditStatements: string[] = [];

beforeAll(async () => {
  m = await createMigratedDatabase();
  await insertTenant(m.db, T);
  const pool = new pg.Pool({ connectionString: m.test.url, max: 5 });
  // As src/db/client.ts: a backend ended by the database drop in afterAll must not surface as an uncaught error.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query') statements.push(event.query.sql);
    },
  });
  const auditPool = new pg.Pool({ connectionString: m.test.url, max: 2 });
  auditPool.on('error', () => undefined);
  auditPool.on('connect', (client) => client.on('error', () => undefined));
  auditDb = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: auditPool }),
    log: (event) => {
      if (event.level === 'query') auditStatements.push(event.query.sql);
    },
  });
  f = createFixture(db, undefined, undefined, auditDb);
});

afterAll(async () => {
  await f?.audit.close();
  await auditDb?.destroy();
  await db?.destroy();
  await m?.close();
});

/** Successful first factors counted for `source`, over every bucket and shard. */
async function successesOf(source: string): Promise<number> {
  const row = await m.db
    .selectFrom('source_attempts')
    .select(sql<number>`coalesce(sum(successes), 0)::int`.as('n'))
    .where('tenant_id', '=', T)
    .where('source', '=', source)
    .executeTakeFirstOrThrow();
  return row.n;
}

async function counted<T>(op: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
  // Successes tallied by earlier steps are sent now, not from their timer in the middle of `op`.
  await f.successes.flush();
  statements.length = 0;
  const result = await op();
  return { result, sql: [...statements] };
}

describe('round trips', () => {
  it('precheck 1, assess 1, complete 1 statement once the policy is cached, for a fresh and a known browser', async () => {
    const user = await insertUser(m.db, T, 'counted');
    const known = await establish(f, T, user, 'counted', { n: 3 });
    for (const device of [{ status: 'absent' } as const, known]) {
      await f.policies.get(T);
      const pre = await counted(() => f.engine.precheck({ tenantId: T, userId: user, username: 'counted', ip: IPS.paris, device }));
      expect(pre.result).toEqual({ kind: 'proceed' });
      expect(pre.sql).toHaveLength(1);
      auditStatements.length = 0;
      const assessed = await counted(() => f.engine.assess(context(T, user, 'counted', { device })));
      // The signals; the assessment is its audit event (nothing carried), the successes are tallied.
      expect(assessed.sql).toHaveLength(1);
      expect(auditStatements).toHaveLength(1);
      expect(auditStatements[0]).toMatch(/insert into audit_events/);
      expect(auditStatements[0]).not.toMatch(/risk_assessments|insert into devices/);
      await f.successes.flush();
      const successesBefore = await successesOf(`ip:${IPS.paris}`);
      const completed = await counted(() => f.engine.complete(assessed.result));
      expect(completed.sql).toHaveLength(1);
      expect(completed.sql[0]).toMatch(/^with w0_0 as \(insert into devices[\s\S]*insert into signin_history[\s\S]*insert into risk_profiles[\s\S]*delete from account_failures/);
      // The assessment was stored by assess(): complete() neither writes it again nor counts its successes twice.
      await f.successes.flush();
      expect(await successesOf(`ip:${IPS.paris}`)).toBe(successesBefore);
      expect(await storedAssessment(m.db, T, assessed.result.id)).toMatchObject({ assessmentId: assessed.result.id });
    }
  });

  it("an allowed sign-in stored with complete(): assess 1 statement; complete none of its own, the assessment's audit event carries its writes", async () => {
    const user = await insertUser(m.db, T, 'later');
    const device = await establish(f, T, user, 'later', { n: 3 });
    await f.policies.get(T);
    const assessed = await counted(() => f.engine.assess(context(T, user, 'later', { device }), { storeLater: true }));
    expect(assessed.sql).toHaveLength(1);
    expect(await storedAssessment(m.db, T, assessed.result.id)).toBeUndefined();
    await f.successes.flush();
    const successesBefore = await successesOf(`ip:${IPS.paris}`);
    auditStatements.length = 0;
    const completed = await counted(() => f.engine.complete(assessed.result));
    await f.successes.flush();
    expect(await successesOf(`ip:${IPS.paris}`)).toBe(successesBefore + 1);
    expect(completed.sql).toHaveLength(0);
    // One statement of the audit writer: the chain head, the learning, the event (the stored assessment).
    expect(auditStatements).toHaveLength(1);
    expect(auditStatements[0]).toMatch(/^with heads as \(\s*update audit_chains[\s\S]*insert into devices[\s\S]*insert into audit_events/);
    // No failure run to reset: no statement for it.
    expect(auditStatements[0]).not.toMatch(/account_failures/);
    const events = await new AuditRepository(m.db).list(T, { type: 'risk.assessment', subject: `user:${user}`, limit: 50 });
    expect(events.items.filter((e) => e.details.assessmentId === assessed.result.id)).toHaveLength(1);
    expect((await new AuditRepository(m.db).verify(T)).ok).toBe(true);
    expect(await storedAssessment(m.db, T, assessed.result.id)).toEqual({
      assessmentId: assessed.result.id,
      level: assessed.result.level,
      score: assessed.result.score,
      contributions: assessed.result.contributions,
      policyRule: assessed.result.decision.policyRule,
      outcome: 'allow',
      enforced: assessed.result.decision.enforced,
      mode: 'enforce',
      clientId: null,
      country: assessed.result.location?.country ?? null,
    });
    const [history] = await m.db.selectFrom('signin_history').select('assessment_id').where('tenant_id', '=', T).where('user_id', '=', user).orderBy('at', 'desc').execute();
    expect(history?.assessment_id).toBe(assessed.result.id);
    // Written once: a later store() is a no-op.
    const again = await counted(() => f.engine.store(assessed.result));
    expect(again.sql).toHaveLength(0);
  });

  it("an allowed sign-in after failed attempts resets the account's run in the same carried write", async () => {
    const user = await insertUser(m.db, T, 'typo');
    await establish(f, T, user, 'typo', { n: 3 });
    for (let i = 0; i < 2; i++) await f.engine.recordFailure({ tenantId: T, username: 'Typo', ip: IPS.paris, device: { status: 'absent' } });
    const run = () => m.db.selectFrom('account_failures').select('consecutive').where('tenant_id', '=', T).where('username', '=', 'typo').execute();
    expect(await run()).toEqual([{ consecutive: 2 }]);
    await f.policies.get(T);
    const { prefetched } = await f.engine.precheckSignIn({ tenantId: T, username: 'Typo', ip: IPS.paris, device: { status: 'absent' } });
    const assessed = await f.engine.assess(context(T, user, 'Typo'), { storeLater: true, prefetched });
    expect(assessed.failureRun).toBe(true);
    auditStatements.length = 0;
    const completed = await counted(() => f.engine.complete(assessed));
    expect(completed.sql).toHaveLength(0);
    expect(auditStatements).toHaveLength(1);
    expect(auditStatements[0]).toMatch(/delete from account_failures where tenant_id = \$\d+ and username = \$\d+/);
    expect(await run()).toEqual([]);
  });

  it('store() writes an assessment made with storeLater that does not complete, once', async () => {
    const user = await insertUser(m.db, T, 'stored');
    const a = await f.engine.assess(context(T, user, 'stored'), { storeLater: true });
    await f.engine.store(a);
    await f.engine.store(a);
    // Once: storedAssessment throws on a second event.
    expect(await storedAssessment(m.db, T, a.id)).toMatchObject({ assessmentId: a.id });
  });

  it("a password sign-in reads its signals once: assess reuses precheckSignIn's read, and decides the same", async () => {
    const user = await insertUser(m.db, T, 'Once.Only');
    const device = await establish(f, T, user, 'Once.Only', { n: 12, gapMs: 30 * MINUTE });
    await f.policies.get(T);
    // The username as typed (case differs from the stored one): the read finds the user all the same.
    const typed = 'once.ONLY';
    const pre = await counted(() => f.engine.precheckSignIn({ tenantId: T, userId: user, username: typed, ip: IPS.sydney, device }));
    expect(pre.result.gate).toEqual({ kind: 'proceed' });
    expect(pre.sql).toHaveLength(1);
    const reused = await counted(() =>
      f.engine.assess(context(T, user, typed, { ip: IPS.sydney, device }), { storeLater: true, prefetched: pre.result.prefetched }),
    );
    expect(reused.sql).toHaveLength(0);
    const fresh = await f.engine.assess(context(T, user, typed, { ip: IPS.sydney, device }), { storeLater: true });
    expect(reused.result.contributions).toEqual(fresh.contributions);
    expect(reused.result.level).toBe(fresh.level);
    expect(reused.result.contributions.map((c) => c.code)).toContain('impossible_travel');
  });

  it("precheckSignIn's read carries the user the typed username names, and the password check needs no statement of its own", async () => {
    const hash = await hashPassword('correct horse battery');
    const active = newId();
    const inactive = newId();
    await m.db.insertInto('users').values([
      { tenant_id: T, id: active, username: 'Pass.Word', password_hash: hash },
      { tenant_id: T, id: inactive, username: 'gone', password_hash: hash, active: false },
    ]).execute();
    const authenticator = new PasswordAuthenticator(new UserRepository(db), new PasswordVerifier());
    const cases = [
      { username: 'pass.WORD', password: 'correct horse battery', user: { id: active, password_hash: hash, active: true }, result: { ok: true, userId: active } },
      { username: 'Pass.Word', password: 'wrong horse', user: { id: active, password_hash: hash, active: true }, result: { ok: false, reason: 'bad_password', userId: active } },
      { username: 'gone', password: 'correct horse battery', user: { id: inactive, password_hash: hash, active: false }, result: { ok: false, reason: 'inactive', userId: inactive } },
      { username: 'nobody', password: 'correct horse battery', user: undefined, result: { ok: false, reason: 'unknown_user' } },
    ];
    for (const c of cases) {
      const { prefetched } = await f.engine.precheckSignIn({ tenantId: T, username: c.username, ip: IPS.paris, userAgent: undefined, device: { status: 'absent' } });
      expect(prefetched.signals.user).toEqual(c.user);
      const checked = await counted(() => authenticator.authenticate(T, c.username, c.password, { user: prefetched.signals.user }));
      expect(checked.sql).toHaveLength(0);
      expect(checked.result).toEqual(c.result);
      // The same answer as the check that looks the user up itself.
      expect(await authenticator.authenticate(T, c.username, c.password)).toEqual(c.result);
    }
  });

  it('does not reuse a prefetched read for another user, address or device, or once it is old', async () => {
    const user = await insertUser(m.db, T, 'guarded');
    const other = await insertUser(m.db, T, 'guarded2');
    const device = await establish(f, T, user, 'guarded', { n: 2 });
    await f.policies.get(T);
    const { prefetched } = await f.engine.precheckSignIn({ tenantId: T, userId: user, username: 'guarded', ip: IPS.paris, device });
    const cases = [
      context(T, other, 'guarded', { ip: IPS.paris, device }),
      context(T, user, 'guarded', { ip: IPS.sydney, device }),
      context(T, user, 'guarded', { ip: IPS.paris }),
    ];
    for (const c of cases) {
      const a = await counted(() => f.engine.assess(c, { storeLater: true, prefetched }));
      expect(a.sql).toHaveLength(1);
      // The place too is the assessed address's own, not the prefetched one's.
      expect(a.result.ip).toBe(c.ip);
      expect(a.result.location).toEqual(await geo().locate(c.ip));
    }
    f.clock.advance(MINUTE);
    await f.policies.get(T);
    const late = await counted(() => f.engine.assess(context(T, user, 'guarded', { ip: IPS.paris, device }), { storeLater: true, prefetched }));
    expect(late.sql).toHaveLength(1);
  });

  it('reads in one statement what the single-purpose methods read', async () => {
    const user = await insertUser(m.db, T, 'Mixed.Case');
    // Oldest first: Sydney once, days later Paris on Orange twice, then Paris on Free four times.
    await establish(f, T, user, 'Mixed.Case', { n: 1, ip: IPS.sydney });
    f.clock.advance(3 * 86_400_000);
    await establish(f, T, user, 'Mixed.Case', { n: 2, ip: IPS.paris2, gapMs: 30 * MINUTE });
    const device = await establish(f, T, user, 'Mixed.Case', { n: 4, gapMs: 30 * MINUTE });
    if (device.status !== 'valid') throw new Error('expected a device cookie');
    await f.successes.flush();
    const counters = new PostgresFailureCounters(m.db);
    const now = f.clock.now();
    for (let i = 0; i < 3; i++) await counters.recordFailure(T, 'mixed.case', [`ip:${IPS.paris}`, 'net:88.160.0.0/24'], now, new Date(0));
    await f.history.markCompromised(T, user, now, 'test');
    const windows = { spraySince: new Date(now.getTime() - 60 * MINUTE), throttleSince: new Date(now.getTime() - 15 * MINUTE) };
    const sources = [`ip:${IPS.paris}`, 'net:88.160.0.0/24', 'asn:12322'];
    const since = new Date(now.getTime() - 90 * 86_400_000);
    const combined = await f.assessments.signals({
      tenantId: T,
      username: 'MIXED.case',
      resetBefore: new Date(0),
      sources,
      windows,
      device: { userId: user, deviceId: device.deviceId },
      history: { user: { id: user }, limit: 7, since },
    });
    const { recent, ...rest } = combined;
    expect(rest).toEqual({
      userId: user,
      account: await counters.account(T, 'MIXED.case', new Date(0)),
      sources: await counters.sources(T, sources, windows),
      knownDevice: await f.devices.find(T, user, device.deviceId),
      profile: await f.history.profile(T, user),
    });
    expect(combined.account.consecutive).toBe(3);
    // Seven sign-ins, three places: the newest sign-in of each, newest first, as stored.
    const history = await m.db
      .selectFrom('signin_history')
      .select(['at', 'ip', 'network', 'country', 'device_id'])
      .where('user_id', '=', user)
      .orderBy('at', 'desc')
      .execute();
    expect(history.map((h) => h.ip)).toEqual([...Array<string>(4).fill(IPS.paris), IPS.paris2, IPS.paris2, IPS.sydney]);
    expect(recent.map((r) => [r.ip, r.at, r.network, r.country, r.deviceId])).toEqual(
      [history[0], history[4], history[6]].map((h) => [h?.ip, h?.at, h?.network, h?.country, h?.device_id]),
    );
    // The window is the last `limit` sign-ins: Sydney is outside the last six.
    const lastSix = await f.assessments.signals({ tenantId: T, username: 'Mixed.Case', resetBefore: new Date(0), sources: [], windows, history: { user: { id: user }, limit: 6, since } });
    expect(lastSix.recent.map((r) => r.ip)).toEqual([IPS.paris, IPS.paris2]);
    expect(combined.profile.compromised?.reason).toBe('test');
    expect(combined.sources[0]).toMatchObject({ failures: 3, successes: 2, distinctUsernamesFailed: 1 });
  });

  it('complete() writes all or nothing: a failing history insert leaves device, profile and failures as they were', async () => {
    const user = await insertUser(m.db, T, 'atomic');
    const device = await establish(f, T, user, 'atomic', { n: 2 });
    if (device.status !== 'valid') throw new Error('expected a device cookie');
    await new PostgresFailureCounters(m.db).recordFailure(T, 'atomic', [], f.clock.now(), new Date(0));
    const before = async () => ({
      device: await f.devices.find(T, user, device.deviceId),
      profile: await f.history.profile(T, user),
      failures: await m.db.selectFrom('account_failures').select('consecutive').where('tenant_id', '=', T).where('username', '=', accountKey('atomic')).execute(),
    });
    const state = await before();
    // The history insert fails on its primary key: a row with the same time and id exists.
    const [existing] = await m.db.selectFrom('signin_history').select(['id', 'at']).where('tenant_id', '=', T).where('user_id', '=', user).execute();
    if (!existing) throw new Error('expected a history row');
    const at = existing.at;
    await expect(
      f.assessments.learn({
        tenantId: T,
        userId: user,
        username: 'atomic',
        resetFailures: true,
        historyId: existing.id,
        assessmentId: null,
        record: { at, ip: IPS.paris, network: '88.160.0.0/24' },
        sighting: { id: device.deviceId, at, userAgentFamily: 'Chrome', ip: IPS.paris, network: '88.160.0.0/24', passkeyBound: true },
      }),
    ).rejects.toThrow();
    expect(await before()).toEqual(state);
    expect(state.failures).toEqual([{ consecutive: 1 }]);
  });
});
