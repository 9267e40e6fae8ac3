/**
 * Second factors (TOTP for now). Single use is enforced here: a code's time step is accepted only through
 * one UPDATE … WHERE last_step < $step, so of two concurrent uses of a code exactly one succeeds.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

export type FactorKind = 'totp';

export interface FactorRecord {
  readonly id: string;
  readonly userId: string;
  readonly kind: FactorKind;
  readonly status: 'pending' | 'active';
  readonly secretJwe: string;
  readonly createdAt: Date;
  readonly confirmedAt: Date | null;
  readonly lastUsedAt: Date | null;
}

/** What an account page may show: never the secret. */
export type FactorSummary = Omit<FactorRecord, 'secretJwe'>;

const COLUMNS = ['id', 'user_id', 'kind', 'status', 'secret_jwe', 'created_at', 'confirmed_at', 'last_used_at'] as const;

type Row = {
  id: string;
  user_id: string;
  kind: FactorKind;
  status: 'pending' | 'active';
  secret_jwe: string;
  created_at: Date;
  confirmed_at: Date | null;
  last_used_at: Date | null;
};

function toRecord(r: Row): FactorRecord {
  return {
    id: r.id,
    userId: r.user_id,
    kind: r.kind,
    status: r.status,
    secretJwe: r.secret_jwe,
    createdAt: r.created_at,
    confirmedAt: r.confirmed_at,
    lastUsedAt: r.last_used_at,
  };
}

export class FactorRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** A new pending factor; earlier unconfirmed ones of the same kind are dropped. */
  async insertPending(tenantId: string, userId: string, f: { id: string; kind: FactorKind; secretJwe: string; at: Date }): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('mfa_factors')
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .where('kind', '=', f.kind)
        .where('status', '=', 'pending')
        .execute();
      await trx
        .insertInto('mfa_factors')
        .values({ tenant_id: tenantId, user_id: userId, id: f.id, kind: f.kind, status: 'pending', secret_jwe: f.secretJwe, created_at: f.at })
        .execute();
    });
  }

  async find(tenantId: string, userId: string, id: string): Promise<FactorRecord | undefined> {
    const row = await this.#db
      .selectFrom('mfa_factors')
      .select(COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async findActive(tenantId: string, userId: string, kind: FactorKind): Promise<FactorRecord | undefined> {
    const row = await this.#db
      .selectFrom('mfa_factors')
      .select(COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('kind', '=', kind)
      .where('status', '=', 'active')
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async list(tenantId: string, userId: string): Promise<FactorSummary[]> {
    const rows = await this.#db
      .selectFrom('mfa_factors')
      .select(COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => {
      const { secretJwe: _secret, ...summary } = toRecord(r);
      return summary;
    });
  }

  /**
   * Makes a pending factor the user's active one of its kind (replacing the previous), with `step` as its
   * last used time step, so the confirming code cannot be replayed. False when it is no longer pending.
   */
  async activate(tenantId: string, userId: string, id: string, step: number, at: Date, db: Kysely<Database> = this.#db): Promise<boolean> {
    return db.transaction().execute(async (trx) => {
      const pending = await trx
        .selectFrom('mfa_factors')
        .select('kind')
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .forUpdate()
        .executeTakeFirst();
      if (!pending) return false;
      await trx
        .deleteFrom('mfa_factors')
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .where('kind', '=', pending.kind)
        .where('status', '=', 'active')
        .execute();
      await trx
        .updateTable('mfa_factors')
        .set({ status: 'active', last_step: step, confirmed_at: at, last_used_at: at })
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', userId)
        .where('id', '=', id)
        .execute();
      return true;
    });
  }

  /** Accepts time step `step` for the factor once: true for exactly one caller per step and later. */
  async consumeStep(tenantId: string, userId: string, id: string, step: number, at: Date): Promise<boolean> {
    const row = await this.#db
      .updateTable('mfa_factors')
      .set({ last_step: step, last_used_at: at })
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .where('status', '=', 'active')
      .where(sql<boolean>`coalesce(last_step, -1) < ${step}`)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async remove(tenantId: string, userId: string, id: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('mfa_factors')
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Every factor of the user (admin reset); returns how many. */
  async removeAll(tenantId: string, userId: string, db: Kysely<Database> = this.#db): Promise<number> {
    const result = await db.deleteFrom('mfa_factors').where('tenant_id', '=', tenantId).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
