/**
 * Successful sign-ins per user (the baseline of novelty and travel signals) and the per-user risk profile:
 * how many sign-ins were learned since when, and the admin "compromised" mark.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

export interface SignInRecord {
  readonly at: Date;
  readonly ip: string;
  readonly network: string;
  readonly asn?: number;
  readonly country?: string;
  readonly latitude?: number;
  readonly longitude?: number;
  readonly accuracyKm?: number;
  readonly deviceId?: string;
}

export interface RiskProfile {
  readonly signIns: number;
  readonly firstSignInAt?: Date;
  readonly compromised?: { readonly at: Date; readonly reason: string | null };
}

const opt = <T>(value: T | null): T | undefined => value ?? undefined;

export class SignInHistory {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async profile(tenantId: string, userId: string): Promise<RiskProfile> {
    const row = await this.#db
      .selectFrom('risk_profiles')
      .select(['sign_ins', 'first_sign_in_at', 'compromised_at', 'compromised_reason'])
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!row) return { signIns: 0 };
    return {
      signIns: row.sign_ins,
      firstSignInAt: opt(row.first_sign_in_at),
      compromised: row.compromised_at ? { at: row.compromised_at, reason: row.compromised_reason } : undefined,
    };
  }

  /** Admin mark: every sign-in of this user is denied until cleared. */
  async markCompromised(tenantId: string, userId: string, at: Date, reason: string | null): Promise<void> {
    await this.#db
      .insertInto('risk_profiles')
      .values({ tenant_id: tenantId, user_id: userId, compromised_at: at, compromised_reason: reason })
      .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doUpdateSet({ compromised_at: at, compromised_reason: reason }))
      .execute();
  }

  async clearCompromised(tenantId: string, userId: string): Promise<void> {
    await this.#db
      .updateTable('risk_profiles')
      .set({ compromised_at: null, compromised_reason: null })
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .execute();
  }

  /** Retention: removes sign-ins before `before` in one tenant. */
  async purge(tenantId: string, before: Date): Promise<number> {
    const result = await this.#db.deleteFrom('signin_history').where('tenant_id', '=', tenantId).where('at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
