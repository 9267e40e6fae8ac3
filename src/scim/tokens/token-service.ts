/**
 * SCIM tokens for the admin API: made (shown once), listed, revoked; each change is an audit event in the
 * same transaction. A token is `pcs_<256 random bits>`; only its SHA-256 digest is kept (DESIGN.md).
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Database } from '../../db/schema.ts';
import { NotFound } from '../../lib/errors.ts';
import { isUuid, newId } from '../../lib/ids.ts';
import { generateSecret, hashSecret } from '../../lib/secrets.ts';
import type { ScimTokenRepository, ScimTokenView } from './token-repository.ts';

export const TOKEN_PREFIX = 'pcs_';

export const createScimTokenSchema = z.strictObject({ description: z.string().trim().min(1).max(200) });
export type CreateScimTokenInput = z.infer<typeof createScimTokenSchema>;

export interface ScimTokenItem {
  id: string;
  description: string;
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

function view(row: ScimTokenView): ScimTokenItem {
  return {
    id: row.id,
    description: row.description,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}

export class ScimTokenService {
  readonly #db: Kysely<Database>;
  readonly #tokens: ScimTokenRepository;
  readonly #audit: AuditLog;

  constructor(db: Kysely<Database>, tokens: ScimTokenRepository, audit: AuditLog) {
    this.#db = db;
    this.#tokens = tokens;
    this.#audit = audit;
  }

  async create(tenantId: string, input: CreateScimTokenInput, ctx: { actor: string; ip?: string | null }): Promise<{ id: string; token: string; description: string }> {
    const token = `${TOKEN_PREFIX}${generateSecret()}`;
    const row = await this.#db.transaction().execute(async (trx) => {
      const created = await this.#tokens.insert(trx, tenantId, { id: newId(), description: input.description, tokenHash: hashSecret(token), createdBy: ctx.actor });
      await this.#audit.recordWith(trx, tenantId, {
        type: 'scim.token_created',
        actor: ctx.actor,
        subject: `scim-token:${created.id}`,
        ip: ctx.ip ?? null,
        details: { description: input.description },
      });
      return created;
    });
    return { id: row.id, token, description: row.description };
  }

  async list(tenantId: string, q: { cursor?: string | undefined; limit: number }): Promise<{ items: ScimTokenItem[]; next: string | null }> {
    const rows = await this.#tokens.list(tenantId, { cursor: q.cursor, limit: q.limit + 1 });
    const page = rows.slice(0, q.limit);
    return { items: page.map(view), next: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
  }

  async revoke(tenantId: string, id: string, ctx: { actor: string; ip?: string | null }): Promise<void> {
    if (!isUuid(id)) throw new NotFound('no such SCIM token');
    await this.#db.transaction().execute(async (trx) => {
      if (!(await this.#tokens.revoke(trx, tenantId, id))) throw new NotFound('no such SCIM token');
      await this.#audit.recordWith(trx, tenantId, { type: 'scim.token_revoked', actor: ctx.actor, subject: `scim-token:${id}`, ip: ctx.ip ?? null });
    });
  }
}
