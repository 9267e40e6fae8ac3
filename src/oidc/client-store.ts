/**
 * The clients table as oidc-provider sees it. The stored secret is a digest; oidc-provider receives it in
 * `client_secret` and our `compareClientSecret` (provider-factory.ts) verifies presented secrets against it.
 * Lookups are cached for a few seconds per node; changes through this node invalidate at once.
 */
import type { Kysely } from 'kysely';
import type { AdapterPayload } from 'oidc-provider';
import type { ClientRow, Database } from '../db/schema.ts';

const CACHE_TTL_MS = 5_000;

export class ClientStore {
  readonly #db: Kysely<Database>;
  readonly #cache = new Map<string, { value: AdapterPayload | undefined; until: number }>();

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async findMetadata(tenantId: string, clientId: string): Promise<AdapterPayload | undefined> {
    if (clientId.includes('\u0000')) return undefined; // cannot exist in PostgreSQL text
    const key = `${tenantId}\u0000${clientId}`;
    const hit = this.#cache.get(key);
    if (hit && hit.until > Date.now()) return hit.value;
    const row = await this.find(tenantId, clientId);
    const value = row ? toPayload(row) : undefined;
    this.#cache.set(key, { value, until: Date.now() + CACHE_TTL_MS });
    return value;
  }

  find(tenantId: string, clientId: string, db: Kysely<Database> = this.#db): Promise<ClientRow | undefined> {
    return db
      .selectFrom('clients')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
  }

  list(tenantId: string, q: { cursor?: string; limit: number }): Promise<ClientRow[]> {
    let query = this.#db.selectFrom('clients').selectAll().where('tenant_id', '=', tenantId);
    if (q.cursor) query = query.where('client_id', '>', q.cursor);
    return query.orderBy('client_id').limit(q.limit).execute();
  }

  async insert(
    tenantId: string,
    clientId: string,
    metadata: Record<string, unknown>,
    secretHash: string | null,
    db: Kysely<Database> = this.#db,
  ): Promise<ClientRow> {
    this.invalidate(tenantId, clientId);
    return db
      .insertInto('clients')
      .values({ tenant_id: tenantId, client_id: clientId, metadata: JSON.stringify(metadata), secret_hash: secretHash })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async update(
    tenantId: string,
    clientId: string,
    metadata: Record<string, unknown>,
    secretHash: string | null,
    db: Kysely<Database> = this.#db,
  ): Promise<ClientRow | undefined> {
    this.invalidate(tenantId, clientId);
    return db
      .updateTable('clients')
      .set({ metadata: JSON.stringify(metadata), secret_hash: secretHash, updated_at: new Date() })
      .where('tenant_id', '=', tenantId)
      .where('client_id', '=', clientId)
      .returningAll()
      .executeTakeFirst();
  }

  async delete(tenantId: string, clientId: string, db: Kysely<Database> = this.#db): Promise<boolean> {
    this.invalidate(tenantId, clientId);
    const r = await db.deleteFrom('clients').where('tenant_id', '=', tenantId).where('client_id', '=', clientId).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  invalidate(tenantId: string, clientId: string): void {
    this.#cache.delete(`${tenantId}\u0000${clientId}`);
  }
}

function toPayload(row: ClientRow): AdapterPayload {
  return {
    ...row.metadata,
    client_id: row.client_id,
    ...(row.secret_hash ? { client_secret: row.secret_hash } : {}),
  };
}
