/** Groups and memberships (users and nested groups). */
import type { Kysely } from 'kysely';
import type { Database, GroupRow } from '../db/schema.ts';

export class GroupRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  insert(tenantId: string, group: { id: string; name: string; description?: string | null; source?: string }): Promise<GroupRow> {
    return this.#db
      .insertInto('groups')
      .values({
        tenant_id: tenantId,
        id: group.id,
        name: group.name,
        description: group.description ?? null,
        source: group.source ?? 'local',
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async addMember(tenantId: string, groupId: string, member: { kind: 'user' | 'group'; id: string }): Promise<void> {
    await this.#db
      .insertInto('group_members')
      .values({ tenant_id: tenantId, group_id: groupId, member_kind: member.kind, member_id: member.id })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}
