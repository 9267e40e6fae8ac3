/**
 * The per-node policy cache: a change through this node applies at once, another node's change within
 * `cacheMs` (the documented staleness bound), and a read racing a change never caches what it saw.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { PolicyRepository } from '../../src/risk/policy-repository.ts';
import { PolicyService } from '../../src/risk/policy-service.ts';
import { DEFAULT_POLICY, signInPolicySchema } from '../../src/risk/policy.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';
import { ManualClock } from './fixture.ts';

let m: MigratedDatabase;
let audit: AuditLog;
const clock = new ManualClock();

beforeAll(async () => {
  m = await createMigratedDatabase();
  audit = new AuditLog(m.db, clock);
  for (const t of ['same-node', 'other-node', 'race', 'admin', 'off']) await insertTenant(m.db, t);
});

afterAll(async () => {
  await audit?.close();
  await m?.close();
});

const policy = (levels: { medium: number; high: number }) => signInPolicySchema.parse({ levels });

describe('policy cache', () => {
  it('applies a change made through this node at once, through the repository and through PolicyService', async () => {
    const repo = new PolicyRepository(m.db, clock);
    const service = new PolicyService(m.db, repo, audit);
    expect(await repo.get('same-node')).toEqual(DEFAULT_POLICY);
    await repo.put('same-node', policy({ medium: 40, high: 70 }));
    expect((await repo.get('same-node')).levels).toEqual({ medium: 40, high: 70 });
    await service.replace('same-node', policy({ medium: 45, high: 75 }), { actor: 'admin:test' });
    expect((await repo.get('same-node')).levels).toEqual({ medium: 45, high: 75 });
  });

  it('applies another node’s change once cacheMs has passed, not before', async () => {
    const here = new PolicyRepository(m.db, clock, { cacheMs: 5_000 });
    const there = new PolicyRepository(m.db, clock, { cacheMs: 5_000 });
    expect(await here.get('other-node')).toEqual(DEFAULT_POLICY);
    await there.put('other-node', policy({ medium: 50, high: 80 }));
    clock.advance(4_999);
    expect(await here.get('other-node')).toEqual(DEFAULT_POLICY);
    clock.advance(1);
    expect((await here.get('other-node')).levels).toEqual({ medium: 50, high: 80 });
  });

  it('does not cache a read that was in flight when the policy was invalidated', async () => {
    const here = new PolicyRepository(m.db, clock);
    const there = new PolicyRepository(m.db, clock);
    const inFlight = here.get('race');
    here.invalidate('race');
    expect(await inFlight).toEqual(DEFAULT_POLICY);
    await there.put('race', policy({ medium: 35, high: 65 }));
    expect((await here.get('race')).levels).toEqual({ medium: 35, high: 65 });
  });

  it('answers the admin API from the database, never from the cache', async () => {
    const here = new PolicyRepository(m.db, clock);
    const service = new PolicyService(m.db, here, audit);
    expect(await here.get('admin')).toEqual(DEFAULT_POLICY);
    await new PolicyRepository(m.db, clock).put('admin', policy({ medium: 20, high: 90 }));
    expect((await service.get('admin')).levels).toEqual({ medium: 20, high: 90 });
    expect(await here.get('admin')).toEqual(DEFAULT_POLICY);
  });

  it('reads every time with cacheMs 0', async () => {
    const here = new PolicyRepository(m.db, clock, { cacheMs: 0 });
    expect(await here.get('off')).toEqual(DEFAULT_POLICY);
    await new PolicyRepository(m.db, clock).put('off', policy({ medium: 25, high: 55 }));
    expect((await here.get('off')).levels).toEqual({ medium: 25, high: 55 });
  });
});
