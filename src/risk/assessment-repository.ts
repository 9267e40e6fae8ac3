/** Stored risk assessments (the audit trail holds the same evidence, hash-chained). */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
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

export class AssessmentRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insert(tenantId: string, a: StoredAssessment): Promise<void> {
    await this.#db
      .insertInto('risk_assessments')
      .values({
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
      })
      .execute();
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
