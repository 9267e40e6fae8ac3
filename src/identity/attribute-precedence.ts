/**
 * Which source of users wins an attribute, per tenant. Users arrive from several sources (SCIM, directory
 * sync, the admin API); each attribute remembers the source kind that last wrote it (`attribute_sources`,
 * falling back to the user's own source). A source may overwrite an attribute owned by another source only
 * if it ranks at least as high in the tenant's order; otherwise the write is refused as a conflict and
 * reported (audit event `identity.attribute_conflict`), never silently applied.
 *
 * Attribute names are the SCIM names (`userName`, `name`, `emails`, `active`, `externalId`, …; enterprise
 * extension attributes by their bare name: `department`, `manager`, …). A source kind is the part of the
 * source before the first colon (`directory:corp` → `directory`).
 */
import { z } from 'zod';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Database } from '../db/schema.ts';
import type { ChangeContext } from './user-service.ts';

const sourceKind = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/);

export const precedenceSchema = z.strictObject({
  /** Source kinds, highest precedence first. Kinds not listed rank below every listed one. */
  order: z.array(sourceKind).min(1).max(16),
  /** Per-attribute orders that override `order`. */
  attributes: z.record(z.string().min(1).max(200), z.array(sourceKind).min(1).max(16)).optional(),
});
export type AttributePrecedence = z.infer<typeof precedenceSchema>;

/** Directory data wins over SCIM, SCIM over changes made by hand through the admin API. */
export const DEFAULT_PRECEDENCE: AttributePrecedence = { order: ['directory', 'ldap', 'scim', 'local'] };

export function kindOf(source: string): string {
  return source.split(':', 1)[0] ?? source;
}

export interface OwnershipConflict {
  readonly attribute: string;
  readonly owner: string;
}

/** The attributes `writer` may not change because a higher-ranking source owns them. */
export function conflictsFor(
  precedence: AttributePrecedence,
  writer: string,
  changed: readonly string[],
  owners: Readonly<Record<string, string>>,
  fallbackOwner: string,
): OwnershipConflict[] {
  const writerKind = kindOf(writer);
  const conflicts: OwnershipConflict[] = [];
  for (const attribute of changed) {
    const owner = kindOf(owners[attribute] ?? fallbackOwner);
    if (owner === writerKind) continue;
    const order = precedence.attributes?.[attribute] ?? precedence.order;
    const rank = (kind: string): number => {
      const i = order.indexOf(kind);
      return i < 0 ? order.length : i;
    };
    if (rank(owner) < rank(writerKind)) conflicts.push({ attribute, owner });
  }
  return conflicts;
}

/** The tenant's precedence document (the default when none is stored). */
export class AttributePrecedenceStore {
  readonly #db: Kysely<Database>;
  readonly #audit: AuditLog;

  constructor(db: Kysely<Database>, audit: AuditLog) {
    this.#db = db;
    this.#audit = audit;
  }

  async get(tenantId: string, db: Kysely<Database> = this.#db): Promise<AttributePrecedence> {
    const row = await db.selectFrom('attribute_precedence').select('document').where('tenant_id', '=', tenantId).executeTakeFirst();
    const parsed = precedenceSchema.safeParse(row?.document);
    return parsed.success ? parsed.data : DEFAULT_PRECEDENCE;
  }

  /** Replaces the document; the change and its audit event commit together. */
  async put(tenantId: string, document: AttributePrecedence, ctx: ChangeContext): Promise<void> {
    const value = JSON.stringify(document);
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .insertInto('attribute_precedence')
        .values({ tenant_id: tenantId, document: value })
        .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ document: value, updated_at: new Date() }))
        .execute();
      await this.#audit.recordWith(trx, tenantId, {
        type: 'attribute_precedence.updated',
        actor: ctx.actor,
        subject: `tenant:${tenantId}`,
        ip: ctx.ip ?? null,
        details: { document },
      });
    });
  }
}
