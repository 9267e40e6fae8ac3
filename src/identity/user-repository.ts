/** Users and their group memberships. Every function takes the tenant id: no query crosses tenants. */
import { sql, type Kysely } from 'kysely';
import type { Database, UserRow } from '../db/schema.ts';

export interface UserPatch {
  username?: string;
  email?: string | null;
  emailVerified?: boolean;
  givenName?: string | null;
  familyName?: string | null;
  active?: boolean;
  passwordHash?: string | null;
}

export interface NewUser {
  id: string;
  username: string;
  email: string | null;
  emailVerified: boolean;
  givenName: string | null;
  familyName: string | null;
  active: boolean;
  passwordHash: string | null;
  source: string;
}

export class UserRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insert(tenantId: string, user: NewUser, db: Kysely<Database> = this.#db): Promise<UserRow> {
    return db
      .insertInto('users')
      .values({
        tenant_id: tenantId,
        id: user.id,
        username: user.username,
        email: user.email,
        email_verified: user.emailVerified,
        given_name: user.givenName,
        family_name: user.familyName,
        active: user.active,
        password_hash: user.passwordHash,
        source: user.source,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  findById(tenantId: string, id: string, db: Kysely<Database> = this.#db): Promise<UserRow | undefined> {
    return db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }

  /** Case-insensitive, served by the (tenant_id, lower(username)) index. */
  findByUsername(tenantId: string, username: string): Promise<UserRow | undefined> {
    return this.#db
      .selectFrom('users')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where(sql<string>`lower(username)`, '=', username.toLowerCase())
      .executeTakeFirst();
  }

  async list(tenantId: string, q: { search?: string; cursor?: string; limit: number }): Promise<UserRow[]> {
    let query = this.#db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId);
    if (q.search) {
      const like = `%${q.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query = query.where((eb) =>
        eb.or([
          eb(sql<string>`lower(username)`, 'like', like),
          eb(sql<string>`lower(email)`, 'like', like),
          eb(sql<string>`lower(coalesce(given_name, '') || ' ' || coalesce(family_name, ''))`, 'like', like),
        ]),
      );
    }
    if (q.cursor) query = query.where('id', '>', q.cursor);
    return query.orderBy('id').limit(q.limit).execute();
  }

  async update(tenantId: string, id: string, patch: UserPatch, db: Kysely<Database> = this.#db): Promise<UserRow | undefined> {
    return db
      .updateTable('users')
      .set({
        ...(patch.username !== undefined && { username: patch.username }),
        ...(patch.email !== undefined && { email: patch.email }),
        ...(patch.emailVerified !== undefined && { email_verified: patch.emailVerified }),
        ...(patch.givenName !== undefined && { given_name: patch.givenName }),
        ...(patch.familyName !== undefined && { family_name: patch.familyName }),
        ...(patch.active !== undefined && { active: patch.active }),
        ...(patch.passwordHash !== undefined && { password_hash: patch.passwordHash }),
        updated_at: sql<Date>`now()`,
      })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  async delete(tenantId: string, id: string, db: Kysely<Database> = this.#db): Promise<boolean> {
    await db
      .deleteFrom('group_members')
      .where('tenant_id', '=', tenantId)
      .where('member_kind', '=', 'user')
      .where('member_id', '=', id)
      .execute();
    const result = await db.deleteFrom('users').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Names of every group the user belongs to, directly or through nested groups. */
  async groupNames(tenantId: string, userId: string): Promise<string[]> {
    return (await this.groupNamesOf(tenantId, [userId])).get(userId) ?? [];
  }

  /**
   * Group names of several users in one query (direct and nested memberships; cycles are harmless: UNION
   * drops rows already seen). Users in no group are absent from the map.
   */
  async groupNamesOf(tenantId: string, userIds: readonly string[]): Promise<Map<string, string[]>> {
    const names = new Map<string, string[]>();
    if (userIds.length === 0) return names;
    const result = await sql<{ user_id: string; name: string }>`
      with recursive memberships(user_id, group_id) as (
        select member_id, group_id from group_members
         where tenant_id = ${tenantId} and member_kind = 'user' and member_id in (${sql.join(userIds)})
        union
        select m.user_id, gm.group_id from group_members gm
          join memberships m on gm.member_id = m.group_id
         where gm.tenant_id = ${tenantId} and gm.member_kind = 'group'
      )
      select m.user_id, g.name from groups g join memberships m on g.id = m.group_id
       where g.tenant_id = ${tenantId}
       order by m.user_id, g.name`.execute(this.#db);
    for (const row of result.rows) {
      const list = names.get(row.user_id);
      if (list) list.push(row.name);
      else names.set(row.user_id, [row.name]);
    }
    return names;
  }
}
