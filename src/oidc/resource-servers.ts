/**
 * APIs registered per tenant (RFC 8707 resource indicators). Access tokens requested for one are JWTs
 * (RFC 9068) with the API as audience, verifiable offline against the tenant's JWKS.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Database, ResourceServerRow } from '../db/schema.ts';
import type { ChangeContext } from '../identity/user-service.ts';
import { Conflict, NotFound, isUniqueViolation } from '../lib/errors.ts';

const CACHE_TTL_MS = 10_000;

export const resourceServerSchema = z.strictObject({
  identifier: z.url().max(2048).refine((v) => !v.includes('#'), 'must not contain a fragment'),
  name: z.string().trim().min(1).max(200),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/, 'a scope token (RFC 6749 §3.3)')).max(100).default([]),
  accessTokenTtl: z.number().int().min(60).max(86_400).default(3600),
});
export type ResourceServerInput = z.infer<typeof resourceServerSchema>;

export interface ResourceServer {
  identifier: string;
  name: string;
  scopes: string[];
  accessTokenTtl: number;
}

export class ResourceServerStore {
  readonly #db: Kysely<Database>;
  readonly #audit: AuditLog;
  readonly #cache = new Map<string, { value: ResourceServer | undefined; until: number }>();

  constructor(db: Kysely<Database>, audit: AuditLog) {
    this.#db = db;
    this.#audit = audit;
  }

  async find(tenantId: string, identifier: string): Promise<ResourceServer | undefined> {
    const key = `${tenantId}\u0000${identifier}`;
    const hit = this.#cache.get(key);
    if (hit && hit.until > Date.now()) return hit.value;
    const row = await this.#db
      .selectFrom('resource_servers')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('identifier', '=', identifier)
      .executeTakeFirst();
    const value = row ? view(row) : undefined;
    this.#cache.set(key, { value, until: Date.now() + CACHE_TTL_MS });
    return value;
  }

  async list(tenantId: string): Promise<ResourceServer[]> {
    const rows = await this.#db.selectFrom('resource_servers').selectAll().where('tenant_id', '=', tenantId).orderBy('identifier').execute();
    return rows.map(view);
  }

  async create(tenantId: string, input: ResourceServerInput, ctx: ChangeContext): Promise<ResourceServer> {
    try {
      const row = await this.#db.transaction().execute(async (trx) => {
        const created = await trx
          .insertInto('resource_servers')
          .values({
            tenant_id: tenantId,
            identifier: input.identifier,
            name: input.name,
            scopes: JSON.stringify(input.scopes),
            access_token_ttl: input.accessTokenTtl,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await this.#audit.recordWith(trx, tenantId, {
          type: 'resource_server.created',
          actor: ctx.actor,
          subject: `resource-server:${input.identifier}`,
          ip: ctx.ip ?? null,
          details: { name: input.name, scopes: input.scopes, accessTokenTtl: input.accessTokenTtl },
        });
        return created;
      });
      this.#cache.delete(`${tenantId}\u0000${input.identifier}`);
      return view(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new Conflict(`resource server ${input.identifier} already exists`);
      throw error;
    }
  }

  async delete(tenantId: string, identifier: string, ctx: ChangeContext): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const r = await trx
        .deleteFrom('resource_servers')
        .where('tenant_id', '=', tenantId)
        .where('identifier', '=', identifier)
        .executeTakeFirst();
      if (r.numDeletedRows === 0n) throw new NotFound('no such resource server');
      await this.#audit.recordWith(trx, tenantId, {
        type: 'resource_server.deleted',
        actor: ctx.actor,
        subject: `resource-server:${identifier}`,
        ip: ctx.ip ?? null,
      });
    });
    this.#cache.delete(`${tenantId}\u0000${identifier}`);
  }
}

function view(row: ResourceServerRow): ResourceServer {
  return { identifier: row.identifier, name: row.name, scopes: row.scopes, accessTokenTtl: row.access_token_ttl };
}
