/**
 * oidc-provider's storage adapter on PostgreSQL: one table (`oidc_payloads`) for every model, keyed by
 * (tenant_id, model, id), with expression indexes on grantId, uid, userCode and accountId.
 *
 * - `consume` is one UPDATE … WHERE consumed_at IS NULL: of two racing redemptions of a code or refresh
 *   token, exactly one wins; the loser revokes the whole grant and fails with invalid_grant.
 * - `revokeByGrantId` is one DELETE over the grantId index.
 * - expired rows are invisible to `find` at once and deleted in batches by `purgeExpired`.
 * - the `Client` model is read from our own clients table (see client-store.ts), never written here.
 * @see https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
 */
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { ClientStore } from './client-store.ts';
import type { RequestTransactions } from './request-transaction.ts';

/** Models whose `consume` marks single-use credentials. */
const GRANT_SOURCES = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

export interface AdapterDeps {
  readonly db: Kysely<Database>;
  readonly clients: ClientStore;
  /** The token request's transaction (request-transaction.ts), used when one is under way. */
  readonly transactions?: RequestTransactions;
  /** Called when a racing redemption lost: the grant was revoked (for the audit trail). */
  readonly onReuse?: (tenantId: string, model: string, grantId: string | undefined) => void;
}

export type AdapterFactory = new (model: string) => Adapter;

/** A stored payload as oidc-provider expects it: `consumed` (epoch seconds) once consumed. */
function withConsumed(row: { payload: Record<string, unknown>; consumed_at: Date | null }): AdapterPayload {
  return row.consumed_at ? { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : row.payload;
}

/** Identifiers PostgreSQL can hold: text with a NUL byte (from a hostile request) can match nothing. */
function storable(value: string): boolean {
  return !value.includes('\u0000');
}

/** Builds the adapter class oidc-provider instantiates once per model, bound to one tenant. */
export function adapterFor(tenantId: string, deps: AdapterDeps): AdapterFactory {
  const db = (): Kysely<Database> => deps.transactions?.current() ?? deps.db;
  return class PostgresAdapter implements Adapter {
    readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are managed through the admin API');
      const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
      const json = JSON.stringify(payload);
      await db()
        .insertInto('oidc_payloads')
        .values({ tenant_id: tenantId, model: this.model, id, payload: json, expires_at: expiresAt })
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'model', 'id']).doUpdateSet({ payload: json, expires_at: expiresAt }),
        )
        .execute();
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (!storable(id)) return undefined;
      if (this.model === 'Client') return deps.clients.findMetadata(tenantId, id);
      const row = await db()
        .selectFrom('oidc_payloads')
        .select(['payload', 'consumed_at'])
        .where('tenant_id', '=', tenantId)
        .where('model', '=', this.model)
        .where('id', '=', id)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
        .executeTakeFirst();
      return row ? withConsumed(row) : undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      if (!storable(uid)) return undefined;
      const row = await db()
        .selectFrom('oidc_payloads')
        .select(['payload', 'consumed_at'])
        .where('tenant_id', '=', tenantId)
        .where('model', '=', 'Session')
        .where(sql<string>`payload->>'uid'`, '=', uid)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
        .executeTakeFirst();
      return row ? withConsumed(row) : undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      if (!storable(userCode)) return undefined;
      const row = await db()
        .selectFrom('oidc_payloads')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where(sql<boolean>`payload ? 'userCode'`)
        .where(sql<string>`payload->>'userCode'`, '=', userCode)
        .where('model', '=', this.model)
        .executeTakeFirst();
      return row ? this.find(row.id) : undefined;
    }

    async consume(id: string): Promise<void> {
      const won = await db()
        .updateTable('oidc_payloads')
        .set({ consumed_at: sql<Date>`now()` })
        .where('tenant_id', '=', tenantId)
        .where('model', '=', this.model)
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .returning(sql<string | null>`payload->>'grantId'`.as('grant_id'))
        .executeTakeFirst();
      if (won || !GRANT_SOURCES.has(this.model)) return;
      // Another request consumed it between oidc-provider's read and this write: treat as reuse.
      const row = await db()
        .selectFrom('oidc_payloads')
        .select(sql<string | null>`payload->>'grantId'`.as('grant_id'))
        .where('tenant_id', '=', tenantId)
        .where('model', '=', this.model)
        .where('id', '=', id)
        .executeTakeFirst();
      const grantId = row?.grant_id ?? undefined;
      if (grantId) await this.revokeByGrantId(grantId);
      deps.onReuse?.(tenantId, this.model, grantId);
      throw new errors.InvalidGrant(`${this.model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
    }

    async destroy(id: string): Promise<void> {
      if (!storable(id)) return;
      await db()
        .deleteFrom('oidc_payloads')
        .where('tenant_id', '=', tenantId)
        .where('model', '=', this.model)
        .where('id', '=', id)
        .execute();
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db()
        .deleteFrom('oidc_payloads')
        .where('tenant_id', '=', tenantId)
        .where(sql<boolean>`payload ? 'grantId'`)
        .where(sql<string>`payload->>'grantId'`, '=', grantId)
        .execute();
      await db()
        .deleteFrom('oidc_payloads')
        .where('tenant_id', '=', tenantId)
        .where('model', '=', 'Grant')
        .where('id', '=', grantId)
        .execute();
    }
  };
}

/** Ends everything an account holds in a tenant: sessions, grants and every token of those grants. */
export async function revokeAccount(db: Kysely<Database>, tenantId: string, accountId: string): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const grants = await trx
      .selectFrom('oidc_payloads')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('model', '=', 'Grant')
      .where(sql<boolean>`payload ? 'accountId'`)
      .where(sql<string>`payload->>'accountId'`, '=', accountId)
      .execute();
    const grantIds = grants.map((g) => g.id);
    let removed = 0;
    if (grantIds.length > 0) {
      const r = await trx
        .deleteFrom('oidc_payloads')
        .where('tenant_id', '=', tenantId)
        .where(sql<boolean>`payload ? 'grantId'`)
        .where(sql<string>`payload->>'grantId'`, 'in', grantIds)
        .executeTakeFirst();
      removed += Number(r.numDeletedRows);
    }
    const r = await trx
      .deleteFrom('oidc_payloads')
      .where('tenant_id', '=', tenantId)
      .where(sql<boolean>`payload ? 'accountId'`)
      .where(sql<string>`payload->>'accountId'`, '=', accountId)
      .executeTakeFirst();
    return removed + Number(r.numDeletedRows);
  });
}

/**
 * Deletes expired rows in batches, tenant by tenant (the expiry index leads with tenant_id, like every
 * index: the tenant is the shard key); returns how many went. Idempotent.
 */
export async function purgeExpired(db: Kysely<Database>, batchSize = 5000): Promise<number> {
  let total = 0;
  const tenants = await db.selectFrom('tenants').select('tenant_id').execute();
  for (const { tenant_id: tenantId } of tenants) {
    for (;;) {
      const result = await sql`
        with doomed as (
          select tenant_id, model, id from oidc_payloads
           where tenant_id = ${tenantId} and expires_at is not null and expires_at < now()
           limit ${batchSize}
        )
        delete from oidc_payloads p using doomed d
         where p.tenant_id = d.tenant_id and p.model = d.model and p.id = d.id`.execute(db);
      const n = Number(result.numAffectedRows ?? 0n);
      total += n;
      if (n < batchSize) break;
    }
  }
  return total;
}
