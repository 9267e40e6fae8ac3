/**
 * The writes of provisioned users and groups (SCIM today, directory sync tomorrow): the richer attributes,
 * the external id, attribute ownership and the version counter. Each change bumps `version` in the same
 * UPDATE that checks the expected one (`… WHERE version = $n RETURNING`), so two writers can never both
 * win. Returns rows or undefined; never throws HTTP errors. Every function takes the tenant id.
 */
import { sql, type Kysely } from 'kysely';
import type { Database, GroupRow, UserRow } from '../db/schema.ts';

export interface ProvisionedUser {
  readonly username: string;
  readonly externalId: string | null;
  readonly active: boolean;
  readonly email: string | null;
  readonly givenName: string | null;
  readonly familyName: string | null;
  /** Attributes without a column of their own, kept as jsonb. */
  readonly attributes: Record<string, unknown>;
}

export interface ProvisionedGroup {
  readonly name: string;
  readonly externalId: string | null;
  readonly attributes: Record<string, unknown>;
}

export type MemberKind = 'user' | 'group';

export interface MemberRef {
  readonly kind: MemberKind;
  readonly id: string;
}

export class ProvisioningRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  get db(): Kysely<Database> {
    return this.#db;
  }

  insertUser(
    db: Kysely<Database>,
    tenantId: string,
    row: { id: string; user: ProvisionedUser; source: string; passwordHash: string | null; owners: Record<string, string> },
  ): Promise<UserRow> {
    return db
      .insertInto('users')
      .values({
        tenant_id: tenantId,
        id: row.id,
        username: row.user.username,
        email: row.user.email,
        given_name: row.user.givenName,
        family_name: row.user.familyName,
        active: row.user.active,
        password_hash: row.passwordHash,
        source: row.source,
        external_id: row.user.externalId,
        scim: JSON.stringify(row.user.attributes),
        attribute_sources: JSON.stringify(row.owners),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  findUser(tenantId: string, id: string, db: Kysely<Database> = this.#db): Promise<UserRow | undefined> {
    return db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }

  /** The user, its row locked until `trx` ends: concurrent writers queue instead of recomputing. */
  lockUser(trx: Kysely<Database>, tenantId: string, id: string): Promise<UserRow | undefined> {
    return trx.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  }

  /** Writes the user only if it is still at `expectedVersion`; undefined when it is not (or is gone). */
  updateUser(
    db: Kysely<Database>,
    tenantId: string,
    id: string,
    expectedVersion: string,
    change: { user: ProvisionedUser; passwordHash?: string | undefined; owners: Record<string, string> },
  ): Promise<UserRow | undefined> {
    return db
      .updateTable('users')
      .set({
        username: change.user.username,
        email: change.user.email,
        given_name: change.user.givenName,
        family_name: change.user.familyName,
        active: change.user.active,
        external_id: change.user.externalId,
        scim: JSON.stringify(change.user.attributes),
        attribute_sources: JSON.stringify(change.owners),
        ...(change.passwordHash !== undefined && { password_hash: change.passwordHash }),
        version: sql<string>`version + 1`,
        updated_at: sql<Date>`now()`,
      })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('version', '=', expectedVersion)
      .returningAll()
      .executeTakeFirst();
  }

  /** Deletes the user (at `expectedVersion` when given) and its memberships; the groups it left change version. */
  async deleteUser(db: Kysely<Database>, tenantId: string, id: string, expectedVersion?: string): Promise<boolean> {
    let query = db.deleteFrom('users').where('tenant_id', '=', tenantId).where('id', '=', id);
    if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
    const deleted = await query.returning('id').executeTakeFirst();
    if (!deleted) return false;
    await this.#leaveGroups(db, tenantId, 'user', id);
    return true;
  }

  /** Removes a deleted member from every group it was in; those groups change version. */
  async #leaveGroups(db: Kysely<Database>, tenantId: string, kind: 'user' | 'group', id: string): Promise<void> {
    const left = await db
      .deleteFrom('group_members')
      .where('tenant_id', '=', tenantId)
      .where('member_kind', '=', kind)
      .where('member_id', '=', id)
      .returning('group_id')
      .execute();
    await this.#touchGroups(db, tenantId, left.map((l) => l.group_id));
  }

  insertGroup(db: Kysely<Database>, tenantId: string, row: { id: string; group: ProvisionedGroup; source: string }): Promise<GroupRow> {
    return db
      .insertInto('groups')
      .values({
        tenant_id: tenantId,
        id: row.id,
        name: row.group.name,
        source: row.source,
        external_id: row.group.externalId,
        scim: JSON.stringify(row.group.attributes),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  findGroup(tenantId: string, id: string, db: Kysely<Database> = this.#db): Promise<GroupRow | undefined> {
    return db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }

  lockGroup(trx: Kysely<Database>, tenantId: string, id: string): Promise<GroupRow | undefined> {
    return trx.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  }

  updateGroup(db: Kysely<Database>, tenantId: string, id: string, expectedVersion: string, group: ProvisionedGroup): Promise<GroupRow | undefined> {
    return db
      .updateTable('groups')
      .set({
        name: group.name,
        external_id: group.externalId,
        scim: JSON.stringify(group.attributes),
        version: sql<string>`version + 1`,
        updated_at: sql<Date>`now()`,
      })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('version', '=', expectedVersion)
      .returningAll()
      .executeTakeFirst();
  }

  async deleteGroup(db: Kysely<Database>, tenantId: string, id: string, expectedVersion?: string): Promise<boolean> {
    let query = db.deleteFrom('groups').where('tenant_id', '=', tenantId).where('id', '=', id);
    if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
    const deleted = await query.returning('id').executeTakeFirst();
    if (!deleted) return false;
    // Its own members went with it (foreign key, cascade); as a member of other groups it goes here.
    await this.#leaveGroups(db, tenantId, 'group', id);
    return true;
  }

  async members(tenantId: string, groupId: string, db: Kysely<Database> = this.#db): Promise<MemberRef[]> {
    const rows = await db
      .selectFrom('group_members')
      .select(['member_kind', 'member_id'])
      .where('tenant_id', '=', tenantId)
      .where('group_id', '=', groupId)
      .orderBy('member_id')
      .execute();
    return rows.map((r) => ({ kind: r.member_kind, id: r.member_id }));
  }

  async addMembers(db: Kysely<Database>, tenantId: string, groupId: string, members: readonly MemberRef[]): Promise<void> {
    for (let i = 0; i < members.length; i += 1000) {
      await db
        .insertInto('group_members')
        .values(members.slice(i, i + 1000).map((m) => ({ tenant_id: tenantId, group_id: groupId, member_kind: m.kind, member_id: m.id })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }

  async removeMembers(db: Kysely<Database>, tenantId: string, groupId: string, members: readonly MemberRef[]): Promise<void> {
    for (const kind of ['user', 'group'] as const) {
      const ids = members.filter((m) => m.kind === kind).map((m) => m.id);
      if (ids.length === 0) continue;
      await db
        .deleteFrom('group_members')
        .where('tenant_id', '=', tenantId)
        .where('group_id', '=', groupId)
        .where('member_kind', '=', kind)
        .where('member_id', 'in', ids)
        .execute();
    }
  }

  /** Which of `ids` are users and which are groups of the tenant. */
  async resolveMembers(tenantId: string, ids: readonly string[], db: Kysely<Database> = this.#db): Promise<Map<string, MemberKind>> {
    const found = new Map<string, MemberKind>();
    if (ids.length === 0) return found;
    const users = await db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('id', 'in', [...ids]).execute();
    for (const u of users) found.set(u.id, 'user');
    const groups = await db.selectFrom('groups').select('id').where('tenant_id', '=', tenantId).where('id', 'in', [...ids]).execute();
    for (const g of groups) found.set(g.id, 'group');
    return found;
  }

  async #touchGroups(db: Kysely<Database>, tenantId: string, groupIds: readonly string[]): Promise<void> {
    if (groupIds.length === 0) return;
    await db
      .updateTable('groups')
      .set({ version: sql<string>`version + 1`, updated_at: sql<Date>`now()` })
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', [...new Set(groupIds)])
      .execute();
  }
}
