/** SCIM bearer tokens: only their SHA-256 digest is stored; every query is scoped to one tenant. */
import { sql, type Kysely } from 'kysely';
import type { Database, ScimTokenRow } from '../../db/schema.ts';

export type ScimTokenView = Omit<ScimTokenRow, 'token_hash' | 'tenant_id'>;

export class ScimTokenRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insert(db: Kysely<Database>, tenantId: string, row: { id: string; description: string; tokenHash: string; createdBy: string }): Promise<ScimTokenView> {
    return db
      .insertInto('scim_tokens')
      .values({ tenant_id: tenantId, id: row.id, description: row.description, token_hash: row.tokenHash, created_by: row.createdBy })
      .returning(['id', 'description', 'created_by', 'created_at', 'last_used_at', 'revoked_at'])
      .executeTakeFirstOrThrow();
  }

  list(tenantId: string, q: { cursor?: string | undefined; limit: number }): Promise<ScimTokenView[]> {
    let query = this.#db
      .selectFrom('scim_tokens')
      .select(['id', 'description', 'created_by', 'created_at', 'last_used_at', 'revoked_at'])
      .where('tenant_id', '=', tenantId);
    if (q.cursor) query = query.where('id', '>', q.cursor);
    return query.orderBy('id').limit(q.limit).execute();
  }

  /** Marks the token revoked (once); undefined when there is no such live token. */
  async revoke(db: Kysely<Database>, tenantId: string, id: string): Promise<string | undefined> {
    const row = await db
      .updateTable('scim_tokens')
      .set({ revoked_at: sql<Date>`now()` })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returning('id')
      .executeTakeFirst();
    return row?.id;
  }

  /** The live token with this digest, if any. */
  findLive(tenantId: string, tokenHash: string): Promise<{ id: string; last_used_at: Date | null } | undefined> {
    return this.#db
      .selectFrom('scim_tokens')
      .select(['id', 'last_used_at'])
      .where('tenant_id', '=', tenantId)
      .where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
  }

  /** Records use, at most once per `granularitySeconds` (one hot row would otherwise be written per request). */
  async touch(tenantId: string, id: string, granularitySeconds: number): Promise<void> {
    await this.#db
      .updateTable('scim_tokens')
      .set({ last_used_at: sql<Date>`now()` })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - make_interval(secs => ${granularitySeconds})`)]))
      .execute();
  }
}
