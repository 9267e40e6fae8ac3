/**
 * The risk engine's signals read (readSignals) on a busy tenant whose tables have not been analyzed yet, as
 * right after a deployment or in a young database: PostgreSQL's generic plan must still read one user's
 * history through the per-user index, one account's failure run and one address's counters by their keys,
 * never by walking the whole tenant's rows in a time window (that cost grew with the tenant, per sign-in).
 * The statement is the engine's own (captured from kysely's log), planned as a prepared generic plan. And
 * PostgreSQL must settle on that generic plan by itself, so that the statement is planned once per connection
 * rather than on every sign-in.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/schema.ts';
import { readSignals } from '../../src/risk/signals/sign-in-statements.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';

const T = 'plans';
const USER = '00000000-0000-4000-8000-000000000007';
let m: MigratedDatabase;
let pool: pg.Pool;
let db: Kysely<Database>;
let captured: { sql: string; parameters: readonly unknown[] } | undefined;

beforeAll(async () => {
  m = await createMigratedDatabase();
  await insertTenant(m.db, T);
  for (const table of ['signin_history', 'source_attempts', 'account_failures']) {
    await sql`alter table ${sql.table(table)} set (autovacuum_enabled = false)`.execute(m.db);
  }
  // 50 users with 40 sign-ins each, 60 minutes of counters for 50 addresses, 2,000 failure runs; no ANALYZE.
  await sql`insert into users (tenant_id, id, username)
            select ${T}, ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'user' || g from generate_series(1, 50) g`.execute(m.db);
  await sql`insert into signin_history (tenant_id, user_id, id, at, ip, network)
            select ${T}, ('00000000-0000-4000-8000-' || lpad((g % 50 + 1)::text, 12, '0'))::uuid, gen_random_uuid(),
                   now() - (g || ' seconds')::interval, '88.160.0.1', '88.160.0.0/24'
              from generate_series(1, 2000) g`.execute(m.db);
  await sql`insert into source_attempts (tenant_id, source, bucket_start, username, failures, successes)
            select ${T}, 'ip:10.0.0.' || (g % 50), date_trunc('minute', now()) - ((g % 60) || ' minutes')::interval, 'user' || g, g % 2, 1 - g % 2
              from generate_series(1, 6000) g`.execute(m.db);
  await sql`insert into account_failures (tenant_id, username, consecutive, first_failure_at, last_failure_at)
            select ${T}, 'user' || g, 1, now(), now() - ((g % 3600) || ' seconds')::interval from generate_series(1, 2000) g`.execute(m.db);

  pool = new pg.Pool({ connectionString: m.test.url, max: 1 });
  pool.on('error', () => undefined);
  db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query') captured = { sql: event.query.sql, parameters: event.query.parameters };
    },
  });
});

afterAll(async () => {
  await db?.destroy();
  await m?.close();
});

/** A parameter as an SQL literal for EXECUTE (the values here are the test's own). */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return String(value);
  if (value instanceof Date) return `'${value.toISOString()}'`;
  if (Array.isArray(value)) return `array[${value.map(literal).join(', ')}]`;
  if (typeof value !== 'string') throw new TypeError(`no literal for ${typeof value}`);
  return `'${value.replaceAll("'", "''")}'`;
}

interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly Plans?: readonly PlanNode[];
}

/** Every scan of a table in the plan, as "table via index" (or "table via Seq Scan"). */
function scans(node: PlanNode): string[] {
  const own = node['Relation Name'] ? [`${node['Relation Name']} via ${node['Index Name'] ?? node['Node Type']}`] : [];
  return [...own, ...(node.Plans ?? []).flatMap(scans)];
}

async function genericPlan(statement: { sql: string; parameters: readonly unknown[] }): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('set plan_cache_mode = force_generic_plan');
    await client.query(`prepare signals as ${statement.sql}`);
    const result = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
      `explain (format json) execute signals(${statement.parameters.map(literal).join(', ')})`,
    );
    await client.query('deallocate signals');
    await client.query('reset plan_cache_mode');
    return scans(result.rows[0]!['QUERY PLAN'][0]!.Plan);
  } finally {
    client.release();
  }
}

/** The engine's statement for one sign-in's read, as kysely sent it. */
async function signalsStatement(shape: 'precheck' | 'assess'): Promise<{ sql: string; parameters: readonly unknown[] }> {
  const now = new Date();
  captured = undefined;
  await readSignals(db, {
    tenantId: T,
    username: 'user7',
    resetBefore: new Date(now.getTime() - 86_400_000),
    sources: ['ip:10.0.0.7', 'net:10.0.0.0/24', 'asn:12322'],
    windows: { spraySince: new Date(now.getTime() - 3_600_000), throttleSince: new Date(now.getTime() - 900_000) },
    device: shape === 'assess' ? { userId: USER, deviceId: '00000000-0000-4000-8000-0000000000d7' } : { username: 'user7', deviceId: '00000000-0000-4000-8000-0000000000d7' },
    history: { user: shape === 'assess' ? { id: USER } : { username: 'user7' }, limit: 50, since: new Date(now.getTime() - 90 * 86_400_000) },
  });
  if (!captured) throw new Error('the statement was not captured');
  return captured;
}

describe("the risk engine's signals read", () => {
  it.each(['precheck', 'assess'] as const)('reads each table by the key of what it asks for, even before the first ANALYZE (%s)', async (shape) => {
    const plan = await genericPlan(await signalsStatement(shape));
    expect(plan.filter((s) => s.startsWith('signin_history '))).toEqual(['signin_history via signin_history_pk']);
    expect(plan.filter((s) => s.startsWith('source_attempts '))).toEqual(['source_attempts via source_attempts_pk']);
    expect(plan.filter((s) => s.startsWith('account_failures '))).toEqual(['account_failures via account_failures_pk']);
    expect(plan.filter((s) => s.includes('Seq Scan'))).toEqual([]);
    // By username, the user row is read once, through the unique index, for every per-user read.
    expect(plan.filter((s) => s.startsWith('users '))).toEqual(shape === 'precheck' ? ['users via users_username_uq'] : []);
  });

  // Planning the statement costs PostgreSQL four times what running it does. Prepared (src/db/prepared-pool.ts),
  // it is planned once per connection only if PostgreSQL finds its generic plan no dearer than the custom
  // plans of its first five runs; an array parameter (estimated at ten rows) made it look dearer, and every
  // sign-in was planned afresh.
  it.each(['precheck', 'assess'] as const)('is planned once per connection, not on every sign-in (%s)', async (shape) => {
    const statement = await signalsStatement(shape);
    const client = await pool.connect();
    try {
      const name = `signals_${shape}`;
      for (let i = 0; i < 10; i++) await client.query({ name, text: statement.sql, values: [...statement.parameters] });
      const { rows } = await client.query<{ generic_plans: string; custom_plans: string }>(
        'select generic_plans, custom_plans from pg_prepared_statements where name = $1',
        [name],
      );
      expect(rows[0]).toEqual({ generic_plans: '5', custom_plans: '5' });
    } finally {
      client.release();
    }
  });
});
