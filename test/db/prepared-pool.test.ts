/**
 * Prepared hot statements (src/db/prepared-pool.ts) on a real PostgreSQL: a repeated statement is prepared
 * once on its connection, a cold one is not, a table that changes under a prepared statement is handled, and
 * `preparedStatements: false` prepares nothing.
 */
import { tmpdir } from 'node:os';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
let handle: DatabaseHandle;

beforeAll(async () => {
  database = await createTestDatabase();
  // One connection, so that pg_prepared_statements (per session) shows what the queries prepared.
  handle = await openDatabase({ url: database.url, dataDir: tmpdir(), poolSize: 1, connectTimeoutMs: 5000 });
  await sql`create table things (id int primary key, label text)`.execute(handle.db);
  await sql`insert into things values (1, 'one'), (2, 'two')`.execute(handle.db);
});

afterAll(async () => {
  await handle?.close();
  await database?.drop();
});

async function preparedTexts(): Promise<string[]> {
  const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements where name like 'pc_%'`.execute(handle.db);
  return rows.map((r) => r.statement);
}

const byId = (id: number) => sql<Record<string, unknown>>`select * from things where id = ${id}`.execute(handle.db);

describe('prepared hot statements', () => {
  it('prepares a statement once it repeats, and keeps answering with the right rows', async () => {
    expect((await byId(1)).rows).toEqual([{ id: 1, label: 'one' }]);
    expect((await preparedTexts()).some((t) => t.includes('from things'))).toBe(false);
    for (let i = 0; i < 5; i++) expect((await byId(2)).rows).toEqual([{ id: 2, label: 'two' }]);
    expect((await preparedTexts()).filter((t) => t.includes('from things where id'))).toHaveLength(1);
  });

  it('runs a prepared statement again after its table changed shape (a migration on another node)', async () => {
    await sql`alter table things add column extra text default 'x'`.execute(handle.db);
    expect((await byId(1)).rows).toEqual([{ id: 1, label: 'one', extra: 'x' }]);
    expect((await byId(2)).rows).toEqual([{ id: 2, label: 'two', extra: 'x' }]);
  });

  it('passes parameter values through unchanged, hostile ones included', async () => {
    const hostile = `'); drop table things; --`;
    for (let i = 0; i < 4; i++) {
      const { rows } = await sql<{ v: string }>`select ${hostile}::text as v`.execute(handle.db);
      expect(rows).toEqual([{ v: hostile }]);
    }
    expect((await byId(1)).rows).toHaveLength(1);
  });

  it('prepares nothing when turned off', async () => {
    const plain = await openDatabase({ url: database.url, dataDir: tmpdir(), poolSize: 1, connectTimeoutMs: 5000, preparedStatements: false });
    try {
      for (let i = 0; i < 5; i++) await sql`select * from things where id = ${1}`.execute(plain.db);
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements`.execute(plain.db);
      expect(rows).toEqual([{ n: 0 }]);
    } finally {
      await plain.close();
    }
  });
});
