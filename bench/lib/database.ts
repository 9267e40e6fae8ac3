/** The bench's own PostgreSQL database: created fresh (pc_bench_<random>) and dropped at the end. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /**
   * The next transaction id of the whole server: its delta over a run counts the transactions that wrote
   * (each needs a WAL flush at commit; read-only ones take no id). Exact and immediate, unlike
   * pg_stat_database, whose counters backends report lazily under load. Other databases' writes on the
   * same server are counted too.
   */
  writeTransactions(): Promise<number>;
  drop(): Promise<void>;
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `pc_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
      return (await pool.query<R>(text, values)).rows;
    },
    async writeTransactions() {
      const r = await pool.query<{ n: string }>('select pg_snapshot_xmax(pg_current_snapshot())::text as n');
      return Number(r.rows[0]?.n ?? NaN);
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      await pool.end();
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
