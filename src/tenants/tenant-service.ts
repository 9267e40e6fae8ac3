/** Tenants: each one is its own issuer under /t/{tenant}, with its own users, clients and keys. */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Database, TenantRow } from '../db/schema.ts';
import type { ChangeContext } from '../identity/user-service.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import { Conflict, NotFound, isUniqueViolation } from '../lib/errors.ts';

/** Lower-case DNS-label-like ids: they appear in URLs and issuers. */
export const tenantIdSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'lower-case letters, digits and inner hyphens, at most 63');

export const createTenantSchema = z.strictObject({
  id: tenantIdSchema,
  displayName: z.string().trim().min(1).max(200),
});
export type CreateTenantInput = z.infer<typeof createTenantSchema>;

export interface TenantView {
  id: string;
  displayName: string;
  issuer: string;
  createdAt: string;
}

export class TenantService {
  readonly #db: Kysely<Database>;
  readonly #keys: SigningKeys;
  readonly #audit: AuditLog;
  readonly #publicUrl: string;

  constructor(db: Kysely<Database>, keys: SigningKeys, audit: AuditLog, publicUrl: string) {
    this.#db = db;
    this.#keys = keys;
    this.#audit = audit;
    this.#publicUrl = publicUrl;
  }

  async create(input: CreateTenantInput, ctx: ChangeContext): Promise<TenantView> {
    try {
      const row = await this.#db.transaction().execute(async (trx) => {
        const created = await trx
          .insertInto('tenants')
          .values({ tenant_id: input.id, display_name: input.displayName })
          .returningAll()
          .executeTakeFirstOrThrow();
        await this.#keys.createInitial(input.id, trx);
        await this.#audit.recordWith(trx, input.id, {
          type: 'tenant.created',
          actor: ctx.actor,
          subject: `tenant:${input.id}`,
          ip: ctx.ip ?? null,
          details: { displayName: input.displayName },
        });
        return created;
      });
      return this.#view(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new Conflict(`tenant ${input.id} already exists`);
      throw error;
    }
  }

  async get(id: string): Promise<TenantView> {
    const row = await this.find(id);
    if (!row) throw new NotFound('no such tenant');
    return this.#view(row);
  }

  find(id: string): Promise<TenantRow | undefined> {
    return this.#db.selectFrom('tenants').selectAll().where('tenant_id', '=', id).executeTakeFirst();
  }

  async list(q: { cursor?: string; limit: number }): Promise<{ items: TenantView[]; next: string | null }> {
    let query = this.#db.selectFrom('tenants').selectAll();
    if (q.cursor) query = query.where('tenant_id', '>', q.cursor);
    const rows = await query.orderBy('tenant_id').limit(q.limit + 1).execute();
    const page = rows.slice(0, q.limit);
    return { items: page.map((r) => this.#view(r)), next: rows.length > q.limit ? (page.at(-1)?.tenant_id ?? null) : null };
  }

  /** Rotates the tenant's signing keys; the old ones stay published for `publishForSeconds`. */
  async rotateKeys(id: string, publishForSeconds: number, ctx: ChangeContext): Promise<string[]> {
    if (!(await this.find(id))) throw new NotFound('no such tenant');
    const kids = await this.#keys.rotate(id, publishForSeconds);
    await this.#audit.record(id, {
      type: 'keys.rotated',
      actor: ctx.actor,
      subject: `tenant:${id}`,
      ip: ctx.ip ?? null,
      details: { newKids: kids, previousPublishedForSeconds: publishForSeconds },
    });
    return kids;
  }

  #view(row: TenantRow): TenantView {
    return {
      id: row.tenant_id,
      displayName: row.display_name,
      issuer: `${this.#publicUrl}/t/${row.tenant_id}`,
      createdAt: row.created_at.toISOString(),
    };
  }
}
