/** Stored risk assessments (the audit trail holds the same evidence, hash-chained). */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { CombinedWrite } from '../db/combined-writes.ts';
import { assessmentInsert, learnSignIn, learnWrite, readSignals, type Learned, type Signals, type SignalsQuery } from './signals/sign-in-statements.ts';
import type { Contribution, RiskLevel } from './types.ts';

export interface StoredAssessment {
  readonly id: string;
  readonly at: Date;
  readonly userId: string | null;
  readonly username: string;
  readonly clientId: string | null;
  readonly ip: string;
  readonly level: RiskLevel;
  readonly score: number;
  readonly outcome: string;
  readonly enforced: boolean;
  readonly policyRule: string;
  readonly contributions: readonly Contribution[];
}

/**
 * Stored assessments, and the engine's combined round trips (sign-in-statements.ts): the reads of an
 * assessment and the writes of an assessment and of a completed sign-in.
 */
export class AssessmentRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** The assessment's row, as a write its audit event carries (AuditLog.record). */
  insertWrite(tenantId: string, a: StoredAssessment): CombinedWrite {
    return assessmentInsert(tenantId, a);
  }

  /** Everything precheck or assess reads, in one statement. */
  signals(q: SignalsQuery): Promise<Signals> {
    return readSignals(this.#db, q);
  }

  /** complete()'s writes, in one statement of their own; with `assessment`, the assessment's row too. */
  learn(l: Learned): Promise<void> {
    return learnSignIn(this.#db, l);
  }

  /** The same writes, for another statement to carry (the assessment's audit event: AuditLog.record). */
  learnWrite(l: Learned): CombinedWrite {
    return learnWrite(l);
  }

  async find(tenantId: string, id: string): Promise<StoredAssessment | undefined> {
    const r = await this.#db.selectFrom('risk_assessments').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (!r) return undefined;
    return {
      id: r.id,
      at: r.at,
      userId: r.user_id,
      username: r.username,
      clientId: r.client_id,
      ip: r.ip,
      level: r.level,
      score: r.score,
      outcome: r.outcome,
      enforced: r.enforced,
      policyRule: r.policy_rule,
      contributions: r.contributions as Contribution[],
    };
  }

  /** Retention: removes assessments before `before` in one tenant. */
  async purge(tenantId: string, before: Date): Promise<number> {
    const result = await this.#db.deleteFrom('risk_assessments').where('tenant_id', '=', tenantId).where('at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
