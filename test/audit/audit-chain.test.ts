/**
 * The hash-chained audit trail (src/audit/README.md) on a real PostgreSQL database: two writers appending
 * concurrently, transactional events that roll back with their change, tampering by someone who can get
 * past the append-only trigger (a superuser), and listing with filters and cursor paging.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, TRANSACTIONAL_CHAIN_IDS } from '../../src/audit/audit-log.ts';
import { AuditRepository, type AuditEvent } from '../../src/audit/audit-repository.ts';
import { eventHash } from '../../src/audit/event-hash.ts';
import type { Database } from '../../src/db/schema.ts';
import { systemClock, type Clock } from '../../src/lib/clock.ts';
import { createMigratedDatabase, type MigratedDatabase } from '../helpers/migrated-database.ts';

let database: MigratedDatabase;
let db: Kysely<Database>;
let repository: AuditRepository;

beforeAll(async () => {
  database = await createMigratedDatabase();
  db = database.db;
  repository = new AuditRepository(db);
});

afterAll(async () => {
  await database?.close();
});

/** Each case gets its own tenant, so verification reports only what that case did. */
function newTenant(): string {
  return `audit-${randomBytes(5).toString('hex')}`;
}

function eventsOf(tenant: string) {
  return db.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenant).orderBy('chain_id').orderBy('seq').execute();
}

/** What an attacker with superuser rights does: switch triggers off for the session, then write. */
async function asSuperuser(change: (trx: Transaction<Database>) => Promise<unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await change(trx);
  });
}

describe('concurrent writers', () => {
  it('commits every event of two writers onto their own segments, and the trail verifies', async () => {
    const tenant = newTenant();
    const other = newTenant();
    const nodes = [await database.open(3), await database.open(3)];
    const logs = nodes.map((n, i) => new AuditLog(n.db, systemClock, { writer: `node-${i + 1}` }));
    const burst = (round: number): Promise<void>[] =>
      Array.from({ length: 400 }, (_, i) =>
        logs[i % 2]!.record(i % 5 === 0 ? other : tenant, {
          type: 'token.issued',
          actor: `client:c${i % 7}`,
          subject: `user:${round}-${i}`,
          ip: '203.0.113.7',
          details: { round, i, scope: 'openid', nested: { at: new Date(0), skip: undefined } },
        }),
      );

    // Two bursts: the second continues each writer's segment from its in-memory head.
    await Promise.all(burst(1));
    await Promise.all(burst(2));
    await Promise.all(logs.map((l) => l.close()));

    const report = await repository.verify(tenant);
    expect(report).toEqual({ ok: true, segments: 2, events: 640, problems: [] });
    expect(await repository.verify(other)).toEqual({ ok: true, segments: 2, events: 160, problems: [] });

    const chains = await db
      .selectFrom('audit_chains')
      .select(['chain_id', 'writer', 'head_seq'])
      .where('tenant_id', '=', tenant)
      .orderBy('writer')
      .execute();
    expect(chains.map((c) => [c.writer, Number(c.head_seq)])).toEqual([
      ['node-1', 320],
      ['node-2', 320],
    ]);
    const rows = await eventsOf(tenant);
    expect(rows).toHaveLength(640);
    expect(new Set(rows.map((r) => r.subject)).size).toBe(640);
    for (const chain of chains) {
      expect(rows.filter((r) => r.chain_id === chain.chain_id).map((r) => Number(r.seq))).toEqual(
        Array.from({ length: 320 }, (_, i) => i + 1),
      );
    }
  });

  it('refuses records after close', async () => {
    const log = new AuditLog(db, systemClock);
    await log.close();
    await expect(log.record(newTenant(), { type: 'logout' })).rejects.toThrow(/closed/);
  });
});

describe('recordWith', () => {
  it('leaves no event when the surrounding transaction rolls back', async () => {
    const tenant = newTenant();
    const log = new AuditLog(db, systemClock);
    await expect(
      db.transaction().execute(async (trx) => {
        await log.recordWith(trx, tenant, { type: 'user.created', subject: 'user:rolled-back', actor: 'admin:bootstrap' });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');

    expect(await eventsOf(tenant)).toEqual([]);
    expect(await db.selectFrom('audit_chains').select('chain_id').where('tenant_id', '=', tenant).execute()).toEqual([]);
    expect(await repository.verify(tenant)).toEqual({ ok: true, segments: 0, events: 0, problems: [] });
  });

  it('chains concurrent transactions on the transactional segment beside record()', async () => {
    const tenant = newTenant();
    const log = new AuditLog(db, systemClock);
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) =>
        db.transaction().execute((trx) => log.recordWith(trx, tenant, { type: 'client.updated', subject: `client:c${i}` })),
      ),
      ...Array.from({ length: 10 }, (_, i) => log.record(tenant, { type: 'signin.success', subject: `user:u${i}` })),
    ]);
    await log.close();

    const transactional = (await eventsOf(tenant)).filter((r) => TRANSACTIONAL_CHAIN_IDS.includes(r.chain_id));
    expect(new Set(transactional.map((r) => r.subject)).size).toBe(10);
    // Each transactional slot is its own gap-free chain.
    const bySlot = Map.groupBy(transactional, (r) => r.chain_id);
    for (const rows of bySlot.values()) {
      expect(rows.map((r) => Number(r.seq)).sort((a, b) => a - b)).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1));
    }
    const report = await repository.verify(tenant);
    expect(report).toMatchObject({ ok: true, events: 20, problems: [] });
    // Every slot a transaction created is a segment, plus the batched writer's.
    expect(report.segments).toBe(TRANSACTIONAL_CHAIN_IDS.length + 1);
  });
});

describe('tamper evidence', () => {
  /** A fresh tenant with one segment of five events; returns the segment id. */
  async function fiveEvents(): Promise<{ tenant: string; chainId: string }> {
    const tenant = newTenant();
    const log = new AuditLog(db, systemClock);
    for (let i = 1; i <= 5; i++) {
      await log.record(tenant, { type: 'signin.success', subject: `user:u${i}`, details: { attempt: i, method: 'pwd' } });
    }
    await log.close();
    const rows = await eventsOf(tenant);
    expect(rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5]);
    expect((await repository.verify(tenant)).ok).toBe(true);
    return { tenant, chainId: rows[0]!.chain_id };
  }

  function atSeq(trx: Transaction<Database>, tenant: string, chainId: string, seq: number) {
    return trx.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenant).where('chain_id', '=', chainId).where('seq', '=', String(seq));
  }

  it('the append-only trigger refuses a plain UPDATE and DELETE', async () => {
    const { tenant, chainId } = await fiveEvents();
    await expect(
      db.updateTable('audit_events').set({ details: JSON.stringify({ attempt: 99 }) }).where('tenant_id', '=', tenant).execute(),
    ).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('audit_events').where('tenant_id', '=', tenant).execute()).rejects.toThrow(/append-only/);
    const rows = await eventsOf(tenant);
    expect(rows).toHaveLength(5);
    expect(rows[0]!.details).toEqual({ attempt: 1, method: 'pwd' });
    expect(rows[0]!.chain_id).toBe(chainId);
  });

  it('reports a changed row as hash_mismatch', async () => {
    const { tenant, chainId } = await fiveEvents();
    await asSuperuser((trx) =>
      trx
        .updateTable('audit_events')
        .set({ details: JSON.stringify({ attempt: 3, method: 'mfa' }) })
        .where('tenant_id', '=', tenant)
        .where('seq', '=', '3')
        .execute(),
    );

    expect(await repository.verify(tenant)).toEqual({
      ok: false,
      segments: 1,
      events: 5,
      problems: [{ chainId, seq: 3, reason: 'hash_mismatch' }],
    });
  });

  it('reports a changed row whose own hash was recomputed as a broken link to the next', async () => {
    const { tenant, chainId } = await fiveEvents();
    await asSuperuser(async (trx) => {
      const row = await atSeq(trx, tenant, chainId, 3).executeTakeFirstOrThrow();
      const details = { attempt: 3, method: 'mfa' };
      const hash = eventHash({
        tenantId: tenant,
        chainId,
        seq: 3,
        id: row.id,
        type: row.type,
        at: row.at,
        actor: row.actor,
        subject: row.subject,
        ip: row.ip,
        details,
        prevHash: row.prev_hash,
      });
      await trx
        .updateTable('audit_events')
        .set({ details: JSON.stringify(details), hash })
        .where('tenant_id', '=', tenant)
        .where('id', '=', row.id)
        .execute();
    });

    expect((await repository.verify(tenant)).problems).toEqual([{ chainId, seq: 4, reason: 'broken_link' }]);
  });

  it('reports a deleted middle row as a sequence gap and a broken link', async () => {
    const { tenant, chainId } = await fiveEvents();
    await asSuperuser((trx) => trx.deleteFrom('audit_events').where('tenant_id', '=', tenant).where('seq', '=', '3').execute());

    expect(await repository.verify(tenant)).toEqual({
      ok: false,
      segments: 1,
      events: 4,
      problems: [
        { chainId, seq: 3, reason: 'sequence_gap' },
        { chainId, seq: 4, reason: 'broken_link' },
      ],
    });
  });

  it('reports a deleted last row as head_mismatch', async () => {
    const { tenant, chainId } = await fiveEvents();
    await asSuperuser((trx) => trx.deleteFrom('audit_events').where('tenant_id', '=', tenant).where('seq', '=', '5').execute());

    expect(await repository.verify(tenant)).toEqual({
      ok: false,
      segments: 1,
      events: 4,
      problems: [{ chainId, seq: 5, reason: 'head_mismatch' }],
    });
  });

  it('reports a forged event on a segment that does not exist', async () => {
    const { tenant } = await fiveEvents();
    const [template] = await eventsOf(tenant);
    const forged = '0190a000-0000-7000-8000-00000000f00d';
    await db
      .insertInto('audit_events')
      .values({ ...template!, id: forged, chain_id: forged, seq: '1', details: JSON.stringify(template!.details) })
      .execute();

    const report = await repository.verify(tenant);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([{ chainId: forged, seq: null, reason: 'segment_missing' }]);
  });
});

describe('list', () => {
  const base = Date.parse('2030-01-01T00:00:00.000Z');
  let tenant: string;
  let recorded: string[];

  /** A clock one minute further on each call, so `at` is known per event. */
  function steppingClock(): Clock {
    let minute = 0;
    return { now: () => new Date(base + 60_000 * minute++) };
  }

  beforeAll(async () => {
    tenant = newTenant();
    const log = new AuditLog(db, steppingClock());
    // Awaited one by one: the order of ids (UUIDv7) is the order of recording.
    for (let i = 0; i < 10; i++) {
      await log.record(tenant, {
        type: i % 2 === 0 ? 'signin.success' : 'signin.failure',
        actor: `user:u${i % 3}`,
        subject: `user:u${i % 3}`,
        ip: '198.51.100.1',
        details: { i },
      });
    }
    await log.close();
    // Another tenant's events never show up.
    const noise = new AuditLog(db, systemClock);
    await noise.record(newTenant(), { type: 'signin.success', subject: 'user:u0' });
    await noise.close();
    const rows = await db.selectFrom('audit_events').select('id').where('tenant_id', '=', tenant).orderBy('at').execute();
    recorded = rows.map((r) => r.id);
  });

  const indexes = (items: AuditEvent[]): unknown[] => items.map((e) => e.details.i);

  it('returns events newest first, as the API shows them', async () => {
    const page = await repository.list(tenant, { limit: 50 });
    expect(page.next).toBeNull();
    expect(indexes(page.items)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(page.items.map((e) => e.id)).toEqual([...recorded].reverse());
    expect(page.items[0]).toEqual({
      id: recorded[9],
      type: 'signin.failure',
      at: new Date(base + 9 * 60_000).toISOString(),
      actor: 'user:u0',
      subject: 'user:u0',
      ip: '198.51.100.1',
      details: { i: 9 },
    });
  });

  it('filters by type, subject and since', async () => {
    expect(indexes((await repository.list(tenant, { type: 'signin.failure', limit: 50 })).items)).toEqual([9, 7, 5, 3, 1]);
    expect(indexes((await repository.list(tenant, { subject: 'user:u1', limit: 50 })).items)).toEqual([7, 4, 1]);
    expect(indexes((await repository.list(tenant, { since: new Date(base + 6 * 60_000), limit: 50 })).items)).toEqual([9, 8, 7, 6]);
    expect(
      indexes((await repository.list(tenant, { type: 'signin.success', subject: 'user:u0', since: new Date(base + 60_000), limit: 50 })).items),
    ).toEqual([6]);
    expect((await repository.list(tenant, { type: 'no.such.type', limit: 50 })).items).toEqual([]);
  });

  it('pages with the cursor and returns each event exactly once', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await repository.list(tenant, { limit: 3, cursor });
      seen.push(...page.items.map((e) => e.id));
      sizes.push(page.items.length);
      if (!page.next) break;
      cursor = page.next;
    }
    expect(sizes).toEqual([3, 3, 3, 1]);
    expect(seen).toEqual([...recorded].reverse());

    // A page that ends exactly at the last event says there is no next page.
    const exact = await repository.list(tenant, { type: 'signin.failure', limit: 5 });
    expect(exact.items).toHaveLength(5);
    expect(exact.next).toBeNull();
    const filtered = await repository.list(tenant, { type: 'signin.failure', limit: 2 });
    const rest = await repository.list(tenant, { type: 'signin.failure', limit: 10, cursor: filtered.next ?? undefined });
    expect([...indexes(filtered.items), ...indexes(rest.items)]).toEqual([9, 7, 5, 3, 1]);
  });
});
