/** The SQL the compiler produces, compiled by kysely (no database): values are bound, never inlined. */
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../db/schema.ts';
import { createRegistry } from '../registry/attributes.ts';
import { loadScimDocuments } from '../registry/schema-documents.ts';
import { compileFilter } from './compile-sql.ts';
import { parseFilter } from './parser.ts';
import { groupStorage, userStorage } from './storage.ts';

const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});
const registry = createRegistry(loadScimDocuments());

function compile(filter: string, kind: 'User' | 'Group' = 'User'): { sql: string; parameters: readonly unknown[] } {
  const where = compileFilter(parseFilter(filter), registry[kind], kind === 'User' ? userStorage : groupStorage);
  const { sql: text, parameters } = sql`${where}`.compile(db);
  return { sql: text, parameters };
}

describe('compileFilter', () => {
  it('compiles userName eq to the indexed lower(username) with a bound value', () => {
    expect(compile('userName eq "Bob\'; drop table users; --"')).toEqual({
      sql: '(lower(u.username) = lower($1::text))',
      parameters: ["Bob'; drop table users; --"],
    });
  });

  it('compares ids as uuid for eq, and never matches a non-uuid', () => {
    expect(compile('id eq "01900000-0000-7000-8000-000000000000"').sql).toBe('(u.id = $1::uuid)');
    expect(compile('id eq "x"').sql).toBe('false');
  });

  it('turns value paths into one EXISTS over the elements', () => {
    const { sql: text, parameters } = compile('emails[type eq "work" and value co "@acme.com"]');
    expect(text).toMatch(/^exists \(select 1 from jsonb_array_elements\(.*\) as e\(v\) where \(\(lower\(\(e\.v->>'type'\)\) = lower\(\$1::text\)\) and \(strpos\(lower\(\(e\.v->>'value'\)\), lower\(\$2::text\)\) > 0\)\)\)$/s);
    expect(parameters).toEqual(['work', '@acme.com']);
  });

  it('makes not two-valued and ne match missing values', () => {
    expect(compile('not (title pr)').sql).toBe("((((u.scim->>'title') is not null and (u.scim->>'title') <> '')) is not true)");
    expect(compile('title ne "x"').sql).toBe("((lower((u.scim->>'title')) = lower($1::text)) is not true)");
  });

  it('reads group members from group_members', () => {
    expect(compile('members.value eq "01900000-0000-7000-8000-000000000000"', 'Group').sql).toBe(
      'exists (select 1 from group_members m\n     where m.tenant_id = g.tenant_id and m.group_id = g.id and (m.member_id = $1::uuid))',
    );
  });
});
