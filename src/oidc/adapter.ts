/**
 * oidc-provider's storage adapter on PostgreSQL: one table (`oidc_payloads`) for every model, keyed by
 * (tenant_id, model, id), with expression indexes on grantId, uid, userCode and accountId.
 *
 * - `consume` is one UPDATE … WHERE consumed_at IS NULL: of two racing redemptions of a code or refresh
 *   token, exactly one wins; the loser revokes the whole grant and fails with invalid_grant.
 * - inside an oidc-provider request, writes are held back and sent as one statement before the response
 *   (request-writes.ts); reads see them. Outside one (our interaction routes, jobs) every call runs at once.
 * - inside a request, a code or refresh token is read with its Grant in one statement (oidc-provider reads
 *   the grant next), and both are kept for the rest of the request.
 * - `revokeByGrantId` is one DELETE over the grantId index.
 * - expired rows are invisible to `find` at once and deleted in batches by `purgeExpired`.
 * - the `Client` model is read from our own clients table (see client-store.ts), never written here.
 * @see https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
 */
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { ClientStore } from './client-store.ts';
import type { PendingWrites, RequestWrites } from './request-writes.ts';

/** Models whose `consume` marks single-use credentials. */
const GRANT_SOURCES = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/**
 * Models whose lookup inside a request is followed by oidc-provider's lookup of their Grant (the code and
 * refresh-token grants validate it at once): both rows come back from one statement.
 */
const GRANT_HOLDERS = new Set(['AuthorizationCode', 'RefreshToken']);

export interface AdapterDeps {
  readonly db: Kysely<Database>;
  readonly clients: ClientStore;
  /** The pending writes of the oidc-provider request under way (request-writes.ts). */
  readonly requestWrites?: RequestWrites;
  /** Called when a racing redemption lost: the grant was revoked (for the audit trail). */
  readonly onReuse?: (tenantId: string, model: string, grantId: string | undefined) => void;
}

export type AdapterFactory = new (model: string) => Adapter;

/** A stored payload as oidc-provider expects it: `consumed` (epoch seconds) once consumed. */
function withConsumed(row: { payload: Record<string, unknown>; consumed_at: Date | null }): AdapterPayload {
  return row.consumed_at ? { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : row.payload;
}

/** A payload written in this request, as a fresh copy (oidc-provider may change what it is given). */
function fromPending(row: { payload: Record<string, unknown>; consumedAt: Date | null }): AdapterPayload {
  return withConsumed({ payload: structuredClone(row.payload), consumed_at: row.consumedAt });
}

/** Ends a grant: every row that carries its grantId, and the Grant itself. */
export async function revokeGrant(db: Kysely<Database>, tenantId: string, grantId: string): Promise<void> {
  await db
    .deleteFrom('oidc_payloads')
    .where('tenant_id', '=', tenantId)
    .where((eb) =>
      eb.or([
        eb.and([sql<boolean>`payload ? 'grantId'`, eb(sql<string>`payload->>'grantId'`, '=', grantId)]),
        eb.and([eb('model', '=', 'Grant'), eb('id', '=', grantId)]),
      ]),
    )
    .execute();
}

/** The grants of stored rows (a lost claim revokes them). */
export async function grantIdsOf(db: Kysely<Database>, tenantId: string, rows: readonly { model: string; id: string }[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const found = await db
    .selectFrom('oidc_payloads')
    .select(sql<string | null>`payload->>'grantId'`.as('grant_id'))
    .where('tenant_id', '=', tenantId)
    .where((eb) => eb.or(rows.map((r) => eb.and([eb('model', '=', r.model), eb('id', '=', r.id)]))))
    .execute();
  return [...new Set(found.map((r) => r.grant_id).filter((g): g is string => g !== null))];
}

/** A row not yet expired (expired rows are invisible at once; `purgeExpired` deletes them later). */
function live(expiresAt: 'expires_at' | 't.expires_at' | 'g.expires_at'): RawBuilder<boolean> {
  return sql<boolean>`(${sql.ref(expiresAt)} is null or ${sql.ref(expiresAt)} > now())`;
}

/** Identifiers PostgreSQL can hold: text with a NUL byte (from a hostile request) can match nothing. */
function storable(value: string): boolean {
  return !value.includes('\u0000');
}

/** Builds the adapter class oidc-provider instantiates once per model, bound to one tenant. */
export function adapterFor(tenantId: string, deps: AdapterDeps): AdapterFactory {
  const db = deps.db;
  const pending = (): PendingWrites | undefined => deps.requestWrites?.current();
  return class PostgresAdapter implements Adapter {
    readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are managed through the admin API');
      const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
      const held = pending();
      if (held) {
        held.upsert(this.model, id, structuredClone(payload), expiresAt);
        return;
      }
      const json = JSON.stringify(payload);
      await db
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
      const held = pending();
      const own = held?.lookup(this.model, id);
      if (own !== undefined) return own ? fromPending(own) : undefined;
      if (held && GRANT_HOLDERS.has(this.model)) return this.#findWithGrant(held, id);
      const row = await db
        .selectFrom('oidc_payloads')
        .select(['payload', 'consumed_at'])
        .where('tenant_id', '=', tenantId)
        .where('model', '=', this.model)
        .where('id', '=', id)
        .where(live('expires_at'))
        .executeTakeFirst();
      if (!row) return undefined;
      held?.remember(this.model, id, structuredClone(row.payload), row.consumed_at);
      return withConsumed(row);
    }

    /** A code or refresh token and, in the same statement, its live Grant (kept for the request's next read). */
    async #findWithGrant(held: PendingWrites, id: string): Promise<AdapterPayload | undefined> {
      const row = await db
        .selectFrom('oidc_payloads as t')
        .leftJoin('oidc_payloads as g', (join) =>
          join
            .onRef('g.tenant_id', '=', 't.tenant_id')
            .on('g.model', '=', 'Grant')
            .on('g.id', '=', sql<string>`t.payload->>'grantId'`)
            .on(live('g.expires_at')),
        )
        .select(['t.payload', 't.consumed_at', 'g.id as grant_id', 'g.payload as grant_payload', 'g.consumed_at as grant_consumed_at'])
        .where('t.tenant_id', '=', tenantId)
        .where('t.model', '=', this.model)
        .where('t.id', '=', id)
        .where(live('t.expires_at'))
        .executeTakeFirst();
      if (!row) return undefined;
      held.remember(this.model, id, structuredClone(row.payload), row.consumed_at);
      // Only what this request has not written or deleted itself (its own writes win in `lookup`).
      if (row.grant_id !== null && row.grant_payload !== null && held.lookup('Grant', row.grant_id) === undefined) {
        held.remember('Grant', row.grant_id, row.grant_payload, row.grant_consumed_at);
      }
      return withConsumed({ payload: row.payload, consumed_at: row.consumed_at });
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      if (!storable(uid)) return undefined;
      const own = pending()?.sessionByUid(uid);
      if (own) return fromPending(own);
      const row = await db
        .selectFrom('oidc_payloads')
        .select(['payload', 'consumed_at'])
        .where('tenant_id', '=', tenantId)
        .where('model', '=', 'Session')
        .where(sql<string>`payload->>'uid'`, '=', uid)
        .where(live('expires_at'))
        .executeTakeFirst();
      return row ? withConsumed(row) : undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      if (!storable(userCode)) return undefined;
      const row = await db
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
      const held = pending();
      if (held) {
        // Claimed by the request's flush, which writes nothing else if another request consumed it first.
        held.consume(this.model, id);
        return;
      }
      const won = await db
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
      const [grantId] = await grantIdsOf(db, tenantId, [{ model: this.model, id }]);
      if (grantId) await this.revokeByGrantId(grantId);
      deps.onReuse?.(tenantId, this.model, grantId);
      throw new errors.InvalidGrant(`${this.model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
    }

    async destroy(id: string): Promise<void> {
      if (!storable(id)) return;
      const held = pending();
      if (held) {
        held.destroy(this.model, id);
        return;
      }
      await db
        .deleteFrom('oidc_payloads')
        .where('tenant_id', '=', tenantId)
        .where('model', '=', this.model)
        .where('id', '=', id)
        .execute();
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      // At once, never held back; and the request's held-back rows of this grant are dropped with it.
      pending()?.dropGrant(grantId);
      await revokeGrant(db, tenantId, grantId);
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
