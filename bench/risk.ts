/**
 * `node bench/risk.ts`: the cost of one risk assessment per sign-in, in-process, against PostgreSQL on
 * 127.0.0.1 (BENCH_PG_URL overrides), beside baselines from the same run: one plain SELECT round trip and
 * one geo lookup. It creates its own database (pc_bench_<random>), migrates it, seeds a tenant with users
 * who have a learned history and a known device, measures, prints one table and drops the database.
 *
 * Figures: p50 / p95 / p99 milliseconds per call, sequential (one sign-in at a time: the latency a user
 * sees) and with 16 concurrent callers (what a busy node sees); assess + complete (the engine's whole
 * share of a successful sign-in after precheck); rules + scoring alone (pure CPU).
 * Env: BENCH_RISK_COUNT (calls per figure, default 2000).
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { pathToFileURL } from 'node:url';
import { AuditLog } from '../src/audit/audit-log.ts';
import { openDatabase } from '../src/db/client.ts';
import { migrateToLatest } from '../src/db/migrator.ts';
import { DerivedKeys } from '../src/keys/derived-keys.ts';
import { masterKeyFrom } from '../src/keys/master-key.ts';
import type { Clock } from '../src/lib/clock.ts';
import { newId } from '../src/lib/ids.ts';
import { AssessmentRepository } from '../src/risk/assessment-repository.ts';
import { DeviceCookies } from '../src/risk/device-cookie.ts';
import { RiskEngine } from '../src/risk/engine.ts';
import { MmdbGeoLocator } from '../src/risk/geo.ts';
import { PolicyRepository } from '../src/risk/policy-repository.ts';
import { DEFAULT_POLICY } from '../src/risk/policy.ts';
import { RULES } from '../src/risk/rules/index.ts';
import { scoreOf } from '../src/risk/scoring.ts';
import { DeviceRepository } from '../src/risk/signals/device-repository.ts';
import { SignInHistory } from '../src/risk/signals/history-repository.ts';
import { PostgresFailureCounters } from '../src/risk/signals/postgres-failure-counters.ts';
import { SuccessTally } from '../src/risk/signals/success-tally.ts';
import type { DeviceVerdict, RiskFacts, SignInContext } from '../src/risk/types.ts';
import { DEFAULT_WEIGHTS } from '../src/risk/weights.ts';
import { createBenchDatabase } from './lib/database.ts';
import { runLoad, summarize, type Summary } from './lib/load.ts';
import { latency, rate, renderTable, type Row } from './lib/report.ts';

/** Sub-millisecond figures in microseconds. */
const micro = (s: Summary): string => `${[s.p50, s.p95, s.p99].map((v) => (v * 1000).toFixed(1)).join(' / ')} µs`;

const COUNT = Number(process.env.BENCH_RISK_COUNT ?? 2000);
const USERS = 50;
const TENANT = 'bench-risk';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36';

/** Moves forward one minute per reading, so the seeded history spreads over days like real sign-ins. */
class SteppingClock implements Clock {
  #t = Date.parse('2026-11-26T00:00:00Z');
  now(): Date {
    this.#t += 1000;
    return new Date(this.#t);
  }
}

export async function runRiskBench(): Promise<void> {
  const bench = await createBenchDatabase();
  const handle = await openDatabase({ url: bench.url, dataDir: '/nonexistent', poolSize: 20, connectTimeoutMs: 10_000 });
  const db = handle.db;
  const audit = new AuditLog(db, new SteppingClock(), { writer: 'bench-risk' });
  try {
    await migrateToLatest(db);
    await db.insertInto('tenants').values({ tenant_id: TENANT, display_name: 'Bench' }).execute();
    const clock = new SteppingClock();
    const geo = new MmdbGeoLocator();
    const cookies = new DeviceCookies(new DerivedKeys(masterKeyFrom(randomBytes(32).toString('base64'))));
    const engine = new RiskEngine({
      geo,
      policies: new PolicyRepository(db, clock),
      history: new SignInHistory(db),
      devices: new DeviceRepository(db),
      counters: new PostgresFailureCounters(db),
      successes: new SuccessTally(db, { clock }),
      assessments: new AssessmentRepository(db),
      audit,
      deviceCookies: cookies,
      clock,
    });

    // Seed: users with twelve completed sign-ins each from Paris on one browser (learning over).
    const users: { ctx: SignInContext }[] = [];
    for (let i = 0; i < USERS; i++) {
      const id = newId();
      const username = `user${i}`;
      await db.insertInto('users').values({ tenant_id: TENANT, id, username }).execute();
      let device: DeviceVerdict = { status: 'absent' };
      // Each user at home behind their own address, as most sign-ins are (see the note printed below).
      const ip = `88.160.${i}.${10 + (i % 200)}`;
      const ctx = (): SignInContext => ({ tenantId: TENANT, userId: id, username, ip, userAgent: UA, device, firstFactor: 'password', passkeyBound: false });
      for (let n = 0; n < 12; n++) {
        const done = await engine.complete(await engine.assess(ctx()));
        device = cookies.verify(TENANT, done.deviceCookie);
      }
      users.push({ ctx: ctx() });
    }
    const pick = (n: number): SignInContext => (users[n % USERS] as { ctx: SignInContext }).ctx;
    let k = 0;

    const measure = async (concurrency: number, op: () => Promise<unknown>): Promise<Summary> => {
      const run = async (): Promise<void> => {
        await op();
      };
      await runLoad({ concurrency, count: Math.min(200, COUNT) }, run); // warm-up
      const s = summarize(await runLoad({ concurrency, count: COUNT }, run));
      if (s.errors > 0) throw new Error(`benchmark operation failed: ${s.firstError ?? ''}`);
      return s;
    };

    const select1 = await measure(1, () => sql`select 1`.execute(db));
    const geoLookup = await measure(1, () => geo.locate('88.160.0.1'));
    const precheck = await measure(1, () => engine.precheck(pick(k++)));
    const assess = await measure(1, () => engine.assess(pick(k++)));
    const assess16 = await measure(16, () => engine.assess(pick(k++)));
    const signIn = await measure(1, async () => engine.complete(await engine.assess(pick(k++))));
    // What the login form runs for a password sign-in the policy allows: the gate's read (which assess
    // reuses), the assessment kept for complete(), whose writes ride with the assessment's audit event.
    const pipeline = await measure(1, async () => {
      const ctx = pick(k++);
      const { prefetched } = await engine.precheckSignIn({ tenantId: ctx.tenantId, username: ctx.username, ip: ctx.ip, userAgent: ctx.userAgent, device: ctx.device });
      await engine.complete(await engine.assess(ctx, { prefetched, storeLater: true }));
    });
    const select16 = await measure(16, () => sql`select 1`.execute(db));

    const facts: RiskFacts = {
      now: new Date(),
      context: pick(0),
      ip: '88.160.0.1',
      network: '88.160.0.0/24',
      location: await geo.locate('88.160.0.1'),
      policy: DEFAULT_POLICY,
      profile: { signIns: 12, firstSignInAt: new Date(Date.now() - 86_400_000) },
      learning: false,
      knownDevice: undefined,
      recent: Array.from({ length: 50 }, (_, i) => ({ at: new Date(Date.now() - i * 3_600_000), ip: '88.160.0.1', network: '88.160.0.0/24', country: 'FR', latitude: 48.86, longitude: 2.35, accuracyKm: 100 })),
      account: { consecutive: 0 },
      sources: [],
      weights: DEFAULT_WEIGHTS,
    };
    const pure = await measure(1, () => Promise.resolve(scoreOf(RULES.flatMap((r) => r(facts)), DEFAULT_POLICY.levels)));

    const rows: Row[] = [
      { section: 'baselines', name: 'SELECT 1 round trip (sequential)', value: rate(select1), latency: latency(select1) },
      { section: 'baselines', name: 'SELECT 1 round trip (16 concurrent)', value: rate(select16), latency: latency(select16) },
      { section: 'baselines', name: 'geo lookup (in memory)', value: rate(geoLookup), latency: micro(geoLookup) },
      { section: 'risk', name: 'rules + scoring only (pure CPU)', value: rate(pure), latency: micro(pure) },
      { section: 'risk', name: 'precheck (sequential)', value: rate(precheck), latency: latency(precheck), baseline: `${(precheck.p50 / select1.p50).toFixed(1)}× SELECT 1 p50` },
      { section: 'risk', name: 'assess (sequential)', value: rate(assess), latency: latency(assess), baseline: `${(assess.p50 / select1.p50).toFixed(1)}× SELECT 1 p50` },
      { section: 'risk', name: 'assess + complete (sequential)', value: rate(signIn), latency: latency(signIn), baseline: `${(signIn.p50 / select1.p50).toFixed(1)}× SELECT 1 p50` },
      {
        section: 'risk',
        name: 'per sign-in as the login form runs it (sequential)',
        value: rate(pipeline),
        latency: latency(pipeline),
        baseline: `${(pipeline.p50 / select1.p50).toFixed(1)}× SELECT 1 p50`,
      },
      { section: 'risk', name: 'assess (16 concurrent)', value: rate(assess16), latency: latency(assess16), baseline: `${(assess16.p50 / select16.p50).toFixed(1)}× SELECT 1 p50` },
    ];
    console.log(`Risk assessment cost, ${COUNT} calls per figure, ${USERS} users with learned history (known device, known network).`);
    console.log(
      'precheck = 1 statement; assess = 1 read statement (profile, history, device, account, sources; policy cached per node),\n' +
        'its row carried by its audit event (group commit); complete = 1 statement after a stored assessment. The login form\n' +
        "(last row): precheckSignIn's 1 read serves assess too, and complete's writes ride with the audit event: 1 statement of its own.",
    );
    console.log(renderTable(rows));
    console.log(
      'Note: the sources query aggregates, per source over the spray window, one row per failing username per minute and\n' +
        'one row per minute of successes: an address under a password spray costs more to read, a busy NAT does not.',
    );
  } finally {
    await audit.close();
    await handle.close();
    await bench.drop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runRiskBench();
