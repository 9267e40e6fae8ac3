/** Admin reset of a user's second factors: every TOTP factor and recovery code goes, in one transaction. */
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Database } from '../db/schema.ts';
import type { ChangeContext } from '../identity/user-service.ts';
import type { FactorRepository } from './factor-repository.ts';
import type { RecoveryCodeRepository } from './recovery-code-repository.ts';

export interface ResetResult {
  readonly factorsRemoved: number;
  readonly recoveryCodesRemoved: number;
}

export class MfaReset {
  readonly #db: Kysely<Database>;
  readonly #factors: FactorRepository;
  readonly #codes: RecoveryCodeRepository;
  readonly #audit: AuditLog;

  constructor(db: Kysely<Database>, factors: FactorRepository, codes: RecoveryCodeRepository, audit: AuditLog) {
    this.#db = db;
    this.#factors = factors;
    this.#codes = codes;
    this.#audit = audit;
  }

  /** The caller has checked that the user exists in this tenant. */
  async reset(tenantId: string, userId: string, ctx: ChangeContext): Promise<ResetResult> {
    return this.#db.transaction().execute(async (trx) => {
      const factorsRemoved = await this.#factors.removeAll(tenantId, userId, trx);
      const recoveryCodesRemoved = await this.#codes.removeAll(tenantId, userId, trx);
      await this.#audit.recordWith(trx, tenantId, {
        type: 'mfa.reset',
        actor: ctx.actor,
        subject: `user:${userId}`,
        ip: ctx.ip ?? null,
        details: { factorsRemoved, recoveryCodesRemoved },
      });
      return { factorsRemoved, recoveryCodesRemoved };
    });
  }
}
