/** Stored risk assessments (the audit trail holds the same evidence, hash-chained). */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { CombinedWrite } from '../db/combined-writes.ts';
import { learnSignIn, learnWrite, readSignals, sourceAttempts, type Learned, type Signals, type SignalsQuery } from './signals/sign-in-statements.ts';
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

/** A successful first factor to count per source (the denominator of failure ratios). */
export interface SourceSuccesses {
  readonly username: string;
  readonly sources: readonly string[];
  readonly at: Date;
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

  /**
   * Stores the assessment; with `successes`, also counts the successful first factor for each source
   * (PostgresFailureCounters.recordSuccess) in the same statement.
   */
  async insert(tenantId: string, a: StoredAssessment, successes?: SourceSuccesses): Promise<void> {
    const values = assessmentValues(tenantId, a);
    if (!successes || successes.sources.length === 0) {
      await this.#db.insertInto('risk_assessments').values(values).execute();
      return;
    }
    const { username, sources, at } = successes;
    await this.#db
      .with('successes', (q) => sourceAttempts(q, tenantId, username, sources, at, 'successes').returning('source'))
      .insertInto('risk_assessments')
      .values(values)
      .execute();
  }

  /** Everything precheck or assess reads, in one statement. */
  signals(q: SignalsQuery): Promise<Signals> {
    return readSignals(this.#db, q);
  }

  /** complete()'s writes, in one statement; with `assessment`, the assessment and its success counts too. */
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

function assessmentValues(tenantId: string, a: StoredAssessment) {
  return {
    tenant_id: tenantId,
    id: a.id,
    at: a.at,
    user_id: a.userId,
    username: a.username,
    client_id: a.clientId,
    ip: a.ip,
    level: a.level,
    score: a.score,
    outcome: a.outcome,
    enforced: a.enforced,
    policy_rule: a.policyRule,
    contributions: JSON.stringify(a.contributions),
  };
}
