/**
 * Writes carried by an audit event (AuditLog.record's `carried`, src/db/combined-writes.ts) on a real
 * PostgreSQL database: they commit in the statement of the event's batch, two writes of one row never share a
 * statement, and a write PostgreSQL refuses costs only its own caller, never another event or write.
 */
import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { AuditRepository } from '../../src/audit/audit-repository.ts';
import type { CombinedWrite } from '../../src/db/combined-writes.ts';
import type { Database } from '../../src/db/schema.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { createMigratedDatabase, type MigratedDatabase } from '../helpers/migrated-database.ts';

let database: MigratedDatabase;
let db: Kysely<Database>;
/** Every statement the writer sent, and every one PostgreSQL refused. */
const sent: string[] = [];
const refused: string[] = [];

beforeAll(async () => {
  database = await createMigratedDatabase();
  await sql`create table carried_counts (key text primary key, n integer not null check (n < 100))`.execute(database.db);
  const pool = new pg.Pool({ connectionString: database.test.url, max: 3 });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      (event.level === 'query' ? sent : refused).push(event.query.sql);
    },
  });
});

afterAll(async () => {
  await db?.destroy();
  await database?.close();
});

function newTenant(): string {
  return `carried-${randomBytes(5).toString('hex')}`;
}

/** Adds `by` to the counter `key` (an upsert: it may update that row). */
function count(key: string, by = 1): CombinedWrite {
  return {
    statements: ['insert into carried_counts (key, n) values ($1, $2) on conflict (key) do update set n = carried_counts.n + excluded.n'],
    parameters: [key, by],
    keys: [`carried_counts ${key}`],
  };
}

async function counts(...keys: string[]): Promise<Record<string, number>> {
  const { rows } = await sql<{ key: string; n: number }>`select key, n from carried_counts where key = any(${keys})`.execute(database.db);
  return Object.fromEntries(rows.map((r) => [r.key, r.n]));
}

const event = (i: number) => ({ type: 'signin.success', actor: `user:${i}`, subject: `user:${i}`, ip: '203.0.113.9', details: { i } });

/** A log whose first batch (which creates the segment, in a transaction of its own) is behind it. */
async function warmLog(tenant: string): Promise<AuditLog> {
  const log = new AuditLog(db, systemClock, { writer: `carried-${tenant}` });
  await log.record(tenant, event(0));
  return log;
}

describe('writes carried by audit events', () => {
  it('commit in the statement of their batch: one statement for the events, their heads and the writes', async () => {
    const tenant = newTenant();
    const log = await warmLog(tenant);
    const a = `${tenant}-a`;
    const b = `${tenant}-b`;
    // Events recorded in one turn go out as one batch.
    sent.length = 0;
    await Promise.all([log.record(tenant, event(1)), log.record(tenant, event(2), count(a)), log.record(tenant, event(3), count(b, 2)), log.record(tenant, event(4))]);
    expect(await counts(a, b)).toEqual({ [a]: 1, [b]: 2 });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^with heads as[\s\S]*carried0_0 as \(insert into carried_counts[\s\S]*carried1_0 as \(insert into carried_counts[\s\S]*insert into audit_events/);
    expect((await new AuditRepository(database.db).verify(tenant)).ok).toBe(true);
    await log.close();
  });

  it('never puts two writes of one row in one statement: the second waits for the next batch', async () => {
    const tenant = newTenant();
    const log = await warmLog(tenant);
    const key = `${tenant}-same`;
    const first = log.record(tenant, event(1));
    sent.length = 0;
    refused.length = 0;
    await Promise.all([first, ...Array.from({ length: 5 }, (_, i) => log.record(tenant, event(2 + i), count(key)))]);
    expect(refused).toEqual([]);
    expect(await counts(key)).toEqual({ [key]: 5 });
    // The first batch takes the first of them; each next batch the next one.
    expect(sent).toHaveLength(5);
    expect((await new AuditRepository(database.db).verify(tenant)).ok).toBe(true);
    await log.close();
  });

  it('a write PostgreSQL refuses fails its own caller only: every event is written, and the other writes', async () => {
    const tenant = newTenant();
    const log = await warmLog(tenant);
    const good = `${tenant}-good`;
    const bad = `${tenant}-bad`;
    const first = log.record(tenant, event(1));
    refused.length = 0;
    const outcomes = await Promise.allSettled([
      first,
      log.record(tenant, event(2), count(good)),
      // Breaks the check constraint: the batch's statement is refused as a whole.
      log.record(tenant, event(3), count(bad, 500)),
      log.record(tenant, event(4)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/carried_counts_n_check/);
    expect(refused.length).toBeGreaterThan(0);
    expect(await counts(good, bad)).toEqual({ [good]: 1 });
    const written = await database.db.selectFrom('audit_events').select('details').where('tenant_id', '=', tenant).execute();
    expect(written.map((r) => (r.details as { i: number }).i).sort()).toEqual([0, 1, 2, 3, 4]);
    expect((await new AuditRepository(database.db).verify(tenant)).ok).toBe(true);
    await log.close();
  });

  it('merges array-shaped writes of one kind into one write: the statement text does not grow with the batch', async () => {
    const tenant = newTenant();
    const log = await warmLog(tenant);
    const statements = ['insert into carried_counts (key, n) select * from unnest($1::text[], $2::integer[]) on conflict (key) do update set n = carried_counts.n + excluded.n'];
    const many = (key: string, by: number): CombinedWrite => ({ statements, parameters: [[key], [by]], keys: [`carried_counts ${key}`], arrays: true });
    const keys = [`${tenant}-x`, `${tenant}-y`, `${tenant}-z`];
    const first = log.record(tenant, event(1));
    sent.length = 0;
    await Promise.all([first, ...keys.map((key, i) => log.record(tenant, event(2 + i), many(key, i + 1)))]);
    expect(await counts(...keys)).toEqual({ [keys[0] as string]: 1, [keys[1] as string]: 2, [keys[2] as string]: 3 });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/carried0_0 as \(insert into carried_counts/);
    expect(sent[0]).not.toMatch(/carried1_0/);
    expect((await new AuditRepository(database.db).verify(tenant)).ok).toBe(true);
    await log.close();
  });

  it("rides the segment's first batch too (its transaction), and many at once all land", async () => {
    const tenant = newTenant();
    const log = new AuditLog(db, systemClock, { writer: `carried-burst-${tenant}` });
    const keys = Array.from({ length: 7 }, (_, i) => `${tenant}-k${i}`);
    await Promise.all(Array.from({ length: 140 }, (_, i) => log.record(tenant, event(i), count(keys[i % keys.length] as string))));
    expect(await counts(...keys)).toEqual(Object.fromEntries(keys.map((k) => [k, 20])));
    const report = await new AuditRepository(database.db).verify(tenant);
    expect(report).toMatchObject({ ok: true, events: 140 });
    await log.close();
  });
});
