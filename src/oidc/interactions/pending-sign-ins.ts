/**
 * A sign-in waiting for its second factor, kept server-side and keyed by the interaction uid (the browser
 * proves the interaction with oidc-provider's interaction cookie; nothing of this state travels in a form).
 * Rows live in `oidc_payloads` under the model `PendingSignIn`, expire with the interaction and are purged
 * by the maintenance job like every expired payload. Taking one is a single DELETE … RETURNING, so two
 * concurrent step-up posts cannot both finish the same sign-in.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { Acr } from '../../mfa/amr.ts';
import type { Assessment } from '../../risk/engine.ts';
import type { StepUpFactor } from '../../risk/policy.ts';

const MODEL = 'PendingSignIn';
/** How long the second step may take (seconds); the interaction itself lasts longer. */
export const PENDING_TTL_SECONDS = 10 * 60;

/** The first factor a sign-in proved: what its acr/amr start from (src/mfa/amr.ts). */
export type FirstFactor =
  | { readonly method: 'password' }
  | {
      readonly method: 'passkey';
      readonly passkeyId: string;
      /** Device-bound (`hwk`) rather than synced (`swk`). */
      readonly hardwareBound: boolean;
      readonly userVerified: boolean;
    };

export interface PendingSignIn {
  readonly userId: string;
  readonly username: string;
  readonly clientId: string | null;
  readonly firstFactor: FirstFactor;
  readonly firstFactorAt: Date;
  /** The assessment to complete (learn) once the step-up succeeds; undefined with RISK_ENGINE=off. */
  readonly assessment: Assessment | undefined;
  readonly requiredAcr: Acr;
  readonly factor: StepUpFactor;
  /** Plain language for the user (never scores). */
  readonly reason: string;
  readonly stepUpMaxAgeSeconds: number;
  /** Wrong second-factor attempts so far. */
  readonly failures: number;
}

/** The stored JSON: dates as ISO strings. */
interface Stored extends Omit<PendingSignIn, 'firstFactor' | 'firstFactorAt' | 'assessment'> {
  /** Absent in rows written before passkeys could be a first factor: those were passwords. */
  readonly firstFactor?: FirstFactor;
  readonly firstFactorAt: string;
  readonly assessment: (Omit<Assessment, 'at'> & { readonly at: string }) | null;
}

function revive(payload: unknown): PendingSignIn {
  // Our own rows, written by `save` below.
  const s = payload as Stored;
  return {
    ...s,
    firstFactor: s.firstFactor ?? { method: 'password' },
    firstFactorAt: new Date(s.firstFactorAt),
    assessment: s.assessment ? { ...s.assessment, at: new Date(s.assessment.at) } : undefined,
  };
}

export class PendingSignIns {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async save(tenantId: string, uid: string, pending: PendingSignIn): Promise<void> {
    const payload = JSON.stringify(pending);
    const expiresAt = new Date(Date.now() + PENDING_TTL_SECONDS * 1000);
    await this.#db
      .insertInto('oidc_payloads')
      .values({ tenant_id: tenantId, model: MODEL, id: uid, payload, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['tenant_id', 'model', 'id']).doUpdateSet({ payload, expires_at: expiresAt }))
      .execute();
  }

  async find(tenantId: string, uid: string): Promise<PendingSignIn | undefined> {
    const row = await this.#db
      .selectFrom('oidc_payloads')
      .select('payload')
      .where('tenant_id', '=', tenantId)
      .where('model', '=', MODEL)
      .where('id', '=', uid)
      .where('expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
    return row ? revive(row.payload) : undefined;
  }

  /** Counts a wrong second factor in one statement; the new count, or undefined when the row is gone. */
  async recordFailure(tenantId: string, uid: string): Promise<number | undefined> {
    const row = await this.#db
      .updateTable('oidc_payloads')
      .set({ payload: sql`jsonb_set(payload, '{failures}', to_jsonb(coalesce((payload->>'failures')::int, 0) + 1))` })
      .where('tenant_id', '=', tenantId)
      .where('model', '=', MODEL)
      .where('id', '=', uid)
      .where('expires_at', '>', sql<Date>`now()`)
      .returning(sql<number>`(payload->>'failures')::int`.as('failures'))
      .executeTakeFirst();
    return row?.failures;
  }

  /** Removes and returns the pending sign-in: of two concurrent callers exactly one gets it. */
  async take(tenantId: string, uid: string): Promise<PendingSignIn | undefined> {
    const row = await this.#db
      .deleteFrom('oidc_payloads')
      .where('tenant_id', '=', tenantId)
      .where('model', '=', MODEL)
      .where('id', '=', uid)
      .where('expires_at', '>', sql<Date>`now()`)
      .returning('payload')
      .executeTakeFirst();
    return row ? revive(row.payload) : undefined;
  }

  async discard(tenantId: string, uid: string): Promise<void> {
    await this.#db.deleteFrom('oidc_payloads').where('tenant_id', '=', tenantId).where('model', '=', MODEL).where('id', '=', uid).execute();
  }
}
