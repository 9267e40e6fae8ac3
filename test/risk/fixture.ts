/**
 * A risk engine over a real migrated PostgreSQL database, with a clock the test moves by hand and the
 * bundled DB-IP data for geolocation.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { AuditLog } from '../../src/audit/audit-log.ts';
import type { Database } from '../../src/db/schema.ts';
import { DerivedKeys } from '../../src/keys/derived-keys.ts';
import { masterKeyFrom } from '../../src/keys/master-key.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { newId } from '../../src/lib/ids.ts';
import { AssessmentRepository } from '../../src/risk/assessment-repository.ts';
import { DeviceCookies } from '../../src/risk/device-cookie.ts';
import { RiskEngine } from '../../src/risk/engine.ts';
import { MmdbGeoLocator, type GeoLocator } from '../../src/risk/geo.ts';
import { PolicyRepository } from '../../src/risk/policy-repository.ts';
import { signInPolicySchema, type SignInPolicyInput } from '../../src/risk/policy.ts';
import { DeviceRepository } from '../../src/risk/signals/device-repository.ts';
import { SignInHistory } from '../../src/risk/signals/history-repository.ts';
import { PostgresFailureCounters } from '../../src/risk/signals/postgres-failure-counters.ts';
import { SuccessTally } from '../../src/risk/signals/success-tally.ts';
import type { SignInContext } from '../../src/risk/types.ts';

/** Real addresses the bundled DB-IP data places in these cities (asserted in geo.test.ts). */
export const IPS = {
  paris: '88.160.0.1', // Free (FR), Paris
  paris2: '90.84.0.1', // Orange (FR), Paris
  sydney: '120.144.0.1', // TPG (AU), Sydney
  brisbane: '1.128.0.1', // Telstra (AU), Brisbane
} as const;

export const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36';

export class ManualClock implements Clock {
  #t: number;
  constructor(start: string | Date = '2026-11-26T09:00:00Z') {
    this.#t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.#t);
  }
  advance(ms: number): void {
    this.#t += ms;
  }
  set(at: string | Date): void {
    this.#t = new Date(at).getTime();
  }
}

export const MINUTE = 60_000;
export const DAY = 86_400_000;

export interface Fixture {
  readonly engine: RiskEngine;
  readonly clock: ManualClock;
  readonly audit: AuditLog;
  readonly cookies: DeviceCookies;
  readonly policies: PolicyRepository;
  readonly history: SignInHistory;
  readonly devices: DeviceRepository;
  readonly assessments: AssessmentRepository;
  readonly successes: SuccessTally;
}

/** One geo reader per test file: the bundled data is large and read once. */
let sharedGeo: GeoLocator | undefined;
export function geo(): GeoLocator {
  sharedGeo ??= new MmdbGeoLocator();
  return sharedGeo;
}

export function masterKey(): ReturnType<typeof masterKeyFrom> {
  return masterKeyFrom(randomBytes(32).toString('base64'));
}

/** `auditDb`: where the audit trail is written (another handle lets a test watch the engine's own statements). */
export function createFixture(db: Kysely<Database>, clock = new ManualClock(), key = masterKey(), auditDb = db): Fixture {
  const audit = new AuditLog(auditDb, clock);
  const cookies = new DeviceCookies(new DerivedKeys(key));
  const policies = new PolicyRepository(db, clock);
  const history = new SignInHistory(db);
  const devices = new DeviceRepository(db);
  const assessments = new AssessmentRepository(db);
  // Suites that read success counts flush it first (success-tally.test.ts tests the tally itself).
  const successes = new SuccessTally(db, { clock });
  const engine = new RiskEngine({
    geo: geo(),
    policies,
    history,
    devices,
    counters: new PostgresFailureCounters(db),
    successes,
    assessments,
    audit,
    deviceCookies: cookies,
    clock,
  });
  return { engine, clock, audit, cookies, policies, history, devices, assessments, successes };
}

export async function insertUser(db: Kysely<Database>, tenantId: string, username: string): Promise<string> {
  const id = newId();
  await db.insertInto('users').values({ tenant_id: tenantId, id, username }).execute();
  return id;
}

export async function setPolicy(f: Fixture, tenantId: string, input: SignInPolicyInput): Promise<void> {
  await f.policies.put(tenantId, signInPolicySchema.parse(input));
}

export function context(tenantId: string, userId: string, username: string, over: Partial<SignInContext> = {}): SignInContext {
  return {
    tenantId,
    userId,
    username,
    ip: IPS.paris,
    userAgent: BROWSER_UA,
    device: { status: 'absent' },
    firstFactor: 'password',
    passkeyBound: false,
    ...over,
  };
}

/**
 * Completes `n` ordinary sign-ins from `ip` on one browser, `gapMs` apart (ends the learning period when
 * n ≥ 10); returns the device cookie verdict of that browser.
 */
export async function establish(
  f: Fixture,
  tenantId: string,
  userId: string,
  username: string,
  options: { n?: number; ip?: string; gapMs?: number } = {},
): Promise<SignInContext['device']> {
  let device: SignInContext['device'] = { status: 'absent' };
  for (let i = 0; i < (options.n ?? 10); i++) {
    const a = await f.engine.assess(context(tenantId, userId, username, { ip: options.ip ?? IPS.paris, device }));
    const done = await f.engine.complete(a);
    device = f.cookies.verify(tenantId, done.deviceCookie);
    f.clock.advance(options.gapMs ?? 60 * MINUTE);
  }
  return device;
}

/**
 * The stored assessment: the details of its `risk.assessment` audit event (undefined: not stored; the engine's
 * calls resolve once their event is committed).
 */
export async function storedAssessment(db: Kysely<Database>, tenantId: string, assessmentId: string): Promise<Record<string, unknown> | undefined> {
  const rows = await db
    .selectFrom('audit_events')
    .select('details')
    .where('tenant_id', '=', tenantId)
    .where('type', '=', 'risk.assessment')
    .where(sql<boolean>`details->>'assessmentId' = ${assessmentId}`)
    .execute();
  if (rows.length > 1) throw new Error(`assessment ${assessmentId} stored ${rows.length} times`);
  return rows[0]?.details;
}
