/**
 * Lists of users and groups for SCIM: the filter compiled to parameterised SQL, ordered by the sort key
 * and then by id (UUIDv7, unique), so pages never overlap or skip rows that existed when paging began;
 * new resources have later ids and land at the end. totalResults comes from the same filter in the same
 * REPEATABLE READ snapshot as the page. Only one page is ever read into memory.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database, GroupRow, UserRow } from '../../db/schema.ts';
import { invalidValue } from '../errors.ts';
import { compileFilter } from '../filter/compile-sql.ts';
import { groupStorage, userStorage, type Storage } from '../filter/storage.ts';
import type { ResourceSchema } from '../registry/attributes.ts';
import type { GroupRef, MemberView } from '../resource/render.ts';
import type { ListQuery, Page } from './list-query.ts';

function orderKey(schema: ResourceSchema, storage: Storage, sortBy: string | undefined): RawBuilder<unknown> | undefined {
  if (sortBy === undefined) return undefined;
  const resolved = schema.resolve(sortBy);
  const key = resolved ? storage.sortKey(resolved) : undefined;
  if (!key) throw invalidValue(`cannot sort by "${sortBy.slice(0, 100)}"`);
  return key;
}

export class ResourceQuery {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async users(tenantId: string, q: ListQuery, schema: ResourceSchema): Promise<Page<UserRow>> {
    const where = q.filter ? compileFilter(q.filter, schema, userStorage) : sql<boolean>`true`;
    const key = orderKey(schema, userStorage, q.sortBy);
    const direction = sql.raw(q.descending ? 'desc' : 'asc');
    return this.#db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
      const { n } = await trx
        .selectFrom('users as u')
        .select(sql<string>`count(*)`.as('n'))
        .where('u.tenant_id', '=', tenantId)
        .where(where)
        .executeTakeFirstOrThrow();
      const total = Number(n);
      if (q.count === 0 || total < q.startIndex) return { total, rows: [] };
      let query = trx.selectFrom('users as u').selectAll('u').where('u.tenant_id', '=', tenantId).where(where);
      if (key) query = query.orderBy(sql`${key} ${direction} nulls last`);
      const rows = await query
        .orderBy(sql`u.id ${direction}`)
        .offset(q.startIndex - 1)
        .limit(q.count)
        .execute();
      return { total, rows };
    });
  }

  async groups(tenantId: string, q: ListQuery, schema: ResourceSchema): Promise<Page<GroupRow>> {
    const where = q.filter ? compileFilter(q.filter, schema, groupStorage) : sql<boolean>`true`;
    const key = orderKey(schema, groupStorage, q.sortBy);
    const direction = sql.raw(q.descending ? 'desc' : 'asc');
    return this.#db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
      const { n } = await trx
        .selectFrom('groups as g')
        .select(sql<string>`count(*)`.as('n'))
        .where('g.tenant_id', '=', tenantId)
        .where(where)
        .executeTakeFirstOrThrow();
      const total = Number(n);
      if (q.count === 0 || total < q.startIndex) return { total, rows: [] };
      let query = trx.selectFrom('groups as g').selectAll('g').where('g.tenant_id', '=', tenantId).where(where);
      if (key) query = query.orderBy(sql`${key} ${direction} nulls last`);
      const rows = await query
        .orderBy(sql`g.id ${direction}`)
        .offset(q.startIndex - 1)
        .limit(q.count)
        .execute();
      return { total, rows };
    });
  }

  /** The direct groups of each user, in one query for a whole page. */
  async groupsOfUsers(tenantId: string, userIds: readonly string[]): Promise<Map<string, GroupRef[]>> {
    const out = new Map<string, GroupRef[]>();
    if (userIds.length === 0) return out;
    const rows = await this.#db
      .selectFrom('group_members as gm')
      .innerJoin('groups as g', (j) => j.onRef('g.tenant_id', '=', 'gm.tenant_id').onRef('g.id', '=', 'gm.group_id'))
      .select(['gm.member_id', 'g.id', 'g.name'])
      .where('gm.tenant_id', '=', tenantId)
      .where('gm.member_kind', '=', 'user')
      .where('gm.member_id', 'in', [...userIds])
      .orderBy('g.id')
      .execute();
    for (const r of rows) {
      const list = out.get(r.member_id) ?? [];
      list.push({ id: r.id, name: r.name });
      out.set(r.member_id, list);
    }
    return out;
  }

  /** The members of each group with a display name (username or group name), in one query for a page. */
  async membersOfGroups(tenantId: string, groupIds: readonly string[]): Promise<Map<string, MemberView[]>> {
    const out = new Map<string, MemberView[]>(groupIds.map((id) => [id, []]));
    if (groupIds.length === 0) return out;
    const rows = await this.#db
      .selectFrom('group_members as m')
      .leftJoin('users as u', (j) =>
        j.onRef('u.tenant_id', '=', 'm.tenant_id').onRef('u.id', '=', 'm.member_id').on('m.member_kind', '=', 'user'),
      )
      .leftJoin('groups as n', (j) =>
        j.onRef('n.tenant_id', '=', 'm.tenant_id').onRef('n.id', '=', 'm.member_id').on('m.member_kind', '=', 'group'),
      )
      .select(['m.group_id', 'm.member_kind', 'm.member_id', sql<string | null>`coalesce(u.scim->>'displayName', u.username, n.name)`.as('display')])
      .where('m.tenant_id', '=', tenantId)
      .where('m.group_id', 'in', [...groupIds])
      .orderBy('m.group_id')
      .orderBy('m.member_id')
      .execute();
    for (const r of rows) out.get(r.group_id)?.push({ kind: r.member_kind, id: r.member_id, display: r.display });
    return out;
  }
}
