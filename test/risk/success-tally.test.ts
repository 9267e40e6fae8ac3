/**
 * SuccessTally (src/risk/signals/success-tally.ts) on a real PostgreSQL database: successes are tallied on
 * the node and added to the shared source counters in one statement per flush, under the same row keys the
 * engine reads; two nodes' tallies add up; a flush PostgreSQL refuses keeps its counts for the next one, as
 * long as they are inside the spray window.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/schema.ts';
import { PostgresFailureCounters } from '../../src/risk/signals/postgres-failure-counters.ts';
import { SUCCESS_KEY, SuccessTally } from '../../src/risk/signals/success-tally.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';
import { ManualClock, MINUTE } from './fixture.ts';

const T = 'tally';
let m: MigratedDatabase;

beforeAll(async () => {
  m = await createMigratedDatabase();
  await insertTenant(m.db, T);
});

afterAll(async () => {
  await m?.close();
});

const everything = { spraySince: new Date(0), throttleSince: new Date(0) };

async function successes(source: string): Promise<number> {
  const [stats] = await new PostgresFailureCounters(m.db).sources(T, [source], everything);
  return stats?.successes ?? 0;
}

describe('source success tally', () => {
  it('adds a flush interval of successes in one statement, under the keys the engine reads', async () => {
    const clock = new ManualClock();
    const sent: string[] = [];
    const pool = new pg.Pool({ connectionString: m.test.url, max: 1 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: (e) => void sent.push(e.query.sql) });
    const tally = new SuccessTally(db, { clock, flushMs: 60_000 });
    const sources = ['ip:198.51.100.1', 'net:198.51.100.0/24'];
    for (let i = 0; i < 50; i++) tally.add(T, sources, clock.now());
    tally.add(T, [], clock.now());
    expect(await successes(sources[0] as string)).toBe(0);
    await tally.flush();
    expect(sent).toHaveLength(1);
    for (const source of sources) expect(await successes(source)).toBe(50);
    // One row per source and minute, under the success key, whoever signed in.
    const rows = await m.db.selectFrom('source_attempts').select(['username', 'successes']).where('tenant_id', '=', T).where('source', '=', sources[0] as string).execute();
    expect(rows).toEqual([{ username: SUCCESS_KEY, successes: 50 }]);
    await tally.flush();
    expect(sent).toHaveLength(1);
    expect(await successes(sources[0] as string)).toBe(50);
    await db.destroy();
  });

  it('flushes on its own within its interval', async () => {
    const clock = new ManualClock();
    const tally = new SuccessTally(m.db, { clock, flushMs: 20 });
    const source = 'ip:198.51.100.2';
    tally.add(T, [source], clock.now());
    const deadline = Date.now() + 5_000;
    while ((await successes(source)) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await successes(source)).toBe(1);
  });

  it("two nodes' tallies of the same rows add up", async () => {
    const clock = new ManualClock();
    const nodes = [await m.open(2), await m.open(2)];
    const tallies = nodes.map((n) => new SuccessTally(n.db, { clock, flushMs: 60_000 }));
    const source = 'ip:198.51.100.3';
    for (let round = 0; round < 5; round++) {
      tallies.forEach((t, i) => {
        for (let k = 0; k < 10; k++) t.add(T, [source], clock.now());
        if (i === 0) t.add(T, [source], clock.now());
      });
      await Promise.all(tallies.map((t) => t.flush()));
    }
    expect(await successes(source)).toBe(105);
  });

  it('two nodes flushing the same rows lock them in one order: no deadlock, whatever order they were tallied in', async () => {
    const clock = new ManualClock();
    const [a, b] = ['ip:198.51.100.10', 'ip:198.51.100.11'];
    const nodes = [await m.open(1), await m.open(1)];
    const errors: unknown[] = [];
    const [first, second] = nodes.map((n) => new SuccessTally(n.db, { clock, flushMs: 60_000, onError: (e) => errors.push(e) })) as [SuccessTally, SuccessTally];
    first.add(T, [a, b], clock.now());
    await first.flush();
    const waiting = async (n: number): Promise<void> => {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(m.db);
        if ((rows[0]?.n ?? 0) >= n) return;
        if (Date.now() > deadline) throw new Error(`expected ${n} statements waiting for a lock`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    // Another transaction holds b. The second node, which tallied b before a, queues for b first; the first
    // node, which tallied a before b, then takes a and queues for b. Flushed in tally order, the second would
    // get b and wait for a while the first waits for b: a deadlock, one flush refused.
    const holder = new pg.Client({ connectionString: m.test.url });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select 1 from source_attempts where tenant_id = $1 and source = $2 for update', [T, b]);
      second.add(T, [b, a], clock.now());
      const secondFlush = second.flush();
      await waiting(1);
      first.add(T, [a, b], clock.now());
      const firstFlush = first.flush();
      await waiting(2);
      await holder.query('commit');
      await Promise.all([firstFlush, secondFlush]);
    } finally {
      await holder.end();
    }
    expect(errors).toEqual([]);
    expect(await successes(a)).toBe(3);
    expect(await successes(b)).toBe(3);
  });

  it('keeps the counts of a refused flush for the next one, while they are inside the spray window', async () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const tally = new SuccessTally(m.db, { clock, flushMs: 60_000, onError: (e) => errors.push(e) });
    const kept = 'ip:198.51.100.4';
    const stale = 'ip:198.51.100.5';
    tally.add(T, [stale], new Date(clock.now().getTime() - 61 * MINUTE));
    tally.add(T, [kept], clock.now());
    tally.add(T, [kept], clock.now());
    await sql`alter table source_attempts rename to source_attempts_away`.execute(m.db);
    try {
      await tally.flush();
    } finally {
      await sql`alter table source_attempts_away rename to source_attempts`.execute(m.db);
    }
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/source_attempts/);
    tally.add(T, [kept], clock.now());
    await tally.flush();
    expect(await successes(kept)).toBe(3);
    expect(await successes(stale)).toBe(0);
  });
});
