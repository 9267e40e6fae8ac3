/** Two engines on two pools (two nodes) share every counter: PostgreSQL holds them, not process memory. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresFailureCounters } from '../../src/risk/signals/postgres-failure-counters.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';
import { createFixture, establish, insertUser, ManualClock, type Fixture } from './fixture.ts';

let m: MigratedDatabase;
let a: Fixture;
let b: Fixture;
const T = 'nodes';

beforeAll(async () => {
  m = await createMigratedDatabase();
  await insertTenant(m.db, T);
  const clock = new ManualClock();
  a = createFixture((await m.open(5)).db, clock);
  b = createFixture((await m.open(5)).db, clock);
});

afterAll(async () => {
  await a?.audit.close();
  await b?.audit.close();
  await m?.close();
});

describe('two nodes', () => {
  it('count concurrent failures on both into one account run and one source window', async () => {
    const attempt = { tenantId: T, username: 'shared', ip: '198.51.100.20', device: { status: 'absent' } as const };
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).engine.recordFailure(attempt)));
    // Every increment was atomic: the 40 answers are exactly 1..40.
    expect(results.map((r) => r.consecutiveFailures).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await a.engine.precheck(attempt)).toMatchObject({ kind: 'locked' });
    expect(await b.engine.precheck(attempt)).toMatchObject({ kind: 'locked' });
    const windows = { spraySince: new Date(0), throttleSince: new Date(0) };
    const [onA, onB] = await Promise.all([
      new PostgresFailureCounters(m.db).sources(T, ['ip:198.51.100.20'], windows),
      new PostgresFailureCounters((await m.open(2)).db).sources(T, ['ip:198.51.100.20'], windows),
    ]);
    expect(onA).toEqual(onB);
    expect(onA[0]).toMatchObject({ failures: 40, distinctUsernamesFailed: 1 });
  });

  it('learn one history: a device recorded by one node is known to the other', async () => {
    const user = await insertUser(m.db, T, 'roamer');
    const device = await establish(a, T, user, 'roamer', { n: 10 });
    const seen = await b.engine.assess({
      tenantId: T,
      userId: user,
      username: 'roamer',
      ip: '88.160.0.1',
      userAgent: 'Mozilla/5.0 Firefox/140.0',
      device,
      firstFactor: 'password',
      passkeyBound: false,
    });
    expect(seen.contributions.map((c) => c.code)).toEqual(['known_device']);
  });
});
